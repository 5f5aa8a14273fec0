"""Hybrid retrieval: Chroma's dense search and BM25, fused by reciprocal rank.

Both halves are stock llama-index retrievers and the fusion is llama-index's
``QueryFusionRetriever`` in reciprocal-rank mode, with query generation off
(``num_queries=1``), so no LLM is involved.  The lexical side is built once
from the chunks in Chroma and rebuilt only when the store's revision changes,
never per question.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

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
    """BM25 over all chunks plus the term statistics; immutable once built."""

    def __init__(self, nodes, top_k: int):
        from llama_index.retrievers.bm25 import BM25Retriever

        self.size = len(nodes)
        self.stats = TermStats.build([n.get_content() for n in nodes])
        self.bm25 = (
            BM25Retriever.from_defaults(nodes=nodes, stemmer=_stemmer(), language="english",
                                        similarity_top_k=min(top_k, len(nodes)))
            if nodes else None
        )


class HybridRetriever(BaseRetriever):
    """Dense + BM25 with reciprocal-rank fusion; returns at most ``top_k`` chunks."""

    def __init__(self, vector_index, lexical: LexicalIndex, top_k: int, mode: str = "hybrid"):
        super().__init__()
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever

        self.top_k = top_k
        self.mode = mode
        dense = vector_index.as_retriever(similarity_top_k=top_k)
        parts = {"dense": [dense], "bm25": [lexical.bm25] if lexical.bm25 else [],
                 "hybrid": [dense] + ([lexical.bm25] if lexical.bm25 else [])}[mode]
        self.empty = lexical.size == 0
        self._fusion = QueryFusionRetriever(
            parts, llm=MockLLM(), mode="reciprocal_rerank", similarity_top_k=top_k,
            num_queries=1, use_async=False,
        ) if parts else None

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self.empty or self._fusion is None:
            return []
        return self._fusion.retrieve(query_bundle)
