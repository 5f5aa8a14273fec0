"""A PDF's or DOCX's title: its own metadata, else its file name, never a
line of its body (a Word file's first paragraph is "One" or "Lorem ipsum…"
as often as it is a title)."""

from __future__ import annotations

import re
from pathlib import Path

#: What authoring tools write when the author wrote nothing.
PLACEHOLDERS = {"untitled", "title", "document", "no title", "microsoft word document"}
_TOOL_PREFIX = re.compile(r"^microsoft (word|powerpoint|excel) - ", re.I)


def file_title(metadata: str | None, path: Path) -> str:
    """``metadata`` (a PDF's Title, a DOCX's core title) cleaned of tool
    prefixes ("Microsoft Word - report.docx" is the file name), or the file
    name without its type when it is missing or a placeholder."""
    title = " ".join((metadata or "").split())
    title = _TOOL_PREFIX.sub("", title)
    if title.lower().endswith(path.suffix.lower()) and path.suffix:
        title = title[: -len(path.suffix)]
    if not title or title.lower() in PLACEHOLDERS:
        return path.stem
    return title
