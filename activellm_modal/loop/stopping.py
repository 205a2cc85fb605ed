"""Stopping criteria for any modAL loop: when to stop asking for labels.

Every criterion has one method, ``stop(learner, X_pool) -> bool``. Call it once per
round, *before* the query; it answers whether the loop should end, and afterwards
``reason`` says why (empty while it has not fired)::

    while not criterion.stop(learner, X_pool):
        idx, _ = learner.query(X_pool)
        learner.teach(X_pool[idx], oracle(idx))
        X_pool = np.delete(X_pool, idx, axis=0)

Criteria follow scikit-learn's conventions: ``__init__`` only stores (and checks) its
parameters, state learnt while the loop runs ends in ``_``, :meth:`~StoppingCriterion.reset`
forgets that state, and criteria pickle. ``a | b`` is :class:`AnyOf` and ``a & b`` is
:class:`AllOf`.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> from modAL.models import ActiveLearner
>>> from activellm_modal.loop.compat import patch_modal
>>> from activellm_modal.loop.stopping import LabelBudget, MaxRounds
>>> _ = patch_modal()  # modAL's teach needs it on scikit-learn >= 1.8
>>> rng = np.random.RandomState(0)
>>> X_pool = rng.randn(50, 2)
>>> y_pool = (X_pool[:, 0] > 0).astype(int)
>>> learner = ActiveLearner(
...     LogisticRegression(), X_training=[[-1.0, 0.0], [1.0, 0.0]], y_training=[0, 1]
... )
>>> criterion = MaxRounds(10) | LabelBudget(5)
>>> while not criterion.stop(learner, X_pool):
...     idx, _ = learner.query(X_pool)
...     learner.teach(X_pool[idx], y_pool[idx])
...     X_pool, y_pool = np.delete(X_pool, idx, axis=0), np.delete(y_pool, idx)
>>> criterion.reason
'LabelBudget: 5 labelled instances reached n_labels=5'
"""

from __future__ import annotations

import functools
import types
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.metrics import cohen_kappa_score

from activellm_modal.exceptions import EmptyPoolError
from activellm_modal.loop.criterion import (
    StoppingCriterion,
    _check_int,
    _check_real,
    _require_pool,
    _sample_positions,
    _take_rows,
)
from activellm_modal.loop.learners import n_labelled, n_rows

__all__ = [
    "AllOf",
    "AnyOf",
    "CostBudget",
    "KappaAverage",
    "LabelBudget",
    "MaxRounds",
    "OverallUncertainty",
    "StoppingCriterion",
]


# ---------------------------------------------------------------------------------------
# budgets
# ---------------------------------------------------------------------------------------


class MaxRounds(StoppingCriterion):
    """Stop after a fixed number of rounds.

    Rounds are counted by calls: the first ``n_rounds`` calls say continue, every
    later call says stop.

    Parameters
    ----------
    n_rounds : int
        Number of query rounds to allow, ``>= 0``.

    Examples
    --------
    >>> from activellm_modal.loop.stopping import MaxRounds
    >>> criterion = MaxRounds(2)
    >>> [criterion.stop(None) for _ in range(3)]
    [False, False, True]
    >>> criterion.reason
    'MaxRounds: 2 rounds done (n_rounds=2)'
    """

    def __init__(self, n_rounds: int) -> None:
        _check_int("n_rounds", n_rounds, 0, "MaxRounds")
        self.n_rounds = n_rounds

    def _check(self, learner: Any, X_pool: Any) -> str | None:
        rounds_done = self.n_calls_ - 1
        if rounds_done >= self.n_rounds:
            return f"MaxRounds: {rounds_done} rounds done (n_rounds={self.n_rounds})"
        return None


def _n_labelled(learner: Any) -> int:
    member = (getattr(learner, "learner_list", None) or [learner])[0]
    if not hasattr(member, "y_training"):
        raise TypeError(
            f"{type(member).__name__} keeps no y_training, so LabelBudget cannot count "
            "its labels (modAL's DeepActiveLearner does not store training data); "
            "use MaxRounds instead"
        )
    return n_labelled(learner)


class LabelBudget(StoppingCriterion):
    """Stop once the learner holds a given number of labelled instances.

    Counts ``learner.y_training`` (for a Committee, that of its first member), so
    the initial labelled set counts too. A query of several instances can overshoot
    the budget: ask for at most ``remaining_`` instances.

    Parameters
    ----------
    n_labels : int
        Number of labelled instances at which to stop, ``>= 0``.

    Attributes
    ----------
    n_labelled_ : int
        Labelled instances seen at the last call.
    remaining_ : int
        Labels left in the budget at the last call (never negative).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from activellm_modal.loop.stopping import LabelBudget
    >>> budget = LabelBudget(10)
    >>> budget.stop(SimpleNamespace(y_training=[0, 1, 1])), budget.remaining_
    (False, 7)
    """

    def __init__(self, n_labels: int) -> None:
        _check_int("n_labels", n_labels, 0, "LabelBudget")
        self.n_labels = n_labels

    def _check(self, learner: Any, X_pool: Any) -> str | None:
        self.n_labelled_ = _n_labelled(learner)
        self.remaining_ = max(self.n_labels - self.n_labelled_, 0)
        if self.n_labelled_ >= self.n_labels:
            return (
                f"LabelBudget: {self.n_labelled_} labelled instances reached "
                f"n_labels={self.n_labels}"
            )
        return None


