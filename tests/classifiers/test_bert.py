"""BertClassifier with the offline MiniLM on small slices of SST-2 and RTE."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted

from activellm_modal.classifiers import BertClassifier
from activellm_modal.classifiers._text import TextDataset
from activellm_modal.exceptions import InvalidPoolError, SingleClassWarning

pytestmark = pytest.mark.slow


def _lowercase(texts: Any) -> list[str]:
    return [text.lower() for text in texts]


# ----------------------------------------------------------------- contract


def test_init_only_stores_parameters() -> None:
    # A path that does not exist proves that nothing is loaded here.
    clf = BertClassifier("no/such/model", max_length=16, optimizer__betas=(0.8, 0.9))
    params = clf.get_params()
    assert params["model_name"] == "no/such/model"
    assert params["max_length"] == 16
    assert params["optimizer__betas"] == (0.8, 0.9)
    assert not hasattr(clf, "module_")
    assert not hasattr(clf, "tokenizer_")
    assert is_classifier(clf)


def test_defaults_are_for_few_labels_and_the_paper_recipe_is_a_preset() -> None:
    params = BertClassifier().get_params()
    assert params["model_name"] == "bert-base-uncased"
    assert (params["batch_size"], params["max_epochs"], params["min_steps"]) == ("auto", 10, 120)
    assert (params["lr"], params["weight_decay"], params["warmup_steps"]) == (5e-5, 0.01, 5)
    assert params["max_length"] == 128
    paper = BertClassifier.paper_recipe().get_params()
    assert (paper["batch_size"], paper["max_epochs"], paper["min_steps"]) == (128, 25, 0)
    assert (paper["lr"], paper["weight_decay"], paper["warmup_steps"]) == (5e-5, 0.01, 5)
    assert BertClassifier.paper_recipe("m", max_epochs=3, classes=[0, 1]).max_epochs == 3
    assert params["train_split"] is None
    assert params["optimizer"] is torch.optim.AdamW
    assert params["criterion"] is torch.nn.CrossEntropyLoss
    assert params["device"] == "cpu"


def test_not_fitted_error() -> None:
    clf = BertClassifier("no/such/model")
    with pytest.raises(NotFittedError):
        clf.predict_proba(["a text"])
    with pytest.raises(NotFittedError):
        clf.predict(["a text"])
    with pytest.raises(NotFittedError):
        clf.save_pretrained("unused")


def test_clone_and_nested_params() -> None:
    clf = BertClassifier("some/model", max_length=32, random_state=3, optimizer__lr=1e-3)
    clf.set_params(optimizer__betas=(0.8, 0.95), max_epochs=2, callbacks__print_log__sink=print)
    twin = clone(clf)
    assert twin is not clf
    for key in ("model_name", "max_length", "random_state", "max_epochs"):
        assert twin.get_params()[key] == clf.get_params()[key]
    assert twin.get_params()["optimizer__lr"] == 1e-3
    assert twin.get_params()["optimizer__betas"] == (0.8, 0.95)
    assert "max_length=32" in repr(twin)
    assert "\n" not in repr(twin)


@pytest.mark.parametrize(
    ("X", "fragment"),
    [
        (np.random.default_rng(0).normal(size=(4, 3)), "numeric array"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), "numeric DataFrame"),
        ("just one text", "single str"),
        ([0.5, 0.7], "X[0] is float"),
        (["fine", None], "None/NaN"),
        (np.array([["a", "b", "c"]], dtype=object), "two columns"),
    ],
    ids=["ndarray", "dataframe", "str", "floats", "none", "three-columns"],
)
def test_non_text_input_is_rejected_with_the_fix(X: Any, fragment: str) -> None:
    clf = BertClassifier("never/loaded")
    with pytest.raises(InvalidPoolError, match="pass the texts") as info:
        clf.fit(X, [0, 1] * (len(X) // 2) + [0] * (len(X) % 2))
    assert fragment in str(info.value)
    assert isinstance(info.value, TypeError)


def test_label_problems_are_reported_before_loading() -> None:
    with pytest.raises(ValueError, match="Only one class"):
        BertClassifier("never/loaded").partial_fit(["a", "b"], [1, 1])
    with pytest.raises(ValueError, match="not in classes"):
        BertClassifier("never/loaded", classes=["x", "y"]).fit(["a", "b"], ["z", "z"])
    with pytest.raises(ValueError, match="min_steps"):
        BertClassifier("never/loaded", min_steps=-1).fit(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="batch_size"):
        BertClassifier("never/loaded", batch_size=0).fit(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="outside classes_"):
        BertClassifier("never/loaded", classes=["x", "y"]).fit(["a", "b"], ["x", "z"])
    with pytest.raises(ValueError, match="max_length"):
        BertClassifier("never/loaded", max_length=1).fit(["a", "b"], [0, 1])


# ------------------------------------------------------------ fit / predict


def test_fit_predict_and_learns(fitted: BertClassifier, sst2: Any) -> None:
    test = sst2[1].iloc[:200]
    proba = fitted.predict_proba(test["text"])
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert list(fitted.classes_) == [0, 1]
    assert set(fitted.predict(test["text"])) <= {0, 1}
    check_is_fitted(fitted)
    majority = max(test["label"].mean(), 1 - test["label"].mean())
    # 64 sentences and 16 steps take MiniLM to about 0.7 here; majority is 0.505.
    assert fitted.score(test["text"], test["label"]) > majority + 0.05


def test_length_sorted_batches_keep_the_input_order(fitted: BertClassifier, sst2: Any) -> None:
    texts = sst2[1]["text"].iloc[:24].tolist()
    proba = fitted.predict_proba(texts)
    np.testing.assert_allclose(fitted.predict_proba(texts[::-1])[::-1], proba, atol=1e-5)
    one_by_one = np.vstack([fitted.predict_proba([text]) for text in texts[:3]])
    np.testing.assert_allclose(one_by_one, proba[:3], atol=1e-5)


def test_prediction_batches_are_padded_to_their_own_longest_text(
    fitted: BertClassifier,
) -> None:
    texts = np.array(["short", "a somewhat longer sentence with more words in it"], dtype=object)
    loader = fitted.get_iterator(TextDataset(texts[:1]), training=False)
    (batch, labels) = next(iter(loader))
    assert labels is None
    assert batch["input_ids"].shape == (1, 3)  # [CLS] short [SEP], not max_length=64


def test_str_labels_and_input_containers(tiny_fitted: BertClassifier, tiny_texts: Any) -> None:
    texts = tiny_texts[0]
    assert list(tiny_fitted.classes_) == ["negative", "positive"]
    assert set(tiny_fitted.predict(texts)) <= {"negative", "positive"}
    expected = tiny_fitted.predict_proba(texts[:6])
    for container in (
        list(texts[:6]),
        texts[:6].astype(str),
        pd.Series(texts[:6]),
        pd.DataFrame({"text": texts[:6]}),
    ):
        np.testing.assert_allclose(tiny_fitted.predict_proba(container), expected, atol=1e-6)
    with pytest.raises(InvalidPoolError, match="fitted on single texts"):
        tiny_fitted.predict_proba([("a", "b")])


def test_sentence_pairs(make_clf: Any, rte_slice: pd.DataFrame) -> None:
    pairs = rte_slice[["text_a", "text_b"]]
    clf = make_clf(max_length=64).fit(pairs.iloc[:16], rte_slice["label"].iloc[:16])
    held_out = pairs.iloc[16:]
    proba = clf.predict_proba(held_out)
    assert proba.shape == (8, 2)
    as_tuples = list(held_out.itertuples(index=False, name=None))
    np.testing.assert_allclose(clf.predict_proba(as_tuples), proba, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(held_out.to_numpy()), proba, atol=1e-6)
    with pytest.raises(InvalidPoolError, match="fitted on sentence pairs"):
        clf.predict(held_out["text_a"])


def test_same_random_state_same_predictions(
    make_clf: Any, tiny_fitted: BertClassifier, tiny_texts: Any, capfd: Any
) -> None:
    rng_before = torch.random.get_rng_state()
    again = make_clf().fit(*tiny_texts)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # global RNG untouched
    np.testing.assert_array_equal(
        again.predict_proba(tiny_texts[0]), tiny_fitted.predict_proba(tiny_texts[0])
    )
    assert "LOAD REPORT" not in capfd.readouterr().err


def test_partial_fit_continues_without_reloading(make_clf: Any, tiny_texts: Any) -> None:
    texts, labels = tiny_texts
    clf = make_clf().partial_fit(texts[:8], labels[:8], classes=["negative", "positive"])
    network = clf.module_
    clf.partial_fit(texts[8:], labels[8:])
    assert clf.module_ is network
    assert len(clf.history) == 2
    with pytest.raises(ValueError, match="outside classes_"):
        clf.partial_fit(texts[:2], ["negative", "neutral"])


def test_initialize_with_classes_and_real_load_problems(minilm_path: str) -> None:
    # A 7th layer that the 6-layer checkpoint lacks is a real problem, unlike the new head.
    clf = BertClassifier(minilm_path, classes=[0, 1], module__num_hidden_layers=7)
    with pytest.warns(UserWarning, match="encoder weights were not found"):
        clf.initialize()
    assert clf.predict_proba(["still usable"]).shape == (1, 2)
    with pytest.raises(ValueError, match="max_length=600 exceeds the 512 positions"):
        BertClassifier(minilm_path, classes=[0, 1], max_length=600).initialize()
    with pytest.raises(ValueError, match="label set"):
        BertClassifier(minilm_path).initialize()


# ---------------------------------------------------------------- persistence


def test_pickle_round_trip_gives_identical_probas(fitted: BertClassifier, sst2: Any) -> None:
    texts = sst2[1]["text"].iloc[:16]
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(texts), fitted.predict_proba(texts))
    assert restored.get_params()["max_length"] == fitted.max_length


def test_save_pretrained_and_load(tiny_fitted: BertClassifier, tiny_texts: Any, tmp_path) -> None:
    path = tiny_fitted.save_pretrained(tmp_path / "clf")
    assert {"config.json", "bert_classifier.json", "tokenizer.json"} <= {
        p.name for p in path.iterdir()
    }
    loaded = BertClassifier.load(path)
    assert loaded.model_name == str(path)
    assert list(loaded.classes_) == ["negative", "positive"]
    assert loaded.get_params()["max_length"] == tiny_fitted.max_length
    np.testing.assert_allclose(
        loaded.predict_proba(tiny_texts[0]), tiny_fitted.predict_proba(tiny_texts[0]), atol=1e-6
    )
    with pytest.raises(FileNotFoundError, match="save_pretrained"):
        BertClassifier.load(tmp_path)


# ------------------------------------------------------------- composition


def test_pipeline(make_clf: Any, tiny_texts: Any) -> None:
    texts, labels = tiny_texts
    pipe = make_pipeline(FunctionTransformer(_lowercase), make_clf())
    pipe.fit([text.upper() for text in texts], labels)
    assert pipe.predict(texts[:4]).shape == (4,)
    assert pipe.predict_proba(texts[:4]).shape == (4, 2)


def test_grid_search_over_a_nested_parameter(make_clf: Any, tiny_texts: Any) -> None:
    search = GridSearchCV(make_clf(), {"optimizer__lr": [1e-4, 3e-4]}, cv=2)
    search.fit(*tiny_texts)
    assert len(search.cv_results_["params"]) == 2
    best = search.best_estimator_
    assert best.optimizer_.param_groups[0]["initial_lr"] == search.best_params_["optimizer__lr"]
    assert best.predict(tiny_texts[0][:3]).shape == (3,)


# ---------------------------------------------------------------------- modAL


@pytest.fixture
def modal_check_X_y() -> None:
    """Make modAL's teach work on scikit-learn >= 1.8 (see ECOSYSTEM.md, cause A)."""
    pytest.importorskip("modAL")
    from activellm_modal.loop.compat import patch_modal

    patch_modal()


