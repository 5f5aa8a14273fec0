"""``make stress``: groundqa under load, over long sessions, against generated
and hostile input and ``kill -9``; writes ``docs/robustness.md`` (a row per
scenario: what was tried, how often, what held, the figures) and
``artifacts/stress.json``.

Everything goes through the real interfaces: ``Engine.answer`` in this
process, ``qa serve`` through ``gradio_client``, its HTTP API and the
page's own chat event (``evals.served.UiSession``), and the ``qa`` command
in subprocesses.  A *crash* is an uncaught exception, an
undocumented error or exit code; a *violation* is an answer that breaks the
JSON contract (``qa.cite.contract_violations``: citations exact against the
document text).  ``--smoke`` runs every scenario at a tiny scale (about a
minute; ``tests/test_stress_smoke.py``); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from evals import crash, generated
from evals.served import UiSession, call_api, qa_serve
from index.segment import Span
from qa.settings import PROJECT_ROOT, Settings
from ui import memory

SEED_QUESTIONS = PROJECT_ROOT / "evals" / "data" / "seed_dev.jsonl"
REPORT = PROJECT_ROOT / "docs" / "robustness.md"
FOLLOW_UPS = ["What did he say about it?", "And when was that?", "Why?", "What about the United States?",
              "And how many were there?"]


@dataclass
class Scale:
    sessions: int = 20
    per_session: int = 10
    engine_questions: int = 6000  # through one Engine, 80 % generated; its RSS is the in-process soak
    served_questions: int = 4000  # through qa serve's HTTP API, 80 % generated: 2,000 to warm up, 2,000 measured
    chat_questions: int = 2000  # generated, through one `qa chat` on standard input
    ask_questions: int = 12  # one `qa ask` each (a cold start apiece; `qa chat` carries the bulk)
    cli_files: int = 1000  # one `qa index add` of a folder of generated files
    upload_files: int = 200  # one /upload each
    kills: tuple = (("upload", "0.5"), ("upload", "write+0.05"), ("upload", "write+0.3"), ("upload", "write+1"),
                    ("removal", "write+0"), ("removal", "write+0.03"), ("ingest", "write+0.05"),
                    ("ingest", "write+0.5"), ("ingest", "2"))


SMOKE = Scale(sessions=3, per_session=4, engine_questions=40, served_questions=30, chat_questions=20,
              ask_questions=2, cli_files=30, upload_files=5, kills=(("removal", "write+0.01"), ("ingest", "1")))


@dataclass
class Row:
    scenario: str
    tried: str
    held: bool
    figures: str
    details: dict = field(default_factory=dict)


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# measuring ----------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


#: Gradio keeps an event queue for each of the last 2,000 sessions
#: (``Queue.pending_messages_per_session``, an ``LRUCache(2000)``), and every
#: HTTP API call is a session of its own: ``qa serve`` grows until 2,000
#: calls have filled it (``tests/test_stress_smoke.py`` checks the figure).
GRADIO_EVENT_QUEUES = 2000


@dataclass
class Soak:
    """RSS and open files sampled every ``every`` questions; growth is
    measured after ``warm`` questions (by default the first tenth, when the
    caches and the ONNX arenas fill)."""

    pid: int
    every: int
    warm: int | None = None
    samples: list = field(default_factory=list)  # (questions done, RSS MB, fds)

    def sample(self, done: int) -> None:
        """In the soak's own process the heap's free pages go back first,
        as ``qa serve`` gives them back after each answer: RSS then counts
        memory still held (where a leak shows), not the pages glibc keeps
        after the largest question so far."""
        if done % self.every == 0:
            if self.pid == os.getpid():
                memory.release()
            self.samples.append((done, rss_mb(self.pid), open_fds(self.pid)))

    def summary(self) -> dict:
        """Growth after warm-up, from the highest RSS seen until its end to
        the mean of the last three samples, and the fitted slope per 1,000
        questions.  The high-water mark, not the last warm-up sample: one
        answer's large buffers can lift RSS 10-16 MB for a few answers and
        let it fall again, which is no leak, while a leak passes every level
        the process has already shown it needs."""
        if len(self.samples) < 4:
            return {"samples": len(self.samples)}
        after = self.samples[-1][0] / 10 if self.warm is None else self.warm
        warm = [s for s in self.samples if s[0] >= after] or self.samples
        xs, rss, fds = zip(*warm)
        peak = max(mb for done, mb, _ in self.samples if done <= xs[0])
        end = statistics.mean(rss[-3:])
        slope = statistics.linear_regression(xs, rss).slope * 1000 if len(set(xs)) > 1 else 0.0
        return {"rss_start_mb": round(self.samples[0][1], 1), "warm_questions": xs[0], "rss_warm_mb": round(peak, 1),
                "rss_end_mb": round(end, 1), "rss_growth_pct": round((end - peak) / peak * 100, 2),
                "rss_slope_mb_per_1000": round(slope, 2), "fds_warm": fds[0], "fds_end": fds[-1],
                "fds_max": max(fds), "samples": len(self.samples),
                "curve": [[done, round(mb, 1)] for done, mb, _ in self.samples]}


def percentiles(ms: list[float]) -> dict:
    if not ms:
        return {}
    ordered = sorted(ms)
    return {"p50_ms": round(ordered[len(ordered) // 2], 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
            "max_ms": round(ordered[-1], 1)}


# generated input ----------------------------------------------------------------
def generate(strategy, n: int, seed: int) -> list:
    """``n`` examples of a hypothesis strategy, the same ones on every run."""
    from hypothesis import HealthCheck, Phase, given, seed as hseed, settings

    out: list = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example):
        out.append(example)

    collect()
    while len(out) < n:  # hypothesis may stop early on a small space
        out.extend(out[: n - len(out)])
    return out[:n]


def real_questions() -> list[str]:
    return [json.loads(line)["question"] for line in SEED_QUESTIONS.read_text().splitlines() if line.strip()]


def question_mix(n: int, seed: int) -> list[tuple[str, list]]:
    """80 % generated text (with generated histories), 20 % real questions
    (with a real question as history every third time), shuffled."""
    from hypothesis import strategies as st

    fuzzed = generate(st.tuples(generated.long_questions, generated.histories), n - n // 5, seed)
    real = real_questions()
    rng = random.Random(seed)
    ours = [(q, [rng.choice(real)] if i % 3 == 0 else []) for i, q in
            enumerate(rng.choice(real + FOLLOW_UPS) for _ in range(n // 5))]
    mixed = [*fuzzed, *ours]
    rng.shuffle(mixed)
    return mixed


def documented(message: str) -> bool:
    return any(word in message for word in (*generated.REFUSED_QUESTION, "top_k"))


# scenarios ----------------------------------------------------------------------
def engine_soak(work: Path, scale: Scale) -> Row:
    from qa.cite import contract_violations
    from qa.engine import Engine

    engine = Engine(Settings.from_env(data_dir=work / "engine"))
    texts = {d.doc_id: engine.document(d.doc_id)[0].text for d in engine.documents()}
    chroma_before = folder_bytes(work / "engine" / "chroma")
    items = question_mix(scale.engine_questions, 1)
    soak = Soak(os.getpid(), max(1, len(items) // 40))
    counts = {"answered": 0, "abstained": 0, "refused": 0, "violations": 0, "crashes": 0}
    examples: list[str] = []
    started = time.perf_counter()
    for i, (question, history) in enumerate(items, 1):
        try:
            result = engine.answer(question, history=history)
            json.loads(result.to_json())
            broken = contract_violations(result, texts)
            counts["violations"] += bool(broken)
            counts["abstained" if result.abstained else "answered"] += 1
            if broken:
                examples.append(f"{question[:60]!r}: {broken[:2]}")
        except ValueError as err:
            counts["refused" if documented(str(err)) else "crashes"] += 1
            if not documented(str(err)):
                examples.append(f"{question[:60]!r}: ValueError {err}")
        except Exception as err:  # the point of the run: count anything undocumented
            counts["crashes"] += 1
            examples.append(f"{question[:60]!r}: {type(err).__name__} {err}")
        soak.sample(i)
    seconds = time.perf_counter() - started
    grown = folder_bytes(work / "engine" / "chroma") - chroma_before
    s = soak.summary()
    held = counts["crashes"] == counts["violations"] == 0 and s.get("rss_growth_pct", 0) < 5 and grown <= 0
    return Row("Soak and fuzz through one `Engine` (`qa.answer`)",
               f"{len(items)} questions: 80 % generated (any Unicode, controls, RTL, emoji, lone surrogates, "
               "0–10,000 characters, digits, punctuation, SQL/HTML/template syntax, prompt injection) with "
               "generated histories, 20 % real seed questions and follow-ups",
               held,
               f"{counts['answered']} answered, {counts['abstained']} abstained, {counts['refused']} refused with "
               f"the documented ValueError; {counts['violations']} contract violations, {counts['crashes']} crashes. "
               f"RSS {s.get('rss_warm_mb')} (highest in warm-up) → {s.get('rss_end_mb')} MB after it ({s.get('rss_growth_pct')} %, "
               f"{s.get('rss_slope_mb_per_1000')} MB per 1,000 questions); open files {s.get('fds_warm')} → "
               f"{s.get('fds_end')}; Chroma's files grew {grown} bytes; {len(items) / seconds:.1f} questions/s",
               {"counts": counts, "soak": s, "chroma_growth_bytes": grown, "seconds": round(seconds, 1),
                "examples": examples[:20], "generated_questions": len(items) - len(items) // 5})


def session_script(i: int, real: list[str], per_session: int) -> list[str]:
    rng = random.Random(i)
    script = []
    while len(script) < per_session:
        script.append(rng.choice(real))
        script.append(rng.choice(FOLLOW_UPS))
    return script[:per_session]


def run_sessions(scripts: list[list[str]], open_session) -> tuple[list[list], list[float], list[str]]:
    """Every script as one chat session in its own thread, all at once.
    ``open_session()`` gives one session's ``ask(question, earlier
    questions)``; each script's replies come back in order, an error as
    {"error": message}."""
    latencies: list[float] = []
    errors: list[str] = []

    def one(script: list[str]) -> list:
        ask, replies = open_session(), []
        for k, question in enumerate(script):
            t = time.perf_counter()
            try:
                replies.append(ask(question, script[:k]))
            except Exception as err:
                errors.append(f"{question!r}: {type(err).__name__} {err}")
                replies.append({"error": str(err)})
            latencies.append((time.perf_counter() - t) * 1000)
        return replies

    with ThreadPoolExecutor(len(scripts)) as pool:
        return list(pool.map(one, scripts)), latencies, errors


def api_session(url: str):
    """A gradio_client session of ``/answer``, sending the history itself."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    return lambda question, earlier: client.predict(question, earlier, 4, api_name="/answer")


