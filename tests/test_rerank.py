"""LLMReRanker: the classifier shortlists, the LLM picks among the shortlist."""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
from modAL.models import ActiveLearner
from modAL.uncertainty import classifier_uncertainty, uncertainty_sampling
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal import SelectionWarning
from activellm_modal.parts import RegionPresenter
from activellm_modal.query.prompt import sanitize
from activellm_modal.strategies.rerank import LLMReRanker
from tests.loops import scripted_llm
from tests.openai_server import Reply, pick_longest, shown_positions

N = 6
_LINE = re.compile(r"^\[(\d+)\] (?:\(uncertainty ([\d.]+)\) )?(.*)$", re.MULTILINE)


llm = scripted_llm


def fitted_learner(strategy, pool, n=30):
    X, y = pool
    learner = ActiveLearner(
        estimator=make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)),
        query_strategy=strategy,
        X_training=X[:n],
        y_training=y[:n],
    )
    return learner, X[n:], y[n:]


def test_llm_picks_only_from_the_shortlist_one_call_per_query(llm_server, pool):
    llm_server.default = lambda body: pick_longest(body, N)
    reranker = LLMReRanker(llm=llm(llm_server), shortlist=uncertainty_sampling, shortlist_size=25)
    learner, X_pool, y_pool = fitted_learner(reranker, pool)
    for round_ in range(3):
        expected, _ = uncertainty_sampling(learner, X_pool, n_instances=25)
        idx, _ = learner.query(X_pool, n_instances=N)
        assert len(llm_server.chat_requests) == round_ + 1
        body = llm_server.chat_requests[-1]["body"]
        shown = {text for _, _, text in _LINE.findall(body["messages"][1]["content"])}
        assert shown == {sanitize(t) for t in X_pool[expected]}  # exactly the shortlist
        assert len(shown_positions(body)) == 25
        assert set(idx.tolist()) <= set(expected.tolist()) and len(set(idx.tolist())) == N
        # The LLM's choice, not the shortlist's order: the longest texts of the shortlist.
        longest = sorted(expected, key=lambda i: (-len(sanitize(X_pool[i])), i))[:N]
        assert set(idx.tolist()) == set(longest)
        record = reranker.history_[-1]
        assert record.strategy == "rerank" and record.llm_calls == 1
        assert sorted(record.shortlist) == sorted(expected.tolist())
        learner.teach(X_pool[idx], y_pool[idx])
        X_pool, y_pool = np.delete(X_pool, idx), np.delete(y_pool, idx)
    assert "shortlist drawn up by the classifier" in body["messages"][0]["content"]


def test_show_uncertainty_puts_the_classifiers_score_next_to_each_text(llm_server, pool):
    llm_server.default = lambda body: pick_longest(body, N)
    reranker = LLMReRanker(llm(llm_server), shortlist_size=20, show_uncertainty=True)
    learner, X_pool, _ = fitted_learner(reranker, pool)
    learner.query(X_pool, n_instances=N)
    body = llm_server.chat_requests[0]["body"]
    lines = _LINE.findall(body["messages"][1]["content"])
    uncertainty = classifier_uncertainty(learner, X_pool)
    by_text = {sanitize(t): u for t, u in zip(X_pool, uncertainty, strict=True)}
    assert len(lines) == 20
    for _, shown, text in lines:
        assert float(shown) == pytest.approx(by_text[text], abs=5e-4)
    assert "uncertainty_sampling score" in body["messages"][0]["content"]


def test_a_bad_answer_is_still_filled_from_the_shortlist(llm_server, pool):
    llm_server.push(Reply("I pick 4000, 5000 and nothing else"))
    reranker = LLMReRanker(llm(llm_server), shortlist_size=15)
    learner, X_pool, _ = fitted_learner(reranker, pool)
    with pytest.warns(SelectionWarning, match="filled at random"):
        idx, _ = learner.query(X_pool, n_instances=N)
    assert set(idx.tolist()) <= set(reranker.history_[0].shortlist)


def test_unfitted_learner_falls_back_to_plain_activellm(llm_server, pool):
    X, _ = pool
    llm_server.default = lambda body: pick_longest(body, N)
    reranker = LLMReRanker(
        llm(llm_server, presenter=RegionPresenter(n_presented=40)), shortlist_size=15
    )
    learner = ActiveLearner(
        estimator=make_pipeline(TfidfVectorizer(), LogisticRegression()), query_strategy=reranker
    )
    learner.query(X, n_instances=N)
    record = reranker.history_[0]
    assert record.strategy == "cold_start" and "not fitted" in record.reason
    assert record.shortlist is None and len(llm_server.chat_requests) == 1
    assert len(shown_positions(llm_server.chat_requests[0]["body"])) == 40


def test_shortlist_no_longer_than_the_request_needs_no_call(llm_server, pool):
    reranker = LLMReRanker(llm(llm_server), shortlist_size=N)
    learner, X_pool, _ = fitted_learner(reranker, pool)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SelectionWarning)
        idx, _ = learner.query(X_pool, n_instances=N)
    assert llm_server.chat_requests == [] and len(set(idx.tolist())) == N
    assert reranker.history_[0].llm_calls == 0


def test_sklearn_contract_and_validation(llm_server):
    reranker = LLMReRanker(llm(llm_server), shortlist_size=50, show_uncertainty=True)
    assert reranker.get_params()["llm__backend__model"] == "scripted"
    twin = clone(reranker)
    assert twin.llm is not reranker.llm and twin.shortlist_size == 50
    assert pickle.loads(pickle.dumps(reranker)).llm.api_key is None
    with pytest.raises(TypeError, match="LLMReRanker\\(llm=ActiveLLM"):
        LLMReRanker(llm=None)(None, ["a", "b"], 1)
    with pytest.raises(ValueError, match="shortlist_size"):
        LLMReRanker(llm(llm_server), shortlist_size=0)(None, ["a", "b"], 1)
