"""Reading: which candidate sentences answer the question, as probabilities.

Retrieval proposes sentences (``qa.extractive.candidates``); a :class:`Reader`
reads each one with the question and says how likely it is to answer it.
:func:`select` then answers with the best sentence, plus any others above a
second bar, or abstains when even the best is below the reader's threshold.

Three readers (``QA_READER`` / ``--reader``):

* ``cross-encoder`` (default): the reading model trained by ``make reader``
  (``qa.training``), shipped as int8 ONNX in ``index/model/reader/`` and run
  with onnxruntime and tokenizers only.  It also marks the short answer
  inside the best sentence (its span head).
* ``heuristic``: MiniLM cosine plus IDF word cover (``qa.extractive``), the
  reader groundqa had before it had a model.
* ``llm``: an OpenAI-compatible server picks the sentences
  (``qa.llm_select``); chosen sentences get probability 1, others 0.

Each reader's thresholds live with it: the cross-encoder's in
``index/model/reader/calibration.json``, written by the sweep that chose them
(``qa eval --sweep --write``) from development data only.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.extractive import Candidate, reading_order

MODEL_DIR = Path(__file__).resolve().parent.parent / "index" / "model" / "reader"
TOKENIZER_PATH = Path(__file__).resolve().parent.parent / "index" / "model" / "tokenizer.json"
READERS = ("cross-encoder", "heuristic", "llm")
#: Longest question/sentence pair read, in WordPiece tokens (longer pairs are
#: cut, the longer side first).  Training used the same limit.
MAX_TOKENS = 128
#: Padded tokens per onnxruntime call: small batches are faster per token on
#: 2 cores (the embedder measured the same).
BATCH_TOKENS = 2048
#: The model reads at most this many candidates per question, the best by the
#: heuristic score.  Reading is most of an answer's time (about 5 ms a pair on
#: 2 cores).  On the dev sets (seed, squad-dev, pool-val: 1,513 questions, up
#: to 26 candidates each), reading only the top 6 instead of all of them left
#: the combined reader's best-sentence share unchanged on seed and squad-dev
#: (0.747 -> 0.746 on pool-val) and its answerability AUC within 0.001: with
#: the combiner, a candidate the heuristic ranks below 6th almost never wins.
#: Each candidate less saves about 5 ms.
POOL = 6
#: Longest short answer, in tokens.
MAX_SPAN_TOKENS = 30


@dataclass(frozen=True)
class Reading:
    """One candidate as a reader judged it; ``short`` is the short answer's
    ``[start, end)`` in document offsets, inside the sentence, when known."""

    candidate: Candidate
    probability: float
    short: tuple[int, int] | None = None


class Reader(Protocol):
    name: str
    #: Abstain when the best probability is below this.
    threshold: float
    #: Sentences after the best join the answer at this probability or more.
    keep: float

    def read(self, question: str, context: str | None, candidates: list[Candidate]) -> list[Reading]:
        """Readings best first; ``context`` is the earlier question a
        follow-up leans on (``extractive.resolve_history``), or None."""
        ...

    def warm(self) -> None:
        """Start loading whatever ``read`` needs without waiting for it, so
        that a cold start loads it while retrieval runs."""
        ...


def select(readings: list[Reading], threshold: float, keep: float, most: int) -> list[Reading]:
    """The answer's sentences in reading order, or ``[]`` to abstain."""
    if not readings or readings[0].probability < threshold:
        return []
    best = readings[0]
    rest = [r for r in readings[1:] if r.probability >= max(keep, threshold)]
    chosen = [best] + rest[: most - 1]
    order = {id(c): i for i, c in enumerate(reading_order([r.candidate for r in chosen]))}
    return sorted(chosen, key=lambda r: order[id(r.candidate)])


def make_reader(name: str, settings) -> Reader:
    if name == "cross-encoder":
        return CrossEncoderReader()
    if name == "heuristic":
        from qa.extractive import HeuristicReader

        return HeuristicReader()
    if name == "llm":
        from qa.llm_select import LLMReader

        return LLMReader(settings)
    raise ValueError(f"reader must be one of {', '.join(READERS)}, not {name!r}")


# the trained cross-encoder -------------------------------------------------------
def logistic(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def load_tokenizer():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
    tokenizer.no_padding()
    return tokenizer


def encode_pairs(tokenizer, questions: list[str], sentences: list[str]):
    """``[CLS] question [SEP] sentence [SEP]`` as padded int64 arrays."""
    encodings = tokenizer.encode_batch(list(zip(questions, sentences)))
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, e in enumerate(encodings):
        n = len(e.ids)
        ids[row, :n] = e.ids
        mask[row, :n] = 1
        types[row, :n] = e.type_ids
    return ids, mask, types, encodings


def best_span(encoding, start: np.ndarray, end: np.ndarray) -> tuple[int, int] | None:
    """Character ``[start, end)`` inside the sentence of the highest-scoring
    span of sentence tokens (start logit + end logit), or None."""
    tokens = [i for i, (seq, off) in enumerate(zip(encoding.sequence_ids, encoding.offsets))
              if seq == 1 and off[1] > off[0]]
    if not tokens:
        return None
    s = np.array([start[i] for i in tokens])
    e = np.array([end[i] for i in tokens])
    scores = s[:, None] + e[None, :]
    n = len(tokens)
    allowed = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), MAX_SPAN_TOKENS)
    scores = np.where(allowed, scores, -np.inf)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return encoding.offsets[tokens[i]][0], encoding.offsets[tokens[j]][1]


