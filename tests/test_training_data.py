"""How ``make reader`` turns SQuAD 2.0 into training pairs (no torch needed:
the pairs are plain data, checked here on a small file of our own)."""

from __future__ import annotations

import json
import random

from qa.training import Config, auc, abstention_at, load_squad, make_pairs, swap_negative

CONTEXT = ("The Harbour Bridge was opened in 1932 by Governor Philip Game. "
           "It carries rail and road traffic. "
           "Its steel came from Middlesbrough in England.")


def squad_file(tmp_path):
    data = {"version": "v2.0", "data": [{"title": "Bridge", "paragraphs": [{"context": CONTEXT, "qas": [
        {"id": "a", "question": "When was the Harbour Bridge opened?", "is_impossible": False,
         "answers": [{"text": "1932", "answer_start": CONTEXT.index("1932")}]},
        {"id": "b", "question": "Where did the steel come from?", "is_impossible": False,
         "answers": [{"text": "Middlesbrough", "answer_start": CONTEXT.index("Middlesbrough")}]},
        {"id": "c", "question": "When was the tunnel opened?", "is_impossible": True, "answers": []},
    ]}]}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data))
    return path


def test_questions_know_their_answer_sentence_and_span(tmp_path):
    qs = {q["id"]: q for q in load_squad(squad_file(tmp_path))}
    assert len(qs["a"]["sentences"]) == 3
    assert qs["a"]["gold"] == [0] and qs["b"]["gold"] == [2] and qs["c"]["impossible"]
    i, a, b = qs["b"]["answers"][0]
    assert qs["b"]["sentences"][i][a:b] == "Middlesbrough"


def test_pairs_label_the_answer_sentence_and_every_near_miss_sentence(tmp_path):
    cfg = Config(train=tmp_path, val=tmp_path, out=tmp_path, work=tmp_path, swaps_per_question=0)
    pairs = make_pairs(load_squad(squad_file(tmp_path)), cfg, random.Random(0), all_pairs=True)
    by_q = {}
    for p in pairs:
        by_q.setdefault(p.qid, []).append(p)
    assert [p.label for p in by_q["a"]] == [1, 0, 0]
    assert by_q["a"][0].sentence[slice(*by_q["a"][0].answer)] == "1932"
    assert [p.label for p in by_q["c"]] == [0, 0, 0]  # unanswerable: the whole paragraph is negative


def test_a_swapped_name_or_number_makes_a_negative(tmp_path):
    q = load_squad(squad_file(tmp_path))[0]
    pool = ["1932", "1950", "Harbour Bridge", "Middlesbrough", "England"]
    for seed in range(10):
        asked = swap_negative(q, pool, random.Random(seed), "swap-question")
        assert asked.label == 0 and asked.sentence == q["sentences"][0] and asked.question != q["question"]
        told = swap_negative(q, pool, random.Random(seed), "swap-sentence")
        assert told.label == 0 and told.question == q["question"] and told.sentence != q["sentences"][0]


def test_auc_and_abstention_at_a_false_rate():
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.5], [0.5]) == 0.5
    assert abstention_at([0.2, 0.6, 0.7, 0.8, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99], [0.1, 0.5, 0.9], 0.10) == 2 / 3  # threshold 0.56 refuses 1 of 10 answerable
