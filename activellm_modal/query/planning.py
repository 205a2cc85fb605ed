"""The *prompt* step of a query: what each numbered position shows, and what else is said.

Pure: the shown texts, the labelled instances and the recap mode in, a
:class:`Plan` out. With the index recap the labelled texts are mixed into the
numbered instances, so prompt position ``p`` maps back to a shown row through
``Plan.new_index`` (-1 for a labelled instance shown again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from activellm_modal.query.presentation import Shown, clip
from activellm_modal.query.recap import Labelled

__all__ = ["Plan", "plan_prompt"]


@dataclass
class Plan:
    """One prompt: what is shown at each position, and what else the prompt says."""

    texts: list[str]
    new_index: list[int]  # prompt position -> index into the shown rows, -1 for a recap
    notes: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    n_recap: int = 0


def plan_prompt(
    shown: Shown,
    labelled: Labelled,
    rng: np.random.Generator,
    *,
    recap: str,
    max_recap: int,
    max_chars: int | None,
    notes_meaning: str | None = None,
    context: str | None = None,
) -> Plan:
    """The prompt's content: the shown texts, the recap of labelled ones, the notes.

    Examples
    --------
    >>> shown = Shown(np.array([4, 2]), ["fine", "dull"])
    >>> plan = plan_prompt(shown, Labelled(["great"], ["pos"]), np.random.default_rng(0),
    ...                    recap="indices", max_recap=5, max_chars=None)
    >>> sorted(plan.texts), plan.new_index.count(-1)
    (['dull', 'fine', 'great'], 1)
    >>> plan.options["labelled_positions"] == [plan.new_index.index(-1)]
    True
    """
    texts, notes = shown.texts, shown.notes
    plan = Plan(list(texts), list(range(len(texts))), notes)
    if notes is not None:
        plan.options.update(notes_meaning=notes_meaning)
    if context:
        plan.options.update(context=context)
    recent = labelled.recent(max_recap) if recap != "none" else Labelled()
    if not len(recent):
        return plan
    plan.n_recap = len(recent)
    mode = recap
    if mode == "labels" and recent.labels is None:
        mode = "texts"  # labels unknown (no y_training): show the texts alone
    recap_texts = clip(recent.texts, max_chars)[0]
    if mode in ("texts", "labels"):
        plan.options.update(recap=recap_texts)
        if mode == "labels":
            plan.options.update(recap_labels=recent.labels, label_counts=labelled.counts())
        return plan
    # Index recap: the labelled texts are mixed into the numbered instances at random
    # places, and their positions are listed as taken.
    n = len(texts)
    order = rng.permutation(n + len(recent)).tolist()
    plan.texts = [texts[j] if j < n else recap_texts[j - n] for j in order]
    plan.new_index = [j if j < n else -1 for j in order]
    if notes is not None:
        plan.notes = [notes[j] if j < n else "already labelled" for j in order]
    plan.options.update(labelled_positions=[p for p, j in enumerate(order) if j >= n])
    return plan
