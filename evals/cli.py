"""``qa eval``: placeholder until the evals land (kept import-light: the CLI imports it)."""

import click


@click.command()
@click.option("--gate", is_flag=True, help="Exit non-zero when a metric is below evals/thresholds.toml.")
def eval_command(gate):
    """Run the grounding evals."""
    click.echo("evals: not implemented yet", err=True)
