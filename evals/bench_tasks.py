"""The measurements of ``make bench``, each run in a fresh process.

``python -m evals.bench_tasks TASK [options]`` prints one JSON line with the
result.  Every system (groundqa, the raw embedder, llama-index's default
pipeline) is measured in a process of its own, so none inherits another's
warm caches or memory, and the peak resident memory of each is its own.
Only the standard library is imported at module level: the cold-start task
times a whole process, so it must not pay for anything the script it stands
for would not import.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

#: What ``Indexer`` embeds per flush; the raw embedder gets the same batches.
EMBED_BATCH = 512
#: llama-index's collection name inside its own Chroma directory.
LLAMA_COLLECTION = "llama-default"
#: llama-index's ``as_retriever()`` default (``similarity_top_k``), spelled out for the report.
LLAMA_TOP_K = 2


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def corpus_sentences(corpus: Path) -> tuple[int, list[str]]:
    """(documents, sentences) of ``corpus`` exactly as groundqa segments
    them and its embedder reads them."""
    from index import offline

    offline.enforce()
    from index.ingest import embedded_texts
    from index.load import LoadError, discover, load_file
    from index.segment import document_spans

    docs, sentences = 0, []
    for path, root in discover([corpus]):
        try:
            doc = load_file(path, root)
        except LoadError:
            continue
        docs += 1
        sentences.extend(embedded_texts(doc, document_spans(doc)))
    return docs, sentences


def read_questions(path: Path, limit: int | None) -> list[str]:
    """One question a line (``#`` comments allowed), or a JSONL file with ``question`` fields."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".jsonl":
        questions = [json.loads(line)["question"] for line in lines if line]
    else:
        questions = [line for line in lines if line and not line.startswith("#")]
    return questions[:limit] if limit else questions


def embed_raw(corpus: Path, every: int) -> dict:
    """The embedder alone on the corpus's sentences (every ``every``-th one), in ingest-sized batches."""
    t0 = time.perf_counter()
    docs, sentences = corpus_sentences(corpus)
    segment_s = time.perf_counter() - t0
    from index.embed import MiniLMEmbedding

    sample = sentences[::every]
    embedder = MiniLMEmbedding()
    embedder.embed(sample[:8])
    t0 = time.perf_counter()
    for lo in range(0, len(sample), EMBED_BATCH):
        embedder.embed(sample[lo : lo + EMBED_BATCH])
    seconds = time.perf_counter() - t0
    return {"documents": docs, "sentences": len(sentences), "embedded": len(sample), "every": every,
            "seconds": seconds, "segment_seconds": segment_s, "rate": len(sample) / seconds,
            "peak_rss_mb": peak_rss_mb()}


def _engine(data: Path, reader: str | None = None, chroma_url: str | None = None):
    from index import offline

    offline.enforce()
    from qa.engine import Engine
    from qa.settings import Settings

    return Engine(Settings.from_env(data_dir=data, seed=False, chroma_url=chroma_url, reader=reader))


def ingest_groundqa(data: Path, corpus: Path, chroma_url: str | None = None) -> dict:
    engine = _engine(data, chroma_url=chroma_url)
    engine.embedder.embed(["warm up"])
    t0 = time.perf_counter()
    report = engine.add([corpus])
    seconds = time.perf_counter() - t0
    return {"documents": len(report.added) + len(report.replaced), "sentences": report.sentences,
            "chunks": engine.store.chunks.count(), "skipped": len(report.skipped), "seconds": seconds,
            "rate": report.sentences / seconds, "peak_rss_mb": peak_rss_mb()}


def _llama_store(data: Path):
    from index import offline

    offline.enforce()
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=str(data / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    return ChromaVectorStore(chroma_collection=client.get_or_create_collection(LLAMA_COLLECTION))


def ingest_llama(data: Path, corpus: Path) -> dict:
    """llama-index's default pipeline: SimpleDirectoryReader, then
    ``VectorStoreIndex.from_documents`` with its default transformations
    (``SentenceSplitter``) on a ChromaVectorStore, with groundqa's embedder."""
    vector_store = _llama_store(data)
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex

    from index.embed import MiniLMEmbedding

    embedder = MiniLMEmbedding()
    embedder.embed(["warm up"])
    t0 = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus), recursive=True, required_exts=[".txt", ".md"]).load_data()
    VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(vector_store=vector_store),
                                    embed_model=embedder)
    seconds = time.perf_counter() - t0
    return {"documents": len(documents), "chunks": vector_store._collection.count(), "seconds": seconds,
            "peak_rss_mb": peak_rss_mb()}


