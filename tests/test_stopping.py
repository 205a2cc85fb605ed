"""Stopping criteria in real modAL loops: each one ends the loop at the expected round."""

from __future__ import annotations

import doctest
import itertools
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.utils import check_random_state

import activellm_modal.loop.stopping as stopping
from activellm_modal.exceptions import EmptyPoolError
from activellm_modal.loop.compat import patched_modal
from activellm_modal.loop.stopping import (
    AllOf,
    AnyOf,
    CostBudget,
    KappaAverage,
    LabelBudget,
    MaxRounds,
    OverallUncertainty,
    StoppingCriterion,
)


@pytest.fixture(scope="module", autouse=True)
def _modal_patched() -> Iterator[None]:
    with patched_modal():
        yield


def problem(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """A noisy binary problem; the first four rows hold two instances of each class."""
    X, y = make_classification(
        n_samples=n, n_features=5, n_informative=3, flip_y=0.05, random_state=0
    )
    first = [*np.flatnonzero(y == 0)[:2], *np.flatnonzero(y == 1)[:2]]
    order = [*first, *(i for i in range(n) if i not in first)]
    return X[order], y[order]


def make_learner(X: Any, y: np.ndarray, strategy: Callable[..., Any] | None = None) -> Any:
    from modAL.models import ActiveLearner
    from modAL.uncertainty import uncertainty_sampling

    return ActiveLearner(
        LogisticRegression(),
        query_strategy=strategy or uncertainty_sampling,
        X_training=X[:4],
        y_training=y[:4],
    )


def run_loop(
    criterion: Any,
    learner: Any,
    X: Any,
    y: np.ndarray,
    n_instances: int = 1,
    on_call: Callable[[Any], None] | None = None,
) -> int:
    """Run the documented loop over the rows after the first four; return rounds run."""
    remaining = np.arange(4, X.shape[0])
    rounds = 0
    while True:
        pool = X[remaining]
        stop = criterion.stop(learner, pool)
        if on_call is not None:
            on_call(pool)
        if stop:
            return rounds
        assert rounds < 200, "the criterion never fired"
        idx, _ = learner.query(pool, n_instances=n_instances)
        chosen = remaining[idx]
        learner.teach(X[chosen], y[chosen])
        remaining = np.delete(remaining, idx)
        rounds += 1


# --------------------------------------------------------------------------------------
# budgets
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_rounds", [0, 1, 4])
def test_max_rounds(n_rounds: int) -> None:
    X, y = problem()
    learner = make_learner(X, y)
    criterion = MaxRounds(n_rounds)
    assert run_loop(criterion, learner, X, y) == n_rounds
    assert criterion.n_calls_ == n_rounds + 1
    assert learner.X_training.shape[0] == 4 + n_rounds
    assert criterion.reason == f"MaxRounds: {n_rounds} rounds done (n_rounds={n_rounds})"


@pytest.mark.parametrize(
    ("n_labels", "n_instances", "rounds", "labelled"),
    [(4, 1, 0, 4), (10, 2, 3, 10), (10, 4, 2, 12)],  # the last overshoots the budget
)
def test_label_budget(n_labels: int, n_instances: int, rounds: int, labelled: int) -> None:
    X, y = problem()
    learner = make_learner(X, y)
    criterion = LabelBudget(n_labels)
    assert run_loop(criterion, learner, X, y, n_instances=n_instances) == rounds
    assert criterion.n_labelled_ == labelled == len(learner.y_training)
    assert criterion.remaining_ == 0
    assert "LabelBudget" in criterion.reason


def test_label_budget_counts_a_committee_and_rejects_learners_without_data() -> None:
    from modAL.disagreement import vote_entropy_sampling
    from modAL.models import Committee

    X, y = problem()
    committee = Committee(
        [make_learner(X, y), make_learner(X, y)], query_strategy=vote_entropy_sampling
    )
    criterion = LabelBudget(7)
    assert run_loop(criterion, committee, X, y) == 3

    class Deep:  # like modAL's DeepActiveLearner: keeps no training data
        pass

    with pytest.raises(TypeError, match="MaxRounds"):
        LabelBudget(3).stop(Deep())


class FakeLLMStrategy:
    """Uncertainty sampling that books usage like ActiveLLM's ``usage_``."""

    def __init__(self, price: float | None = 0.01) -> None:
        self.price = price

    def __call__(self, learner: Any, X_pool: Any, n_instances: int = 1) -> Any:
        from modAL.uncertainty import uncertainty_sampling

        if not hasattr(self, "usage_"):
            self.usage_ = {
                "calls": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "seconds": 0.0,
                "cost": None if self.price is None else 0.0,
            }
        self.usage_["calls"] += 1
        self.usage_["prompt_tokens"] += 100
        self.usage_["completion_tokens"] += 10
        if self.price is not None:
            self.usage_["cost"] += self.price
        return uncertainty_sampling(learner, X_pool, n_instances=n_instances)


@pytest.mark.parametrize(
    ("kwargs", "rounds", "reason"),
    [
        ({"max_cost": 0.035}, 4, "cost 0.04 reached max_cost=0.035"),
        ({"max_calls": 2}, 2, "2 calls reached max_calls=2"),
        ({"max_tokens": 300}, 3, "330 tokens reached max_tokens=300"),
        ({"max_cost": 0.0}, 0, "cost 0 reached max_cost=0.0"),
    ],
)
def test_cost_budget(kwargs: dict[str, Any], rounds: int, reason: str) -> None:
    X, y = problem()
    strategy = FakeLLMStrategy()
    learner = make_learner(X, y, strategy)
    criterion = CostBudget(**kwargs)  # strategy=None: read learner.query_strategy
    assert run_loop(criterion, learner, X, y) == rounds
    assert criterion.reason == f"CostBudget: {reason}"
    assert criterion.spent_["calls"] == strategy.usage_["calls"] if rounds else True


def test_cost_budget_with_explicit_strategy_and_unknown_price() -> None:
    X, y = problem()
    strategy = FakeLLMStrategy(price=None)  # ActiveLLM without price_per_million
    learner = make_learner(X, y, strategy)
    criterion = CostBudget(max_cost=0.01, strategy=strategy, max_calls=3)
    with pytest.warns(UserWarning, match="reports no cost"):
        assert run_loop(criterion, learner, X, y) == 3
    assert criterion.reason == "CostBudget: 3 calls reached max_calls=3"
    assert np.isnan(criterion.spent_["cost"])


def test_cost_budget_rejects_a_plain_function_strategy() -> None:
    from modAL.uncertainty import uncertainty_sampling

    X, y = problem()
    with pytest.raises(TypeError, match="plain function"):
        CostBudget(max_calls=1).stop(make_learner(X, y))
    with pytest.raises(TypeError, match="uncertainty_sampling"):
        CostBudget(max_calls=1, strategy=uncertainty_sampling)


# --------------------------------------------------------------------------------------
# model-based criteria
# --------------------------------------------------------------------------------------


def _uncertainty_trace(X: np.ndarray, y: np.ndarray, rounds: int) -> list[float]:
    """Mean modAL uncertainty over the pool before each round of an uncriterioned loop."""
    from modAL.uncertainty import classifier_uncertainty

    learner = make_learner(X, y)
    trace = []
    run_loop(
        MaxRounds(rounds),
        learner,
        X,
        y,
        on_call=lambda pool: trace.append(float(classifier_uncertainty(learner, pool).mean())),
    )
    return trace


def test_overall_uncertainty_stops_at_the_first_confident_round() -> None:
    X, y = problem()
    trace = _uncertainty_trace(X, y, rounds=30)
    threshold = float(np.round(np.median(trace[3:]), 3))  # crossed after a few rounds
    expected = next(i for i, mean in enumerate(trace) if mean < threshold)
    assert expected >= 1
    criterion = OverallUncertainty(threshold)
    assert run_loop(criterion, make_learner(X, y), X, y) == expected
    assert criterion.history_ == pytest.approx(trace[: expected + 1])
    assert criterion.reason.startswith("OverallUncertainty: mean uncertainty")


def test_overall_uncertainty_subsample_and_edges() -> None:
    from modAL.models import ActiveLearner
    from modAL.uncertainty import classifier_uncertainty

    X, y = problem()
    learner = make_learner(X, y)
    criterion = OverallUncertainty(0.0, sample_size=10, random_state=0)
    assert not criterion.stop(learner, X)  # nothing is below 0
    rows = np.sort(check_random_state(0).choice(len(X), 10, replace=False))
    assert criterion.mean_uncertainty_ == pytest.approx(
        classifier_uncertainty(learner, X[rows]).mean()
    )
    # Any fitted binary model is below 1.0; an unfitted one counts as fully uncertain.
    assert OverallUncertainty(1.0).stop(learner, X)
    assert not OverallUncertainty(1.0).stop(ActiveLearner(LogisticRegression()), X)
    empty = OverallUncertainty(0.5)
    assert empty.stop(learner, X[:0]) and empty.reason == "OverallUncertainty: the pool is empty"
    with pytest.raises(ValueError, match="call stop\\(learner, X_pool\\)"):
        OverallUncertainty(0.5).stop(learner)


def test_kappa_average_stops_when_predictions_stabilise_on_tfidf() -> None:
    texts = [
        f"{w} {v} film"
        for w in ("good", "great", "fine", "bad", "awful", "dull")
        for v in ("plot", "cast", "score", "pace", "ending", "script", "story", "look")
    ]
    y = np.array([int(t.split()[0] in {"good", "great", "fine"}) for t in texts])
    order = [0, 8, 24, 32, *(i for i in range(len(texts)) if i not in (0, 8, 24, 32))]
    X = TfidfVectorizer().fit_transform(np.array(texts)[order])
    y = y[order]
    assert list(y[:4]) == [1, 1, 0, 0]

    criterion = KappaAverage(threshold=0.99, window=2, sample_size=30, random_state=0)
    learner = make_learner(X, y)
    predictions: list[np.ndarray] = []
    rounds = run_loop(
        criterion,
        learner,
        X,
        y,
        on_call=lambda pool: predictions.append(learner.predict(criterion.stop_set_)),
    )
    kappas = [
        1.0 if np.array_equal(a, b) else cohen_kappa_score(a, b)
        for a, b in itertools.pairwise(predictions)
    ]
    expected = next(i + 1 for i in range(1, len(kappas)) if np.mean(kappas[i - 1 : i + 1]) >= 0.99)
    assert rounds == expected >= 3  # not trivially the first possible round
    assert criterion.kappas_ == pytest.approx(kappas)
    assert criterion.stop_set_.shape[0] == 30
    np.testing.assert_array_equal(
        criterion.stop_set_indices_,
        np.sort(check_random_state(0).choice(len(texts) - 4, 30, replace=False)),
    )


def test_kappa_average_skips_unfitted_learners_and_keeps_its_stop_set() -> None:
    from modAL.models import ActiveLearner

    X, y = problem()
    pool = pd.DataFrame(X[4:], index=np.arange(1000, 1000 + len(X) - 4))
    learner = ActiveLearner(LogisticRegression())
    criterion = KappaAverage(threshold=-1.0, window=1, sample_size=None)
    assert not criterion.stop(learner, pool)
    assert not hasattr(criterion, "predictions_")
    pd.testing.assert_frame_equal(criterion.stop_set_, pool)
    learner.fit(pool.iloc[:40], y[4:44])
    assert not criterion.stop(learner, pool.iloc[:5])  # first predictions, no kappa yet
    assert criterion.stop(learner, pool.iloc[:5])  # threshold -1: any kappa stops
    assert criterion.stop_set_.shape == pool.shape
    with pytest.raises(EmptyPoolError, match="pool is empty"):
        KappaAverage().stop(learner, pool.iloc[:0])
    with pytest.raises(ValueError, match="X_pool"):
        KappaAverage().stop(learner, None)


# --------------------------------------------------------------------------------------
# combinators
# --------------------------------------------------------------------------------------


def test_any_of_and_all_of_in_a_loop() -> None:
    X, y = problem()
    fast, slow = MaxRounds(2), LabelBudget(9)
    any_of = fast | slow
    assert isinstance(any_of, AnyOf)
    assert run_loop(any_of, make_learner(X, y), X, y) == 2
    # No short-circuit: both saw every round.
    assert fast.n_calls_ == slow.n_calls_ == 3
    assert any_of.reason == "MaxRounds: 2 rounds done (n_rounds=2)"

    all_of = AllOf(MaxRounds(2), LabelBudget(9))
    assert run_loop(all_of, make_learner(X, y), X, y) == 5
    assert all_of.reason == (
        "MaxRounds: 5 rounds done (n_rounds=2); "
        "LabelBudget: 9 labelled instances reached n_labels=9"
    )
    assert isinstance(MaxRounds(1) & MaxRounds(2), AllOf)


# --------------------------------------------------------------------------------------
# parameters, pickling, reset
# --------------------------------------------------------------------------------------


def _function_strategy(learner: Any, X: Any) -> Any:  # pragma: no cover - never called
    return np.array([0]), X[:1]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: MaxRounds(-1), ValueError, "MaxRounds: n_rounds must be an integer >= 0"),
        (lambda: MaxRounds(2.5), ValueError, "n_rounds must be an integer"),
        (lambda: MaxRounds(True), ValueError, "n_rounds must be an integer"),
        (lambda: LabelBudget(-3), ValueError, "LabelBudget: n_labels must be an integer >= 0"),
        (lambda: CostBudget(), ValueError, "at least one of max_cost, max_calls, max_tokens"),
        (lambda: CostBudget(max_cost=-1), ValueError, "max_cost must be a number"),
        (lambda: CostBudget(max_calls=1.5), ValueError, "max_calls must be an integer"),
        (lambda: CostBudget(max_tokens=-1), ValueError, "max_tokens must be an integer"),
        (lambda: CostBudget(1.0, _function_strategy), TypeError, "plain function"),
        (lambda: OverallUncertainty(1.5), ValueError, "threshold must be a number in"),
        (lambda: OverallUncertainty(0.1, sample_size=0), ValueError, "sample_size"),
        (lambda: KappaAverage(threshold=2), ValueError, "KappaAverage: threshold"),
        (lambda: KappaAverage(window=0), ValueError, "window must be an integer >= 1"),
        (lambda: KappaAverage(sample_size=0), ValueError, "sample_size must be an integer"),
        (lambda: AnyOf(), ValueError, "AnyOf: give at least one stopping criterion"),
        (lambda: AllOf(MaxRounds(1), "x"), ValueError, "'x' is not a stopping criterion"),
    ],
)
def test_bad_parameters(make: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def _criteria() -> list[StoppingCriterion]:
    return [
        MaxRounds(3),
        LabelBudget(8),
        CostBudget(max_calls=3),
        OverallUncertainty(0.2, sample_size=20, random_state=0),
        KappaAverage(threshold=0.9, window=2, sample_size=20, random_state=0),
        AnyOf(MaxRounds(4), KappaAverage(window=1, sample_size=10, random_state=1)),
    ]


@pytest.mark.parametrize("criterion", _criteria(), ids=repr)
def test_pickle_mid_loop_continues_identically(criterion: StoppingCriterion) -> None:
    X, y = problem()
    learner = make_learner(X, y, FakeLLMStrategy())
    pool = X[4:]
    for _ in range(2):
        criterion.stop(learner, pool)
        idx, rows = learner.query(pool)
        learner.teach(rows, y[4:][idx])
        pool = np.delete(pool, idx, axis=0)
    copy = pickle.loads(pickle.dumps(criterion))
    assert repr(copy) == repr(criterion)
    assert copy.stop(learner, pool) == criterion.stop(learner, pool)
    assert copy.reason == criterion.reason
    assert copy.n_calls_ == criterion.n_calls_ == 3


@pytest.mark.parametrize("criterion", _criteria(), ids=repr)
def test_reset_forgets_state_but_keeps_parameters(criterion: StoppingCriterion) -> None:
    X, y = problem()
    learner = make_learner(X, y, FakeLLMStrategy())
    params = criterion.get_params()
    first = [criterion.stop(learner, X[4:]) for _ in range(5)]
    assert criterion.reset() is criterion
    assert not [name for name in vars(criterion) if name.endswith("_")]
    assert criterion.reason == ""
    assert criterion.get_params() == params
    assert [criterion.stop(learner, X[4:]) for _ in range(5)] == first


def test_repr_and_params() -> None:
    assert repr(MaxRounds(3)) == "MaxRounds(n_rounds=3)"
    assert repr(AnyOf(MaxRounds(1), LabelBudget(5))) == (
        "AnyOf(MaxRounds(n_rounds=1), LabelBudget(n_labels=5))"
    )
    assert KappaAverage().get_params() == {
        "threshold": 0.99,
        "window": 3,
        "sample_size": 1000,
        "random_state": None,
    }
    assert CostBudget(max_tokens=10).get_params() == {
        "max_cost": None,
        "strategy": None,
        "max_calls": None,
        "max_tokens": 10,
    }


def test_docstring_examples() -> None:
    result = doctest.testmod(stopping, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10
    assert result.failed == 0
