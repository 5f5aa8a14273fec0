"""The sentence vectors a question is answered from: nearest sentences and
the candidates' vectors and places.

A local Chroma store loads a collection's whole HNSW index into the process
on its first read.  For the sentence collection of the 494-document Python
docs that is 80,878 float32 vectors and their graph: 169 MB of the 576 MB a
serving process held after its first answer, and 0.3 s of a cold ``qa ask``.
:class:`SentenceVectors` answers the same two questions from a compact copy
beside the store, mapped into memory: the vectors as int8 with one scale per
row (31 MB for those 80,878), searched exactly (15 ms a question on 2 cores;
HNSW's approximate walk lost best sentences, see ``index.store.EF_SEARCH``),
and each sentence's place as one line of JSON, read by offset.  Like the
lexical index, the copy is derived from the store, saved per store revision
and rebuilt when the revision changes, so Chroma stays the one record.

The copy is put together from one small file per document (a shard), which
the indexer writes beside the store as it writes the document to Chroma, so
a rebuild reads no vectors back from Chroma: read back, the 494 documents'
80,878 vectors took 9 s and 1.1 GB.  A document without its shard (a store
made before shards, a process killed between the two writes) is read from
Chroma once and its shard written then.

With a Chroma server the vectors live in the server's process, not ours:
:class:`ChromaSentences` asks the collection, as before.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
from pathlib import Path

import numpy as np

from index.store import Place

#: Rows scored at a time while searching.
BLOCK = 2048


def _split(key: str) -> tuple[str, int]:
    doc_id, _, index = key.rpartition("@")
    return doc_id, int(index)


class ChromaSentences:
    """The store's sentence collection, searched where Chroma keeps it."""

    def __init__(self, store):
        self.collection = store.sentences

    def nearest(self, query: np.ndarray, n: int, documents: frozenset[str] | None = None) -> list[tuple[str, int, float]]:
        """The ``n`` sentences closest to ``query``: (doc_id, index, cosine), best first."""
        where = {"doc_id": {"$in": sorted(documents)}} if documents else None
        got = self.collection.query(query_embeddings=[np.asarray(query, dtype=np.float32)], n_results=n, where=where,
                                    include=["metadatas", "distances"])
        return [(m["doc_id"], int(m["index"]), 1.0 - float(d)) for m, d in zip(got["metadatas"][0], got["distances"][0])]

    def entries(self, keys: list[str]) -> dict[str, tuple[np.ndarray, Place]]:
        """Each ``doc_id@index`` sentence's vector and place, in one read."""
        if not keys:
            return {}
        got = self.collection.get(ids=keys, include=["embeddings", "metadatas"])
        return {i: (np.asarray(e, dtype=np.float32), Place.from_metadata(m))
                for i, e, m in zip(got["ids"], got["embeddings"], got["metadatas"])}


