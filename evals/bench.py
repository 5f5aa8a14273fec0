"""``make bench``: how fast groundqa ingests, answers, starts and how big it is,
next to llama-index's default pipeline on the same files with the same embedder.

``python -m evals.bench`` runs on the Python 3.11 documentation sources
(Debian's ``python3.11-doc``, installed by ``scripts/ensure-pydocs`` when
missing), the seed and the two Debian PDF manuals of ``tests/data``, prints a
report and writes it to ``docs/benchmarks.md``.
``--smoke`` runs every section on the seed plus a few documents in about a
minute (``tests/test_bench_smoke.py`` keeps it working); its numbers mean
nothing.  Each measurement runs in a fresh process (``evals.bench_tasks``),
and every comparison is a ratio of numbers from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from qa.settings import PROJECT_ROOT

PYDOCS = Path("/usr/share/doc/python3.11/html/_sources")
SEED_DIR = PROJECT_ROOT / "seeds"
SEED_QUESTIONS = PROJECT_ROOT / "evals" / "data" / "seed_dev.jsonl"
PYDOCS_QUESTIONS = PROJECT_ROOT / "evals" / "data" / "pydocs_questions.txt"
#: Small documents the smoke run indexes besides the seed.
SMOKE_FILES = ("library/bisect.rst.txt", "library/colorsys.rst.txt", "library/keyword.rst.txt")
#: The full run embeds every ``RAW_EVERY``-th sentence for the raw-embedder rate
#: (a systematic sample of the same sentences), which keeps ``make bench`` under
#: 20 minutes on two cores; groundqa and llama-index ingest every file.
RAW_EVERY = 8
#: Where ``make growth`` (``evals.growth``) keeps its section of the report.
GROWTH_BEGIN, GROWTH_END = "<!-- growth: written by make growth -->", "<!-- /growth -->"
#: PDFs ingested for pages/s and sentences/s (Debian manuals, see
#: tests/data/README.md); the smoke run takes the first only.
PDF_FILES = (PROJECT_ROOT / "tests" / "data" / "camlidl-manual.pdf",
             PROJECT_ROOT / "tests" / "data" / "debmake-doc.en.pdf")


@dataclass(frozen=True)
class Target:
    name: str
    limit: str
    measured: str
    met: bool | None  # None: not measured


@dataclass
class Results:
    smoke: bool
    machine: dict = field(default_factory=dict)
    corpora: dict = field(default_factory=dict)
    ingest: dict = field(default_factory=dict)
    pdf: dict = field(default_factory=dict)
    latency: dict = field(default_factory=dict)
    cold: dict = field(default_factory=dict)
    serve: dict = field(default_factory=dict)
    install: dict = field(default_factory=dict)
    seconds: float = 0.0


# running things -------------------------------------------------------------
def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _env() -> dict[str, str]:
    """The children's environment: offline, no user data dir, no server."""
    env = {k: v for k, v in os.environ.items() if k not in ("QA_CHROMA_URL", "QA_DATA_DIR")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False")
    return env


def task(name: str, *args: str) -> dict:
    """Run one ``evals.bench_tasks`` measurement in a fresh process."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "evals.bench_tasks", name, *args], capture_output=True,
                         text=True, cwd=PROJECT_ROOT, env=_env())
    if out.returncode != 0:
        raise RuntimeError(f"bench task {name} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    log(f"{name} {' '.join(a for a in args if not a.startswith('/'))} … {time.perf_counter() - t0:.1f}s")
    return json.loads(out.stdout.strip().splitlines()[-1])


def qa_command() -> list[str]:
    script = Path(sys.executable).parent / "qa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa"]


def wall(cmd: list[str]) -> float:
    """Seconds from process start to exit (which must be 0)."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=PROJECT_ROOT, env=_env())
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])}… exited {out.returncode}:\n{out.stderr[-2000:]}")
    return seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of ``pid`` in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return values


