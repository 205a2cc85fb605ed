"""Filling short answers and flagging trivial ones."""

from __future__ import annotations

import numpy as np
import pytest

from activellm_modal.query.selection import complete_selection, is_degenerate


def test_enough_positions_need_no_fill():
    chosen, filled = complete_selection([5, 2, 9, 1], 10, 3, np.random.default_rng(0))
    assert chosen == [5, 2, 9] and filled == []


@pytest.mark.parametrize("given", [[], [3], [0, 1, 2, 3, 4, 5, 6]])
def test_fill_is_distinct_new_and_seeded(given):
    k = 8
    a = complete_selection(given, 12, k, np.random.default_rng(3))
    b = complete_selection(given, 12, k, np.random.default_rng(3))
    assert a == b
    chosen, filled = a
    assert len(chosen) + len(filled) == k
    assert len(set(chosen + filled)) == k and not set(filled) & set(chosen)
    assert all(0 <= p < 12 for p in filled)


def test_custom_fallback_is_used_and_checked():
    lowest = lambda candidates, n, rng: candidates[:n]  # noqa: E731
    assert complete_selection([4], 6, 3, np.random.default_rng(), lowest) == ([4], [0, 1])
    broken = lambda candidates, n, rng: [4] * n  # noqa: E731
    with pytest.raises(ValueError, match="fallback"):
        complete_selection([4], 6, 3, np.random.default_rng(), broken)


def test_k_beyond_presented_is_an_error():
    with pytest.raises(ValueError, match="exceeds"):
        complete_selection([], 3, 4, np.random.default_rng())


@pytest.mark.parametrize(
    ("positions", "k", "expected"),
    [
        (list(range(32)), 32, True),
        (list(range(1, 33)), 32, True),
        (list(range(1, 64, 2)), 32, True),  # the paper's MNLI answer: odd numbers
        ([0, 1, 5, 6, 12, 15, 17, 19, 22, 25], 10, False),  # GPT-4's SST-2 run 1 start
        ([0, 1, 2], 32, False),  # too short to judge
        (list(range(12)), 32, True),  # a copy of the list cut off by a token limit
        ([50, 51, 52, 53], 32, False),  # a short run elsewhere may be a real choice
        ([7, 7, 7, 7], 4, False),
    ],
)
def test_degenerate_answers(positions, k, expected):
    assert is_degenerate(positions, k) is expected
