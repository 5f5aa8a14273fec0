"""Markdown and reStructuredText read by their structure: real files (a
README from PyPI, a page of the Python library reference), with every
offset checked against the file as stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.load import LoadError, load_bytes, load_file
from index.segment import document_spans
from index.store import Place

DATA = Path(__file__).resolve().parent / "data"
PYDOCS = Path(__file__).resolve().parent.parent / "evals" / "data" / "python-docs" / "corpus"
README = DATA / "charset-normalizer-README.md"
LOGGING = PYDOCS / "logging.rst.txt"
SUBPROCESS = PYDOCS / "subprocess.rst.txt"
DIRECTIVE_LINE = re.compile(r"^\s*\.\.\s+[\w:-]+::")
OPTION_LINE = re.compile(r"^\s*:[\w -]+:(\s|$)")


def file_checks(path: Path):
    """Load ``path`` and check what every Markdown or reStructuredText
    document must give: its text is the file byte for byte; each readable
    character of each block points at the same character of the file; the
    sentences are in order, stripped, and never inside code."""
    doc = load_file(path)
    assert doc.text == path.read_bytes().decode("utf-8")
    outline = doc.layout
    for block in outline.blocks:
        for ch, at in zip(block.text, block.offsets):
            assert at < 0 or doc.text[at] == ch or (ch.isspace() and doc.text[at].isspace()), (block.text, ch)
    spans = document_spans(doc)
    assert [(s.start, s.end) for s in spans] == [(s.start, s.end) for s in outline.sentences]
    code = [(b.start, b.end) for b in outline.blocks if b.kind == "code" and b.start >= 0]
    end = 0
    for span in spans:
        piece = doc.text[span.start : span.end]
        assert end <= span.start < span.end and piece == piece.strip()
        assert not any(a < span.end and span.start < b for a, b in code), piece
        end = span.end
    return doc, outline


def sentence(outline, text: str, needle: str):
    found = [s for s in outline.sentences if needle in s.plain]
    assert found, needle
    return found[0]


def test_a_readme_is_read_by_its_structure():
    doc, outline = file_checks(README)
    assert doc.title == "Charset Detection, for Everyone 👋"  # from the <h1> the README opens with
    kinds = {b.kind for b in outline.blocks}
    assert {"heading", "text", "item", "row", "head", "code"} <= kinds
    # A table row is one unit, its cells read without their markup (a <br> reads as a space).
    row = sentence(outline, doc.text, "Full-payload")
    assert row.plain == "Full-payload candidate validation UnicodeDecodeError Safety | ❌ | ✅"
    assert doc.text[row.start : row.end].startswith("`Full-payload candidate validation`<br>")
    # Inline code, emphasis and links read as their text; the citation keeps the markup.
    cli = sentence(outline, doc.text, "This package comes with a CLI.")
    assert cli.section == ("🚀 Basic Usage", "CLI")
    bold = sentence(outline, doc.text, "alternative to Universal Charset Encoding Detector")
    assert "**" in doc.text[bold.start : bold.end] and "**" not in bold.plain
    # Fenced code is never a sentence, and the prose introducing it still is.
    assert not any("from charset_normalizer import" in doc.text[s.start : s.end] for s in outline.sentences)
    assert sentence(outline, doc.text, "Just print out normalized text").plain == "Just print out normalized text"


def test_a_sphinx_page_is_read_by_its_structure():
    doc, outline = file_checks(LOGGING)
    assert doc.title == "logging — Logging facility for Python"
    for s in outline.sentences:
        raw = doc.text[s.start : s.end]
        assert not DIRECTIVE_LINE.match(raw) and not OPTION_LINE.match(raw), raw  # no directive, option or field marker
        assert ">>>" not in raw
        assert not re.search(r":\w+:`|``", s.plain), s.plain  # roles and literals read as their text
        assert s.section and s.section[0] == doc.title
    # A field-list item is a unit under its field's name, in the object's section.
    field = sentence(outline, doc.text, "The name of the logger used to log the event")
    assert field.section[-2:] == ("logging.LogRecord", "name")
    assert doc.text[field.start : field.end].startswith("The name of the logger")
    # An attribute's prose names the attribute in its section, not in its words.
    propagate = sentence(outline, doc.text, "If this evaluates to false, logging messages are not passed")
    assert propagate.section[-1] == "logging.Logger.propagate"
    # A table row is a unit; the directives around the page cite nothing.
    assert sentence(outline, doc.text, "CRITICAL | 50").plain == "CRITICAL | 50"
    assert not any("module:: logging" in doc.text[s.start : s.end] or "audit-event" in doc.text[s.start : s.end]
                   for s in outline.sentences)


def test_versions_cite_the_version_under_sphinx_words_for_it():
    doc, outline = file_checks(SUBPROCESS)
    added = [s for s in outline.sentences if s.section[-2:] == ("subprocess.run", "New in version")]
    assert [(s.plain, doc.text[s.start : s.end]) for s in added] == [("3.5", "3.5")]
    changed = sentence(outline, doc.text, "3.7: Added the text parameter")
    assert changed.section[-2:] == ("subprocess.run", "Changed in version")
    assert doc.text[changed.start : changed.end].startswith("3.7\n\n      Added the *text* parameter")
    capture = sentence(outline, doc.text, "If capture_output is true, stdout and stderr will be captured.")
    assert capture.section[-1] == "subprocess.run"
    assert doc.text[capture.start : capture.end] == "If *capture_output* is true, stdout and stderr will be captured."
    availability = sentence(outline, doc.text, "Unix, Windows.")
    assert availability.section[-1] == "Availability" and availability.plain == "Unix, Windows."


def test_a_rendered_sentence_says_nothing_its_citation_does_not():
    """Markup is dropped, never words added: the strict judge of the evals
    finds every word of each unit's plain text in its cited text."""
    from evals.judges import LexicalJudge

    judge = LexicalJudge()
    for path in (LOGGING, SUBPROCESS, PYDOCS / "datetime.rst.txt", README):
        doc = load_file(path)
        for s in doc.layout.sentences:
            assert judge.supports(s.plain, [doc.text[s.start : s.end]]), (s.plain, doc.text[s.start : s.end])


