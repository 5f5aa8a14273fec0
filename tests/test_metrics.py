"""The eval metrics on hand-made answers: each test breaks one thing an
answer can get wrong and checks that the right metric, and only it, drops."""

from __future__ import annotations

import pytest

from evals import metrics
from evals.datasets import Question, Range
from evals.gate import check, suggest
from evals.judges import CachedJudge, JudgeUnavailable, LexicalJudge, LLMJudge, make_judge
from evals.metrics import QuestionScore
from qa.cite import Answer, AnswerSentence, Citation, Retrieved

S0 = "China has listed 25 kinds of fentanyl analogs as controlled substances."
S1 = "The weather in Beijing was sunny on Monday."
S2 = "Ruan Zongze said the US should improve law enforcement."
TEXT = f"{S0} {S1}\n\n{S2}\n"
TEXTS = {"d": TEXT}
JUDGE = LexicalJudge()


def cite(i: int, sentence: str, shift: int = 0) -> Citation:
    start = TEXT.index(sentence) + shift
    return Citation(i, "d", "Doc", "doc.txt", 0, start, start + len(sentence), sentence, 0.9)


def answer(*sentences: tuple[str, list[int]], citations: list[Citation], abstained: bool = False) -> Answer:
    return Answer("q?", " ".join(s for s, _ in sentences), abstained,
                  [AnswerSentence(s, ids) for s, ids in sentences], citations)


def question(*gold: str, answers=(), answerable=True) -> Question:
    groups = tuple((Range("d", TEXT.index(g), TEXT.index(g) + len(g)),) for g in gold)
    return Question("q1", "q?", answerable=answerable, answers=tuple(answers), evidence=groups)


ABSTAIN = Answer("q?", "The corpus does not say.", True)


# support, citation recall and precision, faithfulness ---------------------------
def test_verbatim_answer_is_fully_supported():
    a = answer((S0, [1]), citations=[cite(1, S0)])
    assert metrics.alce(a, JUDGE) == (1.0, 1.0, [])
    assert metrics.faithfulness(a, JUDGE) == 1.0


def test_fabricated_number_lowers_citation_recall_and_faithfulness():
    fabricated = S0.replace("25", "40")
    a = answer((fabricated, [1]), (S2, [2]), citations=[cite(1, S0), cite(2, S2)])
    recall, precision, unsupported = metrics.alce(a, JUDGE)
    assert recall == 0.5
    assert unsupported == [0]
    assert metrics.faithfulness(a, JUDGE) == 0.5
    assert precision == 0.5  # the citations of an unsupported sentence are not precise either


def test_added_name_is_not_supported_but_a_reordering_is():
    assert not JUDGE.supports("Wang Yi said China has listed 25 kinds of fentanyl analogs.", [S0])
    assert JUDGE.supports("25 kinds of fentanyl analogs are listed by China as controlled substances.", [S0])
    assert JUDGE.supports("China has listed   25 kinds\nof fentanyl analogs", [S0])  # whitespace-normalised
    assert not JUDGE.supports("China has listed 250 kinds of fentanyl analogs.", [S0])
    assert not JUDGE.supports(S0, [])


def test_citation_to_an_unrelated_sentence_lowers_citation_precision_only():
    a = answer((S0, [1, 2]), citations=[cite(1, S0), cite(2, S1)])
    recall, precision, _ = metrics.alce(a, JUDGE)
    assert recall == 1.0
    assert precision == 0.5


def test_two_citations_needed_together_are_both_precise():
    claim = "China has listed 25 kinds of fentanyl analogs and Ruan Zongze said the US should improve law enforcement."
    a = answer((claim, [1, 2]), citations=[cite(1, S0), cite(2, S2)])
    assert metrics.alce(a, JUDGE)[:2] == (1.0, 1.0)
    alone = answer((claim, [1]), citations=[cite(1, S0)])
    assert metrics.alce(alone, JUDGE)[0] == 0.0


def test_faithfulness_pools_all_citations_while_citation_recall_does_not():
    # The sentence cites the wrong one of the answer's two citations.
    a = answer((S0, [2]), (S2, [1]), citations=[cite(1, S0), cite(2, S2)])
    assert metrics.alce(a, JUDGE)[0] == 0.0
    assert metrics.faithfulness(a, JUDGE) == 1.0


def test_abstention_has_no_support_scores():
    assert metrics.alce(ABSTAIN, JUDGE) == (None, None, [])
    assert metrics.faithfulness(ABSTAIN, JUDGE) is None


# validity ---------------------------------------------------------------------
def test_shifted_offsets_fail_validity():
    good = answer((S0, [1]), citations=[cite(1, S0)])
    shifted = answer((S0, [1]), citations=[cite(1, S0, shift=1)])
    assert metrics.citation_validity(good, TEXTS) == (1, 1)
    assert metrics.citation_validity(shifted, TEXTS) == (0, 1)
    unknown = answer((S0, [1]), citations=[Citation(1, "nope", "", "", 0, 0, len(S0), S0, 0.0)])
    assert metrics.citation_validity(unknown, TEXTS) == (0, 1)


