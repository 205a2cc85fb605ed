"""LLM re-ranking: the classifier shortlists, the LLM chooses (beyond the paper).

Once a classifier is trained, uncertainty sampling finds the instances it is
least sure about, but the top of that list is often redundant (ten phrasings
of one hard case) or noise. :class:`LLMReRanker` lets any modAL strategy
propose a shortlist and asks the LLM, in one call, for the most informative
and diverse instances among them.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from activellm_modal.loop.learners import is_fitted, n_labelled, n_rows
from activellm_modal.strategies.activellm import ActiveLLM
from activellm_modal.strategies.base import QueryStrategy
from activellm_modal.strategies.hybrid import (
    StepRecord,
    as_pair,
    name_of,
    uncertainty_sampling,
    usage_delta,
    usage_of,
)

logger = logging.getLogger(__name__)

__all__ = ["LLMReRanker"]

_CONTEXT = (
    "The instances below are a shortlist drawn up by the classifier being trained: those "
    "it is least sure about. Choose the ones that would teach it the most, and that differ "
    "from each other rather than repeat one kind of difficulty; skip instances that look "
    "like noise."
)


class LLMReRanker(QueryStrategy):
    """A classic strategy shortlists, an LLM picks the ``n_instances`` among them.

    A modAL query strategy: ``LLMReRanker(...)(learner, X_pool, n_instances)``
    returns ``(indices, scores)``, all of them rows of the shortlist. One LLM
    call per query. Before the learner is fitted there is no shortlist to
    draw, so the LLM chooses from a sample of the pool, as plain
    :class:`~activellm_modal.ActiveLLM` does (and ``history_`` says so).

    Parameters
    ----------
    llm : ActiveLLM
        The LLM side: endpoint, prompt options, seed, recap, balance.
    shortlist : callable, default=uncertainty_sampling
        Any modAL strategy; it is asked for ``shortlist_size`` instances.
    shortlist_size : int, default=200
        How many instances the LLM chooses from (the paper's best sample size).
    show_uncertainty : bool, default=False
        Show each text's shortlist score (e.g. ``1 - max probability``) to the LLM.

    Attributes
    ----------
    history_ : list of StepRecord
        Every query, with its shortlist and LLM usage.
    n_queries_ : int
        Queries answered so far.

    Examples
    --------
    >>> from activellm_modal.llm import Completion
    >>> class First:
    ...     def complete(self, request):
    ...         return Completion("Answer: 0")
    >>> def longest(learner, X, n_instances=1):
    ...     order = np.argsort([-len(x) for x in X])[:n_instances]
    ...     return order, np.ones(len(order))
    >>> class Fitted:  # any fitted modAL learner
    ...     y_training = [0, 1]
    >>> reranker = LLMReRanker(
    ...     ActiveLLM(backend=First(), random_state=0), shortlist=longest, shortlist_size=2
    ... )
    >>> pool = ["ok", "a long and winding review", "bad", "a rather longer one"]
    >>> indices, _ = reranker(Fitted(), pool, n_instances=1)
    >>> int(indices[0]) in reranker.history_[0].shortlist
    True
    """

    _record_type = StepRecord

    def __init__(
        self,
        llm: ActiveLLM | None = None,
        shortlist: Any = uncertainty_sampling,
        shortlist_size: int = 200,
        show_uncertainty: bool = False,
    ) -> None:
        self.llm = llm
        self.shortlist = shortlist
        self.shortlist_size = shortlist_size
        self.show_uncertainty = show_uncertainty

    def _query(
        self, learner: Any, X_pool: Any, n_instances: int = 1, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        self._validate()
        self._start_state()
        before = usage_of(self.llm)
        shortlisted: list[int] | None = None
        if not is_fitted(learner):
            reason = "the learner is not fitted, so there is no shortlist: cold start"
            indices, scores = self.llm(learner, X_pool, n_instances)
        else:
            size = min(max(self.shortlist_size, n_instances), n_rows(X_pool))
            candidates, uncertainty = as_pair(
                self.shortlist(learner, X_pool, n_instances=size, **kwargs)
            )
            shortlisted = [int(i) for i in candidates]
            notes = None
            if self.show_uncertainty:
                notes = [f"uncertainty {float(u):.3f}" for u in uncertainty]
            indices, scores = self.llm.select_among(
                X_pool,
                candidates,
                n_instances,
                learner=learner,
                notes=notes,
                notes_meaning=(
                    f"the classifier's {name_of(self.shortlist)} score for it "
                    "(higher: the classifier is less sure)"
                ),
                context=_CONTEXT,
            )
            reason = f"{len(shortlisted)} shortlisted by {name_of(self.shortlist)}"
        record = StepRecord(
            round=self.n_queries_,
            strategy="rerank" if shortlisted is not None else "cold_start",
            name=name_of(self.llm),
            indices=[int(i) for i in indices],
            reason=reason,
            n_labelled=n_labelled(learner),
            shortlist=shortlisted,
            **usage_delta(before, usage_of(self.llm)),
        )
        self._append(record)
        logger.info("LLMReRanker round %d: %s", record.round, reason)
        return indices, scores

    def _validate(self) -> None:
        if not isinstance(self.llm, ActiveLLM):
            raise TypeError(
                f"llm={self.llm!r} is not an ActiveLLM: pass the LLM side as "
                "LLMReRanker(llm=ActiveLLM(model='gpt-4o', ...))."
            )
        if not callable(self.shortlist):
            raise TypeError(
                f"shortlist={self.shortlist!r} is not a query strategy: pass a modAL strategy "
                "such as modAL.uncertainty.uncertainty_sampling."
            )
        size = self.shortlist_size
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
            raise ValueError(f"shortlist_size must be a positive int, got {size!r}.")
