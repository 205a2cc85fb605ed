"""Shared fixtures: paths to the project's data, and a loopback OpenAI-protocol server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.openai_server import ScriptedOpenAIServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Plumbing tests embed with the small MiniLM; tests/test_encoder.py exercises mpnet itself.
os.environ.setdefault("ACTIVELLM_ENCODER", "all-MiniLM-L6-v2")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ACTIVELLM_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder (paper recordings, datasets); skip if it is absent."""
    if not (SHARED / "datasets").is_dir():
        pytest.skip(f"shared data not found at {SHARED}; set ACTIVELLM_SHARED to its path")
    return SHARED


@pytest.fixture(scope="session")
def sst2_train(shared_dir: Path):
    """SST-2 train as a DataFrame (columns idx, text, label)."""
    import pandas as pd

    return pd.read_csv(
        shared_dir / "datasets" / "sst2" / "train.tsv", sep="\t", quoting=3, keep_default_na=False
    )


@pytest.fixture(scope="session")
def _llm_server() -> Iterator[ScriptedOpenAIServer]:
    server = ScriptedOpenAIServer()
    yield server
    server.close()


@pytest.fixture
def llm_server(_llm_server: ScriptedOpenAIServer) -> Iterator[ScriptedOpenAIServer]:
    """The loopback server, with an empty script and request log for each test."""
    _llm_server.reset()
    yield _llm_server
    _llm_server.reset()


@pytest.fixture(scope="module", autouse=True)
def _modal_on_this_stack(request: pytest.FixtureRequest) -> None:
    """modAL 0.4.2.1 made to run on today's stack (test_compat manages the patches itself)."""
    if not request.module.__name__.endswith("test_compat"):
        from activellm_modal.loop.compat import patch_modal

        patch_modal()


@pytest.fixture(scope="module")
def pool(request: pytest.FixtureRequest, sst2_train):
    """The first ``POOL_SIZE`` SST-2 train texts and labels (a module attribute; 300 by default)."""
    head = sst2_train.head(getattr(request.module, "POOL_SIZE", 300))
    return head["text"].to_numpy(dtype=object), head["label"].to_numpy()
