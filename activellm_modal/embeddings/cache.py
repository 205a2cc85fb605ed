"""Sentence embeddings computed once per text, in memory and optionally on disk.

The coverage presenter embeds a subsample of the pool at every query; with a
cache, the second query of a loop (and a rerun) encodes only texts it has not
seen. Vectors are keyed by a hash of the embedder's name and the text, so two
models never share entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_DEFAULT: dict[str, Any] = {}


def _default_embedder() -> Any:
    """The offline MiniLM, loaded once per process (every default strategy shares it)."""
    if "model" not in _DEFAULT:
        from activellm_modal.embeddings import SentenceEmbedder, default_model_path

        _DEFAULT["model"] = SentenceEmbedder(default_model_path(), max_length=128).fit(["."])
    return _DEFAULT["model"]


#: Vectors of the default embedder, shared by every cache without a cache_dir.
_SHARED_VECTORS: dict[str, np.ndarray] = {}


def _name_of(embedder: Any) -> str:
    if embedder is None:
        return "minilm-default-128"
    name = getattr(embedder, "model_name", None)
    if name is not None:
        return f"{type(embedder).__name__}:{name}:{getattr(embedder, 'max_length', '')}"
    return getattr(embedder, "__qualname__", type(embedder).__qualname__)


class EmbeddingCache:
    """Callable ``texts -> (n, dim) float32`` that encodes each distinct text once.

    Parameters
    ----------
    embedder : callable or transformer, optional
        ``embedder(texts) -> array``, or an object with ``transform`` (and
        ``fit``, called once if it is not fitted). Default: the offline
        all-MiniLM-L6-v2 (:class:`~activellm_modal.embeddings.SentenceEmbedder`).
    cache_dir : str or Path, optional
        Folder for a ``.npz`` file per embedder; new vectors are added after
        each call that encoded something.

    Examples
    --------
    >>> calls = []
    >>> def embed(texts):
    ...     calls.append(len(texts))
    ...     return np.array([[len(t), 1.0] for t in texts])
    >>> cache = EmbeddingCache(embed)
    >>> cache(["ab", "c"]).shape, cache(["c", "ab", "xyz"])[2].tolist(), calls
    ((2, 2), [3.0, 1.0], [2, 1])
    """

    def __init__(self, embedder: Any = None, cache_dir: str | Path | None = None) -> None:
        self.embedder = embedder
        self.cache_dir = cache_dir
        # The default model's vectors are the same everywhere: share them in the process.
        shared = embedder is None and cache_dir is None
        self._vectors: dict[str, np.ndarray] = _SHARED_VECTORS if shared else {}
        self._loaded = False

    def _key(self, text: str) -> str:
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()

    def _path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha1(_name_of(self.embedder).encode()).hexdigest()[:16]
        return Path(self.cache_dir) / f"embeddings-{digest}.npz"

    def _load(self) -> None:
        self._loaded = True
        path = self._path()
        if path is not None and path.is_file():
            with np.load(path) as stored:
                keys, vectors = stored["keys"], stored["vectors"]
            self._vectors.update(zip(keys.tolist(), vectors, strict=True))

    def _save(self) -> None:
        path = self._path()
        if path is None or not self._vectors:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.asarray(list(self._vectors))
        vectors = np.stack(list(self._vectors.values()))
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(path)  # atomic: a reader never sees half a file

    def _encode(self, texts: list[str]) -> np.ndarray:
        embedder = self.embedder
        if embedder is None:
            embedder = _default_embedder()
        if hasattr(embedder, "transform"):
            if not _is_fitted(embedder):
                embedder.fit(texts)
            return np.asarray(embedder.transform(texts), dtype=np.float32)
        return np.asarray(embedder(texts), dtype=np.float32)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """The embeddings of ``texts``, in order."""
        if not self._loaded:
            self._load()
        keys = [self._key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._vectors:
                missing.setdefault(key, text)
        if missing:
            vectors = self._encode(list(missing.values()))
            if len(vectors) != len(missing):
                raise ValueError(
                    f"the embedder returned {len(vectors)} vectors for {len(missing)} texts; "
                    "it must return one row per text."
                )
            self._vectors.update(zip(missing, vectors, strict=True))
            self._save()
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32)

    def __len__(self) -> int:
        return len(self._vectors)


def _is_fitted(estimator: Any) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True
