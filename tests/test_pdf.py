"""PDF loading: real manuals shipped by Debian, and generated pages for the
layouts a reader handles without thinking (columns, hyphens, running heads,
sentences across pages) and for the files that must be refused."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from index import load
from index.load import LoadError, load_file
from index.pdf import Layout, pages, rects
from index.segment import sentence_spans

DATA = Path(__file__).parent / "data"
REAL = [DATA / "camlidl-manual.pdf", DATA / "debmake-doc.en.pdf"]
LOREM = ("The keeper of the northern light wrote in the log every evening. "
         "Ships passed the cape in fair weather and in storms alike. ")


def _canvas_pdf(path: Path, pages_lines: list[list[tuple[float, float, str]]], size: float = 11) -> Path:
    """One page per list of (x, y, text) lines, drawn in that order."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(595, 842))
    for lines in pages_lines:
        c.setFont("Helvetica", size)
        for x, y, text in lines:
            c.drawString(x, y, text)
        c.showPage()
    c.save()
    return path


def _body(words: str, top: float = 760, x: float = 72, width: int = 80) -> list[tuple[float, float, str]]:
    """Wrap ``words`` into left-aligned lines of at most ``width`` characters."""
    import textwrap

    return [(x, top - 14 * i, line) for i, line in enumerate(textwrap.wrap(words, width))]


def _sentences(text: str) -> list[str]:
    return [text[s.start:s.end] for s in sentence_spans(text)]


@pytest.fixture(scope="module")
def real_docs():
    return [load_file(path) for path in REAL]


def test_real_pdfs_read_as_prose_with_exact_sentences(real_docs):
    caml, debmake = real_docs
    assert "considered as blanks" in caml.text  # "con-" / "sidered" rejoined
    assert "Camlidl generates stub code for interfacing Caml with C" in caml.text
    assert "Guide for Debian Maintainers" in debmake.text
    for doc in real_docs:
        assert isinstance(doc.layout, Layout) and len(doc.layout) == len(doc.text)
        assert "\r" not in doc.text and "\x02" not in doc.text and "\ufffe" not in doc.text
        spans = sentence_spans(doc.text)
        assert len(spans) > 100
        for span in spans:
            assert doc.text[span.start:span.end].strip() == doc.text[span.start:span.end]
            assert pages(doc.layout, span.start, span.end), "every sentence lies on a page"
        inserted = doc.layout.page == 0
        assert all(doc.text[i] in " \n" for i in inserted.nonzero()[0])


def test_real_pdf_headers_and_page_numbers_are_not_sentences(real_docs):
    """A bare number may remain inside the page (a table of contents' page
    references), never in the top or bottom margin where page numbers are."""
    for doc in real_docs:
        for span in sentence_spans(doc.text):
            if doc.text[span.start:span.end].isdigit():
                height = doc.layout.page_sizes[doc.layout.page[span.start] - 1][1]
                assert 0.06 * height < doc.layout.box[span.start][1] < 0.94 * height
    assert "CHAPTER 2. PREREQUISITES" not in real_docs[1].text


@pytest.mark.parametrize("which", [0, 1])
def test_highlight_rectangles_cover_the_sentence_and_nothing_else(real_docs, which):
    """For 20 sampled sentences: every character's own pdfium box (tight) lies
    in one of the sentence's rectangles on its page, and no character outside
    the sentence has its centre inside them."""
    doc = real_docs[which]
    layout = doc.layout
    spans = [s for s in sentence_spans(doc.text) if len(doc.text[s.start:s.end]) > 20]
    sample = random.Random(which).sample(spans, 20)
    pdf = pdfium.PdfDocument(str(REAL[which]))
    try:
        for span in sample:
            boxes = rects(layout, span.start, span.end)
            assert boxes
            mine = {(int(layout.page[i]), int(layout.char[i]))
                    for i in range(span.start, span.end) if layout.char[i] >= 0}
            assert_rects_cover(pdf, mine, [tuple(r) for r in boxes], doc.text[span.start:span.end])
            for r in boxes:
                assert r.x0 < r.x1 and r.y0 < r.y1
    finally:
        pdf.close()


def test_rects_are_one_per_line(tmp_path):
    lines = _body(LOREM * 3)
    doc = load_file(_canvas_pdf(tmp_path / "lines.pdf", [lines]))
    start, end = 0, len(doc.text.rstrip())
    found = rects(doc.layout, start, end)
    assert len(found) == len(lines)
    assert [r.page for r in found] == [1] * len(lines)
    assert all(a.y0 > b.y0 for a, b in zip(found, found[1:])), "top to bottom"
    for r, (x, y, _) in zip(found, lines):
        assert abs(r.x0 - x) < 1 and r.y0 < y < r.y1  # baseline inside the box


def test_running_heads_and_page_numbers_are_dropped(tmp_path):
    pages_lines = []
    for n in range(1, 5):
        head = [(72, 800, "Annual Report of the Lighthouse Society"), (500, 800, f"Section {n}")]
        foot = [(290, 40, str(n))]
        pages_lines.append(head + _body(f"Page {n} story. " + LOREM * 4) + foot)
    doc = load_file(_canvas_pdf(tmp_path / "report.pdf", pages_lines))
    assert "Annual Report" not in doc.text and "Section" not in doc.text
    assert not [s for s in _sentences(doc.text) if s.strip().isdigit()]
    assert doc.text.count("northern light") == 16


