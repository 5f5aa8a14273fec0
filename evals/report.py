"""What a run leaves behind: a terminal table, ``results.json``,
``answers.jsonl``, ``report.md``, ``failures.md``, ``chart.png`` and
``curves.png`` (each reader's abstention curve and calibration).

Every output names the judge that produced its support-based numbers.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from evals.gate import GateFailure
from evals.metrics import COUNTS, LATENCY, LOWER_IS_BETTER, QUALITY, abstention_curve
from evals.runner import DatasetRun, RunResult

#: Metrics drawn in the chart (all in [0, 1]).
CHART_METRICS = (
    "citation_validity", "citation_recall", "citation_precision", "faithfulness", "evidence_recall",
    "evidence_precision", "answer_containment", "f1", "abstention_f1", "hit_at_k", "mrr",
)
_LABELS = {"hit_at_k": "hit@k", "f1": "answer\nF1", "mrr": "MRR"}


def _fmt(value, metric: str = "") -> str:
    if value is None:
        return "–"
    if metric.endswith("_ms"):
        return f"{value:.1f}"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"


def _rows(d: DatasetRun) -> list[list[str]]:
    header = ["metric"] + [f"{s.name} (k={s.top_k})" for s in d.systems]
    rows = [header]
    for metric in QUALITY + LATENCY + COUNTS:
        arrow = " ↓" if metric in LOWER_IS_BETTER else ""
        rows.append([metric + arrow] + [_fmt(s.metrics.get(metric), metric) for s in d.systems])
    return rows


def table(result: RunResult) -> str:
    """Fixed-width tables, one per data set, for the terminal."""
    blocks = []
    for d in result.datasets:
        rows = _rows(d)
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [f"{d.name}: {d.description} ({d.documents} documents)"]
        for n, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        blocks.append("\n".join(lines))
    blocks.append(f"judge: {result.judge}  (↓ lower is better; – not applicable)")
    return "\n\n".join(blocks)


def _markdown_table(d: DatasetRun) -> str:
    rows = _rows(d)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" + "---:|" * (len(rows[0]) - 1)]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def markdown(result: RunResult, gate: list[GateFailure] | None, chart: str | None) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# groundqa grounding evals",
        "",
        f"Judge: **{result.judge}** (support-based metrics depend on it). Run {when}; settings "
        + ", ".join(f"{k}={v}" for k, v in result.settings.items()) + ".",
        "Metric definitions and sources: `evals/README.md`. Per-question failures of groundqa: `failures.md`.",
        "",
    ]
    if chart:
        parts += [f"![groundqa vs baselines]({chart})", "", "![abstention curves and calibration](curves.png)", ""]
    for d in result.datasets:
        parts += [f"## {d.name}", "", f"{d.description}; {d.documents} documents.", "", _markdown_table(d), ""]
    if gate is not None:
        parts += ["## Gate", ""]
        parts += ["All thresholds met."] if not gate else [f"- FAILED {g}" for g in gate]
        parts.append("")
    return "\n".join(parts)


def _problems(score, question) -> list[str]:
    problems = []
    if score.valid_citations < score.citations:
        problems.append(f"{score.citations - score.valid_citations} invalid citation(s)")
    if question.answerable and score.abstained:
        problems.append("abstained on an answerable question")
    if not question.answerable and not score.abstained:
        problems.append("answered an unanswerable question")
    if score.unsupported:
        problems.append(f"answer sentence(s) {', '.join(str(i + 1) for i in score.unsupported)} not supported by their citations")
    if question.answerable and not score.abstained and score.evidence_recall is not None and score.evidence_recall < 1:
        problems.append(f"gold evidence missed (evidence recall {score.evidence_recall:.2f})")
    return problems


def failures(result: RunResult, system: str = "groundqa") -> str:
    """Per-question listing of what went wrong for ``system``, to read regressions."""
    parts = [f"# Failures of {system}", "", f"Judge: {result.judge}.", ""]
    for d in result.datasets:
        run = d.system(system)
        listed = []
        for q, score, answer in zip(d.questions, run.scores, run.answers):
            problems = _problems(score, q)
            if not problems:
                continue
            lines = [f"### {q.id}" + (f" ({q.kind})" if q.kind else ""), "",
                     f"**Q:** {q.question}"]
            if q.history:
                lines.append(f"*History:* {' / '.join(q.history)}")
            lines.append(f"*Problems:* {'; '.join(problems)}")
            if q.answers:
                lines.append(f"*Gold answers:* {' | '.join(q.answers)}")
            for s in q.gold_sentences:
                gold = " ".join(d.texts[s.doc_id][s.start : s.end].split())
                lines.append(f"*Gold evidence* `{s.doc_id}:{s.start}-{s.end}`: {gold}")
            if answer.abstained:
                lines.append(f"*Answer:* abstained — {answer.answer}")
            else:
                lines.append("*Answer:*")
                for i, sentence in enumerate(answer.sentences, start=1):
                    cites = ", ".join(f"[{c}]" for c in sentence.citations)
                    lines.append(f"{i}. {sentence.text} {cites}")
                for c in answer.citations:
                    lines.append(f"   - [{c.id}] `{c.doc_id}:{c.start}-{c.end}` score {c.score}")
            listed.append("\n".join(lines) + "\n")
        parts += [f"## {d.name}: {len(listed)} of {len(d.questions)} questions", ""] + listed
    return "\n".join(parts)


def chart(result: RunResult, path: Path) -> None:
    """Grouped bars, one panel per data set: each metric, each system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(result.datasets)
    fig, axes = plt.subplots(n, 1, figsize=(14, 4.2 * n), squeeze=False)
    for ax, d in zip(axes[:, 0], result.datasets):
        width = 0.8 / len(d.systems)
        for i, s in enumerate(d.systems):
            values = [s.metrics.get(m) for m in CHART_METRICS]
            xs = [j + (i - (len(d.systems) - 1) / 2) * width for j in range(len(CHART_METRICS))]
            ax.bar(xs, [v if v is not None else 0 for v in values], width, label=f"{s.name} (k={s.top_k})")
        ax.set_xticks(range(len(CHART_METRICS)))
        ax.set_xticklabels([_LABELS.get(m, m.replace("_", "\n")) for m in CHART_METRICS], fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{d.name} ({len(d.questions)} questions)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0))
    fig.suptitle(f"groundqa vs baselines — judge: {result.judge}", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def curves(result: RunResult, path: Path) -> None:
    """Per data set, for every system that reports a confidence: abstention
    recall against false abstention over all thresholds (the dot is where it
    runs), and a reliability diagram (share of answerable questions per
    confidence bin; the diagonal is perfect calibration)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(result.datasets)
    fig, axes = plt.subplots(2, n, figsize=(5.2 * n, 9), squeeze=False)
    for col, d in enumerate(result.datasets):
        roc, cal = axes[0, col], axes[1, col]
        for s in d.systems:
            curve = abstention_curve(s.scores)
            if not curve:
                continue
            auc = s.metrics.get("answerability_auc")
            line, = roc.plot([c[1] for c in curve], [c[2] for c in curve], label=f"{s.name} (AUC {auc:.2f})")
            far, ar = s.metrics.get("false_abstention_rate"), s.metrics.get("abstention_recall")
            if far is not None and ar is not None:
                roc.plot([far], [ar], "o", color=line.get_color())
            bins = [[] for _ in range(10)]
            for q in s.scores:
                bins[min(9, int(q.confidence * 10))].append(q.answerable)
            xs = [(i + 0.5) / 10 for i, b in enumerate(bins) if b]
            cal.plot(xs, [sum(b) / len(b) for b in bins if b], "o-", color=line.get_color(), label=s.name)
        roc.plot([0, 1], [0, 1], ":", color="grey")
        roc.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="false abstention rate (answerable refused)",
                ylabel="abstention recall (unanswerable refused)", title=f"{d.name}: abstention curve")
        roc.grid(alpha=0.3)
        roc.legend(fontsize=8, loc="lower right")
        cal.plot([0, 1], [0, 1], ":", color="grey")
        cal.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence (best sentence's probability)",
                ylabel="share answerable", title=f"{d.name}: calibration")
        cal.grid(alpha=0.3)
        cal.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(result: RunResult, out: Path, gate: list[GateFailure] | None = None) -> dict[str, Path]:
    """Write every file into ``out``; returns their paths by kind."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "answers": out / "answers.jsonl", "markdown": out / "report.md",
             "failures": out / "failures.md", "chart": out / "chart.png", "curves": out / "curves.png"}
    summary = result.to_dict()
    if gate is not None:
        summary["gate"] = {"passed": not gate, "failures": [g.to_dict() for g in gate]}
    paths["json"].write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with open(paths["answers"], "w", encoding="utf-8") as handle:
        for d in result.datasets:
            for s in d.systems:
                for q, score, answer in zip(d.questions, s.scores, s.answers):
                    record = answer.to_dict()
                    for r in record["retrieved"]:
                        r.pop("text")  # chunk texts would make the file megabytes; ids and scores suffice
                    handle.write(json.dumps({"dataset": d.name, "system": s.name, "id": q.id,
                                             "score": score.to_dict(), "answer": record},
                                            ensure_ascii=False) + "\n")
    chart(result, paths["chart"])
    curves(result, paths["curves"])
    paths["markdown"].write_text(markdown(result, gate, paths["chart"].name), encoding="utf-8")
    paths["failures"].write_text(failures(result), encoding="utf-8")
    return paths