# the sections ---------------------------------------------------------------
def machine() -> dict:
    def meminfo() -> str:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        return "?"

    def cpu() -> str:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
        return platform.processor() or "?"

    def commit() -> str:
        try:
            head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                  cwd=PROJECT_ROOT).stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True,
                                   cwd=PROJECT_ROOT).stdout.strip()
            return head + (" (with uncommitted changes)" if dirty else "") if head else "?"
        except OSError:
            return "?"

    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "nproc": len(os.sched_getaffinity(0)),
            "ram": meminfo(), "cpu": cpu(), "python": platform.python_version(), "commit": commit(),
            "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def ensure_pydocs() -> None:
    if not PYDOCS.is_dir():
        log("installing python3.11-doc (scripts/ensure-pydocs)")
        subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "ensure-pydocs")], check=True)


def corpora(work: Path, smoke: bool) -> dict[str, Path]:
    if not smoke:
        return {"seed": SEED_DIR, "pydocs": PYDOCS}
    small = work / "pydocs-smoke"
    for name in SMOKE_FILES:
        (small / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PYDOCS / name, small / name)
    return {"seed": SEED_DIR, "pydocs": small}


def bench_ingest(r: Results, work: Path, corpus: dict[str, Path]) -> None:
    raw = task("embed-raw", "--corpus", str(corpus["pydocs"]), "--every", "1" if r.smoke else str(RAW_EVERY))
    r.corpora = {"pydocs": {"path": str(PYDOCS if not r.smoke else corpus["pydocs"]),
                            "documents": raw["documents"], "sentences": raw["sentences"]}}
    gq = task("ingest-groundqa", "--data", str(work / "gq-pydocs"), "--corpus", str(corpus["pydocs"]))
    task("ingest-groundqa", "--data", str(work / "gq-seed"), "--corpus", str(corpus["seed"]))
    li = task("ingest-llama", "--data", str(work / "li-pydocs"), "--corpus", str(corpus["pydocs"]))
    task("ingest-llama", "--data", str(work / "li-seed"), "--corpus", str(corpus["seed"]))
    sentences = raw["sentences"]
    li["rate"] = sentences / li["seconds"]  # the same sentences, however llama-index splits them
    li["sentences"] = sentences
    r.ingest = {"raw": raw, "groundqa": gq, "llama": li}


def bench_pdf(r: Results, work: Path) -> None:
    """PDF ingest, beside plain text: the same ``ingest-groundqa`` task on a
    folder of PDFs, and ``embed-raw`` on it for its reading time (pdfium and
    the layout rules, then Punkt) and the embedder's rate at that moment."""
    import pypdfium2 as pdfium

    folder = work / "pdfs"
    folder.mkdir(parents=True, exist_ok=True)
    files = PDF_FILES[:1] if r.smoke else PDF_FILES
    pages = 0
    for path in files:
        shutil.copyfile(path, folder / path.name)
        pdf = pdfium.PdfDocument(str(path))
        pages += len(pdf)
        pdf.close()
    raw = task("embed-raw", "--corpus", str(folder), "--every", "1" if r.smoke else "4")
    gq = task("ingest-groundqa", "--data", str(work / "gq-pdf"), "--corpus", str(folder))
    r.pdf = {"files": [p.name for p in files], "pages": pages, "raw": raw, "groundqa": gq}
    log(f"pdf ingest: {pages} pages, {gq['sentences']} sentences in {gq['seconds']:.1f} s")


