"""Choosing which pool rows the LLM is shown, and in which order.

The paper shows the LLM the first rows of a shuffled copy of the pool and skips
texts that repeat one already shown. We draw a seeded uniform sample instead of
shuffling the whole pool (a query over a million texts must not cost a
permutation of a million), and we always present it in random order: LLMs tend
to pick the first instances they see, and with a random order that bias costs
no more than random sampling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np

#: A sampler takes the pool size, how many rows are wanted and a generator, and
#: returns that many distinct row indices (fewer only if the pool is smaller), in
#: the order they are to be shown.
Sampler = Callable[[int, int, np.random.Generator], np.ndarray]

_URL = re.compile(r"https?://\S+|www\.\S+")
_NON_WORD = re.compile(r"[\W_]+")


def random_sampler(n_pool: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``size`` distinct rows uniformly, in random order.

    Examples
    --------
    >>> rows = random_sampler(1_000_000, 5, np.random.default_rng(0))
    >>> len(set(rows.tolist())), bool(rows.max() < 1_000_000)
    (5, True)
    """
    if size >= n_pool:
        return rng.permutation(n_pool)
    # Generator.choice without replacement does not permute the whole population
    # when size is small, so this stays fast for huge pools.
    return rng.choice(n_pool, size=size, replace=False, shuffle=True)


def duplicate_key(text: str) -> str:
    """The form under which two texts count as near-duplicates.

    Case, punctuation, white space, URLs and a retweet marker are ignored, as in
    the paper's generator, which compared texts with ``RT`` and URLs removed.

    Examples
    --------
    >>> duplicate_key("RT  Very amusing!! http://t.co/x") == duplicate_key("very amusing")
    True
    >>> duplicate_key("do n't") == duplicate_key("Don't")
    True
    >>> duplicate_key(":)") == duplicate_key(":(")
    False
    """
    text = _URL.sub(" ", text.lower()).strip()
    if text.startswith("rt "):
        text = text[3:]
    # Dropping every non-alphanumeric also equates tokenised and plain forms
    # ("do n't" / "don't"), which SST-2 mixes.
    key = _NON_WORD.sub("", text)
    if key:
        return key
    # A text of punctuation only (":)", ":(", "!!!") is all form: keep its form, spaces
    # aside, so that ":)" and ":(" stay two texts. The prefix keeps it apart from words.
    return "\x00" + "".join(text.split())


@runtime_checkable
class Presenter(Protocol):
    """A text-aware choice of what is shown: ``present(pool, size, rng) -> rows``.

    Where a :data:`Sampler` sees only the pool's size, a presenter sees the
    texts: ``pool`` has ``len(pool)`` and ``pool.texts(rows)`` (the rendered
    texts of any rows). It returns distinct rows in the order they are to be
    shown (more than ``size`` is fine: near-duplicates and labelled texts are
    skipped afterwards, in that order). Pass one as ``ActiveLLM(sampler=...)``.
    """

    def present(self, pool: Any, size: int, rng: np.random.Generator) -> np.ndarray: ...


def draw(
    sampler: Sampler | Presenter, pool: Any, size: int, rng: np.random.Generator
) -> np.ndarray:
    """The rows a sampler or presenter chooses, as an int array."""
    if isinstance(sampler, Presenter):
        return np.asarray(sampler.present(pool, size, rng), dtype=np.intp)
    return np.asarray(sampler(len(pool), size, rng), dtype=np.intp)


def present(
    n_pool: int,
    size: int,
    rng: np.random.Generator,
    render: Callable[[np.ndarray], list[str]],
    sampler: Sampler = random_sampler,
    skip_duplicates: bool = True,
    exclude: Collection[str] = (),
    drawn: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Pick the rows to show and render them, skipping near-duplicates.

    Parameters
    ----------
    n_pool : int
        Number of rows in the pool.
    size : int
        How many rows to show (fewer if the pool runs out of distinct texts).
    rng : numpy.random.Generator
        Source of randomness, so that a seeded strategy repeats its queries.
    render : callable
        Maps an array of rows to their texts (only rows drawn are rendered).
    sampler : callable, default=random_sampler
        See :data:`Sampler`.
    skip_duplicates : bool, default=True
        Show a text only once, whatever its case, punctuation or spacing.
    exclude : collection of str, optional
        Keys (:func:`duplicate_key` with ``skip_duplicates``, else the texts)
        of texts never to show: the labelled ones.
    drawn : ndarray, optional
        Rows already drawn (by a presenter); the sampler is not asked then.

    Returns
    -------
    rows : ndarray of int
        Pool rows in presentation order: position ``p`` in the prompt is ``rows[p]``.
    texts : list of str
        Their texts, in the same order.

    Examples
    --------
    >>> pool = ["good", "Good!", "bad", "meh"]
    >>> rows, texts = present(4, 4, np.random.default_rng(0), lambda r: [pool[i] for i in r])
    >>> sorted(texts, key=str.lower) in (["bad", "good", "meh"], ["bad", "Good!", "meh"])
    True
    """
    size = min(size, n_pool)
    if drawn is None:
        # Over-draw a little so that skipped duplicates rarely force a second draw.
        wanted = min(n_pool, size + size // 4 + 8 + len(exclude))
        drawn = np.asarray(sampler(n_pool, wanted, rng), dtype=np.intp)
    if not skip_duplicates and not exclude:
        rows = drawn[:size]
        return rows, render(rows)
    rows_kept: list[int] = []
    texts_kept: list[str] = []
    seen: set[str] = set(exclude)
    rows_seen: set[int] = set()
    for batch in _batches(n_pool, drawn, rng):
        for row, text in zip(batch.tolist(), render(batch), strict=True):
            key = duplicate_key(text) if skip_duplicates else text
            if key in seen or row in rows_seen:
                continue
            rows_seen.add(row)
            if skip_duplicates:
                seen.add(key)
            rows_kept.append(row)
            texts_kept.append(text)
            if len(rows_kept) == size:
                return np.asarray(rows_kept, dtype=np.intp), texts_kept
    return np.asarray(rows_kept, dtype=np.intp), texts_kept


def _batches(n_pool: int, drawn: np.ndarray, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The drawn rows, then (only if duplicates ate them) the others in random order."""
    yield drawn
    mask = np.ones(n_pool, dtype=bool)
    mask[drawn] = False
    rest = np.flatnonzero(mask)
    rng.shuffle(rest)
    yield rest
