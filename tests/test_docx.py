"""DOCX loading: python-docx's own test documents, and generated ones."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest

from index.load import LoadError, load_file
from index.segment import sentence_spans
from index.word import Layout, paragraphs

DATA = Path(__file__).parent / "data"


def test_real_docx_paragraphs_and_tables_in_body_order():
    doc = load_file(DATA / "blk-paras-and-tables.docx")
    assert isinstance(doc.layout, Layout) and len(doc.layout) == len(doc.text)
    source = docx.Document(str(DATA / "blk-paras-and-tables.docx"))
    for span in sentence_spans(doc.text):
        sentence = doc.text[span.start:span.end]
        for index in paragraphs(doc.layout, span.start, span.end):
            assert sentence in " ".join(source.paragraphs[index].text.split())
    assert doc.text.index("Lorem ipsum") < doc.text.index("Text before") < doc.text.index("Donec semper")


def test_real_docx_hyperlink_text_is_kept():
    doc = load_file(DATA / "par-hlink-frags.docx")
    sentences = [doc.text[s.start:s.end] for s in sentence_spans(doc.text)]
    assert "Three with link to https://foo.com." in sentences
    span = next(s for s in sentence_spans(doc.text) if doc.text[s.start:s.end] == "Nine.")
    assert paragraphs(doc.layout, span.start, span.end) == [8]


def test_generated_docx_maps_sentences_to_paragraphs(tmp_path):
    made = docx.Document()
    made.core_properties.title = "Keeper's log"
    made.add_paragraph("The lamp was lit at dusk. The fog came in at nine.")
    made.add_paragraph("")
    made.add_paragraph("A ship passed\tthe cape.")
    table = made.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Wind", "North-east"
    made.add_paragraph("The keeper slept at dawn.")
    path = tmp_path / "log.docx"
    made.save(path)
    doc = load_file(path)
    assert doc.title == "Keeper's log"
    assert doc.text == ("The lamp was lit at dusk. The fog came in at nine.\n\nA ship passed the cape.\n\n"
                        "Wind | North-east\n\nThe keeper slept at dawn.\n")
    found = {doc.text[s.start:s.end]: paragraphs(doc.layout, s.start, s.end) for s in sentence_spans(doc.text)}
    source = [p.text for p in docx.Document(str(path)).paragraphs]
    assert source[found["The fog came in at nine."][0]].endswith("The fog came in at nine.")
    assert source[found["A ship passed the cape."][0]] == "A ship passed\tthe cape."
    assert source[found["The keeper slept at dawn."][0]] == "The keeper slept at dawn."
    assert found["Wind | North-east"] == []
    assert doc.layout.block[doc.text.index("Wind")] == doc.layout.block[doc.text.index("The keeper")] - 1


@pytest.mark.parametrize("make", ["not-zip", "zip-without-document", "empty"])
def test_broken_docx_is_refused_naming_the_file(tmp_path, make):
    path = tmp_path / "broken.docx"
    if make == "not-zip":
        path.write_bytes(b"PK\x03\x04 truncated")
    elif make == "zip-without-document":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "hi")
    else:
        docx.Document().save(path)
    with pytest.raises(LoadError, match="broken.docx"):
        load_file(path)
