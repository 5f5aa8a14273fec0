"""The reading model as shipped: the file the card describes, run without
torch, reading passages the way a reader should, and the selection rule."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile

import pytest

from index.segment import Span
from qa.compose import compose
from qa.reading.model import MODEL_DIR, PassageReader, passages
from qa.reading.records import Candidate, Reading, select
from qa.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def reader():
    return PassageReader()


def _doc(sentences: list[str], doc: str = "d", title: str = "") -> list[Candidate]:
    """Candidates for consecutive sentences of one document, in order."""
    out, pos = [], 0
    for i, s in enumerate(sentences):
        out.append(Candidate(doc, title, "s", Span(i, pos, pos + len(s)), s, 0.5, (0, doc, i)))
        pos += len(s) + 1
    return out


def _probabilities(reader, question, candidates):
    readings = reader.read(question, None, candidates)
    by_index = {r.candidate.span.index: r.probability for r in readings}
    return [by_index[c.span.index] for c in candidates], readings


def test_shipped_model_matches_its_card():
    model = MODEL_DIR / "model.onnx"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    card = (MODEL_DIR / "README.md").read_text(encoding="utf-8")
    assert re.search(r"sha256 \| `([0-9a-f]{64})`", card).group(1) == digest
    assert json.loads((MODEL_DIR / "metrics.json").read_text())["sha256"] == digest
    assert model.stat().st_size <= 30 * 1024 * 1024
    assert "CC BY-SA 4.0" in card


@pytest.mark.parametrize("model", [MODEL_DIR / "model.onnx", MODEL_DIR.parent / "embedder" / "model.onnx"])
def test_shipped_models_have_no_nan_guard(model):
    """torch's export puts ``Where(IsNaN(p), 0, p)`` after every attention
    softmax, a third of a 256-token pass on two cores and the identity on
    groundqa's inputs; ``qa/training/graph.py`` removes it from every export.
    An ONNX file names its operators in plain bytes."""
    data = model.read_bytes()
    assert b"Softmax" in data
    assert b"IsNaN" not in data


def test_calibration_was_chosen_by_the_sweep():
    from evals.sweep import SweepRow, best

    calibration = json.loads((MODEL_DIR / "calibration.json").read_text())
    assert 0 < calibration["threshold"] <= calibration["confident"] <= 1
    rows = [SweepRow(**r) for r in calibration["grid"]]
    assert rows, "the sweep's table is kept with its choice"
    assert (best(rows).threshold, best(rows).keep) == (calibration["threshold"], calibration["keep"])
    reader = PassageReader()
    assert (reader.threshold, reader.keep, reader.confident, reader.short_bar) == (
        calibration["threshold"], calibration["keep"], calibration["confident"], calibration["short_bar"])


def test_the_answering_sentence_outscores_its_neighbours(reader):
    probs, _ = _probabilities(reader, "In which year did the observatory open to the public?", _doc([
        "The observatory stands on a hill north of the town.",
        "It opened to the public in 1931 after six years of building.",
        "Its largest telescope has a mirror of 1.5 metres.",
    ]))
    assert max(range(3), key=probs.__getitem__) == 1
    assert probs[1] > 2 * max(probs[0], probs[2])


def test_a_pronoun_is_read_with_the_sentence_before_it(reader):
    """"He" in the answering sentence is the man the question names: only
    the passage says so."""
    probs, _ = _probabilities(reader, "Where did Tomas Varga study music?", _doc([
        "Tomas Varga was born in a village near the river in 1911.",
        "He later studied music in Vienna under a famous teacher.",
        "The village now has a small museum.",
    ]))
    assert max(range(3), key=probs.__getitem__) == 1


def test_a_sentence_about_someone_else_is_not_an_answer(reader):
    """The near miss the model was trained to refuse: the same fact about
    another person does not answer the question."""
    sentences = ["The museum reopened after a fire in 1998.",
                 "Maria Keller was appointed director of the museum in 2004."]
    right, _ = _probabilities(reader, "When was Maria Keller appointed director of the museum?", _doc(sentences))
    wrong, _ = _probabilities(reader, "When was Thomas Brandt appointed director of the museum?", _doc(sentences))
    assert right[1] > 0.5 and max(wrong) < right[1] / 2


def test_short_answer_lies_inside_the_best_sentence(reader):
    candidates = _doc(["Noise about the weather.", "The bridge was designed by Anna Lindqvist and finished in 1962."])
    readings = PassageReader(calibrated=False).read("Who designed the bridge?", None, candidates)
    best = readings[0]
    assert best.candidate.span.index == 1
    a, b = best.short
    c = best.candidate
    assert c.span.start <= a < b <= c.span.end
    text = c.text[a - c.span.start:b - c.span.start]
    assert "Lindqvist" in text and "1962" not in text


def test_passages_hold_the_best_candidates_with_their_neighbours():
    cands = _doc([f"Sentence {i}." for i in range(12)])
    ranked = sorted(cands, key=lambda c: abs(c.span.index - 6))  # best first: 6, 5, 7, 4, 8, 3, ...
    windows = passages(ranked[:1] + ranked[1:], {id(c): 4 for c in cands}, 5, {"d": 0})
    assert [[c.span.index for c in w] for w in windows] == [list(range(1, 11))]  # the 6 best, 2 either side
    tight = passages(ranked, {id(c): 60 for c in cands}, 5, {"d": 0})
    assert all(sum(60 for _ in w) <= 256 - 8 for w in tight) and len(tight) > 1
    assert [c.span.index for w in tight for c in w] == sorted(c.span.index for w in tight for c in w)


def test_a_passage_ends_where_its_section_does(reader):
    """Read under the neighbouring section's heading, an API description
    that does not name its object is taken for the neighbour's."""
    from dataclasses import replace

    from index.store import Place

    sections = [("pathlib", "PurePath.suffixes")] * 2 + [("pathlib", "PurePath.stem")] * 2
    cands = [replace(c, place=Place(section=s)) for c, s in zip(_doc([
        "A list of the path's file extensions.", "An empty list when there is none.",
        "The final path component, without its suffix.", "It may be empty."]), sections)]
    windows = passages(cands, {id(c): 12 for c in cands}, 12, {"d": 10})
    assert [[c.span.index for c in w] for w in windows] == [[0, 1], [2, 3]]
    best = reader.read("How do I get a file name without its extension?", None, cands)[0]
    assert best.candidate.span.index == 2


