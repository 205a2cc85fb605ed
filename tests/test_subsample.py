"""subsampled(): any modAL strategy on a random subsample, indices into the full pool."""

from __future__ import annotations

import pickle
from operator import itemgetter

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from modAL.models import ActiveLearner
from modAL.uncertainty import margin_sampling, uncertainty_sampling
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from activellm_modal.loop.compat import patch_modal
from activellm_modal.strategies.subsample import SubsampledStrategy, subsampled, take_rows


@pytest.fixture(scope="module", autouse=True)
def _modal_on_this_stack():
    patch_modal()


@pytest.fixture(scope="module")
def data(sst2_train):
    head = sst2_train.head(3000)
    return head["text"].to_numpy(dtype=object), head["label"].to_numpy()


def tfidf_learner(strategy, X, y, n_seed=60):
    return ActiveLearner(
        estimator=make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)),
        query_strategy=strategy,
        X_training=X[:n_seed],
        y_training=y[:n_seed],
    )


def test_modal_loop_indices_valid_distinct_and_from_the_subsample(data):
    X, y = data
    X_pool, y_pool = X[60:].copy(), y[60:].copy()
    strategy = subsampled(uncertainty_sampling, n=500, random_state=0)
    learner = tfidf_learner(strategy, X, y)
    subsamples = []
    for _ in range(3):
        idx, rows = learner.query(X_pool, n_instances=8)
        assert len(set(idx.tolist())) == 8
        assert idx.min() >= 0 and idx.max() < len(X_pool)
        assert list(rows) == list(X_pool[idx])
        subsample = strategy.last_subsample_
        assert len(subsample) == 500 and len(set(subsample.tolist())) == 500
        assert set(idx.tolist()) <= set(subsample.tolist())
        subsamples.append(set(subsample.tolist()))
        learner.teach(X_pool[idx], y_pool[idx])
        X_pool, y_pool = np.delete(X_pool, idx), np.delete(y_pool, idx)
    assert strategy.n_calls_ == 3
    assert subsamples[0] != subsamples[1]  # each query draws afresh


def test_picks_are_the_most_uncertain_rows_of_the_subsample(data):
    X, y = data
    clf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)).fit(X[:200], y[:200])
    pool = X[200:]
    strategy = subsampled(uncertainty_sampling, n=400, random_state=3)
    idx, scores = strategy(clf, pool, n_instances=5)
    sub = strategy.last_subsample_
    uncertainty = 1 - clf.predict_proba(pool[sub]).max(axis=1)
    best = sub[np.argsort(uncertainty)[-5:]]
    assert set(idx.tolist()) == set(best.tolist())
    np.testing.assert_allclose(np.sort(scores), np.sort(uncertainty)[-5:])


def test_seeded_runs_repeat_query_by_query(data):
    X, y = data

    def run(seed):
        strategy = subsampled(uncertainty_sampling, n=300, random_state=seed)
        learner = tfidf_learner(strategy, X, y)
        return [learner.query(X[60:], n_instances=4)[0].tolist() for _ in range(3)]

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert first[0] != first[1]  # a fresh subsample per query, not the same one


def test_pool_not_larger_than_n_is_not_subsampled(data):
    X, y = data
    clf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)).fit(X[:200], y[:200])
    pool = X[200:700]
    plain_idx, plain_scores = uncertainty_sampling(clf, pool, n_instances=6)
    for n in (500, 10_000):
        strategy = subsampled(uncertainty_sampling, n=n, random_state=0)
        idx, scores = strategy(clf, pool, n_instances=6)
        assert strategy.last_subsample_ is None
        assert idx.tolist() == plain_idx.tolist()
        np.testing.assert_allclose(scores, plain_scores)


def test_n_below_n_instances_is_raised_to_n_instances(data):
    X, y = data
    clf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)).fit(X[:200], y[:200])
    strategy = subsampled(uncertainty_sampling, n=3, random_state=0)
    idx, _ = strategy(clf, X[200:], n_instances=10)
    assert len(set(idx.tolist())) == 10 and len(strategy.last_subsample_) == 10


