"""Grounding evals (``qa eval``): data sets, metrics, judges, baselines, reports and the gate.
See ``evals/README.md``."""
