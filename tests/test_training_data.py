"""How ``make reader`` turns SQuAD 2.0 into passages and near misses (no torch
needed: the examples are plain data, checked here on a small file of our own)."""

from __future__ import annotations

import json
import random

import pytest

from qa.reading.model import TOKENIZER_PATH
from qa.training import data, trainer

CONTEXT = ("The Harbour Bridge was opened in 1932 by Governor Philip Game. "
           "It carries rail and road traffic over 503 metres. "
           "Its steel came from Middlesbrough in England, the largest order of its time.")


def squad_file(tmp_path, copies: int = 1):
    qas = [
        {"id": "a", "question": "When was the Harbour Bridge opened by Governor Philip Game?", "is_impossible": False,
         "answers": [{"text": "1932", "answer_start": CONTEXT.index("1932")}]},
        {"id": "b", "question": "Where did the steel come from?", "is_impossible": False,
         "answers": [{"text": "Middlesbrough", "answer_start": CONTEXT.index("Middlesbrough")}]},
        {"id": "c", "question": "When was the tunnel opened?", "is_impossible": True, "answers": []},
    ]
    paragraphs = [{"context": CONTEXT, "qas": qas}] * copies + [
        {"context": "Sydney Opera House stands nearby. Jørn Utzon designed it.", "qas": []}]
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "Sydney_Harbour", "paragraphs": paragraphs}]}))
    return path


def test_examples_keep_their_answer_and_sentences(tmp_path):
    prepared = data.prepare([squad_file(tmp_path)], near_miss_share=0.0)
    para = prepared["paragraphs"][0]
    assert para["title"] == "Sydney Harbour" and len(para["sentences"]) == 3
    assert [para["text"][s:e] for s, e in para["sentences"]][1].startswith("It carries")
    a, b = prepared["examples"][0]["a"]
    assert para["text"][a:b] == "1932"
    assert [e["kind"] for e in prepared["examples"]] == ["squad", "squad", "squad-unanswerable"]


@pytest.mark.parametrize("kind, question, changed", [
    ("role", "Which governor opened the bridge?", "governor"),
    ("date", "What opened in 1932?", "1932"),
    ("quantity", "What is 503 metres long?", "503"),
    ("antonym", "What was the largest order of its time?", "largest"),
    ("entity", "When did Governor Philip Game open the bridge?", "Philip Game"),
])
def test_each_near_miss_changes_what_the_paragraph_says(kind, question, changed):
    known = ["Jørn Utzon", "Sydney Opera House", "Harbour Bridge", "Philip Game"]
    out = data.near_miss(kind, question, CONTEXT, known, random.Random(1))
    assert out and out != question
    assert changed not in out or kind == "quantity" and "metres" not in out
    # what replaced it is not in the paragraph: the question no longer has its answer there
    new_words = set(out.split()) - set(question.split())
    assert new_words and not any(w.strip("?,") in CONTEXT for w in new_words)


def test_near_misses_that_do_not_apply_are_not_made():
    assert data.near_miss("date", "Who opened the bridge?", CONTEXT, [], random.Random(0)) is None
    assert data.near_miss("antonym", "What carries rail traffic?", CONTEXT, [], random.Random(0)) is None


def test_a_cut_window_leaves_out_the_answer_sentence():
    rng = random.Random(3)
    for _ in range(50):
        lo, hi = data._cut_window(6, {2}, rng)
        assert hi - lo >= 2 and not lo <= 2 < hi
    assert data._cut_window(3, {1}, rng) is None


def test_prepare_is_seeded_and_counts_its_kinds(tmp_path):
    path = squad_file(tmp_path, copies=20)
    one = data.prepare([path], near_miss_share=1.0, seed=5)
    assert one == data.prepare([path], near_miss_share=1.0, seed=5)
    made = {k: v for k, v in one["counts"].items() if k in data.KINDS}
    assert sum(made.values()) == 40  # every answerable question got one near miss
    assert sum(1 for e in one["examples"] if e["kind"] in data.KINDS) == 40
    none = data.prepare([path], near_miss_share=1.0, kinds=())
    assert not any(e["kind"] in data.KINDS for e in none["examples"])


def test_features_mark_sentences_and_the_answer_tokens(tmp_path):
    prepared = data.prepare([squad_file(tmp_path)], near_miss_share=0.0)
    cfg = trainer.Config(data="", val="", tokenizer=str(TOKENIZER_PATH), base="", out="", heading_share=1.0)
    feats = trainer.featurize(prepared, cfg, training=True)
    tokenizer = trainer.make_tokenizer(str(TOKENIZER_PATH))
    answered = feats[0]
    assert answered.answerable == 1 and answered.gold == 0
    assert tokenizer.decode([int(i) for i in answered.ids[answered.start:answered.end + 1]]) == "1932"
    assert set(answered.sentence[answered.sentence >= 0]) == {0, 1, 2}
    # the heading (the article's title) is read but belongs to no sentence
    assert "sydney harbour" in tokenizer.decode([int(i) for i in answered.ids])
    refused = feats[2]
    assert refused.answerable == 0 and refused.start == refused.end == 0 and refused.gold == -1


def test_a_long_paragraph_is_cut_to_a_window_around_the_answer():
    sentences = [f"Filler sentence number {i} says nothing of use at all here." for i in range(60)]
    sizes = [14] * 60
    lo, hi = trainer.fit_window(sizes, 200, (0, 60), 30, random.Random(0))
    assert lo <= 30 < hi and sum(sizes[lo:hi]) <= 200 and hi - lo == 200 // 14
    assert len(sentences) == 60


def test_auc_and_abstention_rate():
    assert trainer.auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert trainer.auc([0.5], [0.5]) == 0.5
    assert trainer.abstention_at([0.2, 0.4, 0.6, 0.8, 1.0] * 2, [0.1, 0.3, 0.9], 0.1) == pytest.approx(1 / 3)
