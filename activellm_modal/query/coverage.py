"""What the LLM is shown: typical members of every region of the pool.

The paper shows a uniform random sample in random order, and LLMs mostly pick
from the first instances they read (NOTES.md 1.2, 9). A uniform sample then
makes a position-biased LLM exactly random, and at 32 labels random loses to
plain typicality (k-means on sentence embeddings, the point nearest each
centre). :class:`CoveragePresenter` gives the LLM a stronger prior to refine:

1. embed a seeded subsample of the pool (``subsample`` rows; the embeddings of
   a pool are cached, so later queries cost no encoding);
2. cluster it into as many clusters as texts are shown, and show the member
   nearest each centre (a typical text of each region);
3. order them (``order="coverage"``) so that every prefix covers the pool:
   the shown texts are grouped into ``k`` coarse clusters (``k`` = instances
   asked for) and listed round-robin, the most typical member of each group
   first. An LLM that answers the first ``k`` positions then returns exactly
   one typical text per region; one that reads everything may choose freely.
   ``order="shuffled"`` shows them in random order instead.

Every shown text also carries the mass of the subsample it stands for
(``last_weights_``), which :func:`~activellm_modal.query.diversify.diversify` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from activellm_modal.embeddings.cache import EmbeddingCache

ORDERS = ("coverage", "shuffled")

Render = Callable[[np.ndarray], list[str]]


def local_density(vectors: np.ndarray, knn: int = 5) -> np.ndarray:
    """Typicality of each point: 1 / mean distance to its ``knn`` nearest neighbours.

    A small ``knn`` rewards points that have close neighbours (texts many
    others resemble) rather than points near a cluster's mean, which at 32
    labels are often bland (measured in ``benchmarks/bench_cold_start.py``).

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0]])
    >>> int(np.argmax(local_density(X, knn=2)))
    1
    """
    from sklearn.neighbors import NearestNeighbors

    vectors = np.asarray(vectors, dtype=np.float64)
    n_neighbors = min(knn + 1, len(vectors))
    if n_neighbors < 2:
        return np.ones(len(vectors))
    distances, _ = NearestNeighbors(n_neighbors=n_neighbors).fit(vectors).kneighbors(vectors)
    return 1.0 / (distances[:, 1:].mean(axis=1) + 1e-9)


def nearest_members(
    vectors: np.ndarray,
    labels: np.ndarray,
    centres: np.ndarray,
    density: np.ndarray | None = None,
) -> np.ndarray:
    """Per non-empty cluster, its most typical member.

    Most typical = highest ``density`` when given, else nearest the centre.
    """
    distances = np.linalg.norm(vectors - centres[labels], axis=1)
    score = -distances if density is None else np.asarray(density)
    chosen = []
    for cluster in range(len(centres)):
        members = np.flatnonzero(labels == cluster)
        if members.size:
            chosen.append(int(members[np.argmax(score[members])]))
    return np.asarray(chosen, dtype=np.intp)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def typical_points(
    vectors: np.ndarray,
    n: int,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
    n_init: int = 1,
    density: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` typical points: k-means with ``n`` clusters, the most typical member of each.

    Most typical = highest ``density`` (see :func:`local_density`) when given,
    else the member nearest the centre.

    Returns the chosen indices and the mass (summed weight) of their clusters.
    Fewer than ``n`` come back only when ``vectors`` has fewer distinct points.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [9.9]])
    >>> idx, mass = typical_points(X, 3, np.random.default_rng(0))
    >>> sorted(X[idx].ravel().tolist()), sorted(mass.tolist())
    ([0.1, 5.0, 9.9], [1.0, 2.0, 3.0])
    """
    from sklearn.cluster import KMeans

    vectors = np.asarray(vectors, dtype=np.float64)
    w = np.ones(len(vectors)) if weights is None else np.asarray(weights, dtype=np.float64)
    if n >= len(vectors):
        return np.arange(len(vectors), dtype=np.intp), w.copy()
    model = KMeans(n_clusters=n, n_init=n_init, random_state=_seed(rng))
    labels = model.fit_predict(vectors, sample_weight=w)
    chosen = nearest_members(vectors, labels, model.cluster_centers_, density)
    mass = np.asarray([w[labels == labels[i]].sum() for i in chosen])
    return chosen, mass


