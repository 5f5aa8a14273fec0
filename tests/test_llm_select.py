"""The optional LLM selector, against a real HTTP server that speaks the OpenAI
chat-completions protocol (no real LLM exists offline).  The server's "model"
picks the numbered sentences that contain a word the test chooses."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa.settings import Settings


class FakeLLM(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.reply = None  # a fixed reply, else the numbers of sentences holding self.word
        self.word = ""
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v1"

    def answer(self, prompt: str) -> str:
        if self.reply is not None:
            return self.reply
        hits = [n for n, text in re.findall(r"^\[(\d+)\] (.*)$", prompt, re.M) if self.word in text]
        return ", ".join(hits) or "NONE"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, **body})
        reply = self.server.answer(body["messages"][-1]["content"])
        data = json.dumps({
            "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def llm_server():
    server = FakeLLM()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def llm(llm_server):
    llm_server.requests.clear()
    llm_server.reply, llm_server.word = None, ""
    return llm_server


@pytest.fixture(scope="module")
def llm_engine(llm_server, tmp_path_factory):
    from qa.engine import Engine

    return Engine(Settings.from_env(data_dir=tmp_path_factory.mktemp("llm"), llm_url=llm_server.url,
                                    llm_model="test-model"))


def test_the_llm_picks_the_cited_sentences_and_they_stay_verbatim(llm, llm_engine, seed_text):
    llm.word = "Wang Yi"
    answer = llm_engine.answer("Which Chinese official announced the new controls?")
    assert not answer.abstained
    assert [c.text for c in answer.citations] and all("Wang Yi" in c.text for c in answer.citations)
    assert all(seed_text[c.start : c.end] == c.text for c in answer.citations)
    sent = llm.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["model"] == "test-model"
    prompt = sent["messages"][-1]["content"]
    assert "Which Chinese official announced the new controls?" in prompt and "[1] " in prompt


def test_none_or_an_unusable_reply_is_an_abstention(llm, llm_engine):
    for reply in ("NONE", "I am not sure.", "[42]"):
        llm.reply = reply
        answer = llm_engine.answer("How many kinds of fentanyl analogs has China listed?")
        assert answer.abstained and answer.citations == [] and answer.sentences == []


def test_a_follow_up_shows_the_llm_the_earlier_question(llm, llm_engine):
    llm.word = "Ruan"
    answer = llm_engine.answer("What did he say about drug dealers?", history=["Who is Ruan Zongze?"])
    assert "Earlier question (the question may refer to it): Who is Ruan Zongze?" in llm.requests[-1]["messages"][-1]["content"]
    assert answer.citations and all("Ruan" in c.text for c in answer.citations)


def test_an_llm_that_is_down_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    cmd = [sys.executable, "-m", "qa", "--data-dir", str(tmp_path / "d"), "--llm-url", f"http://127.0.0.1:{port}/v1",
           "--llm-model", "m", "ask", "What is fentanyl?"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert f"LLM at http://127.0.0.1:{port}/v1 failed" in out.stderr and "Traceback" not in out.stderr


def test_an_llm_url_without_a_model_is_refused(tmp_path):
    from qa.engine import Engine

    with pytest.raises(ValueError, match="QA_LLM_MODEL"):
        Engine(Settings.from_env(data_dir=tmp_path, seed=False, llm_url="http://127.0.0.1:9/v1"))
