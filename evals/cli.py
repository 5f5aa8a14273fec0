"""``qa eval``: grounding evals of groundqa against three baselines.

Kept import-light (the ``qa`` CLI imports this module for ``--help``); the
heavy modules are imported inside the command.  Exit codes: 0 done, 1 gate
failed, 2 bad input (unknown data set, malformed file, unavailable judge).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_DATASETS = ("seed", "squad-test", "docs-test")


def _fail(message: str, code: int = 2):
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.command()
@click.option("-d", "--dataset", "datasets", multiple=True, metavar="seed|squad-dev|squad-test|docs-dev|docs-test|DIR",
              help="Data set to run (repeatable). DIR holds questions.jsonl and docs.jsonl or corpus/. "
                   "Default: seed, squad-test and docs-test.")
@click.option("--corpus", type=click.Path(path_type=Path), help="Your corpus: a folder of .txt/.md/.rst/.html or a docs JSONL.")
@click.option("--questions", type=click.Path(path_type=Path), help="Your questions JSONL (format: evals/README.md).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("artifacts/eval"), show_default=True,
              help="Where results.json, report.md, failures.md, answers.jsonl and chart.png go.")
@click.option("--judge", "judge_spec", default="default", show_default=True,
              help="default | nli:MODEL | llm:openai-like:URL:MODEL")
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of the table.")
@click.option("--gate", is_flag=True, help="Exit 1 when groundqa is below evals/thresholds.toml.")
@click.option("--thresholds", type=click.Path(path_type=Path), help="Thresholds file for --gate [evals/thresholds.toml].")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions of each data set (smoke runs).")
@click.option("--sweep", is_flag=True, help="Sweep the reader's thresholds on dev data and print the table.")
@click.option("--write", "write_calibration", is_flag=True,
              help="With --sweep: record the best thresholds in the reader's calibration.json.")
def eval_command(datasets, corpus, questions, out, judge_spec, as_json, gate, thresholds, limit, sweep,
                 write_calibration):
    """Run the grounding evals: groundqa vs llama-index, BM25-only and dense-only."""
    from index import offline

    offline.enforce()
    from evals import datasets as ds
    from evals.judges import JudgeUnavailable, make_judge

    if sweep:
        _sweep([ds.resolve(name) for name in datasets] or None, write_calibration)
        return
    if (corpus is None) != (questions is None):
        _fail("--corpus and --questions go together")
    try:
        judge = make_judge(judge_spec)
        chosen = [ds.resolve(name) for name in datasets]
        if corpus is not None:
            chosen.append(ds.user_dataset(corpus, questions))
        if not chosen:
            chosen = [ds.resolve(name) for name in DEFAULT_DATASETS]
        names = [d.name for d in chosen]
        if len(set(names)) != len(names):
            _fail(f"data set named twice: {', '.join(names)}")
        chosen = [d.limited(limit) for d in chosen]
        bounds = None
        if gate:
            from evals import gate as gating

            bounds = gating.load(thresholds or gating.THRESHOLDS)
    except (JudgeUnavailable, ds.DatasetError, ValueError) as err:
        _fail(str(err))

    from evals import report, runner

    result = runner.run(chosen, judge)
    failures = None
    if gate:
        from evals import gate as gating

        failures = gating.check(result, bounds)
    paths = report.write(result, out, failures)
    if as_json:
        click.echo(paths["json"].read_text(encoding="utf-8").rstrip())
    else:
        click.echo(report.table(result))
        click.echo(f"\nWrote {', '.join(str(p) for p in paths.values())}")
    if failures:
        for f in failures:
            click.echo(f"GATE FAILED {f}", err=True)
        sys.exit(1)
    if gate:
        click.echo("Gate passed.", err=True)


def _sweep(datasets, write_calibration: bool) -> None:
    from evals import sweep as sweeping

    try:
        result = sweeping.sweep(datasets=datasets)
    except ValueError as err:
        _fail(str(err))
    reader = result.reader
    click.echo(sweeping.render(result.rows, (reader.threshold, reader.keep)))
    if result.calibration:
        click.echo(f"{result.calibration}, fitted on {result.fitted_on}")
    if write_calibration:
        path = getattr(reader, "path", None)
        if path is None:
            _fail(f"the {reader.name} reader keeps its thresholds in code, not in a calibration file")
        chosen = sweeping.write(result, path.parent / "calibration.json")
        click.echo(f"Wrote {path.parent / 'calibration.json'}: threshold {chosen.threshold}, keep {chosen.keep}")