def _cand(i: int, doc: str = "d") -> Candidate:
    return Candidate(doc, "t", "s", Span(i, 10 * i, 10 * i + 5), f"s{i}", 0.0, (0, doc, i))


def test_select_abstains_below_the_threshold_and_keeps_reading_order():
    readings = [Reading(_cand(3), 0.9), Reading(_cand(1), 0.8), Reading(_cand(2), 0.4), Reading(_cand(0), 0.75)]
    assert select(readings, 0.95, 0.7, 3) == []
    chosen = select(readings, 0.5, 0.7, 3)
    assert [r.candidate.span.index for r in chosen] == [0, 1, 3]
    assert [r.candidate.span.index for r in select(readings, 0.5, 0.7, 1)] == [3]
    assert [r.candidate.span.index for r in select(readings, 0.5, 1.01, 3)] == [3]


def test_compose_reports_confidence_and_probabilities():
    readings = [Reading(_cand(1), 0.91, (10, 12)), Reading(_cand(2), 0.3)]
    answer = compose("q?", select(readings, 0.5, 0.8, 3), readings)
    assert answer.confidence == 0.91 and answer.citations[0].score == 0.91
    assert answer.short_answer.text == "s1"[0:2] and answer.short_answer.citation == 1
    refused = compose("q?", select(readings, 0.95, 0.8, 3), readings)
    assert refused.abstained and refused.confidence == 0.91 and refused.short_answer is None


