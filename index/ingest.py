"""Adding files to the store: segment, chunk, embed in large batches, write.

Sentences are embedded once; a chunk's vector is the normalised mean of its
sentences' vectors and a document's vector the mean of all of them, so ingest
costs one embedder pass over the text and nothing more.

A PDF, DOCX, Markdown or reStructuredText document arrives with its layout;
each sentence's :class:`~index.store.Place` (pages and line rectangles,
paragraphs, or the section path and the text as rendered) is worked out
here, once, so answering never needs the layout again.  A PDF read from a
path also hands its bytes on, for the store to keep.

A Markdown or reStructuredText sentence is embedded as it reads on the
rendered page, after the last two parts of its section (``subprocess.run ›
check: If check is true, ...``): a sentence that does not name its subject
("By default, N.") is then found by a question that does.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from index.chunk import make_chunks, to_node
from index.embed import MiniLMEmbedding
from index.load import Document, LoadError, discover, doc_id_for, load_bytes, read_file
from index.outline import Outline
from index.segment import Span, document_spans
from index.sentences import SentenceVectors
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


@dataclass(frozen=True)
class Step:
    """Where an ingest is, for a progress bar.

    ``stage`` is "reading" (a file; a PDF page by page), "embedding" (a
    batch of sentences), "writing" (the batch into the store) or "done";
    ``name`` the file at work (several: the first and how many more);
    ``done`` of ``total`` ``unit`` in this stage; ``files_done`` of
    ``files_total`` files read so far; ``fraction`` of the whole run done
    and ``seconds_left``, both estimated from the rates measured so far
    (see :class:`Tracker`; None while there is nothing to go by, before a
    file's first page is read); ``report`` the outcome so far.
    """

    stage: str
    name: str
    done: int
    total: int
    unit: str
    files_done: int
    files_total: int
    fraction: float
    seconds_left: float | None
    report: "IngestReport"

    def describe(self) -> str:
        """One line for a person: "Embedding report.pdf: 4,096 of 9,477
        sentences · about 40 s left"."""
        verb = {"reading": "Reading", "embedding": "Embedding", "writing": "Writing"}.get(self.stage)
        if verb is None:
            return "Indexed"
        counts = f"{self.done:,} of {self.total:,} {self.unit}" if self.total else ""
        if self.stage == "reading" and self.unit == "pages" and self.total:
            counts = f"page {self.done:,} of {self.total:,}"
        elif self.stage == "writing":
            counts = f"{self.total:,} {self.unit} into the index"
        files = ""
        if self.stage == "reading" and self.files_total > 1:
            files = f" (file {min(self.files_done + 1, self.files_total)} of {self.files_total})"
        return f"{verb} {self.name}{files}{': ' + counts if counts else ''} · {left_text(self.seconds_left)}"


def left_text(seconds: float | None) -> str:
    """"about 40 s left", "about 2 min left", "a moment left"."""
    if seconds is None:
        return "estimating the time left"
    if seconds < 1.5:
        return "a moment left"
    if seconds < 90:
        return f"about {seconds:.0f} s left"
    return f"about {seconds / 60:.0f} min left"


#: ``progress(step)``, called as pages are read, batches of sentences
#: embedded and written, and once at the end.
Progress = Callable[[Step], None]


class Rates:
    """Seconds per unit of work, measured as an ingest runs and kept for the
    next one.  The priors are this project's 2-core machine under load
    (1,700 padded tokens embedded per second, 4,000 sentences written);
    embedding is most of an ingest (a 143-page PDF: 3 s reading, 1 s
    segmenting, 67 s embedding).  Text is about 3 characters a token (2.5
    for code-heavy manuals, 4.6 for news prose)."""

    CHARS_PER_TOKEN = 3.0
    #: Padded tokens the prior counts for, against the pace measured in a
    #: batch: the first sub-batch alone runs slow (onnxruntime allocating).
    PRIOR_WEIGHT = 2048

    def __init__(self, token_s: float = 1 / 1700, write_s: float = 1 / 4000):
        self.token_s = token_s
        self.write_s = write_s

    def learn(self, name: str, seconds: float, units: int) -> None:
        if units > 0 and seconds > 0:
            old = getattr(self, name)
            setattr(self, name, 0.5 * old + 0.5 * seconds / units)


class Tracker:
    """Turns what the indexer does into :class:`Step` reports with an
    estimate of the time left: the pages still to read at this file's pace,
    the work still to embed (known exactly once a batch is tokenized,
    before that its characters over ``Rates.CHARS_PER_TOKEN``) at the pace
    of the batch being embedded (the learned rate before its first
    sub-batch), the sentences still to write, and for the files not opened
    yet as much again per file as those opened took.  Reports come at most
    every ``interval`` seconds, except when the stage changes and at the
    end."""

    def __init__(self, progress: Progress | None, files_total: int, report: "IngestReport", rates: Rates,
                 interval: float = 0.2):
        self.progress = progress
        self.files_total = files_total
        self.report = report
        self.rates = rates
        self.interval = interval
        self.started = time.perf_counter()
        self.files_opened = 0
        self.files_read = 0
        self.queued_work = 0.0  # estimated padded tokens of files read but not embedded
        self.queued_sentences = 0  # sentences read but not written
        self.reading = (0, 0, 0.0, 0)  # pages done, pages total, seconds, characters (of the file being read)
        self.read_started = self.started
        self.embed = (0.0, 0.0, 0.0)  # started, padded tokens done, left (of the batch being embedded)
        self.last = ("", 0.0)

    # what the indexer reports --------------------------------------------------
    def opening(self, name: str) -> None:
        self.files_opened += 1
        self.files_total = max(self.files_total, self.files_opened)
        self.reading = (0, 0, 0.0, 0)
        self.read_started = time.perf_counter()
        self._emit("reading", name, 0, 0, "pages", force=True)

    def read_page(self, name: str, done: int, total: int, chars: int) -> None:
        self.reading = (done, total, time.perf_counter() - self.read_started, chars)
        self._emit("reading", name, done, total, "pages", force=done == total)

    def read(self, chars: int, sentences: int) -> None:
        """A file is read and segmented (``sentences`` 0: it was skipped)."""
        self.files_read += 1
        self.reading = (0, 0, 0.0, 0)
        self.queued_work += chars / Rates.CHARS_PER_TOKEN
        self.queued_sentences += sentences

    def embedding(self, names: list[str], sentences: int, chars: int) -> Callable[[int, int, int, int], None]:
        """A batch of ``sentences`` starts embedding; returns the callback
        for ``MiniLMEmbedding.embed``."""
        guess = chars / Rates.CHARS_PER_TOKEN
        self.queued_work = max(0.0, self.queued_work - guess)
        self.embed = (time.perf_counter(), 0.0, guess)
        name = _names(names)
        self._emit("embedding", name, 0, sentences, "sentences", force=True)

        def batch(done: int, total: int, work_done: int, work_total: int) -> None:
            self.embed = (self.embed[0], float(work_done), float(work_total - work_done))
            if done == total:
                self.rates.learn("token_s", time.perf_counter() - self.embed[0], work_total)
            self._emit("embedding", name, done, total, "sentences", force=done == total)

        return batch

    def writing(self, names: list[str], sentences: int) -> None:
        self.embed = (0.0, 0.0, 0.0)
        self._emit("writing", _names(names), 0, sentences, "sentences", force=True)

    def wrote(self, sentences: int, seconds: float) -> None:
        self.rates.learn("write_s", seconds, sentences)
        self.queued_sentences = max(0, self.queued_sentences - sentences)

    def finish(self) -> None:
        self._emit("done", "", self.files_total, self.files_total, "files", force=True)

    # the estimate ------------------------------------------------------------
    def seconds_left(self) -> float | None:
        now = time.perf_counter()
        pages_done, pages, seconds, chars = self.reading
        started, work_done, work_left = self.embed
        if not (pages_done or self.queued_work or self.queued_sentences or work_left):
            return None  # a file just opened, nothing read or queued yet
        reading = work = 0.0
        if pages_done and pages:
            reading = (pages - pages_done) * seconds / pages_done
            work = chars * pages / pages_done / Rates.CHARS_PER_TOKEN
        pace = self.rates.token_s
        if started:
            prior = Rates.PRIOR_WEIGHT
            pace = ((now - started) + prior * pace) / (work_done + prior)
        known = (reading + work_left * pace + (self.queued_work + work) * self.rates.token_s
                 + self.queued_sentences * self.rates.write_s)
        opened = max(self.files_opened, 1)
        later = max(0, self.files_total - opened)
        return known + later * (now - self.started + known) / opened

    def _emit(self, stage: str, name: str, done: int, total: int, unit: str, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        if not force and stage == self.last[0] and now - self.last[1] < self.interval:
            return
        self.last = (stage, now)
        left = 0.0 if stage == "done" else self.seconds_left()
        elapsed = now - self.started
        if left is None:
            fraction = self.files_read / max(self.files_total, 1)
        else:
            fraction = 1.0 if stage == "done" else min(0.99, elapsed / max(elapsed + left, 1e-9))
        self.progress(Step(stage, name, done, total, unit, self.files_read, self.files_total,
                           round(fraction, 4), left, self.report))


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


@dataclass(frozen=True)
class Loaded:
    """A document, the bytes of a PDF it was read from (what the viewer
    renders pages from) and the file name to list it under (default: its
    source's name)."""

    doc: Document
    file: bytes | None = None
    name: str = ""

    @property
    def shown(self) -> str:
        return self.name or Path(self.doc.source).name


#: How many parts of a sentence's section, from the end, go into its embedding.
EMBED_SECTION_PARTS = 2


def places(doc: Document, spans: list[Span]) -> list[Place]:
    """Where each sentence sits in its file (empty places for plain text)."""
    from index import pdf, word

    layout = doc.layout
    if isinstance(layout, Outline):
        units = {(u.start, u.end): u for u in layout.sentences}
        out = []
        for s in spans:
            unit = units[(s.start, s.end)]
            shown = unit.plain if unit.plain != " ".join(doc.text[s.start : s.end].split()) else ""
            out.append(Place(section=unit.section, plain=shown))
        return out
    if isinstance(layout, pdf.Layout):
        return [Place(tuple(pdf.pages(layout, s.start, s.end)), tuple(pdf.rects(layout, s.start, s.end)))
                for s in spans]
    if isinstance(layout, word.Layout):
        return [Place(paragraphs=tuple(word.paragraphs(layout, s.start, s.end))) for s in spans]
    return [Place() for _ in spans]


def embedded_texts(doc: Document, spans: list[Span]) -> list[str]:
    """What the embedder reads for each sentence: the stored text, or for
    Markdown and reStructuredText the rendered text after the end of its
    section."""
    if not isinstance(doc.layout, Outline):
        return [doc.text[s.start : s.end] for s in spans]
    units = {(u.start, u.end): u for u in doc.layout.sentences}
    out = []
    for s in spans:
        unit = units[(s.start, s.end)]
        context = " › ".join(unit.section[-EMBED_SECTION_PARTS:])
        out.append(f"{context}: {unit.plain}" if context else unit.plain)
    return out


def page_count(doc: Document) -> int | None:
    from index import pdf

    return len(doc.layout.page_sizes) if isinstance(doc.layout, pdf.Layout) else None


def load_path(path: Path, root: Path | None, name: str | None = None,
              pages: Callable[[int, int, int], None] | None = None) -> Loaded:
    """``index.load.load_file``, keeping a PDF's bytes.  ``name`` is the
    file's name as the user knows it (an upload's original name): a PDF or
    DOCX without a title in its metadata is titled by it, and errors name
    it.  ``pages(done, total, chars)`` follows a PDF's reading."""
    from index import pdf

    data = read_file(path)
    shown = Path(name) if name and Path(name).suffix.lower() == path.suffix.lower() else path
    with pdf.page_progress(pages):
        doc = load_bytes(data, shown, doc_id_for(path, root), source=str(path))
    return Loaded(doc, data if path.suffix.lower() == ".pdf" else None, name or path.name)


class Indexer:
    def __init__(self, store: Store, embedder: MiniLMEmbedding, chunk_tokens: int = 200,
                 chunk_overlap: int = 1, batch_sentences: int = 2048, shards: Path | None = None):
        """``shards``: where to write each document's sentence shard
        (``index.sentences``; a local store's), or None."""
        self.store = store
        self.shards = shards
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.batch_sentences = batch_sentences
        self.rates = Rates()

    def add_paths(self, paths: Iterable[Path], progress: Progress | None = None,
                  names: dict[Path, str] | None = None) -> IngestReport:
        """Index files and folders, reporting to ``progress`` (see
        :class:`Step`).  ``names`` gives a file the name to list it under
        (an upload's original name; default its own)."""
        files = list(discover(Path(p) for p in paths))
        report = IngestReport()
        tracker = Tracker(progress, len(files), report, self.rates)

        def documents():
            for path, root in files:
                given = (names or {}).get(path)
                name = given or path.name
                tracker.opening(name)
                try:
                    yield load_path(path, root, given, lambda done, total, chars: tracker.read_page(
                        name, done, total, chars))
                except LoadError as err:
                    report.skipped.append(str(err))
                    tracker.read(0, 0)
                    yield None

        return self._add(documents(), tracker)

    def add_documents(self, docs: Iterable[Document | Loaded | None], total: int | None = None,
                      progress: Progress | None = None) -> IngestReport:
        """Index documents already read (``total`` of them, for the progress
        estimate).  A PDF passed as a bare Document is cited to its pages,
        but without its bytes the viewer can only show its text."""
        if total is None and hasattr(docs, "__len__"):
            total = len(docs)
        return self._add(docs, Tracker(progress, total or 0, IngestReport(), self.rates))

    def _add(self, docs: Iterable[Document | Loaded | None], tracker: Tracker) -> IngestReport:
        """Embed in the calling thread while the previous batch is written to
        Chroma in another: Chroma's inserts (its HNSW graph, SQLite) release
        the GIL, so on two cores they mostly hide behind the embedder."""
        report = tracker.report
        report.repaired = self.store.repair()
        pending: list[tuple[Loaded, list, list, bool]] = []
        pending_sentences = 0
        indexed = {d.doc_id: d.sha256 for d in self.store.list()}
        by_sha = {sha: doc_id for doc_id, sha in indexed.items()}
        run: set[str] = set()
        with ThreadPoolExecutor(1, thread_name_prefix="groundqa-write") as writer:
            in_flight: tuple[Future, list[str], int] | None = None

            def wait() -> None:
                if in_flight is not None:
                    future, names, sentences = in_flight
                    if not future.done():
                        tracker.writing(names, sentences)
                    future.result()  # one batch in flight; re-raises its error

            def flush() -> None:
                nonlocal in_flight, pending, pending_sentences
                batch = self._embed(pending, tracker)
                wait()
                in_flight = None
                if batch:
                    in_flight = (writer.submit(self._write, batch, report, tracker),
                                 [loaded.shown for loaded, *_ in pending], pending_sentences)
                pending, pending_sentences = [], 0

            for item in docs:
                if item is None:  # a file add_paths could not read
                    continue
                loaded = item if isinstance(item, Loaded) else Loaded(item)
                doc = loaded.doc
                if tracker.files_opened <= tracker.files_read:  # read by the caller, not by add_paths
                    tracker.opening(loaded.shown)
                outcome = self._plan(doc, indexed, by_sha, run, report)
                if outcome is None:
                    tracker.read(0, 0)
                    continue
                spans = document_spans(doc)
                chunks = make_chunks(doc, spans, self.chunk_tokens, self.chunk_overlap)
                pending.append((loaded, spans, chunks, outcome))
                pending_sentences += len(spans)
                tracker.read(sum(s.end - s.start for s in spans), len(spans))
                if pending_sentences >= self.batch_sentences:
                    flush()
            flush()
            wait()
        tracker.finish()
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

    def _embed(self, pending, tracker: Tracker) -> list[tuple[Entries, bool]]:
        """Each pending document's store entries, and whether it replaces an older version."""
        if not pending:
            return []
        texts = [text for loaded, spans, _, _ in pending for text in embedded_texts(loaded.doc, spans)]
        batch_done = tracker.embedding([loaded.shown for loaded, *_ in pending], len(texts), sum(map(len, texts)))
        vectors = self.embedder.embed(texts, progress=batch_done)
        batch, offset = [], 0
        for loaded, spans, chunks, replaces in pending:
            doc = loaded.doc
            vecs = vectors[offset : offset + len(spans)]
            offset += len(spans)
            nodes = [to_node(doc, c, _unit(vecs[c.spans[0].index : c.spans[-1].index + 1].mean(0)).tolist())
                     for c in chunks]
            batch.append((Entries(doc, _unit(vecs.mean(0)), spans, vecs, nodes, places(doc, spans), loaded.file,
                                  loaded.shown, page_count(doc)), replaces))
        return batch

    def _write(self, batch: list[tuple[Entries, bool]], report: IngestReport, tracker: Tracker) -> None:
        started = time.perf_counter()
        self.store.write([e for e, _ in batch], replacing=[e.doc.doc_id for e, replaces in batch if replaces])
        if self.shards is not None:
            for e, _ in batch:
                SentenceVectors.save_document(self.shards, e.doc.doc_id, e.doc.sha256, [s.index for s in e.spans],
                                              e.sentence_vectors, e.places or [Place()] * len(e.spans))
        tracker.wrote(sum(len(e.spans) for e, _ in batch), time.perf_counter() - started)
        for e, replaces in batch:
            (report.replaced if replaces else report.added).append(e.doc.doc_id)
            report.sentences += len(e.spans)
