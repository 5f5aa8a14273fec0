"""The passage reader: the model trained by ``make reader`` (``qa.training``).

It reads the question with a passage of neighbouring sentences, the way a
person reads a paragraph rather than a sentence on its own, so "he", "the
latter" and "the agreement" are read with what they refer to:
``[CLS] question [SEP] heading | passage [SEP]``, where the heading is the
sentence's section path when its document has one, else the document's title.
One pass scores every sentence of the passage at once (see
``qa/training/trainer.py`` for the heads).

Passages are built from the candidates: each of the :data:`POOL` best by the
heuristic score, with :data:`NEIGHBOURS` sentences either side that retrieval
also returned, windows of one document merged, each cut to
:data:`MAX_TOKENS`.  Every sentence in a passage gets a reading; a
:class:`~qa.reading.calibrate.Calibration` fitted on development data makes
its scores one probability.  The short answer is the best span of the best
sentence; ``qa.compose`` marks it sure when its span score clears ``short_bar``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from qa.reading.calibrate import Calibration
from qa.reading.records import Candidate, Reading

MODEL_DIR = Path(__file__).resolve().parent.parent.parent / "index" / "model" / "reader"
TOKENIZER_PATH = MODEL_DIR.parent / "tokenizer.json"
#: Longest input, in WordPiece tokens; training used the same.
MAX_TOKENS = 256
#: Inputs are cut at this many tokens (a long question can push a passage
#: past MAX_TOKENS) and padded to a multiple of WIDTH_STEP.
MAX_WIDTH = MAX_TOKENS + 64
WIDTH_STEP = 64
#: Longest short answer, in tokens.
MAX_SPAN_TOKENS = 30
HEADING_SEP = " | "
#: Passages are built around this many of the best candidates by the
#: heuristic score ...
POOL = 6
#: ... each with this many neighbouring sentences either side.
NEIGHBOURS = 2


def load_tokenizer():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def heading(candidate: Candidate) -> str:
    section = getattr(candidate.place, "section", None) if candidate.place else None
    return " › ".join(section) if section else candidate.title


def passages(candidates: list[Candidate], sizes: dict[int, int], question_tokens: int,
             heading_tokens: dict[str, int]) -> list[list[Candidate]]:
    """Windows of neighbouring candidates, in document order, each fitting
    MAX_TOKENS and each under one heading; ``sizes`` maps ``id(candidate)``
    to its token count.

    A window ends where the section does: read under its neighbour's heading,
    an API description's "The final path component, without its suffix"
    is taken to describe the neighbour (measured on docs-dev: gold evidence
    0.42 -> 0.58).  Plain text has one heading, its title, so nothing changes there."""
    by_doc: dict[str, dict[int, Candidate]] = {}
    for c in candidates:
        by_doc.setdefault(c.doc_id, {})[c.span.index] = c
    wanted: dict[str, set[int]] = {}
    for c in candidates[:POOL]:
        sentences = by_doc[c.doc_id]
        keep = wanted.setdefault(c.doc_id, set())
        keep.add(c.span.index)
        for step in (-1, 1):
            i = c.span.index
            for _ in range(NEIGHBOURS):
                i += step
                if i not in sentences:
                    break
                keep.add(i)
    out = []
    for doc_id, indexes in wanted.items():
        sentences = by_doc[doc_id]
        run: list[Candidate] = []
        used = 0
        for i in sorted(indexes):
            c = sentences[i]
            room = MAX_TOKENS - 3 - question_tokens - heading_tokens[doc_id]
            if run and (run[-1].span.index != i - 1 or used + sizes[id(c)] > room or heading(run[-1]) != heading(c)):
                out.append(run)
                run, used = [], 0
            run.append(c)
            used += sizes[id(c)]
        if run:
            out.append(run)
    return out


class PassageReader:
    """The trained passage reader (``index/model/reader/model.onnx``)."""

    name = "cross-encoder"

    def __init__(self, path: Path | None = None, calibrated: bool = True):
        """``calibrated=False`` reads with the default calibration and calls
        every short answer sure: what a sweep needs to fit both itself."""
        self.path = Path(path or MODEL_DIR / "model.onnx")
        calibration = self.path.parent / "calibration.json"
        values = json.loads(calibration.read_text()) if calibration.is_file() else {}
        self.threshold = float(values.get("threshold", 0.5))
        self.keep = float(values.get("keep", 0.5))
        self.confident = float(values.get("confident", self.threshold))
        self.short_bar = float(values.get("short_bar", 0.0)) if calibrated else float("-inf")  # see compose
        self.calibration = (Calibration.from_dict(values["calibration"]) if calibrated and values.get("calibration")
                            else Calibration())
        self._loaded = None
        self._loading = threading.Lock()
        self._warming = False

    def warm(self) -> None:
        """One background load at most; ``read`` waits for it on the lock.
        Not a daemon thread: a process that exits while onnxruntime is
        building the session (``qa ask`` failing fast) would abort in C++
        ("terminate called") instead of exiting with its own code."""
        if self._loaded is None and not self._warming:
            self._warming = True
            threading.Thread(target=self._load_quietly, name="reader-warm").start()

    def _load_quietly(self) -> None:
        """A failed warm-up is reported by the ``read`` that needs the model."""
        try:
            self._runtime
        except Exception:
            pass

    @property
    def _runtime(self):
        with self._loading:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self):
        from index import runtime

        if not self.path.is_file():
            raise FileNotFoundError(f"reading model not found at {self.path} (run `make reader` to train one)")
        session = runtime.session(str(self.path))
        return load_tokenizer(), session

    def score(self, items: list[tuple[str, str, list[str]]]):
        """Raw scores of ``(question, heading, sentences)`` passages: per
        passage, per sentence, ``(answerable, evidence, span, (a, b))``, where
        ``span`` is the best span's score against the null span and ``(a, b)``
        its character offsets inside the sentence (None when the sentence
        lost every token to the cut)."""
        tokenizer, session = self._runtime
        pairs, bounds = [], []
        for question, head, sentences in items:
            prefix = head + HEADING_SEP if head else ""
            text, starts = prefix, []
            for k, s in enumerate(sentences):
                if k:
                    text += " "
                starts.append(len(text))
                text += s
            pairs.append((question, text))
            bounds.append([(a, a + len(s)) for a, s in zip(starts, sentences)])
        encodings = tokenizer.encode_batch(pairs)
        n = len(encodings)
        owner = np.full((n, MAX_WIDTH), -1, dtype=np.int64)
        start = np.zeros((n, MAX_WIDTH), dtype=np.float32)
        end = np.zeros_like(start)
        answerable = np.zeros(n, dtype=np.float32)
        evidence = np.zeros_like(start)
        for r, (e, b) in enumerate(zip(encodings, bounds)):
            # One passage a run, its width rounded up to WIDTH_STEP: with few
            # distinct shapes onnxruntime's memory stays flat (measured: 240 MB
            # over 480 runs, where batches of 1-8 rows of any width grew a
            # session from 291 to 490 MB in its first 60 runs).
            k = min(len(e.ids), MAX_WIDTH)
            width = min(-(-k // WIDTH_STEP) * WIDTH_STEP, MAX_WIDTH)
            ids = np.zeros((1, width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            ids[0, :k], mask[0, :k], types[0, :k] = e.ids[:k], 1, e.type_ids[:k]
            # An Encoding's lists are built anew on every attribute read:
            # read once, not once per token (7 ms a question on the seed).
            sequence, offsets = e.sequence_ids, e.offsets
            j = 0
            for t in range(k):
                if sequence[t] != 1:
                    continue
                a, z = offsets[t]
                while j < len(b) and a >= b[j][1]:
                    j += 1
                if j < len(b) and z > a and a >= b[j][0]:
                    owner[r, t] = j
            got = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
            answerable[r] = got[0][0]
            evidence[r, :width], start[r, :width], end[r, :width] = got[1][0], got[2][0], got[3][0]
        out = []
        for r, (e, b) in enumerate(zip(encodings, bounds)):
            null = start[r, 0] + end[r, 0]
            offsets = e.offsets
            rows = []
            for j, (lo, hi) in enumerate(b):
                toks = np.nonzero(owner[r] == j)[0]
                if not len(toks):
                    rows.append(None)
                    continue
                m = start[r, toks][:, None] + end[r, toks][None, :]
                k = len(toks)
                allowed = np.triu(np.ones((k, k), dtype=bool)) & ~np.triu(np.ones((k, k), dtype=bool),
                                                                           MAX_SPAN_TOKENS)
                m = np.where(allowed, m, -np.inf)
                i, z = np.unravel_index(int(np.argmax(m)), m.shape)
                span = (offsets[toks[i]][0] - lo, offsets[toks[z]][1] - lo)
                rows.append((float(answerable[r]), float(evidence[r, toks].mean()), float(m[i, z] - null), span))
            out.append(rows)
        return out

    def read(self, question: str, context: str | None, candidates: list[Candidate]) -> list[Reading]:
        # The model reads the question as asked: the earlier question of a
        # follow-up already steered retrieval and the heuristic order.
        if not candidates:
            return []
        tokenizer, _ = self._runtime
        texts = [c.text for c in candidates]
        sizes = {id(c): len(e.ids) for c, e in zip(candidates, tokenizer.encode_batch(texts,
                                                                                      add_special_tokens=False))}
        # Each passage is read under its own section's heading (``passages``
        # cuts at section ends); room is kept for the document's longest.
        heads = {id(c): heading(c) for c in candidates}
        counted = {h: len(tokenizer.encode(h + HEADING_SEP, add_special_tokens=False).ids) if h else 0
                   for h in set(heads.values())}
        head_tokens: dict[str, int] = {}
        for c in candidates:
            head_tokens[c.doc_id] = max(head_tokens.get(c.doc_id, 0), counted[heads[id(c)]])
        q_tokens = len(tokenizer.encode(question, add_special_tokens=False).ids)
        windows = passages(candidates, sizes, q_tokens, head_tokens)
        scores = self.score([(question, heads[id(w[0])], [c.text for c in w])
                             for w in windows])
        best: dict[int, tuple] = {}
        for window, rows in zip(windows, scores):
            for c, row in zip(window, rows):
                if row is None:
                    continue
                answerable, evidence, span, (a, b) = row
                if id(c) not in best or span > best[id(c)][1][2]:
                    best[id(c)] = (c, (answerable, evidence, span, c.score), (c.span.start + a, c.span.start + b))
        raw = [Reading(c, 0.0, short, features) for c, features, short in best.values()]
        return self.recombined(raw, self.calibration)

    @staticmethod
    def recombined(readings: list[Reading], calibration: Calibration) -> list[Reading]:
        """The readings' probabilities under ``calibration``, best first (a sweep refits it)."""
        probabilities = calibration.probabilities([r.features for r in readings])
        return sorted((Reading(r.candidate, p, r.short, r.features) for r, p in zip(readings, probabilities)),
                      key=lambda r: -r.probability)
