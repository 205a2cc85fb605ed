"""Which strategy picks the texts: one registry, :func:`build_strategy`.

``default``
    the library's default pipeline: ``ActiveLLM()`` (preset
    :data:`LIBRARY_DEFAULT`, built by :func:`~activellm_modal.presets.make_strategy`
    like every preset) for round 1, then modAL's uncertainty sampling. Without
    an LLM endpoint the LLM's part is left out: embedding typicality (k-means on
    frozen embeddings of the default encoder, the text nearest each centre) picks round 1 (the
    benchmark's best offline pairing: area under the curve 0.714 vs random 0.696).
``paper``
    the paper's ActiveLLM (preset ``"paper"``) every round, on a live endpoint
    (``--base-url``/``--model``), or offline the paper's recorded GPT-4 answers
    replayed where the pool holds the texts they were given (random once they
    are used up, and the database says so).
``hybrid``
    :class:`~activellm_modal.HybridStrategy`: that paper ActiveLLM for round 1,
    then uncertainty sampling.
``random``
    uniform, seeded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from activellm_modal.exceptions import LabellingError

#: The names ``--strategy`` accepts.
STRATEGIES = ("default", "paper", "hybrid", "random")

#: The preset ``ActiveLLM()`` defaults to: the page's ``default`` strategy uses it.
LIBRARY_DEFAULT = "coverage"


@dataclass
class StrategyContext:
    """What a strategy may need; filled by the session.

    ``api_key`` is never a field: ActiveLLM reads ``OPENAI_API_KEY`` itself,
    so the key never passes through the labelling code, its database or its page.
    """

    seed: int = 0
    embed: Callable[[Any], np.ndarray] | None = None
    labels: Sequence[str] = ()
    base_url: str | None = None
    model: str | None = None
    recordings: list[Any] = field(default_factory=list)
    cache_dir: str | None = None


def build_strategy(name: str, context: StrategyContext) -> Callable[..., Any]:
    """A fresh modAL query strategy for ``--strategy name``.

    Examples
    --------
    >>> strategy = build_strategy("random", StrategyContext(seed=0))
    >>> strategy(None, ["a", "b", "c", "d"], n_instances=2)[0].tolist()
    [2, 0]
    """
    from activellm_modal.strategies.hybrid import HybridStrategy, uncertainty_sampling

    if name == "default":
        return HybridStrategy(
            cold_start=_default_cold_start(context), then=uncertainty_sampling, switch_after=1
        )
    if name == "random":
        return RandomStrategy(random_state=context.seed)
    if name == "paper":
        return _activellm(context)
    if name == "hybrid":
        return HybridStrategy(
            cold_start=_activellm(context), then=uncertainty_sampling, switch_after=1
        )
    raise LabellingError(f"unknown strategy {name!r}: use one of {', '.join(STRATEGIES)}.")


def needs_model(name: str) -> bool:
    """Whether the strategy's later rounds rank the pool with the trained classifier."""
    return name in ("default", "hybrid")


def _default_cold_start(context: StrategyContext) -> Callable[..., Any]:
    """The library's default ActiveLLM on the endpoint; offline, embedding typicality."""
    if context.base_url:
        return _preset(LIBRARY_DEFAULT, context)
    from activellm_modal.experiments.kmeans import KMeansColdStart

    if context.embed is None:
        raise LabellingError("the default strategy needs the sentence embeddings.")
    return KMeansColdStart(context.embed, random_state=context.seed)


def _preset(preset: str, context: StrategyContext) -> Callable[..., Any]:
    """ActiveLLM preset ``preset`` on the context's endpoint, through the library's presets."""
    from activellm_modal.presets import make_strategy

    return make_strategy(
        preset,
        model=context.model or "gpt-4o",
        base_url=context.base_url,
        labels=list(context.labels) or None,
        cache_dir=context.cache_dir,
        random_state=context.seed,
    )


def _activellm(context: StrategyContext) -> Callable[..., Any]:
    if context.base_url:
        return _preset("paper", context)
    if not context.recordings:
        raise LabellingError(
            "the paper and hybrid strategies need an LLM: pass --base-url URL --model NAME "
            "(any OpenAI-compatible endpoint; the key comes from OPENAI_API_KEY), or label "
            "the shared sst2 task, whose recorded GPT-4 answers are replayed offline."
        )
    return RecordedAnswers(context.recordings, random_state=context.seed)


