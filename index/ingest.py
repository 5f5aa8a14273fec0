"""Adding files to the store: segment, chunk, embed in large batches, write.

Sentences are embedded once; a chunk's vector is the normalised mean of its
sentences' vectors and a document's vector the mean of all of them, so ingest
costs one embedder pass over the text and nothing more.

A PDF or DOCX document arrives with its layout; each sentence's
:class:`~index.store.Place` (pages and line rectangles, or paragraphs) is
worked out here, once, so answering never needs the layout again.  A PDF read
from a path also hands its bytes on, for the store to keep.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from index.chunk import make_chunks, to_node
from index.embed import MiniLMEmbedding
from index.load import Document, LoadError, discover, doc_id_for, load_bytes, read_file
from index.segment import Span, sentence_spans
from index.store import Entries, Place, Store


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # messages naming each file
    repaired: list[str] = field(default_factory=list)
    sentences: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


#: ``progress(files_done, files_total, report)``; ``report.sentences`` counts
#: the sentences embedded and written so far.
Progress = Callable[[int, int, "IngestReport"], None]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


@dataclass(frozen=True)
class Loaded:
    """A document and, for a PDF, the bytes it was read from: what the
    viewer renders pages from."""

    doc: Document
    file: bytes | None = None


def places(doc: Document, spans: list[Span]) -> list[Place]:
    """Where each sentence sits in its file (empty places for plain text)."""
    from index import pdf, word

    layout = doc.layout
    if isinstance(layout, pdf.Layout):
        return [Place(tuple(pdf.pages(layout, s.start, s.end)), tuple(pdf.rects(layout, s.start, s.end)))
                for s in spans]
    if isinstance(layout, word.Layout):
        return [Place(paragraphs=tuple(word.paragraphs(layout, s.start, s.end))) for s in spans]
    return [Place() for _ in spans]


def load_path(path: Path, root: Path | None) -> Loaded:
    """``index.load.load_file``, keeping a PDF's bytes."""
    data = read_file(path)
    doc = load_bytes(data, path, doc_id_for(path, root))
    return Loaded(doc, data if path.suffix.lower() == ".pdf" else None)


class Indexer:
    def __init__(self, store: Store, embedder: MiniLMEmbedding, chunk_tokens: int = 200,
                 chunk_overlap: int = 1, batch_sentences: int = 2048):
        self.store = store
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.batch_sentences = batch_sentences

    def add_paths(self, paths: Iterable[Path], progress: Progress | None = None) -> IngestReport:
        """Index files and folders; ``progress`` is called after every file."""
        files = list(discover(Path(p) for p in paths))
        report = IngestReport()

        def documents():
            for path, root in files:
                try:
                    yield load_path(path, root)
                except LoadError as err:
                    report.skipped.append(str(err))
                    yield None

        return self.add_documents(documents(), len(files), progress, report)

    def add_documents(self, docs: Iterable[Document | Loaded | None], total: int | None = None,
                      progress: Progress | None = None,
                      report: IngestReport | None = None) -> IngestReport:
        """Embed in the calling thread while the previous batch is written to
        Chroma in another: Chroma's inserts (its HNSW graph, SQLite) release
        the GIL, so on two cores they mostly hide behind the embedder.  A
        PDF passed as a bare Document is cited to its pages, but without
        its bytes the viewer can only show its text."""
        report = report or IngestReport()
        report.repaired = self.store.repair()
        pending: list[tuple[Loaded, list, list, bool]] = []
        pending_sentences = 0
        indexed = {d.doc_id: d.sha256 for d in self.store.list()}
        by_sha = {sha: doc_id for doc_id, sha in indexed.items()}
        run: set[str] = set()
        done = 0
        with ThreadPoolExecutor(1, thread_name_prefix="groundqa-write") as writer:
            writing: Future | None = None

            def flush() -> None:
                nonlocal writing, pending, pending_sentences
                batch = self._embed(pending)
                if writing is not None:
                    writing.result()  # one batch in flight; re-raises its error
                writing = writer.submit(self._write, batch, report) if batch else None
                pending, pending_sentences = [], 0

            for item in docs:
                done += 1
                if item is not None:
                    loaded = item if isinstance(item, Loaded) else Loaded(item)
                    doc = loaded.doc
                    outcome = self._plan(doc, indexed, by_sha, run, report)
                    if outcome is not None:
                        spans = sentence_spans(doc.text)
                        chunks = make_chunks(doc, spans, self.chunk_tokens, self.chunk_overlap)
                        pending.append((loaded, spans, chunks, outcome))
                        pending_sentences += len(spans)
                    if pending_sentences >= self.batch_sentences:
                        flush()
                if progress:
                    progress(done, total or done, report)
            flush()
            if writing is not None:
                writing.result()
        if progress:
            progress(done, total or done, report)
        return report

    @staticmethod
    def _plan(doc: Document, indexed: dict[str, str], by_sha: dict[str, str], run: set[str],
              report: IngestReport) -> bool | None:
        """None to skip; else whether this replaces an older version.
        ``indexed`` maps doc_id to sha256 and ``by_sha`` the reverse, for the
        store and the documents taken so far; ``run`` holds this run's ids."""
        if doc.doc_id in run:
            report.skipped.append(f"{doc.source}: doc_id {doc.doc_id} already used in this batch, skipped")
            return None
        run.add(doc.doc_id)
        old = indexed.get(doc.doc_id)
        if old == doc.sha256:
            report.unchanged.append(doc.doc_id)
            return None
        twin = by_sha.get(doc.sha256)
        if twin and twin != doc.doc_id:
            run.discard(doc.doc_id)
            report.skipped.append(f"{doc.source}: same text as already indexed document {twin}, skipped")
            return None
        by_sha[doc.sha256] = doc.doc_id
        return old is not None

    def _embed(self, pending) -> list[tuple[Entries, bool]]:
        """Each pending document's store entries, and whether it replaces an older version."""
        texts = [loaded.doc.text[s.start : s.end] for loaded, spans, _, _ in pending for s in spans]
        vectors = self.embedder.embed(texts)
        batch, offset = [], 0
        for loaded, spans, chunks, replaces in pending:
            doc = loaded.doc
            vecs = vectors[offset : offset + len(spans)]
            offset += len(spans)
            nodes = [to_node(doc, c, _unit(vecs[c.spans[0].index : c.spans[-1].index + 1].mean(0)).tolist())
                     for c in chunks]
            batch.append((Entries(doc, _unit(vecs.mean(0)), spans, vecs, nodes, places(doc, spans), loaded.file),
                          replaces))
        return batch

    def _write(self, batch: list[tuple[Entries, bool]], report: IngestReport) -> None:
        self.store.write([e for e, _ in batch], replacing=[e.doc.doc_id for e, replaces in batch if replaces])
        for e, replaces in batch:
            (report.replaced if replaces else report.added).append(e.doc.doc_id)
            report.sentences += len(e.spans)
