"""Read files into :class:`Document` records whose text is what citations index into.

This module picks a file's reader by its type and builds the Document; the
readers live in modules of their own and share only ``index.document``.
For ``.txt``, ``.md`` and ``.rst`` that text is the file's UTF-8
content exactly as stored (no newline translation, no stripping), so a
citation's offsets can be checked against the file itself; Markdown and
reStructuredText also come with their structure (``index.outline.Outline``:
headings, prose, list items, fields, table rows, code), which the segmenter
and the viewer read.  HTML is reduced to its visible text, and that
reduced text is what gets stored and cited.  PDF and DOCX text is built by
``index.pdf`` and ``index.word``, which also return where each character sits
in the file (``Document.layout``).
"""

from __future__ import annotations

import hashlib
import importlib
import re
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

from index.document import HEADER_RE, MAX_FILE_BYTES, Document, LoadError, decode

__all__ = ["HEADER_RE", "MAX_FILE_BYTES", "SUFFIXES", "Document", "LoadError", "discover", "doc_id_for",
           "file_format", "load_bytes", "load_file", "outline", "read_file", "slug"]

SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".html", ".htm", ".pdf", ".docx")

#: Each format's reader, ``(module, function)``, imported when a file of that
#: format is first read, so plain text never pays for docutils, pdfium or lxml.
#: A reader takes ``(data, path)`` and returns ``(text, title or "", layout)``.
_READERS = {
    "html": ("index.htmltext", "read_html"),
    "markdown": ("index.markdown", "read_markdown"),
    "rst": ("index.rst", "read_rst"),
    "pdf": ("index.pdf", "read_pdf"),
    "docx": ("index.word", "read_docx"),
}
#: The Markdown and reStructuredText readers also rebuild a stored text's
#: structure (for the viewer): ``(module, function)`` taking the text.
_OUTLINERS = {"markdown": ("index.markdown", "outline"), "rst": ("index.rst", "outline")}


def file_format(name: str) -> str | None:
    """``text``, ``markdown``, ``rst``, ``html``, ``pdf`` or ``docx`` from a
    file name (Sphinx's ``NAME.rst.txt`` sources are reStructuredText), or
    None for an unsupported type."""
    lower = name.lower()
    if lower.endswith((".rst", ".rst.txt")):
        return "rst"
    return {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
            ".pdf": "pdf", ".docx": "docx"}.get(Path(lower).suffix)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "doc"


def doc_id_for(path: Path, root: Path | None = None) -> str:
    """Stable id from the path (relative to the folder added) without its file
    type: ``library/os.path.rst.txt`` -> ``library-os-path`` (Sphinx keeps
    sources as ``NAME.rst.txt``, so a ``.rst`` before the type goes too)."""
    rel = path.relative_to(root) if root and path.is_relative_to(root) else Path(path.name)
    name = str(rel)
    if rel.suffix.lower() in SUFFIXES:
        name = name[: -len(rel.suffix)]
    if name.lower().endswith(".rst"):
        name = name[:-4]
    return slug(name)


def _title_from_text(text: str, fallback: str) -> str:
    body = HEADER_RE.sub("", text, count=1)
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line and not set(line) <= set("=-*~^#`_"):
            return line if len(line) <= 80 else line[:80].rsplit(" ", 1)[0] + "…"
    return fallback


def load_bytes(data: bytes, path: Path, doc_id: str, source: str | None = None) -> Document:
    """Build a Document from raw bytes; ``path`` decides the format and names errors."""
    kind = file_format(path.name)
    if kind is None:
        raise LoadError(f"{path}: unsupported type {path.suffix.lower() or '(none)'}; use one of {', '.join(SUFFIXES)}")
    if len(data) > MAX_FILE_BYTES:
        raise LoadError(f"{path}: {len(data)} bytes is over the {MAX_FILE_BYTES}-byte limit")
    if kind == "text":
        text, title, layout = decode(path, data), "", None
    else:
        module, function = _READERS[kind]
        text, title, layout = getattr(importlib.import_module(module), function)(data, path)
    when = None
    header = HEADER_RE.match(text) if kind not in ("pdf", "docx") else None
    if header:
        try:
            when = date.fromisoformat(header.group(1)).isoformat()
        except ValueError:
            when = None
    return Document(doc_id=doc_id, title=title or _title_from_text(text, path.stem), source=source or str(path),
                    text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), date=when, layout=layout)


def outline(text: str, source: str):
    """The structure of a stored Markdown or reStructuredText document
    (``index.outline.Outline``), read again from its text; None for other
    formats.  ``source`` names the file it came from."""
    kind = file_format(source)
    if kind not in _OUTLINERS:
        return None
    module, function = _OUTLINERS[kind]
    return getattr(importlib.import_module(module), function)(text)


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise LoadError(f"{path}: cannot read ({err.strerror or err})") from None


def load_file(path: Path, root: Path | None = None) -> Document:
    return load_bytes(read_file(path), path, doc_id_for(path, root))


def discover(paths: Iterable[Path]) -> Iterator[tuple[Path, Path | None]]:
    """Expand folders into their supported files (sorted), keeping the folder as root."""
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.suffix.lower() in SUFFIXES:
                    yield child, path
        else:
            yield path, None
