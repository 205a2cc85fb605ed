"""What a query strategy may ask of a modAL learner or committee, in one place.

modAL has two shapes: an ``ActiveLearner`` keeps ``estimator``, ``X_training``
and ``y_training``; a ``Committee`` keeps ``learner_list``, each member taught
the same instances. Strategies and stopping criteria read labelled counts and
data through these helpers, so both shapes (and ``None``, outside a loop) work
everywhere alike.
"""

from __future__ import annotations

from typing import Any

from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

__all__ = ["is_fitted", "labelled_data", "n_labelled", "n_rows"]


def n_rows(X: Any) -> int:
    """Rows of a pool or label vector: arrays, sparse matrices, frames, lists.

    Examples
    --------
    >>> import numpy as np
    >>> n_rows([1, 2, 3]), n_rows(np.zeros((4, 2)))
    (3, 4)
    """
    if isinstance(X, list):
        return len(X)
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X)


def _first_member(learner: Any) -> Any:
    # A Committee teaches every member the same instances; one member speaks for all.
    members = getattr(learner, "learner_list", None)
    return members[0] if members else learner


def labelled_data(learner: Any) -> tuple[Any, Any]:
    """``(X_training, y_training)`` of a learner or committee (``(None, None)`` if none).

    Examples
    --------
    >>> labelled_data(None)
    (None, None)
    """
    if learner is None:
        return None, None
    member = _first_member(learner)
    return getattr(member, "X_training", None), getattr(member, "y_training", None)


def n_labelled(learner: Any) -> int:
    """Labelled instances a learner or committee holds (0 before the first ``teach``).

    Examples
    --------
    >>> class Taught:
    ...     y_training = [0, 1, 1]
    >>> class Committee:
    ...     learner_list = [Taught(), Taught()]
    >>> n_labelled(Taught()), n_labelled(Committee()), n_labelled(None)
    (3, 3, 0)
    """
    y = labelled_data(learner)[1]
    return 0 if y is None else n_rows(y)


def is_fitted(learner: Any) -> bool:
    """Whether ``learner`` (a modAL learner or committee) can rank a pool.

    Examples
    --------
    >>> from modAL.models import ActiveLearner
    >>> from sklearn.linear_model import LogisticRegression
    >>> is_fitted(ActiveLearner(LogisticRegression())), is_fitted(None)
    (False, False)
    """
    if learner is None:
        return False
    members = getattr(learner, "learner_list", None)
    if members is not None:
        return bool(members) and all(is_fitted(member) for member in members)
    estimator = getattr(learner, "estimator", None)
    if estimator is not None:
        try:
            check_is_fitted(estimator)
            return True
        except NotFittedError:
            return False
        except TypeError:
            pass  # not a scikit-learn estimator: judge by the training data
    return getattr(learner, "y_training", None) is not None
