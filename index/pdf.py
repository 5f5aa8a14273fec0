"""Read a PDF into text that reads like the page, plus where each character sits.

The stored text is built here, character by character, from pdfium's text
layer, so every character of it is either one pdfium extracted (with its box on
the page) or one we inserted to join lines (a space, or ``\\n\\n`` between
paragraphs; page 0, no box).  Sentence offsets computed on that text therefore
map back to page rectangles without any fuzzy matching.

Layout decisions a reader makes without thinking are made from geometry:
lines of one paragraph are joined with a space, a hyphen at a line end is
dropped when the next line goes on in lowercase, a page or column change does
not end a sentence unless the previous line stopped short with a full stop,
and lines that repeat at the same height on several pages (running heads and
feet) or that are only a page number are left out.
"""

from __future__ import annotations

import ctypes
import re
import statistics
import unicodedata
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import numpy as np

from index.document import LoadError
from index.titles import file_title

#: ``report(pages_done, pages_total, chars_so_far)`` after each page read,
#: for whoever set it with :func:`page_progress` (the ingest's progress bar).
_PAGE_PROGRESS: ContextVar[Callable[[int, int, int], None] | None] = ContextVar("page_progress", default=None)


@contextmanager
def page_progress(report: Callable[[int, int, int], None] | None) -> Iterator[None]:
    """Have :func:`read_pdf` call ``report(pages_done, pages_total,
    chars_so_far)`` after each page it reads inside this block; reading
    goes through ``index.load``, which takes no callback."""
    token = _PAGE_PROGRESS.set(report)
    try:
        yield
    finally:
        _PAGE_PROGRESS.reset(token)

#: pdfium's markers: \x02 and \ufffe stand for a hyphen it took out at a line
#: end (it may join the two lines itself), \uffff for a glyph without Unicode;
#: other control characters carry no text.
_SOFT_HYPHENS = {"\x02", "\u00ad", "\ufffe"}
_DROP = {"\uffff", "\x00"}
_LIGATURES = range(0xFB00, 0xFB07)
_TERMINAL = re.compile(r"[.!?:;][\"'’”)\]]*$")
_PAGE_NUMBER = re.compile(r"^(page\s*)?([0-9]+|[ivxlcdm]+)(\s*(/|of)\s*[0-9]+)?$", re.I)


class PageRect(NamedTuple):
    """One highlight rectangle: 1-based page and a box in PDF points, origin
    bottom-left (y grows upwards), as PDF and pdfium use."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True, eq=False)
class Layout:
    """Where each character of a PDF document's ``text`` comes from.

    ``page[i]`` is the 1-based page of ``text[i]``, or 0 for a character the
    loader inserted (joining spaces and newlines), which has no box.
    ``box[i]`` is ``(x0, y0, x1, y1)``: pdfium's loose character box (font
    height, so highlights are as tall as the line) in PDF points with the
    origin at the bottom-left of the page.  ``line[i]`` numbers the extracted
    text line the character came from (-1 for inserted characters), so a span
    can be drawn one rectangle per line.  ``char[i]`` is pdfium's index of the
    character on its page (-1 for inserted ones), to look up anything else
    pdfium knows about it.  ``page_sizes[p - 1]`` is page p's (width, height)
    in points.
    """

    page: np.ndarray
    box: np.ndarray
    line: np.ndarray
    char: np.ndarray
    page_sizes: tuple[tuple[float, float], ...] = field(default=())

    def __len__(self) -> int:
        return len(self.page)


@dataclass
class _Line:
    page: int
    chars: list[str]
    boxes: list[tuple[float, float, float, float]]
    index: list[int]
    size: float
    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0

    @property
    def text(self) -> str:
        return "".join(self.chars)


def rects(layout: Layout, start: int, end: int) -> list[PageRect]:
    """The highlight for ``text[start:end]``: per page, one rectangle per text
    line, the union of the boxes of the span's characters on that line."""
    lines = layout.line[start:end]
    keep = lines >= 0
    if not keep.any():
        return []
    lines, pages, boxes = lines[keep], layout.page[start:end][keep], layout.box[start:end][keep]
    out: list[PageRect] = []
    cut = np.flatnonzero(np.diff(lines)) + 1
    for group in np.split(np.arange(len(lines)), cut):
        b = boxes[group]
        out.append(PageRect(int(pages[group[0]]), float(b[:, 0].min()), float(b[:, 1].min()),
                            float(b[:, 2].max()), float(b[:, 3].max())))
    return out


