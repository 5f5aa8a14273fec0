"""The structure of a Markdown or reStructuredText file, as its readers
(``index.markdown``, ``index.rst``) find it with the ecosystems' own parsers.

An :class:`Outline` is the file's blocks in reading order: headings, prose
paragraphs, list items, field-list items, table rows, code.  Each block has
the text a reader of the rendered page sees (markup rendered or dropped:
``:func:`json.dump``` reads ``json.dump``), the file offset of every
character of that text, and its *section*: the headings above it (with the
API object a Sphinx description documents, ``json.dump``) and, for a field
or definition, its name.  Citations stay offsets into the file as stored;
the readable text is what the embedder reads and what a user is shown.

The parsers give line numbers at best, so offsets are recovered here: each
block's source text (docutils' ``rawsource``, markdown-it's inline
``content``: the block's lines without indentation or container markers)
is found line by line in the file, in reading order (:class:`Locator`),
and each readable character is matched to its source character inside
that text by the reader.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

#: Block kinds.  Prose is cited: ``text`` (a paragraph), ``item`` (a list
#: item's paragraph), ``field`` (a field-list item's or a definition's
#: paragraph) and ``row`` (a table row, one unit).  ``heading``, ``head``
#: (a table's header row), ``label`` (an API signature, a field's name, an
#: admonition's or a version note's title, a rubric) and ``code`` say what
#: the prose is about or show examples; they are never cited.
PROSE = ("text", "item", "field", "row")

#: Line breaks as markdown-it-py splits lines (``\r\n``, ``\r``, ``\n``) and
#: as docutils does (``str.splitlines`` after turning ``\v`` and ``\f`` into spaces).
MARKDOWN_BREAKS = re.compile(r"\r\n|\r|\n")
RST_BREAKS = re.compile(r"\r\n|[\n\r\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True, eq=False)
class Block:
    kind: str
    section: tuple[str, ...]
    #: What the rendered page shows; ``offsets[i]`` is the file offset of
    #: ``text[i]``, or -1 for a character the renderer adds (a table's
    #: `` | `` between cells, "Changed in version ").
    text: str
    offsets: tuple[int, ...]
    #: Heading level (1 for the title), list depth, 0 otherwise.
    level: int = 0
    #: Inline styles for the viewer: ``(start, end, style)`` in ``text``,
    #: style one of ``code``, ``em``, ``strong``, ``link``.
    styles: tuple[tuple[int, int, str], ...] = ()
    #: Blocks that belong together (the rows of one table, the items of one
    #: list) share a number; -1 for none.
    group: int = -1

    @property
    def start(self) -> int:
        """The first file offset the block's text comes from (-1 if none)."""
        return next((o for o in self.offsets if o >= 0), -1)

    @property
    def end(self) -> int:
        """One past the last file offset its text comes from (-1 if none)."""
        return next((o + 1 for o in reversed(self.offsets) if o >= 0), -1)


@dataclass(frozen=True)
class Sentence:
    """One citable unit: ``[start, end)`` in the file, its section and the
    text a user is shown for it (whitespace runs as one space)."""

    start: int
    end: int
    section: tuple[str, ...]
    plain: str


@dataclass(frozen=True, eq=False)
class Outline:
    blocks: tuple[Block, ...]
    #: The citable units in reading order (``index.segment.outline_sentences``).
    sentences: tuple[Sentence, ...]


def label(text: str) -> str:
    """A heading or name as one line (Sphinx's ``---`` as the dash it renders)."""
    return " ".join(text.replace("---", "—").split())


