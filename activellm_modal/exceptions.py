"""Every error the package raises, in one place.

Each message names the cause and the fix. The classes also derive from the
built-in exception a caller would expect (``ValueError``, ``TypeError``,
``RuntimeError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class ActiveLLMError(Exception):
    """Base class of all errors raised by activellm-modal."""


class EmptyPoolError(ActiveLLMError, ValueError):
    """The unlabelled pool holds no instance, so there is nothing to select."""


class PoolTooSmallError(ActiveLLMError, ValueError):
    """More instances were requested than the pool holds."""


class InvalidPoolError(ActiveLLMError, TypeError):
    """The pool (or training input) is not text in a supported container."""


class LLMEndpointError(ActiveLLMError, RuntimeError):
    """The LLM endpoint failed after every retry (HTTP error, timeout, bad response)."""


class LlamaCppError(ActiveLLMError, RuntimeError):
    """The llama.cpp server could not be started or did not become ready."""


class LlamaCppNotInstalled(LlamaCppError, ImportError):
    """``xllamacpp`` or the model file is not installed; the message names the pip line."""


class ReplayMissError(ActiveLLMError, LookupError):
    """A replay backend holds no recorded answer for the presented instances."""


class SelectionWarning(UserWarning):
    """The LLM's answer needed repair: positions were filled in, or it looked degenerate."""


class LabellingError(ActiveLLMError, ValueError):
    """The labelling page cannot start: bad data, bad labels, or a database that does not fit."""


class LabelConflictError(ActiveLLMError, RuntimeError):
    """A label was posted for an instance that is already labelled (e.g. from another tab)."""


class SingleClassWarning(UserWarning):
    """A classifier was fitted on labels of one class only and predicts that class.

    An active-learning loop's first batch can miss a class; the fit then succeeds,
    warns, and the classifier predicts the one class it has seen until a later fit
    sees a second one.
    """
