"""Score a random subsample of a huge pool with any modAL query strategy.

Uncertainty, margin and entropy sampling score *every* row of the pool: a
million texts cost a million forward passes per query. Scoring a uniform random
subsample of, say, 10,000 rows is the usual remedy: the best-scoring of 10,000
random rows lies in the pool's top 0.05% with probability ``1 - 0.9995**10_000``
(about 99.3%), whatever the pool size, and the query cost no longer grows with
the pool.
:func:`subsampled` wraps any strategy so; the wrapped strategy is itself a
modAL strategy and returns indices into the full pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from activellm_modal.loop.learners import n_rows
from activellm_modal.strategies.base import QueryStrategy, query_rng

__all__ = ["SubsampledStrategy", "subsampled", "take_rows"]

#: A modAL query strategy: ``strategy(learner, X_pool, n_instances, **kwargs)``
#: returning ``(indices, scores)`` or only ``indices``.
Strategy = Callable[..., Any]

# Sparse formats without row indexing; modAL's retrieve_rows converts them to CSR as well.
_NO_ROW_INDEXING = ("coo", "dia", "bsr")


def take_rows(X: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` of ``X``, by position, in the container's own type.

    Parameters
    ----------
    X : array-like, sparse matrix, list, tuple, pandas DataFrame or Series
        The pool.
    rows : ndarray of int
        Positions of the rows to take.

    Returns
    -------
    Same kind of container as ``X`` (a list for lists and tuples), holding only
    the rows asked for: only these rows are copied, never the whole pool.

    Examples
    --------
    >>> import pandas as pd
    >>> take_rows(["a", "b", "c"], np.array([2, 0]))
    ['c', 'a']
    >>> take_rows(pd.Series(["a", "b", "c"], index=[10, 20, 30]), np.array([1])).tolist()
    ['b']
    """
    if sp.issparse(X):
        if X.format in _NO_ROW_INDEXING:
            X = X.tocsr()
        return X[rows]
    if hasattr(X, "iloc"):
        # Positional, whatever the index: modAL and our indices are positions.
        return X.iloc[rows]
    if isinstance(X, np.ndarray):
        return X[rows]
    if isinstance(X, Sequence) and not isinstance(X, str | bytes):
        return [X[i] for i in rows.tolist()]
    try:
        return X[rows]
    except Exception as error:
        raise TypeError(
            f"subsampled() cannot take rows of a {type(X).__name__} pool by position; pass a "
            "numpy array, sparse matrix, list, pandas DataFrame or Series."
        ) from error


