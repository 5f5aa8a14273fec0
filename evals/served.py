"""A real ``qa serve`` process on a loopback port, for the UI tests and the
stress run (``make stress``): started with its own data folder, waited for
until ``/`` answers, stopped with SIGTERM (then SIGKILL) afterwards.  The
log is appended to, so a server restarted on the same folder keeps the
earlier run's lines."""

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
def qa_serve(data_dir: Path, env: dict[str, str] | None = None):
    """Run ``python -m qa serve`` on a free loopback port; yields a Served.
    ``env`` adds variables (limits, say) to the server's environment."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = data_dir / "serve.log"
    inherited = {k: v for k, v in os.environ.items() if k not in ("QA_CHROMA_URL", "QA_NO_SEED")}
    env = dict(inherited, QA_DATA_DIR=str(data_dir), GRADIO_TEMP_DIR=str(data_dir / "gradio-tmp"), **(env or {}))
    with log.open("a") as out:
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
