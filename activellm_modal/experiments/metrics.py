"""Scores of one trained classifier, and summaries over runs and seeds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def scores(y_true: Sequence[object], y_pred: Sequence[object]) -> dict[str, float]:
    """Accuracy and macro F1 (macro F1 shows the all-one-class models that accuracy hides)."""
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def n_positive(labels: Sequence[object], positive: object = 1) -> int:
    """How many of the selected labels are the positive class (the label balance)."""
    return int(np.sum(np.asarray(labels) == positive))


def area_under_curve(n_labelled: Sequence[float], accuracy: Sequence[float]) -> float:
    """Area under the learning curve, divided by its width: a mean accuracy over the budget.

    The trapezoid rule on the measured points; one point gives its own accuracy.

    Examples
    --------
    >>> area_under_curve([32, 64, 96], [0.5, 0.7, 0.7])
    0.65
    >>> area_under_curve([32], [0.6])
    0.6
    """
    x = np.asarray(n_labelled, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    if len(x) == 1 or x[-1] == x[0]:
        return float(y.mean())
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
    return round(area / float(x[-1] - x[0]), 12)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return float("nan"), float("nan")
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0