def describe(strategy: Any) -> str:
    """Which part of ``strategy`` answered its last query, for the database and the page."""
    history = getattr(strategy, "history_", None)
    if history and hasattr(history[-1], "reason"):  # HybridStrategy's StepRecord
        record = history[-1]
        inner = getattr(strategy, record.strategy, None)
        detail = getattr(inner, "detail_", None) if record.strategy == "cold_start" else None
        return f"{record.strategy}: {detail or record.name}"
    detail = getattr(strategy, "detail_", None)
    if detail:
        return detail
    model = getattr(strategy, "model", None)
    return f"{type(strategy).__name__}({model})" if model else type(strategy).__name__


def paper_recordings(paper_dir: str | Path | None, task: str | None) -> list[Any]:
    """The paper's recorded GPT-4 answers for ``task`` (five pool draws for sst2), if any."""
    if paper_dir is None or task is None or not (Path(paper_dir) / "answers").is_dir():
        return []
    from activellm_modal.llm.replay import load_recordings

    return [
        recording
        for recording in load_recordings(paper_dir, task=task, llm="gpt-4")
        if recording.source.startswith(f"answers/{task}/10/")  # the main runs, not budget studies
    ]


class RandomStrategy:
    """modAL strategy: ``n_instances`` rows uniformly at random, one seeded stream per query.

    Parameters
    ----------
    random_state : int, default=0
    """

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def __call__(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Select ``n_instances`` distinct rows of ``X_pool``."""
        n_queries = getattr(self, "n_queries_", 0)
        rng = np.random.default_rng([int(self.random_state), n_queries])
        indices = rng.permutation(len(X_pool))[: min(n_instances, len(X_pool))]
        self.n_queries_ = n_queries + 1
        self.detail_ = "random"
        return indices, np.zeros(len(indices))

    def state_dict(self) -> dict[str, Any]:
        """Queries answered so far (the next query's draw depends on it)."""
        return {"n_queries": getattr(self, "n_queries_", 0)}

    def load_state_dict(self, state: dict[str, Any]) -> RandomStrategy:
        """Restore :meth:`state_dict`; returns ``self``."""
        self.n_queries_ = int(state.get("n_queries", 0))
        return self


class RecordedAnswers(RandomStrategy):
    """ActiveLLM answered offline by the paper's recorded answers, while any applies.

    A recording applies when every text it showed is still unlabelled in the
    pool: ActiveLLM then presents exactly those texts, in the recorded order, and
    the :class:`~activellm_modal.llm.replay.ReplayBackend` returns the recorded
    answer. Each recording answers once; after that the picks are random, and
    ``detail_`` says so (it goes into the database with every pick).

    Parameters
    ----------
    recordings : list of Recording
    random_state : int, default=0
    """

    def __init__(self, recordings: Sequence[Any], random_state: int = 0) -> None:
        self.recordings = recordings
        self.random_state = random_state

    def __call__(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Replay the first unused recording that fits ``X_pool``, else pick at random."""
        from activellm_modal.llm.replay import ReplayBackend, recorded_sampler
        from activellm_modal.parts import UniformPresenter
        from activellm_modal.strategies.activellm import ActiveLLM

        used = list(getattr(self, "used_", []))
        where: dict[str, int] = {}
        for position, text in enumerate(X_pool):
            where.setdefault(" ".join(str(text).split()), position)
        for recording in self.recordings:
            if recording.source in used:
                continue
            positions = [where.get(" ".join(text.split())) for text in recording.texts]
            if None in positions:
                continue
            llm = ActiveLLM(
                backend=ReplayBackend([recording]),
                presenter=UniformPresenter(
                    len(positions), skip_duplicates=False, sampler=recorded_sampler(positions)
                ),
                random_state=recording.run,
            )
            indices, scores = llm(learner, X_pool, n_instances=n_instances)
            self.used_ = [*used, recording.source]
            self.n_queries_ = getattr(self, "n_queries_", 0) + 1
            self.detail_ = f"ActiveLLM, {recording.llm} answer replayed ({recording.source})"
            return indices, scores
        indices, scores = super().__call__(learner, X_pool, n_instances)
        self.used_ = used
        self.detail_ = "random (no recorded LLM answer fits the pool any more)"
        return indices, scores

    def state_dict(self) -> dict[str, Any]:
        """Queries answered and recordings used."""
        return {**super().state_dict(), "used": list(getattr(self, "used_", []))}

    def load_state_dict(self, state: dict[str, Any]) -> RecordedAnswers:
        """Restore :meth:`state_dict`; returns ``self``."""
        super().load_state_dict(state)
        self.used_ = list(state.get("used", []))
        return self
