"""A saved loop resumes with identical next queries, and writes no secret."""

from __future__ import annotations

import numpy as np
import pytest

from activellm_modal.loop.persistence import load_loop, save_loop
from activellm_modal.parts import Prompt, RegionPresenter
from activellm_modal.strategies.hybrid import HybridStrategy
from tests.loops import scripted_llm, text_learner
from tests.openai_server import pick_longest

SECRET = "sk-persist-0123456789SECRET"


def one_round(learner, X, y, mask, n=6):
    rows = np.flatnonzero(mask)
    idx, _ = learner.query(X[rows], n_instances=n)
    picked = rows[idx]
    learner.teach(X[picked], y[picked])
    mask[picked] = False
    return picked.tolist()


@pytest.mark.parametrize("kind", ["activellm", "hybrid"])
def test_saved_loop_resumes_with_identical_queries(llm_server, sst2_train, tmp_path, kind):
    head = sst2_train.head(300)
    X, y = head["text"].to_numpy(dtype=object), head["label"].to_numpy()
    llm_server.default = lambda body: pick_longest(body, 6)
    strategy = scripted_llm(
        llm_server,
        api_key=SECRET,
        presenter=RegionPresenter(n_presented=40),
        prompt=Prompt(recap="texts"),
    )
    if kind == "hybrid":
        strategy = HybridStrategy(strategy, switch_after=2)
    learner = text_learner(strategy)
    mask = np.ones(len(X), dtype=bool)
    labelled = one_round(learner, X, y, mask) + one_round(learner, X, y, mask)

    path = save_loop(tmp_path / "loop.pkl", learner, labelled, pool_mask=mask.copy())
    assert SECRET.encode() not in path.read_bytes()
    calls_before = len(llm_server.chat_requests)
    original = [one_round(learner, X, y, mask) for _ in range(2)]
    calls_original = len(llm_server.chat_requests) - calls_before

    loop = load_loop(path)
    assert loop.labelled == labelled and "scikit-learn" in loop.versions
    resumed_mask = loop.extra["pool_mask"]
    resumed = [one_round(loop.learner, X, y, resumed_mask) for _ in range(2)]
    assert resumed == original
    assert len(llm_server.chat_requests) - calls_before == 2 * calls_original
    if kind == "hybrid":
        assert calls_original == 0 and loop.strategy.n_queries_ == 4  # switched after two
    else:
        assert loop.strategy.n_queries_ == 4 and loop.strategy.usage_["calls"] == 4


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_loop"):
        load_loop(tmp_path / "missing.pkl")
    other = tmp_path / "other.pkl"
    other.write_bytes(__import__("pickle").dumps({"format": 99}))
    with pytest.raises(ValueError, match="not a loop saved"):
        load_loop(other)
