"""The answer contract: small typed records and the checks that make a
citation trustworthy (its text is exactly ``document[start:end]``)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace

#: How sure an answer is, from the reader's calibrated probability of its best
#: sentence (``Answer.confidence``): at or above the reader's ``confident``
#: bar it answers; between its abstention ``threshold`` and that bar it
#: offers the closest sentence and says the documents may not answer; below
#: the threshold it abstains.
JUDGEMENTS = ("confident", "tentative", "abstained")

#: What a tentative answer opens with, so every reader of ``Answer.answer``
#: (the CLI, an API client) sees the doubt in words.
TENTATIVE_LEAD = "The documents may not answer this. The closest sentence:"
TENTATIVE_LEAD_MANY = "The documents may not answer this. The closest sentences:"


@dataclass(frozen=True)
class Citation:
    """One cited sentence.  The last five fields say where it sits in the
    file, for readers who check it on the page: for a PDF the first
    ``page`` (1-based), all its ``pages``, and ``rects``, one
    ``[page, x0, y0, x1, y1]`` per text line in PDF points with the origin
    at the bottom-left of the page; for a DOCX its ``paragraphs`` (0-based
    indices into the body's paragraphs); for Markdown and reStructuredText
    its ``section``, the heading path ending with the API object a Sphinx
    description documents and, in a field list, the field's name
    (``["json", "Basic Usage", "json.dump", "indent"]``).  They are None
    where they do not apply (plain text; JSON from before they existed)."""

    id: int
    doc_id: str
    title: str
    source: str
    sentence_index: int
    start: int
    end: int
    text: str
    score: float
    page: int | None = None
    pages: list[int] | None = None
    rects: list[list[float]] | None = None
    paragraphs: list[int] | None = None
    section: list[str] | None = None


@dataclass(frozen=True)
class ShortAnswer:
    """The answer's few words inside the best cited sentence (citation ``citation``):
    ``text`` is exactly ``document[start:end]``.  ``sure`` says whether the
    reader's span score clears its bar (``short_bar``, chosen on dev data for
    a mean F1 of 0.75): the chat and ``qa ask`` show a short answer only then."""

    text: str
    doc_id: str
    start: int
    end: int
    citation: int
    sure: bool = True


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
    #: "confident", "tentative" or "abstained" (see ``JUDGEMENTS``); left
    #: empty, it follows ``abstained`` ("abstained" or "confident"), which is
    #: also what JSON from before the field existed means.
    judgement: str = ""

    def __post_init__(self):
        if not self.judgement:
            self.judgement = "abstained" if self.abstained else "confident"

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
            judgement=data.get("judgement") or "",
        )

    def render(self) -> str:
        """Plain text for terminals: the answer, then the numbered sources."""
        if self.abstained:
            return self.answer
        lines = [self.answer, ""]
        if self.short_answer and self.short_answer.sure and self.judgement == "confident":
            lines = [self.answer, f"Short answer: {self.short_answer.text} [{self.short_answer.citation}]", ""]
        shown = {cid: s.text for s in self.sentences for cid in s.citations[:1]}
        for c in self.citations:
            where = (f", page {c.page}" if c.page else "") + (
                f", paragraph {c.paragraphs[0] + 1}" if c.paragraphs else "")  # counted from 1 for people
            section = c.section[1:] if c.section and c.section[0] == c.title else c.section or []
            title = " › ".join([c.title, *section])
            lines.append(f"[{c.id}] {title} ({c.doc_id}, chars {c.start}-{c.end}{where}, p={c.score:.2f}): "
                         f"{shown.get(c.id) or ' '.join(c.text.split())}")
        return "\n".join(lines)


def judgement(abstained: bool, confidence: float | None, confident: float) -> str:
    """The kind of answer for the best sentence's probability ``confidence``:
    "abstained" when the reader chose nothing, "confident" at or above the
    reader's ``confident`` bar, "tentative" below it."""
    if abstained:
        return "abstained"
    return "confident" if (confidence or 0.0) >= confident else "tentative"


def judged(answer: Answer, confident: float) -> Answer:
    """``answer`` with its judgement; a tentative answer's text opens with
    ``TENTATIVE_LEAD`` (its sentences and citations are unchanged)."""
    kind = judgement(answer.abstained, answer.confidence, confident)
    text = answer.answer
    if kind == "tentative":
        text = f"{TENTATIVE_LEAD if len(answer.sentences) == 1 else TENTATIVE_LEAD_MANY} {text}"
    return replace(answer, answer=text, judgement=kind)


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
    if answer.judgement not in JUDGEMENTS:
        problems.append(f"judgement {answer.judgement!r} is not one of {', '.join(JUDGEMENTS)}")
    elif (answer.judgement == "abstained") != answer.abstained:
        problems.append(f"judgement {answer.judgement!r} disagrees with abstained={answer.abstained}")
    for c in answer.citations:
        text = texts.get(c.doc_id)
        if text is None:
            problems.append(f"citation {c.id}: unknown document {c.doc_id}")
        elif text[c.start : c.end] != c.text:
            problems.append(f"citation {c.id}: text differs from {c.doc_id}[{c.start}:{c.end}]")
        problems += [f"citation {c.id}: {p}" for p in place_violations(c)]
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


def _ascending(values, least: int) -> bool:
    return (isinstance(values, list) and bool(values) and all(type(v) is int and v >= least for v in values)
            and values == sorted(set(values)))


def place_violations(c: Citation) -> list[str]:
    """What is wrong with a citation's page, paragraph or section fields:
    pages and paragraphs ascending without repeats, ``page`` the first page,
    every rectangle ``[page, x0, y0, x1, y1]`` on one of its pages with
    x0 <= x1 and y0 <= y1, a PDF place and a DOCX place never both, and a
    section a non-empty list of non-empty headings."""
    problems = []
    if c.pages is None:
        if c.page is not None or c.rects is not None:
            problems.append("page or rects without pages")
    elif not _ascending(c.pages, 1):
        problems.append(f"pages {c.pages!r} are not ascending page numbers")
    elif c.page != c.pages[0]:
        problems.append(f"page {c.page!r} is not the first of pages {c.pages!r}")
    elif not isinstance(c.rects, list) or not c.rects:
        problems.append("a citation with pages has no rects")
    else:
        for r in c.rects:
            ok = (isinstance(r, (list, tuple)) and len(r) == 5 and r[0] in c.pages
                  and all(isinstance(v, (int, float)) and math.isfinite(v) for v in r[1:])
                  and r[1] <= r[3] and r[2] <= r[4])
            if not ok:
                problems.append(f"rect {r!r} is not [page, x0, y0, x1, y1] on one of its pages")
    if c.section is not None and not (isinstance(c.section, list) and c.section
                                      and all(isinstance(part, str) and part for part in c.section)):
        problems.append(f"section {c.section!r} is not a list of headings")
    if c.paragraphs is not None:
        if not _ascending(c.paragraphs, 0):
            problems.append(f"paragraphs {c.paragraphs!r} are not ascending paragraph indices")
        if c.pages is not None:
            problems.append("both pages (PDF) and paragraphs (DOCX)")
    return problems
