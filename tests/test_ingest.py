"""Adding, replacing and removing documents in a real Chroma store."""

import pytest


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_readding_is_a_noop_changing_replaces_and_removing_clears(empty_engine, tmp_path):
    doc = _write(tmp_path / "otters.txt", "Sea otters hold hands while sleeping. They use rocks as tools.\n")
    first = empty_engine.add([doc])
    assert first.added == ["otters"]
    before = empty_engine.store.revision()
    again = empty_engine.add([doc])
    assert again.unchanged == ["otters"] and not again.added
    assert empty_engine.store.revision() == before

    _write(doc, "Sea otters hold hands while sleeping.\n\nThey eat sea urchins. Kelp forests shelter them.\n")
    changed = empty_engine.add([doc])
    assert changed.replaced == ["otters"]
    (info,) = empty_engine.documents()
    assert info.sentences == 3
    assert len(empty_engine.store.sentences.get(where={"doc_id": "otters"})["ids"]) == 3
    assert "urchins" in empty_engine.answer("What do sea otters eat?").answer

    assert empty_engine.remove("otters")
    assert empty_engine.documents() == []
    assert empty_engine.store.chunks.count() == 0 and empty_engine.store.sentences.count() == 0
    assert empty_engine.answer("What do sea otters eat?").abstained


def test_duplicates_and_unreadable_files_are_skipped_but_the_batch_goes_on(empty_engine, tmp_path):
    a = _write(tmp_path / "a.txt", "Basalt forms from cooled lava.\n")
    b = _write(tmp_path / "b.txt", "Basalt forms from cooled lava.\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    good = _write(tmp_path / "c.md", "# Granite\n\nGranite cools slowly underground.\n")
    report = empty_engine.add([a, b, bad, good])
    assert sorted(report.added) == ["a", "c"]
    assert any("b.txt" in m and "same text" in m for m in report.skipped)
    assert any("bad.txt" in m for m in report.skipped)


def test_an_interrupted_document_is_repaired_on_the_next_ingest(empty_engine, tmp_path, monkeypatch):
    path = _write(tmp_path / "half.txt", "One sentence here. Another one there.\n")

    def crash(self, nodes, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(empty_engine.store.vector_store), "add", crash)
    with pytest.raises(KeyboardInterrupt):
        empty_engine.add([path])  # sentences written, chunks not, record incomplete
    monkeypatch.undo()
    assert empty_engine.documents() == []  # incomplete documents are invisible
    report = empty_engine.add([path])
    assert report.repaired == ["half"] and report.added == ["half"]
    assert [d.doc_id for d in empty_engine.documents()] == ["half"]
    assert empty_engine.store.sentences.count() == 2