"""A real ``qa serve`` process for the UI tests (imported by
tests/test_ui_api.py and tests/test_ui_browser.py; not a conftest.py, so
only those modules load it).

The server runs with a fresh QA_DATA_DIR, so it indexes the seed article on
start-up and nothing else; it is stopped (SIGTERM, then SIGKILL) afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qa.settings import PROJECT_ROOT

READY_TIMEOUT_S = 120
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Served:
    url: str
    data_dir: Path
    pid: int


def _wait_ready(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"qa serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"qa serve did not answer {url} within {READY_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


@contextmanager
def qa_serve(data_dir: Path):
    """Run ``python -m qa serve`` on a free loopback port; yields a Served."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = data_dir / "serve.log"
    env = dict(os.environ, QA_DATA_DIR=str(data_dir), GRADIO_TEMP_DIR=str(data_dir / "gradio-tmp"))
    env.pop("QA_CHROMA_URL", None)
    env.pop("QA_NO_SEED", None)
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_ready(url, proc, log)
        yield Served(url, data_dir, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def seed_document() -> tuple[str, str]:
    """(doc_id, text) of the seed article, read from the file itself."""
    from index.load import doc_id_for

    path = next((PROJECT_ROOT / "seeds").glob("*.txt"))
    return doc_id_for(path), path.read_bytes().decode("utf-8")
