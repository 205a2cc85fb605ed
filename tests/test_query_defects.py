"""The query path's defects of issue 15 (6-15), each pinned by a test.

modAL loops are real (``ActiveLearner``), the backend is the documented
``complete(request)`` protocol, counting every call.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from modAL.uncertainty import uncertainty_sampling
from sklearn.base import clone

from activellm_modal import (
    ActiveLLM,
    HybridStrategy,
    InvalidPoolError,
    LLMReRanker,
    SelectionWarning,
)
from activellm_modal.parts import FirstK, LabelQuotas, Prompt, RegionPresenter, UniformPresenter
from activellm_modal.query.sampling import duplicate_key
from tests.loops import CountingBackend, text_learner
from tests.openai_server import Reply

REPO = Path(__file__).resolve().parents[1]


TEXTS = [f"review number {word} of the film" for word in "abcdefghijklmnopqrst"]


def positions_of(request) -> int:
    return len(request.instances)


# -- 6: every unlabelled row already labelled ------------------------------------------


def test_pool_of_labelled_texts_needs_no_call_and_returns_k_rows():
    backend = CountingBackend("0, 1")
    strategy = ActiveLLM(backend=backend, random_state=0)
    with pytest.warns(SelectionWarning, match="already labelled"):
        indices, scores = strategy.select(TEXTS[:6], 2, X_labelled=TEXTS[:6])
    assert backend.calls == 0
    assert len(set(indices.tolist())) == 2 and len(scores) == 2
    assert indices.min() >= 0 and indices.max() < 6


def test_labelled_pool_in_a_modal_loop_is_one_query_no_call():
    backend = CountingBackend("0")
    learner = text_learner(ActiveLLM(backend=backend, random_state=0))
    learner.teach(np.array(TEXTS[:4], dtype=object), np.array([0, 1, 0, 1]))
    with pytest.warns(SelectionWarning):
        idx, _ = learner.query(np.array(TEXTS[:4], dtype=object), n_instances=2)
    assert backend.calls == 0 and len(set(idx.tolist())) == 2


# -- 7: no failure after the call is paid twice -----------------------------------------


def test_balance_keys_that_are_not_labels_fail_before_the_call():
    backend = CountingBackend("0, 1")
    strategy = ActiveLLM(
        backend=backend,
        labels=["negative", "positive"],
        narrower=LabelQuotas(balance={"pos": 1, "neg": 1}),
    )
    with pytest.raises(ValueError, match="balance"):
        text_learner(strategy).query(np.array(TEXTS, dtype=object), n_instances=2)
    assert backend.calls == 0


def test_a_warning_turned_error_is_not_paid_twice_by_modals_retry():
    backend = CountingBackend("I refuse.")
    learner = text_learner(ActiveLLM(backend=backend, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SelectionWarning)
        with pytest.raises(SelectionWarning):
            learner.query(np.array(TEXTS, dtype=object), n_instances=3)
    assert backend.calls == 1


# -- 8: never fewer rows than asked without a word ---------------------------------------


def test_small_pool_with_labelled_rows_still_returns_k_with_a_warning():
    backend = CountingBackend("0")
    strategy = ActiveLLM(backend=backend, random_state=0)
    with pytest.warns(SelectionWarning):
        indices, scores = strategy.select(TEXTS[:6], 3, X_labelled=TEXTS[:4])
    assert len(set(indices.tolist())) == 3 and len(scores) == 3
    # The two unlabelled rows come first; nothing to choose, so no call.
    assert set(indices[:2].tolist()) == {4, 5} and backend.calls == 0


def test_reranker_with_near_duplicate_shortlist_returns_k_with_a_warning():
    pool = ["good", "Good!", "good.", "bad", "BAD", "fine", "other text", "more"]

    def shortlist(learner, X, n_instances=1):
        return np.array([0, 1, 2, 3, 4]), np.ones(5)

    class Fitted:
        y_training = (0, 1)

    backend = CountingBackend("0")
    reranker = LLMReRanker(ActiveLLM(backend=backend, random_state=0), shortlist=shortlist)
    with pytest.warns(SelectionWarning):
        indices, scores = reranker(Fitted(), pool, n_instances=3)
    assert len(set(indices.tolist())) == 3 and len(scores) == 3


@pytest.mark.parametrize("pair", [(":)", ":("), ("!!!", ""), ("?", "...")])
def test_texts_without_letters_are_not_all_one_duplicate(pair):
    assert duplicate_key(pair[0]) != duplicate_key(pair[1])


# -- 9: a bad row fails up front ---------------------------------------------------------


@pytest.mark.parametrize("bad", [None, float("nan"), 3])
def test_a_non_text_row_fails_before_the_call_whether_sampled_or_not(bad):
    pool = np.array([*TEXTS, bad], dtype=object)
    backend = CountingBackend("0")
    strategy = ActiveLLM(backend=backend, random_state=0, presenter=RegionPresenter(n_presented=2))
    with pytest.raises(InvalidPoolError, match=r"row 20"):
        strategy(None, pool, 1)
    assert backend.calls == 0


def test_a_missing_value_in_a_string_series_fails_up_front():
    import pandas as pd

    pool = pd.Series([*TEXTS, None], dtype="string")
    backend = CountingBackend("0")
    with pytest.raises(InvalidPoolError, match=r"row 20"):
        ActiveLLM(backend=backend, presenter=RegionPresenter(n_presented=2))(None, pool, 1)
    assert backend.calls == 0


# -- 10: prompt length is bounded --------------------------------------------------------


def test_a_huge_text_is_truncated_and_reported():
    huge = "word " * 100_000
    backend = CountingBackend("0")
    strategy = ActiveLLM(backend=backend, random_state=0)
    strategy.select([huge, *TEXTS[:5]], 1)
    prompt = "".join(m["content"] for m in backend.requests[0].messages)
    assert len(prompt) < 20_000
    assert strategy.last_query_.n_truncated == 1
    assert any("truncated" in note for note in strategy.last_query_.notes)


# -- 11: select_among never returns a row twice -------------------------------------------


def test_select_among_with_repeated_candidates_returns_distinct_rows():
    backend = CountingBackend("0, 0, 1")
    strategy = ActiveLLM(
        backend=backend, random_state=0, presenter=RegionPresenter(skip_duplicates=False)
    )
    indices, _ = strategy.select_among(TEXTS, [1, 1, 2, 2, 3, 3], 3)
    assert sorted(indices.tolist()) == [1, 2, 3]


# -- 12: a resumed subsampled hybrid repeats the original's queries -----------------------


def test_resumed_subsampled_hybrid_repeats_the_next_queries(sst2_train):
    X = sst2_train["text"].head(300).to_numpy(dtype=object)
    y = sst2_train["label"].head(300).to_numpy()

    def hybrid():
        # Uniform presentation: the 4 typical texts the coverage order puts first are all of
        # one class here, and the learner's first fit needs two.
        llm = ActiveLLM(
            backend=CountingBackend("0, 1, 2, 3"),
            random_state=0,
            presenter=UniformPresenter(n_presented=30),
        )
        return HybridStrategy(llm, uncertainty_sampling, switch_after=1, subsample=40)

    original = hybrid()
    learner = text_learner(original)
    for _ in range(2):  # cold start, then one subsampled classic query
        idx, _ = learner.query(X, n_instances=4)
        learner.teach(X[idx], y[idx])
    state = json.loads(json.dumps(original.state_dict()))
    saved = pickle.dumps(learner)
    idx_original, _ = learner.query(X, n_instances=4)

    resumed = hybrid().load_state_dict(state)
    learner_again = pickle.loads(saved)
    learner_again.query_strategy = resumed
    idx_resumed, _ = learner_again.query(X, n_instances=4)
    assert idx_resumed.tolist() == idx_original.tolist()


# -- 13: parameters set after a query take effect; criteria clone ------------------------


def test_set_params_backend_after_a_query_takes_effect():
    first, second = CountingBackend("0"), CountingBackend("1")
    strategy = ActiveLLM(backend=first, random_state=0)
    strategy.select(TEXTS, 1)
    strategy.set_params(backend=second)
    strategy.select(TEXTS, 1)
    assert (first.calls, second.calls) == (1, 1)


def test_set_params_model_after_a_query_takes_effect(llm_server):
    llm_server.default = lambda body: Reply("0")
    strategy = ActiveLLM("one", base_url=llm_server.url, api_key="sk-x")
    strategy.select(TEXTS, 1)
    strategy.set_params(model="two")
    strategy.select(TEXTS, 1)
    assert [r["body"]["model"] for r in llm_server.chat_requests] == ["one", "two"]


def test_backend_is_a_nested_parameter(llm_server):
    from activellm_modal.llm import OpenAIBackend

    llm_server.default = lambda body: Reply("0")
    secret = "sk-nested-0123456789SECRET"
    backend = OpenAIBackend("one", base_url=llm_server.url, api_key=secret, max_retries=0)
    strategy = ActiveLLM(backend=backend, random_state=0)
    assert strategy.get_params()["backend__model"] == "one"
    strategy.select(TEXTS, 1)
    strategy.set_params(backend__model="two", backend__temperature=0.5)
    strategy.select(TEXTS, 1)
    bodies = [r["body"] for r in llm_server.chat_requests]
    assert [b["model"] for b in bodies] == ["one", "two"] and bodies[1]["temperature"] == 0.5
    twin = clone(strategy)
    assert twin.backend is not backend and twin.backend.model == "two"
    for text in (repr(strategy), repr(backend)):
        assert secret not in text
    restored = pickle.loads(pickle.dumps(strategy))
    assert restored.backend.api_key is None and secret.encode() not in pickle.dumps(strategy)


@pytest.mark.parametrize(
    ("params", "name", "owner"),
    [
        ({"presenter": RegionPresenter(n_presented=0)}, "n_presented", "RegionPresenter"),
        ({"prompt": Prompt(output="poem")}, "output", "Prompt"),
        ({"prompt": Prompt(recap="all")}, "recap", "Prompt"),
        ({"narrower": LabelQuotas(oversample=0.5)}, "oversample", "LabelQuotas"),
        ({"presenter": UniformPresenter(max_chars=5)}, "max_chars", "UniformPresenter"),
        ({"narrower": FirstK(fallback="nearest")}, "fallback", "FirstK"),
        ({"random_state": -1}, "random_state", "ActiveLLM"),
    ],
)
def test_parameters_are_validated_declaratively_before_any_call(params, name, owner):
    backend = CountingBackend("0")
    strategy = ActiveLLM(backend=backend, labels=["a", "b"], **params)  # __init__ only stores
    with pytest.raises(ValueError, match=f"'{name}' parameter of {owner}"):
        text_learner(strategy).query(np.array(TEXTS, dtype=object), n_instances=1)
    assert backend.calls == 0


def test_every_stopping_criterion_clones():
    from activellm_modal.loop import stopping

    criteria = [
        stopping.MaxRounds(3),
        stopping.LabelBudget(10),
        stopping.CostBudget(1.0),
        stopping.OverallUncertainty(0.1),
        stopping.KappaAverage(),
        stopping.MaxRounds(2) | stopping.LabelBudget(5),
    ]
    for criterion in criteria:
        twin = clone(criterion)
        assert type(twin) is type(criterion) and twin is not criterion
        assert repr(twin) == repr(criterion)


# -- 14: a fallback's answer is checked ---------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 10**6])
def test_a_fallback_outside_the_candidates_is_a_clear_error(bad):
    backend = CountingBackend("nothing useful")

    def fallback(candidates, n, rng):
        return np.array([bad] * n)

    strategy = ActiveLLM(backend=backend, random_state=0, narrower=FirstK(fallback=fallback))
    with pytest.raises(ValueError, match="fallback returned"):
        strategy.select(TEXTS, 1)


# -- 15: modAL works without calling patch_modal by hand ----------------------------------

_SCRIPT = """
import logging, warnings, sys
import numpy as np
logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
warnings.simplefilter("ignore")
from activellm_modal import ActiveLLM, patch_modal, MaxRounds, LabelBudget
from activellm_modal.llm import Completion
from tests.loops import text_learner

class First:
    def complete(self, request):
        return Completion("0, 1")

texts = np.array([f"text {c} here" for c in "abcdefgh"], dtype=object)
learner = text_learner(ActiveLLM(backend=First(), random_state=0))
for _ in range(2):
    idx, _ = learner.query(texts, n_instances=2)
    learner.teach(texts[idx], np.array([0, 1]))
    texts = np.delete(texts, idx)
print("TAUGHT", len(learner.y_training))
"""


def _run(env_extra):
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_extra}
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )


def test_modal_is_patched_on_first_use_logged_once():
    result = _run({})
    assert "TAUGHT 4" in result.stdout, result.stderr
    assert result.stderr.count("patch_modal() applied automatically") == 1


def test_auto_patch_can_be_switched_off():
    result = _run({"ACTIVELLM_AUTO_PATCH": "0"})
    assert "TAUGHT" not in result.stdout
    assert "force_all_finite" in result.stderr
