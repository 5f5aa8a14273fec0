"""Judges decide whether evidence supports a claim; every support-based metric
(citation recall and precision, faithfulness) asks one.

A judge is anything with a ``name`` and ``supports(claim, evidence)``.  Three
ship here:

* :class:`LexicalJudge` (``default``): offline, no model.  Strict on purpose:
  it can miss a paraphrase (a false "unsupported"), but it cannot be talked
  into accepting a changed number or a name that is not in the evidence,
  which are the failures grounding evals exist to catch.
* :class:`NLIJudge` (``nli:MODEL``): a cross-encoder NLI model loaded through
  ``transformers`` (not a dependency of groundqa; install it yourself).
* :class:`LLMJudge` (``llm:openai-like:URL:MODEL``, or any llama-index LLM
  passed in code).

Reports always name the judge, because numbers from different judges are not
comparable.
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable


class JudgeUnavailable(RuntimeError):
    """The judge asked for cannot be built here; the message says what to install or fix."""


@runtime_checkable
class Judge(Protocol):
    name: str

    def supports(self, claim: str, evidence: list[str]) -> bool:
        """True when ``evidence`` (passages read together) supports ``claim``."""


_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)

#: Function words: the words a claim may add or drop without changing what it asserts.
STOPWORDS = frozenset("""
a an the and or but nor so yet if then than that this these those there here it its it's
of in on at to for from by with without within into onto upon over under about above below
between among through during before after since until while as per via against toward towards
is are was were be been being am do does did doing done has have had having will would shall
should can could may might must i me my we us our you your he him his she her they them their
who whom whose which what when where why how not no also too very just only such both each
any all some more most other another own same s
""".split())


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def _fold(token: str) -> str:
    """Lower-case; fold a plain English plural (``drugs`` -> ``drug``).  Numbers stay exact."""
    token = token.lower()
    if token[0].isdigit():
        return token
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def content_tokens(text: str) -> set[str]:
    """Content words, numbers and names of ``text`` (numbers as written, e.g. ``30,000``;
    an all-capitals token such as ``US`` is a name even when it spells a function word)."""
    return {_fold(t) for t in _TOKEN.findall(text)
            if t.lower() not in STOPWORDS or (len(t) > 1 and t.isupper())}


class LexicalJudge:
    """Supported when the claim is a verbatim part of the evidence (whitespace
    normalised), or when every content word, number and name of the claim
    appears in the evidence; numbers must match exactly."""

    name = "default"

    def supports(self, claim: str, evidence: list[str]) -> bool:
        if not evidence:
            return False
        claim_n = normalize_space(claim)
        joined = normalize_space(" ".join(evidence))
        if claim_n and claim_n in joined:
            return True
        needed = content_tokens(claim_n)
        return bool(needed) and needed <= content_tokens(joined)


class NLIJudge:
    """Entailment by a cross-encoder NLI model (premise = the evidence joined,
    hypothesis = the claim); supported when "entailment" is the top label."""

    def __init__(self, model: str):
        self.name = f"nli:{model}"
        try:
            import transformers  # noqa: F401
            import torch  # noqa: F401
        except ImportError as err:
            raise JudgeUnavailable(
                f"the NLI judge needs the 'transformers' and 'torch' packages ({err.name} is not installed); "
                "install them (pip install transformers torch) or use --judge default"
            ) from None
        from index import offline

        offline.enforce()
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model)
            self._model = AutoModelForSequenceClassification.from_pretrained(model).eval()
        except (OSError, ValueError) as err:
            raise JudgeUnavailable(f"cannot load NLI model {model!r} (a local path or an already cached model; "
                                   f"nothing is downloaded): {err}") from None
        labels = {int(i): str(label).lower() for i, label in self._model.config.id2label.items()}
        entail = [i for i, label in labels.items() if label.startswith("entail")]
        if not entail:
            raise JudgeUnavailable(f"NLI model {model!r} has no 'entailment' label (labels: {labels})")
        self._entail = entail[0]

    def supports(self, claim: str, evidence: list[str]) -> bool:
        if not evidence:
            return False
        import torch

        inputs = self._tokenizer(normalize_space(" ".join(evidence)), normalize_space(claim),
                                 truncation=True, return_tensors="pt")
        with torch.no_grad():
            logits = self._model(**inputs).logits[0]
        return int(logits.argmax()) == self._entail


LLM_PROMPT = """You check whether a claim is supported by evidence.
Evidence:
{evidence}

Claim: {claim}

Is every part of the claim stated or directly implied by the evidence? Answer with one word: yes or no."""


class LLMJudge:
    """Asks a llama-index LLM a yes/no question per claim (``LLM_PROMPT``)."""

    def __init__(self, llm, name: str | None = None):
        self.llm = llm
        self.name = name or f"llm:{type(llm).__name__}"

    def supports(self, claim: str, evidence: list[str]) -> bool:
        if not evidence:
            return False
        passages = "\n".join(f"- {normalize_space(e)}" for e in evidence)
        reply = self.llm.complete(LLM_PROMPT.format(evidence=passages, claim=normalize_space(claim))).text
        return reply.strip().strip("*\"'`").lower().startswith("yes")


_OPENAI_LIKE = re.compile(r"^llm:openai-like:(?P<url>https?://[^/:\s]+(?::\d+)?(?:/[^:\s]*)?):(?P<model>\S+)$")


def openai_like(spec: str) -> LLMJudge:
    """``llm:openai-like:URL:MODEL``, e.g. ``llm:openai-like:http://127.0.0.1:8000/v1:qwen2.5``.
    The API key, if the server wants one, comes from ``OPENAI_API_KEY``."""
    import os

    match = _OPENAI_LIKE.match(spec)
    if not match:
        raise JudgeUnavailable(f"{spec!r} is not llm:openai-like:URL:MODEL (e.g. llm:openai-like:http://127.0.0.1:8000/v1:MODEL)")
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError:
        raise JudgeUnavailable(
            "the LLM judge needs llama-index's OpenAILike, which is not installed; "
            "pip install llama-index-llms-openai-like, or use --judge default"
        ) from None
    llm = OpenAILike(api_base=match["url"], model=match["model"], api_key=os.environ.get("OPENAI_API_KEY", "none"),
                     is_chat_model=True, temperature=0.0)
    return LLMJudge(llm, name=spec)


def make_judge(spec: str) -> Judge:
    """``default`` | ``nli:MODEL`` | ``llm:openai-like:URL:MODEL``."""
    if spec == "default":
        return LexicalJudge()
    if spec.startswith("nli:") and len(spec) > 4:
        return NLIJudge(spec[4:])
    if spec.startswith("llm:"):
        return openai_like(spec)
    raise JudgeUnavailable(f"unknown judge {spec!r}; use default, nli:MODEL or llm:openai-like:URL:MODEL")


class CachedJudge:
    """Remembers verdicts: the same (claim, evidence) pair recurs across systems
    and across ALCE's recall and precision checks, and model judges are slow."""

    def __init__(self, judge: Judge):
        self.judge = judge
        self.name = judge.name
        self._memo: dict[tuple[str, tuple[str, ...]], bool] = {}

    def supports(self, claim: str, evidence: list[str]) -> bool:
        key = (claim, tuple(evidence))
        if key not in self._memo:
            self._memo[key] = bool(self.judge.supports(claim, list(evidence)))
        return self._memo[key]
