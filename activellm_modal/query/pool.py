"""Reading texts out of whatever container a modAL user passes as ``X_pool``.

A pool can hold a million texts, and a query only ever shows a few hundred of
them to the LLM, so nothing here converts the whole pool: :class:`TextPool`
validates the container once and renders only the rows asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from activellm_modal.exceptions import EmptyPoolError, InvalidPoolError

#: How the two texts of a sentence pair are labelled when rendered, following the
#: paper's pair tasks (RTE, MRPC, STS-B, WNLI).
DEFAULT_PAIR_LABELS = ("Sentence 1", "Sentence 2")

_FIX = (
    "Pass the unlabelled texts as a list of str, a 1-D numpy array of str/object, a pandas "
    "Series, or a DataFrame (name the column with text_column=...; sentence pairs as two "
    "columns with pair_columns=(a, b))."
)


class TextPool:
    """A read-only view of ``X_pool`` that renders selected rows as text.

    Parameters
    ----------
    X_pool : list of str, numpy array, pandas Series or DataFrame
        The unlabelled pool as modAL passes it to a query strategy. A 2-D array,
        a list of 2-tuples or a two-column DataFrame is read as sentence pairs.
    text_column : str, optional
        The DataFrame column holding the text. Needed when a DataFrame has
        more than one column and ``pair_columns`` is not given.
    pair_columns : tuple of two str or int, optional
        The two columns of a sentence pair (DataFrame column names, or column
        positions of a 2-D array).
    pair_labels : tuple of two str, default=("Sentence 1", "Sentence 2")
        How the two parts of a pair are introduced in the rendered text.

    Examples
    --------
    >>> pool = TextPool(["a fine film", "dull", "great fun"])
    >>> len(pool), pool.texts([2, 0])
    (3, ['great fun', 'a fine film'])
    >>> TextPool([("A man eats.", "Someone eats.")]).texts([0])
    ['Sentence 1: A man eats. | Sentence 2: Someone eats.']
    """

    def __init__(
        self,
        X_pool: Any,
        text_column: str | None = None,
        pair_columns: tuple[Any, Any] | None = None,
        pair_labels: tuple[str, str] = DEFAULT_PAIR_LABELS,
    ) -> None:
        self.pair_labels = pair_labels
        self._columns = _columns_of(X_pool, text_column, pair_columns)
        self._n = len(self._columns[0])
        if self._n == 0:
            raise EmptyPoolError(
                "X_pool is empty: there is nothing to select. Pass the unlabelled texts that "
                "remain in the pool (at least one)."
            )
        for column in self._columns:
            _check_texts(column)

    def __len__(self) -> int:
        return self._n

    @property
    def is_pair(self) -> bool:
        """Whether every instance is a sentence pair."""
        return len(self._columns) == 2

    def raw(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The texts of ``rows`` without pair labels (pairs joined by a space)."""
        return [" ".join(parts) for parts in self._parts(rows)]

    def texts(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The texts of ``rows`` as shown to the LLM, in the order given."""
        if not self.is_pair:
            return [parts[0] for parts in self._parts(rows)]
        first, second = self.pair_labels
        return [f"{first}: {a} | {second}: {b}" for a, b in self._parts(rows)]

    def _parts(self, rows: Sequence[int] | np.ndarray) -> list[tuple[str, ...]]:
        rows = np.asarray(rows, dtype=np.intp)
        picked = [_take(column, rows) for column in self._columns]
        for column in picked:
            for row, value in zip(rows, column, strict=True):
                if not isinstance(value, str):
                    raise InvalidPoolError(
                        f"X_pool row {int(row)} holds {type(value).__name__} {value!r}, not "
                        f"text. ActiveLLM shows texts to the LLM. {_FIX}"
                    )
        return list(zip(*picked, strict=True))


def _check_texts(column: Any) -> None:
    """Fail now, naming the rows, when any row is not text (None, NaN, a number).

    A bad row would otherwise fail only when a query happens to sample it, and
    then on every later query. pandas' type inference makes the pass cheap
    next to a query (about 20 ms per million rows).
    """
    if isinstance(column, np.ndarray) and column.dtype.kind in "US":
        return
    import pandas as pd

    # pandas' C-level type inference answers "all str" without a Python loop.
    all_text = pd.api.types.infer_dtype(column, skipna=False) in ("string", "bytes")
    if all_text and not getattr(column, "hasnans", False):  # a "string" Series may hold NA
        return
    values = column.tolist() if hasattr(column, "tolist") else list(column)
    bad = [row for row, value in enumerate(values) if not isinstance(value, str | bytes)]
    if not bad:
        return
    first = values[bad[0]]
    listed = ", ".join(str(row) for row in bad[:5]) + (", ..." if len(bad) > 5 else "")
    raise InvalidPoolError(
        f"X_pool row {bad[0]} holds {type(first).__name__} {first!r}, not text "
        f"({len(bad)} such row(s): {listed}). ActiveLLM shows texts to the LLM: drop or fill "
        "these rows before the query (e.g. X_pool = X_pool[pd.notna(X_pool)], or "
        f".fillna('')). {_FIX}"
    )


def _take(column: Any, rows: np.ndarray) -> list[Any]:
    """The values of ``rows`` as Python objects, without touching the other rows."""
    if isinstance(column, np.ndarray):
        values = column[rows].tolist()
    elif hasattr(column, "iloc"):
        values = column.iloc[rows].tolist()
    else:
        values = [column[row] for row in rows.tolist()]
    # Byte strings (e.g. from an "S" array) are decoded as a courtesy.
    return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in values]


def _columns_of(
    X_pool: Any, text_column: str | None, pair_columns: tuple[Any, Any] | None
) -> list[Any]:
    """Split ``X_pool`` into one (single texts) or two (pairs) indexable columns."""
    if isinstance(X_pool, str):
        raise InvalidPoolError(f"X_pool is a single str, not a collection of texts. {_FIX}")
    module = type(X_pool).__module__
    if module.startswith("scipy.sparse") or type(X_pool).__name__.endswith(("_matrix", "_array")):
        raise InvalidPoolError(
            "X_pool is a sparse feature matrix, but ActiveLLM needs the raw texts, because "
            f"the LLM reads them. {_FIX} Keep the vectoriser inside the estimator, e.g. "
            "make_pipeline(TfidfVectorizer(), LogisticRegression())."
        )
    if module.startswith("pandas"):
        return _pandas_columns(X_pool, text_column, pair_columns)
    if isinstance(X_pool, np.ndarray):
        return _array_columns(X_pool, pair_columns)
    if isinstance(X_pool, Sequence):
        if pair_columns is not None or (len(X_pool) and isinstance(X_pool[0], tuple | list)):
            return _array_columns(np.asarray(X_pool, dtype=object), pair_columns)
        return [X_pool]
    raise InvalidPoolError(f"X_pool of type {type(X_pool).__name__} is not supported. {_FIX}")


def _array_columns(array: np.ndarray, pair_columns: tuple[Any, Any] | None) -> list[Any]:
    if array.ndim == 1:
        return [array]
    if array.ndim == 2 and array.shape[1] == 1:
        return [array[:, 0]]
    if array.ndim == 2 and (array.shape[1] == 2 or pair_columns is not None):
        a, b = pair_columns if pair_columns is not None else (0, 1)
        return [array[:, a], array[:, b]]
    raise InvalidPoolError(
        f"X_pool is an array of shape {array.shape}; expected one text per row (1-D) or "
        f"sentence pairs (two columns). {_FIX}"
    )


def _pandas_columns(
    frame: Any, text_column: str | None, pair_columns: tuple[Any, Any] | None
) -> list[Any]:
    # Series are kept as they are: converting a million-row column would cost more than
    # the whole query; only the presented rows are ever read.
    if frame.ndim == 1:
        return [frame]
    if pair_columns is not None:
        missing = [c for c in pair_columns if c not in frame.columns]
        if missing:
            raise InvalidPoolError(
                f"pair_columns {missing} not in the DataFrame; it has {list(frame.columns)}."
            )
        return [frame[c] for c in pair_columns]
    if text_column is not None:
        if text_column not in frame.columns:
            raise InvalidPoolError(
                f"text_column={text_column!r} is not a column of X_pool; it has "
                f"{list(frame.columns)}."
            )
        return [frame[text_column]]
    if frame.shape[1] == 1:
        return [frame.iloc[:, 0]]
    raise InvalidPoolError(
        f"X_pool is a DataFrame with columns {list(frame.columns)}: say which holds the text "
        "with text_column='...', or pass pair_columns=('a', 'b') for sentence pairs."
    )
