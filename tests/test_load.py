from pathlib import Path

import pytest

from index.load import LoadError, doc_id_for, load_file


def test_text_is_kept_byte_for_byte(tmp_path, seed_text):
    crlf = tmp_path / "notes.txt"
    crlf.write_bytes(b"  One.\r\nTwo.\r\n\r\n")
    assert load_file(crlf).text == "  One.\r\nTwo.\r\n\r\n"
    from tests.conftest import SEED

    doc = load_file(SEED)
    assert doc.text == seed_text and doc.date == "2018-09-24"
    assert doc.title.startswith("More than 46 kilograms")


def test_html_is_reduced_to_visible_text(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>T</title><style>p{}</style></head><body><h1>Head</h1>"
                    "<p>Visible &amp; kept.</p><script>var hidden=1;</script></body></html>")
    doc = load_file(page)
    assert doc.title == "T"
    assert "Visible & kept." in doc.text and "hidden" not in doc.text and "p{}" not in doc.text


@pytest.mark.parametrize("name,data,reason", [
    ("bin.txt", b"\x00\x01\x02abc", "binary"),
    ("latin.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
    ("empty.md", b"   \n", "empty"),
    ("pic.png", b"PNG", "unsupported"),
])
def test_bad_files_are_refused_with_a_message_naming_them(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason) as err:
        load_file(path)
    assert name in str(err.value)


def test_doc_ids_are_stable_slugs_relative_to_the_folder():
    assert doc_id_for(Path("/x/docs/library/os.rst.txt"), Path("/x/docs")) == "library-os"
    assert doc_id_for(Path("/x/docs/library/os.path.rst.txt"), Path("/x/docs")) == "library-os-path"
    assert doc_id_for(Path("/elsewhere/My Notes.md")) == "my-notes"
    assert doc_id_for(Path("/elsewhere/v1.2.notes.txt")) == "v1-2-notes"


def test_index_modules_import_one_way():
    """No cycle among index's modules (imports inside functions count too):
    load picks a reader, the readers share index.document and import no
    load of their own."""
    import ast

    folder = Path(__file__).resolve().parent.parent / "index"
    graph = {}
    for path in folder.glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
        graph[path.stem] = {n.split(".")[1] for n in names if n.startswith("index.")} - {path.stem}
    assert graph["load"] >= {"document"}
    for reader in ("htmltext", "pdf", "word"):
        assert "load" not in graph[reader], reader

    def visit(module, trail):
        assert module not in trail, " -> ".join([*trail, module])
        for other in graph.get(module, ()):
            visit(other, [*trail, module])

    for module in graph:
        visit(module, [])