class SentenceVectors:
    """The int8 copy of a local store's sentence collection (see the module
    docstring).  Rows are sorted by document, then sentence index."""

    FILES = ("vectors.npy", "scales.npy", "indexes.npy", "offsets.npy", "places.jsonl", "docs.json")

    def __init__(self, path: Path):
        self.vectors = np.load(path / "vectors.npy", mmap_mode="r")
        self.scales = np.load(path / "scales.npy", mmap_mode="r")
        self.indexes = np.load(path / "indexes.npy", mmap_mode="r")
        self.offsets = np.load(path / "offsets.npy", mmap_mode="r")
        docs = json.loads((path / "docs.json").read_text())
        self.doc_ids: list[str] = docs["ids"]
        self.bounds: list[int] = docs["bounds"]  # rows of document k: bounds[k] to bounds[k + 1]
        self.number = {d: k for k, d in enumerate(self.doc_ids)}
        #: Each row's document number, from the bounds.
        self.owners = np.repeat(np.arange(len(self.doc_ids), dtype=np.int32), np.diff(self.bounds))
        with open(path / "places.jsonl", "rb") as f:
            self.places = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if os.fstat(f.fileno()).st_size else b""

    def __len__(self) -> int:
        return len(self.vectors)

    # reading -----------------------------------------------------------------
    def nearest(self, query: np.ndarray, n: int, documents: frozenset[str] | None = None) -> list[tuple[str, int, float]]:
        """The ``n`` sentences closest to ``query`` by cosine, exactly:
        (doc_id, index, cosine), best first."""
        if not len(self):
            return []
        query = np.asarray(query, dtype=np.float32)
        scores = np.empty(len(self), dtype=np.float32)
        for lo in range(0, len(self), BLOCK):
            # einsum casts the int8 rows as it goes, in this thread: a BLAS
            # product of float32 copies ran its own threads against
            # onnxruntime's and took 27 ms a question instead of 15.
            np.einsum("ij,j->i", self.vectors[lo : lo + BLOCK], query, out=scores[lo : lo + BLOCK],
                      dtype=np.float32, casting="unsafe")
        scores *= self.scales
        if documents:
            allowed = np.zeros(len(self.doc_ids), dtype=bool)
            allowed[[self.number[d] for d in documents if d in self.number]] = True
            scores[~allowed[self.owners]] = -np.inf
        n = min(n, int(np.isfinite(scores).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.doc_ids[self.owners[r]], int(self.indexes[r]), float(scores[r])) for r in top]

    def row(self, doc_id: str, index: int) -> int | None:
        k = self.number.get(doc_id)
        if k is None:
            return None
        lo, hi = self.bounds[k], self.bounds[k + 1]
        r = lo + int(np.searchsorted(self.indexes[lo:hi], index))
        return r if r < hi and self.indexes[r] == index else None

    def entries(self, keys: list[str]) -> dict[str, tuple[np.ndarray, Place]]:
        """Each ``doc_id@index`` sentence's vector (dequantized) and place."""
        out = {}
        for key in keys:
            r = self.row(*_split(key))
            if r is not None:
                meta = json.loads(self.places[self.offsets[r] : self.offsets[r + 1]])
                out[key] = (self.vectors[r].astype(np.float32) * self.scales[r], Place.from_metadata(meta))
        return out

    # building ----------------------------------------------------------------
    @staticmethod
    def save_document(folder: Path, doc_id: str, sha256: str, indexes, vectors: np.ndarray, places) -> None:
        """Write one document's shard: its sentences' ``indexes``, float32
        ``vectors`` and :class:`~index.store.Place` records, in that order."""
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(indexes), -1)
        scales = np.abs(matrix).max(axis=1) / 127.0 if len(matrix) else np.zeros(0, dtype=np.float32)
        scales[scales == 0] = 1.0
        lines = [json.dumps(p.metadata(), ensure_ascii=False, separators=(",", ":")).encode() for p in places]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _shard_name(doc_id, sha256)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
        np.savez(tmp, vectors=np.clip(np.rint(matrix / scales[:, None]), -127, 127).astype(np.int8),
                 scales=scales.astype(np.float32), indexes=np.asarray(indexes, dtype=np.int32),
                 lengths=np.array([len(line) for line in lines], dtype=np.int64),
                 places=np.frombuffer(b"".join(lines), dtype=np.uint8))
        os.replace(tmp, path)

    @classmethod
    def _fetch(cls, store, folder: Path, doc) -> None:
        """A document's shard from its sentences in Chroma."""
        got = store.sentences.get(where={"doc_id": doc.doc_id}, include=["embeddings", "metadatas"])
        rows = sorted(zip((int(m["index"]) for m in got["metadatas"]), got["embeddings"], got["metadatas"]),
                      key=lambda row: row[0])
        cls.save_document(folder, doc.doc_id, doc.sha256, [i for i, _, _ in rows],
                          np.array([v for _, v, _ in rows], dtype=np.float32), [Place.from_metadata(m) for _, _, m in rows])

    @classmethod
    def build(cls, store, path: Path, shards: Path) -> "SentenceVectors":
        """Put the copy for the store's complete documents together from their
        shards in ``shards`` (fetching any missing from Chroma) and write it to
        ``path``, a fresh folder renamed into place, so no reader sees half."""
        docs = store.list()
        parts = []
        for doc in docs:
            name = shards / _shard_name(doc.doc_id, doc.sha256)
            if not name.is_file():
                cls._fetch(store, shards, doc)
            with np.load(name) as shard:
                parts.append({key: shard[key] for key in shard.files})
        wanted = {_shard_name(d.doc_id, d.sha256) for d in docs}
        for old in shards.glob("*.npz") if shards.is_dir() else ():
            if old.name not in wanted:
                old.unlink(missing_ok=True)
        count = lambda key, dtype: (np.concatenate([p[key] for p in parts]) if parts  # noqa: E731
                                    else np.zeros(0, dtype=dtype))
        vectors = np.concatenate([p["vectors"] for p in parts]) if parts else np.zeros((0, 1), dtype=np.int8)
        lengths = count("lengths", np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(lengths)
        bounds = np.zeros(len(parts) + 1, dtype=np.int64)
        bounds[1:] = np.cumsum([len(p["indexes"]) for p in parts])

        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "vectors.npy", vectors)
        np.save(tmp / "scales.npy", count("scales", np.float32))
        np.save(tmp / "indexes.npy", count("indexes", np.int32))
        np.save(tmp / "offsets.npy", offsets)
        (tmp / "places.jsonl").write_bytes(count("places", np.uint8).tobytes())
        (tmp / "docs.json").write_text(json.dumps({"ids": [d.doc_id for d in docs], "bounds": bounds.tolist()}))
        try:
            tmp.rename(path)
        except OSError:  # another process saved the same revision first
            shutil.rmtree(tmp, ignore_errors=True)
        return cls(path)

    @classmethod
    def open(cls, store, cache_dir: Path) -> "SentenceVectors":
        """The copy for the store's current revision: from ``cache_dir`` when
        saved there, else built from the shards in :func:`shard_folder` and
        saved (older revisions are deleted)."""
        import hashlib

        key = hashlib.sha1(f"{store.location}|{store.name}|{store.revision()}".encode()).hexdigest()[:16]
        path = cache_dir / f"{store.name}-{key}"
        if all((path / name).is_file() for name in cls.FILES):
            try:
                return cls(path)
            except (OSError, ValueError, KeyError):
                shutil.rmtree(path, ignore_errors=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob(f"{store.name}-*"):
            if old != path:
                shutil.rmtree(old, ignore_errors=True)
        return cls.build(store, path, shard_folder(cache_dir, store.name))


def shard_folder(cache_dir: Path, collection: str) -> Path:
    """Where the indexer writes a collection's per-document shards."""
    return cache_dir / f"{collection}.documents"


def _shard_name(doc_id: str, sha256: str) -> str:
    import hashlib

    from index.store import EMBEDDER_NAME

    return hashlib.sha1(f"{EMBEDDER_NAME}|{doc_id}|{sha256}".encode()).hexdigest()[:24] + ".npz"
