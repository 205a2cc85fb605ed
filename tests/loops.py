"""Building blocks shared by the tests that run ActiveLLM in modAL loops."""

from __future__ import annotations

from typing import Any

import numpy as np
from modAL.models import ActiveLearner
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal import ActiveLLM
from activellm_modal.llm import OpenAIBackend
from tests.openai_server import ScriptedOpenAIServer

#: OpenAIBackend settings that scripted_llm passes to the backend rather than ActiveLLM.
BACKEND_SETTINGS = ("model", "base_url", "api_key", "client", "timeout", "max_retries")
BACKEND_SETTINGS += ("temperature", "max_tokens", "price_per_million")


def scripted_llm(server: ScriptedOpenAIServer, **params: Any) -> ActiveLLM:
    """An ActiveLLM talking to the loopback server: seeded, no retries, short timeout.

    Endpoint settings (``model``, ``timeout``, ``price_per_million``, ...) go to its
    :class:`~activellm_modal.llm.OpenAIBackend`; the rest to ActiveLLM.
    """
    settings: dict[str, Any] = dict(
        model="scripted", base_url=server.url, api_key="sk-test", max_retries=0, timeout=5.0
    )
    settings.update({k: params.pop(k) for k in BACKEND_SETTINGS if k in params})
    backend = OpenAIBackend(settings.pop("model"), **settings)
    return ActiveLLM(**{"backend": backend, "random_state": 0, **params})


def text_learner(strategy: Any) -> ActiveLearner:
    """A modAL learner on raw texts: TF-IDF + logistic regression."""
    return ActiveLearner(
        estimator=make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)),
        query_strategy=strategy,
    )


def teach_rounds(learner: ActiveLearner, X: np.ndarray, y: np.ndarray, rounds: int, k: int) -> None:
    """Query ``k`` of the texts not yet taught and teach their labels, ``rounds`` times."""
    mask = np.ones(len(X), dtype=bool)
    for _ in range(rounds):
        rows = np.flatnonzero(mask)
        idx, _ = learner.query(X[rows], n_instances=k)
        learner.teach(X[rows[idx]], y[rows[idx]])
        mask[rows[idx]] = False


class CountingBackend:
    """An LLM backend (the documented ``complete(request)`` protocol) that answers
    with ``answer(request)`` and keeps every request, so tests count the calls."""

    def __init__(self, answer: Any = "0") -> None:
        self.answer = answer
        self.requests: list[Any] = []

    @property
    def calls(self) -> int:
        return len(self.requests)

    def complete(self, request: Any) -> Any:
        from activellm_modal.llm import Completion

        self.requests.append(request)
        text = self.answer(request) if callable(self.answer) else self.answer
        return Completion(text, prompt_tokens=10, completion_tokens=5)
