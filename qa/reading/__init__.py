"""Reading: which retrieved sentences answer the question, as probabilities.

Retrieval proposes candidate sentences (``heuristic.score_candidates``); a
reader gives each the probability that it answers the question;
``records.select`` answers with the best sentence, plus any others above a
second bar, or abstains when even the best is below the reader's threshold.

The modules import one way: ``records`` (the shared records and the
selection rule) ← ``heuristic`` ← ``calibrate`` ← ``model``, and ``llm``
beside them.  Composing the answer (``qa.compose``) and the follow-up rule
(``qa.followup``) live outside, so a reader can use them without owning
them; training (``qa.training``) imports from here, never the reverse.

Three readers (``QA_READER`` / ``--reader``):

* ``cross-encoder`` (default): the passage reader trained by ``make reader``,
  shipped as int8 ONNX in ``index/model/reader/`` (``model``);
* ``heuristic``: MiniLM cosine plus IDF word cover (``heuristic``);
* ``llm``: an OpenAI-compatible server picks the sentences (``llm``).
"""

from __future__ import annotations

READERS = ("cross-encoder", "heuristic", "llm")


def make_reader(name: str, settings):
    if name == "cross-encoder":
        from qa.reading.model import PassageReader

        return PassageReader()
    if name == "heuristic":
        from qa.reading.heuristic import HeuristicReader

        return HeuristicReader()
    if name == "llm":
        from qa.reading.llm import LLMReader

        return LLMReader(settings)
    raise ValueError(f"reader must be one of {', '.join(READERS)}, not {name!r}")
