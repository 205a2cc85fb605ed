"""The OpenAI-compatible backend on its own, against the loopback server."""

from __future__ import annotations

import time

import openai
import pytest

from activellm_modal.exceptions import LLMEndpointError
from activellm_modal.llm.base import LLMRequest
from activellm_modal.llm.openai_backend import NO_KEY, OpenAIBackend
from tests.openai_server import Reply, Status

REQUEST = LLMRequest(messages=[{"role": "user", "content": "pick"}])


def test_usage_model_and_options_are_passed(llm_server):
    llm_server.push(Reply("1, 2", prompt_tokens=11, completion_tokens=4))
    backend = OpenAIBackend(
        "m", base_url=llm_server.url, temperature=0.0, max_tokens=50, extra_body={"top_k": 5}
    )
    completion = backend.complete(REQUEST)
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == (
        "1, 2",
        11,
        4,
    )
    body = llm_server.chat_requests[0]["body"]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 50 and body["top_k"] == 5


def test_local_server_without_key_gets_a_placeholder(llm_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm_server.push(Reply("0"))
    OpenAIBackend("m", base_url=llm_server.url).complete(REQUEST)
    headers = {k.lower(): v for k, v in llm_server.chat_requests[0]["headers"].items()}
    assert headers["authorization"] == f"Bearer {NO_KEY}"


def test_no_key_and_no_base_url_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(LLMEndpointError, match="OPENAI_API_KEY"):
        OpenAIBackend("m").complete(REQUEST)


def test_key_from_environment(llm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-123456")
    llm_server.push(Reply("0"))
    OpenAIBackend("m", base_url=llm_server.url).complete(REQUEST)
    headers = {k.lower(): v for k, v in llm_server.chat_requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-from-env-123456"


def test_retry_after_is_honoured_and_bounded(llm_server):
    llm_server.push(Status(429, headers={"retry-after": "0.3"}), Reply("0"))
    backend = OpenAIBackend("m", base_url=llm_server.url, max_retries=1, max_backoff=5)
    start = time.perf_counter()
    backend.complete(REQUEST)
    assert 0.3 <= time.perf_counter() - start < 3


def test_a_given_client_is_used_without_its_own_retries(llm_server):
    client = openai.OpenAI(base_url=llm_server.url, api_key="sk-client-key-123456", max_retries=5)
    llm_server.push(Status(500, headers={"retry-after": "0"}))
    backend = OpenAIBackend("m", client=client, max_retries=0)
    with pytest.raises(LLMEndpointError, match="HTTP 500") as info:
        backend.complete(REQUEST)
    assert len(llm_server.chat_requests) == 1  # the client's 5 retries were switched off
    assert "sk-client-key-123456" not in str(info.value)


def test_empty_choices_is_an_endpoint_error(llm_server):
    class Empty:
        choices = ()

    backend = OpenAIBackend("m", base_url=llm_server.url)
    with pytest.raises(LLMEndpointError, match="no choices"):
        backend._completion(Empty())


def test_invalid_max_retries():
    with pytest.raises(ValueError, match="max_retries"):
        OpenAIBackend("m", max_retries=-1)
