"""``kill -9`` of a real ``qa serve`` in the middle of an upload or a removal,
then a restart: what the library lists afterwards must be whole or absent.

The kill lands either a fixed time after the request is sent (mostly while
the server embeds) or a moment after Chroma's SQLite file first changes
(while it writes, which is where a half-written document can come from).  After
the kill, ``qa index check`` (without repair) tells whether the kill left
anything half-done; after the restart it must be clean, every listed
document's text must equal its file's, and the uploads folder must hold a
copy for each uploaded document and nothing else.

``kill_ingest`` does the same to a ``qa index add`` of a folder, restarted
by running the same command again.  Used by ``tests/test_crash.py`` (a few
kills) and ``evals.stress`` (many).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evals.served import call_api, qa_serve, send_file
from qa.settings import PROJECT_ROOT

NO_SEED = {"QA_NO_SEED": "1"}


@dataclass
class Kill:
    """One kill and what the store looked like after it and after the restart."""

    operation: str  # upload | removal | ingest
    trigger: str  # seconds after the request, or "write+S": S seconds after Chroma's first write
    killed: bool  # False when the operation finished before the kill
    half_done: list[str] = field(default_factory=list)  # problems `qa index check` saw right after the kill
    listed: list[str] = field(default_factory=list)  # doc ids the restarted server lists
    violations: list[str] = field(default_factory=list)  # what broke "whole or absent"; empty when it held

    def to_dict(self) -> dict:
        return asdict(self)


def big_document(path: Path, sentences: int, seed: int = 0) -> str:
    """A plain-text file of ``sentences`` distinct sentences (its embedding
    takes a few seconds, long enough to be killed in)."""
    rng = random.Random(seed)
    things = ["harbour", "lighthouse", "ferry", "quarry", "orchard", "mill", "bridge", "tannery", "granary"]
    lines = []
    for i in range(sentences):
        a, b = rng.sample(things, 2)
        lines.append(f"Record {seed}-{i}: the {a} near the {b} was repaired in {1800 + rng.randrange(200)} "
                     f"at a cost of {rng.randrange(10, 9999)} crowns.")
    text = "\n\n".join(" ".join(lines[i:i + 5]) for i in range(0, len(lines), 5)) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def sqlite_state(data: Path) -> tuple:
    """Size and modification time of Chroma's SQLite files: they change on
    the first write of an operation (reads leave them alone)."""
    out = []
    for name in ("chroma.sqlite3", "chroma.sqlite3-wal"):
        try:
            st = (data / "chroma" / name).stat()
            out.append((st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def qa(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QA_DATA_DIR=str(data), **NO_SEED)
    env.pop("QA_CHROMA_URL", None)
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def index_check(data: Path) -> dict:
    done = qa(data, "index", "check", "--json")
    if done.returncode not in (0, 1):
        raise RuntimeError(f"qa index check exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _call(url: str, api: str, file: Path | None, doc_id: str) -> None:
    """The call the kill lands in, over plain HTTP: gradio_client would
    print the dropped connection's traceback from its stream thread."""
    try:
        call_api(url, api, [send_file(url, file)] if file else [doc_id])
    except Exception:  # the server was killed under the call: what it left is checked after the restart
        pass


