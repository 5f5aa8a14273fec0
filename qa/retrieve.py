"""Hybrid retrieval: Chroma's dense search and BM25, fused by reciprocal rank.

Both halves are stock llama-index retrievers and the fusion is llama-index's
``QueryFusionRetriever`` in reciprocal-rank mode, with query generation off
(``num_queries=1``), so no LLM is involved.  The lexical side is built once
from the chunks in Chroma and rebuilt only when the store's revision changes,
never per question.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

_TOKEN = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | {"did", "does", "say", "said", "tell", "told", "much", "many"}


def terms(text: str) -> list[str]:
    """Content-word stems, the unit of lexical matching everywhere in groundqa."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stopwords() and (len(w) > 1 or w.isdigit())]
    return _stemmer().stemWords(words)


@dataclass
class TermStats:
    """Chunk-level document frequencies, for IDF weights in sentence scoring."""

    df: Counter
    n: int

    @classmethod
    def build(cls, texts: list[str]) -> "TermStats":
        df: Counter = Counter()
        for text in texts:
            df.update(set(terms(text)))
        return cls(df, len(texts))

    def idf(self, term: str) -> float:
        return math.log(1 + (self.n + 1) / (self.df.get(term, 0) + 0.5))


class LexicalIndex:
    """BM25 over all chunks, the term statistics, and a map from sentences to
    the chunks holding them; immutable once built.

    Building it means reading every chunk from Chroma and tokenizing it (7 s
    for the 497-document Python docs), so it is saved beside the store and
    reloaded while the store's revision is unchanged.  Chunks are kept as
    llama-index's flat node dicts (what BM25Retriever persists anyway) and
    turned into nodes only when retrieved.
    """

    STATS = "groundqa-lexical.json"

    def __init__(self, bm25, corpus: list[dict], stats: TermStats, chunks_by_doc: dict[str, list[list[int]]]):
        self.bm25 = bm25
        self.corpus = corpus
        self.size = len(corpus)
        self.stats = stats
        self.chunks_by_doc = chunks_by_doc

    @classmethod
    def build(cls, nodes, top_k: int) -> "LexicalIndex":
        from llama_index.retrievers.bm25 import BM25Retriever

        from index.chunk import spans_of

        # BM25Retriever keeps one flat dict per node, in the order given.
        bm25 = (BM25Retriever.from_defaults(nodes=nodes, stemmer=_stemmer(), language="english",
                                            similarity_top_k=min(top_k, len(nodes))) if nodes else None)
        corpus = bm25.corpus if bm25 else []
        by_doc: dict[str, list[list[int]]] = {}
        for i, node in enumerate(nodes):
            spans = spans_of(node)
            by_doc.setdefault(node.metadata["doc_id"], []).append([spans[0].index, spans[-1].index, i])
        return cls(bm25, corpus, TermStats.build([n.get_content() for n in nodes]), by_doc)

    def save(self, path: Path) -> None:
        """Write to a fresh folder, then rename it into place (atomic)."""
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.bm25 is not None:
            self.bm25.persist(str(tmp), show_progress=False)
        (tmp / self.STATS).write_text(json.dumps(
            {"df": self.stats.df, "n": self.stats.n, "chunks_by_doc": self.chunks_by_doc}))
        try:
            tmp.rename(path)
        except OSError:  # another process saved the same revision first
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: Path, top_k: int) -> "LexicalIndex":
        from llama_index.retrievers.bm25 import BM25Retriever

        data = json.loads((path / cls.STATS).read_text())
        bm25 = None
        if data["n"]:
            bm25 = BM25Retriever.from_persist_dir(str(path), mmap=True, show_progress=False)
            bm25.stemmer = _stemmer()
            bm25.similarity_top_k = min(top_k, data["n"])
        corpus = bm25.corpus if bm25 else []
        return cls(bm25, corpus, TermStats(Counter(data["df"]), data["n"]), data["chunks_by_doc"])

    @classmethod
    def open(cls, store, cache_dir: Path, top_k: int) -> "LexicalIndex":
        """The index for the store's current revision: from ``cache_dir`` when
        saved there, else built and saved (older revisions are deleted)."""
        key = hashlib.sha1(f"{store.location}|{store.name}|{store.revision()}|{top_k}".encode()).hexdigest()[:16]
        path = cache_dir / f"{store.name}-{key}"
        if (path / cls.STATS).is_file():
            try:
                return cls.load(path, top_k)
            except (OSError, ValueError, KeyError):
                shutil.rmtree(path, ignore_errors=True)
        index = cls.build(store.all_nodes(), top_k)
        for old in cache_dir.glob(f"{store.name}-*"):
            shutil.rmtree(old, ignore_errors=True)
        index.save(path)
        return index

    def node(self, i: int):
        from llama_index.core.vector_stores.utils import metadata_dict_to_node

        return metadata_dict_to_node(self.corpus[i])

    def chunks_holding(self, doc_id: str, sentence_index: int):
        return [self.node(i) for lo, hi, i in self.chunks_by_doc.get(doc_id, ()) if lo <= sentence_index <= hi]


