"""``kill -9`` of ``qa serve`` during an upload and during a removal
(``evals.crash``): after a restart the library lists the document whole or
not at all, and ``qa index check`` is clean.  ``make stress`` repeats these
at many more moments, and kills ``qa index add`` as well (here that is
tests/test_scale.py)."""

from __future__ import annotations

import pytest

from evals.crash import big_document, kill_during

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def file(tmp_path_factory):
    path = tmp_path_factory.mktemp("crash") / "harbour-records.txt"
    big_document(path, 1500)
    return path


@pytest.mark.parametrize("operation, trigger", [("upload", "write+0.2"), ("removal", "write+0.02")])
def test_a_kill_while_writing_leaves_nothing_half_present_after_restart(operation, trigger, file, tmp_path):
    kill = kill_during(tmp_path / "data", operation, trigger, file)
    assert kill.killed, "the operation finished before the kill"
    assert kill.half_done, "the kill did not catch a document half-written; the test proves nothing"
    assert kill.violations == []
    assert kill.listed == []  # whole or absent: a half-written (or half-removed) document goes


def test_a_kill_while_an_upload_embeds_leaves_no_document_and_no_copy(file, tmp_path):
    kill = kill_during(tmp_path / "data", "upload", 1.0, file)
    assert kill.killed and kill.violations == [] and kill.listed == []

