"""The UI server's HTTP API through ``gradio_client``, against a real
``qa serve`` process; plus the pure parts of the UI (rendering, upload names)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest_ui import qa_serve, seed_document
from gradio_client import Client, handle_file

from evals.served import call_api
from qa.cite import Answer, contract_violations
from ui import render
from ui.library import Library, safe_name

pytestmark = pytest.mark.server

OTTERS = ("# Sea otters\n\nSea otters hold hands while they sleep so that they do not drift apart.\n\n"
          "A group of resting sea otters is called a raft.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with qa_serve(tmp_path_factory.mktemp("ui-api") / "data") as served:
        yield served


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def texts_for(client, answer: Answer) -> dict[str, str]:
    return {d: client.predict(d, api_name="/document")["text"] for d in {c.doc_id for c in answer.citations}}


def ask(client, question, history=(), top_k=4) -> Answer:
    return Answer.from_dict(client.predict(question, list(history), top_k, api_name="/answer"))


def test_answer_about_the_seed_keeps_the_contract(client):
    answer = ask(client, "Who is Ruan Zongze?")
    assert not answer.abstained and answer.sentences
    assert all(s.citations for s in answer.sentences)
    assert contract_violations(answer, texts_for(client, answer)) == []
    seed_id, seed = seed_document()
    cited = [c for c in answer.citations if c.doc_id == seed_id]
    assert cited and all(seed[c.start:c.end] == c.text for c in cited)
    assert any("Ruan Zongze" in c.text for c in cited)


def test_answer_accepts_history_as_list_or_json(client):
    as_list = client.predict("What did he say?", ["Who is Ruan Zongze?"], 3, api_name="/answer")
    as_json = client.predict("What did he say?", json.dumps(["Who is Ruan Zongze?"]), 3, api_name="/answer")
    assert as_list["answer"] == as_json["answer"]
    answer = Answer.from_dict(as_list)
    assert contract_violations(answer, texts_for(client, answer)) == []


def test_bad_question_is_a_clear_error(client):
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", [], 4, api_name="/answer")


@pytest.mark.parametrize("question", ["<img src=x onerror=alert(1)> {{7*7}}", "\u202e🙂\x00", "1234567890" * 20])
def test_odd_questions_keep_the_contract(client, question):
    answer = ask(client, question)
    assert contract_violations(answer, texts_for(client, answer)) == []


@pytest.mark.parametrize("question,error", [("\udc80 fentanyl", "lone surrogate"), ("x" * 2001, "limit")])
def test_unusable_questions_are_clear_errors(server, question, error):
    kind, out = call_api(server.url, "answer", [question, [], 4, None])
    assert kind == "error" and error in out["error"]


def test_upload_ask_remove(client, server, tmp_path):
    path = tmp_path / "sea-otters.md"
    path.write_text(OTTERS)
    before = client.predict(api_name="/documents")

    added = client.predict(handle_file(str(path)), api_name="/upload")
    assert added["status"] == "added", added
    doc_id = added["doc_id"]
    listed = client.predict(api_name="/documents")
    assert doc_id in [d["doc_id"] for d in listed] and len(listed) == len(before) + 1
    assert (server.data_dir / "uploads" / "sea-otters.md").read_text() == OTTERS

    again = client.predict(handle_file(str(path)), api_name="/upload")
    assert again["status"] == "unchanged" and "unchanged" in again["message"]
    assert client.predict(api_name="/documents") == listed

    answer = ask(client, "Why do sea otters hold hands while they sleep?")
    assert not answer.abstained
    assert doc_id in {c.doc_id for c in answer.citations}
    assert contract_violations(answer, texts_for(client, answer)) == []
    cited = next(c for c in answer.citations if c.doc_id == doc_id)
    assert OTTERS[cited.start:cited.end] == cited.text

    removed = client.predict(doc_id, api_name="/remove")
    assert removed["status"] == "removed"
    assert doc_id not in [d["doc_id"] for d in client.predict(api_name="/documents")]
    assert not (server.data_dir / "uploads" / "sea-otters.md").exists()
    after = ask(client, "Why do sea otters hold hands while they sleep?")
    assert doc_id not in {c.doc_id for c in after.citations}
    assert client.predict(doc_id, api_name="/remove")["status"] == "missing"


def test_upload_rejects_unsupported_types_and_clashing_ids(client, tmp_path):
    sheet = tmp_path / "report.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really")
    rejected = client.predict(handle_file(str(sheet)), api_name="/upload")
    assert rejected["status"] == "rejected" and "not supported" in rejected["message"]

    seed_id, seed = seed_document()
    clash = tmp_path / f"{seed_id}.txt"
    clash.write_text("A different text that would replace the seed article.\n")
    refused = client.predict(handle_file(str(clash)), api_name="/upload")
    assert refused["status"] == "rejected" and "rename" in refused["message"]
    assert client.predict(seed_id, api_name="/document")["text"] == seed


def test_upload_refuses_server_paths(server):
    """A file dict naming a path on the server (not one uploaded through
    Gradio) must not be read."""
    kind, out = call_api(server.url, "upload", [{"path": str(Path(__file__).resolve())}])
    assert kind == "error" and "server paths are not accepted" in out["error"]


def test_a_request_body_over_the_ceiling_is_refused_and_the_server_goes_on(server, client):
    """Refused with 413 whether the length is declared or the body streams
    in chunks; the client stops sending when it reads the refusal."""
    from urllib.parse import urlsplit

    from ui.limits import MAX_REQUEST_BYTES

    where = urlsplit(server.url)
    part = b"[" + b'"x",' * (MAX_REQUEST_BYTES // 8)
    for chunked in (False, True):
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        conn.putrequest("POST", "/gradio_api/call/answer")
        conn.putheader("Content-Type", "application/json")
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for _ in range(3):
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        else:
            conn.putheader("Content-Length", str(MAX_REQUEST_BYTES * 1000))
            conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413 and b"limit" in response.read()
        conn.close()
    assert ask(client, "Who is Ruan Zongze?").citations


def test_the_server_keeps_a_bounded_number_of_sessions(seeded_engine):
    """Found by make stress: every API call is a Gradio session, and Gradio
    kept 10,000 of them (65 KB each) by default."""
    from evals.served import free_port
    from ui.app import build, launch_options

    demo = build(seeded_engine)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **{**launch_options(), "state_session_capacity": 3})
    try:
        server = SimpleNamespace(url=f"http://127.0.0.1:{port}/")
        for _ in range(8):
            assert call_api(server.url, "documents", [])[0] == "complete"
        assert 1 <= len(demo.state_holder.session_data) <= 3
    finally:
        demo.close()


def test_requests_past_the_queue_size_are_refused_and_the_server_goes_on(seeded_engine, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace
    from urllib.error import HTTPError

    from evals.served import free_port
    from ui.app import build, launch_options

    monkeypatch.setattr(seeded_engine, "settings", replace(seeded_engine.settings, queue_size=2))
    demo = build(seeded_engine)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options())
    server = SimpleNamespace(url=f"http://127.0.0.1:{port}/")

    def post(_) -> tuple[int, str]:
        body = json.dumps({"data": ["Who is Ruan Zongze?", [], 4, None]}).encode()
        request = urllib.request.Request(f"{server.url}gradio_api/call/answer", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode()
        except HTTPError as err:
            return err.code, err.read().decode()

    try:
        with ThreadPoolExecutor(40) as pool:
            results = list(pool.map(post, range(40)))
        refused = [body for status, body in results if status != 200]
        assert refused and all("Queue is full" in body for body in refused)
        assert all(status in (200, 503) for status, _ in results)
        assert any(status == 200 for status, _ in results)
        deadline = time.monotonic() + 60  # the accepted ones drain, then the server takes questions again
        while True:
            try:
                assert call_api(server.url, "answer", ["Who is Ruan Zongze?", [], 4, None])[0] == "complete"
                break
            except HTTPError as err:
                if err.code != 503 or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        demo.close()


def test_chat_tabs_keep_their_own_conversations(server, client):
    """Two browser tabs through the UI's own (private) chat event, their
    follow-ups interleaved: each tab shows exactly its conversation, the
    answers the /answer API gives to the same questions and histories."""
    from evals.served import UiSession
    from evals.stress import expected_chat

    scripts = [["Who is Ruan Zongze?", "What did he say about it?"],
               ["What did China decide to do about fentanyl?", "When was that?"]]
    tabs = [UiSession(server.url), UiSession(server.url)]
    shown: list = [None, None]
    for turn in range(2):
        for i, tab in enumerate(tabs):
            shown[i] = tab.ask(scripts[i][turn])
    meta = {d["doc_id"]: render.DocMeta(d["title"], d["date"]) for d in client.predict(api_name="/documents")}
    for script, chat in zip(scripts, shown):
        answers = [client.predict(q, script[:k], 4, api_name="/answer") for k, q in enumerate(script)]
        assert len(chat) == 4 and chat == expected_chat(script, answers, meta)


def test_oversized_upload_is_refused(client, tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * (2 * 1024 * 1024 + 1))
    refused = client.predict(handle_file(str(big)), api_name="/upload")
    assert refused["status"] == "rejected" and "10 MB limit" in refused["message"]
    assert "big" not in [d["doc_id"] for d in client.predict(api_name="/documents")]


# pure parts -------------------------------------------------------------------
HOSTILE = '<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3))'


def test_safe_name_cannot_leave_the_uploads_folder(tmp_path):
    assert safe_name("../../x.md") == "x.md"
    assert safe_name("..\\..\\evil.TXT") == "evil.txt"
    assert safe_name(".bashrc").startswith("bashrc-")
    assert safe_name("../").startswith("upload-")
    assert safe_name("my notes (v2).md").startswith("my_notes_v2-") and safe_name("my notes (v2).md").endswith(".md")
    library = Library(SimpleNamespace(settings=SimpleNamespace(data_dir=tmp_path)))
    for name in ("../../x.md", "/etc/passwd.txt", "..", "a/../../b.html", "C:\\x\\y.md"):
        assert library.target(name).resolve().parent == (tmp_path / "uploads").resolve()


def test_names_that_clean_up_alike_do_not_replace_each_other():
    """Found by make stress: generated Unicode names all became ``txt`` (and
    lost their type) and replaced each other's uploads."""
    names = ["ä.txt", "ö.txt", "文件.txt", "a b.md", "a_b.md", "a(b.md", "x" * 300 + "1.txt", "x" * 300 + "2.txt"]
    cleaned = [safe_name(n) for n in names]
    assert len(set(cleaned)) == len(names)
    assert [c.rsplit(".", 1)[1] for c in cleaned] == [n.rsplit(".", 1)[1] for n in names]
    assert all(len(c) <= 120 and safe_name(n) == c for n, c in zip(names, cleaned))


