"""LLM backends: one interface (:class:`LLMBackend`), several implementations."""

from activellm_modal.llm.base import Completion, LLMBackend, LLMRequest
from activellm_modal.llm.cache import AnswerCache, CachedBackend
from activellm_modal.llm.llamacpp import LlamaCppServer, find_smollm2_gguf
from activellm_modal.llm.openai_backend import OpenAIBackend
from activellm_modal.llm.replay import Recording, ReplayBackend, load_recordings, recorded_sampler

__all__ = [
    "AnswerCache",
    "CachedBackend",
    "Completion",
    "LLMBackend",
    "LLMRequest",
    "LlamaCppServer",
    "OpenAIBackend",
    "Recording",
    "ReplayBackend",
    "find_smollm2_gguf",
    "load_recordings",
    "recorded_sampler",
]
