"""Token-bounded chunks made of whole sentences.

A chunk never cuts a sentence, so every citation can point at a sentence the
retriever actually saw.  Consecutive chunks share ``overlap`` sentences so that
an answer spanning a chunk boundary is still retrieved as one piece.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from index import offline
from index.document import Document
from index.outline import Outline
from index.segment import Span


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    index: int
    spans: tuple[Span, ...]

    @property
    def start(self) -> int:
        return self.spans[0].start

    @property
    def end(self) -> int:
        return self.spans[-1].end


@lru_cache(maxsize=1)
def _tokenizer():
    offline.enforce()
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def count_tokens(text: str) -> int:
    return len(_tokenizer()(text))


def make_chunks(doc: Document, spans: list[Span], max_tokens: int, overlap: int) -> list[Chunk]:
    sizes = [count_tokens(doc.text[s.start : s.end]) for s in spans]
    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        j, total = i, 0
        while j < len(spans) and (j == i or total + sizes[j] <= max_tokens):
            total += sizes[j]
            j += 1
        chunks.append(Chunk(f"{doc.doc_id}#{len(chunks)}", len(chunks), tuple(spans[i:j])))
        if j >= len(spans):
            break
        i = max(i + 1, j - overlap)
    return chunks


def to_node(doc: Document, chunk: Chunk, embedding: list[float] | None = None) -> TextNode:
    """A llama-index node whose text is the exact document slice it covers.

    Chroma metadata must be scalar, so the sentence spans travel as JSON.  The
    SOURCE relationship makes llama-index store ``doc_id`` = the document's id
    (it overwrites that key with ``ref_doc_id`` otherwise), which is what
    deleting a document's chunks filters on.

    A Markdown or reStructuredText chunk also carries the sections of its
    sentences (``section``), the one metadata key llama-index puts in front
    of the text for BM25 (its "embed" view; the chunk's vector is the mean
    of its sentences' and ignores it), so a question naming an API object
    or a parameter finds the chunk of the prose under it.
    """
    metadata = {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source": doc.source,
        "date": doc.date or "",
        "chunk_index": chunk.index,
        "start": chunk.start,
        "spans": json.dumps([[s.index, s.start, s.end] for s in chunk.spans]),
    }
    if isinstance(doc.layout, Outline):
        parts = dict.fromkeys(part for s in chunk.spans for part in doc.layout.sentences[s.index].section)
        if parts:
            metadata["section"] = " › ".join(parts)
    return TextNode(
        id_=chunk.chunk_id,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc.doc_id)},
        text=doc.text[chunk.start : chunk.end],
        embedding=embedding,
        metadata=metadata,
        excluded_embed_metadata_keys=["doc_id", "title", "source", "date", "chunk_index", "start", "spans"],
        excluded_llm_metadata_keys=["doc_id", "source", "chunk_index", "start", "spans"],
    )


def spans_of(node: TextNode) -> list[Span]:
    return [Span(i, a, b) for i, a, b in json.loads(node.metadata["spans"])]
