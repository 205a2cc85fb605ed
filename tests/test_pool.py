"""TextPool: every container a modAL user passes, and clear errors for the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from activellm_modal.exceptions import EmptyPoolError, InvalidPoolError
from activellm_modal.query.pool import TextPool

TEXTS = ["a fine film", "dull", "great fun"]


@pytest.mark.parametrize(
    "pool",
    [
        TEXTS,
        tuple(TEXTS),
        np.array(TEXTS),
        np.array(TEXTS, dtype=object),
        np.array(TEXTS, dtype=object).reshape(-1, 1),
        pd.Series(TEXTS, index=[10, 20, 30]),
        pd.Series(TEXTS, dtype="string"),
        pd.DataFrame({"text": TEXTS}),
    ],
    ids=["list", "tuple", "unicode", "object", "column", "series", "string-dtype", "frame"],
)
def test_single_texts_are_read_positionally(pool):
    view = TextPool(pool)
    assert len(view) == 3 and not view.is_pair
    assert view.texts([2, 0]) == ["great fun", "a fine film"]


def test_dataframe_needs_a_text_column_when_ambiguous():
    frame = pd.DataFrame({"id": [1, 2], "review": ["good", "bad"], "source": ["x", "y"]})
    with pytest.raises(InvalidPoolError, match="text_column"):
        TextPool(frame)
    assert TextPool(frame, text_column="review").texts([1]) == ["bad"]
    with pytest.raises(InvalidPoolError, match="'body' is not a column"):
        TextPool(frame, text_column="body")


@pytest.mark.parametrize(
    ("pool", "params"),
    [
        ([("A man eats.", "Someone eats.")], {}),
        (np.array([["A man eats.", "Someone eats."]], dtype=object), {}),
        (
            pd.DataFrame({"s1": ["A man eats."], "s2": ["Someone eats."]}),
            {"pair_columns": ("s1", "s2")},
        ),
    ],
)
def test_pairs_are_rendered_like_the_papers_pair_tasks(pool, params):
    view = TextPool(pool, **params)
    assert view.is_pair
    assert view.texts([0]) == ["Sentence 1: A man eats. | Sentence 2: Someone eats."]
    assert view.raw([0]) == ["A man eats. Someone eats."]


def test_pair_columns_and_labels_are_configurable():
    frame = pd.DataFrame({"q": ["Who?"], "x": [1], "s": ["Me."]})
    view = TextPool(frame, pair_columns=("q", "s"), pair_labels=("Question", "Sentence"))
    assert view.texts([0]) == ["Question: Who? | Sentence: Me."]
    with pytest.raises(InvalidPoolError, match="pair_columns"):
        TextPool(frame, pair_columns=("q", "missing"))


def test_bytes_are_decoded():
    assert TextPool(np.array([b"caf\xc3\xa9"])).texts([0]) == ["café"]


@pytest.mark.parametrize(
    ("pool", "match"),
    [
        ("just one string", "single str"),
        (np.arange(6.0), "not text"),
        ([1, 2, 3], "not text"),
        (["ok", None], "not text"),
        (sparse.csr_matrix(np.eye(3)), "sparse"),
        (np.zeros((2, 3, 4)), "shape"),
        (np.array([["a", "b", "c"]]), "shape"),
        ({"a": 1}, "not supported"),
    ],
)
def test_non_text_input_gets_an_error_that_names_the_fix(pool, match):
    with pytest.raises(InvalidPoolError, match=match) as info:
        TextPool(pool).texts(range(len(pool)) if hasattr(pool, "__len__") else [0])
    assert "list of str" in str(info.value) or "text_column" in str(info.value)


def test_empty_pool_is_refused():
    for empty in ([], np.array([], dtype=object), pd.Series([], dtype=object)):
        with pytest.raises(EmptyPoolError, match="empty"):
            TextPool(empty)


def test_only_requested_rows_are_read():
    class Exploding(list):
        def __getitem__(self, index):
            if index == 999:
                raise AssertionError("row 999 was read")
            return super().__getitem__(index)

    pool = Exploding(f"text {i}" for i in range(1000))
    assert TextPool(pool).texts([0, 5]) == ["text 0", "text 5"]