def test_library_checks_type_and_size(tmp_path):
    library = Library(SimpleNamespace(settings=SimpleNamespace(data_dir=tmp_path)))
    assert "not supported" in library.check("x.exe", 10)
    assert "limit" in library.check("x.txt", 50 * 1024 * 1024)
    assert library.check("x.md", 10) is None


def test_rendering_escapes_everything():
    answer = {
        "question": HOSTILE, "answer": HOSTILE + " [1]", "abstained": False,
        "sentences": [{"text": HOSTILE, "citations": [1]}],
        "citations": [{"id": 1, "doc_id": "d", "title": "<b>t</b>", "source": "s", "sentence_index": 0,
                       "start": 0, "end": len(HOSTILE), "text": HOSTILE, "score": 1.0}],
    }
    doc = SimpleNamespace(doc_id="d", title="<img src=x onerror=alert(4)>", date=None, text=HOSTILE + "\n")
    pieces = [
        render.answer_html(0, answer, {"d": render.DocMeta("<b>t</b>", None)}),
        render.question_html(HOSTILE),
        render.viewer_html(0, answer, 1, (doc, [])),
        render.library_html([SimpleNamespace(doc_id="d", title=HOSTILE, date=None, sentences=1, chunks=1,
                                             name=HOSTILE + ".md", kind="md", pages=None, added=None)]),
        render.confirm_html(SimpleNamespace(doc_id="d", title=HOSTILE, name=HOSTILE, sentences=2)),
        render.notice_html(HOSTILE),
        render.status_html([("ok", HOSTILE)]),
        render.error_html(HOSTILE),
    ]
    for html in pieces:
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;b&gt;" in html


