"""Turn an LLM's free-text answer into the positions it selected.

The LLM is shown instances after their positions (0-based integers) and is asked
to end its answer with the chosen positions as one comma-separated list. Real
answers stray from that: JSON, code fences, ``Instance 7: ...`` or ``(#4)``
lines, one number per line, numbered lists whose item numbers are not
positions, several category lists, reasoning full of other numbers, or a list
spread over several chat turns. The parser works in two steps:

1. **Candidates.** Structured output (JSON that parses) is trusted first. Else
   every line is scanned: a run of comma-separated integers (ranges such as
   ``2-5`` expanded) is one *list* candidate; lines that each name one instance
   (``Instance 3: ...``, ``- 0: ...``, ``16. 511 (...)``, ``(#4)``, a bare
   number) are grouped with their neighbours of the same kind into one *item*
   candidate.
2. **Choice.** The final answer wins: the last candidate holding at least half
   of ``k`` valid positions, unless it only refers back to an earlier complete
   list ("Instances like 1, 13, etc. are hard"). When it holds fewer than
   ``k``, the stand-alone candidates right after it (additions such as
   "Instance 80: ...") and right before it (category lists such as
   ``Positive: 1, 2`` / ``Negative: 7, 9``, or the earlier turns of a reply
   cut into pieces) are joined to it, as long as each adds mostly new
   positions and does not hold most of the answer already (then it is the
   pool the answer was picked from).

Positions outside ``0 <= p < n_presented`` and repeats are dropped, never
clamped, and the result is cut to ``k``, in answer order. Dataset IDs
(``[ID: 1037]``) are not mapped back to positions: ``ID: 5`` reads as 5, as the
paper's authors read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from activellm_modal.query.parsing.choice import _choose
from activellm_modal.query.parsing.lines import _extract_blocks, _normalize
from activellm_modal.query.parsing.patterns import _LONE_RE
from activellm_modal.query.parsing.structured import (
    _check_int,
    _json_answer,
    extract_json_positions,
)

__all__ = [
    "Candidate",
    "ParsedSelection",
    "Reading",
    "extract_json_positions",
    "parse_answer",
    "parse_selection",
    "read_answer",
]


@dataclass(frozen=True)
class ParsedSelection:
    """The positions read from one answer, with how they were found.

    Attributes
    ----------
    positions : tuple of int
        Distinct positions ``0 <= p < n_presented`` in answer order, at most ``k``.
    n_found_raw : int
        Integers in the chosen candidate(s) before any filtering (ranges expanded).
    n_out_of_range : int
        Of those, how many were negative or ``>= n_presented``.
    n_duplicates : int
        Of the in-range ones, how many repeated an earlier position.
    truncated : bool
        Whether more than ``k`` valid distinct positions were found (the rest was cut).
    method : str
        The rule that produced the positions: ``"json"`` (structured output),
        ``"list"`` (one comma-separated list), ``"items"`` (one block of lines
        naming one instance each), ``"merged"`` (several candidates joined),
        ``"lone"`` (an answer ending in a single number) or ``"none"`` (no
        number that could be a selection).
    """

    positions: tuple[int, ...]
    n_found_raw: int
    n_out_of_range: int
    n_duplicates: int
    truncated: bool
    method: str


def parse_selection(answer: str, n_presented: int, k: int) -> list[int]:
    """Read the positions an LLM selected from its free-text answer.

    Parameters
    ----------
    answer : str
        The LLM's reply, as text.
    n_presented : int
        How many instances were shown; valid positions are ``0 .. n_presented - 1``.
    k : int
        How many positions were asked for; at most ``k`` are returned.

    Returns
    -------
    list of int
        Distinct valid positions in answer order, at most ``k`` (empty when the
        answer names none, e.g. a refusal).

    Raises
    ------
    TypeError
        If ``answer`` is not a string or ``n_presented`` / ``k`` are not integers.
    ValueError
        If ``n_presented < 1`` or ``k < 0``.

    See Also
    --------
    parse_answer : The same, with counts of what was dropped and the rule used.

    Examples
    --------
    >>> parse_selection("I would label these: 1, 4, 5.", n_presented=10, k=3)
    [1, 4, 5]
    >>> parse_selection("Steps 1 and 2 first ... Final answer: 7, 2-4, 12, 7", 10, 5)
    [7, 2, 3, 4]
    >>> parse_selection("I cannot help with that.", 10, 3)
    []
    """
    return list(parse_answer(answer, n_presented, k).positions)


def parse_answer(answer: str, n_presented: int, k: int) -> ParsedSelection:
    """Read the selected positions and report how they were found.

    Parameters
    ----------
    answer : str
        The LLM's reply, as text.
    n_presented : int
        How many instances were shown; valid positions are ``0 .. n_presented - 1``.
    k : int
        How many positions were asked for; at most ``k`` are kept.

    Returns
    -------
    ParsedSelection
        The positions plus counts of raw, out-of-range and repeated integers,
        whether the answer named more than ``k`` and which rule applied.

    Raises
    ------
    TypeError
        If ``answer`` is not a string or ``n_presented`` / ``k`` are not integers.
    ValueError
        If ``n_presented < 1`` or ``k < 0``.

    Examples
    --------
    >>> parsed = parse_answer('{"positions": [3, 1, 3, 12]}', n_presented=10, k=5)
    >>> parsed.positions, parsed.n_out_of_range, parsed.n_duplicates, parsed.method
    ((3, 1), 1, 1, 'json')
    >>> text = "Positive: 1, 2\\nNegative: 7, 9\\nThese cover both classes."
    >>> parsed = parse_answer(text, n_presented=10, k=4)
    >>> parsed.positions, parsed.method
    ((1, 2, 7, 9), 'merged')
    """
    return read_answer(answer, n_presented, k).parsed(k)


@dataclass(frozen=True)
class Candidate:
    """One list of integers found in an answer, with what it is.

    Attributes
    ----------
    role : str
        ``"selection"`` (a pick list), ``"rejected"`` ("Not 3, 5", "Excluded:"),
        ``"runners-up"`` ("Runners-up:", "a close second"), ``"example"``
        ("Example format: ...") or ``"quoted"`` (numbers inside a quoted text).
    values : tuple of int
        Its integers in answer order, ranges expanded, not yet range-checked.
    source : str
        ``"json"``, ``"list"`` or the kind of item lines (``"instance"``, ``"bare"``...).
    """

    role: str
    values: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class Reading:
    """Everything read from one answer: every candidate list, and the selection.

    Attributes
    ----------
    candidates : tuple of Candidate
        Every list found, in answer order, each with its role.
    selection : tuple of int
        The selected positions: distinct, ``0 <= p < n_presented``, in answer
        order, **not** cut to ``k`` (a strategy drops what it cannot use, such
        as already-labelled positions, and only then cuts).
    method : str
        The rule that chose the selection (see :class:`ParsedSelection`).

    Examples
    --------
    >>> reading = read_answer("Final: 4, 9, 2\\nRunners-up: 5, 6", n_presented=10, k=2)
    >>> reading.selection, [(c.role, c.values) for c in reading.candidates]
    ((4, 9, 2), [('selection', (4, 9, 2)), ('runners-up', (5, 6))])
    >>> reading.parsed(2).positions
    (4, 9)
    """

    candidates: tuple[Candidate, ...]
    selection: tuple[int, ...]
    method: str
    n_found_raw: int = 0
    n_out_of_range: int = 0
    n_duplicates: int = 0

    def parsed(self, k: int) -> ParsedSelection:
        """The selection cut to ``k``, as :func:`parse_answer` reports it."""
        return ParsedSelection(
            positions=self.selection[:k],
            n_found_raw=self.n_found_raw,
            n_out_of_range=self.n_out_of_range,
            n_duplicates=self.n_duplicates,
            truncated=len(self.selection) > k,
            method=self.method,
        )


def read_answer(answer: str, n_presented: int, k: int | None = None) -> Reading:
    """Read every candidate list of an answer with its role, and the selection.

    Parameters
    ----------
    answer : str
        The LLM's reply.
    n_presented : int
        How many instances were shown.
    k : int, optional
        How many were asked for; it guides which list is the final answer (a
        list of at least ``k / 2`` positions). Default: 1.

    Returns
    -------
    Reading

    See Also
    --------
    parse_answer : The selection cut to ``k``.
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str (the LLM's reply), got {type(answer).__name__}")
    n_presented = _check_int("n_presented", n_presented, minimum=1)
    k = 1 if k is None else _check_int("k", k, minimum=0)

    blocks = [
        block
        for block in _extract_blocks(_normalize(answer), n_presented)
        if any(0 <= v < n_presented for v in block.values)
    ]
    candidates = [Candidate(b.role, tuple(b.values), b.kind) for b in blocks]
    json_found = _json_answer(answer)
    if json_found is not None:
        values, end = json_found
        # A JSON object in prose followed by a text answer is the format, not the answer.
        later = [
            b
            for b in _extract_blocks(_normalize(answer[end:]), n_presented)
            if b.role == "selection"
            and b.standalone
            and len({v for v in b.values if 0 <= v < n_presented}) >= max(1, math.ceil(k / 2))
        ]
        if not end or not later:
            json_candidate = Candidate("selection", tuple(values), "json")
            return _reading([json_candidate, *candidates], values, n_presented, "json")

    selection = [b for b in blocks if b.role == "selection"]
    values, n_clipped, method = _choose(selection, n_presented, k)
    if method == "none":
        lone = _lone_number(answer)
        if lone is not None:
            lone_candidate = Candidate("selection", (lone,), "lone")
            return _reading([*candidates, lone_candidate], [lone], n_presented, "lone")
    return _reading(candidates, values, n_presented, method, n_clipped)


def _lone_number(answer: str) -> int | None:
    """The one number an answer ends with ("7", "[7]", "Final answer: #7.").

    Asked for a single instance (modAL's default ``n_instances=1``), an LLM may
    answer with one number, which no list rule sees. Only a last line that holds
    nothing but the number, optionally after a short label, counts, so prose such
    as "I need 32 examples" is not read as a pick.
    """
    lines = [line for line in answer.strip().splitlines() if line.strip()]
    match = _LONE_RE.match(lines[-1]) if lines else None
    return int(match.group(1)) if match else None


def _reading(
    candidates: list[Candidate],
    values: list[int],
    n_presented: int,
    method: str,
    n_clipped: int = 0,
) -> Reading:
    kept: list[int] = []
    seen: set[int] = set()
    out_of_range, duplicates = n_clipped, 0
    for value in values:
        if not 0 <= value < n_presented:
            out_of_range += 1
        elif value in seen:
            duplicates += 1
        else:
            seen.add(value)
            kept.append(value)
    return Reading(
        candidates=tuple(candidates),
        selection=tuple(kept),
        method=method if values else "none",
        n_found_raw=len(values) + n_clipped,
        n_out_of_range=out_of_range,
        n_duplicates=duplicates,
    )
