"""Balance-aware selection: the LLM guesses a label per pick, quotas do the rest.

The LLM is asked for more candidates than will be labelled (``oversample``
times as many), each with the label it expects, as
``{"picks": [{"position": 3, "label": "positive"}, ...]}``. The candidates are
then taken in the LLM's order while their label's quota is open. When the
guesses cannot fill a quota, the remaining candidates of any label are taken
(still in the LLM's order) before the strategy's fallback fills the rest.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from activellm_modal.query.parsing import read_answer

_OBJECT = re.compile(r"\{")


@dataclass
class Picks:
    """Positions with the labels the LLM guessed (None where it gave none).

    Examples
    --------
    >>> parse_picks('{"picks": [{"position": 3, "label": "pos"}, {"position": 9}]}', 10, 5)
    Picks(positions=[3, 9], labels=['pos', None], method='json')
    """

    positions: list[int] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    method: str = "none"
    # Set when the answer copied the presented texts instead of naming positions.
    copied_list: bool = field(default=False, repr=False)
    note: str | None = field(default=None, repr=False)
    # Every list the reader found, with its role (see parsing.Candidate).
    candidates: tuple = field(default=(), repr=False)


def parse_picks(answer: str, n_presented: int, k: int) -> Picks:
    """The first ``k`` of :func:`read_picks`.

    Examples
    --------
    >>> parse_picks('{"picks": [{"position": 3}, {"position": 1}]}', 10, 1).positions
    [3]
    """
    picks = read_picks(answer, n_presented, k)
    return Picks(picks.positions[:k], picks.labels[:k], picks.method, candidates=picks.candidates)


def read_picks(answer: str, n_presented: int, k: int) -> Picks:
    """Read ``{"picks": [{"position": p, "label": l}, ...]}`` from an answer.

    The last JSON object holding a ``picks`` list wins. Positions out of range
    and repeats are dropped; nothing is cut (``k`` only guides which list of a
    text answer is the final one). Without such an object the answer is read
    as a plain selection (:func:`~activellm_modal.query.parsing.read_answer`), with
    no label guesses.

    Examples
    --------
    >>> read_picks("Sure: 4, 2", 10, 1)
    Picks(positions=[4, 2], labels=[None, None], method='list')
    """
    for obj in reversed(_json_objects(answer)):
        picks = obj.get("picks") if isinstance(obj, dict) else None
        if not isinstance(picks, list):
            continue
        result = Picks(method="json")
        for item in picks:
            position, label = _pick(item)
            if position is None or not 0 <= position < n_presented:
                continue
            if position in result.positions:
                continue
            result.positions.append(position)
            result.labels.append(label)
        return result
    reading = read_answer(answer, n_presented, k)
    return Picks(
        list(reading.selection),
        [None] * len(reading.selection),
        reading.method,
        candidates=reading.candidates,
    )


def quotas(
    k: int, labels: Sequence[str], proportions: Mapping[str, float] | None
) -> dict[str, int]:
    """Per-label counts summing to ``k`` (largest remainders; ties to the first label).

    Examples
    --------
    >>> quotas(5, ["neg", "pos"], None)
    {'neg': 3, 'pos': 2}
    >>> quotas(10, ["a", "b", "c"], {"a": 0.5, "b": 0.3, "c": 0.2})
    {'a': 5, 'b': 3, 'c': 2}
    """
    weights = {str(label): 1.0 for label in labels}
    if proportions is not None:
        weights = {str(label): float(proportions.get(str(label), 0.0)) for label in labels}
    total = sum(weights.values())
    if total <= 0 or any(w < 0 for w in weights.values()):
        raise ValueError(
            f"balance proportions {dict(proportions or {})} must be non-negative and not all "
            f"zero, one per label of {list(labels)}."
        )
    exact = {label: k * w / total for label, w in weights.items()}
    counts = {label: math.floor(x) for label, x in exact.items()}
    left = k - sum(counts.values())
    order = sorted(exact, key=lambda label: -(exact[label] - counts[label]))
    for label in order[:left]:
        counts[label] += 1
    return counts


def fill_quotas(picks: Picks, quota: Mapping[str, int]) -> tuple[list[int], list[int]]:
    """Take picks in order while their label's quota is open, then any others.

    Returns
    -------
    in_quota : list of int
        Positions taken within a quota.
    extra : list of int
        Positions taken beyond the quotas because the guesses ran short.

    Examples
    --------
    >>> picks = Picks([5, 1, 7, 2, 9], ["pos", "pos", "pos", "neg", None])
    >>> fill_quotas(picks, {"neg": 2, "pos": 2})
    ([5, 1, 2], [7])
    """
    k = sum(quota.values())
    left = dict(quota)
    taken: list[int] = []
    for position, label in zip(picks.positions, picks.labels, strict=True):
        if label is not None and left.get(label, 0) > 0:
            left[label] -= 1
            taken.append(position)
    extra = [p for p in picks.positions if p not in taken][: k - len(taken)]
    return taken, extra


def _pick(item: object) -> tuple[int | None, str | None]:
    if isinstance(item, bool):
        return None, None
    if isinstance(item, int):
        return item, None
    if not isinstance(item, dict):
        return None, None
    position = item.get("position", item.get("index"))
    if isinstance(position, str) and position.strip().lstrip("-").isdigit():
        position = int(position)
    if not isinstance(position, int) or isinstance(position, bool):
        return None, None
    label = item.get("label")
    return position, None if label is None else str(label)


def _json_objects(answer: str) -> list[object]:
    """Every top-level JSON object in the answer, in order."""
    decoder = json.JSONDecoder()
    found: list[object] = []
    end = 0
    for match in _OBJECT.finditer(answer):
        if match.start() < end:
            continue
        try:
            obj, end = decoder.raw_decode(answer, match.start())
        except (ValueError, RecursionError):
            continue
        found.append(obj)
    return found
