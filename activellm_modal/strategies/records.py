"""What one query of :class:`~activellm_modal.ActiveLLM` did: ``last_query_`` and ``history_``."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from activellm_modal.exceptions import SelectionWarning
from activellm_modal.query.presentation import Shown
from activellm_modal.query.selection import is_degenerate

if TYPE_CHECKING:
    from activellm_modal.strategies.activellm import _Answer

__all__ = ["QueryBookkeeping", "QueryRecord"]

logger = logging.getLogger("activellm_modal.strategies.activellm")


@dataclass
class QueryRecord:
    """What one query did, kept in ``last_query_`` and ``history_``.

    Attributes
    ----------
    indices : list of int
        The pool rows returned, in the order returned.
    presented : list of int
        The pool rows shown to the LLM; prompt position ``p`` is ``presented[p]``.
    answer : str or None
        The LLM's raw answer (None when no call was needed).
    positions : list of int
        Every valid distinct position the answer selects, in answer order
        (not cut to ``n_instances``: recapped ones are dropped first).
    n_filled : int
        How many instances the fallback had to add.
    degenerate : bool
        The answer was a trivial run such as the first k positions.
    cached : bool
        The answer came from the cache or a recording.
    prompt_tokens, completion_tokens : int
        Token usage of this query.
    seconds : float
        Wall time of the LLM call.
    notes : list of str
        Anything the user was warned about.
    recap : str
        The recap mode of this query.
    n_recap : int
        Labelled instances shown in the recap.
    prompt_rows : list of int or None
        Under ``recap="indices"``, the pool row at each prompt position (-1 for
        an already-labelled instance shown again); None when prompt position
        ``p`` is simply ``presented[p]``.
    n_recap_picks : int
        Already-labelled instances the LLM chose (dropped and filled).
    guessed_labels : list of str or None
        With a narrower that asks for label guesses (``LabelQuotas``), the
        LLM's guess for each returned index (None where it gave none or the
        index was filled).
    quota : dict or None
        With per-label quotas, the quota of this query.
    n_calls : int
        LLM calls this query made (0 when there was nothing to choose; 2 only
        when ``Prompt(reask_degenerate=True)`` re-asked).
    n_truncated : int
        Presented texts cut to ``max_chars``.
    """

    indices: list[int]
    presented: list[int]
    answer: str | None = None
    positions: list[int] = field(default_factory=list)
    n_filled: int = 0
    degenerate: bool = False
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    model: str = ""
    notes: list[str] = field(default_factory=list)
    recap: str = "none"
    n_recap: int = 0
    prompt_rows: list[int] | None = None
    n_recap_picks: int = 0
    guessed_labels: list[str | None] | None = None
    quota: dict[str, int] | None = None
    n_calls: int = 1
    n_truncated: int = 0


class QueryBookkeeping:
    """ActiveLLM's bookkeeping: a query's record built, its notes warned, its usage counted.

    A mixin of :class:`~activellm_modal.ActiveLLM` (it reads the strategy's parts,
    ``usage_`` and ``history_``), kept apart from the query's one-way flow.
    """

    usage_: dict[str, Any]
    model: str

    def _make_record(
        self,
        indices: np.ndarray,
        shown: Shown,
        answer: _Answer | None,
        n_llm: int,
        guesses: dict[int, str | None],
    ) -> QueryRecord:
        record = QueryRecord(
            indices=indices.tolist(),
            presented=shown.rows.tolist() if answer is not None else [],
            recap=self._prompt_part().recap,
            n_truncated=shown.n_truncated,
            n_calls=0 if answer is None else answer.n_calls,
        )
        if shown.n_truncated:
            record.notes.append(
                f"{shown.n_truncated} presented text(s) were longer than max_chars="
                f"{self._presenter_part().max_chars} and were truncated."
            )
        if answer is None:
            return record
        completion, picks, plan = answer.completion, answer.picks, answer.plan
        record.answer = completion.text
        record.positions = list(picks.positions)
        record.n_filled = len(indices) - n_llm
        first = record.positions[: answer.ask_k]
        record.degenerate = is_degenerate(first, answer.ask_k) or picks.copied_list
        record.cached = completion.cached
        record.prompt_tokens = completion.prompt_tokens
        record.completion_tokens = completion.completion_tokens
        record.seconds = answer.seconds
        record.model = completion.model or self.model
        record.n_recap = plan.n_recap
        if plan.new_index != list(range(len(shown.rows))):
            record.prompt_rows = [int(shown.rows[i]) if i >= 0 else -1 for i in plan.new_index]
        record.n_recap_picks = sum(plan.new_index[p] < 0 for p in picks.positions)
        if self._narrower_part().guesses:
            chosen = record.indices[:n_llm]
            record.guessed_labels = [guesses.get(i) for i in chosen] + [None] * (
                len(indices) - n_llm
            )
        record.notes.extend(answer.notes)
        return record

    def _report(self, record: QueryRecord, k: int, extra: int = 0) -> None:
        if record.n_recap_picks:
            record.notes.append(
                f"The LLM chose {record.n_recap_picks} already-labelled instance(s) again; "
                "they were dropped (see last_query_.prompt_rows)."
            )
        if extra:
            record.notes.append(
                f"The LLM's label guesses could not fill the quotas {record.quota}: {extra} "
                "candidate(s) without a fitting guess were taken instead."
            )
        if record.n_filled and record.answer is not None:
            record.notes.append(
                f"The LLM named {len(record.indices) - record.n_filled} valid distinct "
                f"positions of the {k} asked for; {record.n_filled} were filled at random "
                "from the presented instances (see last_query_.answer)."
            )
        if record.degenerate:
            # Under the coverage order a first-k answer is a covering set, not chance.
            covering = self._presenter_part().covering
            record.notes.append(
                "The LLM's picks form a trivial run (e.g. the first positions shown); "
                + (
                    "with the coverage presentation that is one typical text per region, "
                    "not the LLM's own judgement."
                    if covering
                    else "since the presentation order is random, this selection is no "
                    "better than random."
                )
            )
        # The usage is counted before any warning: a warning turned into an error must
        # not lose what the call cost.
        self._record(record)
        for note in record.notes:
            warnings.warn(note, SelectionWarning, stacklevel=5)

    def _record(self, record: QueryRecord) -> None:
        if getattr(self, "last_query_", None) is record:
            return
        if record.answer is not None:
            usage = self.usage_
            usage["cache_hits" if record.cached else "calls"] += record.n_calls
            usage["prompt_tokens"] += record.prompt_tokens
            usage["completion_tokens"] += record.completion_tokens
            usage["seconds"] += record.seconds
            price = self._price()
            if price is not None and not record.cached and usage["cost"] is not None:
                prompt_price, completion_price = price
                usage["cost"] += (
                    record.prompt_tokens * prompt_price
                    + record.completion_tokens * completion_price
                ) / 1e6
        self.last_query_ = record
        self._append(record)
        logger.info(
            "ActiveLLM query %d: %d returned, %d from the LLM, %d filled, %.2f s%s",
            self.n_queries_,
            len(record.indices),
            len(record.indices) - record.n_filled,
            record.n_filled,
            record.seconds,
            " (cached)" if record.cached else "",
        )