# gold evidence ----------------------------------------------------------------
def test_evidence_recall_and_precision():
    q = question(S0)
    assert metrics.evidence_recall(answer((S0, [1]), citations=[cite(1, S0)]), q) == 1.0
    assert metrics.evidence_precision(answer((S0, [1]), citations=[cite(1, S0)]), q) == 1.0
    wrong = answer((S1, [1]), citations=[cite(1, S1)])
    assert metrics.evidence_recall(wrong, q) == 0.0
    assert metrics.evidence_precision(wrong, q) == 0.0
    assert metrics.evidence_recall(ABSTAIN, q) == 0.0
    assert metrics.evidence_precision(ABSTAIN, q) is None


def test_chunk_citation_gets_recall_but_loses_precision():
    chunk = Citation(1, "d", "", "", -1, 0, len(TEXT), TEXT, 0.5)
    a = answer((TEXT, [1]), citations=[chunk])
    q = question(S0)
    assert metrics.evidence_recall(a, q) == 1.0
    assert metrics.evidence_precision(a, q) == pytest.approx(len(S0) / len(TEXT))


def test_each_evidence_group_is_required():
    q = question(S0, S2)
    assert metrics.evidence_recall(answer((S0, [1]), citations=[cite(1, S0)]), q) == 0.5


def test_unanswerable_question_has_no_evidence_scores():
    q = question(answerable=False)
    assert metrics.evidence_recall(answer((S0, [1]), citations=[cite(1, S0)]), q) is None


# answer accuracy ----------------------------------------------------------------
def test_exact_match_and_f1_basics():
    assert metrics.exact_match("The Normans.", "normans") == 1.0
    assert metrics.exact_match("Normans of France", "Normans") == 0.0
    assert metrics.token_f1("the 10th and 11th centuries", "in the 10th and 11th centuries") == pytest.approx(
        2 * 1.0 * 0.8 / 1.8)
    assert metrics.token_f1("Rollo", "Charles") == 0.0
    assert metrics.token_f1("", "") == 1.0
    assert metrics.contains("They followed Rollo, their leader.", "rollo") == 1.0
    assert metrics.contains("Rollover happened.", "Rollo") == 0.0


def test_accuracy_takes_the_best_gold_answer_and_zero_for_abstention():
    q = question(S0, answers=("25 kinds of fentanyl analogs", "25"))
    em, f1, contained = metrics.accuracy(answer((S0, [1]), citations=[cite(1, S0)]), q)
    assert em == 0.0 and 0 < f1 < 1 and contained == 1.0
    assert metrics.accuracy(answer(("25", [1]), citations=[cite(1, S0)]), q) == (1.0, 1.0, 1.0)
    assert metrics.accuracy(ABSTAIN, q) == (0.0, 0.0, 0.0)


def test_exact_match_reads_the_short_answer_when_there_is_one():
    from qa.cite import ShortAnswer

    q = question(S0, answers=("25",))
    a = answer((S0, [1]), citations=[cite(1, S0)])
    a.short_answer = ShortAnswer("25", "d", S0.index("25"), S0.index("25") + 2, 1)
    assert metrics.accuracy(a, q) == (1.0, 1.0, 1.0)


# abstention ---------------------------------------------------------------------
def _score(answerable: bool, abstained: bool, confidence: float | None = None) -> QuestionScore:
    return QuestionScore("x", "", answerable, abstained, confidence=confidence)


def test_answerability_auc_and_the_abstention_curve():
    scores = [_score(True, False, 0.9), _score(True, False, 0.6), _score(False, True, 0.3),
              _score(False, False, 0.7)]
    assert metrics.answerability_auc(scores) == 0.75  # 3 of the 4 (answerable, unanswerable) pairs ordered
    curve = metrics.abstention_curve(scores)
    assert curve[0] == (0.0, 0.0, 0.0) and curve[-1][1:] == (1.0, 1.0)
    assert (0.6, 0.0, 0.5) in curve  # refusing below 0.6 refuses one unanswerable question, no answerable one
    assert metrics.answerability_auc([_score(True, False), _score(False, True)]) is None


def test_answering_an_unanswerable_question_counts_against_abstention():
    perfect = [_score(True, False), _score(False, True), _score(False, True)]
    assert metrics.abstention(perfect) == {"abstention_precision": 1.0, "abstention_recall": 1.0,
                                           "abstention_f1": 1.0, "false_abstention_rate": 0.0}
    answered = [_score(True, False), _score(False, True), _score(False, False)]
    result = metrics.abstention(answered)
    assert result["abstention_recall"] == 0.5
    assert result["abstention_f1"] < 1.0
    wrongly = [_score(True, True), _score(False, True)]
    assert metrics.abstention(wrongly)["false_abstention_rate"] == 1.0
    assert metrics.abstention(wrongly)["abstention_precision"] == 0.5
    never = metrics.abstention([_score(True, False), _score(False, False)])
    assert never["abstention_precision"] is None and never["abstention_f1"] == 0.0