def ui_session(url: str):
    """A browser tab's chat (``UiSession``): the history is the server's
    session state, so only the question is sent; the reply is what the
    chat shows afterwards."""
    chat = UiSession(url)
    return lambda question, earlier: chat.ask(question)


def expected_chat(script: list[str], answers: list[dict], meta: dict) -> list[str]:
    """What the chat must show after ``script``: the conversation rendered
    from the /answer API's answers to the same questions and histories."""
    from ui import render

    turns = [{"question": q, "error": a["error"]} if "error" in a else {"question": q, "answer": a}
             for q, a in zip(script, answers)]
    return [m["content"] for m in render.messages(turns, meta)]


def churn_violations(answer, texts: dict[str, str], versions: dict[str, list[str]]) -> list[str]:
    """The contract, where a document replaced while the question was
    answered may be cited in any version it had (an answer computed just
    before a removal may arrive just after it): each citation must be exact
    against one of them, and the rest of the contract hold."""
    from qa.cite import contract_violations

    problems, chosen = [], dict(texts)
    for c in answer.citations:
        fits = [t for t in versions.get(c.doc_id, [texts.get(c.doc_id, "")]) if t[c.start:c.end] == c.text]
        if not fits:
            problems.append(f"citation {c.id} matches no version of {c.doc_id}")
        elif c.doc_id in versions:
            chosen[c.doc_id] = fits[-1]
    return problems + [p for p in contract_violations(answer, chosen) if "text differs" not in p]


