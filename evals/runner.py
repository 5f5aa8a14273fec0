"""Run every system on every data set and score the answers.

Data sets that share a corpus (``squad-dev`` and ``squad-test``) share one
index and one set of systems.  Latency is wall time around each system's
``answer`` call, measured the same way for all.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from evals import metrics
from evals.datasets import Dataset, Question
from evals.judges import CachedJudge, Judge
from qa.cite import Answer


@dataclass
class SystemRun:
    name: str
    label: str
    top_k: int
    metrics: dict
    scores: list[metrics.QuestionScore]
    answers: list[Answer]


@dataclass
class DatasetRun:
    name: str
    description: str
    documents: int
    questions: list[Question]
    systems: list[SystemRun]
    texts: dict[str, str] = field(default_factory=dict, repr=False)

    def system(self, name: str) -> SystemRun:
        return next(s for s in self.systems if s.name == name)


@dataclass
class RunResult:
    judge: str
    datasets: list[DatasetRun]
    settings: dict = field(default_factory=dict)

    def dataset(self, name: str) -> DatasetRun:
        return next(d for d in self.datasets if d.name == name)

    def to_dict(self) -> dict:
        """The summary (no per-question records): what ``results.json`` holds."""
        return {
            "judge": self.judge,
            "settings": self.settings,
            "datasets": {
                d.name: {
                    "description": d.description,
                    "documents": d.documents,
                    "systems": {s.name: {"label": s.label, "top_k": s.top_k, "metrics": s.metrics} for s in d.systems},
                }
                for d in self.datasets
            },
        }


def score_system(system, dataset: Dataset, judge: Judge, progress=None) -> SystemRun:
    chunks = system.chunks()
    if dataset.questions:
        system.answer(dataset.questions[0])  # warm-up: lazy indexes are built once, not timed in a question
    scores, answers = [], []
    for q in dataset.questions:
        t0 = time.perf_counter()
        answer = system.answer(q)
        elapsed = (time.perf_counter() - t0) * 1000
        answers.append(answer)
        scores.append(metrics.score(q, answer, dataset.texts, judge, chunks, elapsed))
        if progress:
            progress.update(1)
    return SystemRun(system.name, system.label, system.top_k, metrics.aggregate(scores), scores, answers)


def run(datasets: list[Dataset], judge: Judge, show_progress: bool = True) -> RunResult:
    from tqdm import tqdm

    from evals.systems import Corpus, systems_for

    judge = judge if isinstance(judge, CachedJudge) else CachedJudge(judge)
    corpora: dict[str, tuple[Corpus, list]] = {}
    out: list[DatasetRun] = []
    settings: dict = {}
    try:
        for ds in datasets:
            if ds.corpus_key not in corpora:
                corpus = Corpus(ds)
                corpora[ds.corpus_key] = (corpus, systems_for(corpus))
            corpus, systems = corpora[ds.corpus_key]
            s = corpus.engine.settings
            settings = {"top_k": s.top_k, "chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap,
                        "max_answer_sentences": s.max_answer_sentences}
            runs = []
            for system in systems:
                with tqdm(total=len(ds.questions), desc=f"{ds.name}: {system.name}", unit="q", file=sys.stderr,
                          disable=not show_progress or None, leave=False) as bar:
                    runs.append(score_system(system, ds, judge, bar))
            out.append(DatasetRun(ds.name, ds.description, len(ds.documents), ds.questions, runs, ds.texts))
    finally:
        for corpus, _ in corpora.values():
            corpus.close()
    return RunResult(judge.name, out, settings)
