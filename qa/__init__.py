"""groundqa: answers from your documents, every sentence cited to the character.

>>> import qa
>>> result = qa.answer("Who is Ruan Zongze?")
>>> result.to_dict()["citations"][0]["text"]

``history`` holds the earlier user questions of the conversation, oldest
first; chat messages (``{"role": ..., "content": ...}``) are accepted too, and
only their user turns are read.
"""

from __future__ import annotations

from functools import lru_cache

from qa.cite import Answer, AnswerSentence, Citation, Retrieved
from qa.engine import AnswerTimeout
from qa.settings import Settings

__all__ = ["Answer", "AnswerSentence", "AnswerTimeout", "Citation", "Retrieved", "Settings", "answer", "get_engine"]


@lru_cache(maxsize=4)
def get_engine(settings: Settings | None = None):
    """The shared Engine for ``settings`` (environment defaults when None),
    created on first use rather than at import, and made to answer: it
    preloads its models."""
    from qa.engine import Engine

    return Engine(settings, preload=True)


def answer(question: str, history: list | None = None, **options) -> Answer:
    """Answer ``question`` from the indexed corpus.

    Options: ``top_k`` (chunks retrieved), ``mode`` ("hybrid", "dense",
    "bm25"), ``max_sentences``, ``reader`` ("cross-encoder", "heuristic",
    "llm"; default: the configured one), ``documents`` (doc_ids to search;
    None or empty: all) and ``settings`` (a :class:`Settings`).
    ``Answer.judgement`` says how sure the answer is: "confident",
    "tentative" or "abstained".
    Raises ``ValueError`` for bad input (an empty question, one over the
    length limit, a lone surrogate, ``top_k`` outside 1–50, a doc_id that
    is not indexed) and
    :class:`AnswerTimeout` (a ``RuntimeError``) when the answer runs over
    ``Settings.answer_timeout``.
    """
    settings = options.pop("settings", None)
    return get_engine(settings).answer(question, history=history, **options)
