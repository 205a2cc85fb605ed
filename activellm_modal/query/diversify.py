"""Nominate, then diversify: the LLM names more texts than needed, coverage keeps k.

An LLM asked for ``k`` texts tends to pick atypical ones and to lean to one
class; asked for ``m * k`` it names a broader set. :func:`diversify` keeps the
``k`` nominees that cover that set best in embedding space:

* ``"kmeans"``: k-means with ``k`` clusters over the nominees (weighted by the
  share of the pool each stands for, when known), the nominee nearest each
  centre; typical texts of every region the LLM found worth labelling.
* ``"kcenter"``: greedy farthest-first from the LLM's first nominee; maximal
  spread, which also reaches outliers.

:func:`diversify_balanced` composes it with ``balance``: the nominees are split
by the LLM's label guesses, each label's quota is diversified separately.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from activellm_modal.query.coverage import typical_points

METHODS = ("kmeans", "kcenter")


def diversify(
    vectors: np.ndarray,
    k: int,
    *,
    weights: np.ndarray | None = None,
    method: str = "kmeans",
    rng: np.random.Generator | None = None,
    density: np.ndarray | None = None,
) -> np.ndarray:
    """Indices (into ``vectors``, in ascending nomination order) of the ``k`` kept nominees.

    Parameters
    ----------
    vectors : ndarray of shape (n_nominees, dim)
        Embeddings of the nominees, in the LLM's order.
    k : int
        How many to keep (all are kept when ``k >= n_nominees``).
    weights : ndarray, optional
        Share of the pool each nominee stands for (``"kmeans"`` only).
    method : {"kmeans", "kcenter"}, default="kmeans"
    rng : numpy.random.Generator, optional
        Seeds k-means.
    density : ndarray, optional
        Typicality of each nominee (``"kmeans"`` keeps the densest of each
        cluster; without it, the one nearest the centre).

    Examples
    --------
    >>> X = np.array([[0.0], [0.05], [0.1], [5.0], [5.1], [9.0]])
    >>> diversify(X, 3, rng=np.random.default_rng(0)).tolist()
    [1, 3, 5]
    >>> diversify(X, 2, method="kcenter").tolist()
    [0, 5]
    """
    if method not in METHODS:
        raise ValueError(f"diversify method {method!r} is not one of {METHODS}.")
    n = len(vectors)
    if k >= n:
        return np.arange(n, dtype=np.intp)
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    vectors = np.asarray(vectors, dtype=np.float64)
    if method == "kcenter":
        chosen = [0]
        distance = np.linalg.norm(vectors - vectors[0], axis=1)
        while len(chosen) < k:
            nxt = int(np.argmax(distance))
            chosen.append(nxt)
            distance = np.minimum(distance, np.linalg.norm(vectors - vectors[nxt], axis=1))
        return np.sort(np.asarray(chosen, dtype=np.intp))
    rng = rng if rng is not None else np.random.default_rng(0)
    chosen, _ = typical_points(vectors, k, rng, weights=weights, n_init=3, density=density)
    if len(chosen) < k:
        # Identical nominees can leave clusters empty; keep the earliest others.
        rest = [i for i in range(n) if i not in set(chosen.tolist())]
        chosen = np.concatenate([chosen, rest[: k - len(chosen)]])
    return np.sort(chosen.astype(np.intp))


def diversify_balanced(
    vectors: np.ndarray,
    guesses: Sequence[str | None],
    quota: Mapping[str, int],
    *,
    weights: np.ndarray | None = None,
    method: str = "kmeans",
    rng: np.random.Generator | None = None,
    density: np.ndarray | None = None,
) -> np.ndarray:
    """Per-label quotas, each filled by :func:`diversify` among that label's nominees.

    A label with too few nominees takes them all; the places left are filled
    by diversifying over the nominees not yet taken.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [3.0], [9.0], [9.1], [20.0]])
    >>> g = ["a", "a", "a", "b", "b", "b"]
    >>> diversify_balanced(X, g, {"a": 2, "b": 1}, method="kcenter").tolist()
    [0, 2, 3]
    """
    k = sum(quota.values())
    rng = rng if rng is not None else np.random.default_rng(0)
    taken: list[int] = []
    for label, count in quota.items():
        members = np.asarray([i for i, g in enumerate(guesses) if g == label], dtype=np.intp)
        if count <= 0 or members.size == 0:
            continue
        w = None if weights is None else np.asarray(weights)[members]
        d = None if density is None else np.asarray(density)[members]
        keep = diversify(vectors[members], count, weights=w, method=method, rng=rng, density=d)
        taken += members[keep].tolist()
    if len(taken) < k:
        rest = np.asarray([i for i in range(len(vectors)) if i not in set(taken)], dtype=np.intp)
        if rest.size:
            w = None if weights is None else np.asarray(weights)[rest]
            d = None if density is None else np.asarray(density)[rest]
            keep = diversify(
                vectors[rest], k - len(taken), weights=w, method=method, rng=rng, density=d
            )
            taken += rest[keep].tolist()
    return np.sort(np.asarray(taken[:k], dtype=np.intp))


def narrow_nominees(
    presenter: Any,
    nominees: Sequence[int],
    rows: np.ndarray,
    texts: Sequence[str],
    k: int,
    guesses: Sequence[str | None] | None,
    quota: Mapping[str, int] | None,
    rng: np.random.Generator,
    method: str = "kmeans",
) -> list[int]:
    """ActiveLLM's step between parsing and filling: keep ``k`` of the nominees.

    ``nominees`` are indices into the presented ``rows``/``texts``, in the
    LLM's order; the kept ones are returned in that order. ``presenter``
    (a :class:`~activellm_modal.query.coverage.CoveragePresenter`) embeds them and
    knows the mass each presented row stands for.
    """
    nominees = list(nominees)
    if len(nominees) <= k:
        return nominees
    vectors = presenter.embed([texts[i] for i in nominees])
    weights = presenter.weights_of(np.asarray(rows)[nominees])
    density = presenter.density_of(np.asarray(rows)[nominees])
    if quota is None or guesses is None:
        keep = diversify(vectors, k, weights=weights, method=method, rng=rng, density=density)
    else:
        keep = diversify_balanced(
            vectors,
            list(guesses),
            quota,
            weights=weights,
            method=method,
            rng=rng,
            density=density,
        )
    return [nominees[j] for j in keep.tolist()]
