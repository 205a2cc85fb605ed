"""Embedding k-means: a cold-start baseline that needs neither labels nor an LLM.

It clusters the pool's sentence embeddings into as many clusters as instances
are wanted and takes the instance nearest each centroid, so the first labels
cover the pool's regions. A modAL query strategy like ActiveLLM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class KMeansColdStart:
    """modAL strategy: the pool instance nearest each of ``n_instances`` k-means centroids.

    Parameters
    ----------
    embed : callable
        ``embed(X_pool) -> (n, dim)`` array, e.g. ``EmbeddingTable.lookup``.
    random_state : int, optional
        Seeds k-means.
    n_init : int, default=3
        k-means restarts (the best inertia wins).

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1], [9.9], [10.0]])
    >>> idx, _ = KMeansColdStart(lambda X: X, random_state=0)(None, X, n_instances=3)
    >>> sorted(X[idx].ravel().tolist())
    [0.0, 5.0, 9.9]
    """

    def __init__(
        self, embed: Callable[[Any], np.ndarray], random_state: int | None = None, n_init: int = 3
    ) -> None:
        self.embed = embed
        self.random_state = random_state
        self.n_init = n_init

    def __call__(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Select ``n_instances`` rows of ``X_pool``; ``learner`` is not consulted."""
        from sklearn.cluster import KMeans

        vectors = np.asarray(self.embed(X_pool), dtype=np.float64)
        n = min(n_instances, len(vectors))
        model = KMeans(n_clusters=n, n_init=self.n_init, random_state=self.random_state)
        labels = model.fit_predict(vectors)
        distances = np.linalg.norm(vectors - model.cluster_centers_[labels], axis=1)
        chosen = []
        for cluster in range(n):
            members = np.flatnonzero(labels == cluster)
            if members.size:
                chosen.append(int(members[np.argmin(distances[members])]))
        if len(chosen) < n:
            # Duplicate points can leave a cluster empty; fill with the nearest unchosen.
            taken = set(chosen)
            rest = [int(i) for i in np.argsort(distances) if int(i) not in taken]
            chosen += rest[: n - len(chosen)]
        indices = np.asarray(chosen[:n], dtype=np.intp)
        return indices, -distances[indices]