def _timeless(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def load_test(url: str, pid: int, scale: Scale, texts: dict[str, str], work: Path) -> list[Row]:
    from gradio_client import Client, handle_file

    from qa.cite import Answer, contract_violations

    real = real_questions()
    scripts = [session_script(i, real, scale.per_session) for i in range(scale.sessions)]
    api = partial(api_session, url)
    run_sessions(scripts[:1], api)  # warm the server
    reference = [run_sessions([s], api)[0][0] for s in scripts]  # one session at a time
    rss_before = rss_mb(pid)
    t0 = time.perf_counter()
    answers, latencies, errors = run_sessions(scripts, api)
    seconds = time.perf_counter() - t0
    crosstalk = sum(_timeless(a) != _timeless(r) for got, want in zip(answers, reference) for a, r in zip(got, want))
    violations = sum(bool(contract_violations(Answer.from_dict(a), texts)) for got in answers for a in got
                     if "error" not in a)
    n = sum(map(len, scripts))
    first = Row(f"{scale.sessions} concurrent chat sessions through `qa serve` (`gradio_client`)",
                f"{scale.sessions} sessions × {scale.per_session} questions, half of them follow-ups that lean on "
                "the session's own history; every answer compared with the same session run alone",
                crosstalk == violations == len(errors) == 0,
                f"{crosstalk} answers differing from the session run alone (cross-talk), {violations} contract "
                f"violations, {len(errors)} errors; {n / seconds:.1f} questions/s, "
                + ", ".join(f"{k.replace('_ms', '')} {v:.0f} ms" for k, v in percentiles(latencies).items())
                + f"; server RSS {rss_before:.0f} → {rss_mb(pid):.0f} MB",
                {"latency": percentiles(latencies), "errors": errors[:10], "seconds": round(seconds, 1)})

    # the same sessions as browser tabs: the UI's own chat event, history in the server's session state
    from ui.render import DocMeta

    meta = {d["doc_id"]: DocMeta(d["title"], d["date"]) for d in Client(url, verbose=False).predict(
        api_name="/documents")}
    t0 = time.perf_counter()
    chats, latencies, errors = run_sessions(scripts, partial(ui_session, url))
    seconds = time.perf_counter() - t0
    wrong = sum(replies[-1] != expected_chat(script, want, meta)  # the chat as it stands after the last question
                for replies, script, want in zip(chats, scripts, reference))
    rows = [first, Row(f"{scale.sessions} concurrent chat sessions through the UI's chat event",
                       f"the same {scale.sessions} sessions sent as the page sends them (queue/join and its event "
                       "stream), the conversation kept in each session's server-side state; each chat's final "
                       "view compared with the /answer answers rendered",
                       wrong == len(errors) == 0,
                       f"{wrong} chats showing anything but their own conversation's answers, {len(errors)} errors; "
                       f"{n / seconds:.1f} questions/s, "
                       + ", ".join(f"{k.replace('_ms', '')} {v:.0f} ms" for k, v in percentiles(latencies).items()),
                       {"latency": percentiles(latencies), "errors": errors[:10], "seconds": round(seconds, 1)})]

    # the same sessions while another client uploads and removes documents they ask about
    versions: dict[str, list[str]] = {}  # every text each churned document has had
    stop = threading.Event()
    churned = {"uploaded": 0, "removed": 0, "errors": []}

    def churn():
        client = Client(url, verbose=False)
        k = 0
        while not stop.is_set():
            path = work / f"sandpipers-{k % 3}.txt"
            text = (f"The sandpiper colony number {k % 3} nests on the shingle spit at Marrow Point. "
                    f"Its wardens counted {120 + k} breeding pairs in the spring survey.\n")
            path.write_text(text)
            versions.setdefault(f"sandpipers-{k % 3}", []).append(text)
            try:
                if client.predict(handle_file(str(path)), api_name="/upload")["status"] in ("added", "replaced"):
                    churned["uploaded"] += 1
                time.sleep(0.2)
                if client.predict(f"sandpipers-{k % 3}", api_name="/remove")["status"] == "removed":
                    churned["removed"] += 1
            except Exception as err:
                churned["errors"].append(f"{type(err).__name__} {err}")
            k += 1

    churn_scripts = [s if i % 4 else ["How many breeding pairs did the sandpiper wardens count?",
                                      "Where does the sandpiper colony nest?"] * (scale.per_session // 2)
                     for i, s in enumerate(scripts)]
    worker = threading.Thread(target=churn)
    worker.start()
    t0 = time.perf_counter()
    answers, latencies, errors = run_sessions(churn_scripts, api)
    seconds = time.perf_counter() - t0
    stop.set()
    worker.join()
    stale = sum(bool(churn_violations(Answer.from_dict(a), texts, versions)) for got in answers for a in got
                if "error" not in a)
    cited_churn = sum(any(c["doc_id"].startswith("sandpipers") for c in a["citations"]) for got in answers
                      for a in got if "error" not in a)
    n = sum(map(len, churn_scripts))
    about = sum(len(s) for i, s in enumerate(churn_scripts) if i % 4 == 0)
    second = Row(f"{scale.sessions} concurrent sessions while documents are uploaded and removed",
                 f"{n} questions ({about} about the documents being churned) while "
                 f"one client uploaded and removed them {churned['uploaded']}/{churned['removed']} times",
                 stale == len(errors) == len(churned["errors"]) == 0,
                 f"{cited_churn} answers cited a churned document, {stale} answers citing text that no version of "
                 f"the document had (or breaking the contract otherwise), {len(errors)} question errors, {len(churned['errors'])} "
                 f"upload/removal errors; {n / seconds:.1f} questions/s, "
                 + ", ".join(f"{k.replace('_ms', '')} {v:.0f} ms" for k, v in percentiles(latencies).items()),
                 {"churn": churned, "errors": errors[:10]})
    return [*rows, second]


def served_soak(url: str, pid: int, scale: Scale, texts: dict[str, str], data: Path) -> Row:
    from qa.cite import Answer, contract_violations

    items = question_mix(scale.served_questions, 2)
    chroma_before = folder_bytes(data / "chroma")
    soak = Soak(pid, max(1, len(items) // 40), warm=min(GRADIO_EVENT_QUEUES, len(items) // 2))
    counts = {"answered": 0, "refused": 0, "violations": 0, "crashes": 0}
    examples: list[str] = []
    for i, (question, history) in enumerate(items, 1):
        try:
            kind, out = call_api(url, "answer", [question, history, 4, None])
        except Exception as err:
            kind, out = "http", f"{type(err).__name__} {err}"
        if kind == "complete" and isinstance(out, dict):
            broken = contract_violations(Answer.from_dict(out), texts)
            counts["violations"] += bool(broken)
            counts["answered"] += 1
        elif kind == "error" and isinstance(out, dict) and documented(str(out.get("error"))):
            counts["refused"] += 1
        else:
            counts["crashes"] += 1
            examples.append(f"{question[:60]!r}: {kind} {str(out)[:200]}")
            log(examples[-1])
        soak.sample(i)
    grown = folder_bytes(data / "chroma") - chroma_before
    s = soak.summary()
    return Row("Soak and fuzz through `qa serve`'s `/answer`",
               f"{len(items)} questions over raw HTTP (the same mix as above, lone surrogates included)",
               counts["crashes"] == counts["violations"] == 0 and s.get("rss_growth_pct", 0) < 5 and grown <= 0,
               f"{counts['answered']} answered, {counts['refused']} refused with the documented error; "
               f"{counts['violations']} contract violations, {counts['crashes']} crashes. Server RSS "
               f"{s.get('rss_warm_mb')} (highest in warm-up) → {s.get('rss_end_mb')} MB over the {len(items) - s.get('warm_questions', 0)} "
               f"questions after warm-up ({s.get('rss_growth_pct')} %, {s.get('rss_slope_mb_per_1000')} MB per "
               f"1,000), {s.get('rss_start_mb')} → {s.get('rss_warm_mb')} MB during it (the first "
               f"{s.get('warm_questions')}, while Gradio's per-call event queues fill); open files "
               f"{s.get('fds_warm')} → {s.get('fds_end')} "
               f"(max {s.get('fds_max')}); Chroma's files grew {grown} bytes",
               {"counts": counts, "soak": s, "examples": examples[:20],
                "generated_questions": len(items) - len(items) // 5})


def file_name(stem: str, suffix: str, taken: set) -> str:
    """A generated stem cut to fit 255 bytes with its suffix, made unique."""
    stem = stem.encode("utf-8")[:200].decode("utf-8", "ignore").strip() or "x"
    name = f"{stem}{suffix}"
    while name in taken or name in (".", "..") or name.startswith("."):
        name = f"_{name}"
    taken.add(name)
    return name


def generated_files(folder: Path, n: int, seed: int) -> list[Path]:
    from hypothesis import strategies as st

    from index.load import SUFFIXES

    folder.mkdir(parents=True, exist_ok=True)
    taken: set = set()
    paths = []
    for data, stem, suffix in generate(st.tuples(generated.file_bytes, generated.file_stems,
                                                 st.sampled_from(SUFFIXES)), n, seed):
        path = folder / file_name(stem, suffix, taken)
        path.write_bytes(data)
        paths.append(path)
    return paths


def cli_files(work: Path, scale: Scale) -> Row:
    from qa.engine import Engine

    folder, data = work / "files", work / "files-data"
    paths = generated_files(folder, scale.cli_files, 3)
    done = crash.qa(data, "index", "add", str(folder), "--json")
    crashed = done.returncode not in (0, 1) or "Traceback" in done.stderr
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    engine = Engine(Settings.from_env(data_dir=data, seed=False))
    docs = engine.documents()
    inexact = []
    for d in docs:
        doc, spans = engine.document(d.doc_id)
        if not generated.spans_exact(doc.text, spans):
            inexact.append(d.doc_id)
    unnamed = [m for m in report.get("skipped", []) if not any(str(p) in m for p in paths)]
    check = engine.check()
    return Row("Generated files through `qa index add`",
               f"{len(paths)} generated files in one folder (random bytes, text in 6 encodings with CR/CRLF/LF, "
               "HTML fragments, trailing binary; names with spaces, quotes, dots, Unicode, up to 255 bytes; "
               "every supported suffix)",
               not crashed and not inexact and not unnamed and check.clean and bool(report),
               f"exit code {done.returncode}; {len(report.get('added', []))} indexed, "
               f"{len(report.get('skipped', []))} refused with the file named ({len(unnamed)} without); "
               f"{len(inexact)} documents with a stored sentence that is not exact; `qa index check` "
               f"{'clean' if check.clean else check.problems[:3]}",
               {"stderr_tail": done.stderr[-500:] if crashed else "", "generated_files": len(paths)})


def upload_files(url: str, work: Path, scale: Scale) -> Row:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    paths = generated_files(work / "uploads-src", scale.upload_files, 4)
    statuses: dict[str, int] = {}
    problems: list[str] = []
    for path in paths:
        try:
            out = client.predict(handle_file(str(path)), api_name="/upload")
            statuses[out["status"]] = statuses.get(out["status"], 0) + 1
            if out["status"] == "rejected" and out["name"] not in out["message"]:  # as Gradio received it
                problems.append(f"{path.name!r}: refusal does not name the file: {out['message'][:120]}")
        except Exception as err:
            problems.append(f"{path.name!r}: {type(err).__name__} {err}")
    inexact = []
    for d in client.predict(api_name="/documents"):
        got = client.predict(d["doc_id"], api_name="/document")
        if not generated.spans_exact(got["text"], [Span(i, a, b) for i, a, b in got["sentences"]]):
            inexact.append(d["doc_id"])
    return Row("Generated files through the UI's `/upload`",
               f"{len(paths)} generated files, one request each",
               not problems and not inexact,
               ", ".join(f"{v} {k}" for k, v in sorted(statuses.items())) +
               f"; {len(problems)} errors or unnamed refusals; {len(inexact)} documents with a sentence that is "
               "not exact",
               {"problems": problems[:10], "generated_files": len(paths)})


def cli_questions(work: Path, scale: Scale) -> Row:
    from hypothesis import strategies as st

    data = work / "cli-data"
    lines = [q for q in generate(generated.long_questions, scale.chat_questions * 2, 5)
             if q.strip() and not any(c in q for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")]
    lines = lines[: scale.chat_questions]
    sentinel = "Who is Ruan Zongze?"
    env = dict(os.environ, QA_DATA_DIR=str(data))
    stdin = "\n".join([*lines, sentinel, ""]).encode("utf-8", "surrogatepass")  # lone surrogates: invalid UTF-8
    seeding = subprocess.run([sys.executable, "-m", "qa", "index", "list"], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, timeout=600)  # index the seed once, before two processes share it
    if seeding.returncode != 0:
        raise RuntimeError(f"qa index list failed: {seeding.stderr.decode('utf-8', 'replace')[-2000:]}")
    with ThreadPoolExecutor(1) as side:  # the `qa ask` runs below go on beside the chat
        chatting = side.submit(subprocess.run, [sys.executable, "-m", "qa", "chat"], cwd=PROJECT_ROOT, env=env,
                               input=stdin, capture_output=True, timeout=3600)
        asks = generate(st.one_of(generated.questions, st.just("")), scale.ask_questions, 6)
        bad = ask_failures(asks, env)
        chat = chatting.result()
    out, err = chat.stdout.decode("utf-8", "replace"), chat.stderr.decode("utf-8", "replace")
    last = [block for block in out.split("> ") if block.strip()][-1:]  # each answer follows a "> " prompt
    chat_ok = chat.returncode == 0 and "Traceback" not in err and "Ruan Zongze" in "".join(last)
    return Row("Generated questions through the `qa` command",
               f"{len(lines)} questions through one `qa chat` on standard input (invalid UTF-8 included); "
               f"{len(asks)} `qa ask` runs",
               chat_ok and not bad,
               f"`qa chat` exit {chat.returncode}, {'answered' if chat_ok else 'did not answer'} the last question; "
               f"`qa ask`: {len(asks) - len(bad)} exited 0 or 2 with the documented message, {len(bad)} did not",
               {"chat_stderr_tail": err[-800:] if not chat_ok else "", "ask_failures": bad[:10],
                "generated_questions": len(lines) + len(asks)})


def ask_failures(asks: list[str], env: dict) -> list[str]:
    """One `qa ask --json` per question; those that neither answered nor
    exited 2 with the documented message."""
    bad = []
    for q in asks:
        arg = q.replace("\x00", "")
        try:
            arg.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            arg = arg.encode("utf-8", "replace").decode("utf-8")
        done = subprocess.run([sys.executable, "-m", "qa", "ask", "--json", arg], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, timeout=600)
        text = done.stderr.decode("utf-8", "replace")
        if done.returncode == 0:
            json.loads(done.stdout)
        elif done.returncode != 2 or "Traceback" in text or not documented(text):
            bad.append(f"{arg[:40]!r}: exit {done.returncode} {text[-200:]}")
    return bad


def kills(work: Path, scale: Scale) -> Row:
    file = work / "kill-records.txt"
    crash.big_document(file, 1500)
    folder = work / "kill-folder"
    folder.mkdir()
    for i in range(4):
        crash.big_document(folder / f"records-{i}.txt", 700, seed=i)

    def one(numbered: tuple[int, tuple[str, str]]):
        i, (op, trigger) = numbered
        return (crash.kill_ingest(work / f"kill-{i}", folder, trigger) if op == "ingest" else
                crash.kill_during(work / f"kill-{i}", op, trigger, file))

    # Two at a time, each in its own folder on its own port: the triggers
    # wait for the operation's own writes, so a slower machine moves them
    # with it, and the run fits its time budget.
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, enumerate(scale.kills)))
    broken = [k for k in results if k.violations]
    landed = sum(bool(k.half_done) for k in results)
    return Row("`kill -9` of `qa serve` during an upload and during a removal, and of `qa index add`, then a "
               "restart",
               f"{len(results)} kills: " + ", ".join(f"{k.operation} at {k.trigger}" for k in results),
               not broken,
               f"{sum(k.killed for k in results)} landed before the operation finished, {landed} left a document "
               f"half-written (seen by `qa index check`); after restart {len(broken)} with a document half-present "
               "or an orphan upload copy; `qa index check` clean after every restart" if not broken else
               f"{len(broken)} broken: {[k.violations for k in broken]}",
               {"kills": [k.to_dict() for k in results]})


# report -------------------------------------------------------------------------
def write_report(rows: list[Row], seconds: float, smoke: bool) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Robustness: what was tried and what held",
        "",
        f"Generated by `make stress` (`python -m evals.stress`) on {when} in {seconds / 60:.1f} minutes, on this "
        f"{os.cpu_count()}-core machine. A crash is an uncaught exception or an undocumented error or exit code; "
        "a contract violation is an answer whose citations are not exact against the document text "
        "(`qa.cite.contract_violations`). The limits these rely on are listed in the README (Limits).",
        "",
        "| scenario | what was tried | held | figures |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.scenario} | {r.tried} | {'yes' if r.held else '**no**'} | {r.figures} |")
    questions = sum(r.details.get("generated_questions", 0) for r in rows)
    files = sum(r.details.get("generated_files", 0) for r in rows)
    crashes = sum(r.details.get("counts", {}).get("crashes", 0) for r in rows)
    lines += ["", f"In all: {questions:,} generated questions and {files:,} generated files; {crashes} crashes "
              f"counted by the soaks; {sum(not r.held for r in rows)} scenarios that did not hold."]
    lines += ["", "`make test` runs the same kinds of input at a smaller scale on every change: "
              "tests/test_fuzz.py, test_hostile_files.py, test_limits.py, test_crash.py, test_scale.py "
              "(kill -9 during `qa index add`), test_chroma_server.py (a server that is down or silent), "
              "test_ui_api.py (a full queue, the request-body ceiling, two browser tabs' conversations)."]
    text = "\n".join(lines) + "\n"
    if smoke:
        text = text.replace("# Robustness", "# Robustness (smoke run: the figures mean nothing)", 1)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.stress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="every scenario at a tiny scale")
    parser.add_argument("--out", type=Path, help=f"the report (default {REPORT.relative_to(PROJECT_ROOT)}; "
                                                 "a smoke run writes none unless asked)")
    args = parser.parse_args(argv)
    scale = SMOKE if args.smoke else Scale()
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="groundqa-stress-") as tmp:
        work = Path(tmp)
        with qa_serve(work / "served") as served:
            from gradio_client import Client

            client = Client(served.url, verbose=False)
            texts = {d["doc_id"]: client.predict(d["doc_id"], api_name="/document")["text"]
                     for d in client.predict(api_name="/documents")}
            log("concurrent sessions")
            loaded = load_test(served.url, served.pid, scale, texts, work)
            rows.extend(loaded)
            log("\n".join(r.figures for r in loaded))
            # The load test runs alone, for its latencies; the rest in two
            # lanes, to fit the time budget.  The Engine soak runs in a
            # process of its own (its RSS is that process's): as a thread
            # it held the GIL and slowed the /answer client from 13 to 3.7
            # questions/s.
            log("questions through /answer, and through one Engine in a second process")
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as side:
                in_process = side.submit(engine_soak, work, scale)
                rows.append(served_soak(served.url, served.pid, scale, texts, work / "served"))
                log(rows[-1].figures)
                log("files through /upload")
                uploaded = upload_files(served.url, work, scale)
                log(uploaded.figures)
                rows += [in_process.result(), uploaded]
                log(rows[-2].figures)
        # Both lanes below drive subprocesses and mostly wait on them.
        log("questions through the qa command, beside kill -9 of qa serve and qa index add")
        with ThreadPoolExecutor(1) as side:
            commands = side.submit(cli_questions, work, scale)
            killed = kills(work, scale)
            log(killed.figures)
            rows.append(commands.result())
            log(rows[-1].figures)
        log("files through qa index add")
        rows += [cli_files(work, scale), killed]
        log(rows[-2].figures)
    seconds = time.perf_counter() - started
    report = write_report(rows, seconds, args.smoke)
    out = args.out or (None if args.smoke else REPORT)
    if out:
        out.write_text(report)
    artifacts = PROJECT_ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / ("stress-smoke.json" if args.smoke else "stress.json")).write_text(
        json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False))
    print(report)
    failed = [r.scenario for r in rows if not r.held]
    if failed:
        print(f"did not hold: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
