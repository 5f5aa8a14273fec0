"""Ingest of real documents survives a real ``kill -9``.

A ``qa index add`` process indexing 40 files of the Python 3.11 documentation
is SIGKILLed as soon as it starts writing (which leaves a document record
half-written), run and killed again a little later, then run to the end.
The result must equal a clean ingest of the same files: every document once,
the same sentence and chunk counts, nothing left incomplete, no orphaned
chunk or sentence, and answers that cite the documents.  The corpus comes from Debian's python3.11-doc, which
``scripts/ensure-pydocs`` installs when it is missing.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from qa.settings import PROJECT_ROOT, Settings

PYDOCS = Path("/usr/share/doc/python3.11/html/_sources")
FILES = 40


def ensure_pydocs() -> Path:
    if not PYDOCS.is_dir():
        subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "ensure-pydocs")], check=True, timeout=900)
    return PYDOCS


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """40 small library pages (about 2,100 sentences): several seconds of ingest."""
    library = ensure_pydocs() / "library"
    files = sorted(p for p in library.glob("*.rst.txt") if 2500 <= p.stat().st_size <= 7000)[:FILES]
    assert len(files) == FILES
    dest = tmp_path_factory.mktemp("pydocs40")
    for path in files:
        shutil.copyfile(path, dest / path.name)
    return dest


def qa(data: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", "--data-dir", str(data), "--no-seed", *args],
                          capture_output=True, text=True, timeout=600, **kw)


def sqlite_bytes(data: Path) -> int:
    """Chroma's SQLite file grows when a record is written (the HNSW files
    beside it also change when a process opens the store, so they are no
    signal)."""
    try:
        return (data / "chroma" / "chroma.sqlite3").stat().st_size
    except FileNotFoundError:
        return 0


def kill_when_writing(data: Path, corpus: Path, delay: float) -> bool:
    """Start ``qa index add``, SIGKILL it ``delay`` seconds after it first
    writes to the store; True if it was killed, False if it finished first."""
    before = sqlite_bytes(data)
    proc = subprocess.Popen([sys.executable, "-m", "qa", "--data-dir", str(data), "--no-seed", "index", "add",
                             str(corpus)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and sqlite_bytes(data) <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        if proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        return True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def unapplied_writes(data: Path) -> int:
    """Writes Chroma has logged for the documents collection but not yet
    applied to its records.  A kill can land between the two: a removal's
    delete is then in the log while a reader still lists the record, and
    the next process to write applies it, finishing that removal before
    anything of ours runs.  Read from Chroma's own tables (its log,
    ``embeddings_queue``, and each segment's ``max_seq_id``)."""
    with closing(sqlite3.connect(data / "chroma" / "chroma.sqlite3")) as db:
        return db.execute(
            "SELECT count(*) FROM embeddings_queue q JOIN collections c ON q.topic LIKE '%/' || c.id "
            "JOIN segments s ON s.collection = c.id AND s.scope = 'METADATA' "
            "LEFT JOIN max_seq_id m ON m.segment_id = s.id "
            "WHERE c.name LIKE '%-documents' AND q.seq_id > coalesce(m.seq_id, 0)").fetchone()[0]


def snapshot(data: Path) -> dict:
    """What the store holds, read directly: complete and incomplete document
    records and the chunk and sentence entries per document."""
    from index.store import Store

    store = Store(data)
    docs = store.documents.get(include=["metadatas"])
    per = {}
    for name in ("chunks", "sentences"):
        metas = getattr(store, name).get(include=["metadatas"])["metadatas"]
        per[name] = Counter(m["doc_id"] for m in metas)
    complete = {i: m for i, m in zip(docs["ids"], docs["metadatas"]) if m.get("complete")}
    return {
        "ids": docs["ids"],
        "incomplete": [i for i, m in zip(docs["ids"], docs["metadatas"]) if not m.get("complete")],
        "counts": {i: (int(m["sentences"]), int(m["chunks"])) for i, m in complete.items()},
        "stored": {i: (per["sentences"][i], per["chunks"][i]) for i in complete},
        "orphans": sorted((set(per["chunks"]) | set(per["sentences"])) - set(docs["ids"])),
    }


