"""A real ``qa serve`` process on a loopback port, for the UI tests and the
stress run (``make stress``): started with its own data folder, waited for
until ``/`` answers, stopped with SIGTERM (then SIGKILL) afterwards.  The
log is appended to, so a server restarted on the same folder keeps the
earlier run's lines.  ``UiSession`` chats with it as a browser tab does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
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
def qa_serve(data_dir: Path, env: dict[str, str] | None = None, port: int | None = None):
    """Run ``python -m qa serve`` on a loopback port (a free one unless
    ``port`` is given: a restart on the same page's address); yields a
    Served.  ``env`` adds variables (limits, say) to the server's
    environment."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
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


def call_api(url: str, api: str, data: list, timeout: float = 120) -> tuple[str, object]:
    """One call through Gradio's HTTP API: ("complete", output) or ("error",
    message).  Raw HTTP, because gradio_client cannot send a lone surrogate."""
    body = json.dumps({"data": data}).encode()
    request = urllib.request.Request(f"{url}gradio_api/call/{api}", data=body,
                                     headers={"Content-Type": "application/json"})
    event = json.load(urllib.request.urlopen(request, timeout=timeout))["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api}/{event}", timeout=timeout) as response:
        stream = response.read().decode()
    kind, payload = "error", None
    for block in stream.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") in ("complete", "error"):
            kind = lines["event"]
            payload = json.loads(lines.get("data", "null"))
    return kind, payload[0] if kind == "complete" and isinstance(payload, list) else payload


def send_file(url: str, path: Path, timeout: float = 120) -> dict:
    """Upload ``path`` as gradio_client's ``handle_file`` does; the file
    value to pass to ``call_api``.  Plain HTTP, so a server killed under
    the call raises here instead of in a client's background thread."""
    import httpx

    with path.open("rb") as f:
        response = httpx.post(f"{url}gradio_api/upload", files={"files": (path.name, f)}, timeout=timeout)
    response.raise_for_status()
    return {"path": response.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


class UiSession:
    """One browser tab's chat, spoken in the page's own protocol: the
    private chat event joined through ``queue/join`` and followed on the
    ``queue/data`` event stream, with the conversation held in the server's
    session state.  gradio_client cannot call private events, and a load
    test of 20 real browsers does not fit this machine; this is what those
    browsers would send."""

    def __init__(self, url: str, timeout: float = 120):
        self.url, self.timeout = url, timeout
        self.session = uuid.uuid4().hex[:12]
        with urllib.request.urlopen(f"{url}config", timeout=timeout) as response:
            config = json.load(response)
        by_elem = {c.get("props", {}).get("elem_id"): c for c in config["components"]}
        self.trigger = by_elem["qa-question"]["id"]
        self.fn_index = next(d["id"] for d in config["dependencies"] if [self.trigger, "submit"] in d["targets"])
        self.reader = by_elem["qa-reader"]["props"]["value"]

    def ask(self, question: str, top_k: int = 4) -> list[str]:
        """Send ``question`` as the Enter key does, over all the documents
        (no filter chosen); the conversation the chat shows afterwards, one
        HTML string per message.  A server error
        raises RuntimeError with Gradio's message."""
        body = json.dumps({"data": [question, None, top_k, self.reader, []], "fn_index": self.fn_index,
                           "trigger_id": self.trigger, "session_hash": self.session, "event_data": None}).encode()
        request = urllib.request.Request(f"{self.url}gradio_api/queue/join", data=body,
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=self.timeout).close()
        done = None
        with urllib.request.urlopen(f"{self.url}gradio_api/queue/data?session_hash={self.session}",
                                    timeout=self.timeout) as stream:
            for raw in stream:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message["msg"] == "process_completed":
                    done = message
                elif message["msg"] == "close_stream":
                    break
        if done is None or not done.get("success"):
            raise RuntimeError(str((done or {}).get("output", {}).get("error", "the stream closed without an answer")))
        return [_text(m["content"]) for m in done["output"]["data"][0]]


def _text(content) -> str:
    """A Chatbot message's content, as the page receives it: a string or a
    list of typed parts."""
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
