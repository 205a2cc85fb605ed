"""The *present* step of a query: which pool rows the LLM sees, in which order, how long.

Two sources: a sample of the whole pool (a :data:`~activellm_modal.query.sampling.Sampler`,
or a text-aware :class:`~activellm_modal.query.sampling.Presenter`), or given
candidate rows (a shortlist). Either way, labelled texts and near-duplicates
are skipped, the order is random where the source does not fix it, and every
shown text is cut to a character budget so that one huge text cannot blow up
the prompt.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from activellm_modal.query.pool import TextPool
from activellm_modal.query.sampling import Presenter, Sampler, draw, duplicate_key, present

__all__ = ["TRUNCATION_MARK", "Shown", "clip", "show_candidates", "show_sample"]

#: Appended to a text cut to the character budget, so the LLM sees it is cut.
TRUNCATION_MARK = " [...]"


@dataclass
class Shown:
    """What one prompt presents: prompt position ``p`` is pool row ``rows[p]``.

    Attributes
    ----------
    rows : ndarray of int
        Pool rows in presentation order.
    texts : list of str
        Their texts as shown (cut to the budget).
    notes : list of str or None
        One note per row (e.g. a classifier's uncertainty), or None.
    n_truncated : int
        Texts that were cut to the budget.
    candidates : ndarray of int or None
        With a shortlist, its distinct rows (shown or skipped as duplicates).
    """

    rows: np.ndarray
    texts: list[str]
    notes: list[str] | None = None
    n_truncated: int = 0
    candidates: np.ndarray | None = None

    def reordered(self, order: Sequence[int]) -> Shown:
        """The same rows in another order."""
        order = list(order)
        return Shown(
            self.rows[order],
            [self.texts[i] for i in order],
            None if self.notes is None else [self.notes[i] for i in order],
            self.n_truncated,
            self.candidates,
        )


def clip(texts: Sequence[str], max_chars: int | None) -> tuple[list[str], int]:
    """Cut each text to ``max_chars`` characters (mark included); count the cut ones.

    Examples
    --------
    >>> clip(["short", "a very long text indeed"], 12)
    (['short', 'a very [...]'], 1)
    """
    if max_chars is None:
        return list(texts), 0
    out, n = [], 0
    keep = max(1, max_chars - len(TRUNCATION_MARK))
    for text in texts:
        if len(text) > max_chars:
            text = text[:keep].rstrip() + TRUNCATION_MARK
            n += 1
        out.append(text)
    return out, n


def show_sample(
    pool: TextPool,
    size: int,
    rng: np.random.Generator,
    *,
    sampler: Sampler | Presenter,
    skip_duplicates: bool,
    exclude: Collection[str],
    max_chars: int | None,
) -> Shown:
    """A sample of the pool: ``size`` rows, labelled texts and near-duplicates skipped."""
    drawn = None
    if isinstance(sampler, Presenter):
        drawn = draw(sampler, pool, size, rng)
    rows, texts = present(
        len(pool),
        size,
        rng,
        pool.texts,
        sampler if drawn is None else None,  # type: ignore[arg-type]
        skip_duplicates,
        exclude=exclude,
        drawn=drawn,
    )
    texts, n_truncated = clip(texts, max_chars)
    return Shown(rows, texts, None, n_truncated)


def show_candidates(
    pool: TextPool,
    candidates: np.ndarray,
    notes: list[str] | None,
    rng: np.random.Generator,
    *,
    skip_duplicates: bool,
    exclude: Collection[str],
    max_chars: int | None,
) -> Shown:
    """All given rows (each once), in random order, labelled texts and duplicates skipped."""
    if len(candidates) and (candidates.min() < 0 or candidates.max() >= len(pool)):
        raise ValueError(
            f"candidates must be rows of X_pool (0 .. {len(pool) - 1}); got values from "
            f"{candidates.min()} to {candidates.max()}."
        )
    # A row named twice is one candidate (with its first note).
    _, first = np.unique(candidates, return_index=True)
    first = np.sort(first)
    distinct = candidates[first]
    notes = None if notes is None else [notes[i] for i in first]
    # Shown in random order: LLMs favour the first instances they read.
    order = rng.permutation(len(distinct))
    texts = pool.texts(distinct[order])
    seen = set(exclude)
    keep: list[int] = []
    for i, text in enumerate(texts):
        key = duplicate_key(text) if skip_duplicates else text
        if key in seen:
            continue
        if skip_duplicates:
            seen.add(key)
        keep.append(i)
    rows = distinct[order][keep]
    shown_notes = None if notes is None else [notes[order[i]] for i in keep]
    shown_texts, n_truncated = clip([texts[i] for i in keep], max_chars)
    return Shown(rows, shown_texts, shown_notes, n_truncated, candidates=distinct)
