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
    assert report.count("| yes |") == 8 and "**no**" not in report
    rows = json.loads((PROJECT_ROOT / "artifacts" / "stress-smoke.json").read_text())
    assert [r["held"] for r in rows] == [True] * 8
