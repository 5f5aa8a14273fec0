"""The reading model as shipped: the file the card describes, run without
torch, reading pairs the way a reader should, and the selection rule."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile

import pytest

from index.segment import Span
from qa.extractive import Candidate, compose
from qa.reader import MODEL_DIR, CrossEncoderReader, Reading, select
from qa.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def reader():
    return CrossEncoderReader()


def test_shipped_model_matches_its_card():
    model = MODEL_DIR / "model.onnx"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    card = (MODEL_DIR / "README.md").read_text(encoding="utf-8")
    assert re.search(r"sha256 \| `([0-9a-f]{64})`", card).group(1) == digest
    assert json.loads((MODEL_DIR / "metrics.json").read_text())["sha256"] == digest
    assert model.stat().st_size <= 25 * 1024 * 1024
    assert "CC BY-SA 4.0" in card


def test_calibration_was_chosen_by_the_sweep():
    from evals.sweep import SweepRow, best

    calibration = json.loads((MODEL_DIR / "calibration.json").read_text())
    assert 0 < calibration["threshold"] < 1
    rows = [SweepRow(**r) for r in calibration["grid"]]
    assert rows, "the sweep's table is kept with its choice"
    assert (best(rows).threshold, best(rows).keep) == (calibration["threshold"], calibration["keep"])
    reader = CrossEncoderReader()
    assert (reader.threshold, reader.keep) == (calibration["threshold"], calibration["keep"])


def test_the_answering_sentence_outscores_its_neighbours(reader):
    question = "In which year did the observatory open to the public?"
    sentences = [
        "The observatory stands on a hill north of the town.",
        "It opened to the public in 1931 after six years of building.",
        "Its largest telescope has a mirror of 1.5 metres.",
    ]
    probs = reader.probabilities([question] * 3, sentences)
    assert probs.argmax() == 1
    assert probs[1] > 2 * max(probs[0], probs[2])


def test_a_sentence_about_someone_else_is_not_an_answer(reader):
    """The near miss the model was trained to refuse: the same fact about
    another person does not answer the question."""
    sentence = "Maria Keller was appointed director of the museum in 2004."
    right, wrong = reader.probabilities(
        ["When was Maria Keller appointed director of the museum?",
         "When was Thomas Brandt appointed director of the museum?"], [sentence, sentence])
    assert right > 0.5 and wrong < right / 2


def test_short_answer_lies_inside_the_best_sentence(reader):
    text = "Noise. The bridge was designed by Anna Lindqvist and finished in 1962."
    span = Span(1, 7, len(text))
    c = Candidate("d", "t", "s", span, text[7:], 0.5, (0, "d", 1))
    readings = reader.read("Who designed the bridge?", None, [c])
    a, b = readings[0].short
    assert 7 <= a < b <= len(text)
    assert "Lindqvist" in text[a:b] and "1962" not in text[a:b]


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
        "import qa, qa.reader\n"
        "assert qa.reader.__file__.startswith(sys.argv[1]), qa.reader.__file__\n"
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
    """Labels that follow the heuristic score and not the model: the fit
    weights the heuristic and its probabilities track the labels."""
    import random

    from qa.reader import Combiner

    rng = random.Random(0)
    rows = []
    for _ in range(2000):
        h = rng.random()
        rows.append((rng.uniform(0.05, 0.95), h, int(rng.random() < h)))
    c = Combiner.fit(rows)
    assert abs(c.w_model) < 0.3 and c.w_heuristic > 3
    assert c(0.5, 0.9) > 0.75 and c(0.5, 0.1) < 0.25
    assert Combiner()(0.8, 0.1) == pytest.approx(0.8)