_PLAIN_CALLABLES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
)


class CostBudget(StoppingCriterion):
    """Stop when an LLM strategy has spent its budget of money, calls or tokens.

    Reads the ``usage_`` dictionary an LLM query strategy keeps (keys ``calls``,
    ``prompt_tokens``, ``completion_tokens``, ``seconds``, ``cost``). The check runs
    before each query, so the last query may overshoot a budget by its own cost.

    Parameters
    ----------
    max_cost : float, optional
        Stop once ``usage_["cost"]`` reaches this amount (same currency as the strategy).
    strategy : object, optional
        The strategy whose ``usage_`` to read. ``None`` means ``learner.query_strategy``.
    max_calls : int, optional
        Stop once ``usage_["calls"]`` reaches this number.
    max_tokens : int, optional
        Stop once prompt plus completion tokens reach this number.

    Attributes
    ----------
    spent_ : dict
        ``calls``, ``tokens`` and ``cost`` read at the last call. A strategy that has
        not run yet (no ``usage_``) has spent nothing.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from activellm_modal.loop.stopping import CostBudget
    >>> llm = SimpleNamespace(usage_={"calls": 3, "prompt_tokens": 900,
    ...                               "completion_tokens": 60, "cost": 0.012})
    >>> budget = CostBudget(max_cost=0.01, strategy=llm)
    >>> budget.stop(learner=None)
    True
    >>> budget.reason
    'CostBudget: cost 0.012 reached max_cost=0.01'
    """

    def __init__(
        self,
        max_cost: float | None = None,
        strategy: Any = None,
        *,
        max_calls: int | None = None,
        max_tokens: int | None = None,
    ) -> None:
        if max_cost is None and max_calls is None and max_tokens is None:
            raise ValueError("CostBudget: give at least one of max_cost, max_calls, max_tokens")
        if max_cost is not None:
            _check_real("max_cost", max_cost, 0.0, float("inf"), "CostBudget")
        if max_calls is not None:
            _check_int("max_calls", max_calls, 0, "CostBudget")
        if max_tokens is not None:
            _check_int("max_tokens", max_tokens, 0, "CostBudget")
        if strategy is not None:
            self._check_strategy(strategy)
        self.max_cost = max_cost
        self.strategy = strategy
        self.max_calls = max_calls
        self.max_tokens = max_tokens

    @staticmethod
    def _check_strategy(strategy: Any) -> None:
        # A plain function can never grow a ``usage_`` attribute, so the budget would
        # silently never fire.
        if isinstance(strategy, _PLAIN_CALLABLES):
            name = getattr(strategy, "__name__", type(strategy).__name__)
            raise TypeError(
                f"CostBudget: query strategy {name!r} is a plain function and records no "
                "usage_; pass strategy=<an ActiveLLM instance> (or use MaxRounds)"
            )

    def _check(self, learner: Any, X_pool: Any) -> str | None:
        strategy = self.strategy
        if strategy is None:
            strategy = getattr(learner, "query_strategy", None)
            self._check_strategy(strategy)
        usage = getattr(strategy, "usage_", None) or {}
        cost = usage.get("cost", 0.0)
        self.spent_ = {
            "calls": int(usage.get("calls", 0) or 0),
            "tokens": int(usage.get("prompt_tokens", 0) or 0)
            + int(usage.get("completion_tokens", 0) or 0),
            "cost": float("nan") if cost is None else float(cost),
        }
        reasons = []
        if self.max_cost is not None:
            if np.isnan(self.spent_["cost"]):
                if not getattr(self, "warned_unknown_cost_", False):
                    warnings.warn(
                        "CostBudget: the strategy reports no cost (unknown price?), so "
                        "max_cost cannot be enforced; set a price or use max_tokens",
                        UserWarning,
                        stacklevel=3,
                    )
                    self.warned_unknown_cost_ = True
            elif self.spent_["cost"] >= self.max_cost:
                reasons.append(f"cost {self.spent_['cost']:g} reached max_cost={self.max_cost!r}")
        if self.max_calls is not None and self.spent_["calls"] >= self.max_calls:
            reasons.append(f"{self.spent_['calls']} calls reached max_calls={self.max_calls}")
        if self.max_tokens is not None and self.spent_["tokens"] >= self.max_tokens:
            reasons.append(f"{self.spent_['tokens']} tokens reached max_tokens={self.max_tokens}")
        return "CostBudget: " + "; ".join(reasons) if reasons else None


