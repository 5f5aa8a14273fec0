"""Read an HTML page into its visible text (no scripts, styles or markup);
that reduced text is what gets stored and cited."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from index.document import LoadError, decode


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


def read_html(data: bytes, path: Path) -> tuple[str, str, None]:
    """Return (visible text, <title> or "", no layout)."""
    text, title = html_to_text(decode(path, data))
    if not text.strip():
        raise LoadError(f"{path}: no visible text, skipped")
    return text, title, None
