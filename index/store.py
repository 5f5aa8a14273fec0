"""The Chroma store: three collections, written so a crash never leaves a
half-indexed document behind.

* ``<name>-chunks``: llama-index nodes (through ``ChromaVectorStore``), what
  dense retrieval searches;
* ``<name>-sentences``: one entry per sentence with its embedding and offsets,
  what the answerer scores and cites.  The text is left out: it is the
  document's text at those offsets, and Chroma would index it for full-text
  search: with it, writing 9,820 sentences took 5.9 s instead of 2.2 s;
* ``<name>-documents``: one entry per document holding its full text and
  metadata; it is the commit record.  It is written first with
  ``complete=False`` and flipped to ``True`` only after every chunk and
  sentence is in, so :meth:`Store.repair` can find and drop whatever an
  interrupted ingest left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from index import offline
from index.load import Document
from index.segment import Span


class StoreUnavailable(RuntimeError):
    """The Chroma server cannot be reached (or the local store cannot be opened)."""


@dataclass(frozen=True)
class DocInfo:
    doc_id: str
    title: str
    source: str
    sha256: str
    date: str | None
    sentences: int
    chunks: int


def _client(data_dir: Path, url: str | None, timeout: float):
    offline.enforce()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if not parsed.hostname:
            raise StoreUnavailable(f"QA_CHROMA_URL={url!r} is not a URL like http://127.0.0.1:8000")
        _probe(parsed, timeout, url)
        try:
            client = chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or 8000,
                ssl=parsed.scheme == "https",
                settings=ChromaSettings(anonymized_telemetry=False),
            )
        except Exception as err:  # chromadb raises several types for "cannot connect"
            raise StoreUnavailable(f"Chroma server at {url} is not answering: {err}") from None
        _bound_requests(client, timeout)
        return client
    data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )


def _probe(parsed, timeout: float, url: str) -> None:
    """Fail within ``timeout`` seconds, with a plain message, when nothing
    listens or what listens does not answer Chroma's heartbeat."""
    import httpx

    base = f"{parsed.scheme or 'http'}://{parsed.hostname}:{parsed.port or 8000}"
    try:
        httpx.get(f"{base}/api/v2/heartbeat", timeout=timeout).raise_for_status()
    except httpx.HTTPError as err:
        raise StoreUnavailable(
            f"Chroma server at {url} is unreachable ({err or type(err).__name__}); "
            "start it with `chroma run --path DIR --host HOST --port PORT` or unset QA_CHROMA_URL"
        ) from None


