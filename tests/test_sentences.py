"""The int8 copy of the sentence collection (index/sentences.py) against the
collection itself, on a real store."""

from __future__ import annotations

import numpy as np
import pytest

from index.sentences import ChromaSentences, SentenceVectors
from qa.settings import PROJECT_ROOT

DOCS = PROJECT_ROOT / "tests" / "data"
QUESTIONS = ["How do I install the package?", "What does the library detect?", "Who pays the tariffs?",
             "What is the licence?", "How are tables shown?"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from qa.engine import Engine
    from qa.settings import Settings

    engine = Engine(Settings.from_env(data_dir=tmp_path_factory.mktemp("sentences")))  # the seed article
    engine.add([DOCS / "charset-normalizer-README.md", DOCS / "README.md"])
    return engine


def test_the_copy_finds_what_the_collection_finds(engine):
    copy, chroma = engine.sentences(), ChromaSentences(engine.store)
    assert isinstance(copy, SentenceVectors) and len(copy) == engine.store.sentences.count()
    for question in QUESTIONS:
        query = engine.embedder.embed([question])[0]
        mine, theirs = copy.nearest(query, 10), chroma.nearest(query, 10)
        # Exact search over int8 rows against HNSW over float32: the same
        # best sentence, and nearly the same ten, with scores within 0.01.
        assert mine[0][:2] == theirs[0][:2]
        assert len({m[:2] for m in mine} & {t[:2] for t in theirs}) >= 8
        score = {t[:2]: t[2] for t in theirs}
        assert all(abs(m[2] - score[m[:2]]) < 0.01 for m in mine if m[:2] in score)
        assert [m[2] for m in mine] == sorted((m[2] for m in mine), reverse=True)


def test_entries_give_the_vectors_and_places_chroma_holds(engine):
    copy, chroma = engine.sentences(), ChromaSentences(engine.store)
    keys = [f"{d.doc_id}@{i}" for d in engine.documents() for i in (0, 3, d.sentences - 1)]
    mine, theirs = copy.entries(keys), chroma.entries(keys)
    assert mine.keys() == theirs.keys() == set(keys)
    for key in keys:
        (a, place_a), (b, place_b) = mine[key], theirs[key]
        assert place_a == place_b
        assert float(a @ b) / float(np.linalg.norm(a) * np.linalg.norm(b)) > 0.999
    assert any(place.section for _, place in mine.values())  # the Markdown files' headings came through
    assert copy.entries(["no-such-doc@0", f"{keys[0].rsplit('@', 1)[0]}@999999"]) == {}


def test_a_search_narrowed_to_documents_stays_in_them(engine):
    copy = engine.sentences()
    query = engine.embedder.embed(["What does it detect?"])[0]
    only = frozenset({engine.documents()[0].doc_id})
    found = copy.nearest(query, 10, only)
    assert found and {doc_id for doc_id, _, _ in found} == set(only)
    assert copy.nearest(query, 10, frozenset({"no-such-doc"})) == []


def _copies(engine) -> list:
    return sorted((engine.settings.data_dir / "sentences").glob(f"{engine.settings.collection}-*"))


def test_the_copy_follows_the_store_and_replaces_its_older_revision(engine, tmp_path):
    first = engine.sentences()
    before = _copies(engine)
    (tmp_path / "extra.txt").write_text("Chroma keeps a vector per sentence. The copy is rebuilt when the store changes.")
    report = engine.add([tmp_path / "extra.txt"])
    second = engine.sentences()
    assert second is not first and len(second) == len(first) + 2
    after = _copies(engine)
    assert len(before) == len(after) == 1 and before != after  # the old revision's copy is gone
    engine.remove(report.added[0])
    assert len(engine.sentences()) == len(first)


def test_a_copy_is_built_from_the_shards_ingest_wrote_or_else_from_chroma(engine, tmp_path, monkeypatch):
    from index.sentences import shard_folder

    shards = shard_folder(engine.settings.data_dir / "sentences", engine.settings.collection)
    written = sorted(p.name for p in shards.glob("*.npz"))
    assert len(written) == len(engine.documents())  # one per document, and the removed one's is gone
    query = engine.embedder.embed(["What does the library detect?"])[0]
    keys = [f"{d.doc_id}@1" for d in engine.documents()]
    expected = engine.sentences().nearest(query, 10), engine.sentences().entries(keys)

    # From the shards alone: Chroma's sentence collection is not read.
    fetched = []
    monkeypatch.setattr(SentenceVectors, "_fetch", classmethod(lambda cls, *a: fetched.append(a)))
    rebuilt = SentenceVectors.build(engine.store, tmp_path / "from-shards", shards)
    assert fetched == [] and rebuilt.nearest(query, 10) == expected[0]
    monkeypatch.undo()

    # A store made before shards: each document is read from Chroma once.
    for shard in shards.glob("*.npz"):
        shard.unlink()
    again = SentenceVectors.build(engine.store, tmp_path / "from-chroma", shards)
    assert sorted(p.name for p in shards.glob("*.npz")) == written
    assert again.nearest(query, 10) == expected[0]
    assert {k: (v.tolist(), p) for k, (v, p) in again.entries(keys).items()} == {
        k: (v.tolist(), p) for k, (v, p) in expected[1].items()}