def test_short_answer_is_bold_inside_its_sentence_and_escaped():
    text = "Made by <i>Ann</i>  Lee\nin 1962."
    a = text.index("<i>")
    cite = {"id": 1, "doc_id": "d", "title": "T", "source": "s", "sentence_index": 0, "start": 100,
            "end": 100 + len(text), "text": text, "score": 0.934}
    short = {"text": "<i>Ann</i>  Lee", "doc_id": "d", "start": 100 + a, "end": 100 + a + 15, "citation": 1}
    answer = {"abstained": False, "citations": [cite], "short_answer": short,
              "sentences": [{"text": " ".join(text.split()), "citations": [1]}]}
    html = render.answer_html(0, answer, {})
    bold = '<strong class="qa-short">&lt;i&gt;Ann&lt;/i&gt; Lee</strong>'
    assert html.count(bold) == 2  # in the answer and in its source line
    assert "Made by " + bold + " in 1962." in html and "p = 0.93" in html
    assert "<i>" not in html


def test_viewer_marks_every_cited_sentence_and_the_current_one():
    text = "One. Two. Three."
    cites = [{"id": i + 1, "doc_id": "d", "title": "T", "source": "s", "sentence_index": i, "start": a, "end": b,
              "text": text[a:b], "score": 1.0} for i, (a, b) in enumerate([(0, 4), (10, 16)])]
    answer = {"abstained": False, "citations": cites, "sentences": []}
    doc = SimpleNamespace(doc_id="d", title="T", date="2020-01-01", text=text)
    html = render.viewer_html(3, answer, 2, (doc, []))
    assert html.count("<mark") == 2
    assert '<mark class="qa-hl qa-ref-3-2 qa-hl-current" id="qa-current" data-qa-n="2">Three.</mark>' in html
    assert '<mark class="qa-hl qa-ref-3-1" data-qa-n="1">One.</mark>' in html


