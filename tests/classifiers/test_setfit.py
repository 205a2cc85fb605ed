"""SetFitClassifier with the offline MiniLM on small slices of SST-2, in sklearn and modAL."""

from __future__ import annotations

import pickle
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from activellm_modal.exceptions import InvalidPoolError, SingleClassWarning
from activellm_modal.parts import RegionPresenter

pytest.importorskip("setfit")
from activellm_modal.classifiers import SetFitClassifier

pytestmark = pytest.mark.slow

#: One pair per text and kind: 16 texts make 32 pairs, 2 optimiser steps.
TINY = {"num_iterations": 1, "max_length": 32, "random_state": 0}


def _lowercase(texts: Any) -> list[str]:
    return [text.lower() for text in texts]


@pytest.fixture(scope="module")
def make_sf(minilm_path: str) -> Any:
    def make(**params: Any) -> SetFitClassifier:
        return SetFitClassifier(minilm_path, **{**TINY, **params})

    return make


@pytest.fixture(scope="module")
def sf_tiny(make_sf: Any, tiny_texts: Any) -> SetFitClassifier:
    return make_sf().fit(*tiny_texts)


@pytest.fixture(scope="module")
def draw32(sst2: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
    """32 random SST-2 training sentences (17 positive)."""
    rows = sst2[0].sample(32, random_state=1)
    return rows["text"].to_numpy(dtype=object), rows["label"].to_numpy()


# ----------------------------------------------------------------- contract


def test_init_only_stores_parameters() -> None:
    clf = SetFitClassifier("no/such/model", num_iterations=3, head=LogisticRegression(C=5))
    params = clf.get_params()
    assert params["model_name"] == "no/such/model" and params["num_iterations"] == 3
    assert not hasattr(clf, "model_") and is_classifier(clf)
    twin = clone(clf)
    assert twin.get_params()["head"].C == 5 and twin.head is not clf.head
    with pytest.raises(NotFittedError):
        clf.predict(["a text"])


@pytest.mark.parametrize(
    ("X", "y", "error", "fragment"),
    [
        (np.ones((4, 3)), [0, 1, 0, 1], InvalidPoolError, "numeric array"),
        ("one text", [0], InvalidPoolError, "single str"),
        ([("a", "b"), ("c", "d")], [0, 1], InvalidPoolError, "join each pair"),
        (["a", "b"], [0, 1], ValueError, "no class in y has 2 texts"),
        (["a", "b", "c"], [0, 1], ValueError, "inconsistent numbers of samples"),
        (["a", "b", "c"], [0.5, 1.5, 0.5], ValueError, "Unknown label type"),
    ],
    ids=["numbers", "str", "pairs", "too-few", "lengths", "continuous"],
)
def test_bad_input_fails_before_loading(X: Any, y: Any, error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        SetFitClassifier("never/loaded").fit(X, y)


def test_bad_parameters_and_labels_outside_classes() -> None:
    with pytest.raises(ValueError, match="num_iterations"):
        SetFitClassifier("never/loaded", num_iterations=0).fit(["a", "b", "c"], [0, 0, 1])
    with pytest.raises(ValueError, match="outside classes"):
        SetFitClassifier("never/loaded", classes=["x", "y"]).fit(["a", "b"], ["x", "z"])


# ------------------------------------------------------------ fit / predict


def test_fit_predict_proba_and_str_labels(sf_tiny: SetFitClassifier, tiny_texts: Any) -> None:
    texts = tiny_texts[0]
    proba = sf_tiny.predict_proba(texts)
    assert proba.shape == (16, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(sf_tiny.classes_) == ["negative", "positive"]
    assert set(sf_tiny.predict(texts)) <= {"negative", "positive"}
    assert sf_tiny.n_pairs_ == 32
    for container in (list(texts[:4]), pd.Series(texts[:4]), texts[:4].astype(str)):
        np.testing.assert_allclose(sf_tiny.predict_proba(container), proba[:4], atol=1e-6)


def test_learns_from_32_labels(minilm_path: str, draw32: Any, sst2: Any) -> None:
    test = sst2[1].iloc[:200]
    clf = SetFitClassifier(minilm_path, num_iterations=5, max_length=64, random_state=0)
    clf.fit(*draw32)
    assert clf.n_pairs_ == 2 * 5 * 32
    majority = max(test["label"].mean(), 1 - test["label"].mean())
    # 0.67 on all 872 test sentences (frozen embeddings + LR on the same draw: 0.66).
    assert clf.score(test["text"], test["label"]) > majority + 0.08


def test_seeded_and_the_global_rngs_are_left_alone(
    make_sf: Any, sf_tiny: SetFitClassifier, tiny_texts: Any
) -> None:
    legacy_numpy = np.random.get_state  # setfit seeds the legacy global RNG
    before = random.getstate(), legacy_numpy()[1].copy(), torch.random.get_rng_state()
    again = make_sf().fit(*tiny_texts)
    assert random.getstate() == before[0]
    np.testing.assert_array_equal(legacy_numpy()[1], before[1])
    assert torch.equal(torch.random.get_rng_state(), before[2])
    np.testing.assert_allclose(
        again.predict_proba(tiny_texts[0]), sf_tiny.predict_proba(tiny_texts[0]), atol=1e-6
    )


def test_balanced_class_weight_goes_to_the_default_head(make_sf: Any, tiny_texts: Any) -> None:
    clf = make_sf(class_weight="balanced").fit(*tiny_texts)
    assert clf.model_.model_head.class_weight == "balanced"
    assert clf.model_.model_head.C == 100.0
    with pytest.raises(ValueError, match="class_weight"):
        make_sf(class_weight="auto").fit(*tiny_texts)


def test_pickle_round_trip(sf_tiny: SetFitClassifier, tiny_texts: Any) -> None:
    restored = pickle.loads(pickle.dumps(sf_tiny))
    np.testing.assert_array_equal(
        restored.predict_proba(tiny_texts[0]), sf_tiny.predict_proba(tiny_texts[0])
    )


def test_one_class_fit_warns_and_predicts_that_class(make_sf: Any, tiny_texts: Any) -> None:
    texts = tiny_texts[0][:3]
    clf = make_sf()
    with pytest.warns(SingleClassWarning, match="predicts 'positive' for every text"):
        clf.fit(texts, ["positive"] * 3)
    assert clf.model_ is None and list(clf.classes_) == ["positive"]
    np.testing.assert_array_equal(clf.predict_proba(texts), np.ones((3, 1)))
    fixed = make_sf(classes=["negative", "neutral", "positive"])
    with pytest.warns(SingleClassWarning, match="keeps a column for each"):
        fixed.fit(texts, ["neutral"] * 3)
    np.testing.assert_array_equal(fixed.predict_proba(texts[:1]), [[0, 1, 0]])
    # Two of three classes seen: the unseen one keeps a zero column.
    fixed.fit(*tiny_texts)
    proba = fixed.predict_proba(texts)
    assert proba.shape == (3, 3) and (proba[:, 1] == 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# ------------------------------------------------------------- composition


def test_pipeline_and_grid_search(make_sf: Any, tiny_texts: Any) -> None:
    texts, labels = tiny_texts
    pipe = make_pipeline(FunctionTransformer(_lowercase), make_sf())
    pipe.fit([text.upper() for text in texts], labels)
    assert pipe.predict_proba(texts[:4]).shape == (4, 2)
    search = GridSearchCV(make_sf(), {"head": [LogisticRegression(C=1.0), None]}, cv=2)
    search.fit(texts, labels)
    assert len(search.cv_results_["params"]) == 2
    assert search.best_estimator_.predict(texts[:3]).shape == (3,)


@pytest.fixture
def _modal_patched() -> None:
    pytest.importorskip("modAL")
    from activellm_modal.loop.compat import patch_modal

    patch_modal()


@pytest.mark.usefixtures("_modal_patched")
def test_modal_loop_from_a_one_class_first_batch(make_sf: Any, sst2: Any) -> None:
    from modAL.models import ActiveLearner
    from modAL.uncertainty import uncertainty_sampling

    train = sst2[0].iloc[:80]
    negatives = train[train["label"] == 0]["text"].to_numpy(dtype=object)[:4]
    positives = train[train["label"] == 1]["text"].to_numpy(dtype=object)[:4]
    X_pool = train["text"].to_numpy(dtype=object)[40:]
    y_pool = train["label"].to_numpy()[40:]
    learner = ActiveLearner(estimator=make_sf(classes=[0, 1]), query_strategy=uncertainty_sampling)
    with pytest.warns(SingleClassWarning):
        learner.teach(negatives, np.zeros(4, dtype=int))
    assert learner.predict_proba(X_pool[:2]).tolist() == [[1.0, 0.0], [1.0, 0.0]]
    idx, _ = learner.query(X_pool, n_instances=4)  # all tied, still 4 distinct rows
    assert len(set(idx.tolist())) == 4
    learner.teach(positives, np.ones(4, dtype=int))
    assert learner.estimator.single_class_ is None
    idx, _ = learner.query(X_pool, n_instances=4)
    learner.teach(X_pool[idx], y_pool[idx])
    assert len(learner.y_training) == 12
    assert learner.predict_proba(X_pool[:3]).shape == (3, 2)


@pytest.mark.usefixtures("_modal_patched")
def test_hybrid_strategy_drives_a_setfit_classifier(llm_server: Any, make_sf: Any, sst2: Any):
    """The LLM picks round 1 (one call), uncertainty sampling on SetFit's probabilities after."""
    from modAL.models import ActiveLearner

    from activellm_modal.strategies.hybrid import HybridStrategy
    from tests.loops import scripted_llm, teach_rounds
    from tests.openai_server import pick_longest

    train = sst2[0].iloc[:120]
    X, y = train["text"].to_numpy(dtype=object), train["label"].to_numpy()
    llm_server.default = lambda body: pick_longest(body, 8)
    hybrid = HybridStrategy(
        scripted_llm(llm_server, presenter=RegionPresenter(n_presented=40)), switch_after=1
    )
    learner = ActiveLearner(estimator=make_sf(classes=[0, 1]), query_strategy=hybrid)
    teach_rounds(learner, X, y, rounds=2, k=8)
    assert [step.strategy for step in hybrid.history_] == ["cold_start", "then"]
    assert len(llm_server.chat_requests) == 1 and len(learner.y_training) == 16
    assert learner.predict_proba(X[:4]).shape == (4, 2)
