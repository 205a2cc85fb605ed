"""From the positions an LLM named to a complete, valid selection.

An LLM may refuse, answer too few, repeat itself or invent positions. The parser
keeps only distinct in-range positions; this module fills the rest so that a
query always returns exactly as many instances as were asked for, and flags
answers that look like no choice at all (the first k positions shown).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: A fallback gets the positions not chosen yet, how many are missing and the
#: query's generator, and returns that many of the given positions.
Fallback = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def random_fallback(candidates: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Fill with ``n`` positions drawn uniformly from ``candidates``.

    Examples
    --------
    >>> random_fallback(np.array([3, 5, 8]), 2, np.random.default_rng(0)).shape
    (2,)
    """
    return rng.choice(candidates, size=n, replace=False)


def complete_selection(
    positions: Sequence[int],
    n_presented: int,
    k: int,
    rng: np.random.Generator,
    fallback: Fallback = random_fallback,
) -> tuple[list[int], list[int]]:
    """Top ``positions`` up to ``k`` distinct positions below ``n_presented``.

    Parameters
    ----------
    positions : sequence of int
        The LLM's valid picks, in answer order (already distinct and in range).
    n_presented : int
        How many instances were shown.
    k : int
        How many positions are needed (at most ``n_presented``).
    rng : numpy.random.Generator
        The query's generator, so fills are reproducible.
    fallback : callable, default=random_fallback
        See :data:`Fallback`.

    Returns
    -------
    chosen : list of int
        The LLM's positions, cut to ``k``.
    filled : list of int
        The positions the fallback added (empty when the LLM gave enough).

    Examples
    --------
    >>> chosen, filled = complete_selection([4, 1], 6, 3, np.random.default_rng(0))
    >>> chosen, len(filled), filled[0] not in (4, 1)
    ([4, 1], 1, True)
    """
    if k > n_presented:
        raise ValueError(f"k={k} exceeds the {n_presented} instances presented.")
    chosen = list(positions[:k])
    missing = k - len(chosen)
    if missing == 0:
        return chosen, []
    taken = np.zeros(n_presented, dtype=bool)
    taken[chosen] = True
    candidates = np.flatnonzero(~taken)
    filled = [int(p) for p in np.asarray(fallback(candidates, missing, rng)).ravel()]
    allowed = set(candidates.tolist())
    # -1 would silently index the last row, a large value would raise a bare IndexError.
    if len(filled) != missing or len(set(filled)) != missing or not set(filled) <= allowed:
        raise ValueError(
            f"The fallback returned {filled!r}; it must return {missing} distinct positions "
            f"from the candidates it was given ({len(candidates)} positions between "
            f"{candidates.min()} and {candidates.max()})."
        )
    return chosen, filled


def draw_rows(
    reserves: Sequence[np.ndarray], n: int, rng: np.random.Generator
) -> tuple[list[int], int]:
    """Up to ``n`` rows drawn at random, from the first reserve before the next.

    Returns the rows and the index of the last reserve drawn from (-1 for none).

    Examples
    --------
    >>> rows, used = draw_rows([np.array([7]), np.array([1, 2, 3])], 2, np.random.default_rng(0))
    >>> rows[0], len(rows), used
    (7, 2, 1)
    """
    rows: list[int] = []
    used = -1
    for i, reserve in enumerate(reserves):
        if len(rows) >= n:
            break
        fresh = np.setdiff1d(np.asarray(reserve, dtype=np.intp), np.asarray(rows, np.intp))
        if not len(fresh):
            continue
        take = rng.choice(fresh, size=min(n - len(rows), len(fresh)), replace=False)
        rows.extend(int(r) for r in take)
        used = i
    return rows, used


def is_degenerate(positions: Sequence[int], k: int) -> bool:
    """Whether an answer looks like no choice: a run such as 0..k-1 or 1..k.

    Any arithmetic progression of at least ``max(4, k // 2)`` picks counts
    (e.g. every odd position), since an LLM that read the instances would
    hardly pick them at a fixed stride; so does a shorter run of four or more
    that starts at the top of the list (an answer cut off while copying it).

    Examples
    --------
    >>> is_degenerate(list(range(8)), 8), is_degenerate([1, 3, 5, 7, 9], 5)
    (True, True)
    >>> is_degenerate([17, 3, 120, 44], 4), is_degenerate(list(range(12)), 32)
    (False, True)
    """
    if len(positions) < 4:
        return False
    steps = np.diff(np.asarray(positions, dtype=np.int64))
    if not (np.all(steps == steps[0]) and steps[0] != 0):
        return False
    # A run from the top of the list is the "first k" habit even when cut short
    # (a token limit); elsewhere a short run could be a genuine choice.
    return len(positions) >= k // 2 or positions[0] in (0, 1)