def pages(layout: Layout, start: int, end: int) -> list[int]:
    """The 1-based pages ``text[start:end]`` lies on, in order."""
    found = layout.page[start:end]
    return sorted(set(int(p) for p in found[found > 0]))


def read_pdf(data: bytes, path: Path) -> tuple[str, str, Layout]:
    """Return (text, title, layout); the title is the PDF's metadata Title,
    else the file name (``index.titles``).  Refuse scans,
    password-protected and broken files with a :class:`LoadError`."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        if "password" in str(err).lower():
            raise LoadError(f"{path}: encrypted PDF (needs a password), skipped") from None
        raise LoadError(f"{path}: not a readable PDF ({err}), skipped") from None
    try:
        title = file_title(pdf.get_metadata_dict().get("Title"), path)
        sizes = tuple(tuple(float(v) for v in pdf.get_page_size(i)) for i in range(len(pdf)))
        report = _PAGE_PROGRESS.get()
        lines, chars = [], 0
        for i in range(len(pdf)):
            page = _page_lines(pdf, i)
            lines += page
            if report:
                chars += sum(len(line.chars) for line in page)
                report(i + 1, len(pdf), chars)
    except pdfium.PdfiumError as err:
        raise LoadError(f"{path}: damaged PDF ({err}), skipped") from None
    finally:
        pdf.close()
    if not any(c.strip() for line in lines for c in line.chars):
        raise LoadError(f"{path}: no text layer (scanned?); OCR is not supported, skipped")
    body = _drop_running_lines(lines, sizes)
    text, layout = _assemble(body, sizes)
    if not text.strip():
        raise LoadError(f"{path}: no text besides page headers and numbers, skipped")
    return text, title, layout


def _page_lines(pdf, index: int) -> list[_Line]:
    """pdfium's text lines of one page, in its reading order, cleaned of
    pdfium's marker characters (ligatures spelled out)."""
    import pypdfium2.raw as raw

    page = pdf[index]
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        rect = raw.FS_RECTF()
        lines: list[_Line] = []
        chars: list[str] = []
        boxes: list[tuple[float, float, float, float]] = []
        where: list[int] = []
        sizes: list[float] = []

        def flush():
            while chars and chars[-1] == " ":
                chars.pop(), boxes.pop(), where.pop()
            if chars:
                lines.append(_Line(index + 1, chars[:], boxes[:], where[:], statistics.median(sizes or [0.0])))
            chars.clear(), boxes.clear(), where.clear(), sizes.clear()

        for i in range(count):
            ch = chr(raw.FPDFText_GetUnicode(textpage, i))
            if ch in "\r\n":
                if ch == "\n":
                    flush()
                continue
            if ch in _DROP or (ch < " " and ch not in _SOFT_HYPHENS and ch != "\t"):
                continue
            if ch.isspace():
                if chars and chars[-1] != " ":
                    chars.append(" ")
                    boxes.append((0.0, 0.0, 0.0, 0.0))
                    where.append(i)
                continue
            raw.FPDFText_GetLooseCharBox(textpage, i, ctypes.byref(rect))
            box = (rect.left, rect.bottom, rect.right, rect.top)
            last = next((b for c, b in zip(reversed(chars), reversed(boxes)) if c != " "), None)
            size = raw.FPDFText_GetFontSize(textpage, i)
            if last and (box[3] <= last[1] or box[1] >= last[3] or box[0] - last[2] > 3 * size):
                flush()  # pdfium joined lines or table cells: split them again
            if ch in _SOFT_HYPHENS:
                ch = "\x02"
            spelled = unicodedata.normalize("NFKC", ch) if ord(ch) in _LIGATURES else ch
            for part in spelled:
                chars.append(part)
                boxes.append(box)
                where.append(i)
            sizes.append(size)
        flush()
    finally:
        textpage.close()
        page.close()
    for line in lines:
        real = [b for b, c in zip(line.boxes, line.chars) if c != " "]
        line.x0, line.y0 = min(b[0] for b in real), min(b[1] for b in real)
        line.x1, line.y1 = max(b[2] for b in real), max(b[3] for b in real)
        line.size = line.size or (line.y1 - line.y0)
        # Spaces inside a line get the gap between their neighbours as their box.
        for j, c in enumerate(line.chars):
            if c == " ":
                left, right = line.boxes[j - 1], line.boxes[j + 1]
                line.boxes[j] = (left[2], min(left[1], right[1]), max(left[2], right[0]),
                                 max(left[3], right[3]))
    return _merge_marks(lines)


