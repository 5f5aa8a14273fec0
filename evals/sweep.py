"""Choose a reader's thresholds on development data only.

Every question of the dev sets (the seed dev questions, the *dev* half of the
SQuAD Normans set and the reading model's validation articles, ``pool-val``;
never ``squad-test``) is retrieved and read once (``Engine.read``); the
readings do not depend on the thresholds, so each pair of values in the grid
is scored by selecting and composing again, which takes milliseconds.

For the cross-encoder, the readings are first taken without its combiner
(``qa.reader.Combiner``), which is fitted on the candidates of ``pool-val``
(logistic regression of "is this a gold sentence" on the model's logit and
the heuristic score), then applied to every set before the grid is scored.

Two thresholds: ``threshold`` (abstain when the best sentence's probability is
below it) and ``keep`` (further sentences join the answer at this probability
or more).  The objective, per data set, is the mean of gold-evidence recall
(an abstention scores 0), evidence precision and abstention recall, averaged
over the data sets with equal weight, so the 1,332 ``pool-val`` questions do
not drown the seed's 78.  Only pairs whose false abstention rate, averaged
over the data sets the same way, is at most ``MAX_FALSE_ABSTENTION`` compete:
a reader that refuses what the documents do answer is not a reader people
keep using, and without the cap the objective rewards refusing (evidence
precision counts answered questions only).  ``--write`` records the winner, with the table that chose
it, in the reader's ``calibration.json``.
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
#: 0.01 .. 0.09, then 0.10 .. 0.95: combined probabilities are per candidate
#: sentence, and most candidates do not answer, so the useful range is low.
THRESHOLDS = tuple(round(0.01 * i, 2) for i in range(1, 10)) + tuple(round(0.05 * i, 2) for i in range(2, 20))
KEEPS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9, 1.01)  # 1.01: one sentence only
MAX_FALSE_ABSTENTION = 0.10


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
    """``[(dataset, [(question, Engine.read result)])]`` and the reader used.
    A cross-encoder reads without its combiner: the sweep fits that itself."""
    from tqdm import tqdm

    from evals.systems import Corpus
    from qa.reader import CrossEncoderReader

    if any(d.name == "squad-test" for d in datasets):
        raise ValueError("the sweep tunes; it must not see squad-test")
    out, used = [], None
    for d in datasets:
        corpus = Corpus(d, reader=reader)
        try:
            engine = corpus.engine
            used = engine.reader
            raw = CrossEncoderReader(used.path, combine=False) if isinstance(used, CrossEncoderReader) else used
            rows = []
            for q in tqdm(d.questions, desc=f"read {d.name}", unit="q", file=sys.stderr,
                          disable=not show_progress or None, leave=False):
                rows.append((q, engine.read(q.question, list(q.history), reader=raw)))
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
        values["objective"] = (values["er"] + values["ep"] + values["ar"]) / 3
        per[d.name] = {k: round(v, 4) for k, v in values.items()}
    return SweepRow(threshold, keep, per, round(_mean(p["objective"] for p in per.values()), 4))


@dataclass
class Sweep:
    rows: list[SweepRow]
    reader: object
    combiner: object | None = None  # qa.reader.Combiner, for the cross-encoder
    fitted_on: str = ""


def gold_labels(question, reading) -> list[tuple[float, float, int]]:
    """(model probability, heuristic score, is it a gold sentence) per candidate."""
    from evals.datasets import Range

    gold = question.gold_sentences
    return [(r.probability, r.candidate.score,
             int(any(Range(r.candidate.doc_id, r.candidate.span.start, r.candidate.span.end).covers(g) for g in gold)))
            for r in reading.readings]


def recombine(collected, combiner):
    """The readings again, each probability combined with its heuristic score."""
    from dataclasses import replace

    from qa.reader import Reading

    out = []
    for d, rows in collected:
        fresh = []
        for q, reading in rows:
            readings = sorted((Reading(r.candidate, combiner(r.probability, r.candidate.score), r.short)
                               for r in reading.readings), key=lambda r: -r.probability)
            fresh.append((q, replace(reading, readings=readings)))
        out.append((d, fresh))
    return out


def sweep(thresholds=THRESHOLDS, keeps=KEEPS, datasets: list[Dataset] | None = None, reader: str | None = None,
          show_progress: bool = True, fit_on: str = "pool-val") -> Sweep:
    """Read every dev question once; for the cross-encoder, fit its combiner
    on the candidates of ``fit_on`` (when that set is among ``datasets``);
    then score the grid."""
    from qa.reader import Combiner, CrossEncoderReader

    datasets = datasets or [resolve(name) for name in DEV_SETS]
    collected, used = collect(datasets, reader, show_progress)
    combiner, fitted_on = None, ""
    if isinstance(used, CrossEncoderReader):
        rows = [row for d, qs in collected if d.name == fit_on for q, reading in qs for row in gold_labels(q, reading)]
        combiner = Combiner.fit(rows) if rows else Combiner()
        fitted_on = (f"{fit_on}: {len(rows)} candidates, {sum(r[2] for r in rows)} gold" if rows
                     else "nothing (the model's probabilities as they are)")
        collected = recombine(collected, combiner)
    return Sweep([score(collected, t, k) for t in thresholds for k in keeps], used, combiner, fitted_on)


def eligible(row: SweepRow) -> bool:
    return _mean(p["far"] for p in row.per_dataset.values()) <= MAX_FALSE_ABSTENTION


def best(rows: list[SweepRow]) -> SweepRow:
    """The highest objective among eligible rows (all rows when none is);
    among those within 0.002 of it, the highest ``keep`` and then the lowest
    threshold (fewer extra sentences, fewer refusals)."""
    pool = [r for r in rows if eligible(r)] or rows
    top = max(r.objective for r in pool)
    near = [r for r in pool if r.objective >= top - 0.002]
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
                 f"mean(ER, EP, AR), among rows whose mean FAR over the sets is <= {MAX_FALSE_ABSTENTION}. "
                 "Dev data only.")
    return "\n".join(lines)


def write(result: Sweep, path: Path) -> SweepRow:
    rows = result.rows
    chosen = best(rows)
    path.write_text(json.dumps({
        "reader": result.reader.name,
        "threshold": chosen.threshold,
        "keep": chosen.keep,
        "combiner": asdict(result.combiner) if result.combiner else None,
        "combiner_fitted_on": result.fitted_on,
        "chosen": asdict(chosen),
        "chosen_by": (f"evals/sweep.py: best mean(ER, EP, AR) over {', '.join(DEV_SETS)} with mean false "
                      f"abstention <= {MAX_FALSE_ABSTENTION}"),
        "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "grid": [asdict(r) for r in rows],
    }, indent=1) + "\n")
    return chosen
