"""The documented resource limits hold (README, "Limits"): top_k, the answer
time budget, files per upload; the request-body ceiling and the upload
folder are checked against the real server in test_ui_api.py."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from qa.engine import MAX_TOP_K, AnswerTimeout
from qa.settings import PROJECT_ROOT, Settings
from ui.library import Library


def test_top_k_is_bounded(seeded_engine):
    assert seeded_engine.answer("Who is Ruan Zongze?", top_k=MAX_TOP_K).citations
    with pytest.raises(ValueError, match=f"between 1 and {MAX_TOP_K}"):
        seeded_engine.answer("Who is Ruan Zongze?", top_k=MAX_TOP_K + 1)


def test_an_answer_over_its_time_budget_stops_with_a_clear_error(seeded_engine, monkeypatch):
    monkeypatch.setattr(seeded_engine, "settings", dataclasses.replace(seeded_engine.settings, answer_timeout=1e-6))
    with pytest.raises(AnswerTimeout, match="budget"):
        seeded_engine.answer("Who is Ruan Zongze?")
    monkeypatch.undo()
    assert seeded_engine.answer("Who is Ruan Zongze?").citations  # the engine is unharmed


def test_qa_ask_over_its_time_budget_exits_1(tmp_path):
    env = dict(os.environ, QA_DATA_DIR=str(tmp_path / "data"), QA_ANSWER_TIMEOUT="0.000001")
    done = subprocess.run([sys.executable, "-m", "qa", "ask", "Who is Ruan Zongze?"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error: ") and "QA_ANSWER_TIMEOUT" in done.stderr
    assert "Traceback" not in done.stderr


def test_files_past_the_per_upload_limit_are_refused_by_name(tmp_path):
    from qa.engine import Engine

    engine = Engine(Settings.from_env(data_dir=tmp_path / "data", seed=False, max_upload_files=2))
    files = []
    for i in range(4):
        path = tmp_path / f"note{i}.txt"
        path.write_text(f"Note number {i} says the tide turns at {i + 1} o'clock.\n")
        files.append((path, path.name))
    outcomes = Library(engine).upload(files)
    assert [o.status for o in outcomes] == ["added", "added", "rejected", "rejected"]
    assert all(o.name in o.message and "at most 2 files" in o.message for o in outcomes[2:])
    assert [d.doc_id for d in engine.documents()] == ["note0", "note1"]


def test_the_limits_are_settings():
    s = Settings.from_env({"QA_MAX_UPLOAD_FILES": "5", "QA_ANSWER_TIMEOUT": "2.5", "QA_QUEUE_SIZE": "7",
                           "QA_DATA_DIR": "/tmp/x"})
    assert (s.max_upload_files, s.answer_timeout, s.queue_size) == (5, 2.5, 7)


def test_the_server_limits_malloc_arenas_unless_the_user_did(monkeypatch):
    """glibc here: the limit takes; a MALLOC_ARENA_MAX the user exported wins."""
    from ui.memory import limit_arenas

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_arenas() is True
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False
