"""The *read* step of a query: from an answer to the nominated prompt positions.

One call reads an answer the way the strategy needs it: every candidate list
with its role (:func:`~activellm_modal.query.parsing.read_answer`), label guesses
when they were asked for (:func:`~activellm_modal.query.balance.read_picks`), and
copies of the presented texts mapped back to positions
(:func:`~activellm_modal.query.echo.resolve_echo`). Nothing is cut to ``k`` here:
the strategy first drops positions it cannot use (already-labelled instances
shown again) and only then narrows the nominations to ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence

from activellm_modal.query.balance import Picks, read_picks
from activellm_modal.query.echo import resolve_echo
from activellm_modal.query.parsing import read_answer

__all__ = ["read_nominations"]


def read_nominations(answer: str, texts: Sequence[str], k: int, *, guesses: bool) -> Picks:
    """Every position the answer selects, in its order, with label guesses.

    Parameters
    ----------
    answer : str
        The LLM's answer.
    texts : sequence of str
        The presented texts; position ``p`` showed ``texts[p]``.
    k : int
        How many were asked for (guides which list is the final answer).
    guesses : bool
        The prompt asked for ``{"picks": [{"position", "label"}]}``.

    Returns
    -------
    Picks
        Distinct valid positions, not cut to ``k``; ``candidates`` holds every
        list the reader found with its role.

    Examples
    --------
    >>> picks = read_nominations("Final: 2, 0\\nRunners-up: 1", ["a", "b", "c"], 1, guesses=False)
    >>> picks.positions, [c.role for c in picks.candidates]
    ([2, 0], ['selection', 'runners-up'])
    """
    if guesses:
        return read_picks(answer, len(texts), k)
    reading = read_answer(answer, len(texts), k)
    # Small models answer by copying texts under their own numbering; mapping the
    # copies back to positions beats reading that numbering as positions.
    echo = resolve_echo(
        answer, texts, reading.selection, k, parsed_method=reading.method, keep_all=True
    )
    method = "echo" if echo.source == "echo" else reading.method
    positions = list(echo.positions)
    return Picks(
        positions,
        [None] * len(positions),
        method,
        echo.copied_list,
        echo.note,
        candidates=reading.candidates,
    )
