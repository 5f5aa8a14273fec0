"""Choose a reader's thresholds on development data only.

Every question of the dev sets (the seed dev questions, the *dev* half of the
SQuAD Normans set and the reading model's validation articles, ``pool-val``;
never ``squad-test``) is retrieved and read once (``Engine.read``); the
readings do not depend on the thresholds, so each pair of values in the grid
is scored by selecting and composing again, which takes milliseconds.

For the passage reader, the readings are first taken uncalibrated; its two
regressions (``qa.reading.calibrate.Calibration``: "is this the gold
sentence" over each candidate's scores, "is the question answerable" over
the question's best scores) are fitted on all the dev sets, each set
weighing the same, then applied to every set before the grid is scored.  The same readings choose
two more bars: ``confident`` (the lowest probability above which at least
:data:`CONFIDENT_RIGHT` of the answers cite a gold sentence, on the mean
over the sets) and
``short_bar`` (the lowest span score above which the short answers of the
answers given reach a mean F1 of :data:`SHORT_F1`, an answer to an
unanswerable question counting 0).

Two thresholds: ``threshold`` (abstain when the best sentence's probability is
below it) and ``keep`` (further sentences join the answer at this probability
or more).  The objective, per data set, is the mean of gold-evidence recall
(an abstention scores 0), evidence precision and abstention recall, averaged
over the data sets with equal weight, so the 1,332 ``pool-val`` questions do
not drown the seed's 78.  Only pairs whose false abstention rate, averaged
on *each* data set, is at most ``MAX_FALSE_ABSTENTION`` compete (a threshold that travels between
kinds of text, rather than one that averages a cautious kind with a reckless one):
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
#: Share of confident answers that must cite a gold sentence (the mean over
#: the dev sets that give at least 5 such answers).
CONFIDENT_RIGHT = 0.75
#: Mean token F1 the short answers shown must reach on the dev sets.
SHORT_F1 = 0.75


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
    The passage reader reads uncalibrated: the sweep fits its calibration itself."""
    from tqdm import tqdm

    from evals.systems import Corpus
    from qa.reading.model import PassageReader

    from evals.datasets import TEST_SETS

    if any(d.name in TEST_SETS for d in datasets):
        raise ValueError(f"the sweep tunes; it must not see {' or '.join(TEST_SETS)}")
    out, used = [], None
    for d in datasets:
        corpus = Corpus(d, reader=reader)
        try:
            engine = corpus.engine
            used = engine.reader
            raw = PassageReader(used.path, calibrated=False) if isinstance(used, PassageReader) else used
            rows = []
            for q in tqdm(d.questions, desc=f"read {d.name}", unit="q", file=sys.stderr,
                          disable=not show_progress or None, leave=False):
                rows.append((q, engine.read(q.question, list(q.history), reader=raw)))
            out.append((d, rows))
        finally:
            corpus.close()
    return out, used


def score(collected, threshold: float, keep: float, most: int = 3) -> SweepRow:
    from qa.compose import compose
    from qa.reading.records import select

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
    calibration: object | None = None  # qa.reading.calibrate.Calibration, for the passage reader
    fitted_on: str = ""
    collected: list = None


def is_gold(question, candidate) -> bool:
    from evals.datasets import Range

    here = Range(candidate.doc_id, candidate.span.start, candidate.span.end)
    return any(here.covers(g) for g in question.gold_sentences)


def gold_labels(question, reading) -> list[tuple[tuple[float, ...], int]]:
    """(features, is it a gold sentence) per candidate the model read."""
    return [(r.features, int(is_gold(question, r.candidate))) for r in reading.readings if r.features]


def recombine(collected, reader, calibration):
    """The readings again under ``calibration``, best first."""
    from dataclasses import replace

    return [(d, [(q, replace(reading, readings=reader.recombined(reading.readings, calibration)))
                 for q, reading in rows]) for d, rows in collected]


def sweep(thresholds=THRESHOLDS, keeps=KEEPS, datasets: list[Dataset] | None = None, reader: str | None = None,
          show_progress: bool = True) -> Sweep:
    """Read every dev question once; for the passage reader, fit its
    calibration on every dev set (each set weighing the same); then score
    the grid."""
    datasets = datasets or [resolve(name) for name in DEV_SETS]
    collected, used = collect(datasets, reader, show_progress)
    return sweep_collected(collected, used, thresholds, keeps)


def sweep_collected(collected, used, thresholds=THRESHOLDS, keeps=KEEPS) -> Sweep:
    """The sweep over readings already collected (``collect``)."""
    from qa.reading.calibrate import QUESTION_FEATURES, Calibration, Combiner, question_features
    from qa.reading.model import PassageReader

    calibration, fitted_on = None, ""
    if isinstance(used, PassageReader):
        sentences = {d.name: [row for q, reading in qs if q.answerable for row in gold_labels(q, reading)]
                     for d, qs in collected}
        questions = {d.name: [(question_features([r.features for r in reading.readings]), int(q.answerable))
                              for q, reading in qs if reading.readings] for d, qs in collected}
        calibration = Calibration(Combiner.fit(balanced(sentences)),
                                  Combiner.fit(balanced(questions), names=QUESTION_FEATURES))
        fitted_on = "; ".join(
            f"{name}: {len(sentences[name])} candidates of answerable questions ({sum(x[1] for x in sentences[name])} "
            f"gold), {len(questions[name])} questions ({sum(x[1] for x in questions[name])} answerable)"
            for name in sentences)
        collected = recombine(collected, used, calibration)
    return Sweep([score(collected, t, k) for t in thresholds for k in keeps], used, calibration, fitted_on, collected)


