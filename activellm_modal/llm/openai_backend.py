"""Any OpenAI-compatible chat endpoint: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp."""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any

from sklearn.base import BaseEstimator

from activellm_modal.exceptions import LLMEndpointError
from activellm_modal.llm.base import Completion, LLMRequest
from activellm_modal.llm.secrets import mask, redact

logger = logging.getLogger(__name__)

#: Sent when a local server (base_url given) needs no key but the client insists on one.
NO_KEY = "no-key-required"

# HTTP statuses worth another try: rate limits, overload and server faults.
_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_HINTS = {
    401: "Check the API key (api_key=... or the OPENAI_API_KEY environment variable).",
    403: "The key is not allowed to use this model or endpoint.",
    404: "Check the model name and base_url (OpenAI-compatible servers serve /v1).",
    429: "The endpoint is rate-limiting: lower the request rate or raise your quota.",
}


class OpenAIBackend(BaseEstimator):
    """Chat completions from an OpenAI-compatible endpoint, with bounded retries.

    Parameters
    ----------
    model : str
        Model name as the endpoint knows it (an Azure deployment name on Azure).
    base_url : str, optional
        Endpoint root, e.g. ``http://127.0.0.1:8080/v1``. Default: the
        ``OPENAI_BASE_URL`` environment variable, else OpenAI.
    api_key : str, optional
        Default: the ``OPENAI_API_KEY`` environment variable; a placeholder
        when ``base_url`` points at a local server that needs none.
    client : openai.OpenAI, optional
        A configured client to use instead (its own retries are switched off).
    timeout : float, default=120.0
        Seconds one request may take.
    max_retries : int, default=3
        Further attempts after a 429, 5xx, timeout or lost connection.
    backoff : float, default=1.0
        First wait in seconds; it doubles per attempt (with jitter) and a
        ``Retry-After`` header takes precedence, capped at ``max_backoff``.
    max_backoff : float, default=30.0
        Longest single wait.
    temperature : float, optional
        Sampling temperature; None leaves the endpoint's default.
    max_tokens : int, optional
        Cap on the answer's length.
    extra_body : dict, optional
        Extra JSON fields for servers with their own options (e.g. vLLM).
    price_per_million : tuple of two float, optional
        USD per million prompt and completion tokens; ActiveLLM fills
        ``usage_["cost"]`` from it (any backend may declare this attribute).

    Examples
    --------
    >>> backend = OpenAIBackend("gpt-4o", base_url="http://127.0.0.1:9/v1", max_retries=0)
    >>> backend.endpoint
    'http://127.0.0.1:9/v1'
    """

    def __init__(
        self,
        model: str = "gpt-4o",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: Any = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        temperature: float | None = None,
        max_tokens: int | None = None,
        extra_body: dict[str, Any] | None = None,
        price_per_million: tuple[float, float] | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}.")
        # Parameters only, under their own names: a nested estimator parameter
        # (ActiveLLM(backend=OpenAIBackend(...)), set_params(backend__model=...)).
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.client = client
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body = extra_body
        self.price_per_million = price_per_million

    @property
    def endpoint(self) -> str:
        """The endpoint's base URL, for messages (never with credentials)."""
        if self.client is not None:
            return str(self.client.base_url).rstrip("/")
        url = self.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return url.rstrip("/")

    @property
    def _secret(self) -> str | None:
        if self.client is not None:
            return getattr(self.client, "api_key", None)
        return self.api_key or os.environ.get("OPENAI_API_KEY")

    @property
    def ready_client(self) -> Any:
        """The ``openai.OpenAI`` client, made on first use and whenever its settings change."""
        key = (self.base_url, self.api_key, id(self.client), self.timeout)
        ready = getattr(self, "_ready", None)
        if ready is None or ready[0] != key:
            if self.client is None:
                made = self._make_client()
            else:
                # Our loop does the retrying; the client's own would multiply the calls.
                made = self.client.with_options(max_retries=0, timeout=self.timeout)
            self._ready = ready = (key, made)
        return ready[1]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        # A pickle holds neither the key nor a client (sockets, and the key again).
        state.pop("_ready", None)
        state["api_key"] = None
        state["client"] = None
        return state

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        params = self.get_params(deep=False)
        shown = [f"{self.model!r}"]
        for name in ("base_url", "timeout", "max_retries", "temperature", "max_tokens"):
            if params[name] != OpenAIBackend.__init__.__kwdefaults__[name]:
                shown.append(f"{name}={params[name]!r}")
        if self.api_key is not None:
            shown.append(f"api_key={mask(self.api_key)!r}")
        return f"OpenAIBackend({', '.join(shown)})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        # scikit-learn's HTML view lists parameter values; the key must not show there.
        return {"text/plain": repr(self)}

    def _make_client(self) -> Any:
        import openai

        base_url = self.base_url or os.environ.get("OPENAI_BASE_URL")
        key = self.api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if not base_url:
                raise LLMEndpointError(
                    "No API key for OpenAI: set the OPENAI_API_KEY environment variable or pass "
                    "api_key=...; for a local server pass base_url='http://HOST:PORT/v1'."
                )
            key = NO_KEY
        return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=self.timeout)

    def complete(self, request: LLMRequest) -> Completion:
        """Send the request, retrying transient failures, and return the answer."""
        import openai

        client = self.ready_client
        kwargs: dict[str, Any] = {"model": self.model, "messages": request.messages}
        if request.response_format is not None:
            kwargs["response_format"] = request.response_format
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = client.chat.completions.create(**kwargs)
                return self._completion(response)
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status not in _RETRY_STATUSES or attempt == attempts:
                    raise self._error(status, exc, attempt) from None
                wait = self._wait(attempt, exc.response.headers.get("retry-after"))
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                if attempt == attempts:
                    raise self._error(None, exc, attempt) from None
                wait = self._wait(attempt, None)
            logger.warning(
                "LLM endpoint %s: attempt %d of %d failed; retrying in %.1f s",
                self.endpoint,
                attempt,
                attempts,
                wait,
            )
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _completion(self, response: Any) -> Completion:
        choices = getattr(response, "choices", None)
        if not choices:
            raise LLMEndpointError(
                f"LLM endpoint {self.endpoint} returned no choices for model {self.model!r}; "
                "check that it serves chat completions."
            )
        message = choices[0].message
        # A refusal carries no content; the refusal text still goes to the parser,
        # which finds no positions, so the fallback fills the selection.
        text = message.content if message.content is not None else (message.refusal or "")
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            model=str(getattr(response, "model", "") or self.model),
        )

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass  # an HTTP date: fall back to our own schedule
        wait = self.backoff * 2 ** (attempt - 1)
        return min(wait * (0.5 + random.random()), self.max_backoff)

    def _error(self, status: int | None, exc: Exception, attempts: int) -> LLMEndpointError:
        what = f"HTTP {status}" if status is not None else type(exc).__name__
        detail = redact(str(exc), self._secret)[:300]
        hint = _HINTS.get(status or 0, "")
        if status is None:
            hint = f"Check that the server is running and reachable (timeout={self.timeout}s)."
        elif status >= 500:
            hint = "The server failed; try again later or check its logs."
        error = LLMEndpointError(
            f"LLM endpoint {self.endpoint} (model {self.model!r}) failed with {what} after "
            f"{attempts} attempt(s): {detail} {hint}".strip()
        )
        error.endpoint, error.status, error.attempts = self.endpoint, status, attempts
        return error
