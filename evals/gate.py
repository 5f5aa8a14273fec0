"""The quality gate: groundqa's metrics against ``evals/thresholds.toml``.

The file has one table per data set holding minimums, and an optional
``<dataset>.max`` table for the metrics where lower is better::

    [seed]
    citation_validity = 1.0
    [seed.max]
    false_abstention_rate = 0.25

A data set that is gated must have a table: gating a run against nothing
would pass silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from evals.metrics import COUNTS, LATENCY, QUALITY

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"
GATED_SYSTEM = "groundqa"


@dataclass(frozen=True)
class GateFailure:
    dataset: str
    metric: str
    value: float | None
    bound: float | None
    kind: str  # "min", "max", "unknown metric" or "no thresholds"

    def __str__(self) -> str:
        if self.kind == "no thresholds":
            return f"{self.dataset}: no thresholds for this data set"
        if self.kind == "unknown metric":
            return f"{self.dataset}: unknown metric {self.metric!r} in the thresholds"
        shown = "not measured" if self.value is None else f"{self.value:.4f}"
        relation = "below the minimum" if self.kind == "min" else "above the maximum"
        return f"{self.dataset}: {self.metric} = {shown}, {relation} {self.bound}"

    def to_dict(self) -> dict:
        return asdict(self) | {"message": str(self)}


def load(path: Path = THRESHOLDS) -> dict[str, dict]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as err:
        raise ValueError(f"{path}: cannot read thresholds ({err.strerror or err})") from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML ({err})") from None


def check(result, thresholds: dict[str, dict]) -> list[GateFailure]:
    """Every threshold groundqa misses on the data sets of ``result``."""
    known = set(QUALITY) | set(LATENCY) | set(COUNTS)
    failures = []
    for d in result.datasets:
        table = thresholds.get(d.name)
        if not isinstance(table, dict):
            failures.append(GateFailure(d.name, "", None, None, "no thresholds"))
            continue
        values = d.system(GATED_SYSTEM).metrics
        bounds = [(m, b, "min") for m, b in table.items() if m != "max"]
        bounds += [(m, b, "max") for m, b in (table.get("max") or {}).items()]
        for metric, bound, kind in bounds:
            if metric not in known:
                failures.append(GateFailure(d.name, metric, None, bound, "unknown metric"))
                continue
            value = values.get(metric)
            if value is None or (value < bound if kind == "min" else value > bound):
                failures.append(GateFailure(d.name, metric, value, bound, kind))
    return failures


#: Metrics a threshold makes sense for (latency depends on the machine; the
#: false abstention rate is a maximum, handled apart).
GATEABLE = tuple(m for m in QUALITY if m != "false_abstention_rate")


def suggest(results: dict, margin: float = 0.02) -> str:
    """Thresholds TOML from a ``results.json`` summary: each measured value
    less ``margin`` (rounded down to 2 decimals), the false-abstention maximum
    plus ``margin``; citation validity is always 1.0.  For setting the file
    once from a measurement, never for lowering it afterwards."""
    import math

    lines = []
    for name, dataset in results["datasets"].items():
        values = dataset["systems"][GATED_SYSTEM]["metrics"]
        lines.append(f"[{name}]")
        for metric in GATEABLE:
            value = values.get(metric)
            if value is None:
                continue
            bound = 1.0 if metric == "citation_validity" else max(0.0, math.floor(round((value - margin) * 100, 6)) / 100)
            lines.append(f"{metric} = {bound:.2f}  # measured {value:.4f}")
        far = values.get("false_abstention_rate")
        if far is not None:
            bound = min(1.0, math.ceil(round((far + margin) * 100, 6)) / 100)
            lines += [f"[{name}.max]", f"false_abstention_rate = {bound:.2f}  # measured {far:.4f}"]
        lines.append("")
    return "\n".join(lines)
