"""Read reStructuredText (``.rst``, Sphinx's ``.rst.txt``) by its structure, with docutils.

docutils parses the file; Sphinx's directives and roles, which docutils does
not know, are read the way Sphinx renders them, without Sphinx:

* API descriptions (``.. function:: run(args, ...)``, ``.. method::``,
  ``.. class::`` ...) put the object's qualified name (``subprocess.run``)
  into the section of the prose they hold;
* ``versionadded``, ``versionchanged``, ``deprecated`` and ``availability``
  end the section with Sphinx's words for them ("Changed in version") and
  read "3.7: <what changed>", the version cited where the file has it;
* ``seealso``, ``impl-detail`` and the admonitions are prose under a label;
* code (``code-block``, ``doctest``, ``testcode``, ``productionlist``,
  literal blocks) is code, never prose;
* ``module`` and ``currentmodule`` name the module; ``index``,
  ``audit-event``, ``toctree``, authors, ``highlight`` and the like show
  nothing and are dropped;
* any other directive's content is read as body text, its arguments dropped;
* a role reads as its text (``:func:`~json.dump``` as ``dump``, ``:ref:`text
  <label>``` as ``text``), as Sphinx shows it, without the parentheses it adds.

docutils looks directives and roles up through two module functions; while
this module parses (one parse at a time, under a lock) they answer from the
tables here first, as Sphinx does with its own.  Nothing reads other files or
the network: ``include`` and ``literalinclude`` are dropped, and file
insertion and ``raw`` are off.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from index.document import LoadError, decode
from index.outline import RST_BREAKS, Block, Locator, Outline, align, label
from index.segment import outline_sentences

#: Sphinx's API description directives (Python, C and generic domains).
_PY_OBJECTS = {"function", "class", "method", "classmethod", "staticmethod", "attribute", "data", "exception",
               "decorator", "decoratormethod", "abstractmethod", "coroutinefunction", "coroutinemethod",
               "property", "type", "awaitablefunction", "awaitablemethod"}
_OBJECTS = _PY_OBJECTS | {"describe", "object", "cmdoption", "option", "envvar", "opcode", "pdbcommand",
                          "2to3fixer", "monitoring-event", "c:function", "c:macro", "c:type", "c:member",
                          "c:var", "c:struct", "c:union", "c:enum", "c:enumerator", "c:data", "cpp:function",
                          "cpp:class", "cpp:member", "cpp:type", "py:function", "py:class", "py:method",
                          "py:attribute", "py:data", "py:exception", "py:classmethod", "py:staticmethod",
                          "py:decorator", "py:property"}
_CLASSES = {"class", "exception", "py:class", "py:exception"}
_VERSIONS = {"versionadded": "New in version", "versionchanged": "Changed in version",
             "deprecated": "Deprecated since version", "deprecated-removed": "Deprecated since version",
             "availability": "Availability"}
_LABELLED = {"seealso": "See also", "impl-detail": "CPython implementation detail", "note": "Note",
             "warning": "Warning", "tip": "Tip", "important": "Important", "caution": "Caution",
             "attention": "Attention", "danger": "Danger", "error": "Error", "hint": "Hint"}
_CODE = {"code-block", "sourcecode", "code", "doctest", "testcode", "testoutput", "testsetup", "testcleanup",
         "productionlist", "highlight-block", "parsed-literal"}
_DROPPED = {"module", "currentmodule", "index", "audit-event", "toctree", "sectionauthor", "moduleauthor",
            "codeauthor", "highlight", "tabularcolumns", "include", "literalinclude", "raw", "role",
            "default-role", "default-domain", "contents", "sectnum", "meta", "title", "header", "footer",
            "image", "program", "pdbcommand-hidden", "opcode-hidden", "miscnews", "c:namespace",
            "cpp:namespace", "py:module", "py:currentmodule", "literalinclude", "date"}
#: Roles shown in code type, as Sphinx does.
_CODE_ROLES = {"func", "meth", "class", "attr", "exc", "mod", "data", "const", "obj", "option", "envvar",
               "file", "samp", "program", "command", "keyword", "token", "source", "macro", "type", "member",
               "var", "expr", "texpr", "opcode", "code", "makevar", "regexp", "mimetype", "kbd"}

_LOCK = threading.Lock()


def read_rst(data: bytes, path: Path) -> tuple[str, str, Outline]:
    """Return (the file's text exactly as stored, its first heading, its outline)."""
    text = decode(path, data)
    try:
        found = outline(text)
    except Exception as err:  # docutils raises its own errors for markup it cannot parse
        raise LoadError(f"{path}: not readable as reStructuredText ({type(err).__name__}: {err}), skipped") from None
    if not found.sentences:
        raise LoadError(f"{path}: no prose to cite (only headings, code or markup), skipped")
    title = next((b.text for b in found.blocks if b.kind == "heading"), "")
    return text, label(title), found


def outline(text: str) -> Outline:
    """The blocks and citable sentences of reStructuredText ``text``."""
    from docutils import frontend, utils
    from docutils.parsers.rst import Parser

    settings = frontend.get_default_settings(Parser)
    settings.report_level = 5
    settings.halt_level = 5
    settings.warning_stream = False
    settings.file_insertion_enabled = False
    settings.raw_enabled = False
    settings.line_length_limit = 10 ** 6
    document = utils.new_document("<groundqa>", settings)
    with _sphinx_lookups():
        Parser().parse(text, document)
    blocks = _Walker(text).walk(document)
    return Outline(tuple(blocks), outline_sentences(text, blocks))


# directives and roles ------------------------------------------------------------
def _directive_classes():
    """Built on first use, so importing this module never imports docutils."""
    from docutils import nodes
    from docutils.parsers.rst import Directive, directives
    from docutils.statemachine import StringList

    def _lines(text: str, line: int) -> StringList:
        """A directive's argument text as lines to parse, numbered from the
        directive's own (1-based) ``line``."""
        lines = text.split("\n")
        return StringList(lines, items=[("<groundqa>", line - 1 + i) for i in range(len(lines))])

    class AnyOptions(dict):
        """Every option is accepted as text (``:noindex:``, ``:synopsis:``)."""

        def __missing__(self, key):
            return directives.unchanged

        def __bool__(self):
            return True

    class Lenient(Directive):
        required_arguments = 0
        optional_arguments = 1
        final_argument_whitespace = True
        has_content = True
        option_spec = AnyOptions()

    class Body(Lenient):
        """Unknown directives: their content is read as body text."""

        def run(self):
            node = nodes.container()
            self.state.nested_parse(self.content, self.content_offset, node)
            return [node]

    class Dropped(Lenient):
        def run(self):
            return []

    class Module(Lenient):
        def run(self):
            name = (self.arguments[0].split() or [""])[0] if self.arguments else ""
            return [ModuleMark(module=name)]

    class Code(Lenient):
        def run(self):
            code = "\n".join(self.content)
            return [nodes.literal_block(code, code)] if code.strip() else []

    class Labelled(Lenient):
        def run(self):
            node = Admonition(title=_LABELLED.get(self.name, self.name))
            if self.arguments:
                self.state.nested_parse(_lines(self.arguments[0], self.lineno), 0, node)
            self.state.nested_parse(self.content, self.content_offset, node)
            return [node]

    class Version(Lenient):
        required_arguments = 1
        optional_arguments = 1

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self.name == "availability":  # its argument is all text: "Unix, not Emscripten."
                self.arguments = [" ".join(self.arguments)]

        def run(self):
            node = VersionNote(title=_VERSIONS[self.name], version=self.arguments[0],
                               directive=self.block_text.split("\n", 1)[0], line=self.lineno)
            if len(self.arguments) > 1:
                self.state.nested_parse(_lines(self.arguments[1], self.lineno), 0, node)
            self.state.nested_parse(self.content, self.content_offset, node)
            return [node]

    class Description(Lenient):
        required_arguments = 1
        optional_arguments = 0

        def run(self):
            signatures = [s.strip() for s in self.arguments[0].replace("\\\n", " ").split("\n") if s.strip()]
            node = Described(objtype=self.name, signature=" ".join(signatures[0].split()) if signatures else "")
            self.state.nested_parse(self.content, self.content_offset, node)
            return [node]

    class ModuleMark(nodes.Element):
        pass

    class Admonition(nodes.Element):
        pass

    class VersionNote(nodes.Element):
        pass

    class Described(nodes.Element):
        pass

    table = {name: Description for name in _OBJECTS}
    table |= {name: Version for name in _VERSIONS}
    table |= {name: Labelled for name in _LABELLED}
    table |= {name: Code for name in _CODE}
    table |= {name: Dropped for name in _DROPPED}
    table |= {"module": Module, "currentmodule": Module, "py:module": Module, "py:currentmodule": Module}
    return table, Body, {"module": ModuleMark, "admonition": Admonition, "version": VersionNote,
                         "described": Described}


_TABLES: tuple | None = None


def _tables():
    global _TABLES
    if _TABLES is None:
        _TABLES = _directive_classes()
    return _TABLES


def _role_text(name: str, text: str) -> str:
    """What Sphinx shows for a cross-reference or text role."""
    if text.endswith(">") and " <" in text:
        return text[: text.rindex(" <")].strip()
    if name == "abbr" and text.endswith(")") and " (" in text:
        return text[: text.index(" (")]
    text = text.lstrip("!")
    if text.startswith("~"):
        return text[1:].rsplit(".", 1)[-1]
    return text


def _sphinx_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    from docutils import nodes, utils

    shown = _role_text(name, utils.unescape(text))
    kind = nodes.literal if name.rsplit(":", 1)[-1] in _CODE_ROLES else nodes.inline
    return [kind(rawtext, shown)], []


@contextmanager
def _sphinx_lookups():
    """docutils' directive and role lookups answer Sphinx's names from the
    tables here (anything unknown is read leniently) while one parse runs."""
    from docutils.parsers.rst import directives, roles

    table, body, _ = _tables()
    find_directive, find_role = directives.directive, roles.role

    def directive(name, language, document):
        known = table.get(name.lower())
        if known is not None:
            return known, []
        found, messages = find_directive(name, language, document)
        return (found, messages) if found is not None else (body, [])

    def role(name, language, lineno, reporter):
        if name and (name.rsplit(":", 1)[-1] in _CODE_ROLES or ":" in name):
            return _sphinx_role, []
        found, messages = find_role(name, language, lineno, reporter)
        return (found, messages) if found is not None else (_sphinx_role, [])

    with _LOCK:
        directives.directive, roles.role = directive, role
        try:
            yield
        finally:
            directives.directive, roles.role = find_directive, find_role


# the doctree as blocks -------------------------------------------------------
def _field_name(name: str) -> str:
    """``param int indent`` -> ``indent``; ``returns`` stays; ``rtype`` reads ``return type``."""
    words = name.split()
    if not words:
        return ""
    head = words[0].lower()
    if len(words) > 1 and head in {"param", "parameter", "arg", "argument", "key", "keyword", "kwarg", "kwparam",
                                   "var", "ivar", "cvar", "type", "vartype"}:
        return words[-1]
    if len(words) > 1 and head in {"raises", "raise", "except", "exception"}:
        return f"raises {words[-1]}"
    return {"rtype": "return type", "return": "returns"}.get(head, " ".join(words))


def _qualify(objtype: str, signature: str, module: str, classes: list[str]) -> tuple[str, str]:
    """(the name Sphinx documents, the same with its module) for a description."""
    name = signature.split("(", 1)[0].strip()
    if " " in name and objtype.split(":")[-1] in _PY_OBJECTS:
        name = name.split()[-1]  # "class Foo", "async def" prefixes and the like
    if objtype.split(":")[-1] not in _PY_OBJECTS:
        return name, name
    if classes:
        inner = classes[-1]
        if not (name == inner or name.startswith(inner + ".")):
            name = f"{inner}.{name}"
    full = f"{module}.{name}" if module and not name.startswith(module + ".") else name
    return name, full


class _Walker:
    def __init__(self, text: str):
        self.locator = Locator(text, RST_BREAKS, tab_width=8, spaces="\v\f")
        self.blocks: list[Block] = []
        self.module = ""
        self.classes: list[str] = []
        self.groups = 0

    def walk(self, document) -> list[Block]:
        self._children(document, (), (), "text", 0)
        return self.blocks

    def _group(self) -> int:
        self.groups += 1
        return self.groups

    def _children(self, node, headings, tail, kind, depth, group=-1):
        for child in node.children:
            self._node(child, headings, tail, kind, depth, group)

    def _node(self, node, headings, tail, kind, depth, group):
        from docutils import nodes

        _, _, marks = _tables()
        section = headings + tail
        if isinstance(node, (nodes.system_message, nodes.comment, nodes.target, nodes.substitution_definition,
                             nodes.raw, nodes.pending, nodes.image, nodes.Text)):
            return
        if isinstance(node, nodes.section):
            title = next((c for c in node.children if isinstance(c, nodes.title)), None)
            name = headings
            if title is not None:
                block = self._inline(title, "heading", headings, len(headings) + 1)
                name = headings + (label(block.text),)
            for child in node.children:
                if child is not title:
                    self._node(child, name, (), "text", 0, -1)
        elif isinstance(node, nodes.title):
            self._inline(node, "label", section, depth)
        elif isinstance(node, (nodes.paragraph, nodes.line)):
            self._inline(node, kind, section, depth, group)
        elif isinstance(node, nodes.rubric):
            self._inline(node, "label", section, depth)
        elif isinstance(node, (nodes.literal_block, nodes.doctest_block, nodes.math_block)):
            self._code(node, section, depth)
        elif isinstance(node, (nodes.bullet_list, nodes.enumerated_list)):
            mine = self._group()
            for item in node.children:
                self._children(item, headings, tail, "item", depth + 1, mine)
        elif isinstance(node, nodes.field_list):
            for field in node.children:
                name = next((c for c in field.children if isinstance(c, nodes.field_name)), None)
                body = next((c for c in field.children if isinstance(c, nodes.field_body)), None)
                shown = label(name.astext()) if name is not None else ""
                self.blocks.append(Block("label", section, shown, (-1,) * len(shown), depth))
                if body is not None:
                    self._children(body, headings, tail + (_field_name(shown),), "field", depth)
        elif isinstance(node, nodes.definition_list):
            for item in node.children:
                terms = [c for c in item.children if isinstance(c, (nodes.term, nodes.classifier))]
                shown = label(" : ".join(t.astext() for t in terms))
                for term in terms[:1]:
                    self._inline(term, "label", section, depth)
                for child in item.children:
                    if isinstance(child, nodes.definition):
                        self._children(child, headings, tail + (shown,), "field", depth)
        elif isinstance(node, nodes.option_list):
            for item in node.children:
                group_node = next((c for c in item.children if isinstance(c, nodes.option_group)), None)
                shown = label(group_node.astext()) if group_node is not None else ""
                self.blocks.append(Block("label", section, shown, (-1,) * len(shown), depth))
                for child in item.children:
                    if isinstance(child, nodes.description):
                        self._children(child, headings, tail + (shown,), "field", depth)
        elif isinstance(node, nodes.table):
            self._table(node, section, depth)
        elif isinstance(node, (nodes.Admonition, marks["admonition"])):
            own = next((c for c in node.children if isinstance(c, nodes.title)), None)
            title = label(own.astext() if own is not None else node.get("title") or type(node).__name__.capitalize())
            self.blocks.append(Block("label", section, title, (-1,) * len(title), depth))
            for child in node.children:
                if child is not own:
                    self._node(child, headings, tail, kind, depth, group)
        elif isinstance(node, marks["module"]):
            self.module = "" if node["module"] == "None" else node["module"]
        elif isinstance(node, marks["version"]):
            self._version(node, headings, tail, kind, depth, group)
        elif isinstance(node, marks["described"]):
            self._described(node, headings, depth)
        elif isinstance(node, nodes.Element):
            self._children(node, headings, tail, kind, depth, group)

    def _described(self, node, headings, depth):
        name, full = _qualify(node["objtype"], node["signature"], self.module, self.classes)
        self.blocks.append(Block("label", headings, node["signature"], (-1,) * len(node["signature"]), depth))
        is_class = node["objtype"] in _CLASSES
        if is_class:
            self.classes.append(name)
        self._children(node, headings, (full,), "text", depth)
        if is_class:
            self.classes.pop()

    def _version(self, node, headings, tail, kind, depth, group):
        """Sphinx prints "Changed in version 3.7: <its first paragraph>".
        Those first words are not in the file, and an answer may only say
        what its citation holds, so they end the section instead, and the
        unit reads "3.7: <its first paragraph>", the version cited where the
        directive names it; a directive without text is the unit "3.5"."""
        from docutils import nodes

        directive, version = node["directive"], node["version"]
        at = directive.find(version, directive.find("::") + 2)
        # Only as far as the version: text after it on the line is the unit's own.
        where = self.locator.locate(directive[: at + len(version)] if at >= 0 else directive, node["line"] - 1)
        version_offsets = tuple(where[at + i] if at >= 0 else -1 for i in range(len(version)))
        kind = "text" if kind == "row" else kind
        tail = tail + (node["title"],)
        section = headings + tail
        self.blocks.append(Block("label", section, node["title"], (-1,) * len(node["title"]), depth))
        first = next((c for c in node.children if isinstance(c, nodes.paragraph)), None)
        if first is None:
            self.blocks.append(Block(kind, section, version, version_offsets, depth, (), group))
        for child in node.children:
            if child is not first:
                self._node(child, headings, tail, kind, depth, group)
                continue
            block = self._inline(child, kind, section, depth, group, emit=False)
            head = f"{version}: "
            styles = tuple((a + len(head), b + len(head), style) for a, b, style in block.styles)
            self.blocks.append(Block(kind, section, head + block.text, version_offsets + (-1, -1) + block.offsets,
                                     depth, styles, group))

    def _code(self, node, section, depth):
        raw = node.rawsource or node.astext()
        text = node.astext()
        where = self.locator.locate(raw, _hint(node))
        if text == raw:
            offsets = tuple(where)
        else:
            ids, _ = align(text, raw)
            offsets = tuple(where[i] if i >= 0 else -1 for i in ids)
        self.blocks.append(Block("code", section, text, offsets, depth))

    def _table(self, node, section, depth):
        from docutils import nodes

        mine = self._group()
        for part in node.findall(lambda n: isinstance(n, (nodes.thead, nodes.tbody))):
            kind = "head" if isinstance(part, nodes.thead) else "row"
            for row in part.children:
                if not isinstance(row, nodes.row):
                    continue
                text, offsets, styles = "", [], []
                # A cell's lines may end below the next cell's first line:
                # each cell is looked for from where the row begins.
                row_start = self.locator.line
                for entry in row.children:
                    self.locator.line = row_start
                    cell = [self._inline(p, kind, section, depth, emit=False) for p in _cell_texts(entry)]
                    cell_text = " ".join(b.text for b in cell)
                    if text:
                        text += " | "
                        offsets += [-1, -1, -1]
                    for n, b in enumerate(cell):
                        if n:
                            offsets.append(-1)
                        styles += [(a + len(text) + sum(len(c.text) + 1 for c in cell[:n]),
                                    e + len(text) + sum(len(c.text) + 1 for c in cell[:n]), s) for a, e, s in b.styles]
                        offsets += b.offsets
                    text += cell_text
                located = [o for o in offsets if o >= 0]
                self.locator.line = max(row_start, self.locator.line_of(min(located))) if located else row_start
                if text.strip():
                    self.blocks.append(Block(kind, section, text, tuple(offsets), depth, tuple(styles), mine))

    def _inline(self, node, kind, section, depth, group=-1, emit=True) -> Block:
        """A text element's readable text, each character matched to the
        file through the element's ``rawsource``."""
        from docutils import nodes

        raw = node.rawsource or ""
        text_parts: list[str] = []
        ids: list[int] = []
        styles: list[tuple[int, int, str]] = []
        pos = 0
        for child in node.children:
            shown = child.astext()
            if not shown or isinstance(child, (nodes.target, nodes.system_message)):
                continue
            start = len(ids)
            if isinstance(child, nodes.Text):
                found, pos = align(shown, raw, pos)
            else:
                source = getattr(child, "rawsource", "") or ""
                at = raw.find(source, pos) if source else -1
                if at < 0:
                    found, pos = align(shown, raw, pos)
                else:
                    inner = source.find(shown, source.find("`") + 1)
                    if inner >= 0:
                        found = list(range(at + inner, at + inner + len(shown)))
                    else:
                        found, _ = align(shown, raw, at, at + len(source), lookahead=len(source))
                    pos = at + len(source)
                style = _style(child)
                if style:
                    styles.append((start, start + len(shown), style))
            text_parts.append(shown)
            ids += found
        where = self.locator.locate(raw, _hint(node)) if raw else []
        offsets = tuple(where[i] if 0 <= i < len(where) else -1 for i in ids)
        block = Block(kind, section, "".join(text_parts), offsets, depth, tuple(styles), group)
        if emit:
            self.blocks.append(block)
        return block


def _cell_texts(node) -> list:
    """The paragraphs and lines of a table cell, in order, leaving out
    docutils' own messages."""
    from docutils import nodes

    out = []
    for child in node.children:
        if isinstance(child, (nodes.paragraph, nodes.line)):
            out.append(child)
        elif isinstance(child, nodes.Element) and not isinstance(child, nodes.system_message):
            out += _cell_texts(child)
    return out


def _hint(node) -> int | None:
    """The 0-based line docutils says ``node`` starts on (a section title's
    line is its underline's)."""
    from docutils import nodes

    if not node.line:
        return None
    return node.line - (2 if isinstance(node, nodes.title) else 1)


def _style(node) -> str:
    from docutils import nodes

    if isinstance(node, (nodes.literal, nodes.title_reference)):
        return "code"
    if isinstance(node, nodes.emphasis):
        return "em"
    if isinstance(node, nodes.strong):
        return "strong"
    if isinstance(node, nodes.reference):
        return "link"
    return ""
