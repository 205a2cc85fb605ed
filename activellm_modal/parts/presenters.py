"""Presenter parts: which texts of the pool the LLM is shown, and how each is cut."""

from __future__ import annotations

from collections.abc import Collection
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods, Interval

from activellm_modal.query.coverage import CoveragePresenter
from activellm_modal.query.pool import TextPool
from activellm_modal.query.presentation import Shown, show_candidates, show_sample
from activellm_modal.query.sampling import Presenter as PresentProtocol
from activellm_modal.query.sampling import Sampler, duplicate_key, random_sampler

__all__ = ["Presenter", "RegionPresenter", "UniformPresenter"]


class Presenter(BaseEstimator):
    """Base of the presenter parts: a sample of the pool, or the given candidates.

    Subclasses say how the sample is drawn (:meth:`sampler`); what they share
    is how many texts are shown, how each is cut and whether near-duplicates
    are shown once.
    """

    #: Whether the order shown already covers the pool in its first ``k`` texts (so
    #: a first-k answer is a covering set, not a random one).
    covering: ClassVar[bool] = False

    _parameter_constraints: ClassVar[dict] = {
        "n_presented": [Interval(Integral, 1, None, closed="left")],
        "max_chars": [Interval(Integral, 20, None, closed="left"), None],
        "skip_duplicates": ["boolean"],
    }

    def __init__(
        self, n_presented: int = 200, max_chars: int | None = 2000, skip_duplicates: bool = True
    ) -> None:
        self.n_presented = n_presented
        self.max_chars = max_chars
        self.skip_duplicates = skip_duplicates

    def draws(self, n_instances: int) -> Sampler | PresentProtocol:
        """What draws the rows shown when ``n_instances`` are asked for."""
        raise NotImplementedError

    def show(
        self,
        pool: TextPool,
        n_instances: int,
        rng: np.random.Generator,
        exclude: Collection[str],
        candidates: np.ndarray | None = None,
        notes: list[str] | None = None,
    ) -> Shown:
        """The texts shown for one query: a sample of ``pool``, or all ``candidates``.

        At least ``n_instances`` are sampled (more when ``n_presented`` is
        larger); texts whose key is in ``exclude`` (already labelled) are
        skipped, and each shown text is cut to ``max_chars``.
        """
        if candidates is not None:
            return show_candidates(
                pool,
                candidates,
                notes,
                rng,
                skip_duplicates=self.skip_duplicates,
                exclude=exclude,
                max_chars=self.max_chars,
            )
        return show_sample(
            pool,
            max(self.n_presented, n_instances),
            rng,
            sampler=self.draws(n_instances),
            skip_duplicates=self.skip_duplicates,
            exclude=exclude,
            max_chars=self.max_chars,
        )

    def key(self, text: str) -> str:
        """The identity of a text: near-duplicates share one with ``skip_duplicates``."""
        return duplicate_key(text) if self.skip_duplicates else text


class UniformPresenter(Presenter):
    """A seeded uniform sample in random order (the paper's presentation).

    Parameters
    ----------
    n_presented : int, default=200
        Instances shown per query (the paper's best). Raised to
        ``n_instances`` when more are asked for.
    max_chars : int or None, default=2000
        Each presented (and recapped) text is cut to this many characters,
        marked ``[...]`` (``last_query_.n_truncated`` counts them). None: no limit.
    skip_duplicates : bool, default=True
        Show a text only once (ignoring case, punctuation, spacing, URLs).
    sampler : callable or Presenter protocol, optional
        ``sampler(n_pool, size, rng) -> rows`` choosing what is shown, in
        order (e.g. :func:`~activellm_modal.llm.replay.recorded_sampler`); or
        a text-aware object with ``present(pool, size, rng) -> rows``.
        Default: uniform without replacement, random order.

    Examples
    --------
    >>> from activellm_modal.query.pool import TextPool
    >>> shown = UniformPresenter(n_presented=3).show(
    ...     TextPool(["a", "b", "c", "d"]), 1, np.random.default_rng(0), set()
    ... )
    >>> len(shown.rows)
    3
    """

    _parameter_constraints: ClassVar[dict] = {
        **Presenter._parameter_constraints,
        "sampler": [callable, HasMethods(["present"]), None],
    }

    def __init__(
        self,
        n_presented: int = 200,
        max_chars: int | None = 2000,
        skip_duplicates: bool = True,
        sampler: Sampler | PresentProtocol | None = None,
    ) -> None:
        super().__init__(n_presented, max_chars, skip_duplicates)
        self.sampler = sampler

    def draws(self, n_instances: int) -> Sampler | PresentProtocol:
        """The ``sampler``, or uniform sampling without replacement."""
        return self.sampler if self.sampler is not None else random_sampler


class RegionPresenter(Presenter):
    """Typical texts of every region of the pool, in an order whose first ``k`` cover it.

    k-means on sentence embeddings of a seeded subsample, the densest member
    of each cluster shown, ordered so that the first ``n_instances`` shown
    already cover the pool (see :mod:`activellm_modal.query.coverage`). The
    measured default (README, "Cold-start selection").

    Parameters
    ----------
    n_presented, max_chars, skip_duplicates
        As for :class:`UniformPresenter`.
    regions : CoveragePresenter, optional
        The :class:`~activellm_modal.query.coverage.CoveragePresenter` that
        embeds, clusters and orders (pass one to choose the embedder,
        subsample or order). Default: one with the default embedder, built
        once and kept, so a pool is embedded once per process.

    Examples
    --------
    >>> from activellm_modal.query.coverage import CoveragePresenter
    >>> toy = lambda texts: np.array([[len(t), t.count("a")] for t in texts], float)
    >>> presenter = RegionPresenter(n_presented=3, regions=CoveragePresenter(embedder=toy))
    >>> presenter.set_params(regions__subsample=50).regions.subsample
    50
    """

    covering = True

    _parameter_constraints: ClassVar[dict] = {
        **Presenter._parameter_constraints,
        "regions": [CoveragePresenter, None],
    }

    def __init__(
        self,
        n_presented: int = 200,
        max_chars: int | None = 2000,
        skip_duplicates: bool = True,
        regions: CoveragePresenter | None = None,
    ) -> None:
        super().__init__(n_presented, max_chars, skip_duplicates)
        self.regions = regions

    def coverage(self) -> CoveragePresenter:
        """The CoveragePresenter in use (``regions``, or the default built once)."""
        if self.regions is not None:
            return self.regions
        built = self.__dict__.get("_default_regions")
        if built is None:
            built = self._default_regions = CoveragePresenter(cache_dir=None)
        return built

    def draws(self, n_instances: int) -> Sampler | PresentProtocol:
        """The coverage presenter bound to ``n_instances`` groups (sharing its cache)."""
        return self.coverage().for_k(n_instances)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_default_regions", None)  # holds a model; rebuilt on first use
        return state
