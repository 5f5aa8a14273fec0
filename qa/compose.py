"""The Answer for the sentences a reader chose: verbatim, each citing itself."""

from __future__ import annotations

from index.store import Place
from qa.cite import Answer, AnswerSentence, Citation, ShortAnswer
from qa.reading.records import Reading


def place_fields(place: Place | None) -> dict:
    """A Citation's page, paragraph or section fields (none for plain text)."""
    if place is None:
        return {}
    fields: dict = {}
    if place.pages:
        fields = {"page": place.pages[0], "pages": list(place.pages), "rects": [list(r) for r in place.rects]}
    if place.paragraphs:
        fields["paragraphs"] = list(place.paragraphs)
    if place.section:
        fields["section"] = list(place.section)
    return fields


def compose(question: str, chosen: list[Reading], readings: list[Reading],
            short_bar: float = float("-inf")) -> Answer:
    """No readings chosen is an abstention.  The best reading's probability
    is the answer's ``confidence`` either way; its short answer, when the
    reader gave one, becomes the answer's, ``sure`` when its span score
    (``features[2]``) is at least ``short_bar``."""
    confidence = round(readings[0].probability, 4) if readings else 0.0
    if not chosen:
        return Answer(question=question, abstained=True, confidence=confidence,
                      answer=f"The corpus does not say. No indexed sentence answers: “{question.strip()}”")
    citations, sentences, short = [], [], None
    for i, r in enumerate(chosen, start=1):
        c = r.candidate
        citations.append(Citation(i, c.doc_id, c.title, c.source, c.span.index, c.span.start, c.span.end,
                                  c.text, round(r.probability, 4), **place_fields(c.place)))
        sentences.append(AnswerSentence(" ".join(c.text.split()), [i]))
        if r.short and r is readings[0]:
            a, b = r.short
            sure = len(r.features) < 3 or r.features[2] >= short_bar
            short = ShortAnswer(c.text[a - c.span.start : b - c.span.start], c.doc_id, a, b, i, sure)
    text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
    return Answer(question=question, answer=text, abstained=False, sentences=sentences, citations=citations,
                  short_answer=short, confidence=confidence)
