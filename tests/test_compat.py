"""modAL on today's stack: each scenario fails without :mod:`activellm_modal.loop.compat`
(shown in a fresh interpreter, so nothing this session patched can hide the failure)
and works with it."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal.loop.compat import (
    applied_patches,
    needed_patches,
    patch_modal,
    patched_modal,
    unpatch_modal,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ACTIVELLM_SHARED", REPO.parent / "shared"))
SST2 = SHARED / "datasets" / "sst2" / "train.tsv"

# Used only when the shared data sets are absent, so the suite still runs anywhere.
_BUILTIN_CORPUS = [
    ("a gorgeous , witty , seductive movie", 1),
    ("the acting is terrible and the plot is worse", 0),
    ("one of the best films of the year", 1),
    ("a dull , lifeless exercise in boredom", 0),
    ("charming and often hilarious", 1),
    ("painfully slow and utterly forgettable", 0),
    ("a moving , beautifully shot story", 1),
    ("i wanted my two hours back", 0),
    ("smart , funny and full of heart", 1),
    ("a mess of clichés and bad jokes", 0),
] * 8


@functools.lru_cache(maxsize=1)
def corpus() -> tuple[np.ndarray, np.ndarray]:
    """About 200 short texts with binary labels (SST-2 if available)."""
    if SST2.is_file():
        frame = pd.read_csv(SST2, sep="\t", nrows=200, quoting=3, keep_default_na=False)
        return frame["text"].to_numpy(dtype=object), frame["label"].to_numpy()
    texts, labels = zip(*_BUILTIN_CORPUS, strict=True)
    return np.array(texts, dtype=object), np.array(labels)


def numeric(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """A linearly separable problem whose first four rows hold both classes."""
    rng = np.random.RandomState(0)
    X = rng.randn(n, 3)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    first = [*np.flatnonzero(y == 0)[:2], *np.flatnonzero(y == 1)[:2]]
    order = [*first, *(i for i in range(n) if i not in first)]
    return X[order], y[order]


# --------------------------------------------------------------------------------------
# Scenarios: real modAL code, one query + teach each. They assert their own results, so
# they pass only if modAL really works; the unpatched run records how they fail.
# --------------------------------------------------------------------------------------


def _pool_based(strategy_name: str) -> None:
    import modAL.uncertainty
    from modAL.models import ActiveLearner

    X, y = numeric()
    learner = ActiveLearner(
        LogisticRegression(),
        query_strategy=getattr(modAL.uncertainty, strategy_name),
        X_training=X[:4],
        y_training=y[:4],
    )
    idx, rows = learner.query(X[4:], n_instances=2)
    np.testing.assert_array_equal(rows, X[4:][idx])
    learner.teach(rows, y[4:][idx])
    assert learner.X_training.shape == (6, 3)


def scenario_uncertainty() -> None:
    _pool_based("uncertainty_sampling")


def scenario_margin() -> None:
    _pool_based("margin_sampling")


def scenario_entropy() -> None:
    _pool_based("entropy_sampling")


def scenario_ranked_batch_tfidf() -> None:
    from modAL.batch import uncertainty_batch_sampling
    from modAL.models import ActiveLearner

    texts, y = corpus()
    X = TfidfVectorizer().fit_transform(texts)
    learner = ActiveLearner(
        LogisticRegression(),
        query_strategy=uncertainty_batch_sampling,
        X_training=X[:10],
        y_training=y[:10],
    )
    idx, rows = learner.query(X[10:], n_instances=5)
    assert len(set(idx.tolist())) == 5 and sp.issparse(rows)
    learner.teach(rows, y[10:][idx])
    assert learner.X_training.shape[0] == 15


def scenario_committee_text() -> None:
    from modAL.disagreement import vote_entropy_sampling
    from modAL.models import ActiveLearner, Committee

    texts, y = corpus()
    members = [
        ActiveLearner(
            make_pipeline(TfidfVectorizer(), LogisticRegression()),
            X_training=texts[10 * k : 10 * k + 10],
            y_training=y[10 * k : 10 * k + 10],
        )
        for k in range(3)
    ]
    committee = Committee(members, query_strategy=vote_entropy_sampling)
    idx, rows = committee.query(texts[30:], n_instances=3)
    committee.teach(rows, y[30:][idx])
    assert all(m.X_training.shape == (13,) for m in committee.learner_list)


def scenario_expected_error() -> None:
    from modAL.expected_error import expected_error_reduction
    from modAL.models import ActiveLearner

    X, y = numeric(30)
    learner = ActiveLearner(
        LogisticRegression(),
        query_strategy=expected_error_reduction,
        X_training=X[:4],
        y_training=y[:4],
    )
    idx, rows = learner.query(X[4:])
    learner.teach(rows, y[4:][idx])
    assert learner.X_training.shape == (5, 3)


def _frame(n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = numeric(n)
    # A non-default index: modAL's indices are positions, not labels.
    return pd.DataFrame(X, columns=["a", "b", "c"], index=np.arange(100, 100 + n)), y


def scenario_dataframe_pool() -> None:
    from modAL.models import ActiveLearner

    frame, y = _frame()
    learner = ActiveLearner(LogisticRegression(), X_training=frame.iloc[:4], y_training=y[:4])
    pool = frame.iloc[4:]
    with warnings.catch_warnings():
        # "X does not have valid feature names" would mean the rows lost their columns.
        warnings.simplefilter("error", UserWarning)
        idx, rows = learner.query(pool, n_instances=2)
        pd.testing.assert_frame_equal(rows, pool.iloc[idx])
        learner.teach(rows, y[4:][idx])
        learner.query(pool.drop(index=rows.index))
    assert isinstance(learner.X_training, pd.DataFrame)
    assert learner.X_training.shape == (6, 3)
    assert learner.X_training.dtypes.eq(np.float64).all()


def scenario_data_vstack_dataframe() -> None:
    from modAL.utils.data import data_vstack

    frame, _ = _frame(4)
    stacked = data_vstack((frame.iloc[:2], frame.iloc[2:]))
    pd.testing.assert_frame_equal(stacked, frame)


def scenario_ranked_batch_dataframe() -> None:
    from modAL.batch import uncertainty_batch_sampling
    from modAL.models import ActiveLearner

    frame, y = _frame()
    learner = ActiveLearner(
        LogisticRegression(),
        query_strategy=uncertainty_batch_sampling,
        X_training=frame.iloc[:4],
        y_training=y[:4],
    )
    idx, rows = learner.query(frame.iloc[4:], n_instances=3)
    assert len(set(idx.tolist())) == 3
    learner.teach(rows, y[4:][idx])
    assert learner.X_training.shape == (7, 3)


def scenario_ranked_batch_dataframe_cold_start() -> None:
    from modAL.batch import uncertainty_batch_sampling
    from modAL.models import ActiveLearner

    frame, _ = _frame(30)
    learner = ActiveLearner(LogisticRegression(), query_strategy=uncertainty_batch_sampling)
    idx, rows = learner.query(frame, n_instances=4)
    assert len(set(idx.tolist())) == 4
    pd.testing.assert_frame_equal(rows, frame.iloc[idx])


def scenario_expected_error_dataframe() -> None:
    from modAL.expected_error import expected_error_reduction
    from modAL.models import ActiveLearner

    frame, y = _frame(24)
    learner = ActiveLearner(
        LogisticRegression(),
        query_strategy=expected_error_reduction,
        X_training=frame.iloc[:4],
        y_training=y[:4],
    )
    idx, rows = learner.query(frame.iloc[4:])
    learner.teach(rows, y[4:][idx])
    assert list(learner.X_training.columns) == ["a", "b", "c"]


def scenario_text_series_pool() -> None:
    from modAL.models import ActiveLearner

    texts, y = corpus()
    series = pd.Series(texts, index=np.arange(1000, 1000 + len(texts)))
    learner = ActiveLearner(
        make_pipeline(TfidfVectorizer(), LogisticRegression()),
        X_training=series.iloc[:10],
        y_training=y[:10],
    )
    idx, rows = learner.query(series.iloc[10:], n_instances=2)
    pd.testing.assert_series_equal(rows, series.iloc[10:].iloc[idx])
    learner.teach(rows, y[10:][idx])
    assert learner.X_training.shape == (12,)


def scenario_integer_column_frame() -> None:
    from modAL.models import ActiveLearner

    rng = np.random.RandomState(0)
    # Integer column names 0..79, more columns than pool rows: every position modAL
    # returns is also a column label.
    frame = pd.DataFrame(rng.randn(60, 80))
    y = (frame[0] + frame[1] > 0).astype(int).to_numpy()
    learner = ActiveLearner(LogisticRegression(), X_training=frame.iloc[:4], y_training=y[:4])
    _, rows = learner.query(frame.iloc[4:], n_instances=2)
    # Unpatched, modAL's ``X[idx]`` silently returns two columns here, not two rows.
    assert rows.shape == (2, 80), f"got shape {rows.shape}"


SCENARIOS: dict[str, Callable[[], None]] = {
    name.removeprefix("scenario_"): func
    for name, func in list(globals().items())
    if name.startswith("scenario_")
}

# How each scenario fails on this stack without the patch: (exception, text in message).
_FORCE_ALL_FINITE = ("TypeError", "force_all_finite")
_NP_FLOAT = ("AttributeError", "numpy' has no attribute 'float'")
EXPECTED_FAILURES: dict[str, tuple[str, str]] = {
    "uncertainty": _FORCE_ALL_FINITE,
    "margin": _FORCE_ALL_FINITE,
    "entropy": _FORCE_ALL_FINITE,
    "ranked_batch_tfidf": _FORCE_ALL_FINITE,
    "committee_text": _FORCE_ALL_FINITE,
    "expected_error": _NP_FLOAT,
    # The first failure on the way: teach dies on A before reaching C.
    "dataframe_pool": _FORCE_ALL_FINITE,
    "data_vstack_dataframe": ("AttributeError", "no attribute 'append'"),
    "ranked_batch_dataframe": ("AttributeError", "no attribute 'reshape'"),
    # Cold start: ``X[i]`` looks the position up as a column label.
    "ranked_batch_dataframe_cold_start": ("KeyError", ""),
    "expected_error_dataframe": _NP_FLOAT,
    "text_series_pool": ("TypeError", "datatype is not supported"),
    "integer_column_frame": ("AssertionError", "got shape (56, 2)"),
}


def _run_all() -> dict[str, list[str]]:
    results = {}
    for name, scenario in SCENARIOS.items():
        try:
            scenario()
        except Exception as exc:
            results[name] = [type(exc).__name__, str(exc)]
        else:
            results[name] = ["ok", ""]
    return results


def _run_all_before_and_after_patch() -> dict[str, Any]:
    """Entry point of the fresh interpreter: every scenario unpatched, then patched."""
    unpatched = _run_all()
    report = patch_modal()
    return {"unpatched": unpatched, "report": report, "patched": _run_all()}


_CHILD = """
import json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {tests!r})
import test_compat
{setup}
print("RESULT" + json.dumps(test_compat.{entry}()))
"""


def _in_fresh_interpreter(entry: str, setup: str = "") -> Any:
    code = _CHILD.format(tests=str(Path(__file__).parent), setup=setup, entry=entry)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    return json.loads(line.removeprefix("RESULT"))


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    return _in_fresh_interpreter("_run_all_before_and_after_patch")


@pytest.fixture(scope="module")
def patched() -> Iterator[None]:
    with patched_modal():
        yield


@contextlib.contextmanager
def _unpatched() -> Iterator[None]:
    """Run a block on pristine modAL, then restore whatever was patched before."""
    was_patched = bool(applied_patches())
    unpatch_modal()
    try:
        yield
    finally:
        if was_patched:
            patch_modal()


def test_scenario_table_is_complete() -> None:
    assert set(SCENARIOS) == set(EXPECTED_FAILURES)


def _major_minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


# The failures above were recorded on scikit-learn 1.9 / numpy 2.4 / pandas 3.1; every
# stack with all three removals (sklearn >= 1.8, numpy >= 1.24, pandas >= 2) shows them.
TODAYS_STACK = (
    _major_minor(sklearn.__version__) >= (1, 8)
    and _major_minor(np.__version__) >= (1, 24)
    and _major_minor(pd.__version__) >= (2, 0)
)


@pytest.mark.skipif(not TODAYS_STACK, reason="needs scikit-learn>=1.8, numpy>=1.24, pandas>=2")
@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_fails_without_patch(name: str, fresh: dict[str, Any]) -> None:
    kind, message = fresh["unpatched"][name]
    expected_kind, expected_text = EXPECTED_FAILURES[name]
    assert kind == expected_kind, message
    assert expected_text in message


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_works_with_patch(name: str, patched: None) -> None:
    SCENARIOS[name]()


def test_works_with_patch_in_fresh_interpreter(fresh: dict[str, Any]) -> None:
    assert fresh["patched"] == {name: ["ok", ""] for name in SCENARIOS}
    assert [line.split(":")[0] for line in fresh["report"]] == ["C", "E", "D", "A", "B"]


def test_second_call_patches_nothing(patched: None) -> None:
    from modAL.models import learners
    from modAL.utils import data

    before = (learners.check_X_y, learners.data_vstack, data.data_vstack)
    assert patch_modal() == []
    assert needed_patches() == []
    # No double wrapping: the same objects stay bound.
    assert (learners.check_X_y, learners.data_vstack, data.data_vstack) == before
    assert applied_patches() == ["A", "B", "C", "D", "E"]


def test_does_nothing_where_modal_already_works() -> None:
    # Simulate a stack without the removals (old scikit-learn signature, np.float,
    # DataFrame.append) before modAL is imported; only modAL's own bugs remain.
    setup = textwrap.dedent(
        """
        import numpy as np, pandas as pd, sklearn.utils
        _check = sklearn.utils.check_X_y
        def check_X_y(X, y, *a, force_all_finite=True, **k):
            return _check(X, y, *a, ensure_all_finite=force_all_finite, **k)
        sklearn.utils.check_X_y = check_X_y
        np.float = float
        pd.DataFrame.append = lambda self, others: pd.concat([self, *others])
        from activellm_modal.loop import compat
        def report():
            first = compat.patch_modal()
            return [[line.split(":")[0] for line in first], compat.patch_modal()]
        test_compat.report = report
        """
    )
    first, second = _in_fresh_interpreter("report", setup=setup)
    assert first == ["E", "D"]
    assert second == []


def test_no_global_monkey_patching(patched: None) -> None:
    import sklearn.utils
    import sklearn.utils.validation

    assert "float" not in vars(np)
    assert not hasattr(pd.DataFrame, "append")
    assert sklearn.utils.check_X_y is sklearn.utils.validation.check_X_y
    assert not hasattr(sklearn.utils.check_X_y, "_activellm_compat")


def test_unpatch_restores_the_failures_in_process(caplog: pytest.LogCaptureFixture) -> None:
    import modAL
    from modAL.models import learners

    with _unpatched():
        assert "expected_error" not in vars(modAL)
        with pytest.raises(TypeError, match="force_all_finite"):
            scenario_uncertainty()
        with pytest.raises(AttributeError, match="float"):
            scenario_expected_error()
        pycache = Path(learners.__file__).parent.parent / "__pycache__"
        cached_before = sorted(pycache.iterdir()) if pycache.is_dir() else []

        with (
            caplog.at_level(logging.INFO, logger="activellm_modal.loop.compat"),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("error", SyntaxWarning)  # ``is 'binary'`` is rewritten
            report = patch_modal()
        assert [line[0] for line in report] == ["C", "E", "D", "A", "B"]
        assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == report
        assert all(r.name == "activellm_modal.loop.compat" for r in caplog.records)
        # The rewritten module was never written to disk as bytecode.
        assert (sorted(pycache.iterdir()) if pycache.is_dir() else []) == cached_before
        scenario_uncertainty()
        scenario_expected_error()

        assert [line[0] for line in unpatch_modal()] == ["B", "A", "D", "E", "C"]
        assert unpatch_modal() == []
        with pytest.raises(TypeError, match="force_all_finite"):
            scenario_uncertainty()


def test_patched_modal_leaves_an_earlier_patch_in_place() -> None:
    with _unpatched():
        outer = patch_modal()
        assert outer
        with patched_modal() as inner:
            assert inner == []
        assert applied_patches() == ["A", "B", "C", "D", "E"]
        with patched_modal():
            pass
        assert applied_patches() == ["A", "B", "C", "D", "E"]
        unpatch_modal()
        with patched_modal() as inner:
            assert len(inner) == 5
        assert applied_patches() == []


def test_data_vstack_keeps_other_types(patched: None) -> None:
    from modAL.utils.data import data_vstack

    a = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(data_vstack((a, a)), np.vstack((a, a)))
    assert data_vstack(([1, 2], [3])) == [1, 2, 3]
    stacked = data_vstack((sp.csr_matrix(a), sp.csr_matrix(a)))
    assert sp.issparse(stacked) and stacked.shape == (6, 2)
    with pytest.raises(TypeError, match="not supported"):
        data_vstack(({"a": 1}, {"a": 2}))


def test_data_vstack_pandas_rows_keep_columns_and_dtypes(patched: None) -> None:
    from modAL.utils.data import add_row, data_vstack

    frame = pd.DataFrame({"x": [1.0, 2.0], "n": [1, 2], "s": ["a", "b"]}, index=[7, 9])
    row = frame.iloc[1]  # an object-dtype Series
    stacked = add_row(frame, row)
    assert list(stacked.columns) == ["x", "n", "s"]
    assert stacked.dtypes.to_dict() == frame.dtypes.to_dict()
    assert list(stacked.index) == [7, 9, 9]
    from_numpy = data_vstack((frame[["x", "n"]], np.array([[3.0, 3]])))
    assert from_numpy.shape == (3, 2) and from_numpy["n"].dtype == frame["n"].dtype
    labels = data_vstack((pd.Series([0, 1], name="y"), np.array([1])))
    assert isinstance(labels, pd.Series) and labels.tolist() == [0, 1, 1]


@pytest.mark.skipif(not TODAYS_STACK, reason="the examples show the fixes today's stack needs")
def test_docstring_examples() -> None:
    import doctest

    import activellm_modal.loop.compat as compat

    with _unpatched():
        result = doctest.testmod(compat)
    assert result.attempted >= 5
    assert result.failed == 0