@pytest.mark.parametrize("name", ["notes.rst", "notes.rst.txt", "notes.md", "notes.markdown"])
def test_markup_formats_by_name(name):
    data = (b"Title\n=====\n\nA sentence. Another one.\n" if ".rst" in name
            else b"# Title\n\nA sentence. Another one.\n")
    doc = load_bytes(data, Path(name), "notes")
    assert doc.title == "Title"
    assert [doc.text[s.start : s.end] for s in document_spans(doc)] == ["A sentence.", "Another one."]
    assert {s.section for s in doc.layout.sentences} == {("Title",)}


def test_list_items_and_fields_are_units_without_a_full_stop():
    rst = (b"Options\n-------\n\n* first item\n* second item\n\n:param int width: The width of a line.\n"
           b"   By default, ``80``.\n:returns: the lines\n\n.. code-block:: python\n\n   print('never a sentence')\n")
    doc = load_bytes(rst, Path("o.rst"), "o")
    units = [(doc.text[s.start : s.end], s.section) for s in doc.layout.sentences]
    assert units == [("first item", ("Options",)), ("second item", ("Options",)),
                     ("The width of a line.", ("Options", "width")), ("By default, ``80``.", ("Options", "width")),
                     ("the lines", ("Options", "returns"))]
    assert doc.layout.sentences[3].plain == "By default, 80."


def test_markdown_inline_markup_maps_every_character():
    """Code spans, links (inline, reference, autolink, with code inside), a
    code span over a line break, escapes, entities and HTML: each readable
    character points at itself in the file."""
    md = ("# Inline\n\n`napi_env` objects are destroyed when `napi_release()` is called. See [`LICENSE`](LICENSE)"
          " for details, <https://example.org/a_b> and [the guide][guide] too.\n"
          "Use `Xcode -> Open Developer Tool ->\nMore Developer Tools...` then run \\*make\\* &amp; wait.\n"
          "The limit is 2<sup>30</sup> bytes, **bold _nested_ text** stays.\n\n[guide]: https://example.org/guide\n")
    doc = load_bytes(md.encode(), Path("inline.md"), "inline")
    (block,) = [b for b in doc.layout.blocks if b.kind == "text"]
    missing = [ch for ch, at in zip(block.text, block.offsets) if at < 0 and not ch.isspace()]
    assert missing == ["^"], (block.text, missing)  # 2<sup>30</sup> reads 2^30
    assert "See LICENSE for details, https://example.org/a_b and the guide too." in " ".join(block.text.split())
    for ch, at in zip(block.text, block.offsets):
        assert at < 0 or doc.text[at] == ch or (ch.isspace() and doc.text[at].isspace())


