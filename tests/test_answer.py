"""The qa.answer contract on the seed corpus."""

import pytest

from qa.cite import contract_violations

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
                         "short_answer", "confidence"}
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