def test_hyphenated_line_ends_are_rejoined(tmp_path):
    lines = [(72, 760, "This sentence gives an exam-"), (72, 746, "ple of a word split at the end of a line."),
             (72, 732, "A name like Jean-"), (72, 718, "Pierre keeps its hyphen.")]
    doc = load_file(_canvas_pdf(tmp_path / "hyphen.pdf", [lines]))
    assert "an example of a word" in doc.text
    assert "Jean-Pierre keeps" in doc.text
    span = next(s for s in sentence_spans(doc.text) if "example" in doc.text[s.start:s.end])
    assert len(rects(doc.layout, span.start, span.end)) == 2


def test_a_sentence_across_a_page_break_is_one_sentence(tmp_path):
    first = _body(LOREM * 2)
    first.append((72, first[-1][1] - 14, "The keeper climbed the one hundred and twelve steps of the tower and then"))
    second = [(72, 760, "lit the great lamp just before dusk."), (72, 746, "Nothing else happened that night.")]
    doc = load_file(_canvas_pdf(tmp_path / "break.pdf", [first, second]))
    spans = sentence_spans(doc.text)
    crossing = [s for s in spans if "climbed" in doc.text[s.start:s.end]]
    assert len(crossing) == 1
    sentence = doc.text[crossing[0].start:crossing[0].end]
    assert sentence.endswith("lit the great lamp just before dusk.") and "\n" not in sentence
    assert pages(doc.layout, crossing[0].start, crossing[0].end) == [1, 2]
    assert {r.page for r in rects(doc.layout, crossing[0].start, crossing[0].end)} == {1, 2}


def test_two_columns_read_column_by_column(tmp_path):
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    style = getSampleStyleSheet()["BodyText"]
    path = tmp_path / "columns.pdf"
    template = BaseDocTemplate(str(path), pagesize=(595, 842))
    frames = [Frame(50, 50, 240, 742, id="left"), Frame(305, 50, 240, 742, id="right")]
    template.addPageTemplates([PageTemplate(frames=frames)])
    story = [Paragraph(f"Paragraph {n} begins here. " + LOREM * 3, style) for n in range(1, 13)]
    template.build(story)
    doc = load_file(path)
    order = [doc.text.index(f"Paragraph {n} begins") for n in range(1, 13)]
    assert order == sorted(order)
    assert len(set(pages(doc.layout, 0, len(doc.text)))) >= 1
    right = [r for s in sentence_spans(doc.text) for r in rects(doc.layout, s.start, s.end) if r.x0 > 300]
    assert right, "the right column was read"
    for span in sentence_spans(doc.text):
        assert "\n" not in doc.text[span.start:span.end]


def test_a_scan_has_no_text_layer(tmp_path):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), "white")
    ImageDraw.Draw(image).text((50, 50), "Scanned letter text", fill="black")
    path = tmp_path / "scan.pdf"
    image.save(path, "PDF")
    with pytest.raises(LoadError, match=r"no text layer \(scanned\?\); OCR is not supported, skipped") as err:
        load_file(path)
    assert "scan.pdf" in str(err.value)


def test_an_encrypted_pdf_is_refused(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(str(REAL[0])).pages[:2]:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    path = tmp_path / "locked.pdf"
    with open(path, "wb") as out:
        writer.write(out)
    with pytest.raises(LoadError, match="encrypted") as err:
        load_file(path)
    assert "locked.pdf" in str(err.value)


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage \x00\x01", b"not a pdf at all", b""])
def test_a_corrupt_pdf_is_refused(tmp_path, data):
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    with pytest.raises(LoadError, match="broken.pdf"):
        load_file(path)


def test_a_pdf_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "MAX_FILE_BYTES", 1000)
    with pytest.raises(LoadError, match="over the 1000-byte limit") as err:
        load.load_bytes(REAL[0].read_bytes(), REAL[0], "camlidl")
    assert "camlidl-manual.pdf" in str(err.value)


def test_the_layout_stays_out_of_equality_and_repr():
    doc = load.load_bytes(REAL[0].read_bytes(), REAL[0], "camlidl")
    assert "layout=" not in repr(doc)
    assert doc == load.Document(doc.doc_id, doc.title, doc.source, doc.text, doc.sha256, doc.date)
    assert doc.title == "camlidl-manual"  # no Title in its metadata: the file name, not its first line
    assert io.BytesIO(REAL[0].read_bytes()).read(5) == b"%PDF-"


def assert_rects_cover(pdf, mine: set[tuple[int, int]], boxes: list[tuple], sentence: str) -> None:
    """Every character of ``mine`` ((page, pdfium char index) pairs) has its
    tight pdfium box inside one of ``boxes`` ((page, x0, y0, x1, y1)) on its
    page, and no other character of those pages has its centre inside one."""
    for number in {page for page, _ in mine}:
        on_page = [b[1:] for b in boxes if b[0] == number]
        textpage = pdf[number - 1].get_textpage()
        for i in range(textpage.count_chars()):
            ch = textpage.get_text_range(i, 1)
            if not ch.strip() or ch in "\x02\ufffe":
                continue
            x0, y0, x1, y1 = textpage.get_charbox(i)
            if (number, i) in mine:
                assert any(a - 0.5 <= x0 and x1 <= c + 0.5 and b - 0.5 <= y0 and y1 <= d + 0.5
                           for a, b, c, d in on_page), (sentence, ch)
            else:
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                assert not any(a < cx < c and b < cy < d for a, b, c, d in on_page), (sentence, ch)
        textpage.close()
