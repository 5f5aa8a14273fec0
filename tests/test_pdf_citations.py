"""Page-aware citations end to end: real PDFs and a real DOCX ingested into a
real Engine, questions answered, and every citation checked against the
document text and against pdfium's character boxes in the PDF the store
kept.  The PDFs are Debian's camlidl manual (all 26 pages) and pages 13-40
of debmake-doc (cut with pypdfium2: its first 12 pages are a table of
contents of 6,000 lines, and the whole book takes a minute to embed)."""

from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from test_pdf import assert_rects_cover

from index.load import load_bytes
from qa.compose import compose
from qa.cite import Answer, AnswerSentence, Citation, contract_violations
from qa.settings import Settings

DATA = Path(__file__).parent / "data"
DOCX = DATA / "par-hlink-frags.docx"

#: Questions the PDFs answer, and the document each answer must come from.
QUESTIONS = [
    ("What does Camlidl generate?", "camlidl-manual"),
    ("Which IDL is the IDL of Camlidl inspired by?", "camlidl-manual"),
    ("Which interface do all components support?", "camlidl-manual"),
    ("What is the debmake command?", "debmake-pages-13-40"),
    ("What is the essential tool to manage the source tree with history?", "debmake-pages-13-40"),
]


def _debmake_excerpt(folder: Path) -> Path:
    src = pdfium.PdfDocument(str(DATA / "debmake-doc.en.pdf"))
    part = pdfium.PdfDocument.new()
    part.import_pages(src, list(range(12, 40)))
    buffer = io.BytesIO()
    part.save(buffer)
    part.close()
    src.close()
    path = folder / "debmake-pages-13-40.pdf"
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from qa.engine import Engine

    folder = tmp_path_factory.mktemp("pdf-corpus")
    notes = folder / "notes.txt"
    notes.write_text("Quokkas live on Rottnest Island near Perth.\n\nThey are small marsupials.\n")
    files = [DATA / "camlidl-manual.pdf", _debmake_excerpt(folder), DOCX, notes]
    engine = Engine(Settings.from_env(data_dir=tmp_path_factory.mktemp("pdf-data"), seed=False))
    report = engine.add(files)
    assert report.skipped == [] and len(report.added) == 4
    return engine, {f.stem: f for f in files}


def _texts(engine, answer: Answer) -> dict[str, str]:
    return {c.doc_id: engine.document(c.doc_id)[0].text for c in answer.citations}


@pytest.mark.parametrize("question, doc_id", QUESTIONS)
def test_pdf_answers_cite_exact_sentences_with_pages_and_rects(corpus, question, doc_id):
    engine, files = corpus
    answer = engine.answer(question)
    assert not answer.abstained, question
    assert answer.citations[0].doc_id == doc_id
    assert contract_violations(answer, _texts(engine, answer)) == []
    for c in answer.citations:
        text = engine.document(c.doc_id)[0].text
        assert text[c.start:c.end] == c.text
        if c.doc_id not in ("camlidl-manual", "debmake-pages-13-40"):
            continue
        assert c.page == c.pages[0] and c.rects and c.paragraphs is None
        assert {r[0] for r in c.rects} == set(c.pages)
        kept = engine.store.file(c.doc_id)
        assert kept.read_bytes() == files[c.doc_id].read_bytes()
        # The rectangles are those of the kept file's own layout (to 0.01 pt).
        from index.pdf import rects

        fresh = load_bytes(kept.read_bytes(), kept, c.doc_id)
        assert fresh.text == text
        expected = [[r.page, r.x0, r.y0, r.x1, r.y1] for r in rects(fresh.layout, c.start, c.end)]
        assert len(expected) == len(c.rects)
        for got, want in zip(c.rects, expected):
            assert got[0] == want[0] and all(abs(a - b) <= 0.006 for a, b in zip(got[1:], want[1:]))
    assert Answer.from_dict(json.loads(answer.to_json())) == answer


