"""Choose a reader's thresholds on development data only.

Every question of the dev sets (the seed dev questions, the *dev* half of the
SQuAD Normans set and the reading model's validation articles, ``pool-val``;
never ``squad-test``) is retrieved and read once (``Engine.read``); the
readings do not depend on the thresholds, so each pair of values in the grid
is scored by selecting and composing again, which takes milliseconds.

Two thresholds: ``threshold`` (abstain when the best sentence's probability is
below it) and ``keep`` (further sentences join the answer at this probability
or more).  The objective, per data set, is the mean of

* the answer side: mean(gold-evidence recall, evidence precision) on
  answerable questions (an abstention scores 0 recall), and
* abstention recall on unanswerable questions;

averaged over the data sets with equal weight, so the 1,332 ``pool-val``
questions do not drown the seed's 78.  ``--write`` records the winner, with
the table that chose it, in the reader's ``calibration.json``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from evals import metrics
from evals.datasets import Dataset, resolve

DEV_SETS = ("seed", "squad-dev", "pool-val")
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 .. 0.95
KEEPS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)  # 1.01: one sentence only


@dataclass(frozen=True)
class SweepRow:
    threshold: float
    keep: float
    per_dataset: dict[str, dict[str, float]]  # name -> er, ep, ar, far, objective
    objective: float


def _mean(values) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else 0.0


def collect(datasets: list[Dataset], reader: str | None = None, show_progress: bool = True):
    """``[(dataset, [(question, Engine.read result)])]`` and the reader used."""
    from dataclasses import replace

    from tqdm import tqdm

    from evals.systems import Corpus

    if any(d.name == "squad-test" for d in datasets):
        raise ValueError("the sweep tunes; it must not see squad-test")
    out, used = [], None
    for d in datasets:
        corpus = Corpus(d, reader=reader)
        try:
            engine = corpus.engine
            used = engine.reader
            rows = []
            for q in tqdm(d.questions, desc=f"read {d.name}", unit="q", file=sys.stderr,
                          disable=not show_progress or None, leave=False):
                rows.append((q, engine.read(q.question, list(q.history))))
            out.append((d, rows))
        finally:
            corpus.close()
    return out, used


def score(collected, threshold: float, keep: float, most: int = 3) -> SweepRow:
    from qa.extractive import compose
    from qa.reader import select

    per = {}
    for d, rows in collected:
        er, ep, ar, far = [], [], [], []
        for q, reading in rows:
            answer = compose(q.question, select(reading.readings, threshold, keep, most), reading.readings)
            if q.answerable:
                far.append(float(answer.abstained))
                if q.evidence:
                    er.append(metrics.evidence_recall(answer, q))
                    ep.append(metrics.evidence_precision(answer, q))
            else:
                ar.append(float(answer.abstained))
        values = {"er": _mean(er), "ep": _mean(ep), "ar": _mean(ar), "far": _mean(far)}
        values["objective"] = ((values["er"] + values["ep"]) / 2 + values["ar"]) / 2
        per[d.name] = {k: round(v, 4) for k, v in values.items()}
    return SweepRow(threshold, keep, per, round(_mean(p["objective"] for p in per.values()), 4))


def sweep(thresholds=THRESHOLDS, keeps=KEEPS, datasets: list[Dataset] | None = None, reader: str | None = None,
          show_progress: bool = True) -> tuple[list[SweepRow], object]:
    datasets = datasets or [resolve(name) for name in DEV_SETS]
    collected, used = collect(datasets, reader, show_progress)
    return [score(collected, t, k) for t in thresholds for k in keeps], used


def best(rows: list[SweepRow]) -> SweepRow:
    """The highest objective; among rows within 0.002 of it, the highest
    ``keep`` and then the lowest threshold (fewer extra sentences, fewer
    refusals)."""
    top = max(r.objective for r in rows)
    near = [r for r in rows if r.objective >= top - 0.002]
    return sorted(near, key=lambda r: (-r.keep, r.threshold))[0]


def render(rows: list[SweepRow], current: tuple[float, float] | None = None) -> str:
    names = list(rows[0].per_dataset) if rows else []
    chosen = best(rows) if rows else None
    header = ["threshold", "keep"] + [f"{n} {m}" for n in names for m in ("ER", "EP", "AR", "FAR")] + ["objective"]
    lines = ["  ".join(header)]
    for r in rows:
        cells = [f"{r.threshold:.2f}".ljust(9), f"{r.keep:.2f}".ljust(4)]
        for n in names:
            p = r.per_dataset[n]
            cells += [f"{p[m]:.3f}".rjust(len(n) + 3) for m in ("er", "ep", "ar", "far")]
        cells.append(f"{r.objective:.4f}".rjust(9))
        marks = " <- best" if r is chosen else ""
        if current and abs(r.threshold - current[0]) < 1e-9 and abs(r.keep - current[1]) < 1e-9:
            marks += " (current)"
        lines.append("  ".join(cells) + marks)
    lines.append("ER/EP = gold-evidence recall/precision on answerable questions; AR = abstention recall on "
                 "unanswerable ones; FAR = false abstention rate; objective = mean over data sets of "
                 "mean((ER+EP)/2, AR). Dev data only.")
    return "\n".join(lines)


def write(rows: list[SweepRow], reader, path: Path) -> SweepRow:
    chosen = best(rows)
    path.write_text(json.dumps({
        "reader": reader.name,
        "threshold": chosen.threshold,
        "keep": chosen.keep,
        "chosen": asdict(chosen),
        "chosen_by": "evals/sweep.py: best objective on " + ", ".join(DEV_SETS),
        "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "grid": [asdict(r) for r in rows],
    }, indent=1) + "\n")
    return chosen