# ---------------------------------------------------------------------------------------
# model-based criteria
# ---------------------------------------------------------------------------------------


class OverallUncertainty(StoppingCriterion):
    """Stop when the model is confident on the pool on average.

    Computes modAL's ``classifier_uncertainty`` (one minus the top class
    probability) for the pool, or for a seeded random subsample of ``sample_size``
    rows of a large pool, and stops when its mean falls below ``threshold``. An
    unfitted learner counts as fully uncertain; an empty pool stops the loop.

    Parameters
    ----------
    threshold : float
        Stop when the mean uncertainty is below this value, in ``[0, 1]``.
    sample_size : int, optional
        Measure at most this many pool rows, drawn afresh at each call. ``None``
        measures the whole pool.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsample.

    Attributes
    ----------
    mean_uncertainty_ : float
        Mean uncertainty measured at the last call.
    history_ : list of float
        Mean uncertainty of every call.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from modAL.models import ActiveLearner
    >>> from activellm_modal.loop.stopping import OverallUncertainty
    >>> X = np.array([[-3.0], [-2.0], [2.0], [3.0]])
    >>> learner = ActiveLearner(LogisticRegression(C=100), X_training=X, y_training=[0, 0, 1, 1])
    >>> criterion = OverallUncertainty(threshold=0.05)
    >>> criterion.stop(learner, np.array([[-4.0], [4.0]]))
    True
    >>> criterion.stop(learner, np.array([[0.0], [4.0]]))
    False
    """

    def __init__(
        self, threshold: float, sample_size: int | None = None, random_state: Any = None
    ) -> None:
        _check_real("threshold", threshold, 0.0, 1.0, "OverallUncertainty")
        if sample_size is not None:
            _check_int("sample_size", sample_size, 1, "OverallUncertainty")
        self.threshold = threshold
        self.sample_size = sample_size
        self.random_state = random_state

    def _check(self, learner: Any, X_pool: Any) -> str | None:
        from modAL.uncertainty import classifier_uncertainty

        _require_pool(X_pool, "OverallUncertainty")
        n = n_rows(X_pool)
        if n == 0:
            return "OverallUncertainty: the pool is empty"
        rows = _take_rows(X_pool, _sample_positions(n, self.sample_size, self.random_state))
        self.mean_uncertainty_ = float(np.mean(classifier_uncertainty(learner, rows)))
        self.history_ = [*getattr(self, "history_", []), self.mean_uncertainty_]
        if self.mean_uncertainty_ < self.threshold:
            return (
                f"OverallUncertainty: mean uncertainty {self.mean_uncertainty_:.4f} "
                f"< threshold={self.threshold!r}"
            )
        return None


def _kappa(previous: np.ndarray, current: np.ndarray) -> float:
    # Identical predictions agree perfectly; scikit-learn would give NaN (0/0) when
    # both models predict one and the same class everywhere.
    if np.array_equal(previous, current):
        return 1.0
    return float(cohen_kappa_score(previous, current))


