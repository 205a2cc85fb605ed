"""Sentence embeddings computed once per text and shared by every classifier fit.

A benchmark refits its classifier every round of every run; re-encoding the
pool each time would cost far more than the fits. :class:`EmbeddingTable`
encodes each distinct text once (and keeps the result on disk), and
:class:`CachedEmbedder` is the ``Pipeline`` step that looks texts up in it, so
the learner still works on raw texts, as ActiveLLM and modAL's ``query`` need.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class EmbeddingTable:
    """Read-only map from text to its embedding row.

    Parameters
    ----------
    texts : iterable of str
        Distinct texts, in the row order of ``vectors``.
    vectors : ndarray of shape (n_texts, dim)
    """

    def __init__(self, texts: Iterable[str], vectors: np.ndarray) -> None:
        self.texts = list(texts)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self._rows = {text: row for row, text in enumerate(self.texts)}
        if len(self._rows) != len(self.vectors):
            raise ValueError("EmbeddingTable needs one vector per distinct text.")

    @property
    def dim(self) -> int:
        """Embedding width."""
        return int(self.vectors.shape[1])

    def lookup(self, X: Any) -> np.ndarray:
        """The embeddings of the texts ``X`` (list, 1-D array or Series)."""
        try:
            rows = [self._rows[text] for text in _as_list(X)]
        except KeyError as error:
            raise KeyError(
                f"text {str(error)[:60]} is not in the embedding table; build the table "
                "from every text the learner will see (pool and test split)."
            ) from None
        return self.vectors[rows]

    def __deepcopy__(self, memo: dict[int, Any]) -> EmbeddingTable:
        # sklearn.clone deep-copies non-estimator parameters; the table is read-only
        # and large, so every clone shares it.
        return self

    def __getstate__(self) -> dict[str, Any]:
        # The lookup dict is rebuilt on arrival: it pickles slower than it builds.
        return {"texts": self.texts, "vectors": self.vectors}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["texts"], state["vectors"])  # type: ignore[misc]

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        model: str,
        *,
        max_length: int = 64,
        cache_dir: str | Path | None = None,
        show_progress: bool = True,
    ) -> EmbeddingTable:
        """Encode the distinct ``texts`` with :class:`SentenceEmbedder`, reusing a disk cache.

        The cache file is named by a hash of the model, ``max_length`` and the texts,
        so a changed pool or model never reads stale vectors.
        """
        from activellm_modal.embeddings import SentenceEmbedder

        unique = sorted(set(_as_list(texts)))
        digest = hashlib.sha1(f"{model}\x00{max_length}".encode())
        for text in unique:
            digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
        path = Path(cache_dir) / f"{digest.hexdigest()[:16]}.npy" if cache_dir else None
        if path is not None and path.is_file():
            return cls(unique, np.load(path))
        embedder = SentenceEmbedder(model, max_length=max_length).fit(["."])
        chunks = []
        chunk = 2048
        from activellm_modal.experiments.runner import progress

        with progress(len(unique), "embedding texts", not show_progress, "text") as bar:
            for start in range(0, len(unique), chunk):
                part = unique[start : start + chunk]
                chunks.append(embedder.transform(part))
                bar.update(len(part))
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, 1), dtype=np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        return cls(unique, vectors)


class CachedEmbedder(TransformerMixin, BaseEstimator):
    """Pipeline step: texts to their precomputed embeddings (numbers pass through).

    Parameters
    ----------
    table : EmbeddingTable
        Shared by every clone of the pipeline (it is not copied).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> table = EmbeddingTable(["good", "bad"], np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> clf = make_pipeline(CachedEmbedder(table), LogisticRegression())
    >>> clf.fit(["good", "bad"], [1, 0]).predict(["bad"]).tolist()
    [0]
    """

    def __init__(self, table: EmbeddingTable | None = None) -> None:
        self.table = table

    def fit(self, X: Any, y: Any = None) -> CachedEmbedder:
        """Nothing to learn."""
        if self.table is None:
            raise ValueError("CachedEmbedder needs table=EmbeddingTable(...).")
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Embeddings of the texts in ``X``; a numeric 2-D array is returned as it is."""
        array = np.asarray(X) if not isinstance(X, list) else None
        if array is not None and array.ndim == 2 and array.dtype.kind in "fiu":
            # modAL's ranked batch hands over embeddings it already looked up.
            return array.astype(np.float32, copy=False)
        return self.table.lookup(X)  # type: ignore[union-attr]


def _as_list(X: Any) -> list[str]:
    if hasattr(X, "tolist"):
        X = X.tolist()
    if X and isinstance(X[0], list):  # a 2-D object array of one text column
        X = [row[0] for row in X]
    return list(X)
