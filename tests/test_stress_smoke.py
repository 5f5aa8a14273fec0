"""``make stress`` keeps working: every scenario at a tiny scale (about a
minute); the full run's figures are in docs/robustness.md."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qa.settings import PROJECT_ROOT

pytestmark = pytest.mark.server


def test_the_stress_run_holds_at_a_small_scale(tmp_path):
    out = tmp_path / "robustness.md"
    done = subprocess.run([sys.executable, "-m", "evals.stress", "--smoke", "--out", str(out)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = out.read_text()
    assert report.count("| yes |") == 9 and "**no**" not in report
    rows = json.loads((PROJECT_ROOT / "artifacts" / "stress-smoke.json").read_text())
    assert [r["held"] for r in rows] == [True] * 9


def test_the_served_soak_warms_up_for_as_many_calls_as_gradio_keeps_event_queues():
    """The soak through ``qa serve`` measures growth only after Gradio's
    per-call caches are full; the figure must follow a Gradio upgrade."""
    import gradio as gr

    from evals.stress import GRADIO_EVENT_QUEUES

    with gr.Blocks() as demo:
        gr.Textbox()
    demo.queue()
    assert demo._queue.pending_messages_per_session.max_size == GRADIO_EVENT_QUEUES