@pytest.mark.parametrize("doc_id", ["camlidl-manual", "debmake-pages-13-40"])
def test_stored_rects_cover_the_sentence_and_nothing_outside_its_lines(corpus, doc_id):
    """For 20 sampled stored sentences (what citations carry): each of the
    sentence's characters' tight pdfium boxes, read from the kept PDF, lies in
    one of its rectangles on its page, and no other character's centre lies
    inside them."""
    engine, _ = corpus
    doc, spans = engine.document(doc_id)
    kept = engine.store.file(doc_id)
    layout = load_bytes(kept.read_bytes(), kept, doc_id).layout
    sample = random.Random(doc_id).sample([s for s in spans if s.end - s.start > 20], 20)
    places = engine.sentences().entries([f"{doc_id}@{s.index}" for s in sample])
    pdf = pdfium.PdfDocument(str(kept))
    try:
        for span in sample:
            _, place = places[f"{doc_id}@{span.index}"]
            assert place.pages and place.rects and place.paragraphs == ()
            mine = {(int(layout.page[i]), int(layout.char[i])) for i in range(span.start, span.end)
                    if layout.char[i] >= 0}
            assert {p for p, _ in mine} == set(place.pages)
            assert_rects_cover(pdf, mine, place.rects, doc.text[span.start:span.end])
    finally:
        pdf.close()


def _best_citation(engine, question: str) -> Citation:
    """The citation of the best-read sentence, whether or not the reader
    would answer with it: what is checked here is where it points."""
    reading = engine.read(question)
    answer = compose(reading.question, reading.readings[:1], reading.readings)
    assert contract_violations(answer, _texts(engine, answer)) == []
    return answer.citations[0]


def test_docx_citations_carry_paragraphs(corpus):
    import docx

    engine, _ = corpus
    c = _best_citation(engine, "Which paragraph has the bookmark referred to by the prior link?")
    assert c.doc_id == "par-hlink-frags"
    assert c.pages is None and c.page is None and c.rects is None
    paragraphs = docx.Document(str(DOCX)).paragraphs
    assert c.paragraphs and all(c.text in paragraphs[i].text for i in c.paragraphs)


def test_plain_text_citations_have_null_places(corpus):
    engine, _ = corpus
    c = _best_citation(engine, "Where do quokkas live?")
    assert c.doc_id == "notes"
    assert (c.page, c.pages, c.rects, c.paragraphs) == (None, None, None, None)
    data = json.loads(Answer("q", "a", False, citations=[c]).to_json())["citations"][0]
    assert {k: data[k] for k in ("page", "pages", "rects", "paragraphs")} == dict.fromkeys(
        ("page", "pages", "rects", "paragraphs"))


def test_old_json_without_place_fields_still_loads():
    old = {"question": "q", "answer": "a [1]", "abstained": False,
           "sentences": [{"text": "a", "citations": [1]}],
           "citations": [{"id": 1, "doc_id": "d", "title": "t", "source": "s", "sentence_index": 0,
                          "start": 0, "end": 1, "text": "a", "score": 0.5}]}
    answer = Answer.from_dict(old)
    assert answer.citations[0].pages is None and contract_violations(answer, {"d": "a"}) == []


@pytest.mark.parametrize("fields, problem", [
    ({"page": 2, "pages": [1, 2], "rects": [[1, 0, 0, 1, 1]]}, "not the first"),
    ({"page": 1, "pages": [1], "rects": [[3, 0, 0, 1, 1]]}, "on one of its pages"),
    ({"page": 1, "pages": [1], "rects": [[1, 5, 0, 1, 1]]}, "on one of its pages"),
    ({"page": 1, "pages": [1], "rects": []}, "no rects"),
    ({"page": 1, "pages": [2, 1], "rects": [[1, 0, 0, 1, 1]]}, "ascending"),
    ({"page": 1}, "without pages"),
    ({"paragraphs": [-1]}, "ascending paragraph"),
    ({"page": 1, "pages": [1], "rects": [[1, 0, 0, 1, 1]], "paragraphs": [0]}, "both"),
])
def test_contract_checks_the_place_fields(fields, problem):
    cite = Citation(1, "d", "t", "s", 0, 0, 1, "a", 0.5, **fields)
    answer = Answer("q", "a [1]", False, [AnswerSentence("a", [1])], [cite])
    assert any(problem in p for p in contract_violations(answer, {"d": "a"}))


