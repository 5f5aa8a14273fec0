"""The records every file reader shares: :class:`Document`, :class:`LoadError`
and the checks on a file's bytes.

The readers (``index.htmltext``, ``index.pdf``, ``index.word``) import from here and from nothing else in
``index``; ``index.load`` picks the reader for a file and builds its
Document, so imports run one way: load -> readers -> document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 10 * 1024 * 1024

#: Corpus files may open with a ``date YYYY-MM-DD`` header (the seed does).
HEADER_RE = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})(?=\s)")


class LoadError(ValueError):
    """A file that cannot be indexed; the message names the file and the reason."""


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    source: str
    text: str
    sha256: str
    date: str | None = None
    #: Where the text sits in the file: ``index.pdf.Layout`` for a PDF,
    #: ``index.word.Layout`` for a DOCX, None for plain text and HTML.
    layout: Any = field(default=None, compare=False, repr=False)


def decode(path: Path, data: bytes) -> str:
    """A text file's content, exactly as stored; refuses binary, non-UTF-8 and
    empty files (``index.load`` has checked the size)."""
    if b"\x00" in data[:8192]:
        raise LoadError(f"{path}: looks binary (contains NUL bytes), skipped")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LoadError(f"{path}: not UTF-8 ({err.reason} at byte {err.start}), skipped") from None
    if not text.strip():
        raise LoadError(f"{path}: empty, skipped")
    return text