def test_files_with_nothing_to_cite_are_refused_by_name():
    for name, data in (("only-code.md", b"# Title\n\n```\ncode\n```\n"), ("only-title.rst", b"Title\n=====\n")):
        with pytest.raises(LoadError, match=f"^{re.escape(name)}: no prose"):
            load_bytes(data, Path(name), "x")


def test_rst_reads_no_other_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("The secret sentence.")
    rst = (f"Page\n====\n\nVisible text.\n\n.. include:: {secret}\n\n.. literalinclude:: {secret}\n\n"
           f".. raw:: html\n   :file: {secret}\n\n.. csv-table::\n   :file: {secret}\n").encode()
    doc = load_bytes(rst, Path("page.rst"), "page")
    assert [s.plain for s in doc.layout.sentences] == ["Visible text."]


def test_places_from_before_sections_load():
    assert Place.from_metadata({"doc_id": "d", "index": 0, "start": 0, "end": 3}) == Place()
    place = Place(section=("json", "Basic Usage", "json.dump", "indent"), plain="By default, N.")
    assert Place.from_metadata(place.metadata()) == place


def test_a_citation_carries_its_section(empty_engine):
    empty_engine.add([LOGGING, README])
    answer = empty_engine.answer("Which logger attribute decides whether events are passed to ancestor loggers?")
    texts = {d.doc_id: empty_engine.document(d.doc_id)[0].text for d in empty_engine.documents()}
    from qa.cite import Answer, contract_violations

    assert contract_violations(answer, texts) == []
    assert answer.citations and all(c.section and c.section[0] == "logging — Logging facility for Python"
                                    for c in answer.citations if c.doc_id == "logging")
    as_json = answer.to_dict()
    assert Answer.from_dict(as_json) == answer
    for c in as_json["citations"]:
        del c["section"]
    assert Answer.from_dict(as_json).citations[0].section is None
    assert "``" not in answer.answer and ":class:`" not in answer.answer


def _viewer(path: Path, *needles: str) -> tuple[str, list[dict]]:
    from index.document import Document
    from ui import render

    doc = load_file(path)
    cites = []
    for n, needle in enumerate(needles, start=1):
        s = sentence(doc.layout, doc.text, needle)
        cites.append({"id": n, "doc_id": doc.doc_id, "title": doc.title, "start": s.start, "end": s.end,
                      "text": doc.text[s.start : s.end], "score": 0.9, "section": list(s.section)})
    stored = Document(doc.doc_id, doc.title, doc.source, doc.text, doc.sha256)  # as the store gives it back
    return render.viewer_html(0, {"abstained": False, "citations": cites, "sentences": []}, 1, (stored, [])), cites


def _marked(html: str, cite: int) -> str:
    runs = re.findall(rf'<mark class="qa-hl qa-ref-0-{cite}[^"]*"[^>]*>(.*?)</mark>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", "", run) for run in runs).replace("&#x27;", "'")


def test_the_viewer_shows_a_sphinx_page_formatted_with_the_cited_units_marked():
    html, cites = _viewer(LOGGING, "The name of the logger used to log the event", "ERROR | 40")
    assert 'class="qa-doc-text qa-formatted"' in html and "<table" in html and "<pre" in html
    assert html.count('id="qa-current"') == 1
    current = re.search(r'<mark class="[^"]*qa-hl-current"[^>]*id="qa-current">', html)
    assert current and 'data-qa-n="1"' in current.group(0)
    assert _marked(html, 1) == "The name of the logger used to log the event represented by this LogRecord."
    assert re.sub(r"\s+", " ", _marked(html, 2)) == "ERROR 40"  # both cells of the row, in their cells
    assert ":class:`" not in html and "``" not in html
    assert "LogRecord Objects › logging.LogRecord › name" in html  # the section in the viewer's head


def test_the_viewer_shows_a_readme_formatted_and_escapes_it(tmp_path):
    html, _ = _viewer(README, "This package comes with a CLI.")
    assert _marked(html, 1) == "This package comes with a CLI."
    assert "<code>pip install charset-normalizer -U</code>" in html
    hostile = tmp_path / "hostile.md"
    hostile.write_text("# <img src=x onerror=alert(1)>\n\nText with <script>alert(2)</script> in it.\n\n"
                       "| a | <b onclick=x>b</b> |\n|---|---|\n| `<i>` | c |\n")
    html, _ = _viewer(hostile, "Text with")
    assert not re.search(r"<(script|img|b)\b", html)  # markup from the file is never markup here
    assert "<code>&lt;i&gt;</code>" in html  # code shows markup as text
