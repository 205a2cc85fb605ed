"""Cold start with an LLM, then a classic strategy: one modAL query strategy.

ActiveLLM's point is the cold start (section 4 of the paper's notes): classic
strategies need a trained model, so the first labels come from the LLM and the
classifier's own uncertainty takes over once it has something to go on.
:class:`HybridStrategy` makes that hand-over a single ``query_strategy``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from activellm_modal.loop.learners import is_fitted, n_labelled
from activellm_modal.strategies.base import QueryStrategy

logger = logging.getLogger(__name__)

__all__ = ["HybridStrategy", "StepRecord", "is_fitted", "uncertainty_sampling"]

_USAGE_KEYS = ("calls", "cache_hits", "prompt_tokens", "completion_tokens")


def uncertainty_sampling(
    classifier: Any, X: Any, n_instances: int = 1, **kwargs: Any
) -> tuple[np.ndarray, np.ndarray]:
    """modAL's ``uncertainty_sampling``, imported on first use.

    modAL is installed apart (``pip install --no-deps modAL-python``), so this
    package must import without it; this stand-in is the default classic
    strategy and behaves exactly like modAL's.
    """
    from modAL.uncertainty import uncertainty_sampling as modal_uncertainty_sampling

    return modal_uncertainty_sampling(classifier, X, n_instances=n_instances, **kwargs)


@dataclass
class StepRecord:
    """What one query of a composite strategy did (``history_`` entries).

    Attributes
    ----------
    round : int
        0-based number of the query.
    strategy : str
        Which part answered: ``"cold_start"``, ``"then"`` or ``"rerank"``.
    name : str
        The name of the strategy that answered (e.g. ``"uncertainty_sampling"``).
    indices : list of int
        The pool rows returned.
    reason : str
        Why this part answered (the switch rule's verdict).
    n_labelled : int
        Labelled instances the learner held when asked.
    llm_calls, cache_hits, prompt_tokens, completion_tokens : int
        LLM usage of this query.
    shortlist : list of int or None
        The rows shortlisted for an LLM re-ranking.
    """

    round: int
    strategy: str
    name: str
    indices: list[int]
    reason: str
    n_labelled: int = 0
    llm_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    shortlist: list[int] | None = None
    notes: list[str] = field(default_factory=list)


class HybridStrategy(QueryStrategy):
    """ActiveLLM for the first rounds, then a classic modAL strategy.

    A modAL query strategy: ``HybridStrategy(...)(learner, X_pool, n_instances)``
    returns ``(indices, scores)``. Each query asks either ``cold_start`` (one
    LLM call with :class:`~activellm_modal.ActiveLLM`) or ``then`` (no LLM
    call). The switch is one-way; give at most one rule:

    * ``switch_after=N``: after ``N`` cold-start queries (the default, ``N=1``);
    * ``switch_at_labels=M``: once the learner holds ``M`` labelled instances
      (``len(learner.y_training)``, 0 before the first ``teach``);
    * ``switch=f``: once ``f(learner, round) -> bool`` says so.

    A classic strategy needs a fitted model: while the learner is not fitted,
    the cold start answers even if the rule says switch, and ``history_`` says
    why.

    Parameters
    ----------
    cold_start : callable
        A modAL strategy that works without a model, usually ``ActiveLLM(...)``.
    then : callable, default=uncertainty_sampling
        modAL's least-confidence sampling by default, or any modAL strategy
        ``(learner, X_pool, n_instances, **kw)`` returning ``(indices, scores)``
        (or indices alone).
    switch_after : int, optional
        Cold-start queries before the switch.
    switch_at_labels : int, optional
        Labelled instances at which to switch.
    switch : callable, optional
        ``switch(learner, round) -> bool``; ``round`` is the 0-based query number.
    subsample : int, optional
        Let ``then`` score a seeded random subsample of this many rows instead of
        the whole pool (see :func:`~activellm_modal.strategies.subsample.subsampled`), so the
        classic phase costs the same on a million texts as on ten thousand. The
        seed is the cold start's ``random_state``.

    Attributes
    ----------
    history_ : list of StepRecord
        Every query: part used, indices, reason, LLM usage.
    n_queries_ : int
        Queries answered so far.
    switched_at_ : int or None
        The round of the first classic query.

    Examples
    --------
    >>> from activellm_modal import ActiveLLM
    >>> from activellm_modal.llm import Completion
    >>> class FirstTwo:
    ...     def complete(self, request):
    ...         return Completion("Answer: 0, 1")
    >>> hybrid = HybridStrategy(ActiveLLM(backend=FirstTwo(), random_state=0), switch_after=1)
    >>> indices, scores = hybrid(None, ["good", "bad", "fine", "meh"], n_instances=2)
    >>> hybrid.history_[0].strategy, hybrid.history_[0].llm_calls
    ('cold_start', 1)

    A labelling session can stop and resume; the state is plain JSON:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "hybrid.json")
    >>> hybrid.save(path)
    >>> resumed = HybridStrategy(ActiveLLM(backend=FirstTwo(), random_state=0)).load(path)
    >>> resumed.n_queries_, resumed.cold_start.n_queries_
    (1, 1)
    """

    _record_type = StepRecord

    def __init__(
        self,
        cold_start: Callable[..., Any] | None = None,
        then: Callable[..., Any] = uncertainty_sampling,
        *,
        switch_after: int | None = None,
        switch_at_labels: int | None = None,
        switch: Callable[[Any, int], bool] | None = None,
        subsample: int | None = None,
    ) -> None:
        self.cold_start = cold_start
        self.then = then
        self.switch_after = switch_after
        self.switch_at_labels = switch_at_labels
        self.switch = switch
        self.subsample = subsample

    def _query(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        self._validate()
        self._start_state()
        round_ = self.n_queries_
        classic, reason = self._decide(learner, round_)
        part = self._classic() if classic else self.cold_start
        before = usage_of(self.cold_start)
        # A failed query counts nothing (the base re-raises on modAL's retry): a resumed
        # loop asks the same again.
        indices, scores = as_pair(part(learner, X_pool, n_instances=n_instances, **kwargs))
        record = StepRecord(
            round=round_,
            strategy="then" if classic else "cold_start",
            name=name_of(part),
            indices=[int(i) for i in indices],
            reason=reason,
            n_labelled=n_labelled(learner),
            **usage_delta(before, usage_of(self.cold_start)),
        )
        if classic and self.switched_at_ is None:
            self.switched_at_ = round_
        if not classic:
            self.n_cold_ += 1
        self._append(record)
        logger.info("HybridStrategy round %d: %s (%s)", round_, record.name, reason)
        return indices, scores

    # -- the switch ----------------------------------------------------------------------

    def _decide(self, learner: Any, round_: int) -> tuple[bool, str]:
        if self.switched_at_ is not None:
            wants, why = True, f"switched at round {self.switched_at_}"
        else:
            wants, why = self._rule(learner, round_)
        if not wants:
            return False, why
        if not is_fitted(learner):
            return False, (
                f"{why}, but the learner is not fitted yet, so a classic strategy cannot "
                "rank the pool: cold start again (teach the learner first)"
            )
        return True, why

    def _rule(self, learner: Any, round_: int) -> tuple[bool, str]:
        if self.switch is not None:
            wants = bool(self.switch(learner, round_))
            return wants, f"switch(learner, {round_}) returned {wants}"
        if self.switch_at_labels is not None:
            held = n_labelled(learner)
            verdict = ">=" if held >= self.switch_at_labels else "<"
            return (
                held >= self.switch_at_labels,
                f"{held} labelled {verdict} switch_at_labels={self.switch_at_labels}",
            )
        after = 1 if self.switch_after is None else self.switch_after
        return (
            self.n_cold_ >= after,
            f"{self.n_cold_} cold-start queries done, switch_after={after}",
        )

    def _classic(self) -> Callable[..., Any]:
        if self.subsample is None:
            return self.then
        wrapped = getattr(self, "then_", None)
        if wrapped is None:
            from activellm_modal.strategies.subsample import subsampled

            seed = getattr(self.cold_start, "random_state", None)
            wrapped = subsampled(self.then, n=self.subsample, random_state=seed)
            self.then_ = wrapped
        return wrapped

    def _validate(self) -> None:
        if self.cold_start is None or not callable(self.cold_start):
            raise TypeError(
                f"cold_start={self.cold_start!r} is not a query strategy: pass one that needs "
                "no trained model, e.g. HybridStrategy(cold_start=ActiveLLM(model='gpt-4o'))."
            )
        if not callable(self.then):
            raise TypeError(
                f"then={self.then!r} is not a query strategy: pass a modAL strategy such as "
                "modAL.uncertainty.uncertainty_sampling."
            )
        rules = [
            name
            for name in ("switch_after", "switch_at_labels", "switch")
            if getattr(self, name) is not None
        ]
        if len(rules) > 1:
            raise ValueError(
                f"{' and '.join(rules)} are all set; give one switch rule (switch_after, "
                "switch_at_labels or switch), or combine them in one switch callable."
            )
        for name in ("switch_after", "switch_at_labels"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0
            ):
                raise ValueError(f"{name} must be an int >= 0, got {value!r}.")
        if self.subsample is not None and (
            isinstance(self.subsample, bool)
            or not isinstance(self.subsample, int | np.integer)
            or self.subsample < 1
        ):
            raise ValueError(f"subsample must be a positive int, got {self.subsample!r}.")
        if self.switch is not None and not callable(self.switch):
            raise TypeError(f"switch={self.switch!r} must be callable as switch(learner, round).")

    def _init_state(self) -> None:
        self.n_cold_ = 0
        self.switched_at_: int | None = None

    # -- saving and resuming -------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The session so far as plain data: counts, history, the parts' own state.

        Restored into a strategy built with the same parameters (and seeds),
        the next queries are the same as without the interruption. The parts'
        state includes the subsampling wrapper's (``subsample=...``).
        """
        return super().state_dict()

    def _extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"n_cold": self.n_cold_, "switched_at": self.switched_at_}
        for part in ("cold_start", "then", "then_"):
            owner = getattr(self, part, None)
            if hasattr(owner, "state_dict"):
                state[part] = owner.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> HybridStrategy:
        """Restore what :meth:`state_dict` returned; returns ``self``."""
        super().load_state_dict(state)
        return self

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.n_cold_ = int(state.get("n_cold", 0))
        self.switched_at_ = state.get("switched_at")
        if "then_" in state and self.subsample is not None:
            self._classic().load_state_dict(state["then_"])
        for part in ("cold_start", "then"):
            if part in state and hasattr(getattr(self, part), "load_state_dict"):
                getattr(self, part).load_state_dict(state[part])

    def save(self, path: str | Path) -> None:
        """Write :meth:`state_dict` to ``path`` as JSON (no parameters, no API key)."""
        Path(path).write_text(json.dumps(self.state_dict()), encoding="utf-8")

    def load(self, path: str | Path) -> HybridStrategy:
        """Restore the state :meth:`save` wrote into this strategy; returns ``self``."""
        return self.load_state_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# -- helpers shared with the re-ranker ----------------------------------------------------


def as_pair(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, scores)`` from a strategy's result; scores are 0 if it gave none."""
    if isinstance(result, tuple) and len(result) == 2:
        indices, scores = result
    else:
        indices, scores = result, None
    indices = np.asarray(indices, dtype=np.intp).ravel()
    scores = np.zeros(len(indices)) if scores is None else np.asarray(scores, dtype=float)
    return indices, scores


def name_of(strategy: Any) -> str:
    """A readable name for a strategy: function, partial or object."""
    if isinstance(strategy, functools.partial):
        return name_of(strategy.func)
    return getattr(strategy, "__name__", type(strategy).__name__)


def usage_of(strategy: Any) -> dict[str, int]:
    """The LLM usage counters of a strategy so far (zeros for non-LLM strategies)."""
    usage = getattr(strategy, "usage_", None) or {}
    return {key: int(usage.get(key, 0)) for key in _USAGE_KEYS}


def usage_delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """What one query cost, as :class:`StepRecord` fields."""
    delta = {key: after[key] - before[key] for key in _USAGE_KEYS}
    return {
        "llm_calls": delta["calls"],
        "cache_hits": delta["cache_hits"],
        "prompt_tokens": delta["prompt_tokens"],
        "completion_tokens": delta["completion_tokens"],
    }
