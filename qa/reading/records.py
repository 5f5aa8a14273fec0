"""The records every reader shares, and the rule that turns readings into an answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from index.segment import Span
from index.store import Place


@dataclass(frozen=True)
class Candidate:
    """A sentence retrieval proposes; ``score`` is the heuristic score that
    orders candidates for the readers."""

    doc_id: str
    title: str
    source: str
    span: Span
    text: str
    score: float
    order: tuple
    #: Where the sentence sits in its file, carried into its citation; None
    #: when the caller did not look it up.
    place: Place | None = None


@dataclass(frozen=True)
class Reading:
    """One candidate as a reader judged it.  ``short`` is the short answer's
    ``[start, end)`` in document offsets, inside the sentence, when the
    reader is sure enough of one; ``features`` are what a calibrated reader
    combined into ``probability`` (kept so a sweep can refit the combination)."""

    candidate: Candidate
    probability: float
    short: tuple[int, int] | None = None
    features: tuple[float, ...] = ()


class Reader(Protocol):
    name: str
    #: Abstain when the best probability is below this.
    threshold: float
    #: Sentences after the best join the answer at this probability or more.
    keep: float
    #: Answers at this probability or more are confident; between
    #: ``threshold`` and this they are tentative.
    confident: float

    def read(self, question: str, context: str | None, candidates: list[Candidate]) -> list[Reading]:
        """Readings best first; ``context`` is the earlier question a
        follow-up leans on (``qa.followup.resolve_history``), or None."""
        ...

    def warm(self) -> None:
        """Start loading whatever ``read`` needs without waiting for it, so
        that a cold start loads it while retrieval runs."""
        ...


def reading_order(chosen: list[Candidate]) -> list[Candidate]:
    """Sentences of one document in the order they appear there; documents in
    the order retrieval ranked them."""
    doc_rank: dict[str, int] = {}
    for c in chosen:
        doc_rank.setdefault(c.doc_id, c.order[0])
    return sorted(chosen, key=lambda c: (doc_rank[c.doc_id], c.doc_id, c.span.start))


def select(readings: list[Reading], threshold: float, keep: float, most: int) -> list[Reading]:
    """The answer's sentences in reading order, or ``[]`` to abstain."""
    if not readings or readings[0].probability < threshold:
        return []
    best = readings[0]
    rest = [r for r in readings[1:] if r.probability >= max(keep, threshold)]
    chosen = [best] + rest[: most - 1]
    order = {id(c): i for i, c in enumerate(reading_order([r.candidate for r in chosen]))}
    return sorted(chosen, key=lambda r: order[id(r.candidate)])