def render_pdf(r: Results) -> list[str]:
    """The PDF ingest table, with the plain-text corpus's row of this run."""
    p, raw, gq = r.pdf, r.pdf["raw"], r.pdf["groundqa"]
    text, text_raw = r.ingest["groundqa"], r.ingest["raw"]
    pydocs = r.corpora["pydocs"]
    return [
        "",
        "## Ingest: PDF next to plain text",
        "",
        f"PDFs: {' and '.join(f'`tests/data/{n}`' for n in p['files'])} (Debian manuals; {p['pages']} pages). "
        "Reading is `index.load.load_file` (pdfium's characters, the layout rules, Punkt) alone; "
        "`Engine.add` is the whole ingest (read, segment, chunk, embed, write to Chroma, keep the PDF). "
        "The raw embedder's rate is measured beside each, as the machine's speed varies.",
        "",
        "| input | documents | pages | sentences | reading s | `Engine.add` s | pages/s | sentences/s | "
        "raw embedder sentences/s | vs raw embedder |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| PDF | {raw['documents']} | {p['pages']} | {gq['sentences']:,} | {raw['segment_seconds']:.1f} | "
        f"{gq['seconds']:.1f} | {p['pages'] / gq['seconds']:.1f} | {gq['rate']:.0f} | {raw['rate']:.0f} | "
        f"{gq['rate'] / raw['rate']:.2f} |",
        f"| plain text (pydocs) | {pydocs['documents']} | – | {text['sentences']:,} | "
        f"{text_raw['segment_seconds']:.1f} | {text['seconds']:.1f} | – | {text['rate']:.0f} | "
        f"{text_raw['rate']:.0f} | {text['rate'] / text_raw['rate']:.2f} |",
        "",
        f"Reading alone runs at {p['pages'] / raw['segment_seconds']:.0f} pages/s; the embedder, one pass per "
        "sentence, sets the pace for either kind of file. The raw rate is taken a minute before `Engine.add` "
        "on a shared machine (and in smaller batches), so a ratio near or above 1 means as fast as the embedder.",
    ]


def _percentiles(ms: list[float]) -> dict:
    ordered = sorted(ms)
    q = statistics.quantiles(ordered, n=20, method="inclusive") if len(ordered) > 1 else ordered * 19
    return {"n": len(ms), "p50": statistics.median(ordered), "p95": q[18], "max": ordered[-1]}


def bench_latency(r: Results, work: Path) -> None:
    limit = ["--limit", "6"] if r.smoke else []
    for name, questions in (("seed", SEED_QUESTIONS), ("pydocs", PYDOCS_QUESTIONS)):
        r.latency[name] = {}
        for reader in ("cross-encoder", "heuristic"):
            gq = task("latency-groundqa", "--data", str(work / f"gq-{name}"), "--questions", str(questions),
                      "--reader", reader, *limit)
            key = "groundqa" if reader == "cross-encoder" else f"groundqa-{reader}"
            r.latency[name][key] = _percentiles(gq["ms"]) | {"answered": gq["answered"],
                                                              "peak_rss_mb": gq["peak_rss_mb"]}
        li = task("latency-llama", "--data", str(work / f"li-{name}"), "--questions", str(questions), *limit)
        r.latency[name]["llama"] = _percentiles(li["ms"])


def bench_cold(r: Results, work: Path) -> None:
    runs = 1 if r.smoke else 3
    for name, questions in (("seed", SEED_QUESTIONS), ("pydocs", PYDOCS_QUESTIONS)):
        from evals.bench_tasks import read_questions

        question = read_questions(questions, 1)[0]
        qa = [wall([*qa_command(), "--data-dir", str(work / f"gq-{name}"), "--no-seed", "ask", question])
              for _ in range(runs)]
        li = [wall([sys.executable, "-m", "evals.bench_tasks", "cold-llama", "--data", str(work / f"li-{name}"),
                    question]) for _ in range(runs)]
        log(f"cold start {name}: qa ask {qa}, llama-index {li}")
        r.cold[name] = {"question": question, "qa": statistics.median(qa), "llama": statistics.median(li),
                        "runs": runs}


def bench_serve(r: Results, work: Path) -> None:
    r.serve = serve_memory(work / "gq-pydocs", work / "serve.log")
    log(f"qa serve: {r.serve}")


