"""The one embedding cache: vectors keyed by (encoder, text), in memory and optionally on disk.

Every part embeds through :class:`~activellm_modal.embeddings.Encoder`, whose
``transform`` calls :func:`embed_cached`: a text is encoded once per process
(a dict per encoder key, shared by every instance and clone of that encoder),
and, with a ``cache_dir``, once per machine (shard files keyed by the SHA-1 of
the text). :class:`EmbeddingCache` puts the same cache in front of any other
embedder (a callable or a transformer).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: encoder key -> text -> vector, shared by the whole process.
_MEMORY: dict[str, dict[str, np.ndarray]] = {}
#: (encoder key, folder) -> sha1(text) -> vector, read once per process.
_DISK: dict[tuple[str, str], dict[str, np.ndarray]] = {}


def text_key(text: str) -> str:
    """The on-disk key of a text: SHA-1 of its UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _shard_dir(key: str, cache_dir: str | os.PathLike[str]) -> Path:
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"embeddings-{digest}"


def _disk_entries(key: str, cache_dir: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    folder = _shard_dir(key, cache_dir)
    slot = (key, str(folder.resolve()))
    entries = _DISK.get(slot)
    if entries is None:
        entries = {}
        for shard in sorted(folder.glob("*.npz")) if folder.is_dir() else ():
            try:
                with np.load(shard) as stored:
                    entries.update(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
            except (OSError, ValueError, KeyError):
                continue  # an unreadable shard is recomputed, never trusted
        _DISK[slot] = entries
    return entries


def _write_shard(key: str, cache_dir: str | os.PathLike[str], new: dict[str, np.ndarray]) -> None:
    folder = _shard_dir(key, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "encoder.txt").write_text(key + "\n")
    name = uuid.uuid4().hex
    tmp = folder / f".{name}.tmp.npz"
    np.savez(tmp, keys=np.asarray(list(new)), vectors=np.stack(list(new.values())))
    os.replace(tmp, folder / f"{name}.npz")  # atomic: a reader never sees half a shard


def embed_cached(
    texts: Sequence[str],
    compute: Callable[[list[str]], Any],
    *,
    key: str,
    cache_dir: str | os.PathLike[str] | None = None,
    memory: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The ``(len(texts), dim)`` float32 embeddings of ``texts``, computing only unseen ones.

    Parameters
    ----------
    texts : sequence of str
    compute : callable
        ``compute(list_of_distinct_texts) -> (n, dim)`` for the texts in no cache.
    key : str
        Identifies the encoder (weights and settings): two keys never share vectors.
    cache_dir : path, optional
        Folder of on-disk shards; new vectors are written as one shard per call.
    memory : dict, optional
        The in-memory map to use (default: the process-wide one of ``key``).

    Examples
    --------
    >>> calls = []
    >>> def embed(texts):
    ...     calls.append(len(texts))
    ...     return np.array([[len(t), 1.0] for t in texts])
    >>> mine = {}
    >>> first = embed_cached(["ab", "c", "ab"], embed, key="doc", memory=mine)
    >>> again = embed_cached(["c", "xyz"], embed, key="doc", memory=mine)
    >>> first.shape, again[1].tolist(), calls
    ((3, 2), [3.0, 1.0], [2, 1])
    """
    texts = list(texts)
    if memory is None:
        memory = _MEMORY.setdefault(key, {})
    distinct = list(dict.fromkeys(texts))
    missing = [text for text in distinct if text not in memory]
    unsaved: list[str] = []
    if cache_dir is not None:
        disk = _disk_entries(key, cache_dir)
        still = []
        for text in missing:
            vector = disk.get(text_key(text))
            if vector is None:
                still.append(text)
            else:
                memory[text] = vector
        missing = still
        # Vectors computed earlier in this process without a cache_dir belong on disk too.
        unsaved = [t for t in distinct if t in memory and text_key(t) not in disk]
    if missing:
        vectors = np.asarray(compute(missing), dtype=np.float32)
        if len(vectors) != len(missing):
            raise ValueError(
                f"the embedder returned {len(vectors)} vectors for {len(missing)} texts; "
                "it must return one row per text."
            )
        memory.update(zip(missing, vectors, strict=True))
    if cache_dir is not None and (missing or unsaved):
        new = {text_key(t): memory[t] for t in [*unsaved, *missing]}
        _disk_entries(key, cache_dir).update(new)
        _write_shard(key, cache_dir, new)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([memory[text] for text in texts]).astype(np.float32, copy=False)


def _name_of(embedder: Any) -> str:
    return getattr(embedder, "__qualname__", type(embedder).__qualname__)


class EmbeddingCache:
    """Callable ``texts -> (n, dim) float32`` that encodes each distinct text once.

    A thin front of :func:`embed_cached` (the package's one cache) for any embedder.

    Parameters
    ----------
    embedder : str, Encoder, callable or transformer, optional
        None or a name: an :class:`~activellm_modal.embeddings.Encoder` of that
        name (None: ``"default"``). An ``Encoder`` is used as it is (its cache is
        the process-wide one). Otherwise ``embedder(texts) -> array`` or an object
        with ``transform`` (and ``fit``, called once if it is not fitted); its
        vectors are kept per cache instance, and on disk under its class name.
    cache_dir : str or Path, optional
        Folder for on-disk shards.

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
        self._vectors: dict[str, np.ndarray] = {}

    def _encoder(self) -> Any:
        from activellm_modal.embeddings.encoder import Encoder

        embedder = self.embedder
        if embedder is None or isinstance(embedder, str | os.PathLike):
            embedder = Encoder("default" if embedder is None else embedder)
        if isinstance(embedder, Encoder):
            if self.cache_dir is not None and embedder.cache_dir is None:
                embedder = embedder.with_cache_dir(self.cache_dir)
            return embedder
        return None

    def _encode(self, texts: list[str]) -> np.ndarray:
        embedder = self.embedder
        if hasattr(embedder, "transform"):
            if not _is_fitted(embedder):
                embedder.fit(texts)
            return np.asarray(embedder.transform(texts), dtype=np.float32)
        return np.asarray(embedder(texts), dtype=np.float32)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """The embeddings of ``texts``, in order."""
        encoder = self._encoder()
        if encoder is not None:
            return encoder.transform(list(texts))
        return embed_cached(
            texts,
            self._encode,
            key=f"custom:{_name_of(self.embedder)}",
            cache_dir=self.cache_dir,
            memory=self._vectors,
        )

    def __len__(self) -> int:
        encoder = self._encoder()
        if encoder is not None:
            return len(_MEMORY.get(encoder.cache_key(), {}))
        return len(self._vectors)


def _is_fitted(estimator: Any) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True
