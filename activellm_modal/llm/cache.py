"""An on-disk answer cache, so that reruns are free and reproducible.

Entries are keyed by the model and the exact request (messages and response
format), never by anything secret, and hold only the answer and its token
counts. Writes go to a temporary file that is renamed into place, so a crash or
two processes writing at once never leave a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from activellm_modal.llm.base import Completion, LLMBackend, LLMRequest

_FORMAT = 1


class AnswerCache:
    """A directory of cached completions.

    Parameters
    ----------
    directory : str or Path
        Created on first write.

    Examples
    --------
    >>> import tempfile
    >>> cache = AnswerCache(tempfile.mkdtemp())
    >>> key = cache.key("gpt-4o", LLMRequest(messages=[{"role": "user", "content": "hi"}]))
    >>> cache.get(key) is None
    True
    >>> cache.put(key, Completion("0, 1", prompt_tokens=5))
    >>> cache.get(key).text, cache.get(key).cached
    ('0, 1', True)
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    @staticmethod
    def key(model: str, request: LLMRequest) -> str:
        """A hash of everything that determines the answer."""
        payload = json.dumps(
            {
                "format": _FORMAT,
                "model": model,
                "messages": request.messages,
                "response_format": request.response_format,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        """The cached completion, or None (also for an unreadable entry)."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("format") != _FORMAT:
            return None
        fields = {k: v for k, v in data.items() if k in Completion.__dataclass_fields__}
        return Completion(**{**fields, "cached": True})

    def put(self, key: str, completion: Completion) -> None:
        """Store ``completion`` atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {"format": _FORMAT, **asdict(completion)}
        data.pop("cached")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class CachedBackend:
    """Wraps a backend so that a request already answered is not sent again.

    Parameters
    ----------
    backend : LLMBackend
        The backend that answers cache misses.
    cache : AnswerCache
        Where answers are kept.
    model : str, optional
        The name under which answers are keyed; default ``backend.model``.
    """

    def __init__(self, backend: LLMBackend, cache: AnswerCache, model: str | None = None) -> None:
        self.backend = backend
        self.cache = cache
        self.model = model or str(getattr(backend, "model", type(backend).__name__))

    def complete(self, request: LLMRequest) -> Completion:
        """The cached answer, or the backend's (which is then cached)."""
        key = self.cache.key(self.model, request)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        completion = self.backend.complete(request)
        self.cache.put(key, completion)
        return completion