@dataclass(frozen=True)
class Combiner:
    """The model's probability and the heuristic score, combined by logistic
    regression into one probability: ``σ(w_model·logit(p) + w_heuristic·h + bias)``.

    The model judges whether a sentence answers; the heuristic (cosine + word
    cover) still knows things the model misses, paraphrases above all.  Fitted
    by ``qa eval --sweep --write`` on the candidates of ``pool-val`` (the
    model's validation articles), never on the seed or the test split."""

    w_model: float = 1.0
    w_heuristic: float = 0.0
    bias: float = 0.0

    def __call__(self, probability: float, heuristic: float) -> float:
        p = min(max(probability, 1e-6), 1 - 1e-6)
        z = self.w_model * math.log(p / (1 - p)) + self.w_heuristic * heuristic + self.bias
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def fit(cls, rows: list[tuple[float, float, int]], steps: int = 50) -> "Combiner":
        """Maximum likelihood by Newton's method over (probability,
        heuristic, label) rows, with a little L2 so it stays finite."""
        p = np.clip(np.array([r[0] for r in rows]), 1e-6, 1 - 1e-6)
        x = np.c_[np.log(p / (1 - p)), [r[1] for r in rows], np.ones(len(rows))]
        y = np.array([r[2] for r in rows], dtype=np.float64)
        w = np.array([1.0, 0.0, 0.0])
        for _ in range(steps):
            q = 1.0 / (1.0 + np.exp(-x @ w))
            grad = x.T @ (q - y) + 1e-3 * w
            hess = (x * (q * (1 - q))[:, None]).T @ x + 1e-3 * np.eye(3)
            w -= np.linalg.solve(hess, grad)
        return cls(*(round(float(v), 6) for v in w))


class CrossEncoderReader:
    """The trained reading model (``index/model/reader/model.onnx``), its
    probabilities combined with the heuristic score (:class:`Combiner`)."""

    name = "cross-encoder"

    def __init__(self, path: Path | None = None, threads: int | None = None, combine: bool = True):
        self.path = Path(path or MODEL_DIR / "model.onnx")
        self.threads = threads or int(os.environ.get("QA_EMBED_THREADS", os.cpu_count() or 1))
        calibration = self.path.parent / "calibration.json"
        values = json.loads(calibration.read_text()) if calibration.is_file() else {}
        self.threshold = float(values.get("threshold", 0.5))
        self.keep = float(values.get("keep", 0.5))
        self.combiner = Combiner(**values["combiner"]) if combine and values.get("combiner") else Combiner()
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
        import onnxruntime as ort

        if not self.path.is_file():
            raise FileNotFoundError(f"reading model not found at {self.path} (run `make reader` to train one)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False
        # The embedder's threads run just before; threads that spin waiting
        # for work after each run would take the cores from each other.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        return load_tokenizer(), session

    def run(self, questions: list[str], sentences: list[str]):
        """Answer probabilities and, per pair, (encoding, start logits, end
        logits), in input order.  Pairs are sorted by length and batched to at
        most ``BATCH_TOKENS`` padded tokens."""
        tokenizer, session = self._runtime
        n = len(questions)
        probs = np.zeros(n, dtype=np.float64)
        spans: list = [None] * n
        if not n:
            return probs, spans
        encodings = tokenizer.encode_batch(list(zip(questions, sentences)))
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(n), key=lambda i: lengths[i])
        lo = 0
        while lo < n:
            hi = lo + 1
            while hi < n and (hi - lo + 1) * lengths[order[hi]] <= BATCH_TOKENS:
                hi += 1
            idx = order[lo:hi]
            width = max(lengths[i] for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for row, i in enumerate(idx):
                e = encodings[i]
                ids[row, : lengths[i]] = e.ids
                mask[row, : lengths[i]] = 1
                types[row, : lengths[i]] = e.type_ids
            logit, start, end = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
            probs[idx] = logistic(logit)
            for row, i in enumerate(idx):
                spans[i] = (encodings[i], start[row, : lengths[i]], end[row, : lengths[i]])
            lo = hi
        return probs, spans

    def probabilities(self, questions: list[str], sentences: list[str]) -> np.ndarray:
        return self.run(questions, sentences)[0]

    def read(self, question: str, context: str | None, candidates: list[Candidate]) -> list[Reading]:
        # The model reads the question as asked.  The earlier question of a
        # follow-up already chose the candidates (retrieval) and weighs in
        # through the heuristic score; prefixed to the question it drew the
        # model to the sentence that answered the earlier question (seed dev
        # follow-ups: 12 of 12 right as asked, 11 with the prefix).
        pool = candidates[:POOL]
        probs, spans = self.run([question] * len(pool), [c.text for c in pool])
        readings = sorted((Reading(c, self.combiner(float(p), c.score)) for c, p in zip(pool, probs)),
                          key=lambda r: -r.probability)
        if readings:
            best = readings[0]
            i = next(k for k, c in enumerate(pool) if c is best.candidate)
            span = best_span(*spans[i])
            if span:
                a = best.candidate.span.start + span[0]
                readings[0] = Reading(best.candidate, best.probability, (a, best.candidate.span.start + span[1]))
        return readings
