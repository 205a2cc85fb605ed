"""The one interface every LLM backend implements.

The strategy never imports ``openai`` or ``transformers``: it hands a
:class:`LLMRequest` to any object with a ``complete`` method and gets a
:class:`Completion` back, so a new backend is one new file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class LLMRequest:
    """What the strategy asks of a backend.

    Attributes
    ----------
    messages : list of dict
        Chat messages (``role``/``content``), system message first.
    instances : tuple of str
        The presented texts, position ``p`` first at index ``p``. A backend that
        answers from recordings matches on these, not on the prompt wording.
    k : int
        How many positions are asked for.
    response_format : dict, optional
        A JSON-schema ``response_format`` for endpoints that enforce one.
    """

    messages: list[dict[str, str]]
    instances: tuple[str, ...] = ()
    k: int = 0
    response_format: dict[str, Any] | None = None


@dataclass(frozen=True)
class Completion:
    """A backend's answer and what it cost.

    Attributes
    ----------
    text : str
        The raw answer.
    prompt_tokens, completion_tokens : int
        Token usage as reported by the backend (0 where unknown).
    model : str
        The model that answered, as the backend names it.
    cached : bool
        True when the answer came from a cache or a recording, not a live call.
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class LLMBackend(Protocol):
    """Anything that answers an :class:`LLMRequest` with a :class:`Completion`."""

    def complete(self, request: LLMRequest) -> Completion:
        """Send ``request`` once (retries on transient errors allowed) and return the answer."""
        ...
