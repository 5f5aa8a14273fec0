"""Adding files to the store: segment, chunk, embed in large batches, write.

Sentences are embedded once; a chunk's vector is the normalised mean of its
sentences' vectors and a document's vector the mean of all of them, so ingest
costs one embedder pass over the text and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from index.chunk import make_chunks, to_node
from index.embed import MiniLMEmbedding
from index.load import Document, LoadError, discover, load_file
from index.segment import sentence_spans
from index.store import Store


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


class Indexer:
    def __init__(self, store: Store, embedder: MiniLMEmbedding, chunk_tokens: int = 200,
                 chunk_overlap: int = 1, batch_sentences: int = 512):
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
                    yield load_file(path, root)
                except LoadError as err:
                    report.skipped.append(str(err))
                    yield None

        return self.add_documents(documents(), len(files), progress, report)

    def add_documents(self, docs: Iterable[Document | None], total: int | None = None,
                      progress: Progress | None = None,
                      report: IngestReport | None = None) -> IngestReport:
        report = report or IngestReport()
        report.repaired = self.store.repair()
        pending: list[tuple[Document, list, list, bool]] = []
        pending_sentences = 0
        seen: dict[str, str] = {}  # sha256 -> doc_id of documents taken in this run
        done = 0
        for doc in docs:
            done += 1
            if doc is not None:
                outcome = self._plan(doc, seen, report)
                if outcome is not None:
                    spans = sentence_spans(doc.text)
                    chunks = make_chunks(doc, spans, self.chunk_tokens, self.chunk_overlap)
                    pending.append((doc, spans, chunks, outcome))
                    pending_sentences += len(spans)
                if pending_sentences >= self.batch_sentences:
                    self._flush(pending, report)
                    pending, pending_sentences = [], 0
            if progress:
                progress(done, total or done, report)
        self._flush(pending, report)
        if progress:
            progress(done, total or done, report)
        return report

    def _plan(self, doc: Document, seen: dict[str, str], report: IngestReport) -> bool | None:
        """None to skip; else whether this replaces an older version."""
        if doc.doc_id in seen.values():
            report.skipped.append(f"{doc.source}: doc_id {doc.doc_id} already used in this batch, skipped")
            return None
        existing = self.store.info(doc.doc_id)
        if existing and existing.sha256 == doc.sha256:
            seen[doc.sha256] = doc.doc_id
            report.unchanged.append(doc.doc_id)
            return None
        twin = seen.get(doc.sha256) or self.store.find_sha(doc.sha256)
        if twin and twin != doc.doc_id:
            report.skipped.append(f"{doc.source}: same text as already indexed document {twin}, skipped")
            return None
        seen[doc.sha256] = doc.doc_id
        return existing is not None

    def _flush(self, pending, report: IngestReport) -> None:
        if not pending:
            return
        texts = [doc.text[s.start : s.end] for doc, spans, _, _ in pending for s in spans]
        vectors = self.embedder.embed(texts)
        offset = 0
        for doc, spans, chunks, replaces in pending:
            vecs = vectors[offset : offset + len(spans)]
            offset += len(spans)
            self.store.begin(doc, _unit(vecs.mean(0)), spans, len(chunks))
            nodes = []
            for chunk in chunks:
                lo = chunk.spans[0].index
                hi = chunk.spans[-1].index + 1
                nodes.append(to_node(doc, chunk, _unit(vecs[lo:hi].mean(0)).tolist()))
            self.store.add_entries(doc, spans, vecs, nodes)
            self.store.commit(doc.doc_id)
            (report.replaced if replaces else report.added).append(doc.doc_id)
            report.sentences += len(spans)
