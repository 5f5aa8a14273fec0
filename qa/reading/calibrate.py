"""From a reader's raw scores to one calibrated probability per sentence.

The passage model gives each sentence it read three scores (the passage's
answerable logit, the sentence's evidence logit, its best span score against
the null span) and retrieval gives a fourth (the heuristic score).  Two
questions are asked of them separately, because different signals answer
them (measured on the seed and SQuAD dev sets: the heuristic score picks the
right sentence as often as the model, 0.76–0.82 of the time, but separates
answerable from unanswerable questions with ROC AUC 0.61 where the model's
span score reaches 0.79–0.84):

* **which sentence**: a logistic regression over the four scores of each
  candidate (:data:`FEATURES`), fitted on the candidates of answerable dev
  questions labelled gold or not;
* **whether any**: a logistic regression over the question's best scores
  (:data:`QUESTION_FEATURES`), fitted on dev questions labelled answerable
  or not.

A sentence's probability is P(answered) × its sentence score relative to the
best one, so the best sentence's probability is the question's
answerability, the number the abstention threshold is chosen on, and the
others keep their distance from it.  ``qa eval --sweep --write`` fits both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FEATURES = ("answerable", "evidence", "span", "heuristic")
QUESTION_FEATURES = ("best answerable", "best span", "best heuristic")


def question_features(features: list[tuple[float, ...]]) -> tuple[float, ...]:
    """The best of each model score over every sentence read, and the best heuristic score."""
    return (max(f[0] for f in features), max(f[2] for f in features), max(f[3] for f in features))


@dataclass(frozen=True)
class Combiner:
    """``σ(weights · features + bias)``.  The default (before a sweep has
    fitted one) trusts the evidence logit alone."""

    weights: tuple[float, ...] = (0.0, 1.0, 0.0, 0.0)
    bias: float = 0.0
    names: tuple[str, ...] = FEATURES

    def __call__(self, features: tuple[float, ...]) -> float:
        z = sum(w * x for w, x in zip(self.weights, features)) + self.bias
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def to_dict(self) -> dict:
        return {"features": list(self.names), "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_dict(cls, values: dict, names: tuple[str, ...] = FEATURES) -> "Combiner":
        if list(values.get("features", [])) != list(names):
            raise ValueError(f"calibration was fitted on features {values.get('features')}, not {list(names)}: "
                             "run `qa eval --sweep --write` again")
        return cls(tuple(float(w) for w in values["weights"]), float(values["bias"]), names)

    @classmethod
    def fit(cls, rows: list[tuple[tuple[float, ...], int]], steps: int = 50,
            names: tuple[str, ...] = FEATURES) -> "Combiner":
        """Maximum likelihood by Newton's method over (features, label) rows,
        with a little L2 so it stays finite."""
        x = np.c_[np.array([r[0] for r in rows], dtype=np.float64), np.ones(len(rows))]
        y = np.array([r[1] for r in rows], dtype=np.float64)
        w = np.zeros(x.shape[1])
        for _ in range(steps):
            q = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
            grad = x.T @ (q - y) + 1e-3 * w
            hess = (x * (q * (1 - q))[:, None]).T @ x + 1e-3 * np.eye(x.shape[1])
            w -= np.linalg.solve(hess, grad)
        return cls(tuple(round(float(v), 6) for v in w[:-1]), round(float(w[-1]), 6), names)


#: Before a sweep has fitted one: the best span score decides.
DEFAULT_ANSWERABLE = Combiner((0.0, 1.0, 0.0), 0.0, QUESTION_FEATURES)


@dataclass(frozen=True)
class Calibration:
    """Both regressions; ``probabilities`` applies them to one question's candidates."""

    sentence: Combiner = Combiner()
    answerable: Combiner = DEFAULT_ANSWERABLE

    def probabilities(self, features: list[tuple[float, ...]]) -> list[float]:
        if not features:
            return []
        p_answered = self.answerable(question_features(features))
        scores = [self.sentence(f) for f in features]
        top = max(scores)
        return [p_answered * s / top for s in scores]

    def to_dict(self) -> dict:
        return {"sentence": self.sentence.to_dict(), "answerable": self.answerable.to_dict()}

    @classmethod
    def from_dict(cls, values: dict) -> "Calibration":
        if "sentence" not in values:
            raise ValueError("calibration holds no sentence and answerable regressions: "
                             "run `qa eval --sweep --write` again")
        return cls(Combiner.from_dict(values["sentence"]), Combiner.from_dict(values["answerable"], QUESTION_FEATURES))
