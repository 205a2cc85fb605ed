"""Turning raw texts into model batches for :class:`BertClassifier`.

Nothing here holds a tokenised pool: texts stay Python strings until a batch
of them is about to enter the model, so scoring a large pool costs memory for
one batch only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from activellm_modal.exceptions import InvalidPoolError

#: How to pass texts; appended to every input error so the message names the fix.
HOW_TO_PASS = (
    "BertClassifier tokenises raw text itself, so pass the texts, not features: a list, "
    "1-D numpy array or pandas Series of str; for sentence pairs a 2-column array or "
    "DataFrame, or a list of (text_a, text_b) tuples."
)

#: Texts tokenised per call when only their lengths are needed; bounds the
#: temporary token lists while ordering a large pool.
LENGTH_CHUNK = 2048


def as_texts(X: Any, name: str = "X") -> tuple[np.ndarray, np.ndarray | None]:
    """Validate ``X`` and split it into first and (for pairs) second segments.

    Parameters
    ----------
    X : list, tuple, numpy array, pandas Series or DataFrame
        One text per row, or two texts per row for sentence pairs.
    name : str, default="X"
        How ``X`` is called in error messages.

    Returns
    -------
    texts_a : ndarray of object, shape (n_samples,)
        The texts, or the first segment of each pair.
    texts_b : ndarray of object of shape (n_samples,), or None
        The second segment of each pair; None for single texts.

    Raises
    ------
    InvalidPoolError
        If ``X`` is not text (for example a numeric feature matrix), is a
        single string, or has an unsupported shape.
    ValueError
        If ``X`` holds no row.
    """
    columns = _columns(X, name)
    n = len(columns[0])
    if n == 0:
        raise ValueError(f"{name} holds 0 texts; at least 1 is required.")
    checked = [_object_column(col, name, pos) for pos, col in enumerate(columns)]
    return checked[0], (checked[1] if len(checked) == 2 else None)


def _columns(X: Any, name: str) -> list[Any]:
    """One (single texts) or two (pairs) 1-D columns of ``X``, not yet checked."""
    if isinstance(X, str | bytes):
        raise InvalidPoolError(
            f"{name} is a single {type(X).__name__}, not a collection of texts; wrap it in "
            f"a list. {HOW_TO_PASS}"
        )
    module = type(X).__module__
    if module.startswith("scipy.sparse") or isinstance(X, torch.Tensor):
        raise InvalidPoolError(
            f"{name} is a {type(X).__name__} of features, but texts are expected. {HOW_TO_PASS}"
        )
    if module.startswith("pandas"):
        dtypes = [X.dtype] if X.ndim == 1 else list(X.dtypes)
        if dtypes and all(getattr(d, "kind", "O") in "biufcmM" for d in dtypes):
            raise InvalidPoolError(
                f"{name} is a numeric {type(X).__name__} (shape {X.shape}), but texts are "
                f"expected. {HOW_TO_PASS}"
            )
        if X.ndim == 1:
            return [X.to_numpy(dtype=object)]
        return _split_2d(X.to_numpy(dtype=object), name, columns=list(X.columns))
    if isinstance(X, np.ndarray):
        if X.dtype.kind in "biufcmM":
            raise InvalidPoolError(
                f"{name} is a numeric array (dtype {X.dtype}, shape {X.shape}), but texts "
                f"are expected. {HOW_TO_PASS}"
            )
        return [X] if X.ndim == 1 else _split_2d(X, name)
    if isinstance(X, Sequence):
        if len(X) and isinstance(X[0], tuple | list | np.ndarray):
            return _split_2d(_object_array_2d(X, name), name)
        return [_object_array_1d(X)]
    if isinstance(X, Mapping):
        raise InvalidPoolError(f"{name} is a {type(X).__name__}, not texts. {HOW_TO_PASS}")
    raise InvalidPoolError(f"{name} of type {type(X).__name__} is not supported. {HOW_TO_PASS}")


def _split_2d(array: np.ndarray, name: str, columns: list[Any] | None = None) -> list[Any]:
    if array.ndim == 2 and array.shape[1] == 1:
        return [array[:, 0]]
    if array.ndim == 2 and array.shape[1] == 2:
        return [array[:, 0], array[:, 1]]
    described = f"columns {columns}" if columns is not None else f"shape {array.shape}"
    raise InvalidPoolError(
        f"{name} has {described}; expected one text per row or sentence pairs in exactly "
        f"two columns. {HOW_TO_PASS}"
    )


def _object_array_1d(values: Sequence[Any]) -> np.ndarray:
    # np.asarray would turn a list of str into a fixed-width "<U" array, copying every
    # text into the width of the longest one; an object array keeps the str objects.
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _object_array_2d(rows: Sequence[Any], name: str) -> np.ndarray:
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise InvalidPoolError(
            f"{name} mixes rows of {sorted(widths)} items; every row must be one text or "
            f"a (text_a, text_b) pair. {HOW_TO_PASS}"
        )
    out = np.empty((len(rows), widths.pop()), dtype=object)
    for i, row in enumerate(rows):
        out[i, :] = list(row)
    return out


def _object_column(column: np.ndarray, name: str, position: int) -> np.ndarray:
    """``column`` as a 1-D object array of str; raises on the first non-text value."""
    if column.dtype != object:
        column = column.astype(object)
    for i, value in enumerate(column):
        if not isinstance(value, str):
            where = f"{name}[{i}]" if position == 0 else f"{name}[{i}] (second segment)"
            hint = (
                " Missing texts (None/NaN) have to be dropped or filled before fitting."
                if value is None or (isinstance(value, float) and value != value)
                else ""
            )
            raise InvalidPoolError(
                f"{where} is {type(value).__name__} {value!r}, not str.{hint} {HOW_TO_PASS}"
            )
    return column


class TextDataset(torch.utils.data.Dataset):
    """Rows of texts (and encoded labels), optionally read in a given order.

    Parameters
    ----------
    texts_a : ndarray of object
        First (or only) segments.
    texts_b : ndarray of object or None
        Second segments of sentence pairs.
    y : ndarray of int or None
        Encoded labels; None at prediction time.
    order : ndarray of int or None
        Row ``i`` of the dataset is row ``order[i]`` of the texts. Used to read a
        pool in length order without copying it.
    """

    def __init__(
        self,
        texts_a: np.ndarray,
        texts_b: np.ndarray | None = None,
        y: np.ndarray | None = None,
        order: np.ndarray | None = None,
    ) -> None:
        self.texts_a = texts_a
        self.texts_b = texts_b
        self.labels = y
        self.order = order

    def __len__(self) -> int:
        return len(self.texts_a)

    def __getitem__(self, i: int) -> tuple[str, str | None, int]:
        j = int(self.order[i]) if self.order is not None else i
        b = self.texts_b[j] if self.texts_b is not None else None
        label = int(self.labels[j]) if self.labels is not None else -1
        return self.texts_a[j], b, label


class TextCollator:
    """Tokenise one batch of :class:`TextDataset` rows, padded to its own longest row.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        Called as ``tokenizer(texts_a, texts_b, ...)``, so pairs become two segments.
    max_length : int
        Longer inputs are truncated (pairs: the longer segment first).
    padding : {"longest", "max_length"}, default="longest"
        ``"max_length"`` pads every batch to ``max_length``; only benchmarks use it.
    """

    def __init__(self, tokenizer: Any, max_length: int, padding: str = "longest") -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.padding = padding

    def __call__(
        self, rows: list[tuple[str, str | None, int]]
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        texts_a = [row[0] for row in rows]
        texts_b = [row[1] for row in rows] if rows[0][1] is not None else None
        encoded = self.tokenizer(
            texts_a,
            texts_b,
            padding=self.padding,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        labels = [row[2] for row in rows]
        y = torch.tensor(labels, dtype=torch.long) if labels[0] >= 0 else None
        return dict(encoded), y


def length_order(
    tokenizer: Any, texts_a: np.ndarray, texts_b: np.ndarray | None, max_length: int
) -> np.ndarray:
    """Row order by token length, longest first, ties in input order.

    Longest first puts the biggest batch at the start, so an out-of-memory
    error shows up at once rather than at the end of a long scoring run. Only
    lengths are kept; the token ids of each chunk are dropped right away.
    """
    lengths = np.empty(len(texts_a), dtype=np.int64)
    for start in range(0, len(texts_a), LENGTH_CHUNK):
        stop = start + LENGTH_CHUNK
        chunk_b = texts_b[start:stop].tolist() if texts_b is not None else None
        ids = tokenizer(
            texts_a[start:stop].tolist(),
            chunk_b,
            truncation=True,
            max_length=max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        lengths[start:stop] = [len(row) for row in ids]
    return np.argsort(-lengths, kind="stable")
