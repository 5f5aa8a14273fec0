"""Grounding metrics: per-question scores and their aggregation.

Definitions and sources are in ``evals/README.md``; the docstrings here say
how each is computed.  Every function takes a finished :class:`qa.cite.Answer`
and the gold record, so any system that produces an Answer (groundqa, a
baseline, a hand-made test answer) is scored the same way.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import asdict, dataclass, field

from evals.datasets import Question, Range
from evals.judges import Judge
from qa.cite import Answer

#: Metric names in reporting order; thresholds and the chart use these keys.
QUALITY = (
    "citation_validity", "citation_recall", "citation_precision", "faithfulness",
    "evidence_recall", "evidence_precision",
    "exact_match", "f1", "answer_containment",
    "abstention_precision", "abstention_recall", "abstention_f1", "false_abstention_rate", "answerability_auc",
    "hit_at_k", "mrr",
)
LATENCY = ("latency_p50_ms", "latency_p95_ms")
COUNTS = ("questions", "answerable", "unanswerable", "answered")
LOWER_IS_BETTER = frozenset({"false_abstention_rate", *LATENCY})


@dataclass
class QuestionScore:
    """Everything measured on one answer; ``None`` where a metric does not apply."""

    id: str
    kind: str
    answerable: bool
    abstained: bool
    citations: int = 0
    valid_citations: int = 0
    citation_recall: float | None = None
    citation_precision: float | None = None
    faithfulness: float | None = None
    evidence_recall: float | None = None
    evidence_precision: float | None = None
    exact_match: float | None = None
    f1: float | None = None
    answer_containment: float | None = None
    hit: float | None = None
    reciprocal_rank: float | None = None
    latency_ms: float = 0.0
    confidence: float | None = None  # the reader's best probability (Answer.confidence)
    unsupported: list[int] = field(default_factory=list)  # answer sentences the judge rejected

    def to_dict(self) -> dict:
        return asdict(self)


# citations -------------------------------------------------------------------
def citation_validity(answer: Answer, texts: dict[str, str]) -> tuple[int, int]:
    """(valid, total): a citation is valid when ``texts[doc_id][start:end]`` is exactly its text."""
    valid = sum(1 for c in answer.citations
                if c.doc_id in texts and 0 <= c.start <= c.end and texts[c.doc_id][c.start : c.end] == c.text)
    return valid, len(answer.citations)


def _cited(answer: Answer, ids: list[int]) -> list[str]:
    by_id = {c.id: c.text for c in answer.citations}
    return [by_id[i] for i in ids if i in by_id]


def alce(answer: Answer, judge: Judge) -> tuple[float | None, float | None, list[int]]:
    """ALCE citation recall and precision of one answer, and the indices of its
    unsupported sentences.

    Recall: share of answer sentences whose citations, read together, support
    them.  Precision: share of citations that are not irrelevant, where (as in
    ALCE's ``compute_autoais``) a citation of a supported multi-citation
    sentence is irrelevant when it does not support the sentence alone and the
    other citations still do; a sentence its citations do not support makes
    all its citations imprecise.
    """
    if answer.abstained or not answer.sentences:
        return None, None, []
    known = {c.id for c in answer.citations}
    supported, precise, total, unsupported = 0, 0, 0, []
    for i, sentence in enumerate(answer.sentences):
        ids = [c for c in sentence.citations if c in known]
        total += len(sentence.citations)
        joint = bool(ids) and judge.supports(sentence.text, _cited(answer, ids))
        supported += joint
        if not joint:
            unsupported.append(i)
            continue
        if len(ids) == 1:
            precise += 1
            continue
        for cid in ids:
            alone = judge.supports(sentence.text, _cited(answer, [cid]))
            rest = [x for x in ids if x != cid]
            if alone or not judge.supports(sentence.text, _cited(answer, rest)):
                precise += 1
    recall = supported / len(answer.sentences)
    precision = precise / total if total else 0.0
    return recall, precision, unsupported


def statements(answer: Answer) -> list[str]:
    """The answer's statements.  RAGAS asks an LLM to break an answer into
    atomic statements; offline, an answer sentence is one statement."""
    return [s.text for s in answer.sentences if s.text.strip()]


def faithfulness(answer: Answer, judge: Judge) -> float | None:
    """RAGAS faithfulness: share of statements the answer's cited context
    (all its citations together) supports."""
    claims = statements(answer)
    if answer.abstained or not claims:
        return None
    context = [c.text for c in answer.citations]
    return sum(judge.supports(claim, context) for claim in claims) / len(claims)


# gold evidence ---------------------------------------------------------------
def _ranges(answer: Answer) -> list[Range]:
    return [Range(c.doc_id, c.start, c.end) for c in answer.citations]


def evidence_recall(answer: Answer, question: Question) -> float | None:
    """Share of the question's evidence groups of which some gold sentence is
    cited (a citation covers at least half of it); 0 for an abstention."""
    if not question.answerable or not question.evidence:
        return None
    if answer.abstained:
        return 0.0
    cites = _ranges(answer)
    hit = sum(any(c.covers(s) for c in cites for s in group) for group in question.evidence)
    return hit / len(question.evidence)


def evidence_precision(answer: Answer, question: Question) -> float | None:
    """Share of cited characters that lie inside gold evidence sentences."""
    if not question.answerable or not question.evidence or answer.abstained or not answer.citations:
        return None
    gold = question.gold_sentences
    cited = sum(max(0, c.end - c.start) for c in _ranges(answer))
    inside = sum(c.overlap(s) for c in _ranges(answer) for s in gold)
    return inside / cited if cited else 0.0


# answer accuracy (SQuAD v2.0 official evaluation script) ---------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and articles, collapse whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(prediction: str, gold: str) -> float:
    """Answer containment: the normalised gold answer occurs, as whole words,
    in the normalised answer."""
    g = normalize_answer(gold)
    return float(bool(g) and f" {g} " in f" {normalize_answer(prediction)} ")


def answer_text(answer: Answer) -> str:
    """What the answer says, without citation markers."""
    return " ".join(s.text for s in answer.sentences)


def accuracy(answer: Answer, question: Question) -> tuple[float | None, float | None, float | None]:
    """(EM, F1, containment), each the max over the gold answers; 0 for an
    abstention.  EM and F1 compare the short answer when there is one (what
    SQuAD measures), else the whole answer; containment reads the whole answer."""
    if not question.answerable or not question.answers:
        return None, None, None
    if answer.abstained:
        return 0.0, 0.0, 0.0
    text = answer_text(answer)
    short = answer.short_answer.text if answer.short_answer else text
    return (max(exact_match(short, g) for g in question.answers),
            max(token_f1(short, g) for g in question.answers),
            max(contains(text, g) for g in question.answers))


# retrieval -------------------------------------------------------------------
def retrieval(answer: Answer, expected_ids: list[str]) -> tuple[float | None, float | None]:
    """(hit@k, reciprocal rank) of the gold chunks among the retrieved ones,
    computed by llama-index's ``HitRate`` and ``MRR`` retrieval metrics."""
    if not expected_ids:
        return None, None
    retrieved = [r.chunk_id for r in answer.retrieved]
    if not retrieved:
        return 0.0, 0.0
    from llama_index.core.evaluation import MRR, HitRate

    return (HitRate().compute(expected_ids=expected_ids, retrieved_ids=retrieved).score,
            MRR().compute(expected_ids=expected_ids, retrieved_ids=retrieved).score)


def gold_chunks(question: Question, chunks: dict[str, Range]) -> list[str]:
    """The chunks (id -> range) that cover a gold evidence sentence."""
    gold = question.gold_sentences
    return [cid for cid, r in chunks.items() if any(r.covers(s) for s in gold)]


# one question ----------------------------------------------------------------
def score(question: Question, answer: Answer, texts: dict[str, str], judge: Judge,
          chunks: dict[str, Range], latency_ms: float) -> QuestionScore:
    valid, total = citation_validity(answer, texts)
    recall, precision, unsupported = alce(answer, judge)
    em, f1, contained = accuracy(answer, question)
    hit, rr = retrieval(answer, gold_chunks(question, chunks)) if question.answerable else (None, None)
    return QuestionScore(
        id=question.id, kind=question.kind, answerable=question.answerable, abstained=answer.abstained,
        citations=total, valid_citations=valid, citation_recall=recall, citation_precision=precision,
        faithfulness=faithfulness(answer, judge), evidence_recall=evidence_recall(answer, question),
        evidence_precision=evidence_precision(answer, question), exact_match=em, f1=f1,
        answer_containment=contained, hit=hit, reciprocal_rank=rr, latency_ms=round(latency_ms, 3),
        confidence=answer.confidence, unsupported=unsupported,
    )


# aggregation -----------------------------------------------------------------
def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method)."""
    if not values:
        return None
    import numpy as np

    return float(np.percentile(values, q))


def abstention(scores: list[QuestionScore]) -> dict[str, float | None]:
    """Abstaining is the positive class; "should abstain" means unanswerable."""
    tp = sum(s.abstained and not s.answerable for s in scores)
    fp = sum(s.abstained and s.answerable for s in scores)
    unanswerable = sum(not s.answerable for s in scores)
    answerable = len(scores) - unanswerable
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / unanswerable if unanswerable else None
    if recall is None:
        f1 = None
    elif tp == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return {"abstention_precision": precision, "abstention_recall": recall, "abstention_f1": f1,
            "false_abstention_rate": fp / answerable if answerable else None}


def roc_auc(positive: list[float], negative: list[float]) -> float | None:
    """Probability that a random positive outscores a random negative (ties
    count half): the Mann-Whitney form of ROC AUC."""
    if not positive or not negative:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def answerability_auc(scores: list[QuestionScore]) -> float | None:
    """How well the reader's confidence separates answerable questions from
    unanswerable ones (None for systems that give no confidence)."""
    if any(s.confidence is None for s in scores):
        return None
    return roc_auc([s.confidence for s in scores if s.answerable],
                   [s.confidence for s in scores if not s.answerable])


def abstention_curve(scores: list[QuestionScore]) -> list[tuple[float, float, float]]:
    """(threshold, false abstention rate, abstention recall) for every
    threshold on the confidence: what any threshold would have given."""
    if not scores or any(s.confidence is None for s in scores):
        return []
    pos = sorted(s.confidence for s in scores if s.answerable)
    neg = sorted(s.confidence for s in scores if not s.answerable)
    if not pos or not neg:
        return []
    import bisect

    cuts = sorted({0.0, *pos, *neg, 1.0 + 1e-9})
    return [(t, bisect.bisect_left(pos, t) / len(pos), bisect.bisect_left(neg, t) / len(neg)) for t in cuts]


def aggregate(scores: list[QuestionScore]) -> dict[str, float | int | None]:
    total = sum(s.citations for s in scores)
    out: dict[str, float | int | None] = {
        "citation_validity": sum(s.valid_citations for s in scores) / total if total else 1.0,
        "citation_recall": _mean(s.citation_recall for s in scores),
        "citation_precision": _mean(s.citation_precision for s in scores),
        "faithfulness": _mean(s.faithfulness for s in scores),
        "evidence_recall": _mean(s.evidence_recall for s in scores),
        "evidence_precision": _mean(s.evidence_precision for s in scores),
        "exact_match": _mean(s.exact_match for s in scores),
        "f1": _mean(s.f1 for s in scores),
        "answer_containment": _mean(s.answer_containment for s in scores),
        **abstention(scores),
        "answerability_auc": answerability_auc(scores),
        "hit_at_k": _mean(s.hit for s in scores),
        "mrr": _mean(s.reciprocal_rank for s in scores),
        "latency_p50_ms": percentile([s.latency_ms for s in scores], 50),
        "latency_p95_ms": percentile([s.latency_ms for s in scores], 95),
        "questions": len(scores),
        "answerable": sum(s.answerable for s in scores),
        "unanswerable": sum(not s.answerable for s in scores),
        "answered": sum(not s.abstained for s in scores),
    }
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}
