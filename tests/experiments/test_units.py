"""The small pieces: list parsing, the results store, metrics, k-means, the embedding table."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal.experiments.embedding_table import CachedEmbedder, EmbeddingTable
from activellm_modal.experiments.grid import ReproduceJob, parse_int_list
from activellm_modal.experiments.kmeans import KMeansColdStart
from activellm_modal.experiments.metrics import area_under_curve, scores
from activellm_modal.experiments.store import ResultStore


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42,109,27", [42, 109, 27]), ("1-3", [1, 2, 3]), ("3,1,3", [3, 1]), (" 7 ,", [7])],
)
def test_parse_int_list(text: str, expected: list[int]) -> None:
    assert parse_int_list(text) == expected


@pytest.mark.parametrize("text", ["", "a", "1,,b", "3-1", "1.5"])
def test_parse_int_list_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="--seeds"):
        parse_int_list(text, name="--seeds")


def test_parse_int_list_minimum() -> None:
    with pytest.raises(ValueError, match="below the minimum 1"):
        parse_int_list("0,1", name="--runs", minimum=1)


def test_store_resumes_by_key(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "r.csv", ["strategy", "llm", "run", "seed"])
    assert store.done_keys() == set()
    job = ReproduceJob("random", "", 1, 42)
    store.append([{"strategy": "random", "llm": "", "run": 1, "seed": 42, "accuracy": 0.5}])
    store.append([{"strategy": "activellm", "llm": "gpt-4", "run": 1, "seed": 42, "accuracy": 0.7}])
    assert job.key() in store.done_keys()
    assert ("activellm", "gpt-4", "1", "42") in store.done_keys()
    assert store.read()["llm"].tolist() == ["", "gpt-4"]


def test_store_refuses_a_foreign_file(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="another --out"):
        ResultStore(tmp_path / "r.csv", ["strategy", "run"]).done_keys()


def test_metrics() -> None:
    assert scores([0, 1, 1, 0], [0, 1, 0, 0]) == pytest.approx(
        {"accuracy": 0.75, "macro_f1": 0.7333333}, rel=1e-6
    )
    # Unsorted points are sorted; uneven spacing is weighted by width.
    assert area_under_curve([64, 32, 128], [0.6, 0.5, 0.6]) == pytest.approx(
        (32 * 0.55 + 64 * 0.6) / 96
    )


def test_kmeans_takes_one_instance_per_cluster() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.concatenate([c + rng.normal(scale=0.1, size=(20, 2)) for c in centres])
    idx, scores_ = KMeansColdStart(lambda X: X, random_state=0)(None, X, n_instances=3)
    assert len(set(idx.tolist())) == 3 and len(scores_) == 3
    assert sorted(np.round(X[idx]).tolist()) == sorted(centres.tolist())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_kmeans_with_duplicate_points_still_returns_n() -> None:
    X = np.zeros((6, 2))
    idx, _ = KMeansColdStart(lambda X: X, random_state=0)(None, X, n_instances=4)
    assert len(set(idx.tolist())) == 4


def test_embedding_table_is_shared_not_copied() -> None:
    table = EmbeddingTable(["good", "bad", "meh"], np.eye(3))
    pipe = make_pipeline(CachedEmbedder(table), LogisticRegression())
    assert clone(pipe).steps[0][1].table is table
    assert copy.deepcopy(table) is table
    assert table.lookup(np.array(["meh", "good"], dtype=object)).tolist() == [
        [0, 0, 1],
        [1, 0, 0],
    ]
    # Embeddings pass through (modAL's ranked batch hands them over).
    assert CachedEmbedder(table).fit([]).transform(np.ones((2, 3))).shape == (2, 3)
    with pytest.raises(KeyError, match="not in the embedding table"):
        table.lookup(["unseen"])
