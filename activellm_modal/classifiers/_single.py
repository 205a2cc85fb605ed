"""What a text classifier does when ``fit`` sees labels of one class only.

A 32-label first batch of an active-learning loop can miss a class. Rather than
crash the loop, the classifiers warn and predict the one class they have seen
until a later ``fit`` sees a second one.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from activellm_modal.exceptions import SingleClassWarning


def single_class(y: Any, classes: Any, owner: str) -> Any | None:
    """The label of ``y`` if it holds a single class (after a warning), else None.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Training labels.
    classes : array-like or None
        The classifier's fixed label set, if any; the label must belong to it.
    owner : str
        Class name used in the messages.

    Returns
    -------
    label : object or None
        The one label, or None when ``y`` holds two or more classes (or none).

    Raises
    ------
    ValueError
        If the one label is not in ``classes``.
    """
    if y is None:
        return None
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    seen = np.unique(y)
    if len(seen) != 1:
        return None
    label = seen[0].item() if isinstance(seen[0], np.generic) else seen[0]
    if classes is not None and label not in np.asarray(classes).tolist():
        raise ValueError(
            f"y has the label {label!r}, which is not in classes {np.asarray(classes).tolist()!r}. "
            "Pass the full label set as classes=[...]."
        )
    where = (
        f"predict_proba keeps a column for each of classes={np.asarray(classes).tolist()!r}"
        if classes is not None
        else "pass classes=[...] to keep a predict_proba column for every label"
    )
    warnings.warn(
        f"{owner}.fit got one class only ({label!r}, {len(y)} labels): nothing to learn, so it "
        f"predicts {label!r} for every text until a fit sees a second class ({where}).",
        SingleClassWarning,
        stacklevel=3,
    )
    return label


def one_class_proba(n_samples: int, classes: np.ndarray, label: Any) -> np.ndarray:
    """Probability 1 for ``label`` and 0 for the other ``classes``, for ``n_samples`` rows."""
    proba = np.zeros((n_samples, len(classes)), dtype=np.float32)
    proba[:, np.asarray(classes).tolist().index(label)] = 1.0
    return proba
