"""Odd and hostile files: each is indexed with exact sentence offsets or
refused with a message that names it; one bad file never costs the rest of
its batch.  ``QA_FUZZ_EXAMPLES`` raises the number of generated files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from evals.generated import file_bytes as files, spans_exact
from index.load import MAX_FILE_BYTES, SUFFIXES, LoadError, load_bytes
from index.segment import document_spans

EXAMPLES = int(os.environ.get("QA_FUZZ_EXAMPLES", "300"))

def assert_exact(text: str, spans) -> None:
    assert spans_exact(text, spans), [text[s.start:s.end] for s in spans][:5]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=files, suffix=st.sampled_from(SUFFIXES))
def test_generated_files_load_with_exact_sentences_or_are_refused_by_name(data, suffix):
    path = Path(f"fuzzed name '{suffix}' ü{suffix}")
    try:
        doc = load_bytes(data, path, "fuzzed")
    except LoadError as err:
        assert str(err).startswith(str(path) + ": ")
        return
    assert_exact(doc.text, document_spans(doc))


def test_the_size_limit_is_exact():
    body = b"A sentence that repeats. " * (MAX_FILE_BYTES // 25 + 1)
    assert len(load_bytes(body[: MAX_FILE_BYTES], Path("just-under.txt"), "a").text) == MAX_FILE_BYTES
    with pytest.raises(LoadError, match=r"^big\.txt: .*over the .*limit"):
        load_bytes(body[: MAX_FILE_BYTES] + b"x", Path("big.txt"), "b")


HOSTILE = {
    "empty.txt": b"",
    "blank.md": b" \n\t\r\n ",
    "binary.txt": bytes(range(256)) * 4,
    "latin1.txt": "Caf\xe9 cr\xe8me is sold here.".encode("latin-1"),
    "utf16.txt": "Sixteen bits per unit.".encode("utf-16"),
    "bom.txt": "\ufeffThe byte order mark stays in the text. Offsets count it.".encode("utf-8"),
    "crlf.txt": b"First line ends in CRLF.\r\nSecond line too.\r\n\r\nA new paragraph.\r\n",
    "lone-cr.txt": b"Old Mac line ends.\rAnother sentence here.\r\rA third paragraph.",
    "late-nul.txt": b"Readable text comes first. " * 400 + b"\x00 then a NUL byte.",
    "one-word-lines.txt": b"word\n" * 20_000,
    "no-full-stop.txt": b"and then " * 20_000,
    "nested.html": b"<div>" * 3000 + b"Deep inside the nesting is one sentence." + b"</div>" * 3000,
    "scripts.html": (b"<html><head><title>T</title><style>p{color:red}</style></head><body>"
                     b"<script>document.write('hidden')</script><iframe src='javascript:alert(1)'></iframe>"
                     b"<p>Visible text &amp; entities &lt;b&gt; stay text.</p>"
                     b"<a href='javascript:alert(1)'>A link label.</a></body></html>"),
    "raw.md": b"# Title\n\n<script>alert(1)</script>\n\nMarkdown with <b>raw HTML</b> inside it.\n",
    "spaces and 'quotes' \"double\".txt": b"A file name with quotes in it.",
    "..dots..txt": b"A name that starts with dots.",
    "\u00fcnic\u00f8de \u6587\u4ef6.txt": b"A Unicode file name.",
    ("n" * 251) + ".txt": b"A name of 255 bytes.",
}
REFUSED = {"empty.txt": "empty", "blank.md": "empty", "binary.txt": "binary", "latin1.txt": "not UTF-8",
           "utf16.txt": "binary"}


def test_a_batch_of_hostile_files(empty_engine, tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, data in HOSTILE.items():
        (folder / name).write_bytes(data)
    report = empty_engine.add([folder])
    for name, reason in REFUSED.items():
        assert any(name in m and reason in m for m in report.skipped), (name, report.skipped)
    assert len(report.skipped) == len(REFUSED)
    assert len(report.added) == len(HOSTILE) - len(REFUSED)
    for info in empty_engine.documents():
        doc, spans = empty_engine.document(info.doc_id)
        assert_exact(doc.text, spans)  # the stored spans, which citations use
        assert len(spans) == info.sentences > 0
        source = Path(doc.source)
        if source.suffix in (".txt", ".md", ".rst"):
            assert source.read_bytes().decode("utf-8") == doc.text  # offsets index the file itself
    scripts = empty_engine.document("scripts")[0].text
    assert "hidden" not in scripts and "color" not in scripts and "Visible text & entities <b> stay text." in scripts
    assert empty_engine.check().problems == []
