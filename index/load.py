"""Read files into :class:`Document` records whose text is what citations index into.

For ``.txt`` and ``.md`` that text is the file's UTF-8 content exactly as
stored (no newline translation, no stripping), so a citation's offsets can be
checked against the file itself.  HTML is reduced to its visible text, and that
reduced text is what gets stored and cited.  PDF and DOCX text is built by
``index.pdf`` and ``index.word``, which also return where each character sits
in the file (``Document.layout``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Iterator

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
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
    #: ``index.word.Layout`` for a DOCX, None for plain text.
    layout: Any = field(default=None, compare=False, repr=False)


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


class _VisibleText(HTMLParser):
    """Collects the text a browser would show, one paragraph per block element."""

    HIDDEN = {"script", "style", "head", "template", "noscript", "svg"}
    BLOCK = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
        "tr", "table", "section", "article", "header", "footer", "blockquote",
        "pre", "hr", "dd", "dt", "figcaption", "main", "nav", "aside",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        joined = "".join(self.parts)
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", joined)]
        return "\n\n".join(p for p in paragraphs if p) + "\n"


def html_to_text(html: str) -> tuple[str, str]:
    """Return (visible text, <title>)."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser.text(), parser.title.strip()


def _title_from_text(text: str, fallback: str) -> str:
    body = HEADER_RE.sub("", text, count=1)
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line and not set(line) <= set("=-*~^#`_"):
            return line if len(line) <= 80 else line[:80].rsplit(" ", 1)[0] + "…"
    return fallback


def decode(path: Path, data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise LoadError(f"{path}: {len(data)} bytes is over the {MAX_FILE_BYTES}-byte limit")
    if b"\x00" in data[:8192]:
        raise LoadError(f"{path}: looks binary (contains NUL bytes), skipped")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LoadError(f"{path}: not UTF-8 ({err.reason} at byte {err.start}), skipped") from None
    if not text.strip():
        raise LoadError(f"{path}: empty, skipped")
    return text


def load_bytes(data: bytes, path: Path, doc_id: str, source: str | None = None) -> Document:
    """Build a Document from raw bytes; ``path`` decides the format and names errors."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError(f"{path}: unsupported type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}")
    if suffix in (".pdf", ".docx"):
        return _load_binary(data, path, doc_id, source)
    text = decode(path, data)
    title = ""
    if suffix in (".html", ".htm"):
        text, title = html_to_text(text)
        if not text.strip():
            raise LoadError(f"{path}: no visible text, skipped")
    header = HEADER_RE.match(text)
    when = None
    if header:
        try:
            when = date.fromisoformat(header.group(1)).isoformat()
        except ValueError:
            when = None
    return _document(doc_id, path, source, text, title, date=when)


def _document(doc_id: str, path: Path, source: str | None, text: str, title: str, **extra) -> Document:
    return Document(doc_id=doc_id, title=title or _title_from_text(text, path.stem), source=source or str(path),
                    text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), **extra)


def _load_binary(data: bytes, path: Path, doc_id: str, source: str | None) -> Document:
    """PDF and DOCX: their readers build the text and its layout (imported here
    so plain-text loading never pays for pdfium or lxml)."""
    if len(data) > MAX_FILE_BYTES:
        raise LoadError(f"{path}: {len(data)} bytes is over the {MAX_FILE_BYTES}-byte limit")
    if path.suffix.lower() == ".pdf":
        from index.pdf import read_pdf as read
    else:
        from index.word import read_docx as read
    text, title, layout = read(data, path)
    return _document(doc_id, path, source, text, title, layout=layout)


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