def test_seed_answers_keep_the_contract_with_short_answers(seeded_engine, seed_text):
    from qa.cite import contract_violations

    answer = seeded_engine.answer("How many times stronger than morphine is fentanyl?")
    assert not answer.abstained
    doc = answer.citations[0].doc_id
    assert contract_violations(answer, {doc: seed_text}) == []
    assert answer.short_answer and "100" in answer.short_answer.text
    assert 0.5 <= answer.confidence <= 1 and answer.citations[0].score == answer.confidence


def test_an_installed_wheel_answers_with_the_shipped_model_and_no_torch(tmp_path):
    """What ``pip install groundqa`` gets: the wheel carries the model and its
    calibration, and answering never imports torch."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path / "wheel"), str(PROJECT_ROOT)], check=True)
    wheel = next((tmp_path / "wheel").glob("groundqa-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"index/model/reader/model.onnx", "index/model/reader/calibration.json"} <= names
        z.extractall(tmp_path / "site")
    script = (
        "import sys\n"
        "import qa, qa.reading.model\n"
        "assert qa.reading.model.__file__.startswith(sys.argv[1]), qa.reading.model.__file__\n"
        "a = qa.answer('How many times stronger than morphine is fentanyl?')\n"
        "assert not {'torch', 'transformers'} & set(sys.modules), 'answering imported torch'\n"
        "print(a.abstained, a.citations[0].score if a.citations else None)\n"
    )
    env = {"PYTHONPATH": str(tmp_path / "site"), "QA_DATA_DIR": str(tmp_path / "data"),
           "QA_SEED_DIR": str(PROJECT_ROOT / "seeds"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "site")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    abstained, score = out.stdout.split()
    assert abstained == "False" and float(score) > 0.5


def test_readers_can_be_chosen_per_question_by_name(seeded_engine):
    question = "How many times stronger than morphine is fentanyl?"
    trained = seeded_engine.answer(question)
    heuristic = seeded_engine.answer(question, reader="heuristic")
    assert heuristic.citations[0].text == trained.citations[0].text
    assert heuristic.short_answer is None and trained.short_answer is not None
    assert seeded_engine.reader_for("heuristic") is seeded_engine.reader_for("heuristic")
    with pytest.raises(ValueError, match="reader must be one of"):
        seeded_engine.answer(question, reader="oracle")


def test_the_combiner_learns_which_signal_to_trust():
    """Labels that follow the heuristic score and not the model's scores:
    the fit weights the heuristic, and its probabilities track the labels."""
    import random

    from qa.reading.calibrate import Combiner

    rng = random.Random(0)
    rows = []
    for _ in range(2000):
        h = rng.random()
        rows.append(((rng.gauss(0, 2), rng.gauss(0, 2), rng.gauss(0, 2), h), int(rng.random() < h)))
    c = Combiner.fit(rows)
    assert all(abs(w) < 0.1 for w in c.weights[:3]) and c.weights[3] > 3
    assert c((0, 0, 0, 0.9)) > 0.75 and c((0, 0, 0, 0.1)) < 0.25
    assert Combiner.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="sweep"):
        Combiner.from_dict({"features": ["logit", "heuristic"], "weights": [1, 1], "bias": 0})


def test_the_best_sentence_carries_the_questions_answerability():
    """Which sentence and whether any are separate regressions: the best
    sentence's probability is P(answered), the others keep their distance."""
    from qa.reading.calibrate import QUESTION_FEATURES, Calibration, Combiner

    calibration = Calibration(Combiner((0, 0, 0, 4.0), -2.0),
                              Combiner((0.0, 0.5, 0.0), -1.0, QUESTION_FEATURES))
    features = [(1.0, 0.0, 6.0, 0.9), (1.0, 0.0, -2.0, 0.2)]
    p = calibration.probabilities(features)
    answered = 1 / (1 + 2.718281828 ** -(0.5 * 6.0 - 1.0))
    assert p[0] == pytest.approx(answered, rel=1e-6) and 0 < p[1] < p[0]
    assert Calibration.from_dict(calibration.to_dict()) == calibration
    with pytest.raises(ValueError, match="sweep"):
        Calibration.from_dict({"combiner": {}})
