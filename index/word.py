"""Read a Word (.docx) file into text plus the paragraph each character came from.

The text is the body in document order: each non-empty paragraph, and each
table row (cells joined by `` | ``), separated by ``\\n\\n`` so no sentence
runs from one paragraph into the next.  Page headers and footers are not
part of the body and are left out, like a PDF's running heads.  A DOCX has no
fixed pages, so citations point at paragraphs instead of page rectangles.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.document import LoadError
from index.titles import file_title


@dataclass(frozen=True, eq=False)
class Layout:
    """Where each character of a DOCX document's ``text`` comes from.

    ``paragraph[i]`` is the 0-based index into python-docx's
    ``Document.paragraphs`` (top-level body paragraphs) of ``text[i]``, or -1
    for table text and for the separators the loader inserted.  ``block[i]``
    is the 0-based index of the body element (paragraph or table, in body
    order) it came from, -1 for inserted characters.
    """

    paragraph: np.ndarray
    block: np.ndarray

    def __len__(self) -> int:
        return len(self.paragraph)


def paragraphs(layout: Layout, start: int, end: int) -> list[int]:
    """The indices into ``Document.paragraphs`` that ``text[start:end]`` covers."""
    found = layout.paragraph[start:end]
    return sorted(set(int(p) for p in found[found >= 0]))


def _clean(text: str) -> str:
    """Tabs and soft line breaks inside a paragraph read as spaces."""
    return " ".join(text.replace("\t", " ").replace("\n", " ").split())


def read_docx(data: bytes, path: Path) -> tuple[str, str, Layout]:
    """Return (text, title, layout); the title is the core properties'
    title, else the file name (``index.titles``), never the first paragraph."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        title = file_title(document.core_properties.title, path)
        units: list[tuple[str, int, int]] = []
        numbered = 0  # body order lists the same top-level paragraphs as Document.paragraphs
        for block, item in enumerate(document.iter_inner_content()):
            if isinstance(item, Table):
                for row in item.rows:
                    cells = [_clean(c.text) for c in row.cells]
                    units.append((" | ".join(dict.fromkeys(c for c in cells if c)), -1, block))
            else:
                units.append((_clean(item.text), numbered, block))
                numbered += 1
    except Exception as err:  # python-docx raises zip, XML and key errors alike
        raise LoadError(f"{path}: not a readable .docx ({type(err).__name__}: {err}), skipped") from None
    units = [u for u in units if u[0]]
    if not units:
        raise LoadError(f"{path}: no text, skipped")
    parts: list[str] = []
    para: list[np.ndarray] = []
    blocks: list[np.ndarray] = []
    for n, (text, index, block) in enumerate(units):
        sep = "\n\n" if n + 1 < len(units) else "\n"
        parts += [text, sep]
        para += [np.full(len(text), index, np.int32), np.full(len(sep), -1, np.int32)]
        blocks += [np.full(len(text), block, np.int32), np.full(len(sep), -1, np.int32)]
    layout = Layout(paragraph=np.concatenate(para), block=np.concatenate(blocks))
    return "".join(parts), title, layout
