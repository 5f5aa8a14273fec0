"""One object that owns the store, the embedder and the retrievers.

Everything expensive (the ONNX session, the Chroma client, the BM25 index) is
created once per Engine and reused across questions; the lexical index is
rebuilt only when the store's revision changes.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from index import offline
from qa.cite import Answer, Retrieved, judged
from qa.settings import Settings

MODES = ("hybrid", "dense", "bm25")

#: More chunks than this would only make the answer slower: the reader reads
#: a fixed pool of the best sentences whatever ``top_k`` is.
MAX_TOP_K = 50


class AnswerTimeout(RuntimeError):
    """An answer ran over ``Settings.answer_timeout``.  The budget is checked
    between stages (retrieval, reading), so a worker is never held longer
    than the budget plus one stage."""


def _store_errors(method):
    """A Chroma server that goes away mid-session surfaces as StoreUnavailable
    with the server's address, not as an httpx traceback."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        import httpx

        from index.store import StoreUnavailable

        try:
            return method(self, *args, **kwargs)
        except httpx.TransportError as err:
            raise StoreUnavailable(f"Chroma server at {self.settings.chroma_url} stopped answering ({err})") from None

    return wrapper


class Engine:
    def __init__(self, settings: Settings | None = None, preload: bool = False):
        """``preload`` starts loading what the first answer needs (Chroma's
        chunk index, the embedder, the reader) in background threads as soon
        as the store is open, so the loading overlaps the imports that follow
        (llama-index's take 0.7 s): for a process about to answer (``qa ask``,
        ``qa chat``, ``qa.answer``), not one that only lists or adds documents,
        nor ``qa serve``, which loads them with its first question."""
        offline.enforce()
        from index.store import EMBEDDER_NAME, Store

        self.settings = settings or Settings.from_env()
        s = self.settings
        self.store = Store(s.data_dir, s.collection, s.chroma_url, s.chroma_timeout, EMBEDDER_NAME)
        from qa.reading import make_reader

        self.reader = make_reader(s.reader_name, s)
        if preload:
            _background(self.store.load_vectors, "store-warm")
            self.reader.warm()
        from llama_index.core import VectorStoreIndex
        from llama_index.core.callbacks import CallbackManager

        from index.embed import MiniLMEmbedding
        from index.ingest import Indexer
        from index.sentences import shard_folder

        self.embedder = MiniLMEmbedding()
        if preload:
            _background(self.embedder._load, "embedder-warm")
        self.indexer = Indexer(self.store, self.embedder, s.chunk_tokens, s.chunk_overlap,
                               shards=None if s.chroma_url else shard_folder(self._sentence_dir, s.collection))
        # Nodes reach the index already chunked (index.chunk), so its only
        # transformation is the embedder; llama-index's default, a
        # SentenceSplitter, would load tiktoken (0.2 s) on every cold start.
        self.vector_index = VectorStoreIndex.from_vector_store(
            self.store.vector_store, embed_model=self.embedder, transformations=[self.embedder]
        )
        self._readers = {self.reader.name: self.reader}
        self._lock = threading.RLock()
        self._callbacks = CallbackManager()  # one for every retriever (see HybridRetriever)
        self._lexical = None
        self._sentences = None
        self._revision = None
        self._documents: tuple[str | None, list] = (None, [])
        if s.seed:
            self._seed_once()

    @property
    def _sentence_dir(self) -> Path:
        return self.settings.data_dir / "sentences"

    # corpus ------------------------------------------------------------------
    def _seed_marker(self) -> Path:
        key = re.sub(r"[^A-Za-z0-9]+", "_", self.store.location if self.settings.chroma_url else "local")
        return self.settings.data_dir / f".seeded-{self.settings.collection}-{key}"

    def _seed_once(self) -> None:
        """Index the seed corpus on first use of a data directory, never again
        (so a user who removes the seed article does not get it back)."""
        marker = self._seed_marker()
        if marker.exists():
            return
        if self.settings.seed_dir.is_dir():
            self.add([self.settings.seed_dir])
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("seeded\n")

    @_store_errors
    def add(self, paths: Iterable[Path], progress: Callable | None = None, names: dict[Path, str] | None = None):
        """Index files and folders; ``progress`` gets ``index.ingest.Step``
        reports, ``names`` the file names to list files under (an upload's
        original name; default their own).

        The lexical index is brought up to date before returning, so the next
        question (in this process or a new one) does not pay for it.
        """
        with self._lock:
            report = self.indexer.add_paths(paths, progress, names)
            self.lexical()
            return report

    @_store_errors
    def add_documents(self, docs, progress=None):
        with self._lock:
            report = self.indexer.add_documents(docs, progress=progress)
            self.lexical()
            return report

    @_store_errors
    def remove(self, doc_id: str) -> bool:
        with self._lock:
            removed = self.store.remove(doc_id)
            self.lexical()
            return removed

    @_store_errors
    def repair(self) -> list[str]:
        """Drop documents left incomplete (``Store.repair``); their ids."""
        with self._lock:
            removed = self.store.repair()
            if removed:
                self.lexical()
            return removed

    @_store_errors
    def check(self, repair: bool = False):
        """``Store.check``; after a repair the lexical index follows the store."""
        with self._lock:
            result = self.store.check(repair)
            if repair and result.problems:
                self.lexical()
            return result

    @_store_errors
    def documents(self):
        """Listed once per store revision: the UI asks on every question."""
        with self._lock:
            revision = self.store.revision()
            if self._documents[0] != revision:
                self._documents = (revision, self.store.list())
            return list(self._documents[1])

    @_store_errors
    def document(self, doc_id: str):
        return self.store.document(doc_id)

    def lexical(self):
        """The BM25 index for the store's current revision (whoever changed
        it); the sentence search (:meth:`sentences`) follows the same revision."""
        from index.sentences import ChromaSentences, SentenceVectors
        from qa.retrieve import LexicalIndex

        with self._lock:
            revision = self.store.revision()
            if revision != self._revision or self._lexical is None:
                self._lexical = LexicalIndex.open(self.store, self.settings.data_dir / "lexical",
                                                  max(self.settings.top_k, 20))
                self._sentences = (ChromaSentences(self.store) if self.settings.chroma_url else
                                   SentenceVectors.open(self.store, self._sentence_dir))
                self._revision = revision
                self._retrievers = {}
            return self._lexical

    def sentences(self):
        """Where questions find sentences and candidates their vectors and
        places: for a local store its int8 copy (``index.sentences``), so
        Chroma never loads the sentence index into this process; for a
        server, the server."""
        with self._lock:
            self.lexical()
            return self._sentences

    def retriever(self, top_k: int, mode: str = "hybrid", documents: frozenset[str] | None = None):
        """The retriever for ``top_k`` and ``mode``, kept per store revision;
        one restricted to ``documents`` (doc_ids) is made for the question,
        since the combinations are endless."""
        from qa.retrieve import HybridRetriever

        with self._lock:
            lexical, sentences = self.lexical(), self._sentences
            if documents:
                return HybridRetriever(self.vector_index, sentences, lexical, top_k, mode,
                                       callback_manager=self._callbacks, documents=documents)
            key = (top_k, mode)
            if key not in self._retrievers:
                self._retrievers[key] = HybridRetriever(self.vector_index, sentences, lexical, top_k, mode,
                                                        callback_manager=self._callbacks)
            return self._retrievers[key]

    def check_documents(self, documents) -> frozenset[str] | None:
        """The doc_ids a question is restricted to, or None for all of them
        (``documents`` None or empty).  An unknown doc_id is a ValueError
        that names it."""
        if documents is None:
            return None
        if isinstance(documents, str) or not all(isinstance(d, str) for d in documents):
            raise ValueError("documents must be a list of doc_ids")
        wanted = frozenset(documents)
        if not wanted:
            return None
        unknown = sorted(wanted - {d.doc_id for d in self.documents()})
        if unknown:
            raise ValueError(f"no such document: {', '.join(repr(d) for d in unknown)}")
        return wanted

    def reader_for(self, reader=None):
        """The configured reader, another one by name (made once, then
        kept), or ``reader`` itself when it is already a Reader."""
        if reader is None:
            return self.reader
        if not isinstance(reader, str):
            return reader
        with self._lock:
            if reader not in self._readers:
                from qa.reading import make_reader

                self._readers[reader] = make_reader(reader, self.settings)
            return self._readers[reader]

    # answering ---------------------------------------------------------------
    def check_question(self, question) -> str:
        if not isinstance(question, str):
            raise ValueError(f"question must be a string, not {type(question).__name__}")
        if not question.strip():
            raise ValueError("question is empty")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise ValueError(f"question is {len(question)} characters long; the limit is {limit} (QA_MAX_QUESTION_CHARS)")
        _refuse_surrogates(question, "question")
        return question.strip()

    @_store_errors
    def read(self, question: str, history: list | None = None, top_k: int | None = None,
             mode: str = "hybrid", reader=None, documents=None) -> "ReadResult":
        """Retrieve and read, without choosing: what ``answer`` composes from,
        and what a threshold sweep needs (the readings do not depend on the
        thresholds).  ``reader`` (a name or a Reader) overrides the
        configured one, and ``documents`` restricts retrieval, as in
        ``answer``."""
        from llama_index.core.schema import QueryBundle

        from index.chunk import spans_of
        from qa.followup import resolve_history
        from qa.reading.heuristic import score_candidates

        question = self.check_question(question)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        top_k = top_k or self.settings.top_k
        if not 1 <= top_k <= MAX_TOP_K:
            raise ValueError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}")
        documents = self.check_documents(documents)
        t0 = time.perf_counter()
        budget = self.settings.answer_timeout
        reader = self.reader_for(reader)
        reader.warm()
        context = resolve_history(question, history)
        if context:
            _refuse_surrogates(context, "the history's earlier question")
        query = f"{context} {question}" if context else question
        qvec = self.embedder.embed([query])[0]
        retriever = self.retriever(top_k, mode, documents)
        nodes = retriever.retrieve(QueryBundle(query_str=query, embedding=qvec.tolist()))
        t1 = time.perf_counter()
        _within(budget, t1 - t0, "retrieval")
        keys = sorted({f"{n.node.metadata['doc_id']}@{s.index}" for n in nodes for s in spans_of(n.node)})
        entries = retriever.sentences.entries(keys)
        vectors = {key: vector for key, (vector, _) in entries.items()}
        places = {key: place for key, (_, place) in entries.items()}
        candidates = score_candidates(question, context, qvec, nodes, vectors, retriever.lexical.stats, places)
        readings = reader.read(question, context, candidates)
        t2 = time.perf_counter()
        _within(budget, t2 - t0, "reading")
        return ReadResult(question, nodes, readings, {"retrieve": t1 - t0, "read": t2 - t1})

    def answer(self, question: str, history: list | None = None, top_k: int | None = None,
               mode: str = "hybrid", max_sentences: int | None = None, reader=None, documents=None) -> Answer:
        """Answer ``question``; ``documents`` (doc_ids) restricts retrieval to
        those documents (None or empty: all of them).  The answer is judged
        confident, tentative or abstained by the reader's bars
        (``qa.cite.judgement``)."""
        from qa.compose import compose
        from qa.reading.records import select

        reader = self.reader_for(reader)
        t0 = time.perf_counter()
        reading = self.read(question, history, top_k, mode, reader, documents)
        most = max_sentences or self.settings.max_answer_sentences
        chosen = select(reading.readings, reader.threshold, reader.keep, most)
        short_bar = getattr(reader, "short_bar", float("-inf"))
        composed = rendered(compose(reading.question, chosen, reading.readings, short_bar), reading.readings)
        result = judged(composed, reader.confident)
        result.retrieved = [Retrieved(n.node.metadata["doc_id"], n.node.node_id, round(float(n.score or 0), 6),
                                      n.node.get_content()) for n in reading.nodes]
        total = time.perf_counter() - t0
        result.timings_ms = {"retrieve": round(reading.seconds["retrieve"] * 1000, 2),
                             "answer": round((total - reading.seconds["retrieve"]) * 1000, 2),
                             "total": round(total * 1000, 2)}
        return result