def coverage_order(
    vectors: np.ndarray,
    weights: np.ndarray,
    k: int,
    rng: np.random.Generator,
    density: np.ndarray | None = None,
) -> np.ndarray:
    """An order of ``vectors`` whose every prefix of length ``k`` covers them.

    The points are grouped into ``k`` weighted k-means clusters; position
    ``0 .. k-1`` hold the most typical member of each group (highest
    ``density``, else nearest the centre), the next ``k`` the second most,
    and so on (groups in random order each round).

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])
    >>> order = coverage_order(X, np.ones(5), 2, np.random.default_rng(0))
    >>> sorted(X[order[:2]].ravel().tolist())  # one per group first
    [0.1, 5.0]
    """
    from sklearn.cluster import KMeans

    n = len(vectors)
    if k >= n:
        return rng.permutation(n)
    vectors = np.asarray(vectors, dtype=np.float64)
    model = KMeans(n_clusters=k, n_init=1, random_state=_seed(rng))
    labels = model.fit_predict(vectors, sample_weight=weights)
    rank = np.linalg.norm(vectors - model.cluster_centers_[labels], axis=1)
    if density is not None:
        rank = -np.asarray(density)
    queues = [
        list(np.flatnonzero(labels == c)[np.argsort(rank[labels == c], kind="stable")])
        for c in range(k)
    ]
    order: list[int] = []
    while len(order) < n:
        for c in rng.permutation(k):
            if queues[c]:
                order.append(int(queues[c].pop(0)))
    return np.asarray(order, dtype=np.intp)