def _merge_marks(lines: list[_Line]) -> list[_Line]:
    """Put a raised footnote mark back beside the text it belongs to (the
    word before it, or the footnote it numbers): pdfium ends a line at the
    mark because it sits higher."""

    def beside(mark: _Line, line: _Line, gap: float) -> bool:
        return (len(mark.text) <= 3 and mark.size < line.size and line.y0 < mark.y1
                and mark.y0 < line.y1 + 0.8 * line.size and 0 <= gap < 2 * line.size)

    def join(first: _Line, second: _Line) -> _Line:
        first.chars += second.chars
        first.boxes += second.boxes
        first.index += second.index
        first.x0, first.x1 = min(first.x0, second.x0), max(first.x1, second.x1)
        first.y0, first.y1 = min(first.y0, second.y0), max(first.y1, second.y1)
        first.size = max(first.size, second.size)
        return first

    out: list[_Line] = []
    for line in lines:
        prev = out[-1] if out else None
        before = out[-2] if len(out) > 1 else None
        if prev and beside(prev, line, line.x0 - prev.x1) and not (
                before and beside(prev, before, prev.x0 - before.x1)):
            out[-1] = join(prev, line)
        elif prev and beside(line, prev, line.x0 - prev.x1):
            out[-1] = join(prev, line)
        else:
            out.append(line)
    return out


def _drop_running_lines(lines: list[_Line], sizes) -> list[_Line]:
    """Leave out running heads/feet and page numbers: among the two top-most and
    two bottom-most lines of a page, those that are a bare page number, those
    whose text (digits ignored) recurs at the same height on several pages,
    and what stands beside them (a running head often pairs a fixed chapter
    name with a changing section name)."""
    by_page: dict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        by_page[line.page].append(line)
    edges: dict[int, list[_Line]] = {}
    for number, page_lines in by_page.items():
        height = sizes[number - 1][1]
        ordered = sorted(page_lines, key=lambda ln: -ln.y1)
        edge = ordered[:2] + ordered[-2:]
        edges[number] = [ln for ln in edge if ln.y1 > 0.85 * height or ln.y0 < 0.15 * height]

    def key(line: _Line):
        return re.sub(r"\d+", "#", " ".join(line.text.lower().split())), round(line.y0 / 3)

    seen: dict[tuple, set[int]] = defaultdict(set)
    for number, edge in edges.items():
        for line in edge:
            seen[key(line)].add(number)
    needed = min(3, max(2, len(by_page)))
    drop = set()
    for edge in edges.values():
        running = [ln for ln in edge
                   if _PAGE_NUMBER.match(ln.text.replace("\x02", "-").strip()) or len(seen[key(ln)]) >= needed]
        heights = {key(ln)[1] for ln in running}
        drop.update(id(ln) for ln in edge if key(ln)[1] in heights)
    return [line for line in lines if id(line) not in drop]


