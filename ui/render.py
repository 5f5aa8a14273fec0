"""HTML for the chat, the source viewer and the document library.

Every string that comes from a document, a file name or a user passes through
:func:`esc` before it lands in markup, so a document containing ``<script>``
or ``<img onerror=...>`` is shown as those characters and runs nothing.  The
only markup here is our own, built from fixed tags and classes; the numbers in
``data-`` attributes are ints we format ourselves.

Citation markers are buttons with the class ``qa-ref-T-N`` (citation N of the
answer to question T); the source viewer's script (``static/viewer.js``)
turns a click on any of them, wherever it is on the page, into an event for
the server.

For a PDF citation the viewer shows the cited page, rendered here by
pdfium into a PNG inlined as a ``data:`` URI (nothing is fetched from
anywhere), with the cited sentence's line rectangles drawn over it as
positioned boxes; the extracted text is one toggle away.

A Markdown or reStructuredText document is shown formatted: its blocks
(``index.outline``, read again from the stored text) as headings,
paragraphs, lists, fields, tables and code, inline code and emphasis
styled, and each cited unit highlighted where its characters are, since
every character of the formatted text knows its offset in the file.
"""

from __future__ import annotations

import base64
import bisect
import ctypes
import html
import io
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from qa.cite import TENTATIVE_LEAD, TENTATIVE_LEAD_MANY
from ui.conversation import kind_line, turn_markdown

ABSTAIN_LABEL = "Not in the documents"
#: Documents longer than this are shown as excerpts around the cited
#: sentences (``VIEW_CONTEXT_CHARS`` either side), not sent whole on every click.
VIEW_MAX_CHARS = 200_000
VIEW_CONTEXT_CHARS = 4_000
_BLANK_RUN = re.compile(r"\n[^\S\n]*(?:\n[^\S\n]*)+\n")


