"""The eval runner end to end: real index, real embedder, real llama-index
baseline, the ``qa eval`` command in a subprocess as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evals import datasets
from evals.metrics import COUNTS, LATENCY, QUALITY

SYSTEMS = ["groundqa", "groundqa-heuristic", "llamaindex", "bm25", "dense"]


def qa_eval(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "qa", "eval", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def test_seed_run_writes_every_report(tmp_path):
    out = tmp_path / "out"
    run = qa_eval("-d", "seed", "--limit", "4", "--out", str(out))
    assert run.returncode == 0, run.stderr
    for name in ("results.json", "report.md", "failures.md", "chart.png", "curves.png", "answers.jsonl"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    results = json.loads((out / "results.json").read_text())
    assert results["judge"] == "default"
    seed = results["datasets"]["seed"]
    assert list(seed["systems"]) == SYSTEMS
    for system in seed["systems"].values():
        assert set(QUALITY + LATENCY + COUNTS) <= set(system["metrics"])
        assert system["metrics"]["questions"] == 4
        assert system["metrics"]["citation_validity"] == 1.0
    assert seed["systems"]["llamaindex"]["top_k"] == 2
    assert seed["systems"]["groundqa"]["label"].endswith("cross-encoder reader")
    assert seed["systems"]["llamaindex"]["metrics"]["answerability_auc"] is None

    assert "judge: default" in run.stdout and "groundqa" in run.stdout
    report = (out / "report.md").read_text()
    assert "Judge: **default**" in report and "![groundqa vs baselines](chart.png)" in report
    assert "Judge: default" in (out / "failures.md").read_text()
    answers = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 4 * len(SYSTEMS)
    assert {a["system"] for a in answers} == set(SYSTEMS)


def test_gate_fails_below_a_threshold_and_names_the_metric(tmp_path):
    impossible = tmp_path / "thresholds.toml"
    impossible.write_text("[seed]\ncitation_validity = 1.0\nevidence_recall = 1.01\n")
    run = qa_eval("-d", "seed", "--limit", "3", "--out", str(tmp_path / "out"), "--gate",
                  "--thresholds", str(impossible), "--json")
    assert run.returncode == 1
    assert "GATE FAILED seed: evidence_recall" in run.stderr
    assert "citation_validity" not in run.stderr
    results = json.loads(run.stdout)
    assert results["gate"]["passed"] is False
    assert [f["metric"] for f in results["gate"]["failures"]] == ["evidence_recall"]


def test_gate_needs_thresholds_for_every_gated_data_set(tmp_path):
    other = tmp_path / "thresholds.toml"
    other.write_text("[squad-test]\ncitation_validity = 1.0\n")
    run = qa_eval("-d", "seed", "--limit", "2", "--out", str(tmp_path / "out"), "--gate", "--thresholds", str(other))
    assert run.returncode == 1 and "no thresholds" in run.stderr


def _user_data(root):
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "volcano.md").write_text(
        "# Volcanoes\n\nMount Etna erupted in 2021. Its lava reached the town of Catania.\n\n"
        "Vesuvius destroyed Pompeii in the year 79.\n")
    (corpus / "rivers.txt").write_text("The Danube flows through ten countries. It ends in the Black Sea.\n")
    rows = [
        {"id": "etna", "question": "When did Mount Etna erupt?", "evidence": ["Mount Etna erupted in 2021"],
         "answers": ["2021"]},
        {"id": "danube", "question": "How many countries does the Danube flow through?",
         "doc_id": "rivers", "answer_starts": [25], "answers": ["ten"]},
        {"id": "follow", "question": "Where does it end?", "history": ["How many countries does the Danube flow through?"],
         "evidence": ["It ends in the Black Sea."]},
        {"id": "nope", "question": "Who painted the Mona Lisa?", "answerable": False},
    ]
    questions = root / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return corpus, questions


def test_own_corpus_and_questions(tmp_path):
    corpus, questions = _user_data(tmp_path)
    out = tmp_path / "out"
    run = qa_eval("--corpus", str(corpus), "--questions", str(questions), "--out", str(out), "--json")
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    mine = results["datasets"]["questions"]
    assert mine["documents"] == 2
    groundqa = mine["systems"]["groundqa"]["metrics"]
    assert (groundqa["questions"], groundqa["answerable"], groundqa["unanswerable"]) == (4, 3, 1)
    assert groundqa["citation_validity"] == 1.0
    assert groundqa["evidence_recall"] > 0
    etna = next(json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()
                if '"id": "etna"' in line and '"system": "groundqa"' in line)
    assert etna["answer"]["citations"][0]["doc_id"] == "volcano"
    assert etna["score"]["evidence_recall"] == 1.0


def test_dataset_folder_with_docs_jsonl(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "docs.jsonl").write_text(json.dumps({"doc_id": "a", "title": "A", "text": "Rome is the capital of Italy."}) + "\n")
    (folder / "questions.jsonl").write_text(json.dumps({"question": "What is the capital of Italy?",
                                                        "evidence": ["Rome is the capital of Italy."]}) + "\n")
    run = qa_eval("-d", str(folder), "--out", str(tmp_path / "out"), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["datasets"]["mine"]["systems"]["groundqa"]["metrics"]["evidence_recall"] == 1.0


def test_bad_user_data_exits_2_with_file_and_line(tmp_path):
    corpus, questions = _user_data(tmp_path)
    with open(questions, "a") as handle:
        handle.write(json.dumps({"question": "Q?", "evidence": ["not in any document"]}) + "\n")
    run = qa_eval("--corpus", str(corpus), "--questions", str(questions), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert "questions.jsonl:5" in run.stderr and "not in the corpus" in run.stderr and "Traceback" not in run.stderr
    missing = qa_eval("--questions", str(questions))
    assert missing.returncode == 2 and "go together" in missing.stderr


def test_shipped_datasets_resolve_gold_sentences():
    seed = datasets.seed()
    assert len(seed.questions) == 78
    text = seed.documents[0].text
    for q in seed.questions:
        assert bool(q.evidence) == q.answerable, q.id
        for group in q.evidence:
            assert group and all(text[r.start : r.end].strip() == text[r.start : r.end] for r in group)
    dev, test = datasets.squad("dev"), datasets.squad("test")
    assert (len(dev.questions), len(test.questions)) == (103, 105)
    assert not {q.id for q in dev.questions} & {q.id for q in test.questions}
    for q in test.questions:
        if q.answerable:
            gold = " ".join(test.texts[r.doc_id][r.start : r.end] for r in q.gold_sentences)
            assert any(a in gold for a in q.answers), q.id
        else:
            assert not q.evidence


def test_sweep_moves_abstention_with_the_threshold():
    from evals.sweep import best, sweep

    small = datasets.seed()
    small.questions = [q for q in small.questions if q.id in {"seed-001", "seed-002", "seed-073", "seed-049"}]
    result = sweep((0.0, 1.01), (1.01,), datasets=[small], show_progress=False)
    rows = result.rows
    low, high = (r.per_dataset["seed"] for r in rows)
    assert result.reader.name == "cross-encoder" and result.fitted_on.startswith("seed: ")  # fitted on what it read
    assert low["ar"] == 0.0 and low["far"] == 0.0 and low["er"] > 0
    assert high["ar"] == 1.0 and high["far"] == 1.0 and high["er"] == 0.0
    assert best(rows) is rows[0]  # the only row that refuses no answerable question


def test_sweep_refuses_the_test_split():
    from evals.sweep import sweep

    with pytest.raises(ValueError, match="squad-test"):
        sweep((0.5,), (0.5,), datasets=[datasets.squad("test")], show_progress=False)
