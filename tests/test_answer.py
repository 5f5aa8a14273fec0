"""The qa.answer contract on the seed corpus."""

import pytest

from qa.cite import TENTATIVE_LEAD, Answer, contract_violations, judged, judgement

QUESTIONS = [
    "Who is Ruan Zongze?",
    "How much stronger than morphine is fentanyl?",
    "How many fentanyl analogs has China listed as controlled substances?",
    "What did Trump tweet about fentanyl?",
    "What is the capital of Peru?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_answer_keeps_the_contract(seeded_engine, seed_text, question):
    result = seeded_engine.answer(question)
    texts = {d.doc_id: seeded_engine.document(d.doc_id)[0].text for d in seeded_engine.documents()}
    assert contract_violations(result, texts) == []
    data = result.to_dict()
    assert set(data) == {"question", "answer", "abstained", "sentences", "citations", "retrieved", "timings_ms",
                         "short_answer", "confidence", "judgement"}
    assert data["judgement"] == ("abstained" if data["abstained"] else "confident")
    assert 0.0 <= data["confidence"] <= 1.0
    assert set(data["timings_ms"]) == {"retrieve", "answer", "total"}
    for c in data["citations"]:
        assert seed_text[c["start"] : c["end"]] == c["text"]


def test_answers_cite_the_sentence_that_holds_the_fact(seeded_engine):
    result = seeded_engine.answer("How many times stronger than morphine is fentanyl?")
    assert not result.abstained
    assert "80 to 100 times" in result.citations[0].text


def test_off_topic_questions_abstain_without_citations(seeded_engine):
    result = seeded_engine.answer("Who wrote the novel Pride and Prejudice?")
    assert result.abstained and result.citations == []
    assert result.answer.startswith("The corpus does not say")


def test_follow_up_questions_use_the_history(seeded_engine):
    plain = seeded_engine.answer("What did he say about drug dealers?")
    follow = seeded_engine.answer("What did he say about drug dealers?", history=["Who is Ruan Zongze?"])
    assert any(c.text.startswith("Ruan") for c in follow.citations)
    chat = seeded_engine.answer("What did he say about drug dealers?",
                                history=[{"role": "user", "content": "Who is Ruan Zongze?"},
                                         {"role": "assistant", "content": "Wang Yi is the foreign minister."}])
    assert chat.citations == follow.citations
    assert plain.question == follow.question


@pytest.mark.parametrize("bad", ["", "   \n\t", "x" * 5000])
def test_empty_or_huge_questions_are_refused(seeded_engine, bad):
    with pytest.raises(ValueError, match="empty|limit"):
        seeded_engine.answer(bad)


def test_public_api_round_trips_through_json(tmp_path, monkeypatch):
    import qa
    from qa.settings import Settings

    settings = Settings.from_env(data_dir=tmp_path)
    result = qa.answer("Who is Ruan Zongze?", settings=settings, top_k=2)
    assert qa.Answer.from_dict(result.to_dict()) == result
    assert len(result.retrieved) <= 2


def test_retrieval_keeps_nothing_per_question(seeded_engine):
    """Found by make stress's Engine soak: every retriever part had a
    llama-index callback manager of its own, whose trace map kept the event
    ids of every question (1.4 KB each).  Now they share one, cleared as
    each question's trace starts."""
    retriever = seeded_engine.retriever(4)
    managers = {id(m): m for m in [retriever.callback_manager,
                                   *(part.callback_manager for part in retriever._fusion._retrievers)]}
    assert len(managers) == 1

    def kept() -> int:
        return sum(len(ids) for m in managers.values() for ids in m.trace_map.values())

    seeded_engine.answer("Who is Ruan Zongze?")
    first = kept()
    for question in ["What did China announce?", "When was that?", "Which drugs were added?", "Who said it?"] * 5:
        seeded_engine.answer(question)
    assert kept() == first


def test_judgement_bands():
    assert judgement(True, 0.9, 0.5) == "abstained"
    assert judgement(False, 0.5, 0.5) == "confident"
    assert judgement(False, 0.49, 0.5) == "tentative"
    assert judgement(False, None, 0.5) == "tentative"


def test_json_without_a_judgement_reads_as_before():
    old = {"question": "q", "answer": "A. [1]", "abstained": False}
    assert Answer.from_dict(old).judgement == "confident"
    assert Answer.from_dict({**old, "abstained": True, "answer": "The corpus does not say."}).judgement == "abstained"
    assert Answer.from_dict({**old, "judgement": "tentative"}).judgement == "tentative"


def test_a_judgement_must_agree_with_the_abstention():
    answer = Answer("q", "The corpus does not say.", abstained=True)
    assert contract_violations(answer, {}) == []
    assert contract_violations(judged(answer, 0.5), {}) == []
    answer.judgement = "confident"
    assert contract_violations(answer, {}) == ["judgement 'confident' disagrees with abstained=True"]
    answer.judgement = "sure"
    assert "is not one of" in contract_violations(answer, {})[0]


def test_below_the_confident_bar_an_answer_is_tentative_and_says_so(seeded_engine, seed_text, monkeypatch):
    """The reader's ``confident`` bar (from its calibration) splits answers
    in two; a tentative one leads with the doubt in words, keeps its
    citations exact, and prints no short answer."""
    question = "How many times stronger than morphine is fentanyl?"
    sure = seeded_engine.answer(question)
    assert sure.judgement == "confident" and not sure.answer.startswith(TENTATIVE_LEAD)
    monkeypatch.setattr(seeded_engine.reader, "confident", sure.confidence + 0.01, raising=False)
    unsure = seeded_engine.answer(question)
    assert unsure.judgement == "tentative" and not unsure.abstained
    assert unsure.answer.startswith(TENTATIVE_LEAD + " ") and unsure.citations == sure.citations
    assert contract_violations(unsure, {sure.citations[0].doc_id: seed_text}) == []
    assert "Short answer:" not in unsure.render() and unsure.render().startswith(TENTATIVE_LEAD)
    assert Answer.from_dict(unsure.to_dict()) == unsure
    assert seeded_engine.answer("Who wrote the novel Pride and Prejudice?").judgement == "abstained"


def test_a_question_can_be_narrowed_to_some_documents(seeded_engine, tmp_path):
    """Dense parts through a Chroma metadata filter, BM25 through its weight
    mask: nothing outside the chosen documents is retrieved or cited."""
    otters = tmp_path / "otters.md"
    otters.write_text("# Otters\n\nSea otters hold hands while they sleep. An otter told China to regulate fentanyl.\n")
    seeded_engine.add([otters])
    try:
        seed_id = next(d.doc_id for d in seeded_engine.documents() if d.doc_id != "otters")
        everywhere = seeded_engine.answer("Who is Ruan Zongze?")
        assert seed_id in {c.doc_id for c in everywhere.citations}
        for mode in ("hybrid", "dense", "bm25"):
            narrowed = seeded_engine.answer("What did China say about fentanyl?", documents=["otters"], mode=mode)
            assert {r.doc_id for r in narrowed.retrieved} == {"otters"}, mode
            assert {c.doc_id for c in narrowed.citations} <= {"otters"}
        only_seed = seeded_engine.answer("Why do otters hold hands?", documents=[seed_id])
        assert {r.doc_id for r in only_seed.retrieved} == {seed_id}
        assert seeded_engine.answer("Who is Ruan Zongze?", documents=[]).citations == everywhere.citations
        with pytest.raises(ValueError, match="no such document: 'nope'"):
            seeded_engine.answer("Who is Ruan Zongze?", documents=["otters", "nope"])
        with pytest.raises(ValueError, match="list of doc_ids"):
            seeded_engine.answer("Who is Ruan Zongze?", documents="otters")
    finally:
        seeded_engine.remove("otters")
