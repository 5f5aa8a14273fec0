"""Read Markdown (``.md``, ``.markdown``) by its structure, with markdown-it-py.

CommonMark with GitHub's tables and strikethrough: headings give the
section path, paragraphs are prose (list items' paragraphs as items), table
rows are units, fenced and indented code is code, HTML blocks and images
show no prose and are dropped.  Inline markup is rendered as its text
(``code``, *emphasis*, a link's text without its address).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from index.document import LoadError, decode
from index.outline import MARKDOWN_BREAKS, Block, Locator, Outline, align, label
from index.segment import outline_sentences

_STYLES = {"em_open": "em", "strong_open": "strong", "s_open": "em", "link_open": "link"}
_BREAK = re.compile(r"<br\s*/?>", re.I)
_SUP = re.compile(r"<sup>", re.I)
_HTML_TITLE = re.compile(r"\s*<h1[\s>]", re.I)


def read_markdown(data: bytes, path: Path) -> tuple[str, str, Outline]:
    """Return (the file's text exactly as stored, its title, its outline).
    The title is the first top-level heading, or an HTML ``<h1>`` the file
    opens with (READMEs often centre theirs that way), or the first heading."""
    text = decode(path, data)
    try:
        found = outline(text)
    except Exception as err:  # markdown-it-py accepts any text; this is a bug of ours, reported by file
        raise LoadError(f"{path}: not readable as Markdown ({type(err).__name__}: {err}), skipped") from None
    if not found.sentences:
        raise LoadError(f"{path}: no prose to cite (only headings, code or markup), skipped")
    headings = [b for b in found.blocks if b.kind == "heading"]
    first = min(headings, key=lambda b: b.level) if headings else None
    if first is None or first.level > 1:
        html = next((t.content for t in _parser().parse(text)[:3] if t.type == "html_block"
                     and _HTML_TITLE.match(t.content)), None)
        if html:
            from index.htmltext import html_to_text

            return text, label(html_to_text(html)[0]), found
    return text, label(first.text) if first else "", found


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def outline(text: str) -> Outline:
    """The blocks and citable sentences of Markdown ``text``."""
    tokens = _parser().parse(text)
    locator = Locator(text, MARKDOWN_BREAKS, tab_width=4)
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []
    lists: list[int] = []
    groups = 0
    table: list | None = None
    row: list[Block] = []
    part = "row"
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        section = tuple(name for _, name in headings)
        if kind == "heading_open":
            level = int(token.tag[1])
            block = _inline(tokens[i + 1], locator, "heading", section, level)
            while headings and headings[-1][0] >= level:
                headings.pop()
            blocks.append(Block("heading", tuple(name for _, name in headings), block.text, block.offsets, level,
                                block.styles))
            headings.append((level, label(block.text)))
            i += 3
            continue
        if kind in ("bullet_list_open", "ordered_list_open"):
            groups += 1
            lists.append(groups)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "inline" and table is None:
            blocks.append(_inline(token, locator, "item" if lists else "text", section, len(lists),
                                  lists[-1] if lists else -1))
        elif kind in ("fence", "code_block"):
            hint = token.map[0] + (1 if kind == "fence" else 0) if token.map else None
            code = token.content.rstrip("\n")
            blocks.append(Block("code", section, code, tuple(locator.locate(code, hint)), len(lists)))
        elif kind == "table_open":
            groups += 1
            table = [groups]
        elif kind == "table_close":
            table = None
        elif kind in ("thead_open", "tbody_open"):
            part = "head" if kind == "thead_open" else "row"
        elif kind == "tr_open":
            row = []
        elif kind == "inline" and table is not None:
            row.append(_inline(token, locator, part, section, 0))
        elif kind == "tr_close":
            blocks.append(_row(row, part, section, table[0]))
        i += 1
    return Outline(tuple(blocks), outline_sentences(text, blocks))


def _row(cells: list[Block], kind: str, section: tuple[str, ...], group: int) -> Block:
    text, offsets, styles = "", [], []
    for cell in cells:
        if text:
            text += " | "
            offsets += [-1, -1, -1]
        styles += [(a + len(text), b + len(text), s) for a, b, s in cell.styles]
        text += cell.text
        offsets += cell.offsets
    return Block(kind, section, text, tuple(offsets), 0, tuple(styles), group)


def _skip_destination(raw: str, pos: int) -> int:
    """Past a link's or image's ``](address "title")``, ``][label]`` or ``]``."""
    if raw.startswith("](", pos):
        depth, k = 0, pos + 1
        while k < len(raw):
            if raw[k] == "\\":
                k += 2
                continue
            depth += raw[k] == "("
            depth -= raw[k] == ")"
            k += 1
            if depth == 0:
                return k
        return len(raw)
    if raw.startswith("][", pos):
        end = raw.find("]", pos + 2)
        return end + 1 if end >= 0 else pos + 1
    if raw.startswith(("]", ">"), pos):
        return pos + 1
    return pos


def _inline(token, locator: Locator, kind: str, section: tuple[str, ...], level: int, group: int = -1) -> Block:
    """An inline token's readable text, each character matched to its
    ``content`` (the block's source without indentation and markers) and
    through it to the file."""
    raw = token.content
    parts: list[str] = []
    ids: list[int] = []
    styles: list[tuple[int, int, str]] = []
    opened: list[tuple[int, str]] = []
    pos = 0
    for child in token.children or []:
        kind_ = child.type
        if kind_ == "text":
            found, pos = align(child.content, raw, pos)
            parts.append(child.content)
            ids += found
        elif kind_ == "code_inline":
            at = raw.find(child.content, pos)
            if at < 0:
                found, pos = align(child.content, raw, pos)
            else:
                found, pos = list(range(at, at + len(child.content))), at + len(child.content)
            while pos < len(raw) and raw[pos] == "`":  # the closing backticks
                pos += 1
            styles.append((len(ids), len(ids) + len(child.content), "code"))
            parts.append(child.content)
            ids += found
        elif kind_ in ("softbreak", "hardbreak"):
            found, pos = align("\n", raw, pos, lookahead=len(raw))
            parts.append("\n")
            ids += found
        elif kind_ in _STYLES:
            opened.append((len(ids), _STYLES[kind_], child.markup))
            if kind_ == "link_open" and child.markup != "autolink":
                bracket = raw.find("[", pos)
                pos = bracket + 1 if bracket >= 0 else pos
        elif kind_.endswith("_close") and opened:
            start, style, markup = opened.pop()
            if len(ids) > start:
                styles.append((start, len(ids), style))
            if kind_ == "link_close" and markup == "autolink":
                pos = pos + 1 if raw.startswith(">", pos) else pos
            elif kind_ == "link_close" and raw.find("]", pos) >= 0:
                pos = _skip_destination(raw, raw.find("]", pos))
        elif kind_ == "image":
            at = raw.find("![", pos)
            pos = _skip_destination(raw, raw.find("]", at) if at >= 0 else pos)
        elif kind_ == "html_inline":
            at = raw.find(child.content, pos)
            pos = at + len(child.content) if at >= 0 else pos
            if _BREAK.fullmatch(child.content) or _SUP.fullmatch(child.content):
                parts.append(" " if _BREAK.fullmatch(child.content) else "^")  # 2<sup>30</sup> reads 2^30
                ids.append(-1)
    hint = token.map[0] if token.map else None
    where = locator.locate(raw, hint)
    offsets = tuple(where[i] if i >= 0 else -1 for i in ids)
    return Block(kind, section, "".join(parts), offsets, level, tuple(styles), group)
