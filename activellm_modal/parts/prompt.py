"""The prompt part: how the LLM is asked (task, output format, guidance, recap)."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from activellm_modal.llm.base import LLMRequest
from activellm_modal.query.planning import Plan, plan_prompt
from activellm_modal.query.pool import DEFAULT_PAIR_LABELS
from activellm_modal.query.presentation import Shown
from activellm_modal.query.prompt import (
    GUIDANCE,
    OUTPUT_STYLES,
    build_messages,
    guidance_text,
    picks_schema,
    selection_schema,
)
from activellm_modal.query.recap import RECAP_MODES, Labelled

__all__ = ["Prompt"]


class Prompt(BaseEstimator):
    """How ActiveLLM asks: the words of the prompt around the shown texts.

    Parameters
    ----------
    task_description : str, optional
        What the annotator labels, shown in the prompt.
    output : {"cot", "list", "explain"}, default="cot"
        Think step by step then list (the paper's best), list only, or
        explain every instance.
    advice : bool, default=False
        Add the paper's seven selection criteria (its mode 1); off in the
        paper's best prompt (mode 4).
    guidance : {"representative"} or None, default="representative"
        Ask for representative, mutually different texts that cover every
        label (the paper's best prompt has no such advice).
    structured_output : bool, default=False
        Ask for ``{"positions": [...]}`` with a JSON-schema ``response_format``.
        If the endpoint rejects the schema, the query is sent once more as
        plain text, and later queries stay with text.
    recap : {"none", "texts", "indices", "labels"}, default="none"
        What later queries tell the LLM about the instances already labelled:
        nothing; their texts, unnumbered, before the new instances; the
        paper's index recap (shown again among the numbered instances, their
        positions listed as taken); or their texts with their labels and the
        label counts so far.
    max_recap : int, default=50
        At most this many labelled instances (the most recent) are recapped.
    pair_labels : tuple of two str, default=("Sentence 1", "Sentence 2")
        How the parts of a sentence pair are introduced to the LLM.
    reask_degenerate : bool, default=False
        When the answer is a trivial run (e.g. the first k positions shown) or
        a copy of the list in order, ask once more with the same texts in a
        fresh order (a second call; measured no gain, see docs/architecture).

    Examples
    --------
    >>> Prompt(output="list").set_params(recap="labels").recap
    'labels'
    """

    _parameter_constraints: ClassVar[dict] = {
        "task_description": [str, None],
        "output": [StrOptions(set(OUTPUT_STYLES))],
        "advice": ["boolean"],
        "guidance": [StrOptions(set(GUIDANCE)), None],
        "structured_output": ["boolean"],
        "recap": [StrOptions(set(RECAP_MODES))],
        "max_recap": [Interval(Integral, 0, None, closed="left")],
        "pair_labels": [tuple, list],
        "reask_degenerate": ["boolean"],
    }

    def __init__(
        self,
        task_description: str | None = None,
        output: str = "cot",
        advice: bool = False,
        guidance: str | None = "representative",
        structured_output: bool = False,
        recap: str = "none",
        max_recap: int = 50,
        pair_labels: tuple[str, str] = DEFAULT_PAIR_LABELS,
        reask_degenerate: bool = False,
    ) -> None:
        self.task_description = task_description
        self.output = output
        self.advice = advice
        self.guidance = guidance
        self.structured_output = structured_output
        self.recap = recap
        self.max_recap = max_recap
        self.pair_labels = pair_labels
        self.reask_degenerate = reask_degenerate

    def plan(
        self,
        shown: Shown,
        labelled: Labelled,
        rng: np.random.Generator,
        *,
        max_chars: int | None,
        notes_meaning: str | None = None,
        context: str | None = None,
    ) -> Plan:
        """What the prompt holds: the shown texts, the recap, the notes and the guidance."""
        plan = plan_prompt(
            shown,
            labelled,
            rng,
            recap=self.recap,
            max_recap=self.max_recap,
            max_chars=max_chars,
            notes_meaning=notes_meaning,
            context=context,
        )
        if self.guidance is not None:
            plan.options.update(guidance=guidance_text(self.guidance))
        return plan

    def request(
        self,
        plan: Plan,
        k: int,
        *,
        labels: Sequence[str] | None,
        budget: int | None = None,
        structured: bool = False,
    ) -> LLMRequest:
        """The request for ``k`` positions (``budget``: label guesses asked, ``k`` needed)."""
        messages = build_messages(
            plan.texts,
            k,
            advice=self.advice,
            output=self.output,  # type: ignore[arg-type]
            task_description=self.task_description,
            labels=labels,
            structured=structured,
            notes=plan.notes,
            budget=budget,
            **plan.options,
        )
        if not structured:
            response_format = None
        elif budget is not None:
            response_format = picks_schema(k, len(plan.texts), labels)
        else:
            response_format = selection_schema(k, len(plan.texts))
        return LLMRequest(
            messages=messages, instances=tuple(plan.texts), k=k, response_format=response_format
        )