def _timed(fn, questions: list[str]) -> list[float]:
    out = []
    for q in questions:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def latency_groundqa(data: Path, questions: Path, limit: int | None, reader: str | None = None,
                     chroma_url: str | None = None) -> dict:
    """Warm latency: one pass over the questions to warm up, then a timed pass."""
    qs = read_questions(questions, limit)
    engine = _engine(data, reader, chroma_url)
    answers = [engine.answer(q) for q in qs]
    ms = _timed(engine.answer, qs)
    return {"questions": len(qs), "answered": sum(not a.abstained for a in answers), "ms": ms,
            "peak_rss_mb": peak_rss_mb()}


def latency_llama(data: Path, questions: Path, limit: int | None) -> dict:
    """llama-index's default retriever (``index.as_retriever()``, top-2) on its own index."""
    qs = read_questions(questions, limit)
    vector_store = _llama_store(data)
    from llama_index.core import VectorStoreIndex

    from index.embed import MiniLMEmbedding

    retriever = VectorStoreIndex.from_vector_store(vector_store, embed_model=MiniLMEmbedding()).as_retriever()
    for q in qs:
        retriever.retrieve(q)
    ms = _timed(retriever.retrieve, qs)
    return {"questions": len(qs), "ms": ms, "peak_rss_mb": peak_rss_mb()}


def cold_llama(data: Path, question: str) -> dict:
    """The llama-index equivalent of ``qa ask``: open the persisted index, retrieve top-2, print."""
    vector_store = _llama_store(data)
    from llama_index.core import VectorStoreIndex

    from index.embed import MiniLMEmbedding

    index = VectorStoreIndex.from_vector_store(vector_store, embed_model=MiniLMEmbedding())
    nodes = index.as_retriever().retrieve(question)
    for n in nodes:
        print(f"{n.score:.3f} {n.node.get_content()[:200]!r}")
    return {"retrieved": len(nodes)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_tasks")
    sub = parser.add_subparsers(dest="task", required=True)
    p = sub.add_parser("embed-raw")
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--every", type=int, default=1)
    for name in ("ingest-groundqa", "ingest-llama"):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, required=True)
        p.add_argument("--corpus", type=Path, required=True)
        p.add_argument("--chroma-url", help="a `chroma run` server (groundqa only)")
    for name in ("latency-groundqa", "latency-llama"):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, required=True)
        p.add_argument("--questions", type=Path, required=True)
        p.add_argument("--limit", type=int)
        p.add_argument("--reader")
        p.add_argument("--chroma-url", help="a `chroma run` server (groundqa only)")
    p = sub.add_parser("cold-llama")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("question")
    args = parser.parse_args(argv)
    result = {
        "embed-raw": lambda: embed_raw(args.corpus, args.every),
        "ingest-groundqa": lambda: ingest_groundqa(args.data, args.corpus, args.chroma_url),
        "ingest-llama": lambda: ingest_llama(args.data, args.corpus),
        "latency-groundqa": lambda: latency_groundqa(args.data, args.questions, args.limit, args.reader,
                                                     args.chroma_url),
        "latency-llama": lambda: latency_llama(args.data, args.questions, args.limit),
        "cold-llama": lambda: cold_llama(args.data, args.question),
    }[args.task]()
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
