"""The fill step of a query: the chosen rows, topped up to exactly the count asked for."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from activellm_modal.query.pool import TextPool
from activellm_modal.query.presentation import Shown
from activellm_modal.query.selection import Fallback, complete_selection, draw_rows

__all__ = ["fill_rows"]


def fill_rows(
    chosen: list[int],
    shown: Shown,
    target: int,
    rng: np.random.Generator,
    pool: TextPool,
    exclude: set[str],
    *,
    fallback: Fallback,
    key: Callable[[str], str],
) -> tuple[np.ndarray, list[str]]:
    """The fill step: the chosen rows, topped up to exactly ``target`` distinct rows.

    First from the shown rows (``fallback``), then (rarely) from rows that
    were not shown: near-duplicates and, with a shortlist, rows outside it;
    last, rows whose text is already labelled, with a warning.
    """
    position = {int(row): p for p, row in enumerate(shown.rows.tolist())}
    picked = [position[row] for row in chosen]
    k = min(target, len(shown.rows))
    picked, filled = complete_selection(picked, len(shown.rows), k, rng, fallback)
    rows = [int(shown.rows[p]) for p in picked + filled]
    notes: list[str] = []
    if len(rows) < target:
        unlabelled, labelled = _reserves(pool, rows, exclude, key)
        reserves = [unlabelled, labelled]
        if shown.candidates is not None:
            inside = np.isin(unlabelled, shown.candidates)
            reserves = [unlabelled[inside], unlabelled[~inside], labelled]
        more, used = draw_rows(reserves, target - len(rows), rng)
        rows += more
        n_old = len(set(more) & set(labelled.tolist()))
        if n_old:
            notes.append(
                f"Only {len(rows) - n_old} unlabelled distinct texts were left for {target} "
                f"instances: {n_old} row(s) whose text is already labelled were added to "
                "return the count asked for (drop labelled rows from X_pool)."
            )
        elif shown.candidates is not None and used >= 0:
            where = "near-duplicates among the candidates" if used == 0 else "other rows"
            notes.append(
                f"Only {len(shown.rows)} distinct unlabelled candidates for {target} "
                f"instances: {len(more)} {where} were added to return the count asked for."
            )
    return np.asarray(rows, dtype=np.intp), notes


def _reserves(
    pool: TextPool, taken: list[int], exclude: set[str], key: Callable[[str], str]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows not taken yet, split into unlabelled and already-labelled texts."""
    mask_ = np.ones(len(pool), dtype=bool)
    mask_[taken] = False
    rest = np.flatnonzero(mask_)
    if not exclude or not len(rest):
        return rest, rest[:0]
    is_labelled = np.asarray([key(t) in exclude for t in pool.texts(rest)], bool)
    return rest[~is_labelled], rest[is_labelled]
