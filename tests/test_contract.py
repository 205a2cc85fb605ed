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
from dataclasses import dataclass, field
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
from activellm_modal.parts import (
    Diversify,
    FirstK,
    LabelQuotas,
    Prompt,
    RegionPresenter,
    UniformPresenter,
)
from activellm_modal.query.coverage import CoveragePresenter
from tests.loops import CountingBackend, text_learner

POOL = np.array(
    [f"review {i}: {'great' if i % 3 else 'dull'} film number {i}" for i in range(60)],
    dtype=object,
)


def answer_first_few(request) -> str:
    return "Final answer: " + ", ".join(map(str, range(min(request.k, len(request.instances)))))


def n_shown_is_11(strategy: Any, backend: CountingBackend) -> bool:
    return len(backend.requests[0].instances) == 11


@dataclass
class Case:
    """A strategy (or a part, inside an ActiveLLM) under contract: how to build it,
    where its LLM parameters sit, and a nested parameter whose effect the next query shows."""

    build: Callable[[CountingBackend], Any]
    prefix: str  # path of the ActiveLLM inside it, for set_params ("" for itself)
    nested: dict[str, Any] = field(default_factory=lambda: {"presenter__n_presented": 11})
    took_effect: Callable[[Any, CountingBackend], bool] = n_shown_is_11
    second_answer: Callable[[Any], str] = answer_first_few


STRATEGIES = {
    "ActiveLLM": Case(
        lambda b: ActiveLLM(backend=b, random_state=0, presenter=RegionPresenter(n_presented=20)),
        "",
    ),
    "HybridStrategy": Case(
        lambda b: HybridStrategy(
            ActiveLLM(backend=b, random_state=0, presenter=RegionPresenter(n_presented=20)),
            switch_after=1,
        ),
        "cold_start__",
    ),
    "LLMReRanker": Case(
        lambda b: LLMReRanker(
            ActiveLLM(backend=b, random_state=0, presenter=RegionPresenter(n_presented=20)),
            shortlist_size=20,
        ),
        "llm__",
    ),
    "SubsampledStrategy": Case(
        lambda b: subsampled(
            ActiveLLM(backend=b, random_state=0, presenter=RegionPresenter(n_presented=20)),
            n=40,
            random_state=0,
        ),
        "strategy__",
    ),
}


def toy_embed(texts: list[str]) -> np.ndarray:
    """A stand-in sentence encoder: review number and mood."""
    return np.array([[float(t.split()[1][:-1]), float("great" in t)] for t in texts])


def fill_from_the_end(candidates: Any, n: int, rng: Any) -> list[int]:
    return list(candidates)[-n:]


def answer_one(request: Any) -> str:
    return "Final answer: 0"


def last_filled_from_the_end(strategy: Any, backend: CountingBackend) -> bool:
    record = strategy.last_query_
    return record.n_filled == 1 and record.indices[1] == record.presented[-1]


def asked_for_six(strategy: Any, backend: CountingBackend) -> bool:
    return backend.requests[0].k == 6  # 3 nominations per instance, 2 instances


def task_in_prompt(strategy: Any, backend: CountingBackend) -> bool:
    return "the mood of film reviews" in str(backend.requests[0].messages)


def regions() -> RegionPresenter:
    return RegionPresenter(n_presented=20, regions=CoveragePresenter(embedder=toy_embed))


# Every part, inside an otherwise default ActiveLLM, with a nested parameter of its own.
PARTS = {
    "UniformPresenter": Case(
        lambda b: ActiveLLM(backend=b, presenter=UniformPresenter(n_presented=20), random_state=0),
        "",
    ),
    "RegionPresenter": Case(
        lambda b: ActiveLLM(backend=b, presenter=regions(), random_state=0), ""
    ),
    "Prompt": Case(
        lambda b: ActiveLLM(
            backend=b, presenter=regions(), prompt=Prompt(recap="texts"), random_state=0
        ),
        "",
        {"prompt__task_description": "the mood of film reviews"},
        task_in_prompt,
    ),
    "FirstK": Case(
        lambda b: ActiveLLM(backend=b, presenter=regions(), narrower=FirstK(), random_state=0),
        "",
        {"narrower__fallback": fill_from_the_end},
        last_filled_from_the_end,
        answer_one,
    ),
    "LabelQuotas": Case(
        lambda b: ActiveLLM(
            backend=b,
            presenter=regions(),
            narrower=LabelQuotas(),
            labels=["dull", "great"],
            random_state=0,
        ),
        "",
        {"narrower__oversample": 3.0},
        asked_for_six,
    ),
    "Diversify": Case(
        lambda b: ActiveLLM(
            backend=b, presenter=regions(), narrower=Diversify(nominate=2.0), random_state=0
        ),
        "",
        {"narrower__nominate": 3.0},
        asked_for_six,
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
    first, second = CountingBackend(answer_first_few), CountingBackend(case.second_answer)
    strategy = case.build(first)
    strategy(None, POOL, n_instances=2)
    nested = {f"{case.prefix}{name}": value for name, value in case.nested.items()}
    strategy.set_params(**{f"{case.prefix}backend": second}, **nested)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SelectionWarning)
        strategy(None, POOL, n_instances=2)
    assert (first.calls, second.calls) == (1, 1)
    llm = strategy
    for name in case.prefix.split("__")[:-1]:
        llm = getattr(llm, name)
    assert case.took_effect(llm, second)


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


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", list(PARTS))
def test_part_contract(name: str, check: Callable[[Case], None]) -> None:
    check(PARTS[name])


def test_every_part_is_under_contract() -> None:
    from activellm_modal import parts

    concrete = {name for name in parts.__all__ if name not in ("Narrower", "Presenter")}
    assert concrete == set(PARTS)