@pytest.mark.usefixtures("modal_check_X_y")
def test_modal_active_learning_loop(make_clf: Any, sst2: Any) -> None:
    from modAL.models import ActiveLearner
    from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling

    train = sst2[0]
    X_seed = train["text"].iloc[:8].to_numpy(dtype=object)
    X_pool = train["text"].iloc[8:40].to_numpy(dtype=object)
    y_pool = train["label"].iloc[8:40].to_numpy()
    learner = ActiveLearner(
        estimator=make_clf(classes=[0, 1]),
        query_strategy=uncertainty_sampling,
        X_training=X_seed,
        y_training=train["label"].iloc[:8].to_numpy(),
    )
    for _ in range(2):
        idx, picked = learner.query(X_pool, n_instances=2)
        assert picked.shape == (2,)
        learner.teach(X_pool[idx], y_pool[idx])
        X_pool, y_pool = np.delete(X_pool, idx), np.delete(y_pool, idx)
    assert learner.X_training.shape == (12,)
    assert learner.X_training.dtype == object
    assert learner.estimator.history[-1, "train_batch_count"] == 2  # 12 texts, batch 8
    for strategy in (margin_sampling, entropy_sampling):
        idx, _ = strategy(learner.estimator, X_pool, n_instances=3)
        assert len(set(idx.tolist())) == 3


