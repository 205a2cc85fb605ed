"""The base class of the stopping criteria: a callable on the learner, composable with | and &."""

from __future__ import annotations

import inspect
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import check_random_state

if TYPE_CHECKING:
    from activellm_modal.loop.stopping import AllOf, AnyOf

# ---------------------------------------------------------------------------------------
# parameter checks and pool helpers
# ---------------------------------------------------------------------------------------


def _check_int(name: str, value: Any, minimum: int, owner: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")


def _check_real(name: str, value: Any, low: float, high: float, owner: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not low <= float(value) <= high
    ):
        raise ValueError(f"{owner}: {name} must be a number in [{low}, {high}], got {value!r}")


def _take_rows(X: Any, positions: np.ndarray) -> Any:
    # Positions, never labels: a pandas pool may have any index.
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[positions]
    if isinstance(X, list):
        return [X[i] for i in positions]
    if sp.issparse(X):
        return X.tocsr()[positions]
    return X[positions]


def _sample_positions(n: int, size: int | None, random_state: Any) -> np.ndarray:
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(check_random_state(random_state).choice(n, size=size, replace=False))


def _require_pool(X_pool: Any, owner: str) -> None:
    if X_pool is None:
        raise ValueError(f"{owner} measures the pool: call stop(learner, X_pool) with the pool")


def _format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


# ---------------------------------------------------------------------------------------
# the interface
# ---------------------------------------------------------------------------------------


class StoppingCriterion(ABC):
    """Base class of stopping criteria: ``stop(learner, X_pool) -> bool``.

    Subclasses implement :meth:`_check`, which returns a reason (a string) when the
    loop should stop and ``None`` otherwise. :meth:`stop` records the reason and
    counts calls in ``n_calls_``.

    Attributes
    ----------
    n_calls_ : int
        How often :meth:`stop` has been called since creation or :meth:`reset`.
    reason_ : str or None
        Why the last call said stop; ``None`` when it said continue.

    Examples
    --------
    >>> from activellm_modal.loop.stopping import StoppingCriterion
    >>> class Never(StoppingCriterion):
    ...     def _check(self, learner, X_pool):
    ...         return None
    >>> never = Never()
    >>> never.stop(None, None), never.n_calls_, never.reason
    (False, 1, '')
    """

    def stop(self, learner: Any, X_pool: Any = None) -> bool:
        """Decide whether the active learning loop should stop.

        Parameters
        ----------
        learner : modAL learner or committee
            The learner of the loop, after the previous round's ``teach``.
        X_pool : array-like, sparse matrix, DataFrame, Series or list, optional
            The current unlabelled pool. Criteria that measure the pool require it.

        Returns
        -------
        bool
            ``True`` when the loop should stop; then :attr:`reason` says why.
        """
        self.n_calls_ = getattr(self, "n_calls_", 0) + 1
        self.reason_ = self._check(learner, X_pool)
        return self.reason_ is not None

    __call__ = stop

    @abstractmethod
    def _check(self, learner: Any, X_pool: Any) -> str | None:
        """Return why to stop now, or ``None`` to continue."""

    @property
    def reason(self) -> str:
        """Why the last call to :meth:`stop` returned ``True`` (``""`` otherwise)."""
        return getattr(self, "reason_", None) or ""

    def reset(self) -> StoppingCriterion:
        """Forget all state learnt by :meth:`stop`, keeping the parameters.

        Returns
        -------
        self
        """
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
            delattr(self, name)
        return self

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of the criterion, as given to ``__init__``.

        Parameters
        ----------
        deep : bool, default=True
            Accepted for scikit-learn's protocol (``clone`` passes
            ``deep=False``); criteria hold no nested estimators to expand.

        Returns
        -------
        dict
            Parameter name to value.
        """
        params: dict[str, Any] = {}
        if type(self).__init__ is object.__init__:  # a subclass without parameters
            return params
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and param.kind is not inspect.Parameter.VAR_KEYWORD:
                params[name] = getattr(self, name)
        return params

    def set_params(self, **params: Any) -> StoppingCriterion:
        """Set parameters by name, as scikit-learn estimators do; returns ``self``."""
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{name!r} is not a parameter of {type(self).__name__}; "
                    f"its parameters are {sorted(valid)}."
                )
            setattr(self, name, value)
        return self

    def __sklearn_clone__(self) -> StoppingCriterion:
        """A fresh criterion with the same parameters and no state (``sklearn.clone``)."""
        from sklearn.base import clone

        params = {
            name: clone(value, safe=False) for name, value in self.get_params(deep=False).items()
        }
        return type(self)(**params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_format_params(self.get_params())})"

    def __or__(self, other: StoppingCriterion) -> AnyOf:
        from activellm_modal.loop.stopping import AnyOf  # it builds on this class

        return AnyOf(self, other)

    def __and__(self, other: StoppingCriterion) -> AllOf:
        from activellm_modal.loop.stopping import AllOf

        return AllOf(self, other)