@pytest.fixture(scope="module")
def clean(corpus, tmp_path_factory) -> dict:
    """A clean, uninterrupted ingest of the same files: the reference."""
    from qa.engine import Engine

    data = tmp_path_factory.mktemp("clean")
    report = Engine(Settings.from_env(data_dir=data, seed=False)).add([corpus])
    assert len(report.added) == FILES and not report.skipped
    return snapshot(data)["counts"]


@pytest.mark.server
def test_a_killed_ingest_resumes_to_the_same_index_as_a_clean_one(corpus, clean, tmp_path):
    data = tmp_path / "data"
    assert qa(data, "index", "list", "--json").returncode == 0  # creates the empty store

    def check(state: dict) -> None:
        """Whatever a kill leaves, the documents the store lists are whole."""
        assert state["counts"] == {i: clean[i] for i in state["counts"]}
        assert state["stored"] == state["counts"]
        listed = json.loads(qa(data, "index", "list", "--json").stdout)
        assert sorted(d["doc_id"] for d in listed) == sorted(state["counts"])

    # killed at its first write, a run leaves a document record half-written
    kills = []
    for _ in range(3):
        assert kill_when_writing(data, corpus, 0.0), "the ingest finished before it could be killed"
        state = snapshot(data)
        check(state)
        kills.append((len(state["counts"]), state["incomplete"]))
        if state["incomplete"]:
            break
    assert kills[-1][1], f"no kill caught a document half-written: {kills}"
    # killed a moment later, it is usually still writing (its one batch of sentences takes about a second)
    assert kill_when_writing(data, corpus, 0.3), "the ingest finished before it could be killed"
    unapplied = unapplied_writes(data)
    last = snapshot(data)
    check(last)
    kills.append((len(last["counts"]), last["incomplete"]))
    print(f"\nafter each kill (complete documents, incomplete ones): {kills}; unapplied writes: {unapplied}")

    resumed = qa(data, "index", "add", "--json", str(corpus))
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert sorted(report["added"] + report["unchanged"]) == sorted(clean)
    assert set(report["repaired"]) <= set(last["incomplete"])
    finished_by_chroma = set(last["incomplete"]) - set(report["repaired"])
    assert len(finished_by_chroma) <= unapplied, (finished_by_chroma, unapplied)
    assert set(report["repaired"]) <= set(report["added"])

    final = snapshot(data)
    assert sorted(final["ids"]) == sorted(clean) and len(final["ids"]) == len(set(final["ids"]))
    assert final["incomplete"] == [] and final["orphans"] == []
    assert final["counts"] == clean and final["stored"] == clean
    listed = json.loads(qa(data, "index", "list", "--json").stdout)
    assert [d["doc_id"] for d in listed] == sorted(clean)

    from index.store import Store
    from qa.cite import Answer, contract_violations

    store = Store(data)
    texts = {i: store.document(i)[0].text for i in clean}
    answered = 0
    for question in ("How do I match Unix shell-style wildcards in file names?",
                     "How can I compare the contents of two directories?"):
        out = qa(data, "ask", "--json", question)
        assert out.returncode == 0, out.stderr
        answer = Answer.from_dict(json.loads(out.stdout))
        assert contract_violations(answer, texts) == []
        answered += not answer.abstained
    assert answered >= 1


def test_every_file_of_the_python_docs_is_its_own_document():
    """Sphinx names sources ``os.path.rst.txt``: 497 files must give 497 ids."""
    from index.load import discover, doc_id_for

    files = list(discover([ensure_pydocs()]))
    ids = [doc_id_for(path, root) for path, root in files]
    assert len(files) >= 490 and len(set(ids)) == len(ids)
