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


def outline_sentences(text: str, blocks) -> tuple:
    """The citable units of a Markdown or reStructuredText file
    (``index.outline.Block`` list): each prose block's Punkt sentences,
    found in its readable text (so markup does not confuse Punkt) and
    mapped back to the file; a table row is one unit.  A unit never runs
    from one block into the next, so a list item or a field without a full
    stop stands alone.  A span reaches out over the markup around its
    first and last characters (``:func:`` and its backquotes, ``**``).
    Headings, labels and code are never units."""
    from index.outline import PROSE, Sentence

    punkt = _punkt()
    used = {o for block in blocks for o in block.offsets if o >= 0}
    out: list = []
    last_end = 0
    for block in blocks:
        if block.kind not in PROSE or block.start < 0:
            continue
        if block.kind == "row":
            pieces = [_trim(block.text, 0, len(block.text))]
        else:
            pieces = []
            for s_start, s_end in punkt.span_tokenize(block.text):
                a, b = _trim(block.text, s_start, s_end)
                if a < b:
                    pieces += [_trim(block.text, *piece) for piece in _split_long(block.text, a, b)]
        for a, b in pieces:
            mapped = [block.offsets[i] for i in range(a, b) if block.offsets[i] >= 0 and not block.text[i].isspace()]
            if not mapped:
                continue
            start, end = min(mapped), max(mapped) + 1  # a grid table's cells run over several lines each
            while start > last_end and not text[start - 1].isspace() and start - 1 not in used:
                start -= 1
            while end < len(text) and not text[end].isspace() and end not in used:
                end += 1
            if start < last_end or end <= start:
                continue
            out.append(Sentence(start, end, block.section, " ".join(block.text[a:b].split())))
            last_end = end
    return tuple(out)


def document_spans(doc) -> list[Span]:
    """A document's sentences: its outline's units for Markdown and
    reStructuredText, :func:`sentence_spans` of its text otherwise."""
    from index.outline import Outline

    if isinstance(doc.layout, Outline):
        return [Span(i, s.start, s.end) for i, s in enumerate(doc.layout.sentences)]
    return sentence_spans(doc.text)
