"""The answer contract: small typed records and the checks that make a
citation trustworthy (its text is exactly ``document[start:end]``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Citation:
    id: int
    doc_id: str
    title: str
    source: str
    sentence_index: int
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class ShortAnswer:
    """The answer's few words inside the best cited sentence (citation ``citation``):
    ``text`` is exactly ``document[start:end]``."""

    text: str
    doc_id: str
    start: int
    end: int
    citation: int


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citations: list[int]


@dataclass(frozen=True)
class Retrieved:
    doc_id: str
    chunk_id: str
    score: float
    text: str


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    sentences: list[AnswerSentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Retrieved] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: The short answer inside the best sentence, when the reader finds one.
    short_answer: ShortAnswer | None = None
    #: The reader's probability that its best sentence answers the question
    #: (also given when it abstains: how close it came).
    confidence: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_dict(cls, data: dict) -> "Answer":
        return cls(
            question=data["question"], answer=data["answer"], abstained=data["abstained"],
            sentences=[AnswerSentence(**s) for s in data.get("sentences", [])],
            citations=[Citation(**c) for c in data.get("citations", [])],
            retrieved=[Retrieved(**r) for r in data.get("retrieved", [])],
            timings_ms=dict(data.get("timings_ms", {})),
            short_answer=ShortAnswer(**data["short_answer"]) if data.get("short_answer") else None,
            confidence=data.get("confidence"),
        )

    def render(self) -> str:
        """Plain text for terminals: the answer, then the numbered sources."""
        if self.abstained:
            return self.answer
        lines = [self.answer, ""]
        if self.short_answer:
            lines = [self.answer, f"Short answer: {self.short_answer.text} [{self.short_answer.citation}]", ""]
        for c in self.citations:
            lines.append(f"[{c.id}] {c.title} ({c.doc_id}, chars {c.start}-{c.end}, p={c.score:.2f}): "
                         f"{' '.join(c.text.split())}")
        return "\n".join(lines)


def contract_violations(answer: Answer, texts: dict[str, str]) -> list[str]:
    """Every broken invariant of ``answer``; ``texts`` maps doc_id to document text."""
    problems = []
    ids = {c.id for c in answer.citations}
    if not answer.abstained and not answer.sentences:
        problems.append("an answer that does not abstain has no sentences")
    for i, sentence in enumerate(answer.sentences):
        if not answer.abstained and not sentence.citations:
            problems.append(f"sentence {i} has no citation")
        for cid in sentence.citations:
            if cid not in ids:
                problems.append(f"sentence {i} cites unknown id {cid}")
    if answer.abstained and answer.citations:
        problems.append("an abstention offers citations")
    for c in answer.citations:
        text = texts.get(c.doc_id)
        if text is None:
            problems.append(f"citation {c.id}: unknown document {c.doc_id}")
        elif text[c.start : c.end] != c.text:
            problems.append(f"citation {c.id}: text differs from {c.doc_id}[{c.start}:{c.end}]")
    short = answer.short_answer
    if short is not None:
        cited = next((c for c in answer.citations if c.id == short.citation), None)
        if answer.abstained:
            problems.append("an abstention offers a short answer")
        elif cited is None or cited.doc_id != short.doc_id or not cited.start <= short.start < short.end <= cited.end:
            problems.append("the short answer lies outside its cited sentence")
        elif texts.get(short.doc_id, "")[short.start : short.end] != short.text:
            problems.append(f"short answer: text differs from {short.doc_id}[{short.start}:{short.end}]")
    return problems