def kill_during(data: Path, operation: str, trigger, file: Path) -> Kill:
    """Run ``operation`` ("upload" of ``file``, or "removal" of the document
    an earlier upload of ``file`` made) in a fresh ``qa serve`` on ``data``,
    SIGKILL the server at ``trigger`` (seconds after the request, or
    "write+S", S seconds after the operation's first write to Chroma: a
    write cut at once is rolled back by SQLite), restart it and check the
    library."""
    from gradio_client import Client, handle_file

    from index.load import doc_id_for

    doc_id = doc_id_for(Path(file.name))
    with qa_serve(data, NO_SEED) as served:
        client = Client(served.url, verbose=False)
        if operation == "removal" and doc_id not in {d["doc_id"] for d in client.predict(api_name="/documents")}:
            client.predict(handle_file(str(file)), api_name="/upload")
        before = sqlite_state(data)
        caller = threading.Thread(target=_call, args=(served.url, operation.replace("removal", "remove"),
                                                      file if operation == "upload" else None, doc_id))
        caller.start()
        if str(trigger).startswith("write"):
            while caller.is_alive() and sqlite_state(data) == before:
                time.sleep(0.002)
            caller.join(float(str(trigger).partition("+")[2] or 0))
        else:
            caller.join(float(trigger))
        killed = caller.is_alive()
        os.kill(served.pid, signal.SIGKILL)
        caller.join(60)
    result = Kill(operation, str(trigger), killed)
    result.half_done = [f"{p['doc_id']}: {p['what']}" for p in index_check(data)["problems"]]
    with qa_serve(data, NO_SEED) as served:
        client = Client(served.url, verbose=False)
        listed = client.predict(api_name="/documents")
        result.listed = [d["doc_id"] for d in listed]
        expected = file.read_text(encoding="utf-8")
        for d in listed:
            got = client.predict(d["doc_id"], api_name="/document")
            if d["doc_id"] == doc_id and got["text"] != expected:
                result.violations.append(f"{doc_id} is listed with a text that differs from its file")
            if len(got["sentences"]) != d["sentences"]:
                result.violations.append(f"{d['doc_id']}: {len(got['sentences'])} sentences, listed {d['sentences']}")
        uploads = data / "uploads"
        copies = sorted(p.name for p in uploads.iterdir()) if uploads.is_dir() else []
        if copies != ([file.name] if doc_id in result.listed else []):
            result.violations.append(f"uploads folder holds {copies}, the library lists {result.listed}")
    check = index_check(data)
    if not check["clean"]:
        result.violations.append(f"qa index check after restart: {check['problems']}")
    return result


def kill_ingest(data: Path, folder: Path, trigger) -> Kill:
    """SIGKILL ``qa index add folder`` at ``trigger`` (as in ``kill_during``),
    then run it again to the end: every file must be indexed once, whole."""
    from index.load import doc_id_for

    env = dict(os.environ, QA_DATA_DIR=str(data), **NO_SEED)
    env.pop("QA_CHROMA_URL", None)
    if not (data / "chroma").is_dir():
        qa(data, "index", "list")  # creates the empty store, so its first write is the ingest's
    before = sqlite_state(data)
    proc = subprocess.Popen([sys.executable, "-m", "qa", "index", "add", str(folder)], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if str(trigger).startswith("write"):
            while proc.poll() is None and sqlite_state(data) == before:
                time.sleep(0.002)
            wait = float(str(trigger).partition("+")[2] or 0)
        else:
            wait = float(trigger)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
        killed = proc.poll() is None
        proc.kill()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    result = Kill("ingest", str(trigger), killed)
    result.half_done = [f"{p['doc_id']}: {p['what']}" for p in index_check(data)["problems"]]
    resumed = qa(data, "index", "add", "--json", str(folder))
    if resumed.returncode != 0:
        result.violations.append(f"the second qa index add exited {resumed.returncode}: {resumed.stderr[-300:]}")
    listed = json.loads(qa(data, "index", "list", "--json").stdout)
    result.listed = [d["doc_id"] for d in listed]
    files = {doc_id_for(p): p for p in folder.iterdir()}
    if sorted(result.listed) != sorted(files):
        result.violations.append(f"listed {result.listed}, the folder has {sorted(files)}")
    from index.store import Store

    store = Store(data)
    for doc_id, path in files.items():
        found = store.document(doc_id)
        if found and found[0].text != path.read_text(encoding="utf-8"):
            result.violations.append(f"{doc_id}: stored text differs from its file")
    del store
    check = index_check(data)
    if not check["clean"]:
        result.violations.append(f"qa index check after the second run: {check['problems']}")
    return result