class SentenceDenseRetriever(BaseRetriever):
    """Dense search over single sentences (``index.sentences``), reported as
    the chunks that hold the best sentences.

    Whole-chunk vectors blur a chunk's several topics; a question usually
    matches one sentence, so ranking chunks by their best sentence finds the
    passage more often.
    """

    def __init__(self, sentences, lexical: LexicalIndex, top_k: int, fanout: int = 4,
                 documents: frozenset[str] | None = None):
        super().__init__()
        self.sentences = sentences
        self.lexical = lexical
        self.top_k = top_k
        self.fanout = fanout
        self.documents = documents

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self.lexical.size == 0:
            return []
        best: dict[str, NodeWithScore] = {}
        for doc_id, index, score in self.sentences.nearest(query_bundle.embedding, self.top_k * self.fanout,
                                                           self.documents):
            for node in self.lexical.chunks_holding(doc_id, index):
                if node.node_id not in best or best[node.node_id].score < score:
                    best[node.node_id] = NodeWithScore(node=node, score=score)
        return sorted(best.values(), key=lambda n: -n.score)[: self.top_k]


class WithinDocuments(BaseRetriever):
    """BM25 restricted to some documents: the shared index scores only their
    chunks (a weight mask, so other documents cannot crowd them out of the
    top k), and what comes back outside them, the zero-score filler, is
    dropped."""

    def __init__(self, lexical: LexicalIndex, documents: frozenset[str], top_k: int, callback_manager=None):
        super().__init__(callback_manager=callback_manager)
        from llama_index.retrievers.bm25 import BM25Retriever

        mask = [0] * lexical.size
        for doc_id in documents:
            for _, _, i in lexical.chunks_by_doc.get(doc_id, ()):
                mask[i] = 1
        self.documents = documents
        self._bm25 = BM25Retriever(existing_bm25=lexical.bm25.bm25, stemmer=_stemmer(),
                                   similarity_top_k=min(top_k, lexical.size), corpus_weight_mask=mask,
                                   callback_manager=callback_manager)
        self._bm25.corpus = lexical.corpus  # the shared retriever's nodes, however it was built

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [n for n in self._bm25.retrieve(query_bundle)
                if n.node.metadata.get("doc_id") in self.documents and (n.score or 0) > 0]


class HybridRetriever(BaseRetriever):
    """Reciprocal-rank fusion of up to three rankings of chunks: Chroma's chunk
    vectors, the chunks holding the best-matching sentences, and BM25.

    ``mode`` picks the rankings: ``hybrid`` all three, ``dense`` the two vector
    ones, ``bm25`` only the lexical one.  ``documents`` (doc_ids) restricts
    all three: a Chroma metadata filter (llama-index ``MetadataFilters``)
    for the dense ones, :class:`WithinDocuments` for BM25.  On the dev data (seed dev, SQuAD dev)
    all three together beat every pair on hit@k and evidence recall.

    Every part reports to one ``callback_manager`` (pass the same one to
    every HybridRetriever of an index; the BM25 part is shared between
    them).  llama-index clears a manager's trace map only when a trace
    starts on it with no trace running, so a part with a manager of its own
    kept the event ids of every question it served: 1.4 KB a question in
    ``make stress``'s Engine soak.
    """

    def __init__(self, vector_index, sentences, lexical: LexicalIndex, top_k: int, mode: str = "hybrid",
                 callback_manager=None, documents: frozenset[str] | None = None):
        super().__init__(callback_manager=callback_manager)
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

        self.top_k = top_k
        self.mode = mode
        self.lexical = lexical
        self.sentences = sentences
        self.empty = lexical.size == 0
        only = None
        if documents:
            only = MetadataFilters(filters=[MetadataFilter(key="doc_id", value=sorted(documents),
                                                           operator=FilterOperator.IN)])
        dense = [vector_index.as_retriever(similarity_top_k=top_k, filters=only),
                 SentenceDenseRetriever(sentences, lexical, top_k, documents=documents)]
        bm25 = [lexical.bm25] if lexical.bm25 else []
        if documents and lexical.bm25:
            bm25 = [WithinDocuments(lexical, documents, top_k, self.callback_manager)]
        for part in dense + bm25:
            part.callback_manager = self.callback_manager
        parts = {"dense": dense, "bm25": bm25, "hybrid": dense + bm25}[mode]
        self._fusion = QueryFusionRetriever(
            parts, llm=MockLLM(), mode="reciprocal_rerank", similarity_top_k=top_k,
            num_queries=1, use_async=False, callback_manager=self.callback_manager,
        ) if parts else None

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self.empty or self._fusion is None:
            return []
        return self._fusion.retrieve(query_bundle)