def test_abstention_looks_different():
    html = render.answer_html(0, {"abstained": True, "answer": "The corpus does not say.", "sentences": [],
                                  "citations": []}, {})
    assert "qa-abstain" in html and render.ABSTAIN_LABEL in html and "qa-cite" not in html


def test_long_documents_are_shown_as_excerpts_around_the_citations():
    filler = "Nothing to see here. " * 20_000
    text = filler + "The cited sentence." + filler
    start = len(filler)
    cite = {"id": 1, "doc_id": "d", "title": "T", "source": "s", "sentence_index": 0, "start": start,
            "end": start + 19, "text": "The cited sentence.", "score": 1.0}
    doc = SimpleNamespace(doc_id="d", title="T", date=None, text=text)
    html = render.viewer_html(0, {"abstained": False, "citations": [cite], "sentences": []}, 1, (doc, []))
    assert len(html) < 3 * render.VIEW_CONTEXT_CHARS
    assert html.count("characters not shown") == 2
    assert 'id="qa-current" data-qa-n="1">The cited sentence.</mark>' in html


def test_answers_carry_their_judgement_and_can_be_narrowed_to_documents(client, server, tmp_path):
    """The same filter as ``qa.answer(documents=...)``: a question narrowed
    to a document retrieves and cites nothing else; an unknown doc_id is
    refused by name."""
    path = tmp_path / "Sea otters.md"
    path.write_text(OTTERS)
    added = client.predict(handle_file(str(path)), api_name="/upload")
    doc_id = added["doc_id"]
    try:
        listed = {d["doc_id"]: d for d in client.predict(api_name="/documents")}
        assert listed[doc_id]["name"] == "Sea otters.md" and listed[doc_id]["kind"] == "md"
        assert listed[doc_id]["pages"] is None and listed[doc_id]["added"].endswith("+00:00")
        seed_id, _ = seed_document()
        question = "Why do sea otters hold hands while they sleep?"
        wide = client.predict(question, [], 4, api_name="/answer")
        assert wide["judgement"] in ("confident", "tentative") and doc_id in {c["doc_id"] for c in wide["citations"]}
        narrow = client.predict(question, [], 4, [seed_id], api_name="/answer")
        assert {r["doc_id"] for r in narrow["retrieved"]} == {seed_id}
        assert doc_id not in {c["doc_id"] for c in narrow["citations"]}
        assert narrow["judgement"] == ("abstained" if narrow["abstained"] else narrow["judgement"])
        kind, out = call_api(server.url, "answer", [question, [], 4, [doc_id, "no-such-doc"]])
        assert kind == "error" and "no such document: 'no-such-doc'" in out["error"]
    finally:
        client.predict(doc_id, api_name="/remove")


