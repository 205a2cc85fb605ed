"""The contract every query strategy of the package passes (cf. scikit-learn's
``parametrize_with_checks``): one list of strategies, one list of checks, every
pair a test. A new strategy joins by adding one entry to ``STRATEGIES``.

Checks: exactly ``min(k, len(pool))`` distinct valid int indices and scores of
the same length; ``clone`` gives an equal, unfitted copy; ``pickle`` round
trips mid-session; ``set_params`` (nested too) takes effect on the next query;
one LLM call per query, also when modAL retries a query that failed.
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone

from activellm_modal import (
    ActiveLLM,
    HybridStrategy,
    LLMEndpointError,
    LLMReRanker,
    SelectionWarning,
    subsampled,
)
from tests.loops import CountingBackend, text_learner

POOL = np.array(
    [f"review {i}: {'great' if i % 3 else 'dull'} film number {i}" for i in range(60)],
    dtype=object,
)


def answer_first_few(request) -> str:
    return "Final answer: " + ", ".join(map(str, range(min(request.k, len(request.instances)))))


@dataclass
class Case:
    """A strategy under contract: how to build it and where its LLM parameters sit."""

    build: Callable[[CountingBackend], Any]
    prefix: str  # path of the ActiveLLM inside it, for set_params ("" for itself)


STRATEGIES = {
    "ActiveLLM": Case(lambda b: ActiveLLM(backend=b, n_presented=20, random_state=0), ""),
    "HybridStrategy": Case(
        lambda b: HybridStrategy(
            ActiveLLM(backend=b, n_presented=20, random_state=0), switch_after=1
        ),
        "cold_start__",
    ),
    "LLMReRanker": Case(
        lambda b: LLMReRanker(
            ActiveLLM(backend=b, n_presented=20, random_state=0), shortlist_size=20
        ),
        "llm__",
    ),
    "SubsampledStrategy": Case(
        lambda b: subsampled(
            ActiveLLM(backend=b, n_presented=20, random_state=0), n=40, random_state=0
        ),
        "strategy__",
    ),
}


def check_exactly_k_distinct_valid_indices(case: Case) -> None:
    for n_pool, k in [(60, 1), (60, 7), (5, 5), (5, 9), (30, 29)]:
        backend = CountingBackend(answer_first_few)
        strategy = case.build(backend)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SelectionWarning)
            indices, scores = strategy(None, POOL[:n_pool], n_instances=k)
        indices = np.asarray(indices)
        assert indices.dtype.kind == "i", indices.dtype
        assert len(indices) == min(k, n_pool) == len(set(indices.tolist()))
        assert indices.min() >= 0 and indices.max() < n_pool
        assert len(np.asarray(scores)) == len(indices)


def _shape(strategy: Any) -> str:
    # clone copies parameters that are not estimators (the backend): same repr but
    # for the objects' addresses.
    return re.sub(r" at 0x[0-9a-f]+", "", repr(strategy))


def check_clone(case: Case) -> None:
    strategy = case.build(CountingBackend(answer_first_few))
    strategy(None, POOL, n_instances=3)
    twin = clone(strategy)
    assert twin is not strategy and _shape(twin) == _shape(strategy)
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(twin))
    indices, _ = twin(None, POOL, n_instances=3)
    assert len(set(indices.tolist())) == 3


def check_pickle(case: Case) -> None:
    strategy = case.build(CountingBackend(answer_first_few))
    strategy(None, POOL, n_instances=3)
    restored = pickle.loads(pickle.dumps(strategy))
    assert restored.n_queries_ == strategy.n_queries_
    # The restored strategy goes on as the original does.
    assert restored(None, POOL, 3)[0].tolist() == strategy(None, POOL, 3)[0].tolist()


def check_set_params_takes_effect(case: Case) -> None:
    first, second = CountingBackend(answer_first_few), CountingBackend(answer_first_few)
    strategy = case.build(first)
    strategy(None, POOL, n_instances=2)
    strategy.set_params(**{f"{case.prefix}backend": second, f"{case.prefix}n_presented": 11})
    strategy(None, POOL, n_instances=2)
    assert (first.calls, second.calls) == (1, 1)
    assert len(second.requests[0].instances) == 11


def check_one_call_per_query_when_modal_retries(case: Case) -> None:
    def fail(request):
        raise LLMEndpointError("scripted endpoint failure")

    for answer, error in [(fail, LLMEndpointError), ("no positions here", SelectionWarning)]:
        backend = CountingBackend(answer)
        learner = text_learner(case.build(backend))
        with warnings.catch_warnings():
            warnings.simplefilter("error", SelectionWarning)
            with pytest.raises(error):
                learner.query(POOL, n_instances=3)
        assert backend.calls == 1, f"{backend.calls} LLM calls for one failed query"


CHECKS = [
    check_exactly_k_distinct_valid_indices,
    check_clone,
    check_pickle,
    check_set_params_takes_effect,
    check_one_call_per_query_when_modal_retries,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_strategy_contract(name: str, check: Callable[[Case], None]) -> None:
    check(STRATEGIES[name])