def _bound_requests(client, timeout: float) -> None:
    """chromadb's HTTP client waits forever (``httpx.Client(timeout=None)``);
    give every request a deadline so a frozen server becomes an error.  Reads
    get four times ``timeout``: a batch of 2,000 embeddings takes seconds."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(4 * timeout, connect=timeout)


@dataclass(frozen=True)
class Problem:
    doc_id: str
    what: str
    repaired: bool = False


@dataclass(frozen=True)
class Check:
    """What :meth:`Store.check` found."""

    documents: int
    sentences: int
    chunks: int
    problems: list[Problem]

    @property
    def clean(self) -> bool:
        return all(p.repaired for p in self.problems)


@dataclass(frozen=True)
class Entries:
    """Everything one document puts in the store: its record's vector, its
    sentence spans with their vectors (same order), and its chunk nodes."""

    doc: Document
    vector: np.ndarray
    spans: list[Span]
    sentence_vectors: np.ndarray
    nodes: list


class Store:
    def __init__(self, data_dir: Path, collection: str = "groundqa", url: str | None = None, timeout: float = 5.0):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.location = url or str(data_dir / "chroma")
        self.name = collection
        self.client = _client(data_dir, url, timeout)
        try:
            get = lambda suffix: self.client.get_or_create_collection(  # noqa: E731
                f"{collection}-{suffix}", metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
            self.chunks = get("chunks")
            self.sentences = get("sentences")
            self.documents = get("documents")
        except Exception as err:
            if url:
                raise StoreUnavailable(f"Chroma server at {url} failed: {err}") from None
            raise
        self.vector_store = ChromaVectorStore(chroma_collection=self.chunks)
        self.batch = min(self.client.get_max_batch_size(), 2000)

    # reading -----------------------------------------------------------------
    def revision(self) -> str:
        """Changes whenever a document is committed or removed, by any process
        (kept in the documents collection's metadata; 0.3 ms to poll)."""
        meta = self.client.get_collection(self.documents.name, embedding_function=None).metadata or {}
        return str(meta.get("revision", "0"))

    def _bump(self) -> None:
        import uuid

        self.documents.modify(metadata={"revision": uuid.uuid4().hex})

    def info(self, doc_id: str) -> DocInfo | None:
        got = self.documents.get(ids=[doc_id], include=["metadatas"])
        if not got["ids"] or not got["metadatas"][0].get("complete"):
            return None
        return self._info(doc_id, got["metadatas"][0])

    @staticmethod
    def _info(doc_id: str, meta: dict) -> DocInfo:
        return DocInfo(doc_id, meta["title"], meta["source"], meta["sha256"], meta.get("date") or None,
                       int(meta["sentences"]), int(meta["chunks"]))

    def list(self) -> list[DocInfo]:
        got = self.documents.get(where={"complete": True}, include=["metadatas"])
        return sorted((self._info(i, m) for i, m in zip(got["ids"], got["metadatas"])), key=lambda d: d.doc_id)

    def document(self, doc_id: str) -> tuple[Document, list[Span]] | None:
        got = self.documents.get(ids=[doc_id], include=["metadatas", "documents"])
        if not got["ids"] or not got["metadatas"][0].get("complete"):
            return None
        meta = got["metadatas"][0]
        doc = Document(doc_id, meta["title"], meta["source"], got["documents"][0], meta["sha256"], meta.get("date") or None)
        return doc, [Span(i, a, b) for i, a, b in json.loads(meta["spans"])]

    def all_nodes(self):
        """Every chunk as a llama-index node (for the lexical index)."""
        from llama_index.core.vector_stores.utils import metadata_dict_to_node

        nodes, offset = [], 0
        while True:
            got = self.chunks.get(include=["metadatas", "documents"], limit=self.batch * 5, offset=offset)
            for text, meta in zip(got["documents"], got["metadatas"]):
                node = metadata_dict_to_node(meta, text=text)
                nodes.append(node)
            if len(got["ids"]) < self.batch * 5:
                return nodes
            offset += len(got["ids"])

    def sentence_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        if not keys:
            return {}
        got = self.sentences.get(ids=keys, include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}

    # writing -----------------------------------------------------------------
    def write(self, entries: list[Entries], replacing: list[str]) -> None:
        """Write several documents as one commit.  ``replacing`` names those
        with an older version to drop.

        Their records go in first with ``complete=False`` and are flipped only
        after every sentence and chunk is in, so a crash anywhere leaves
        nothing :meth:`repair` cannot undo.  Chroma's cost is per call as
        well as per vector, so sentences and chunks of all the documents
        share calls of up to ``self.batch`` entries.
        """
        if not entries:
            return
        ids = [e.doc.doc_id for e in entries]
        self.documents.upsert(
            ids=ids,
            embeddings=[e.vector.tolist() for e in entries],
            documents=[e.doc.text for e in entries],
            metadatas=[self._record(e.doc, e.spans, len(e.nodes)) for e in entries],
        )
        if replacing:
            self._drop_entries(replacing)
        rows = [(e.doc.doc_id, s, v) for e in entries for s, v in zip(e.spans, e.sentence_vectors)]
        for lo in range(0, len(rows), self.batch):
            part = rows[lo : lo + self.batch]
            self.sentences.add(
                ids=[f"{doc_id}@{s.index}" for doc_id, s, _ in part],
                embeddings=np.stack([v for *_, v in part]),
                metadatas=[{"doc_id": doc_id, "index": s.index, "start": s.start, "end": s.end}
                           for doc_id, s, _ in part],
            )
        nodes = [node for e in entries for node in e.nodes]
        for lo in range(0, len(nodes), self.batch):
            self.vector_store.add(nodes[lo : lo + self.batch])
        self.documents.update(ids=ids, metadatas=[{"complete": True}] * len(entries))
        self._bump()

    @staticmethod
    def _record(doc: Document, spans: list[Span], n_chunks: int) -> dict:
        return {
            "title": doc.title, "source": doc.source, "sha256": doc.sha256, "date": doc.date or "",
            "sentences": len(spans), "chunks": n_chunks, "complete": False,
            "spans": json.dumps([[s.index, s.start, s.end] for s in spans]),
        }

    def remove(self, doc_id: str) -> bool:
        """The record is marked incomplete before anything is dropped, so a
        removal cut short leaves a document :meth:`repair` finishes removing,
        never one that lists as complete with entries missing."""
        exists = bool(self.documents.get(ids=[doc_id], include=[])["ids"])
        if exists:
            self.documents.update(ids=[doc_id], metadatas=[{"complete": False}])
            self._bump()
        self._drop_entries([doc_id])
        self.documents.delete(ids=[doc_id])
        if exists:
            self._bump()
        return exists

    def repair(self) -> list[str]:
        """Drop documents an interrupted ingest left incomplete; returns their ids."""
        got = self.documents.get(where={"complete": False}, include=[])
        for doc_id in got["ids"]:
            self.remove(doc_id)
        return list(got["ids"])

    def check(self, repair: bool = False) -> "Check":
        """Verify the store's invariants: every complete document has exactly
        the sentences and chunks its record counts, with offsets inside its
        text; no sentence or chunk belongs to a document that is not there.
        With ``repair``, drop what breaks them: incomplete documents (an
        interrupted ingest or removal), inconsistent ones (re-add them) and
        orphan entries."""
        got = self.documents.get(include=["metadatas", "documents"])
        records = {d: (m, t) for d, m, t in zip(got["ids"], got["metadatas"], got["documents"])}
        entries = {"sentences": self._entries_by_doc(self.sentences), "chunks": self._entries_by_doc(self.chunks)}
        problems: list[Problem] = []
        for doc_id, (meta, text) in sorted(records.items()):
            if not meta.get("complete"):
                problems.append(Problem(doc_id, "incomplete: an ingest or removal was interrupted"))
                continue
            spans = {tuple(span) for span in json.loads(meta.get("spans") or "[]")}
            if any(not 0 <= a < b <= len(text or "") for _, a, b in spans):
                problems.append(Problem(doc_id, "a sentence's offsets lie outside the document's text"))
            for kind in ("sentences", "chunks"):
                have, want = len(entries[kind].get(doc_id, [])), int(meta.get(kind, -1))
                if have != want:
                    problems.append(Problem(doc_id, f"{have} {kind} stored, the record says {want}"))
            stored = {(m.get("index"), m.get("start"), m.get("end")) for m in entries["sentences"].get(doc_id, [])}
            if stored and stored != spans:
                problems.append(Problem(doc_id, "stored sentence offsets differ from the record's"))
        for kind, by_doc in entries.items():
            for doc_id in sorted(set(by_doc) - set(records)):
                problems.append(Problem(doc_id, f"{len(by_doc[doc_id])} orphan {kind} (no document record)"))
        if repair and problems:
            for doc_id in sorted({p.doc_id for p in problems}):
                self.remove(doc_id)
            problems = [replace(p, repaired=True) for p in problems]
        complete = [d for d, (m, _) in records.items() if m.get("complete")]
        return Check(documents=len(complete), sentences=sum(map(len, entries["sentences"].values())),
                     chunks=sum(map(len, entries["chunks"].values())), problems=problems)

    def _entries_by_doc(self, collection) -> dict[str, list[dict]]:
        """Every entry's metadata, grouped by doc_id, read in pages."""
        by_doc: dict[str, list[dict]] = {}
        offset, page = 0, self.batch * 5
        while True:
            got = collection.get(include=["metadatas"], limit=page, offset=offset)
            for meta in got["metadatas"]:
                by_doc.setdefault(meta.get("doc_id"), []).append(meta)
            if len(got["ids"]) < page:
                return by_doc
            offset += len(got["ids"])

    def _drop_entries(self, doc_ids: list[str]) -> None:
        where = {"doc_id": {"$in": doc_ids}}
        self.chunks.delete(where=where)
        self.sentences.delete(where=where)
