"""LLM backends: one interface (:class:`LLMBackend`), several implementations."""

from activellm_modal.llm.base import Completion, LLMBackend, LLMRequest
from activellm_modal.llm.cache import AnswerCache, CachedBackend
from activellm_modal.llm.openai_backend import OpenAIBackend

__all__ = [
    "AnswerCache",
    "CachedBackend",
    "Completion",
    "LLMBackend",
    "LLMRequest",
    "OpenAIBackend",
]