# ------------------------------------------------------- few labels, one class


def test_auto_batch_and_the_floor_on_steps(make_clf: Any, tiny_texts: Any) -> None:
    from activellm_modal.classifiers.bert import _train_batch_size

    auto = BertClassifier("never/loaded")
    assert [_train_batch_size(auto, n) for n in (5, 32, 64, 100, 1000)] == [8, 8, 16, 25, 32]
    assert _train_batch_size(BertClassifier("never/loaded", batch_size=-1), 40) == 40
    texts, labels = tiny_texts  # 16 texts: batches of 8, 2 steps per epoch
    clf = make_clf(batch_size="auto", max_epochs=1, min_steps=6).fit(texts, labels)
    assert clf.n_epochs_ == 3 and len(clf.history) == 3
    assert clf.history[-1, "train_batch_count"] == 2
    assert clf.get_iterator(TextDataset(texts), training=False).batch_size == 64
    # Without the floor max_epochs rules; an explicit epochs= wins over both.
    assert make_clf(max_epochs=2, min_steps=0).fit(texts, labels).n_epochs_ == 2
    assert make_clf(min_steps=50).fit(texts, labels, epochs=1).n_epochs_ == 1


def test_one_class_fit_warns_and_predicts_that_class(
    make_clf: Any, tiny_texts: Any, tmp_path: Any
) -> None:
    texts = tiny_texts[0][:4]
    clf = make_clf()
    with pytest.warns(SingleClassWarning, match="predicts 'positive' for every text"):
        clf.fit(texts, ["positive"] * 4)
    assert not hasattr(clf, "module_")  # nothing loaded, nothing trained
    assert list(clf.classes_) == ["positive"]
    np.testing.assert_array_equal(clf.predict_proba(texts[:2]), [[1.0], [1.0]])
    fixed = make_clf(classes=["negative", "positive"])
    with pytest.warns(SingleClassWarning, match="keeps a column for each"):
        fixed.fit(texts, ["negative"] * 4)
    np.testing.assert_array_equal(fixed.predict_proba(texts[:2]), [[1, 0], [1, 0]])
    assert list(fixed.predict(texts[:2])) == ["negative", "negative"]
    restored = pickle.loads(pickle.dumps(fixed))
    assert list(restored.predict(texts[:1])) == ["negative"]
    with pytest.raises(ValueError, match="fitted on one class"):
        fixed.save_pretrained(tmp_path / "nothing")
    fixed.fit(*tiny_texts)  # two classes: trains as usual
    assert fixed.single_class_ is None and fixed.module_ is not None
    assert fixed.predict_proba(texts[:2]).min() > 0


