"""Sweep the answerer's abstention threshold on development data only.

For each value of ``qa.extractive.ABSTAIN_BELOW`` (patched in place, restored
afterwards) it answers the seed dev questions and the *dev* half of the SQuAD
set (never the test half) and reports gold-evidence recall on answerable
questions and abstention recall on unanswerable ones.  The objective is their
mean over both sets pooled; the threshold that maximises it is marked.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from evals import metrics
from evals.datasets import Dataset, seed, squad

DEFAULT_THRESHOLDS = tuple(round(0.30 + 0.02 * i, 2) for i in range(16))  # 0.30 .. 0.60


@dataclass(frozen=True)
class SweepRow:
    threshold: float
    per_dataset: dict[str, tuple[float, float]]  # name -> (evidence recall, abstention recall)
    evidence_recall: float  # pooled over the data sets
    abstention_recall: float

    @property
    def objective(self) -> float:
        return (self.evidence_recall + self.abstention_recall) / 2


def sweep(thresholds=DEFAULT_THRESHOLDS, datasets: list[Dataset] | None = None,
          show_progress: bool = True) -> list[SweepRow]:
    from tqdm import tqdm

    from evals.systems import Corpus, GroundQA
    from qa import extractive

    datasets = datasets or [seed(), squad("dev")]
    if any(d.name == "squad-test" for d in datasets):
        raise ValueError("the sweep tunes; it must not see squad-test")
    corpora = [Corpus(d) for d in datasets]
    original = extractive.ABSTAIN_BELOW
    rows = []
    try:
        total = len(thresholds) * sum(len(d.questions) for d in datasets)
        with tqdm(total=total, desc="sweep", unit="q", file=sys.stderr, disable=not show_progress or None,
                  leave=False) as bar:
            for t in thresholds:
                extractive.ABSTAIN_BELOW = t
                per, recalls, abstains = {}, [], []
                for d, corpus in zip(datasets, corpora):
                    system = GroundQA(corpus)
                    er, ar = [], []
                    for q in d.questions:
                        answer = system.answer(q)
                        if q.answerable and q.evidence:
                            er.append(metrics.evidence_recall(answer, q))
                        elif not q.answerable:
                            ar.append(float(answer.abstained))
                        bar.update(1)
                    per[d.name] = (_mean(er), _mean(ar))
                    recalls += er
                    abstains += ar
                rows.append(SweepRow(t, per, _mean(recalls), _mean(abstains)))
    finally:
        extractive.ABSTAIN_BELOW = original
        for corpus in corpora:
            corpus.close()
    return rows


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def render(rows: list[SweepRow], current: float | None = None) -> str:
    names = list(rows[0].per_dataset) if rows else []
    best = max(rows, key=lambda r: r.objective).threshold if rows else None
    header = ["threshold"] + [f"{n} {m}" for n in names for m in ("ER", "AR")] + ["pooled ER", "pooled AR", "objective"]
    lines = ["  ".join(header)]
    for r in rows:
        cells = [f"{r.threshold:.2f}".ljust(9)]
        for n in names:
            er, ar = r.per_dataset[n]
            cells += [f"{er:.3f}".rjust(len(n) + 3), f"{ar:.3f}".rjust(len(n) + 3)]
        cells += [f"{r.evidence_recall:.3f}".rjust(9), f"{r.abstention_recall:.3f}".rjust(9),
                  f"{r.objective:.3f}".rjust(9)]
        marks = (" <- best" if r.threshold == best else "") + (" (current)" if current is not None and abs(r.threshold - current) < 1e-9 else "")
        lines.append("  ".join(cells) + marks)
    lines.append("ER = gold-evidence recall on answerable questions; AR = abstention recall on unanswerable ones; "
                 "objective = mean(pooled ER, pooled AR). Dev data only (seed dev + squad-dev).")
    return "\n".join(lines)
