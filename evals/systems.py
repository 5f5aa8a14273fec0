"""The systems an eval compares: groundqa and three baselines.

Every system turns a :class:`~evals.datasets.Question` into a
:class:`qa.cite.Answer` and tells which character range each of its chunks
covers (for the retrieval metrics), so all are scored by the same code.

* ``groundqa``: the product, ``Engine.answer`` in hybrid mode;
* ``bm25`` and ``dense``: the same answerer fed by one retriever only;
* ``llamaindex``: llama-index out of the box, what a user gets from the
  tutorial: ``VectorStoreIndex.from_documents`` (default ``SentenceSplitter``,
  in-memory ``SimpleVectorStore``), the same MiniLM embedder, top-2 retrieval
  through ``CitationQueryEngine``, and chunk-level citations.  No LLM: the
  answer is the cited chunks' text, one answer sentence per chunk, each
  citing its chunk, and it never abstains.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from evals.datasets import Dataset, Question, Range
from index.load import Document
from qa.cite import Answer, AnswerSentence, Citation, Retrieved
from qa.settings import Settings

BASELINE_TOP_K = 2


class System(Protocol):
    name: str
    label: str
    top_k: int

    def answer(self, question: Question) -> Answer: ...

    def chunks(self) -> dict[str, Range]: ...


class Corpus:
    """A fresh, private index of one data set's documents: its own temporary
    data dir and collection, no seed (``QA_NO_SEED`` semantics), so an eval
    never reads or writes the user's index."""

    def __init__(self, dataset: Dataset, collection: str = "eval", reader: str | None = None):
        from qa.engine import Engine

        self._tmp = tempfile.TemporaryDirectory(prefix="groundqa-eval-", ignore_cleanup_errors=True)
        base = Settings.from_env()
        settings = replace(base, data_dir=Path(self._tmp.name), chroma_url=None, seed=False,
                           collection=collection, reader=reader or base.reader)
        self.documents = dataset.documents
        self.engine = Engine(settings)
        report = self.engine.add_documents(self.documents)
        if report.skipped:
            raise ValueError(f"{dataset.name}: documents not indexed: {'; '.join(report.skipped)}")
        self._chunks: dict[str, Range] | None = None

    def chunks(self) -> dict[str, Range]:
        if self._chunks is None:
            from index.chunk import spans_of

            self._chunks = {}
            for node in self.engine.store.all_nodes():
                spans = spans_of(node)
                self._chunks[node.node_id] = Range(node.metadata["doc_id"], spans[0].start, spans[-1].end)
        return self._chunks

    def close(self) -> None:
        self._tmp.cleanup()


class GroundQA:
    """``Engine.answer`` with one retrieval mode and one reader (the
    configured one unless ``reader`` names another)."""

    LABELS = {"hybrid": "groundqa", "bm25": "bm25", "dense": "dense"}

    def __init__(self, corpus: Corpus, mode: str = "hybrid", reader: str | None = None):
        self.corpus = corpus
        self.mode = mode
        engine = corpus.engine
        self.reader = engine.reader_for(reader)
        self.name = self.LABELS[mode] if reader is None else f"{self.LABELS[mode]}-{reader}"
        self.label = {"hybrid": "groundqa (hybrid)", "bm25": "BM25 only", "dense": "dense only"}[mode]
        self.label += f", {self.reader.name} reader"
        self.top_k = engine.settings.top_k

    def answer(self, question: Question) -> Answer:
        return self.corpus.engine.answer(question.question, history=list(question.history), mode=self.mode,
                                         reader=self.reader)

    def chunks(self) -> dict[str, Range]:
        return self.corpus.chunks()


class LlamaIndexBaseline:
    name = "llamaindex"
    label = "llama-index default"

    def __init__(self, documents: list[Document], embedder, top_k: int = BASELINE_TOP_K):
        from llama_index.core import Document as LIDocument
        from llama_index.core import VectorStoreIndex
        from llama_index.core.llms import MockLLM
        from llama_index.core.query_engine import CitationQueryEngine

        self.top_k = top_k
        self._docs = {d.doc_id: d for d in documents}
        index = VectorStoreIndex.from_documents(
            [LIDocument(text=d.text, id_=d.doc_id, metadata={"title": d.title}) for d in documents],
            embed_model=embedder,
        )
        self._nodes = list(index.docstore.docs.values())
        # The LLM is never called: only CitationQueryEngine's retrieval step runs.
        self._engine = CitationQueryEngine.from_args(index, llm=MockLLM(), similarity_top_k=top_k)

    def answer(self, question: Question) -> Answer:
        from llama_index.core.schema import QueryBundle

        found = self._engine.retrieve(QueryBundle(query_str=question.question))
        citations, sentences, retrieved = [], [], []
        for i, hit in enumerate(found, start=1):
            node = hit.node
            doc = self._docs[node.ref_doc_id]
            text = node.get_content()
            citations.append(Citation(i, doc.doc_id, doc.title, doc.source, -1, node.start_char_idx,
                                      node.end_char_idx, text, round(float(hit.score or 0), 4)))
            sentences.append(AnswerSentence(" ".join(text.split()), [i]))
            retrieved.append(Retrieved(doc.doc_id, node.node_id, round(float(hit.score or 0), 6), text))
        return Answer(question=question.question, answer=" ".join(f"{s.text} [{s.citations[0]}]" for s in sentences),
                      abstained=False, sentences=sentences, citations=citations, retrieved=retrieved)

    def chunks(self) -> dict[str, Range]:
        return {n.node_id: Range(n.ref_doc_id, n.start_char_idx, n.end_char_idx) for n in self._nodes}


def systems_for(corpus: Corpus) -> list[System]:
    """groundqa first (it is what the gate checks), then the other readers on
    the same retrieval, then the baselines.  The LLM reader runs only when
    it is the configured one (it needs a server)."""
    other = [r for r in ("cross-encoder", "heuristic") if r != corpus.engine.reader.name]
    return [GroundQA(corpus, "hybrid"), *[GroundQA(corpus, "hybrid", r) for r in other],
            LlamaIndexBaseline(corpus.documents, corpus.engine.embedder),
            GroundQA(corpus, "bm25"), GroundQA(corpus, "dense")]
