"""The ``llm`` reader: an LLM decides which retrieved sentences answer.

For users who have an LLM behind any server speaking the OpenAI chat API
(OpenAI, vLLM, llama.cpp, Ollama, LM Studio): ``QA_LLM_URL`` and
``QA_LLM_MODEL`` (with ``QA_READER=llm``, the default once a URL is set).

The LLM never writes the answer.  It sees the question and the best-scoring
candidate sentences, numbered, and replies with the numbers of those that
answer it, or NONE.  The answer is then composed from those sentences
verbatim, so every sentence still cites its exact source span, and NONE is an
abstention.  A reply naming no valid number counts as NONE: an LLM that
cannot follow the format must not make groundqa guess.
"""

from __future__ import annotations

import re

from qa.reading.records import Candidate, Reading
from qa.settings import Settings

#: How many of the best-scoring candidates the LLM chooses from.
POOL = 8

PROMPT = """You check whether numbered sentences from a document collection answer a question.

{history}Question: {question}

Sentences:
{sentences}

Reply with the numbers of the sentences that state the answer, best first, separated by commas (at most {most}).
If none of them states the answer, or the question rests on something they do not say, reply NONE.
Reply with the numbers or NONE and nothing else."""


class LLMUnavailable(RuntimeError):
    """The configured LLM server failed or could not be reached."""


def make_llm(settings: Settings):
    """A llama-index LLM for the server in ``settings`` (``OpenAILike``)."""
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError:
        raise LLMUnavailable(
            "QA_LLM_URL is set but the LLM client is not installed: pip install 'groundqa[llm]'"
        ) from None
    if not settings.llm_model:
        raise ValueError("QA_LLM_URL is set: also set QA_LLM_MODEL (or --llm-model) to the model's name")
    return OpenAILike(
        model=settings.llm_model, api_base=settings.llm_url, api_key=settings.llm_api_key or "unused",
        is_chat_model=True, temperature=0.0, max_tokens=20, timeout=settings.llm_timeout, max_retries=1,
    )


def prompt(question: str, context: str | None, shown: list[Candidate], most: int) -> str:
    sentences = "\n".join(f"[{i}] {' '.join(c.text.split())}" for i, c in enumerate(shown, start=1))
    history = f"Earlier question (the question may refer to it): {context}\n" if context else ""
    return PROMPT.format(history=history, question=question, sentences=sentences, most=most)


def parse(reply: str, n: int, most: int) -> list[int]:
    """0-based indexes of the chosen sentences, in the order given."""
    if reply.strip().upper().startswith("NONE"):
        return []
    chosen: list[int] = []
    for number in re.findall(r"\d+", reply):
        i = int(number) - 1
        if 0 <= i < n and i not in chosen:
            chosen.append(i)
    return chosen[:most]


class LLMReader:
    """Chosen sentences get probability 1 (in the LLM's order), the others 0."""

    name = "llm"
    threshold = 0.5
    keep = 0.5
    confident = 0.5

    def __init__(self, settings: Settings):
        self.llm = make_llm(settings)
        self.most = settings.max_answer_sentences

    def warm(self) -> None:
        """Nothing to load: the LLM is a server."""

    def read(self, question: str, context: str | None, candidates: list[Candidate]):
        from llama_index.core.llms import ChatMessage

        shown = candidates[:POOL]
        if not shown:
            return []
        text = prompt(question, context, shown, self.most)
        try:
            reply = self.llm.chat([ChatMessage(role="user", content=text)]).message.content or ""
        except Exception as err:  # the client raises many types for "the server failed"
            raise LLMUnavailable(
                f"LLM at {getattr(self.llm, 'api_base', '?')} failed: {type(err).__name__}: {err}") from None
        picked = parse(reply, len(shown), self.most)
        return ([Reading(shown[i], 1.0) for i in picked]
                + [Reading(c, 0.0) for i, c in enumerate(shown) if i not in picked])
