"""Sentence spans with exact offsets into a document's text.

Punkt (NLTK's trained English model, shipped inside llama-index-core, so no
download) finds sentence boundaries and reports character spans itself; we
never re-find sentences by string search, which is where offset bugs come
from.  Around it we add what Punkt does not know about documents: blank lines
end a paragraph (so a caption such as ``Photo: VCG`` is not glued to the next
paragraph), a leading ``date YYYY-MM-DD`` header is its own unit, and
run-away "sentences" (code blocks, tables) are cut at line breaks so that no
span exceeds :data:`MAX_SENTENCE_CHARS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from index import offline
from index.document import HEADER_RE

MAX_SENTENCE_CHARS = 600
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_BREAK = re.compile(r"\n")


@dataclass(frozen=True)
class Span:
    index: int
    start: int
    end: int


@lru_cache(maxsize=1)
def _punkt():
    offline.enforce()
    import nltk

    path = str(offline.static_dir() / "nltk_cache")
    if path not in nltk.data.path:
        nltk.data.path.insert(0, path)
    from nltk.tokenize.punkt import PunktTokenizer

    return PunktTokenizer("english")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _paragraphs(text: str, start: int, end: int):
    pos = start
    for brk in _PARAGRAPH_BREAK.finditer(text, start, end):
        yield pos, brk.start()
        pos = brk.end()
    yield pos, end


def _split_long(text: str, start: int, end: int):
    """Cut an over-long span at line breaks, then at spaces, then anywhere."""
    while end - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        cut = text.rfind("\n", start + 1, limit)
        if cut <= start:
            cut = text.rfind(" ", start + 1, limit)
        if cut <= start:
            cut = limit
        yield start, cut
        start, _ = _trim(text, cut, end)
    if end > start:
        yield start, end


def sentence_spans(text: str) -> list[Span]:
    """Spans ``[start, end)`` in reading order: no overlap, no leading or trailing
    whitespace, and every non-space character of ``text`` inside exactly one."""
    punkt = _punkt()
    out: list[tuple[int, int]] = []
    body_start = 0
    header = HEADER_RE.match(text)
    if header:
        out.append(_trim(text, 0, header.end()))
        body_start = header.end()
    for p_start, p_end in _paragraphs(text, body_start, len(text)):
        p_start, p_end = _trim(text, p_start, p_end)
        if p_start == p_end:
            continue
        for s_start, s_end in punkt.span_tokenize(text[p_start:p_end]):
            a, b = _trim(text, p_start + s_start, p_start + s_end)
            if a < b:
                for piece in _split_long(text, a, b):
                    out.append(_trim(text, *piece))
    return [Span(i, a, b) for i, (a, b) in enumerate(s for s in out if s[0] < s[1])]
