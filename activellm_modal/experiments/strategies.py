"""The benchmark's arms: how the first batch is chosen, and how later ones are.

Uncertainty, margin, entropy and ranked batch need a trained model, so they
start from a random seed set (the cold start ActiveLLM removes).

* ``activellm``: ActiveLLM in every round it can answer. A live endpoint
  answers every round; a replayed recording answers round 1 only (the paper
  recorded one 32-label query per run), so later rounds are random.
* ``hybrid``: :class:`~activellm_modal.strategies.hybrid.HybridStrategy`, ActiveLLM's
  cold start then uncertainty sampling (the paper's cold-start use, NOTES.md 4).
* ``kmeans``: the same hand-over with embedding k-means as the cold start, the
  baseline that needs no LLM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Every arm, in table order.
STRATEGIES = (
    "random",
    "uncertainty",
    "margin",
    "entropy",
    "ranked-batch",
    "kmeans",
    "activellm",
    "hybrid",
)

Strategy = Callable[..., tuple[np.ndarray, Any]]


def available_strategies() -> list[str]:
    """Every arm the benchmark knows."""
    return list(STRATEGIES)


def check_strategies(names: list[str]) -> None:
    """Reject unknown arms with the list of valid ones."""
    for name in names:
        if name not in STRATEGIES:
            raise ValueError(f"unknown strategy {name!r}; choose from: {', '.join(STRATEGIES)}.")


def random_strategy(rng: np.random.Generator) -> Strategy:
    """Uniform sampling without replacement, drawn from ``rng``."""

    def random_sampling(learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any):
        n = min(n_instances, len(X_pool))
        return rng.choice(len(X_pool), size=n, replace=False), np.zeros(n)

    return random_sampling


class _RankedBatchView:
    """What modAL's ranked batch reads from a learner, in embedding space.

    ``uncertainty_batch_sampling`` measures distances on the very ``X`` it scores,
    and to the learner's ``X_training``; our learner works on texts. The view
    answers ``predict_proba`` with the text-based probabilities and offers the
    labelled texts' embeddings as ``X_training``.
    """

    on_transformed = False

    def __init__(self, proba: np.ndarray, X_training: np.ndarray) -> None:
        self._proba = proba
        self.X_training = X_training

    def predict_proba(self, X: Any, **kwargs: Any) -> np.ndarray:
        if len(X) != len(self._proba):
            raise ValueError("the ranked-batch view was built for another pool.")
        return self._proba


def ranked_batch_strategy(embed: Callable[[Any], np.ndarray]) -> Strategy:
    """modAL's ``uncertainty_batch_sampling`` (Cardoso et al.) for a text learner."""

    def ranked_batch(learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any):
        from modAL.batch import uncertainty_batch_sampling

        view = _RankedBatchView(learner.predict_proba(X_pool), embed(learner.X_training))
        return uncertainty_batch_sampling(view, embed(X_pool), n_instances=n_instances)

    return ranked_batch


def later_strategy(
    name: str, embed: Callable[[Any], np.ndarray], rng: np.random.Generator, llm: LLMSettings
):
    """The strategy of rounds 2, 3, ... for arm ``name`` (``hybrid`` keeps its own)."""
    from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling

    replayed = not llm.base_url
    return {
        "random": random_strategy(rng),
        "activellm": random_strategy(rng) if replayed else None,
        "margin": margin_sampling,
        "entropy": entropy_sampling,
        "ranked-batch": ranked_batch_strategy(embed),
    }.get(name) or uncertainty_sampling


@dataclass
class LLMSettings:
    """How the ActiveLLM arm gets its answers: a recording, or a live endpoint."""

    recording: Any = None
    presented: np.ndarray | None = None
    base_url: str | None = None
    model_name: str | None = None
    cache_dir: str | None = None
    labels: list[str] | None = None
    task_description: str | None = None


def activellm_strategy(llm: LLMSettings, seed: int, run: int) -> Any:
    """ActiveLLM answered by the run's recorded GPT-4 answer, or by a live endpoint."""
    from activellm_modal.parts import Prompt
    from activellm_modal.presets import make_strategy
    from activellm_modal.strategies.activellm import ActiveLLM

    if llm.base_url:
        return ActiveLLM(
            model=llm.model_name or "gpt-4o",
            base_url=llm.base_url,
            prompt=Prompt(
                task_description=llm.task_description or "the sentiment of movie-review sentences"
            ),
            labels=llm.labels or ["negative", "positive"],
            cache_dir=llm.cache_dir,
            random_state=1000 * run + seed,
        )
    from activellm_modal.llm.replay import ReplayBackend, recorded_sampler
    from activellm_modal.parts import UniformPresenter

    return make_strategy(
        "paper",  # the paper's method replays the paper's answers
        backend=ReplayBackend([llm.recording]),
        presenter=UniformPresenter(
            len(llm.presented), skip_duplicates=False, sampler=recorded_sampler(llm.presented)
        ),
        random_state=run,
    )


def hybrid_strategy(llm_strategy: Any) -> Any:
    """ActiveLLM for round 1, then uncertainty sampling, as one modAL strategy.

    The benchmark uses the returned object in every round; it switches itself.
    """
    from modAL.uncertainty import uncertainty_sampling

    from activellm_modal.strategies.hybrid import HybridStrategy

    return HybridStrategy(llm_strategy, then=uncertainty_sampling, switch_after=1)


def first_strategy(
    name: str,
    embed: Callable[[Any], np.ndarray],
    rng: np.random.Generator,
    llm: LLMSettings,
    seed: int,
    run: int,
) -> Strategy:
    """The strategy of round 1 (nothing labelled yet) for arm ``name``."""
    from activellm_modal.experiments.kmeans import KMeansColdStart

    if name == "kmeans":
        return KMeansColdStart(embed, random_state=seed)
    if name == "activellm":
        return activellm_strategy(llm, seed, run)
    if name == "hybrid":
        return hybrid_strategy(activellm_strategy(llm, seed, run))
    return random_strategy(rng)