class SubsampledStrategy(QueryStrategy):
    """A modAL strategy that scores only a seeded random subsample of the pool.

    Build it with :func:`subsampled`; see there for the parameters.

    Attributes
    ----------
    n_calls_ : int
        Queries answered so far; with an int ``random_state``, query ``i``
        draws its subsample from the seed ``(random_state, i)``.
    last_subsample_ : ndarray of int or None
        Full-pool rows scored in the latest query (sorted); None when the whole
        pool was scored.
    n_queries_ : int
        The same count as ``n_calls_`` (the family's common name);
        :meth:`state_dict` saves it, so a resumed wrapper draws the same
        subsamples as the original would have.
    """

    def __init__(
        self,
        strategy: Strategy,
        n: int = 10_000,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.strategy = strategy
        self.n = n
        self.random_state = random_state

    def __call__(self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any) -> Any:
        """Query ``n_instances`` rows of ``X_pool``; the modAL strategy signature.

        Returns
        -------
        indices : ndarray of int
            Rows of the full ``X_pool``.
        scores : ndarray or None
            The wrapped strategy's second return value, unchanged (one per
            index for modAL's strategies); None if it returned only indices.
        """
        return super().__call__(learner, X_pool, n_instances, **kwargs)

    def _query(self, learner: Any, X_pool: Any, n_instances: int, **kwargs: Any) -> Any:
        result = self._subsample_query(learner, X_pool, n_instances, **kwargs)
        self._start_state()
        self.n_queries_ += 1
        self.n_calls_ = self.n_queries_
        self._failure = None
        return result

    def _subsample_query(self, learner: Any, X_pool: Any, n_instances: int, **kwargs: Any) -> Any:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 1:
            raise ValueError(f"n must be a positive int, got {self.n!r}.")
        n_pool = n_rows(X_pool)
        # Never fewer candidates than instances asked for, or the strategy would fail.
        size = max(int(self.n), int(n_instances))
        if size >= n_pool:
            self.last_subsample_ = None
            return _as_pair(self.strategy(learner, X_pool, n_instances, **kwargs))
        rng = self._subsample_rng()
        # Generator.choice without replacement uses a set-based draw for small
        # samples: O(size), no permutation of the pool. Sorted rows keep the
        # copy cache-friendly and the subsample in pool order.
        rows = np.sort(rng.choice(n_pool, size=size, replace=False, shuffle=False))
        self.last_subsample_ = rows
        indices, scores = _as_pair(
            self.strategy(learner, take_rows(X_pool, rows), n_instances, **kwargs)
        )
        local = np.asarray(indices)
        if local.dtype.kind not in "iu":
            raise TypeError(
                f"the wrapped strategy returned indices of dtype {local.dtype}; positions "
                "(ints) into the pool it was given are needed."
            )
        return rows[local], scores

    def _subsample_rng(self) -> np.random.Generator:
        # One stream per query: a rerun repeats every query, and queries differ.
        return query_rng(self.random_state, getattr(self, "n_queries_", 0))

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        if self.n_queries_:
            self.n_calls_ = self.n_queries_


def _as_pair(result: Any) -> tuple[Any, Any]:
    # modAL unpacks a strategy's result as (indices, metrics) and, if that fails,
    # calls the strategy a second time; a bare index array of length 2 would even
    # unpack wrongly. Always returning a pair avoids both.
    if isinstance(result, tuple) and len(result) == 2:
        return result
    return result, None


def subsampled(
    strategy: Strategy,
    n: int = 10_000,
    random_state: int | np.random.Generator | None = None,
) -> SubsampledStrategy:
    """Wrap a modAL query strategy so that each query scores ``n`` random rows.

    The wrapper draws ``n`` distinct rows uniformly
    (``Generator.choice(n_pool, size=n, replace=False)``: no permutation or
    copy of the whole pool), hands only those rows to ``strategy`` and maps the
    positions it returns back to rows of the full pool. The query cost is then
    that of scoring ``n`` rows, whatever the pool size.

    Parameters
    ----------
    strategy : callable
        Any modAL strategy ``strategy(learner, X_pool, n_instances, **kwargs)``
        returning ``(indices, scores)`` or only ``indices``:
        ``uncertainty_sampling``, ``margin_sampling``, ``entropy_sampling``,
        committee strategies, :class:`~activellm_modal.ActiveLLM` ...
    n : int, default=10_000
        Rows scored per query. Raised to ``n_instances`` when more are asked
        for; a pool of at most ``n`` rows is passed on whole.
    random_state : int, numpy Generator or None, default=None
        Seeds the subsamples. With an int, query ``i`` draws from the seed
        ``(random_state, i)``: reruns repeat every query, and queries differ.

    Returns
    -------
    SubsampledStrategy
        A picklable, clonable modAL strategy returning ``(indices, scores)``:
        indices into the full pool, and the wrapped strategy's scores (None if
        it returned only indices). Extra keyword arguments of a query go to
        ``strategy``.

    Notes
    -----
    Pools may be numpy arrays, sparse matrices, lists, or pandas DataFrames /
    Series (rows are taken by position, as modAL's indices are). A COO, DIA or
    BSR matrix is converted to CSR per query, as modAL itself does; pass CSR.

    Examples
    --------
    >>> from modAL.uncertainty import uncertainty_sampling
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.random.default_rng(0).normal(size=(50_000, 5))
    >>> clf = LogisticRegression().fit(X[:100], (X[:100, 0] > 0).astype(int))
    >>> strategy = subsampled(uncertainty_sampling, n=1_000, random_state=0)
    >>> indices, scores = strategy(clf, X, n_instances=3)
    >>> len(set(indices.tolist())), bool(set(indices) <= set(strategy.last_subsample_))
    (3, True)

    In a modAL loop it replaces the strategy it wraps:

    >>> from modAL.models import ActiveLearner
    >>> learner = ActiveLearner(
    ...     estimator=clf, query_strategy=subsampled(uncertainty_sampling, 1_000, random_state=0)
    ... )
    >>> idx, rows = learner.query(X, n_instances=2)
    >>> rows.shape
    (2, 5)
    """
    return SubsampledStrategy(strategy, n=n, random_state=random_state)