def _answer(kind: str, short: bool = True) -> dict:
    text = "Fentanyl is 80 to 100 times stronger than morphine."
    cite = {"id": 1, "doc_id": "d", "title": "T", "source": "s", "sentence_index": 0, "start": 10,
            "end": 10 + len(text), "text": text, "score": 0.85 if kind == "confident" else 0.12,
            "page": 3, "pages": [3], "rects": [[3, 1.0, 2.0, 3.0, 4.0]], "paragraphs": None, "section": None}
    a = text.index("80")
    return {"question": "q", "answer": text + " [1]", "abstained": False, "judgement": kind,
            "sentences": [{"text": text, "citations": [1]}], "citations": [cite], "retrieved": [],
            "confidence": cite["score"], "timings_ms": {},
            "short_answer": {"text": "80 to 100", "doc_id": "d", "start": 10 + a, "end": 19 + a, "citation": 1,
                             "sure": True}
            if short else None}


def test_a_tentative_answer_is_drawn_apart_and_never_bold():
    sure = render.answer_html(0, _answer("confident"), {})
    unsure = render.answer_html(0, _answer("tentative"), {})
    assert '<strong class="qa-short">80 to 100</strong>' in sure and "Confident answer (p = 0.85)" in sure
    assert "qa-tentative" not in sure
    not_sure = _answer("confident")
    not_sure["short_answer"]["sure"] = False
    assert "<strong" not in render.answer_html(0, not_sure, {})
    assert "qa-tentative" in unsure and "The documents may not answer this. The closest sentence:" in unsure
    assert "<strong" not in unsure and "Tentative answer (p = 0.12)" in unsure
    assert 'class="qa-copy"' in sure and 'class="qa-copy-text"' in unsure


def test_the_kept_conversation_and_its_exports():
    from datetime import datetime, timezone

    from ui import conversation

    turns = [{"question": "How strong?", "answer": _answer("confident"), "scope": ["Manual"]},
             {"question": "Price?", "answer": _answer("tentative", short=False)},
             {"question": "x" * 10, "error": "question is too long"},
             {"question": "pending", "answer": None}]
    kept = conversation.saved(turns)
    assert len(kept) == 3 and all("retrieved" not in t.get("answer", {}) for t in kept)
    assert conversation.restored(json.loads(json.dumps(kept))) == kept
    junk = [None, 3, {"question": 5}, {"question": "q", "answer": {"no": "fields"}}, {"answer": {}}]
    assert conversation.restored(junk + kept) == kept and conversation.restored("not a list") == []
    many = [{"question": f"q{i}", "error": "e"} for i in range(conversation.MAX_SAVED_TURNS + 10)]
    assert len(conversation.saved(many)) == conversation.MAX_SAVED_TURNS

    when = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
    markdown = conversation.markdown(turns, when)
    assert markdown.startswith("# groundqa conversation\n\nExported 2026-01-02 03:04 UTC · 3 questions\n")
    assert "*Searched only: Manual*" in markdown and "*Confident answer (p = 0.85)*" in markdown
    assert ("[1] “Fentanyl is 80 to 100 times stronger than morphine.” — T (d, characters 10–61, page 3; p = 0.85)"
            in markdown)
    assert "The documents may not answer this. The closest sentence: Fentanyl is" in markdown
    assert "Could not answer: question is too long" in markdown and "pending" not in markdown
    exported = json.loads(conversation.as_json(turns, when))
    assert exported["exported"] == "2026-01-02T03:04:00+00:00" and exported["turns"] == kept


def test_the_browser_key_is_made_once_per_data_directory(tmp_path):
    """What lets a kept conversation be read after a restart: Gradio would
    make a new key at every start."""
    from ui.app import browser_secret

    first = browser_secret(tmp_path)
    assert len(first) >= 32 and browser_secret(tmp_path) == first
    assert (tmp_path / "browser-secret").stat().st_mode & 0o777 == 0o600
    assert browser_secret(tmp_path / "other") != first
