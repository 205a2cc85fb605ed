"""A frozen snapshot of embeddings, shared by every classifier fit of a benchmark.

A benchmark refits its classifier every round of every run, in worker
processes that should never load an encoder. :class:`EmbeddingTable` holds the
vectors of every text the workers will see (encoded once through the package's
one cache, :class:`~activellm_modal.embeddings.Encoder`), and
:class:`CachedEmbedder` is the ``Pipeline`` step that looks texts up in it, so
the learner still works on raw texts, as ActiveLLM and modAL's ``query`` need.
"""

from __future__ import annotations

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
        model: Any = "default",
        *,
        max_length: int = 64,
        cache_dir: str | Path | None = None,
        show_progress: bool = True,
    ) -> EmbeddingTable:
        """The distinct ``texts`` encoded by :class:`~activellm_modal.embeddings.Encoder`.

        ``model`` is an encoder name or folder (``"default"``, ``"mpnet"``,
        ``"minilm"``, a path) or an ``Encoder``. The vectors come from the
        package's one embedding cache (on disk in ``cache_dir``), so a rerun, or
        another part that read the same texts with the same encoder, encodes nothing.
        """
        from activellm_modal.embeddings import Encoder

        unique = sorted(set(_as_list(texts)))
        if isinstance(model, Encoder):
            encoder = model.with_cache_dir(cache_dir if cache_dir is not None else model.cache_dir)
        else:
            encoder = Encoder(model, max_length=max_length, cache_dir=cache_dir)
        encoder.set_params(show_progress="auto" if show_progress else False)
        vectors = encoder.transform(unique) if unique else np.zeros((0, 1), dtype=np.float32)
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
