"""groundqa on a real Chroma server (``chroma run``): an ingest-and-answer
round trip, and a clear error, never a hang, when the server is down, never
answers, or goes away in the middle of a session."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from qa.settings import Settings

CHROMA = Path(sys.executable).parent / "chroma"
pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chroma_server(path: Path):
    """``chroma run`` on a free loopback port; yields (url, process)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(path.parent / f"chroma-{port}.log", "w")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"chroma run exited {proc.returncode}"
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "chroma run did not answer within 60 s"
                time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()  # also ends a stopped (SIGSTOP) server
        proc.wait(30)
        log.close()


@pytest.fixture
def server(tmp_path):
    with chroma_server(tmp_path / "chroma-db") as running:
        yield running


def qa(*args: str, data: Path, url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", "--data-dir", str(data), "--chroma-url", url, *args],
                          capture_output=True, text=True, timeout=300)


def within(seconds: float, call):
    """``call()``'s result or exception; a call still blocked after ``seconds`` fails the test."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            outcome["error"] = err

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still blocked after {seconds} s: the call hangs"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_ingest_and_answer_through_a_chroma_server(server, tmp_path, seed_text):
    from qa.cite import Answer, contract_violations
    from qa.engine import Engine

    url, _ = server
    data = tmp_path / "data"
    listed = qa("index", "list", "--json", data=data, url=url)
    assert listed.returncode == 0, listed.stderr
    seed_id = "000-e110c866457404a4"
    assert [d["doc_id"] for d in json.loads(listed.stdout)] == [seed_id]

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "volcano.md").write_text("# Volcanoes\n\nMount Etna erupted in 2021. It is in Sicily.\n")
    added = qa("index", "add", str(tmp_path / "corpus"), data=data, url=url)
    assert added.returncode == 0 and "1 added" in added.stdout, added.stderr
    assert not (data / "chroma").exists(), "the store must live in the server, not the data dir"

    other = Engine(Settings.from_env(data_dir=tmp_path / "elsewhere", chroma_url=url, seed=False))
    assert sorted(d.doc_id for d in other.documents()) == [seed_id, "volcano"]
    texts = {seed_id: seed_text, "volcano": other.document("volcano")[0].text}
    assert texts[seed_id] == other.document(seed_id)[0].text

    for question, doc_id in (("How many people were arrested in 2017?", seed_id),
                             ("When did Mount Etna erupt?", "volcano")):
        out = qa("ask", "--json", question, data=data, url=url)
        assert out.returncode == 0, out.stderr
        answer = Answer.from_dict(json.loads(out.stdout))
        assert not answer.abstained and contract_violations(answer, texts) == []
        assert answer.citations[0].doc_id == doc_id


def test_a_server_that_is_down_is_a_one_line_error(tmp_path):
    from index.store import StoreUnavailable
    from qa.engine import Engine

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    out = qa("ask", "x", data=tmp_path / "data", url=url)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.startswith("Error:") and url in out.stderr

    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="127.0.0.1"):
        within(60, lambda: Engine(Settings.from_env(data_dir=tmp_path / "data", chroma_url=url)))
    assert time.monotonic() - started < 5


def test_a_server_that_never_answers_is_an_error_not_a_hang(tmp_path):
    """Something accepts connections on the port but never replies (a frozen
    or wrong service)."""
    from index.store import StoreUnavailable
    from qa.engine import Engine

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = "http://127.0.0.1:%d" % silent.getsockname()[1]
        settings = Settings.from_env(data_dir=tmp_path / "data", chroma_url=url, chroma_timeout=2.0)
        with pytest.raises(StoreUnavailable):
            within(60, lambda: Engine(settings))


def test_a_server_that_dies_mid_session_is_an_error_not_a_hang(tmp_path):
    from index.store import StoreUnavailable
    from qa.engine import Engine

    question = "How many people were arrested in 2017?"
    with chroma_server(tmp_path / "db-killed") as (url, proc):
        engine = Engine(Settings.from_env(data_dir=tmp_path / "a", chroma_url=url, chroma_timeout=2.0))
        assert not engine.answer(question).abstained
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        with pytest.raises(StoreUnavailable, match=url):
            within(60, lambda: engine.answer(question))
        with pytest.raises(StoreUnavailable):
            within(60, engine.documents)

    with chroma_server(tmp_path / "db-frozen") as (url, proc):
        engine = Engine(Settings.from_env(data_dir=tmp_path / "b", chroma_url=url, chroma_timeout=2.0))
        assert not engine.answer(question).abstained
        proc.send_signal(signal.SIGSTOP)  # alive, holding its port, answering nothing
        with pytest.raises(StoreUnavailable, match=url):
            within(60, lambda: engine.answer("Who is Ruan Zongze?"))