def rendered(answer: Answer, readings: list) -> Answer:
    """The answer's sentences as their rendered pages show them: a Markdown
    or reStructuredText sentence reads without its markup (its place's
    ``plain``: ``If check is true`` for ``If *check* is true``).  Citations
    keep the stored text, which is what their offsets index."""
    plain = {(r.candidate.doc_id, r.candidate.span.index): r.candidate.place.plain
             for r in readings if r.candidate.place is not None and r.candidate.place.plain}
    if answer.abstained or not plain:
        return answer
    from qa.cite import AnswerSentence

    cited = {c.id: (c.doc_id, c.sentence_index) for c in answer.citations}
    answer.sentences = [AnswerSentence(plain.get(cited.get(s.citations[0]), s.text) if len(s.citations) == 1 else s.text,
                                       s.citations) for s in answer.sentences]
    answer.answer = " ".join(f"{s.text} [{s.citations[0]}]" for s in answer.sentences)
    return answer


def _background(load: Callable[[], object], name: str) -> None:
    """Run ``load`` in a thread whose failure is left for the caller that
    needs what it loads to report.  Not a daemon: a process that exits while
    Rust or C++ is loading would abort instead of exiting with its own code."""

    def run() -> None:
        try:
            load()
        except Exception:
            pass

    threading.Thread(target=run, name=name).start()


def _within(budget: float, elapsed: float, stage: str) -> None:
    if elapsed > budget:
        raise AnswerTimeout(f"the answer took longer than its {budget:g} s budget (stopped after {stage}, "
                            f"{elapsed:.2f} s; QA_ANSWER_TIMEOUT)")


def _refuse_surrogates(text: str, what: str) -> None:
    """A lone surrogate (Python allows one in a str, e.g. from
    surrogateescape) is not text: no tokenizer or JSON encoder takes it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"{what} is not valid Unicode: a lone surrogate U+{ord(text[err.start]):04X} "
                         f"at character {err.start}") from None


@dataclass
class ReadResult:
    """What ``Engine.read`` found: the retrieved chunks and the reader's
    judgement of every candidate sentence, best first."""

    question: str
    nodes: list
    readings: list
    seconds: dict[str, float]