# retrieval ----------------------------------------------------------------------
def test_hit_and_reciprocal_rank():
    a = Answer("q?", "", True, retrieved=[Retrieved("d", "c1", 0.5, ""), Retrieved("d", "c2", 0.4, "")])
    assert metrics.retrieval(a, ["c2"]) == (1.0, 0.5)
    assert metrics.retrieval(a, ["c3"]) == (0.0, 0.0)
    assert metrics.retrieval(Answer("q?", "", True), ["c1"]) == (0.0, 0.0)
    chunks = {"c1": Range("d", 0, len(S0) + 5), "c2": Range("d", len(S0) + 1, len(TEXT))}
    assert metrics.gold_chunks(question(S0), chunks) == ["c1"]


def test_aggregate_has_every_metric_key():
    q = question(S0, answers=("25",))
    a = answer((S0, [1]), citations=[cite(1, S0)])
    s = metrics.score(q, a, TEXTS, JUDGE, {"c1": Range("d", 0, len(TEXT))}, 12.0)
    agg = metrics.aggregate([s])
    assert set(metrics.QUALITY + metrics.LATENCY + metrics.COUNTS) <= set(agg)
    assert agg["citation_validity"] == 1.0 and agg["latency_p50_ms"] == 12.0


# judges -------------------------------------------------------------------------
def test_an_llm_judge_plugs_into_the_same_interface():
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata

    class Stub(CustomLLM):
        """Says yes exactly when the claim appears in the prompt's evidence."""

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata()

        def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
            evidence, claim = prompt.split("Claim: ", 1)
            return CompletionResponse(text="Yes" if claim.split("\n")[0] in evidence else "No")

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
            raise NotImplementedError

    judge = CachedJudge(LLMJudge(Stub(), name="llm:stub"))
    a = answer((S0, [1]), (S2, [1]), citations=[cite(1, S0)])
    assert metrics.alce(a, judge)[0] == 0.5
    assert judge.name == "llm:stub"


def test_model_judges_fail_clearly_when_their_packages_are_missing():
    try:
        import transformers  # noqa: F401
    except ImportError:
        with pytest.raises(JudgeUnavailable, match="transformers"):
            make_judge("nli:some/model")
    with pytest.raises(JudgeUnavailable, match="openai-like:URL:MODEL"):
        make_judge("llm:openai-like:not-a-url")
    with pytest.raises(JudgeUnavailable, match="unknown judge"):
        make_judge("oracle")
    assert make_judge("default").name == "default"


# gate ---------------------------------------------------------------------------
class _Run:
    def __init__(self, name, values):
        self.name = name
        self._values = values

    def system(self, name):
        return type("S", (), {"metrics": self._values})()


def test_gate_reports_each_missed_threshold():
    result = type("R", (), {"datasets": [_Run("seed", {"citation_validity": 1.0, "evidence_recall": 0.6,
                                                      "false_abstention_rate": 0.3})]})()
    assert check(result, {"seed": {"citation_validity": 1.0, "evidence_recall": 0.5}}) == []
    failed = check(result, {"seed": {"evidence_recall": 0.7, "max": {"false_abstention_rate": 0.2}}})
    assert [(f.metric, f.kind) for f in failed] == [("evidence_recall", "min"), ("false_abstention_rate", "max")]
    assert "evidence_recall = 0.6000, below the minimum 0.7" in str(failed[0])
    assert [f.kind for f in check(result, {})] == ["no thresholds"]
    assert [f.kind for f in check(result, {"seed": {"evidenc_recall": 0.1}})] == ["unknown metric"]


def test_suggested_thresholds_sit_just_below_the_measurement():
    import tomllib

    values = {"citation_validity": 1.0, "evidence_recall": 0.6698, "mrr": 0.57, "exact_match": 0.41,
              "abstention_precision": None, "false_abstention_rate": 0.2037}
    result = type("R", (), {"datasets": [_Run("seed", values)]})()
    summary = {"datasets": {"seed": {"systems": {"groundqa": {"metrics": values}}}}}
    table = tomllib.loads(suggest(summary))["seed"]
    assert table["citation_validity"] == 1.0 and table["evidence_recall"] == 0.64 and table["mrr"] == 0.55
    assert table["exact_match"] == 0.39 and "abstention_precision" not in table
    assert table["max"] == {"false_abstention_rate": 0.23}
    assert check(result, tomllib.loads(suggest(summary))) == []