@pytest.mark.usefixtures("modal_check_X_y")
@pytest.mark.parametrize("classes", [[0, 1], None], ids=["classes-fixed", "classes-inferred"])
def test_modal_loop_survives_a_one_class_first_batch(
    make_clf: Any, sst2: Any, classes: Any
) -> None:
    from modAL.models import ActiveLearner
    from modAL.uncertainty import margin_sampling, uncertainty_sampling

    train = sst2[0].iloc[:60]
    negatives = train[train["label"] == 0]["text"].to_numpy(dtype=object)[:4]
    positives = train[train["label"] == 1]["text"].to_numpy(dtype=object)[:4]
    X_pool = train["text"].to_numpy(dtype=object)[40:]
    learner = ActiveLearner(
        estimator=make_clf(classes=classes), query_strategy=uncertainty_sampling
    )
    with pytest.warns(SingleClassWarning):
        learner.teach(negatives, np.zeros(4, dtype=int))
    assert set(learner.predict(X_pool)) == {0}
    idx, _ = learner.query(X_pool, n_instances=3)
    assert len(set(idx.tolist())) == 3
    assert len(margin_sampling(learner.estimator, X_pool, n_instances=2)[0]) == 2
    learner.teach(positives, np.ones(4, dtype=int))
    assert learner.estimator.single_class_ is None
    assert list(learner.estimator.classes_) == [0, 1]
    assert learner.predict_proba(X_pool[:3]).shape == (3, 2)


def test_balanced_class_weight_reaches_the_loss(make_clf: Any, tiny_texts: Any) -> None:
    from activellm_modal.classifiers.bert import _balanced_weights

    np.testing.assert_allclose(_balanced_weights(np.array([0, 1, 1, 1]), 3), [2.0, 2 / 3, 1.0])
    texts = tiny_texts[0]
    y = np.where(np.arange(16) < 4, "negative", "positive")  # 4 vs 12
    clf = make_clf(class_weight="balanced").fit(texts, y)
    np.testing.assert_allclose(clf.criterion_.weight.numpy(), [2.0, 2 / 3], rtol=1e-6)
    assert make_clf().fit(texts, y).criterion_.weight is None
    with pytest.raises(ValueError, match="class_weight must be None or 'balanced'"):
        BertClassifier("never/loaded", class_weight="auto").fit(["a", "b"], [0, 1])
