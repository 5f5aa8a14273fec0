"""``make growth``: how groundqa grows with its corpus, 250 to 2,000 documents.

The corpus is real prose of three kinds, shuffled once (seed 0) so every size
holds a mix and each size holds the smaller ones: the Python 3.11
documentation sources (``make bench``'s 497 files), the articles of
``../shared/data/squad2-train`` (each article's paragraphs joined into one
text file) and, to reach 2,000, Debian's manual pages rendered to text by
groff (sections 1, 5, 7 and 8, pages of 2,000 characters or more).

The local sizes grow one index, as a user adds documents: each size adds
the documents the last one lacked (``Engine.add`` in a fresh process), and
its ingest time is the sum of the additions so far.  At each size, in fresh
processes: the index's size on disk, warm answer latency (the 32 pydocs
questions of ``make bench``), cold ``qa ask``, and ``qa serve``'s memory
after its first answer.  The largest size is indexed from scratch into a
``chroma run`` server, as a user past one machine's comfort would.  Each
quantity gets a power law, ``value = a * documents ** b``, fitted on the
local sizes; the table, the exponents and the plot (``docs/growth.png``) go
to ``docs/growth.json`` and the growth section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from evals.bench import (GROWTH_BEGIN, GROWTH_END, PYDOCS, PYDOCS_QUESTIONS, _env, _percentiles, free_port, log,
                         machine, proc_status, qa_command, serve_memory, task, wall)
from evals.bench_tasks import read_questions
from qa.settings import PROJECT_ROOT

SIZES = (250, 500, 1000, 2000)
SQUAD = PROJECT_ROOT.parent / "shared" / "data" / "squad2-train" / "train.json.gz"
MAN_SECTIONS = ("man1", "man5", "man7", "man8")
MIN_MAN_CHARS = 2000
#: Plain UTF-8 text: no bold or underline, no hyphenation, left-aligned, 100 columns.
GROFF = ("groff", "-t", "-man", "-Tutf8", "-P-cbou", "-rHY=0", "-dAD=l", "-rLL=100n")
OUT_JSON = PROJECT_ROOT / "docs" / "growth.json"
BENCHMARKS = PROJECT_ROOT / "docs" / "benchmarks.md"
#: What the fitted laws are asked: the documents at which each reaches the limit.
LIMITS = {"serve_rss_mb": (1024, "1 GB of memory"), "p95_ms": (250, "a 250 ms warm p95"),
          "ingest_s": (3600, "an hour of ingest")}


def squad_articles(folder: Path) -> list[Path]:
    with gzip.open(SQUAD, "rt", encoding="utf-8") as f:
        data = json.load(f)["data"]
    out = []
    for i, article in enumerate(data):
        title = article["title"].replace("_", " ")
        path = folder / f"{i:03d}-{re.sub(r'[^A-Za-z0-9]+', '_', title)[:60]}.txt"
        path.write_text(title + "\n\n" + "\n\n".join(p["context"] for p in article["paragraphs"]) + "\n",
                        encoding="utf-8")
        out.append(path)
    return out


def man_pages(folder: Path, wanted: int) -> list[Path]:
    """Up to ``wanted`` manual pages as plain text (groff, no formatting)."""
    out = []
    for section in MAN_SECTIONS:
        for page in sorted((Path("/usr/share/man") / section).glob("*")):
            if len(out) >= wanted:
                return out
            raw = gzip.decompress(page.read_bytes()) if page.suffix == ".gz" else page.read_bytes()
            rendered = subprocess.run(GROFF, input=raw, capture_output=True)
            text = rendered.stdout.decode("utf-8", "replace")
            if rendered.returncode == 0 and len(text) >= MIN_MAN_CHARS and not text.lstrip().startswith(".so"):
                path = folder / f"{page.name.removesuffix('.gz')}.txt"
                path.write_text(text, encoding="utf-8")
                out.append(path)
    return out


def pool(work: Path, largest: int) -> list[Path]:
    """The shuffled documents, ``largest`` of them (cached in ``work``)."""
    listing = work / "pool.json"
    if listing.is_file():
        paths = [Path(p) for p in json.loads(listing.read_text())]
        if len(paths) >= largest and all(p.is_file() for p in paths):
            return paths[:largest]
    for kind in ("pydocs", "squad", "man"):
        shutil.rmtree(work / kind, ignore_errors=True)
        (work / kind).mkdir(parents=True)
    pydocs = []
    for path in sorted(PYDOCS.rglob("*.txt")):
        target = work / "pydocs" / path.relative_to(PYDOCS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        pydocs.append(target)
    squad = squad_articles(work / "squad")
    man = man_pages(work / "man", max(0, largest - len(pydocs) - len(squad)))
    paths = pydocs + squad + man
    random.Random(0).shuffle(paths)
    listing.write_text(json.dumps([str(p) for p in paths]))
    log(f"growth pool: {len(pydocs)} pydocs, {len(squad)} SQuAD articles, {len(man)} man pages")
    return paths[:largest]


def corpus_of(work: Path, paths: list[Path], name: str) -> Path:
    """A folder holding ``paths`` (hard links, under their place in ``work``)."""
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    for path in paths:
        target = folder / path.relative_to(work)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.hardlink_to(path)
    return folder


def disk_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return round(int(out.stdout.split()[0]) / 1024, 1)


class ChromaServer:
    """``chroma run`` on a fresh folder, for as long as the ``with`` lasts."""

    def __init__(self, path: Path):
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ChromaServer":
        import urllib.request

        chroma = Path(sys.executable).parent / "chroma"
        self.log = open(self.path.parent / "chroma-server.log", "w")
        self.proc = subprocess.Popen([str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=_env())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"chroma run did not answer on {self.url}")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def measure(work: Path, data: Path, added: Path, size: int, server: ChromaServer | None,
            before: dict | None = None) -> dict:
    """Add the documents in ``added`` to the index in ``data`` (or the
    server), then measure it; ``before``: the row of the index as it was."""
    url = ["--chroma-url", server.url] if server else []
    ingest = task("ingest-groundqa", "--data", str(data), "--corpus", str(added), *url)
    if before:
        seconds = before["ingest_s"] + ingest["seconds"]
        ingest |= {"documents": before["documents"] + ingest["documents"],
                   "sentences": before["sentences"] + ingest["sentences"], "seconds": seconds,
                   "rate": (before["sentences"] + ingest["sentences"]) / seconds,
                   "peak_rss_mb": max(before["ingest_peak_rss_mb"], ingest["peak_rss_mb"])}
    latency = task("latency-groundqa", "--data", str(data), "--questions", str(PYDOCS_QUESTIONS), *url)
    question = read_questions(PYDOCS_QUESTIONS, 1)[0]
    cold = [wall([*qa_command(), "--data-dir", str(data), "--no-seed", *url, "ask", question]) for _ in range(3)]
    serve = serve_memory(data, work / f"serve-{size}.log", tuple(url))
    ms = _percentiles(latency["ms"])
    row = {"documents": ingest["documents"], "sentences": ingest["sentences"], "chunks": ingest["chunks"],
           "ingest_s": round(ingest["seconds"], 1), "sentences_per_s": round(ingest["rate"]),
           "ingest_peak_rss_mb": ingest["peak_rss_mb"],
           "disk_mb": disk_mb(data) + (disk_mb(server.path) if server else 0),
           "p50_ms": round(ms["p50"], 1), "p95_ms": round(ms["p95"], 1),
           "cold_s": round(statistics.median(cold), 2),
           "serve_rss_mb": serve.get("VmRSS_after"),
           "serve_ready_s": round(serve["ready"], 1) if serve.get("ready") else None,
           "chroma": "server" if server else "local"}
    if server:
        row["chroma_server_rss_mb"] = proc_status(server.proc.pid)["VmRSS"]
    log(f"growth {size}: {row}")
    return row


def fit(rows: list[dict], key: str) -> dict | None:
    """Two readings of the same points: ``value = a * documents ** b`` (least
    squares in log-log; ``b`` says how it grows: 1 linear, 0 flat) and
    ``value = base + per_document * documents`` (what each document adds,
    and what extrapolates to a limit)."""
    import numpy as np

    points = [(r["documents"], r[key]) for r in rows if r.get(key)]
    if len(points) < 2:
        return None
    n, v = np.array([p[0] for p in points], dtype=float), np.array([p[1] for p in points], dtype=float)
    b, log_a = np.polyfit(np.log(n), np.log(v), 1)
    per_document, base = np.polyfit(n, v, 1)
    return {"a": float(np.exp(log_a)), "b": round(float(b), 3), "base": round(float(base), 3),
            "per_document": round(float(per_document), 5)}


def reach(fits: dict, largest: int) -> dict:
    """Where the linear laws meet each of LIMITS, within 100 times the
    largest size measured (further is not an estimate)."""
    out = {}
    for key, (limit, what) in LIMITS.items():
        law = fits.get(key)
        if law and law["per_document"] > 0:
            documents = (limit - law["base"]) / law["per_document"]
            if 0 < documents <= 100 * largest:
                out[key] = {"limit": limit, "what": what, "documents": int(round(documents, -2))}
    return out


def plot(rows: list[dict], fits: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = [("ingest_s", "ingest (s)"), ("sentences_per_s", "ingest (sentences/s)"),
              ("disk_mb", "index on disk (MB)"),
              ("serve_rss_mb", "qa serve RSS after first answer (MB)"), ("p95_ms", "warm p95 (ms)"),
              ("cold_s", "cold qa ask (s)")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    docs = np.array([r["documents"] for r in rows])
    grid = np.linspace(docs.min(), docs.max(), 50)  # the laws drawn out to the server's size
    for ax, (key, label) in zip(axes.flat, panels):
        values = [r.get(key) for r in rows]
        colours = ["tab:orange" if r["chroma"] == "server" else "tab:blue" for r in rows]
        ax.scatter(docs, values, c=colours, zorder=3)
        if key == "serve_rss_mb":  # the server's own memory, on top of groundqa's
            both = [(r["documents"], r["serve_rss_mb"] + r["chroma_server_rss_mb"]) for r in rows
                    if r.get("chroma_server_rss_mb") and r.get("serve_rss_mb")]
            if both:
                ax.scatter(*zip(*both), facecolors="none", edgecolors="tab:orange", zorder=3,
                           label="with the Chroma server's")
        law = fits.get(key)
        if law:
            ax.plot(grid, law["a"] * grid ** law["b"], color="grey", lw=1, label=f"∝ documents^{law['b']:.2f}")
            ax.legend(loc="upper left", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("documents")
        ax.grid(alpha=0.3)
    fig.suptitle("groundqa growth (blue: local Chroma, orange: `chroma run` server)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def run(sizes: tuple[int, ...], work: Path, server_at: int | None) -> dict:
    started = time.perf_counter()
    paths = pool(work / "pool", max(sizes))
    rows, local, done = [], None, 0
    shutil.rmtree(work / "data-local", ignore_errors=True)
    for size in sizes:
        if size == server_at:
            shutil.rmtree(work / "chroma-server", ignore_errors=True)
            (work / "chroma-server").mkdir(parents=True)
            corpus = corpus_of(work / "pool", paths[:size], f"corpus-{size}")
            with ChromaServer(work / "chroma-server" / "data") as server:
                rows.append(measure(work, work / "data-server", corpus, size, server))
            continue
        added = corpus_of(work / "pool", paths[done:size], f"added-{done}-{size}")
        local = measure(work, work / "data-local", added, size, None, local)
        rows.append(local)
        done = size
    minutes = round((time.perf_counter() - started) / 60, 1)
    return {"machine": machine(), "sizes": list(sizes), "rows": rows, "minutes": minutes, **laws(rows)}


def laws(rows: list[dict]) -> dict:
    """The fits, on the local sizes only: the server moves Chroma's memory
    and work into another process, so its point is shown beside the laws,
    not in them."""
    local_rows = [r for r in rows if r["chroma"] == "local"]
    keys = ("ingest_s", "sentences_per_s", "disk_mb", "serve_rss_mb", "p95_ms", "cold_s")
    fits = {key: fit(local_rows, key) for key in keys}
    return {"fits": fits, "reach": reach(fits, max(r["documents"] for r in rows))}


def section(result: dict, plot_name: str) -> str:
    """The growth section of docs/benchmarks.md, numbers from ``result``."""
    rows, fits, m = result["rows"], result["fits"], result["machine"]
    lines = [GROWTH_BEGIN, "", "## Growth: 250 to 2,000 documents (`make growth`)", "",
             f"Ran {m['date']} on commit {m['commit']} ({m['nproc']} cores, {m['ram']} RAM; "
             f"{result['minutes']:.0f} min). Real prose, shuffled: the Python docs sources, the SQuAD 2.0 "
             "training articles (one file each) and Debian man pages rendered by groff. The local sizes grow one "
             "index (ingest time is the sum of the additions); the largest is indexed from scratch into a "
             "`chroma run` server on the same machine. Warm latency: the 32 pydocs questions; cold start: "
             "`qa ask`, median of 3; memory: `qa serve` after its first answer.", "",
             f"![growth]({plot_name})", "",
             "| documents | Chroma | sentences | ingest s | sentences/s | on disk MB | serve RSS MB | "
             "warm p50 / p95 ms | cold `qa ask` s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        chroma = r["chroma"] + (f" (server RSS {r['chroma_server_rss_mb']:.0f} MB)" if r.get("chroma_server_rss_mb")
                                else "")
        lines.append(f"| {r['documents']:,} | {chroma} | {r['sentences']:,} | {r['ingest_s']:.0f} | "
                     f"{r['sentences_per_s']} | {r['disk_mb']:.0f} | {r['serve_rss_mb'] or 'n/a'} | "
                     f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} | {r['cold_s']:.2f} |")
    grows = "; ".join(f"{label} ∝ documents^{fits[key]['b']:.2f}, {fits[key]['per_document']:.3g} {unit} a document"
                      for key, label, unit in (("ingest_s", "ingest time", "s"), ("disk_mb", "disk", "MB"),
                                               ("serve_rss_mb", "serve memory", "MB"), ("p95_ms", "warm p95", "ms"),
                                               ("cold_s", "cold start", "s")) if fits.get(key))
    lines += ["", f"Fitted on the local sizes: {grows}.", ""]
    if result.get("reach"):
        lines.append("On one machine, by the linear laws: " + "; ".join(
            f"{v['what']} at about {v['documents']:,} documents" for v in result["reach"].values()) + ".")
    server = [r for r in rows if r["chroma"] == "server"]
    if server:
        r = server[-1]
        lines += ["", f"**Where one machine stops being enough.** Ingest, disk and memory grow linearly with the "
                  f"corpus, answers barely (warm p95 {rows[0]['p95_ms']:.0f} ms at {rows[0]['documents']:,} "
                  f"documents, {r['p95_ms']:.0f} ms at {r['documents']:,}). Memory is what runs out: Chroma keeps "
                  f"every sentence vector in memory, and at {r['documents']:,} documents the `chroma run` server "
                  f"held {r['chroma_server_rss_mb']:,.0f} MB while groundqa's own process held "
                  f"{r['serve_rss_mb']:,.0f} MB. Past what the machine's memory holds, run Chroma on a machine of "
                  "its own (`chroma run --path DIR --host 0.0.0.0 --port 8000` there, "
                  "`QA_CHROMA_URL=http://THAT-HOST:8000 qa serve` here): groundqa's process then stays near the "
                  f"server row's {r['serve_rss_mb']:,.0f} MB, and Chroma's machine needs about "
                  f"{r['chroma_server_rss_mb'] / r['documents']:.2f} MB a document. Ingest stays "
                  f"{r['sentences_per_s']} sentences/s either way; past an hour of ingest, add in batches "
                  "(`qa index add` skips what is indexed, and an interrupted add is repaired, not redone)."]
    lines += ["", GROWTH_END]
    return "\n".join(lines)


def splice(path: Path, block: str) -> None:
    """Put ``block`` in ``path`` in place of its growth section, or at its end."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if GROWTH_BEGIN in text and GROWTH_END in text:
        head, rest = text.split(GROWTH_BEGIN, 1)
        text = head + block + rest.split(GROWTH_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.growth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--server-at", type=int, default=SIZES[-1],
                        help="the size that runs against a `chroma run` server (0: none)")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "artifacts" / "growth",
                        help="where the corpus and the indexes go (the corpus is kept for the next run)")
    parser.add_argument("--out", type=Path, default=OUT_JSON)
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: refit and rewrite the plot and report from --out's rows")
    args = parser.parse_args(argv)
    if args.render:
        result = json.loads(args.out.read_text())
        result |= laws(result["rows"])
    else:
        result = run(tuple(sorted(args.sizes)), args.work, args.server_at or None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(result["rows"], result["fits"], args.out.with_suffix(".png"))
    if args.out == OUT_JSON:
        splice(BENCHMARKS, section(result, args.out.with_suffix(".png").name))
    log(f"wrote {args.out} and {args.out.with_suffix('.png')} in {result['minutes']} min")
    for key in ("rows", "fits", "reach"):
        print(json.dumps(result[key], indent=1))


if __name__ == "__main__":
    main()
