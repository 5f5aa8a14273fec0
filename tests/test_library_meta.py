"""What the library knows about a document beyond its text (a title from
the file's own metadata or its name, the name the user gave it, its type,
pages and when it was added) and the progress an ingest reports."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from index.ingest import IngestReport, Rates, Step, Tracker, left_text
from index.load import load_file
from index.titles import file_title

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("metadata,expected", [
    ("Guide for Debian Maintainers", "Guide for Debian Maintainers"),
    ("  Keeper's\n log ", "Keeper's log"),
    ("", "quarterly report"),
    (None, "quarterly report"),
    ("Untitled", "quarterly report"),
    ("Microsoft Word - quarterly report.docx", "quarterly report"),
])
def test_a_title_is_the_metadata_or_the_file_name(metadata, expected):
    assert file_title(metadata, Path("/x/quarterly report.docx")) == expected


def test_real_files_are_titled_by_metadata_or_name_never_a_body_line(tmp_path):
    assert load_file(DATA / "debmake-doc.en.pdf").title == "Guide for Debian Maintainers"  # its Title
    assert load_file(DATA / "camlidl-manual.pdf").title == "camlidl-manual"  # none: its name
    assert load_file(DATA / "par-hlink-frags.docx").title == "par-hlink-frags"  # not "One", its first paragraph
    blank = docx.Document()
    blank.add_paragraph("Lorem ipsum dolor sit amet.")
    blank.save(tmp_path / "notes.docx")
    assert load_file(tmp_path / "notes.docx").title == "notes"


def test_the_library_lists_name_type_pages_and_date_added(empty_engine, tmp_path):
    """An upload is indexed under a cleaned name; the library keeps the
    name the user gave it, which also titles a PDF without a Title."""
    from ui.library import Library

    library = Library(empty_engine)
    pdf, word = DATA / "camlidl-manual.pdf", DATA / "par-hlink-frags.docx"
    outcomes = library.upload([(pdf, "CamlIDL manual (2004).pdf"), (word, "frags.docx")])
    assert [o.status for o in outcomes] == ["added", "added"], outcomes
    docs = {d.name: d for d in empty_engine.documents()}
    manual, frags = docs["CamlIDL manual (2004).pdf"], docs["frags.docx"]
    assert manual.title == "CamlIDL manual (2004)" and manual.kind == "pdf" and manual.pages == 26
    assert Path(manual.source).name != manual.name  # the copy's cleaned name is not shown
    assert frags.title == "frags" and frags.kind == "docx" and frags.pages is None
    assert manual.added and manual.added[:4].isdigit() and manual.added.endswith("+00:00")


def test_an_upload_reports_pages_and_batches_with_the_time_left(empty_engine):
    """The 26-page PDF reports its pages as they are read, then its
    sentences as they are embedded, each report with the file's name, the
    counts and an estimate; the fraction never goes back and ends at 1."""
    from ui.library import Library

    steps: list[Step] = []
    Library(empty_engine).upload([(DATA / "camlidl-manual.pdf", "camlidl-manual.pdf")], steps.append)
    stages = [s.stage for s in steps]
    assert stages[0] == "reading" and stages[-1] == "done"
    assert stages.index("embedding") > stages.index("reading") and "embedding" in stages
    pages = [s for s in steps if s.stage == "reading" and s.total]
    assert pages and pages[-1].done == pages[-1].total == 26
    batches = [s for s in steps if s.stage == "embedding"]
    assert len(batches) >= 3 and batches[-1].done == batches[-1].total == 640
    assert all(s.name == "camlidl-manual.pdf" for s in steps[:-1])
    assert all(s.seconds_left is not None and s.seconds_left >= 0 for s in batches)
    fractions = [s.fraction for s in steps]
    assert fractions[-1] == 1.0 and all(0 <= f <= 1 for f in fractions)
    assert any(0.2 < f < 0.8 for f in fractions)  # it moves, not 0 until the end
    assert "Embedding camlidl-manual.pdf: " in batches[1].describe() and " left" in batches[1].describe()
    assert pages[-1].describe().startswith("Reading camlidl-manual.pdf: page 26 of 26 · ")


def test_the_estimate_follows_the_measured_pace():
    """Half the work embedded in 10 s leaves about 10 s; a file opened with
    nothing read has no estimate yet."""
    steps: list[Step] = []
    tracker = Tracker(steps.append, 1, IngestReport(), Rates(token_s=1e-5), interval=0)
    tracker.opening("a.txt")
    assert steps[-1].seconds_left is None and left_text(None) == "estimating the time left"
    tracker.read(30_000, 1000)
    batch = tracker.embedding(["a.txt"], 1000, 30_000)
    tracker.started = tracker.embed[0] - 10.0
    tracker.embed = (tracker.embed[0] - 10.0, 0.0, 10_000.0)
    batch(500, 1000, 1_000_000, 2_000_000)
    assert 9.0 < steps[-1].seconds_left < 11.5 and 0.45 < steps[-1].fraction < 0.55
    assert left_text(95) == "about 2 min left" and left_text(1) == "a moment left"


def test_indexing_with_progress_from_documents_already_read(empty_engine):
    from index.load import Document

    docs = [Document(f"d{i}", f"D{i}", f"d{i}.txt", f"Sentence {i} is here. Another {i} follows.\n", f"{i:064}")
            for i in range(3)]
    steps: list[Step] = []
    report = empty_engine.indexer.add_documents(docs, progress=steps.append)
    assert sorted(report.added) == ["d0", "d1", "d2"]
    assert steps[-1].stage == "done" and steps[-1].files_total == 3
