"""Choosing the final answer among the candidates of an answer."""

from __future__ import annotations

import math

from activellm_modal.query.parsing.lines import _Block

# --------------------------------------------------------------------------- #
# Helpers: choosing the final answer
# --------------------------------------------------------------------------- #


def _choose(blocks: list[_Block], n_presented: int, k: int) -> tuple[list[int], int, str]:
    """Pick the final candidate and join its continuations.

    Returns the values, how many range members were clipped from them, and the method.
    """
    if not blocks:
        return [], 0, "none"
    distinct = [{v for v in b.values if 0 <= v < n_presented} for b in blocks]
    enough = max(1, math.ceil(k / 2))
    references = _references(blocks, distinct, k)
    latest_first = [i for i in reversed(range(len(blocks))) if not references[i]]
    # The last answer-sized candidate that fills its line (a mention in prose after the
    # answer, "I ignored instance 7", is no answer); then any answer-sized one; failing
    # that, the last one that fills its line.
    final = next((i for i in latest_first if len(distinct[i]) >= enough and blocks[i].final), None)
    if final is None:
        final = next(
            (i for i in latest_first if len(distinct[i]) >= enough and blocks[i].standalone),
            None,
        )
    if final is None:
        final = next((i for i in latest_first if len(distinct[i]) >= enough), None)
    if final is None:
        final = next((i for i in latest_first if blocks[i].standalone), len(blocks) - 1)

    picked = [final]
    seen = set(distinct[final])
    after = final + 1
    while len(seen) < k and after < len(blocks) and _continues(blocks, distinct, after, seen):
        picked.append(after)
        seen |= distinct[after]
        after += 1
    if len(seen) < k:
        # Going back, every part counts (a reply cut into several turns), so
        # this does not stop at k; the result is cut to k afterwards.
        before = final - 1
        while before >= 0 and _continues(blocks, distinct, before, seen):
            picked.insert(0, before)
            seen |= distinct[before]
            before -= 1

    values = [v for i in picked for v in blocks[i].values]
    clipped = sum(blocks[i].n_clipped for i in picked)
    if len(picked) > 1:
        main = blocks[final].values
        if picked[0] == final and len(main) >= 3 and main == sorted(set(main)):
            # An answer listed in position order carries no ranking; a later "one more"
            # joins it in that order, as a reader adding it to the list would.
            values = sorted(values)
        return values, clipped, "merged"
    return values, clipped, "list" if blocks[final].kind == "list" else "items"


def _references(blocks: list[_Block], distinct: list[set[int]], k: int) -> list[bool]:
    """Which candidates only point back into earlier complete ones.

    "Instances like 1, 13, 23, etc. are hard" after the final list is such a
    reference. A list on its own line is not: it may be a short final answer
    after a block that went through every instance.
    """
    covered: set[int] = set()  # positions of the earlier candidates holding k or more
    flags = []
    for block, positions in zip(blocks, distinct, strict=True):
        flags.append(
            not block.standalone and len(positions) < k and bool(covered) and positions <= covered
        )
        if len(positions) >= k:
            covered |= positions
    return flags


def _continues(blocks: list[_Block], distinct: list[set[int]], i: int, seen: set[int]) -> bool:
    """Whether candidate ``i`` is a stand-alone part of the answer next to ``seen``.

    A part adds mostly new positions. A candidate that holds most of ``seen``
    is no part but the pool the answer was picked from, or a draft of it.
    """
    shared = len(distinct[i] & seen)
    return (
        blocks[i].standalone
        and 2 * (len(distinct[i]) - shared) > len(distinct[i])
        and 2 * shared < len(seen)
    )