def balanced(per_set: dict[str, list]) -> list:
    """Every set's rows repeated to about the largest set's count: each kind of text weighs the same."""
    largest = max((len(rows) for rows in per_set.values()), default=0)
    return [row for rows in per_set.values() if rows for row in rows * max(1, round(largest / len(rows)))]


def confident_bar(collected, threshold: float) -> tuple[float, dict]:
    """The lowest probability (at or above ``threshold``) above which at
    least CONFIDENT_RIGHT of the answers given cite a gold sentence (the mean
    over the sets with 5 or more such answers), and the share right in each
    band at that bar."""
    best = [(d.name, q, reading.readings[0]) for d, rows in collected for q, reading in rows if reading.readings]

    def bands(bar):
        out = {}
        for name in dict.fromkeys(n for n, _, _ in best):
            conf = [q.answerable and is_gold(q, r.candidate) for n, q, r in best if n == name and r.probability >= bar]
            tent = [q.answerable and is_gold(q, r.candidate) for n, q, r in best
                    if n == name and threshold <= r.probability < bar]
            out[name] = {"confident": len(conf), "confident_right": round(_mean(conf), 4) if conf else None,
                         "tentative": len(tent), "tentative_right": round(_mean(tent), 4) if tent else None}
        return out

    for bar in sorted({round(x / 100, 2) for x in range(1, 100)} | {threshold}):
        if bar < threshold:
            continue
        b = bands(bar)
        shares = [v["confident_right"] for v in b.values() if v["confident"] >= 5]
        if shares and _mean(shares) >= CONFIDENT_RIGHT:
            return bar, b
    return 1.0, bands(1.0)


def short_bar(collected, threshold: float) -> tuple[float, dict]:
    """The lowest span score above which the short answers of the answers
    given (at ``threshold``) reach a mean F1 of SHORT_F1 on the dev sets
    pooled: a short answer of an unanswerable question, or of a question
    without gold answer texts' match, counts 0; with how many are shown."""
    rows = []
    for d, qs in collected:
        for q, reading in qs:
            if not reading.readings or reading.readings[0].probability < threshold:
                continue
            r = reading.readings[0]
            if not r.short or not r.features or (q.answerable and not q.answers):
                continue
            c = r.candidate
            text = c.text[r.short[0] - c.span.start: r.short[1] - c.span.start]
            f1 = max((metrics.token_f1(text, g) for g in q.answers), default=0.0) if q.answerable else 0.0
            em = max((metrics.exact_match(text, g) for g in q.answers), default=0.0) if q.answerable else 0.0
            rows.append((r.features[2], f1, em))
    for bar in [x / 2 for x in range(-20, 41)]:
        shown = [(f1, em) for s, f1, em in rows if s >= bar]
        if shown and _mean(f1 for f1, _ in shown) >= SHORT_F1:
            return bar, {"shown": len(shown), "of": len(rows), "f1": round(_mean(f for f, _ in shown), 4),
                         "exact_match": round(_mean(e for _, e in shown), 4)}
    return 99.0, {"shown": 0, "of": len(rows)}


def eligible(row: SweepRow) -> bool:
    return all(p["far"] <= MAX_FALSE_ABSTENTION for p in row.per_dataset.values())


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
                 f"mean(ER, EP, AR), among rows whose FAR is <= {MAX_FALSE_ABSTENTION} on every set. "
                 "Dev data only.")
    return "\n".join(lines)


def write(result: Sweep, path: Path) -> SweepRow:
    rows = result.rows
    chosen = best(rows)
    values = {"reader": result.reader.name, "threshold": chosen.threshold, "keep": chosen.keep}
    if result.calibration is not None:
        confident, bands = confident_bar(result.collected, chosen.threshold)
        bar, shorts = short_bar(result.collected, chosen.threshold)
        values |= {"confident": confident, "bands": bands, "short_bar": bar, "short_answers": shorts,
                   "calibration": result.calibration.to_dict(), "calibration_fitted_on": result.fitted_on}
    values |= {
        "chosen": asdict(chosen),
        "chosen_by": (f"evals/sweep.py: best mean(ER, EP, AR) over {', '.join(DEV_SETS)} with false "
                      f"abstention <= {MAX_FALSE_ABSTENTION} on each; confident: >= {CONFIDENT_RIGHT} of "
                      f"answers right, mean over the sets; short answers: mean F1 >= {SHORT_F1}"),
        "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "grid": [asdict(r) for r in rows],
    }
    path.write_text(json.dumps(values, indent=1) + "\n")
    return chosen
