"""``python -m evals.bench --smoke`` keeps working: every section of the
report is produced (its numbers are not checked; speed is for ``make bench``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qa.settings import PROJECT_ROOT

SECTIONS = ("## Targets", "## Ingest", "## Warm answer latency", "## Cold start", "## `qa serve`", "## Install size")


@pytest.mark.server
def test_the_smoke_bench_writes_every_section(tmp_path):
    report = tmp_path / "bench.md"
    out = subprocess.run([sys.executable, "-m", "evals.bench", "--smoke", "--out", str(report)],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    assert text.strip() == out.stdout.strip()
    for section in SECTIONS:
        assert section in text, section
    assert "cores" in text and "Python 3." in text and "python -m evals.bench --smoke" in text
    assert "n/a" not in text.split("## `qa serve`")[1].split("##")[0], "qa serve did not come up"