def present_with_coverage(
    vectors: np.ndarray,
    size: int,
    k: int,
    rng: np.random.Generator,
    order: str = "coverage",
    knn: int | None = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Which of ``vectors`` to show, in order, the mass and density of each.

    ``knn=None`` takes the member nearest each centre instead of the densest.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> shown, mass, _ = present_with_coverage(X, 10, 3, np.random.default_rng(1))
    >>> len(set(shown.tolist())), float(mass.sum())
    (10, 60.0)
    """
    if order not in ORDERS:
        raise ValueError(f"order={order!r} is not one of {ORDERS}.")
    density = None if knn is None else local_density(vectors, knn)
    shown, mass = typical_points(vectors, size, rng, density=density)
    dens = None if density is None else density[shown]
    if order == "shuffled":
        perm = rng.permutation(len(shown))
    else:
        perm = coverage_order(vectors[shown], mass, k, rng, dens)
    return shown[perm], mass[perm], None if dens is None else dens[perm]


class CoveragePresenter:
    """Chooses the texts ActiveLLM shows: typical members of every region of the pool.

    Parameters
    ----------
    embedder : str, Encoder, callable or estimator, optional
        An encoder name (``"mpnet"``, ``"minilm"``, a folder), an
        :class:`~activellm_modal.embeddings.Encoder`, ``embedder(texts) -> (n, dim)``,
        or a transformer with ``transform`` (fitted on first use). Default: the
        package's default encoder (all-mpnet-base-v2, or ``$ACTIVELLM_ENCODER``).
    subsample : int, default=2000
        Pool rows embedded and clustered per query (seeded). Larger covers
        rare regions better and costs more encoding the first time.
    order : {"coverage", "shuffled"}, default="coverage"
        ``"coverage"``: every prefix of ``k`` shown texts covers the pool (one
        typical text per region first), so a position-biased LLM still
        returns a covering set; ``"shuffled"``: random order.
    knn : int or None, default=5
        Typicality = local density over this many nearest neighbours (see
        :func:`local_density`); the densest member of each cluster is shown.
        None shows the member nearest each centre instead.
    n_groups : int, optional
        The coarse groups of the coverage order: the first ``n_groups`` shown
        are one typical text per group. ActiveLLM sets it to ``n_instances``
        each query (:meth:`for_k`); alone, default ``min(32, size)``.
    cache_dir : str or Path, optional
        Keep embeddings on disk (keyed by model and text), so a pool is
        encoded once across queries, runs and processes.

    Attributes
    ----------
    last_weights_ : ndarray
        After :meth:`present`, the share of the subsample each shown text
        stands for, in presentation order.
    last_vectors_ : ndarray
        Their embeddings, in presentation order.
    last_rows_ : ndarray
        The pool rows shown, in presentation order.

    Examples
    --------
    >>> texts = [f"text {i}" for i in range(50)]
    >>> toy = lambda batch: np.array([[int(t[5:]), int(t[5:]) % 7] for t in batch], float)
    >>> presenter = CoveragePresenter(embedder=toy, subsample=40, n_groups=2)
    >>> rows = presenter.present(texts, 8, np.random.default_rng(0))
    >>> len(set(rows.tolist())), presenter.last_weights_.sum().round(3)
    (8, np.float64(1.0))
    """

    def __init__(
        self,
        embedder: Any = None,
        subsample: int = 2000,
        order: str = "coverage",
        knn: int | None = 5,
        n_groups: int | None = None,
        cache_dir: str | None = None,
    ) -> None:
        self.embedder = embedder
        self.subsample = subsample
        self.order = order
        self.knn = knn
        self.n_groups = n_groups
        self.cache_dir = cache_dir

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts`` (cached)."""
        return self._embedding_cache()(texts)

    def _embedding_cache(self) -> EmbeddingCache:
        cache = getattr(self, "_cache", None)
        if cache is None:
            cache = EmbeddingCache(self.embedder, cache_dir=self.cache_dir)
            self._cache = cache
        return cache

    def present(self, pool: Any, size: int, rng: np.random.Generator) -> np.ndarray:
        """Pool rows to show, in presentation order (the ``sampling.Presenter`` protocol).

        Parameters
        ----------
        pool : TextPool or sequence of str
            Has ``len(pool)``; ``pool.texts(rows)`` renders rows (a plain list
            of texts works too).
        size : int
            Texts to show.
        rng : numpy.random.Generator
        """
        render = pool.texts if hasattr(pool, "texts") else (lambda rows: [pool[i] for i in rows])
        k = self.n_groups or min(32, size)
        return self._present(render, len(pool), size, int(k), rng)

    def _present(
        self, render: Render, n_pool: int, size: int, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        if self.order not in ORDERS:
            raise ValueError(f"order={self.order!r} is not one of {ORDERS}.")
        if not isinstance(self.subsample, int | np.integer) or self.subsample < 1:
            raise ValueError(f"subsample must be a positive int, got {self.subsample!r}.")
        n_sub = min(n_pool, max(int(self.subsample), size))
        sub = np.sort(rng.choice(n_pool, size=n_sub, replace=False))
        vectors = self.embed(render(sub))
        shown, mass, density = present_with_coverage(vectors, size, k, rng, self.order, self.knn)
        self.last_density_ = density
        self.last_weights_ = mass / mass.sum()
        self.last_vectors_ = vectors[shown]
        self.last_rows_ = sub[shown]
        return sub[shown]

    def for_k(self, k: int) -> CoveragePresenter:
        """This presenter with ``n_groups=k`` (sharing its embedding cache).

        ActiveLLM calls it per query, so the first ``n_instances`` shown cover the pool.
        """
        if self.n_groups == k:
            return self
        bound = CoveragePresenter(self.embedder, self.subsample, self.order, self.knn, k)
        bound.cache_dir = self.cache_dir
        bound._cache = self._embedding_cache()
        return bound

    def weights_of(self, rows: np.ndarray) -> np.ndarray | None:
        """The mass of the last presentation's ``rows`` (mean mass for rows not in it)."""
        return self._lookup("last_weights_", rows)

    def density_of(self, rows: np.ndarray) -> np.ndarray | None:
        """The density of the last presentation's ``rows`` (None if not computed)."""
        return self._lookup("last_density_", rows)

    def _lookup(self, name: str, rows: np.ndarray) -> np.ndarray | None:
        shown = getattr(self, "last_rows_", None)
        values = getattr(self, name, None)
        if shown is None or values is None:
            return None
        known = dict(zip(shown.tolist(), np.asarray(values).tolist(), strict=True))
        default = float(np.mean(values))
        return np.asarray([known.get(int(r), default) for r in rows])

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)  # holds a model; rebuilt on first use
        return state

    # scikit-learn's clone/get_params read the constructor arguments.
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {
            "embedder": self.embedder,
            "subsample": self.subsample,
            "order": self.order,
            "knn": self.knn,
            "n_groups": self.n_groups,
            "cache_dir": self.cache_dir,
        }

    def set_params(self, **params: Any) -> CoveragePresenter:
        """Set constructor parameters (scikit-learn convention)."""
        for name, value in params.items():
            setattr(self, name, value)
        self.__dict__.pop("_cache", None)
        return self

    def __repr__(self) -> str:
        return (
            f"CoveragePresenter(subsample={self.subsample}, order={self.order!r}"
            + (", embedder=custom" if self.embedder is not None else "")
            + ")"
        )
