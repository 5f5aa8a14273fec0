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


def test_growth_laws_and_the_report_section(tmp_path):
    """``make growth``'s arithmetic and report without its hour of measuring:
    linear points give exponent 1 and their slope, a limit is reached where
    the line meets it (and not when that is far past the sizes measured),
    and the section replaces its older self in the benchmarks file, which
    ``make bench`` carries over."""
    from evals.bench import GROWTH_BEGIN, GROWTH_END, kept_growth
    from evals.growth import fit, laws, section, splice

    rows = [{"documents": n, "chroma": "local", "ingest_s": 0.5 * n, "sentences_per_s": 400, "disk_mb": 0.7 * n,
             "serve_rss_mb": 300 + 0.35 * n, "p95_ms": 120, "cold_s": 2.0, "sentences": 100 * n, "p50_ms": 90}
            for n in (250, 500, 1000)]
    law = fit(rows, "ingest_s")
    assert abs(law["b"] - 1) < 1e-6 and abs(law["per_document"] - 0.5) < 1e-9
    result = {"rows": rows, "minutes": 1.0, "machine": {"date": "today", "commit": "abc", "nproc": 2, "ram": "1 GiB"},
              **laws(rows)}
    assert result["reach"]["serve_rss_mb"]["documents"] == 2100  # (1024 - 300) / 0.35, to the hundred
    assert "p95_ms" not in result["reach"]  # flat: never
    report = tmp_path / "benchmarks.md"
    report.write_text(f"# Benchmarks\n\n{GROWTH_BEGIN}\nstale numbers\n{GROWTH_END}\n", encoding="utf-8")
    splice(report, section(result, "growth.png"))
    text = report.read_text(encoding="utf-8")
    assert "stale numbers" not in text and text.count(GROWTH_BEGIN) == 1 and "| 1,000 | local | 100,000 | 500 |" in text
    assert "1 GB of memory at about 2,100 documents" in text
    assert kept_growth(report).strip() == text.split("# Benchmarks")[1].strip()