def serve_memory(data: Path, log_path: Path, extra: tuple[str, ...] = (), timeout: float = 120.0) -> dict:
    """``qa serve`` on ``data`` from process start until ``/`` answers 200,
    its memory then, and after its first answer.  ``extra``: more global
    options (``--chroma-url URL``)."""
    port = free_port()
    with open(log_path, "w") as sink:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*qa_command(), "--data-dir", str(data), "--no-seed", *extra, "serve",
                                 "--host", "127.0.0.1", "--port", str(port)], stdout=sink, stderr=subprocess.STDOUT,
                                cwd=PROJECT_ROOT, env=_env(), start_new_session=True)
    try:
        ready = None
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        ready = time.perf_counter() - t0
                        break
            except OSError:
                time.sleep(0.1)
        if ready is None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return {"ready": None, "why": f"not ready in {timeout:.0f}s: {tail[0][:200]}"}
        return {"ready": ready} | proc_status(proc.pid) | first_answer(port, proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def first_answer(port: int, pid: int) -> dict:
    """The first question through the UI's ``/answer`` API (it loads the
    models, Chroma's chunk index, the saved lexical index and the sentence
    copy) and the server's memory after it."""
    from gradio_client import Client

    from evals.bench_tasks import read_questions

    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        t0 = time.perf_counter()
        client.predict(read_questions(PYDOCS_QUESTIONS, 1)[0], [], 4, api_name="/answer")
        seconds = time.perf_counter() - t0
    except Exception as err:  # the UI is another engineer's moving part: report, do not crash
        return {"first_answer": None, "first_answer_why": f"{type(err).__name__}: {str(err)[:150]}"}
    after = proc_status(pid)
    return {"first_answer": seconds, "VmRSS_after": after["VmRSS"], "VmHWM_after": after["VmHWM"]}


def bench_install(r: Results) -> None:
    venv = Path(sys.prefix)
    out = subprocess.run(["du", "-sk", str(venv)], capture_output=True, text=True)
    r.install = {"venv": str(venv), "mb": round(int(out.stdout.split()[0]) / 1024) if out.returncode == 0 else None}


# the report -----------------------------------------------------------------
def targets(r: Results) -> list[Target]:
    out = []

    def add(name, limit, value, fmt, ok):
        out.append(Target(name, limit, fmt.format(value) if value is not None else "n/a",
                          None if value is None else ok(value)))

    add("warm p95, seed (cross-encoder reader)", "≤ 100 ms", r.latency["seed"]["groundqa"]["p95"], "{:.1f} ms",
        lambda v: v <= 100)
    add(f"warm p95, {r.corpora['pydocs']['documents']} docs (cross-encoder reader)", "≤ 250 ms",
        r.latency["pydocs"]["groundqa"]["p95"], "{:.1f} ms", lambda v: v <= 250)
    cold = r.cold["pydocs"]
    add("cold `qa ask`", "≤ 3.5 s", cold["qa"], "{:.2f} s", lambda v: v <= 3.5)
    add("cold `qa ask` vs llama-index script (llama-index s / groundqa s)", "≥ 1", cold["llama"] / cold["qa"],
        "{:.2f}", lambda v: v >= 1)
    gq, li = r.ingest["groundqa"], r.ingest["llama"]
    add("ingest wall time vs llama-index (llama-index s / groundqa s)", "≥ 1", li["seconds"] / gq["seconds"],
        "{:.2f}", lambda v: v >= 1)
    ingest = gq["rate"] / r.ingest["raw"]["rate"]
    add("ingest vs raw embedder", "≥ 90 %", 100 * ingest, "{:.0f} %", lambda v: v >= 90)
    add("`qa serve` ready", "≤ 8 s", r.serve.get("ready"), "{:.1f} s", lambda v: v <= 8)
    add("`qa serve` RSS when ready", "≤ 600 MB", r.serve.get("VmRSS"), "{:.0f} MB", lambda v: v <= 600)
    add("`qa serve` RSS after its first answer", "≤ 450 MB", r.serve.get("VmRSS_after"), "{:.0f} MB",
        lambda v: v <= 450)
    return out


def render(r: Results) -> str:
    m = r.machine
    pydocs = r.corpora["pydocs"]
    command = "python -m evals.bench --smoke" if r.smoke else "make bench   # = python -m evals.bench"
    lines = [
        "# Benchmarks" + (" (smoke run: tiny corpus, numbers mean nothing)" if r.smoke else ""),
        "",
        "Reproduce with:",
        "",
        "```",
        command,
        "```",
        "",
        f"Ran {m['date']} on commit {m['commit']}: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, "
        f"Python {m['python']}; load average {m['load_start']} at the start, {m['load_end']} at the end; "
        f"the whole run took {r.seconds / 60:.1f} min.",
        "",
        f"Corpus: `{pydocs['path']}` ({pydocs['documents']} documents, {pydocs['sentences']:,} sentences as "
        "groundqa segments them) and the seed article. llama-index's default pipeline runs on the same files "
        "with the same embedder (`index.embed.MiniLMEmbedding`). Every comparison is a ratio of two numbers "
        "from this run; each system is measured in a fresh process.",
        "",
        "## Targets",
        "",
        "| target | limit | measured | met |",
        "|---|---|---|---|",
    ]
    for t in targets(r):
        met = "n/a" if t.met is None else "yes" if t.met else "**no**"
        lines.append(f"| {t.name} | {t.limit} | {t.measured} | {met} |")

    ing = r.ingest
    raw, gq, li = ing["raw"], ing["groundqa"], ing["llama"]
    sampled = "" if raw["every"] == 1 else f" (every {raw['every']}th sentence: {raw['embedded']:,})"
    lines += [
        "",
        f"## Ingest: {pydocs['documents']} documents, {pydocs['sentences']:,} sentences",
        "",
        "| system | seconds | sentences/s | vs raw embedder | chunks | peak RSS |",
        "|---|---|---|---|---|---|",
        f"| raw embedder, `MiniLMEmbedding().embed` in {512}-sentence batches{sampled} | {raw['seconds']:.1f} | "
        f"{raw['rate']:.0f} | 1.00 | – | {raw['peak_rss_mb']:.0f} MB |",
        f"| groundqa `Engine.add` (segment, chunk, embed, write to Chroma) | {gq['seconds']:.1f} | {gq['rate']:.0f} | "
        f"{gq['rate'] / raw['rate']:.2f} | {gq['chunks']:,} | {gq['peak_rss_mb']:.0f} MB |",
        f"| llama-index default (`SimpleDirectoryReader` → `VectorStoreIndex.from_documents`, SentenceSplitter, "
        f"ChromaVectorStore) | {li['seconds']:.1f} | {li['rate']:.0f} | {li['rate'] / raw['rate']:.2f} | "
        f"{li['chunks']:,} | {li['peak_rss_mb']:.0f} MB |",
        "",
        f"Segmenting the corpus alone (load + Punkt sentence spans) took {raw['segment_seconds']:.1f} s. "
        "llama-index's rate counts the same sentences over its own wall time; its 1024-token chunks are cut "
        "to the model's 256-token window when embedded, so it embeds far less text than groundqa, which "
        "embeds every sentence for its citations.",
        *render_pdf(r),
        "",
        "## Warm answer latency",
        "",
        "After one warm-up pass over the questions, each question once more, timed. groundqa: "
        "`Engine.answer` (hybrid BM25 + dense retrieval, reading, citations), with the trained cross-encoder "
        "reader (the default) and with the heuristic reader. llama-index: "
        "`index.as_retriever()` (dense top-2, retrieval only).",
        "",
        "| corpus | system | questions | p50 ms | p95 ms | max ms | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in (("seed", "seed (1 doc)"), ("pydocs", f"pydocs ({pydocs['documents']} docs)")):
        lat = r.latency[name]
        g, l = lat["groundqa"], lat["llama"]
        for key, system in (("groundqa", "groundqa, cross-encoder reader"), ("groundqa-heuristic",
                                                                              "groundqa, heuristic reader")):
            x = lat[key]
            lines.append(f"| {label} | {system} | {x['n']} | {x['p50']:.1f} | {x['p95']:.1f} | {x['max']:.1f} | "
                         f"{x['answered']} answered, the rest abstained; peak RSS {x['peak_rss_mb']:.0f} MB |")
        lines.append(f"| {label} | llama-index retriever | {l['n']} | {l['p50']:.1f} | {l['p95']:.1f} | "
                     f"{l['max']:.1f} | p95 ratio groundqa/llama-index {g['p95'] / l['p95']:.2f} |")
    lines += [
        "",
        "## Cold start: a new process answers one question, index already built",
        "",
        "groundqa: `qa --data-dir DIR --no-seed ask QUESTION`. llama-index: "
        "`python -m evals.bench_tasks cold-llama --data DIR QUESTION` (opens the persisted Chroma "
        "`VectorStoreIndex` with the same embedder, retrieves top-2, prints).",
        "",
        "| corpus | `qa ask` s | llama-index script s | llama-index / groundqa | runs (median) |",
        "|---|---|---|---|---|",
    ]
    for name in ("seed", "pydocs"):
        c = r.cold[name]
        lines.append(f"| {name} | {c['qa']:.2f} | {c['llama']:.2f} | {c['llama'] / c['qa']:.2f} | {c['runs']} |")
    s = r.serve
    if s.get("ready") is None:
        serve = f"n/a ({s.get('why')})."
    else:
        serve = (f"Ready (HTTP 200 on `/`) {s['ready']:.1f} s after process start, with VmRSS {s['VmRSS']:.0f} MB. ")
        serve += (f"The first question through the `/answer` API then took {s['first_answer']:.1f} s (it loads the "
                  f"models, Chroma's chunk index, the saved lexical index and the sentence copy) and left VmRSS at {s['VmRSS_after']:.0f} MB (VmHWM {s['VmHWM_after']:.0f} MB)."
                  if s.get("first_answer") is not None else f"First answer: n/a ({s.get('first_answer_why')}).")
    lines += [
        "",
        f"## `qa serve` on the {pydocs['documents']}-document index",
        "",
        serve,
        "",
        "## Install size",
        "",
        f"`du -sk {r.install['venv']}`: {r.install['mb']} MB." if r.install.get("mb") else "n/a",
        "",
    ]
    return "\n".join(lines)


def kept_growth(out: Path) -> str:
    """The growth section ``make growth`` wrote into the report (it has its
    own run), carried into the new one."""
    old = out.read_text(encoding="utf-8") if out.is_file() else ""
    if GROWTH_BEGIN not in old or GROWTH_END not in old:
        return ""
    return "\n" + GROWTH_BEGIN + old.split(GROWTH_BEGIN, 1)[1].split(GROWTH_END, 1)[0] + GROWTH_END + "\n"


def run(smoke: bool, out: Path, keep: bool) -> Results:
    started = time.perf_counter()
    r = Results(smoke=smoke, machine=machine())
    ensure_pydocs()
    work = Path(tempfile.mkdtemp(prefix="groundqa-bench-"))
    try:
        corpus = corpora(work, smoke)
        bench_ingest(r, work, corpus)
        bench_pdf(r, work)
        bench_latency(r, work)
        bench_cold(r, work)
        bench_serve(r, work)
        bench_install(r)
    finally:
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    r.machine["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    r.seconds = time.perf_counter() - started
    text = render(r)
    out.parent.mkdir(parents=True, exist_ok=True)
    text += kept_growth(out)
    out.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {out}")
    return r


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="Every section on a tiny corpus (about a minute).")
    parser.add_argument("--out", type=Path, help="Report path [docs/benchmarks.md; smoke: artifacts/bench-smoke.md].")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary indexes and print where they are.")
    args = parser.parse_args(argv)
    default = PROJECT_ROOT / ("artifacts/bench-smoke.md" if args.smoke else "docs/benchmarks.md")
    run(args.smoke, args.out or default, args.keep)


if __name__ == "__main__":
    main()