class Locator:
    """Finds a block's source lines in the file, in reading order.

    A block's source text is its lines with indentation (and Markdown's
    container markers) cut off, and tabs expanded as both parsers expand
    them; each of its lines is found inside one line of the file, the first
    at or after the line where the previous block began, the rest on the
    lines after it.  Within a line, text already taken by an earlier block
    is skipped, so the cells of a table row are found left to right.
    """

    #: How far from the line a parser names (``hint``) a block is looked for
    #: before the search falls back to scanning on from the previous block.
    WINDOW = 3

    def __init__(self, text: str, breaks: re.Pattern, tab_width: int, spaces: str = ""):
        """``breaks`` matches a line break as the parser splits lines, the
        parser expands tabs to ``tab_width`` columns and reads the
        characters of ``spaces`` as spaces."""
        self.text = text
        self.tab_width = tab_width
        self.spaces = spaces
        self.starts = [0]
        self.lines = []
        for brk in breaks.finditer(text):
            self.lines.append(text[self.starts[-1] : brk.start()])
            self.starts.append(brk.end())
        self.lines.append(text[self.starts[-1] :])
        self.taken = [0] * len(self.lines)
        self.line = 0
        self._expanded: dict[int, tuple[str, list[int]]] = {}

    def _view(self, n: int) -> tuple[str, list[int] | None]:
        """Line ``n`` as the parser saw it (tabs expanded) and, when that
        differs from the file, each column's offset within the line."""
        line = self.lines[n]
        if "\t" not in line and not any(ch in line for ch in self.spaces):
            return line, None
        if n not in self._expanded:
            out, cols = [], []
            for i, ch in enumerate(line):
                if ch == "\t":
                    pad = self.tab_width - len(out) % self.tab_width
                    out.extend(" " * pad)
                    cols.extend([i] * pad)
                else:
                    out.append(" " if ch in self.spaces else ch)
                    cols.append(i)
            self._expanded[n] = ("".join(out), cols)
        return self._expanded[n]

    def _find(self, n: int, piece: str) -> int:
        view, _ = self._view(n)
        return view.find(piece.rstrip(), self.taken[n]) if piece.strip() else self.taken[n]

    def locate(self, source: str, hint: int | None = None) -> list[int]:
        """The file offset of each character of ``source`` (a block's
        source text, lines joined by ``\\n``), -1 where it cannot be found.
        ``hint`` is the 0-based line the parser says the block starts on:
        the lines near it are tried first, so that a short text found again
        further on cannot pull the search past the blocks in between."""
        pieces = source.split("\n")
        first = next((i for i, p in enumerate(pieces) if p.strip()), None)
        out = [-1] * len(source)
        if first is None:
            return out
        lowest = self.line
        near = []
        if hint is not None:
            near = sorted((n for n in range(hint + first - self.WINDOW, hint + first + self.WINDOW + 1)
                           if lowest <= n < len(self.lines)), key=lambda n: abs(n - hint - first))
        found = next((n - first for n in near if self._find(n, pieces[first]) >= 0), None)
        if found is None:
            found = next((n - first for n in range(lowest + first, len(self.lines))
                          if self._find(n, pieces[first]) >= 0), None)
        if found is None:
            return out
        self.line = found + first
        pos = 0
        for k, piece in enumerate(pieces):
            n = found + k
            if n < len(self.lines) and piece.strip():
                col = self._find(n, piece)
                if col >= 0:
                    _, cols = self._view(n)
                    base = self.starts[n]
                    for j in range(len(piece.rstrip())):
                        out[pos + j] = base + (cols[col + j] if cols else col + j)
                    self.taken[n] = col + len(piece.rstrip())
            if k + 1 < len(pieces) and n + 1 < len(self.lines) and pos + len(piece) < len(out):
                out[pos + len(piece)] = self.starts[n] + len(self.lines[n])  # the line break
            pos += len(piece) + 1
        return out

    def line_of(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1


def align(readable: str, source: str, pos: int = 0, end: int | None = None, lookahead: int = 8) -> tuple[list[int], int]:
    """Match each character of ``readable`` to one of ``source[pos:end]``
    in order, allowing up to ``lookahead`` source characters to be skipped
    before each (backslash escapes, an entity's letters; a space matches any
    whitespace); a character not found is -1.  Returns the indices and the position after the last match."""
    end = len(source) if end is None else end
    if source.startswith(readable, pos, end):
        return list(range(pos, pos + len(readable))), pos + len(readable)
    out = []
    for ch in readable:
        if ch.isspace():  # the nearest whitespace: parsers turn line breaks into spaces and back
            k = next((j for j in range(pos, min(end, pos + lookahead + 1)) if source[j].isspace()), -1)
        else:
            k = source.find(ch, pos, min(end, pos + lookahead + 1))
        if k < 0:
            out.append(-1)
        else:
            out.append(k)
            pos = k + 1
    return out, pos