def esc(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def squash(text: str) -> str:
    """Collapse runs of whitespace, for one-line quotes of a cited sentence."""
    return " ".join(text.split())


_SPACES = re.compile(r"\s+")


def quote_html(citation: dict, short: dict | None) -> str:
    """A cited sentence on one line, escaped, with the short answer in bold
    when it lies in this sentence (placed by offsets, not by searching)."""
    text = citation["text"]
    if not short or short.get("citation") != citation["id"]:
        return esc(squash(text))
    a, b = short["start"] - citation["start"], short["end"] - citation["start"]
    if not 0 <= a < b <= len(text):
        return esc(squash(text))
    pre, mid, post = (_SPACES.sub(" ", part) for part in (text[:a], text[a:b], text[b:]))
    return f'{esc(pre.lstrip())}<strong class="qa-short">{esc(mid)}</strong>{esc(post.rstrip())}'


@dataclass(frozen=True)
class DocMeta:
    """What the chat shows about a cited document beside its title."""

    title: str
    date: str | None


def ref_class(turn: int, cite: int) -> str:
    """Which citation an element points at, as a class: the Chatbot's
    sanitizer drops ``data-`` attributes but keeps classes."""
    return f"qa-ref-{int(turn)}-{int(cite)}"


def marker(turn: int, cite: int, title: str = "", current: bool = False) -> str:
    classes = f"qa-cite {ref_class(turn, cite)}" + (" qa-current" if current else "")
    label = f"Show source {cite}" + (f": {title}" if title else "")
    return f'<button type="button" class="{classes}" title="{esc(label)}">[{int(cite)}]</button>'


# chat ------------------------------------------------------------------------
def question_html(question: str) -> str:
    return f'<div class="qa-question">{esc(question)}</div>'


def pending_html() -> str:
    return '<div class="qa-pending" role="status">Searching the documents…</div>'


def error_html(message: str) -> str:
    return f'<div class="qa-error" role="alert"><strong>Could not answer.</strong> {esc(message)}</div>'


def copy_button(turn: dict) -> str:
    """A Copy button and, hidden beside it, the turn in Markdown that it
    copies (``static/viewer.js`` does the copying)."""
    return ('<div class="qa-tools"><button type="button" class="qa-copy" title="Copy this answer with its sources '
            f'as Markdown">Copy</button><span class="qa-copy-text">{esc(turn_markdown(turn))}</span></div>')


def scope_html(turn: dict) -> str:
    if not turn.get("scope"):
        return ""
    return f'<p class="qa-scope-note">Searched only: {esc(", ".join(turn["scope"]))}</p>'


def answer_html(turn: int, answer: dict, docs: dict[str, DocMeta], shown: int | None = None,
                whole: dict | None = None) -> str:
    """One assistant message, drawn by the answer's judgement: a confident
    answer, a tentative one (its doubt in words, set apart) or "not in the
    documents".  The answer sentences are each followed by their citation
    markers, then (once every sentence is shown) come the cited sentences
    with their document's title and date, how sure the reader is, and a
    Copy button.  ``shown`` limits the sentences, for streaming; ``whole``
    is the turn (question, scope) for the Copy button and the scope note."""
    whole = whole or {"question": answer.get("question", ""), "answer": answer}
    kind = answer.get("judgement") or ("abstained" if answer["abstained"] else "confident")
    if kind == "abstained":
        return ('<div class="qa-abstain" role="note">'
                f'<div class="qa-abstain-badge">∅ {ABSTAIN_LABEL}</div>'
                f'<p class="qa-abstain-text">{esc(answer["answer"])}</p>'
                '<p class="qa-abstain-hint">Nothing is cited. Try other words, or add a document that covers it.</p>'
                f'{scope_html(whole)}{copy_button(whole)}</div>')
    citations = {c["id"]: c for c in answer["citations"]}
    short = answer.get("short_answer") if kind == "confident" else None
    if short and not short.get("sure", True):  # the reader is not sure of it: no bold
        short = None
    sentences = answer["sentences"] if shown is None else answer["sentences"][:shown]
    parts = []
    for s in sentences:
        marks = " ".join(marker(turn, cid, citations.get(cid, {}).get("title", "")) for cid in s["citations"])
        own = citations.get(s["citations"][0]) if len(s["citations"]) == 1 else None
        text = quote_html(own, short) if own and squash(own["text"]) == s["text"] else esc(s["text"])
        parts.append(f'<span class="qa-sentence">{text}</span> {marks}')
    body = f'<p class="qa-answer-text">{" ".join(parts)}</p>'
    classes = "qa-answer" + (" qa-tentative" if kind == "tentative" else "")
    if kind == "tentative":
        lead = TENTATIVE_LEAD if len(answer["sentences"]) == 1 else TENTATIVE_LEAD_MANY
        body = (f'<div class="qa-tentative-badge">? Tentative</div><p class="qa-tentative-lead">{esc(lead)}</p>'
                f'{body}')
    if shown is not None and shown < len(answer["sentences"]):
        return f'<div class="{classes} qa-streaming">{body}</div>'
    sure = f'<p class="qa-kind qa-kind-{kind}">{esc(kind_line(answer))}</p>'
    return (f'<div class="{classes}">{body}{sure}{scope_html(whole)}{sources_html(turn, answer["citations"], docs, short)}'
            f'{copy_button(whole)}</div>')


def sources_html(turn: int, citations: list[dict], docs: dict[str, DocMeta], short: dict | None = None) -> str:
    rows = []
    for c in citations:
        meta = docs.get(c["doc_id"])
        title = meta.title if meta else c["title"]
        when = f' · <span class="qa-date">{esc(meta.date)}</span>' if meta and meta.date else ""
        prob = (f' · <span class="qa-prob" title="the reader\'s probability that this sentence answers">'
                f'p = {float(c["score"]):.2f}</span>')
        rows.append(f'<li>{marker(turn, c["id"], title)}<span class="qa-source-body">'
                    f'<span class="qa-quote">{quote_html(c, short)}</span>'
                    f'<span class="qa-source-meta"><span class="qa-title">{esc(title)}</span>{when}{prob}</span>'
                    '</span></li>')
    return f'<div class="qa-sources"><div class="qa-sources-head">Sources</div><ol>{"".join(rows)}</ol></div>'


def messages(turns: list[dict], docs: dict[str, DocMeta]) -> list[dict]:
    """The Chatbot value (messages format) for a whole conversation."""
    out = []
    for i, turn in enumerate(turns):
        out.append({"role": "user", "content": question_html(turn["question"])})
        if turn.get("error"):
            content = error_html(turn["error"])
        elif turn.get("answer") is None:
            content = pending_html()
        else:
            content = answer_html(i, turn["answer"], docs, turn.get("shown"), turn)
        out.append({"role": "assistant", "content": content})
    return out


HEADER = ('<div class="qa-header"><div class="qa-brand">groundqa</div>'
          '<div class="qa-tagline">Answers from your documents. Every sentence cites the exact source sentence; '
          'when the documents do not say, the answer says so.</div></div>')


# source viewer ---------------------------------------------------------------
VIEWER_EMPTY = ('<div class="qa-viewer qa-viewer-empty"><div class="qa-viewer-title">Source viewer</div>'
                '<p>Ask a question, then click a citation such as <span class="qa-cite-demo">[1]</span>: '
                'the cited document opens here with every cited sentence highlighted.</p></div>')

VIEWER_ABSTAINED = ('<div class="qa-viewer qa-viewer-empty"><div class="qa-viewer-title">Source viewer</div>'
                    '<p>The last answer cites nothing: the documents do not answer that question. '
                    'Click a citation of an earlier answer to see its source.</p></div>')


def _chips(turn: int, citations: list[dict], current: int) -> str:
    chips = "".join(marker(turn, c["id"], c["title"], c["id"] == current) for c in citations)
    return f'<div class="qa-chips" role="group" aria-label="Citations of this answer">{chips}</div>'


def gaps(text: str) -> str:
    """Escaped ``text`` with runs of blank lines shown as one blank line (the
    seed article has four-line gaps); offsets are unaffected, since marks are
    placed by the original positions."""
    return esc(_BLANK_RUN.sub("\n\n", text))


def highlighted(text: str, marks: Iterable[tuple[int, int, int]], current: int, turn: int) -> str:
    """``text`` escaped, with ``<mark>`` around each (start, end, cite) span;
    the mark of citation ``current`` gets the id the viewer scrolls to."""
    out, pos = [], 0
    for start, end, cid in sorted(set(marks)):
        if start < pos or end <= start or end > len(text):
            continue
        out.append(gaps(text[pos:start]))
        classes = f"qa-hl {ref_class(turn, cid)}"
        extra = ""
        if cid == current:
            classes += " qa-hl-current"
            extra = ' id="qa-current"'
        out.append(f'<mark class="{classes}"{extra} data-qa-n="{int(cid)}">{esc(text[start:end])}</mark>')
        pos = end
    out.append(gaps(text[pos:]))
    return "".join(out)


# PDF pages -------------------------------------------------------------------
#: Pages are rendered this many pixels per PDF point (1,224 pixels across a
#: Letter page): sharp across the viewer's width and still sharp enlarged
#: to most of a laptop screen; about 300 KB of PNG for a text page.
PAGE_SCALE = 2.0


@dataclass(frozen=True)
class PageImage:
    """One rendered PDF page and how PDF points map onto its pixels.

    ``transform`` is pdfium's page-to-device mapping as an affine
    ``(a, b, c, d, e, f)``: pixel x = a*x + c*y + e, pixel y = b*x + d*y + f,
    which takes care of the y flip, the crop box and a rotated page."""

    number: int
    png: bytes
    width: int
    height: int
    transform: tuple[float, float, float, float, float, float]

    def box(self, rect) -> tuple[float, float, float, float]:
        """A ``[page, x0, y0, x1, y1]`` rectangle as (left, top, width,
        height) in percent of the image, for CSS that scales with it."""
        a, b, c, d, e, f = self.transform
        _, x0, y0, x1, y1 = rect
        xs = [a * x + c * y + e for x in (x0, x1) for y in (y0, y1)]
        ys = [b * x + d * y + f for x in (x0, x1) for y in (y0, y1)]
        return (100 * min(xs) / self.width, 100 * min(ys) / self.height,
                100 * (max(xs) - min(xs)) / self.width, 100 * (max(ys) - min(ys)) / self.height)


@lru_cache(maxsize=32)
def page_image(path: Path, number: int) -> PageImage:
    """Render page ``number`` (1-based) of the PDF at ``path``.  Kept PDFs
    are named by their content, so a cached page never goes stale."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[number - 1]
        bitmap = page.render(scale=PAGE_SCALE)
        image = bitmap.to_pil()
        width, height = image.size
        # pdfium maps points to whole device pixels: ask for a 64x finer
        # device and scale back for sub-pixel boxes.
        fine = 64
        dx, dy = ctypes.c_int(), ctypes.c_int()

        def device(x: float, y: float) -> tuple[float, float]:
            raw.FPDF_PageToDevice(page, 0, 0, width * fine, height * fine, 0, x, y, ctypes.byref(dx), ctypes.byref(dy))
            return dx.value / fine, dy.value / fine

        (e, f), (ax, ay), (cx, cy) = device(0, 0), device(100, 0), device(0, 100)
        transform = ((ax - e) / 100, (ay - f) / 100, (cx - e) / 100, (cy - f) / 100, e, f)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        bitmap.close()
        page.close()
    finally:
        pdf.close()
    return PageImage(number, buffer.getvalue(), width, height, transform)


def _page_html(turn: int, image: PageImage, citations: list[dict], current: int, title: str) -> str:
    """The page image with a box over each line of every citation on it;
    the current citation's boxes are the strong ones."""
    boxes = []
    for c in citations:
        for rect in c.get("rects") or []:
            if int(rect[0]) != image.number:
                continue
            left, top, width, height = image.box(rect)
            classes = f"qa-box {ref_class(turn, c['id'])}" + (" qa-box-current" if c["id"] == current else "")
            boxes.append(f'<span class="{classes}" title="Citation [{int(c["id"])}]" style="left:{left:.3f}%;'
                         f'top:{top:.3f}%;width:{width:.3f}%;height:{height:.3f}%"></span>')
    src = "data:image/png;base64," + base64.b64encode(image.png).decode("ascii")
    return (f'<figure class="qa-page" data-qa-page="{int(image.number)}">'
            f'<figcaption class="qa-page-head"><span class="qa-page-number">Page {int(image.number)}</span>'
            '<button type="button" class="qa-zoom" title="Show this page larger (Esc closes)">Enlarge</button>'
            '</figcaption>'
            f'<div class="qa-page-frame"><img class="qa-page-img" src="{src}" width="{int(image.width)}" '
            f'height="{int(image.height)}" alt="Page {int(image.number)} of {esc(title)}">{"".join(boxes)}</div>'
            '</figure>')


def viewer_html(turn: int, answer: dict, cite: int, document, pages: list[PageImage] | None = None) -> str:
    """The cited document of citation ``cite`` of ``answer``.  ``document`` is
    the (Document, spans) pair from ``Engine.document``, or None when the
    document has been removed since the answer was given.  ``pages`` are the
    rendered pages of a PDF citation: they are shown first, with a toggle to
    the extracted text."""
    citations = answer["citations"]
    chosen = next((c for c in citations if c["id"] == cite), citations[0])
    position = f"Citation [{chosen['id']}] of {len(citations)}"
    if document is None:
        return ('<div class="qa-viewer">'
                f'<div class="qa-viewer-head"><div class="qa-viewer-kicker">{position}</div>'
                f'<div class="qa-viewer-title">{esc(chosen["title"])}</div></div>{_chips(turn, citations, chosen["id"])}'
                '<p class="qa-gone">This document is no longer in the library. The cited sentence was:</p>'
                f'<blockquote class="qa-quote-block">{esc(chosen["text"])}</blockquote></div>')
    doc, _spans = document
    marks = [(c["start"], c["end"], c["id"]) for c in citations if c["doc_id"] == doc.doc_id]
    meta = " · ".join(esc(x) for x in (doc.date, doc.doc_id) if x)
    where = _where(chosen)
    if where:
        meta = f"{meta} · {where}" if meta else where
    structure = outline_of(doc)
    if structure is not None and structure.blocks:
        text = ('<div class="qa-doc-text qa-formatted" tabindex="0" aria-label="Document, formatted" '
                f'style="white-space: normal">{formatted(turn, doc, structure, marks, chosen["id"])}</div>')
    else:
        parts, pos = [], 0
        for a, b in excerpt_windows(len(doc.text), marks):
            if a > pos:
                parts.append(omitted(a - pos))
            inside = [(s - a, e - a, cid) for s, e, cid in marks if a <= s and e <= b]
            parts.append(highlighted(doc.text[a:b], inside, chosen["id"], turn))
            pos = b
        if pos < len(doc.text):
            parts.append(omitted(len(doc.text) - pos))
        text = f'<div class="qa-doc-text" tabindex="0" aria-label="Document text">{"".join(parts)}</div>'
    if pages:
        same = [c for c in citations if c["doc_id"] == doc.doc_id]
        shown = "".join(_page_html(turn, image, same, chosen["id"], doc.title) for image in pages)
        text = ('<div class="qa-view-toggle" role="group" aria-label="Show the source as">'
                '<button type="button" class="qa-view-btn" data-qa-view="page" aria-pressed="true">Page</button>'
                '<button type="button" class="qa-view-btn" data-qa-view="text" aria-pressed="false">Text</button>'
                f'</div><div class="qa-pages" tabindex="0" aria-label="Cited page">{shown}</div>{text}')
    kind = " qa-viewer-pdf" if pages else ""
    return (f'<div class="qa-viewer{kind}">'
            f'<div class="qa-viewer-head"><div class="qa-viewer-kicker">{position}</div>'
            f'<div class="qa-viewer-title">{esc(doc.title)}</div><div class="qa-viewer-meta">{meta}</div></div>'
            f'{_chips(turn, citations, chosen["id"])}{text}</div>')


def _where(citation: dict) -> str:
    """"page 4", "pages 4–5", "paragraph 12" or the section path for the
    viewer's head (escaped)."""
    pages = citation.get("pages") or []
    if pages:
        return f"page {int(pages[0])}" if len(pages) == 1 else f"pages {int(pages[0])}–{int(pages[-1])}"
    paragraphs = citation.get("paragraphs") or []
    if paragraphs:
        return f"paragraph {int(paragraphs[0]) + 1}"
    section = citation.get("section") or []
    return esc(" › ".join(section[1:] or section))


def excerpt_windows(length: int, marks: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """The (start, end) ranges of a document to show: all of it when short,
    else the cited sentences with context, overlapping ranges merged."""
    if length <= VIEW_MAX_CHARS or not marks:
        return [(0, min(length, VIEW_MAX_CHARS))] if length else []
    windows: list[tuple[int, int]] = []
    for start, end, _ in sorted(marks):
        a, b = max(0, start - VIEW_CONTEXT_CHARS), min(length, end + VIEW_CONTEXT_CHARS)
        if windows and a <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(b, windows[-1][1]))
        else:
            windows.append((a, b))
    return windows


def omitted(n: int) -> str:
    return f'<span class="qa-omitted">… {n:,} characters not shown …</span>'


# Markdown and reStructuredText, formatted ---------------------------------------
@lru_cache(maxsize=16)
def _outline(text: str, source: str):
    from index.load import outline

    try:
        return outline(text, source)
    except Exception:  # a document stored by another version that no longer parses: show its text
        return None


def outline_of(doc):
    """The structure of a stored Markdown or reStructuredText document (read
    again from its text, once per text), or None for other formats."""
    return _outline(doc.text, getattr(doc, "source", "") or "")


_TAGS = {"code": "code", "em": "em", "strong": "strong", "link": "u"}
_BLOCK_STYLE = {
    "text": "margin: 0.45em 0",
    "field": "margin: 0.2em 0 0.45em 1.6em",
    "label": "margin: 0.6em 0 0.1em; font-weight: 600",
    "code": ("white-space: pre-wrap; margin: 0.4em 0; padding: 0.45em 0.6em; border-radius: 4px; "
             "background: var(--background-fill-primary); font-size: 0.88em; line-height: 1.45"),
}


def _cited(offsets, marks: list[tuple[int, int, int]]) -> list[int | None]:
    """The citation each character of a block belongs to (by its file
    offset); a character the renderer added (offset -1) belongs to a
    citation when its nearest located neighbours on both sides do, or on
    its one side at the block's edge."""
    marks = sorted(marks)
    starts = [m[0] for m in marks]
    out: list[int | None] = []
    for at in offsets:
        cid = None
        if at >= 0:
            k = bisect.bisect_right(starts, at) - 1
            if k >= 0 and marks[k][0] <= at < marks[k][1]:
                cid = marks[k][2]
        out.append(cid)
    located = [i for i, at in enumerate(offsets) if at >= 0]
    for i, at in enumerate(offsets):
        if at >= 0:
            continue
        k = bisect.bisect_left(located, i)
        left = out[located[k - 1]] if k > 0 else "edge"
        right = out[located[k]] if k < len(located) else "edge"
        sides = {left, right} - {"edge"}
        if len(sides) == 1 and None not in sides:
            out[i] = sides.pop()
    return out


def _inline(block, marks, current: int, turn: int, seen: set[int], code: bool = False) -> str:
    """A block's text escaped, with its inline styles and a ``<mark>`` on
    every run of a cited unit; the first run of each citation carries its
    number, the current one's the id the viewer scrolls to."""
    style = [""] * len(block.text)
    if not code:
        for a, b, kind in block.styles:
            for i in range(max(0, a), min(b, len(style))):
                style[i] = _TAGS.get(kind, "")
    cited = _cited(block.offsets, marks)
    chars: list[tuple[int | None, str, str]] = []
    for i, ch in enumerate(block.text):
        if not code and ch.isspace():
            if not chars or chars[-1][2] == " ":
                continue
            ch = " "
        chars.append((cited[i], style[i], ch))
    out = []
    for cid, run in itertools.groupby(chars, key=lambda c: c[0]):
        piece = "".join(f"<{tag}>{esc(''.join(c[2] for c in part))}</{tag}>" if tag
                        else esc("".join(c[2] for c in part))
                        for tag, part in itertools.groupby(run, key=lambda c: c[1]))
        if cid is not None:
            classes = f"qa-hl {ref_class(turn, cid)}" + (" qa-hl-current" if cid == current else "")
            extra = ""
            if cid not in seen:
                extra = f' data-qa-n="{int(cid)}"' + (' id="qa-current"' if cid == current else "")
                seen.add(cid)
            piece = f'<mark class="{classes}"{extra}>{piece}</mark>'
        out.append(piece)
    return "".join(out).rstrip()


def _cells(block) -> list:
    """A table row's cells, split where the reader put `` | `` between them."""
    from index.outline import Block

    cells, start = [], 0
    for i in range(len(block.text) - 2):
        if block.text[i : i + 3] == " | " and block.offsets[i : i + 3] == (-1, -1, -1):
            cells.append((start, i))
            start = i + 3
    cells.append((start, len(block.text)))
    return [Block(block.kind, block.section, block.text[a:b], block.offsets[a:b], block.level,
                  tuple((x - a, y - a, k) for x, y, k in block.styles if a <= x and y <= b)) for a, b in cells]


def formatted(turn: int, doc, structure, marks: list[tuple[int, int, int]], current: int) -> str:
    """The document's blocks as HTML, the cited units highlighted; a long
    document shows the blocks around its citations (as :func:`excerpt_windows`)."""
    blocks = list(structure.blocks)
    anchors, nxt = [0] * len(blocks), len(doc.text)
    for i in range(len(blocks) - 1, -1, -1):
        nxt = blocks[i].start if blocks[i].start >= 0 else nxt
        anchors[i] = nxt
    windows = excerpt_windows(len(doc.text), marks)
    shown = [i for i, at in enumerate(anchors) if any(a <= at < b for a, b in windows)]
    out, seen = [], set()
    group, container, last = None, "", None
    for i in shown:
        block = blocks[i]
        if last is not None and i != last + 1:
            out.append(f"</{container}>" if container else "")
            container, group = "", None
            out.append(omitted(max(0, anchors[i] - anchors[last])))
        last = i
        wanted = "table" if block.kind in ("head", "row") else "ul" if block.kind == "item" else ""
        if container and (wanted != container or block.group != group):
            out.append(f"</{container}>")
            container = ""
        if wanted and not container:
            out.append('<table style="border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em">'
                       if wanted == "table" else '<ul style="margin: 0.3em 0; padding-left: 1.4em">')
            container, group = wanted, block.group
        if block.kind in ("head", "row"):
            cell = "th" if block.kind == "head" else "td"
            cells = "".join(f'<{cell} style="border: 1px solid var(--border-color-primary); padding: 0.2em 0.45em; '
                            f'vertical-align: top; text-align: left">{_inline(c, marks, current, turn, seen)}</{cell}>'
                            for c in _cells(block))
            out.append(f"<tr>{cells}</tr>")
        elif block.kind == "item":
            indent = f' style="margin-left: {1.2 * max(0, block.level - 1):.1f}em"' if block.level > 1 else ""
            out.append(f"<li{indent}>{_inline(block, marks, current, turn, seen)}</li>")
        elif block.kind == "heading":
            size = max(0.95, 1.3 - 0.1 * block.level)
            out.append(f'<div role="heading" aria-level="{min(6, int(block.level) + 1)}" '
                       f'style="font-weight: 700; font-size: {size:.2f}em; margin: 0.9em 0 0.3em">'
                       f"{_inline(block, marks, current, turn, seen)}</div>")
        elif block.kind == "code":
            out.append(f'<pre style="{_BLOCK_STYLE["code"]}"><code>'
                       f"{_inline(block, marks, current, turn, seen, code=True)}</code></pre>")
        else:
            out.append(f'<p style="{_BLOCK_STYLE.get(block.kind, _BLOCK_STYLE["text"])}">'
                       f"{_inline(block, marks, current, turn, seen)}</p>")
    if container:
        out.append(f"</{container}>")
    if shown and anchors[shown[-1]] < len(doc.text) and shown[-1] < len(blocks) - 1:
        out.append(omitted(len(doc.text) - anchors[shown[-1]]))
    return "".join(out)


# library ---------------------------------------------------------------------
KIND_NAMES = {"pdf": "PDF", "docx": "Word", "md": "Markdown", "markdown": "Markdown", "txt": "Text",
              "html": "HTML", "htm": "HTML"}


def added_text(added: str | None) -> str:
    """"2026-12-04 16:52 UTC" from the record's ISO time; "—" when unknown."""
    if not added:
        return "—"
    return f"{added[:10]} {added[11:16]} UTC" if len(added) >= 16 else added


def length_text(d) -> str:
    sentences = f"{int(d.sentences):,} sentence{'s' if d.sentences != 1 else ''}"
    pages = d.pages
    return f"{int(pages)} page{'s' if pages != 1 else ''} · {sentences}" if pages else sentences


def library_html(docs: list) -> str:
    """The indexed documents as a table (``docs`` are ``DocInfo`` records):
    title, file name and id, type, pages or sentences, the document's own
    date and when it was added."""
    if not docs:
        return '<div class="qa-library qa-library-empty">No documents yet: add .txt, .md, .html, .pdf or .docx files below.</div>'
    rows = "".join(
        f'<tr><td class="qa-lib-title"><span class="qa-lib-name">{esc(d.title)}</span>'
        f'<span class="qa-lib-file">{esc(d.name)} · <code class="qa-lib-id">{esc(d.doc_id)}</code></span></td>'
        f'<td class="qa-lib-kind">{esc(KIND_NAMES.get(d.kind, d.kind or "—"))}</td>'
        f'<td class="qa-num">{esc(length_text(d))}</td><td class="qa-date">{esc(d.date or "—")}</td>'
        f'<td class="qa-date">{esc(added_text(d.added))}</td></tr>'
        for d in docs
    )
    total = sum(d.sentences for d in docs)
    return ('<div class="qa-library"><table><caption>'
            f'{len(docs)} document{"s" if len(docs) != 1 else ""}, {total:,} sentences</caption>'
            '<thead><tr><th scope="col">Title and file</th><th scope="col">Type</th><th scope="col">Length</th>'
            '<th scope="col">Dated</th><th scope="col">Added</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></div>')


def confirm_html(d) -> str:
    """What removing document ``d`` (a DocInfo) will do, asked before it is done."""
    return ('<p class="qa-confirm-text" role="alert">Remove <strong>' + esc(d.title) + '</strong> ('
            + esc(d.name or d.doc_id) + f')? Its {int(d.sentences):,} sentence{"s" if d.sentences != 1 else ""} '
            'will no longer be '
            'searched or cited, and earlier answers that cite it show only the quoted sentence.</p>')


def notice_html(message: str) -> str:
    """The line under the question box: the live character count (filled
    in by ``static/chat.js``) and the server's word on a refused question."""
    said = f'<span class="qa-refusal" role="alert">{esc(message)}</span>' if message else ""
    return f'<p class="qa-notice-line"><span class="qa-count" aria-live="polite"></span>{said}</p>'


def status_html(lines: list[tuple[str, str]]) -> str:
    """Upload/remove outcomes; each line is (kind, message) with kind one of
    ok, same, error."""
    if not lines:
        return ""
    items = "".join(f'<li class="qa-status-{esc(kind)}">{esc(message)}</li>' for kind, message in lines)
    return f'<ul class="qa-status" role="status">{items}</ul>'