def test_kept_pdf_follows_its_document(corpus, tmp_path):
    """The store keeps each PDF under its sha256 and lets go of it with the
    document; a file no document names is swept by repair; a missing one is
    a problem ``check`` reports."""
    engine, files = corpus
    kept = engine.store.file("camlidl-manual")
    assert kept.name == hashlib.sha256(files["camlidl-manual"].read_bytes()).hexdigest() + ".pdf"
    assert engine.store.file("notes") is None and engine.store.file("par-hlink-frags") is None

    copy = tmp_path / "short.pdf"
    src = pdfium.PdfDocument(str(files["camlidl-manual"]))
    part = pdfium.PdfDocument.new()
    part.import_pages(src, [0, 1])
    part.save(str(copy))
    assert engine.add([copy]).added == ["short"]
    first = engine.store.file("short")
    part.import_pages(src, [2])  # a changed file replaces the kept copy
    part.save(str(copy))
    assert engine.add([copy]).replaced == ["short"]
    second = engine.store.file("short")
    assert second != first and second.is_file() and not first.exists()

    second.unlink()
    assert any("kept PDF" in p.what for p in engine.check().problems if p.doc_id == "short")
    engine.check(repair=True)
    assert engine.store.info("short") is None

    stray = engine.store.files / ("0" * 64 + ".pdf")
    half = engine.store.files / f".{stray.name}.999.tmp"
    writing = engine.store.files / f".{kept.name}.999.tmp"  # a copy another process is writing
    for path in (stray, half, writing):
        path.write_bytes(b"%PDF-")
    engine.repair()
    assert not stray.exists() and not half.exists() and writing.exists() and kept.is_file()
    writing.unlink()
    assert engine.check().clean


def test_viewer_draws_the_rects_over_the_rendered_page_and_escapes_the_title():
    """The page view places each rectangle in percent of the image, y
    flipped (origin top-left on screen), and shows every string as text."""
    from types import SimpleNamespace

    from ui import render

    source = DATA / "camlidl-manual.pdf"
    image = render.page_image(source, 1)
    width, height = pdfium.PdfDocument(str(source)).get_page_size(0)
    assert abs(image.width - width * render.PAGE_SCALE) <= 1 and abs(image.height - height * render.PAGE_SCALE) <= 1
    rect = [1, 72.0, 518.08, 540.01, 528.98]
    left, top, w, h = image.box(rect)
    assert abs(left - 100 * 72.0 / width) < 0.05 and abs(top - 100 * (height - 528.98) / height) < 0.05
    assert abs(w - 100 * (540.01 - 72.0) / width) < 0.05 and abs(h - 100 * (528.98 - 518.08) / height) < 0.05

    hostile = "<img src=x onerror=alert(1)>"
    cites = [{"id": i, "doc_id": "d", "title": hostile, "source": "s", "sentence_index": i, "start": a, "end": b,
              "text": "x" * (b - a), "score": 0.5, "page": 1, "pages": [1], "rects": [r]}
             for i, (a, b, r) in enumerate([(0, 5, rect), (10, 15, [1, 72.0, 400.0, 300.0, 410.0])], start=1)]
    doc = SimpleNamespace(doc_id="d", title=hostile, date=None, text="x" * 20)
    html = render.viewer_html(0, {"abstained": False, "citations": cites, "sentences": []}, 2, (doc, []), [image])
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count('class="qa-box ') == 2 and html.count("qa-box-current") == 1
    assert f"left:{left:.3f}%;top:{top:.3f}%" in html
    assert 'class="qa-page-img" src="data:image/png;base64,' in html and "Page 1" in html
    assert 'data-qa-view="text"' in html and "qa-doc-text" in html