def _column_edges(lines: list[_Line]) -> list[tuple[float, float]]:
    """Per line, the left and right edge of the text column it sits in, from
    the lines on its page that start near where it starts.  The right edge is
    the furthest one that two lines share (justified text), so one long code
    line does not make the whole column look short."""
    by_page: dict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        by_page[line.page].append(line)
    edges = []
    for line in lines:
        same = [o for o in by_page[line.page] if abs(o.x0 - line.x0) <= 3 * line.size]
        rights = [round(o.x1) for o in same]
        shared = [r for r in set(rights) if rights.count(r) >= 2]
        edges.append((min(o.x0 for o in same), float(max(shared or rights))))
    return edges


def _pitch(lines: list[_Line]) -> float:
    """The usual distance between the baselines of consecutive lines."""
    gaps = [a.y0 - b.y0 for a, b in zip(lines, lines[1:])
            if a.page == b.page and abs(a.size - b.size) < 0.5 and 0 < a.y0 - b.y0 < 3 * a.size]
    return statistics.median(gaps) if gaps else 0.0


def _separator(a: _Line, b: _Line, a_edges, b_edges, pitch: float) -> str:
    """What joins line ``a`` to the next line ``b``: ``"\\n\\n"`` at a paragraph
    end, else "" when ``a`` ends in a hyphenated word, ``"\\n"`` after a line
    that fills less than 60 % of its column (code, lists, tables; ragged prose
    fills more), else a space."""
    size = max(a.size, b.size, 1.0)
    short = a.x1 < a_edges[1] - 3 * a.size
    ended = bool(_TERMINAL.search(a.text))
    jump = b.page != a.page or b.y1 > a.y1 + 0.5 * size or b.x0 > a.x1
    if abs(a.size - b.size) > 0.15 * size or (short and ended):
        return "\n\n"
    if not jump:
        gap = a.y0 - b.y0
        if pitch and gap > 1.4 * pitch:
            return "\n\n"
        if 0.8 * size < b.x0 - a.x0 <= 4 * size and b.x0 - b_edges[0] > 0.8 * size:
            return "\n\n"
    elif b.x0 - b_edges[0] > 0.8 * size and ended:
        return "\n\n"
    last, first = a.text[-1], b.text[0]
    if last == "\x02" or (last == "-" and len(a.text) > 1 and a.text[-2].isalpha()):
        return "" if first.isalpha() else " "
    if not jump and a.x1 - a_edges[0] < 0.6 * (a_edges[1] - a_edges[0]):
        return "\n"
    return " "


def _assemble(lines: list[_Line], sizes) -> tuple[str, Layout]:
    edges = _column_edges(lines)
    pitch = _pitch(lines)
    chars: list[str] = []
    pages: list[int] = []
    boxes: list[tuple[float, float, float, float]] = []
    line_ids: list[int] = []
    where: list[int] = []
    for n, line in enumerate(lines):
        text, line_boxes, line_where = line.chars, line.boxes, line.index
        sep = "\n\n"
        if n + 1 < len(lines):
            nxt = lines[n + 1]
            sep = _separator(line, nxt, edges[n], edges[n + 1], pitch)
            if sep == "" and nxt.text[0].islower():
                text, line_boxes, line_where = text[:-1], line_boxes[:-1], line_where[:-1]
        for ch, box, i in zip(text, line_boxes, line_where):
            chars.append("-" if ch == "\x02" else ch)
            pages.append(line.page)
            boxes.append(box)
            line_ids.append(n)
            where.append(i)
        if n + 1 < len(lines):
            for ch in sep:
                chars.append(ch)
                pages.append(0)
                boxes.append((0.0, 0.0, 0.0, 0.0))
                line_ids.append(-1)
                where.append(-1)
    chars.append("\n")
    pages.append(0)
    boxes.append((0.0, 0.0, 0.0, 0.0))
    line_ids.append(-1)
    where.append(-1)
    layout = Layout(
        page=np.asarray(pages, dtype=np.int32),
        box=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        line=np.asarray(line_ids, dtype=np.int32),
        char=np.asarray(where, dtype=np.int32),
        page_sizes=tuple(sizes),
    )
    return "".join(chars), layout