class KappaAverage(StoppingCriterion):
    """Stop when successive models' predictions have stabilised.

    "Stabilizing predictions" (Bloodgood and Vijay-Shanker, 2009): at the first call
    a fixed *stop set* of up to ``sample_size`` rows is drawn from the pool and kept.
    Each call predicts the stop set with the current model and computes Cohen's kappa
    against the previous call's predictions. The loop stops when the mean of the last
    ``window`` kappas reaches ``threshold``. Calls on an unfitted learner are skipped.

    Parameters
    ----------
    threshold : float, default=0.99
        Mean kappa at which to stop, in ``[-1, 1]``.
    window : int, default=3
        Number of most recent kappas to average, ``>= 1``; the first stop is possible
        at call ``window + 1``.
    sample_size : int or None, default=1000
        Size of the stop set; ``None`` keeps the whole pool of the first call.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of the stop set.

    Attributes
    ----------
    stop_set_ : same type as the pool
        The rows drawn from the pool at the first call.
    stop_set_indices_ : ndarray of int
        Their positions in the pool of the first call.
    predictions_ : ndarray
        Predictions of the stop set at the last call.
    kappas_ : list of float
        Kappa between every pair of successive predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from modAL.models import ActiveLearner
    >>> from activellm_modal.loop.stopping import KappaAverage
    >>> learner = ActiveLearner(DummyClassifier(), X_training=[[0.0], [1.0]], y_training=[0, 1])
    >>> criterion = KappaAverage(threshold=0.99, window=2, random_state=0)
    >>> [criterion.stop(learner, np.zeros((20, 1))) for _ in range(3)]  # model never changes
    [False, False, True]
    >>> criterion.kappas_
    [1.0, 1.0]
    """

    def __init__(
        self,
        threshold: float = 0.99,
        window: int = 3,
        sample_size: int | None = 1000,
        random_state: Any = None,
    ) -> None:
        _check_real("threshold", threshold, -1.0, 1.0, "KappaAverage")
        _check_int("window", window, 1, "KappaAverage")
        if sample_size is not None:
            _check_int("sample_size", sample_size, 1, "KappaAverage")
        self.threshold = threshold
        self.window = window
        self.sample_size = sample_size
        self.random_state = random_state

    def _check(self, learner: Any, X_pool: Any) -> str | None:
        if not hasattr(self, "stop_set_"):
            _require_pool(X_pool, "KappaAverage")
            n = n_rows(X_pool)
            if n == 0:
                raise EmptyPoolError(
                    "KappaAverage draws its stop set from the pool at the first call, but "
                    "the pool is empty; call stop() before the pool runs out"
                )
            self.stop_set_indices_ = _sample_positions(n, self.sample_size, self.random_state)
            self.stop_set_ = _take_rows(X_pool, self.stop_set_indices_)
            self.kappas_: list[float] = []
        try:
            predictions = np.asarray(learner.predict(self.stop_set_))
        except NotFittedError:
            return None
        if hasattr(self, "predictions_"):
            self.kappas_.append(_kappa(self.predictions_, predictions))
        self.predictions_ = predictions
        if len(self.kappas_) < self.window:
            return None
        mean = float(np.mean(self.kappas_[-self.window :]))
        if mean >= self.threshold:
            return (
                f"KappaAverage: mean kappa {mean:.4f} over the last {self.window} rounds "
                f">= threshold={self.threshold!r}"
            )
        return None


# ---------------------------------------------------------------------------------------
# combinators
# ---------------------------------------------------------------------------------------


class _Combination(StoppingCriterion):
    def __init__(self, *criteria: StoppingCriterion) -> None:
        name = type(self).__name__
        if not criteria:
            raise ValueError(f"{name}: give at least one stopping criterion")
        for criterion in criteria:
            if not callable(getattr(criterion, "stop", None)):
                raise ValueError(
                    f"{name}: {criterion!r} is not a stopping criterion (it has no stop method)"
                )
        self.criteria = criteria

    def _decisions(self, learner: Any, X_pool: Any) -> list[bool]:
        # Every criterion sees every round (no short-circuit): round counters and
        # KappaAverage's prediction history must not skip rounds.
        return [criterion.stop(learner, X_pool) for criterion in self.criteria]

    @staticmethod
    def _reasons(criteria: Any) -> str:
        return "; ".join(c.reason for c in criteria if getattr(c, "reason", ""))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.criteria))})"

    def __sklearn_clone__(self) -> StoppingCriterion:
        from sklearn.base import clone

        return type(self)(*[clone(criterion, safe=False) for criterion in self.criteria])

    def reset(self) -> StoppingCriterion:
        super().reset()
        for criterion in self.criteria:
            if callable(getattr(criterion, "reset", None)):
                criterion.reset()
        return self


class AnyOf(_Combination):
    """Stop as soon as any of the criteria says stop.

    Parameters
    ----------
    *criteria : StoppingCriterion
        The criteria; all of them are evaluated at every call.

    Examples
    --------
    >>> from activellm_modal.loop.stopping import AnyOf, MaxRounds
    >>> criterion = AnyOf(MaxRounds(3), MaxRounds(1))
    >>> criterion.stop(None), criterion.stop(None), criterion.reason
    (False, True, 'MaxRounds: 1 rounds done (n_rounds=1)')
    """

    def _check(self, learner: Any, X_pool: Any) -> str | None:
        decisions = self._decisions(learner, X_pool)
        if any(decisions):
            return self._reasons(c for c, d in zip(self.criteria, decisions, strict=True) if d)
        return None


class AllOf(_Combination):
    """Stop only when all of the criteria say stop at the same call.

    Parameters
    ----------
    *criteria : StoppingCriterion
        The criteria; all of them are evaluated at every call.

    Examples
    --------
    >>> from activellm_modal.loop.stopping import AllOf, MaxRounds
    >>> criterion = MaxRounds(1) & MaxRounds(2)
    >>> [criterion.stop(None) for _ in range(3)]
    [False, False, True]
    >>> criterion
    AllOf(MaxRounds(n_rounds=1), MaxRounds(n_rounds=2))
    """

    def _check(self, learner: Any, X_pool: Any) -> str | None:
        if all(self._decisions(learner, X_pool)):
            return self._reasons(self.criteria)
        return None
