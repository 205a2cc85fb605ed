"""What is already labelled: read from a modAL learner, capped, turned into keys.

Iterative ActiveLLM needs the labelled texts twice: to show them to the LLM (the
recap) and to make sure none of them is returned again. modAL keeps them in
``learner.X_training`` / ``learner.y_training`` (``None`` before the first
``teach``); with a text pipeline they are object arrays of str, rows in the
order they were taught, so the last rows are the most recent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from activellm_modal.exceptions import ActiveLLMError, InvalidPoolError
from activellm_modal.query.pool import DEFAULT_PAIR_LABELS, TextPool
from activellm_modal.query.sampling import duplicate_key

RECAP_MODES: tuple[str, ...] = ("none", "texts", "indices", "labels")


@dataclass
class Labelled:
    """The labelled instances a query knows of.

    Attributes
    ----------
    texts : list of str
        Every labelled text, rendered as the pool renders it, oldest first.
    labels : list of str or None
        Their labels as shown to the LLM (None when the labels are unknown).
    """

    texts: list[str] = field(default_factory=list)
    labels: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def recent(self, limit: int) -> Labelled:
        """The ``limit`` most recent ones, still oldest first, near-duplicates once.

        Examples
        --------
        >>> Labelled(["a", "b", "B!", "c"], ["x", "y", "y", "z"]).recent(2).texts
        ['B!', 'c']
        """
        seen: set[str] = set()
        keep: list[int] = []
        for row in range(len(self.texts) - 1, -1, -1):
            if len(keep) == limit:
                break
            key = duplicate_key(self.texts[row])
            if key not in seen:
                seen.add(key)
                keep.append(row)
        keep.reverse()
        labels = None if self.labels is None else [self.labels[row] for row in keep]
        return Labelled([self.texts[row] for row in keep], labels)

    def counts(self) -> dict[str, int]:
        """How many of each label, most frequent first (empty without labels)."""
        return dict(Counter(self.labels or []).most_common())

    def keys(self, near_duplicates: bool) -> set[str]:
        """What a pool text must not match to count as unlabelled."""
        return {duplicate_key(t) if near_duplicates else t for t in self.texts}


def labelled_from(
    learner: Any,
    X_labelled: Any = None,
    y_labelled: Any = None,
    *,
    label_names: Sequence[str] | None = None,
    text_column: str | None = None,
    pair_columns: tuple[Any, Any] | None = None,
    pair_labels: tuple[str, str] = DEFAULT_PAIR_LABELS,
    required: bool = False,
) -> Labelled:
    """Read the labelled instances from explicit arguments or a modAL learner.

    Parameters
    ----------
    learner : modAL learner or None
        Its ``X_training`` / ``y_training`` are used unless ``X_labelled`` is given.
    X_labelled, y_labelled : optional
        The labelled texts (any container ``X_pool`` may be) and their labels.
    label_names : sequence of str, optional
        Integer labels ``i`` are shown as ``label_names[i]``.
    required : bool, default=False
        Raise when labelled data exists but is not text; otherwise it is ignored.

    Returns
    -------
    Labelled

    Examples
    --------
    >>> class Learner:
    ...     X_training = np.array(["a fine film", "dull"], dtype=object)
    ...     y_training = np.array([1, 0])
    >>> found = labelled_from(Learner(), label_names=["negative", "positive"])
    >>> found.texts, found.labels
    (['a fine film', 'dull'], ['positive', 'negative'])
    >>> len(labelled_from(None))
    0
    """
    if X_labelled is None and learner is not None:
        X_labelled = getattr(learner, "X_training", None)
        y_labelled = getattr(learner, "y_training", None)
    if X_labelled is None or len(X_labelled) == 0:
        return Labelled()
    try:
        pool = TextPool(X_labelled, text_column, pair_columns, pair_labels)
        texts = pool.texts(np.arange(len(pool)))
    except (InvalidPoolError, ActiveLLMError) as error:
        if not required:
            return Labelled()
        raise InvalidPoolError(
            f"recap needs the labelled texts, but learner.X_training is not text ({error}). "
            "Keep the vectoriser inside the estimator, e.g. make_pipeline(TfidfVectorizer(), "
            "LogisticRegression()), so that modAL stores raw texts; or pass recap='none'."
        ) from None
    labels = None
    if y_labelled is not None and len(y_labelled) == len(texts):
        name = _namer(label_names)
        labels = [name(value) for value in np.asarray(y_labelled, dtype=object).tolist()]
    return Labelled(texts, labels)


def _namer(label_names: Sequence[str] | None) -> Callable[[Any], str]:
    def name(value: Any) -> str:
        if isinstance(value, list | tuple) and len(value) == 1:
            value = value[0]  # a column vector y
        is_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
        if label_names and is_int and 0 <= value < len(label_names):
            return str(label_names[value])
        return str(value)

    return name