@pytest.mark.parametrize("kind", ["list", "array", "series", "dataframe", "csr", "coo"])
def test_every_pool_type_is_taken_by_position(data, kind):
    X, y = data
    vectorizer = TfidfVectorizer().fit(X)
    texts = list(X[200:1200])
    if kind in ("csr", "coo"):
        clf = LogisticRegression(max_iter=500).fit(vectorizer.transform(X[:200]), y[:200])
        pool = vectorizer.transform(texts)
        pool = pool.tocoo() if kind == "coo" else pool
        expected = vectorizer.transform(texts).toarray()
    else:
        clf = make_pipeline(vectorizer, LogisticRegression(max_iter=500)).fit(X[:200], y[:200])
        if kind == "dataframe":
            clf = make_pipeline(
                FunctionTransformer(itemgetter("text")),
                vectorizer,
                LogisticRegression(max_iter=500),
            ).fit(pd.DataFrame({"text": X[:200]}), y[:200])
        # A shuffled, non-integer-looking index: rows must be taken by position.
        index = np.random.default_rng(0).permutation(len(texts)) + 10_000
        pool = {
            "list": texts,
            "array": np.array(texts, dtype=object),
            "series": pd.Series(texts, index=index),
            "dataframe": pd.DataFrame({"text": texts}, index=index),
        }[kind]
        expected = np.array(texts, dtype=object)
    strategy = subsampled(uncertainty_sampling, n=200, random_state=1)
    learner = ActiveLearner(estimator=clf, query_strategy=strategy)
    idx, rows = learner.query(pool, n_instances=4)
    assert len(set(idx.tolist())) == 4 and set(idx.tolist()) <= set(strategy.last_subsample_)
    for got in (take_rows(pool, idx), rows):  # ours, and what modAL handed back
        if kind in ("csr", "coo"):
            np.testing.assert_allclose(sp.csr_matrix(got).toarray(), expected[idx])
        elif kind == "dataframe":
            assert got["text"].tolist() == expected[idx].tolist()
        else:
            assert list(got) == expected[idx].tolist()


def test_strategy_returning_only_indices():
    def longest(learner, X, n_instances=1):
        return np.argsort([len(t) for t in X], kind="stable")[-n_instances:]

    pool = [f"text {'x' * (i % 97)} {i}" for i in range(5000)]
    strategy = subsampled(longest, n=100, random_state=0)
    learner = ActiveLearner(
        estimator=LogisticRegression(), query_strategy=strategy, X_training=None, y_training=None
    )
    # modAL unpacks (indices, metrics); a bare array of 2 would unpack wrongly.
    idx, rows = learner.query(pool, n_instances=2)
    assert strategy.n_calls_ == 1  # no second call by modAL's retry-on-error
    assert set(idx.tolist()) <= set(strategy.last_subsample_.tolist())
    assert rows == [pool[i] for i in idx]
    indices, scores = strategy(None, pool, n_instances=3)
    assert scores is None and len(set(indices.tolist())) == 3


def test_extra_keyword_arguments_reach_the_strategy(data):
    X, y = data
    clf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)).fit(X[:200], y[:200])
    strategy = subsampled(uncertainty_sampling, n=300, random_state=0)
    idx, _ = strategy(clf, X[200:], n_instances=3, random_tie_break=True)
    assert len(set(idx.tolist())) == 3


def test_failure_is_reraised_not_rescored_when_modal_retries():
    calls = []

    def broken(learner, X, n_instances=1):
        calls.append(len(X))
        raise RuntimeError("model not fitted")

    strategy = subsampled(broken, n=10, random_state=0)
    learner = ActiveLearner(estimator=LogisticRegression(), query_strategy=strategy)
    with pytest.raises(RuntimeError, match="not fitted"):
        learner.query(list(range(100)), n_instances=2)
    assert calls == [10]


def test_pickle_clone_and_params(data):
    X, y = data
    strategy = subsampled(margin_sampling, n=250, random_state=5)
    clf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)).fit(X[:200], y[:200])
    first = strategy(clf, X[200:], n_instances=3)[0].tolist()
    restored = pickle.loads(pickle.dumps(strategy))
    assert isinstance(restored, SubsampledStrategy) and restored.n_calls_ == 1
    assert restored(clf, X[200:], 3)[0].tolist() == strategy(clf, X[200:], 3)[0].tolist()
    fresh = clone(strategy)
    assert not hasattr(fresh, "n_calls_")
    assert fresh.get_params() == {"strategy": margin_sampling, "n": 250, "random_state": 5}
    assert fresh(clf, X[200:], n_instances=3)[0].tolist() == first
    assert "n=250" in repr(strategy)


def test_bad_n_is_rejected():
    with pytest.raises(ValueError, match="positive int"):
        subsampled(uncertainty_sampling, n=0)(None, list("abc"), 1)
