"""Which rows are shown: seeded, uniform, random order, near-duplicates skipped."""

from __future__ import annotations

import numpy as np
import pytest

from activellm_modal.query.sampling import duplicate_key, present, random_sampler


def render_from(texts):
    return lambda rows: [texts[i] for i in rows]


def test_random_sampler_is_distinct_seeded_and_cheap_on_huge_pools():
    a = random_sampler(10_000_000, 200, np.random.default_rng(7))
    b = random_sampler(10_000_000, 200, np.random.default_rng(7))
    assert len(set(a.tolist())) == 200 and a.tolist() == b.tolist()
    assert sorted(random_sampler(5, 10, np.random.default_rng(0)).tolist()) == [0, 1, 2, 3, 4]


def test_sample_is_roughly_uniform():
    counts = np.zeros(20)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        counts[random_sampler(20, 5, rng)] += 1
    # Each row is expected 500 times; a biased sampler (e.g. pool order) would be far off.
    assert counts.min() > 400 and counts.max() < 600


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Great movie!", "great   movie"),
        ("RT very amusing", "very amusing"),
        ("see http://x.co/abc now", "see now"),
        ("It's fine.", "its fine"),
    ],
)
def test_duplicate_key_ignores_case_punctuation_space_urls_and_retweets(a, b):
    assert duplicate_key(a) == duplicate_key(b)


def test_present_skips_duplicates_and_keeps_rows_aligned_with_texts():
    texts = ["good", "Good!", "bad", "BAD", "meh", "fine", "ok"]
    rows, shown = present(len(texts), 10, np.random.default_rng(1), render_from(texts))
    assert [texts[r] for r in rows] == shown
    assert len({duplicate_key(t) for t in shown}) == len(shown) == 5


def test_present_draws_beyond_the_first_batch_when_duplicates_eat_it():
    texts = ["same text"] * 900 + [f"unique {i}" for i in range(100)]
    _, shown = present(len(texts), 50, np.random.default_rng(0), render_from(texts))
    assert len(shown) == 50 and len(set(shown)) == 50


def test_present_can_keep_duplicates_and_accepts_a_custom_sampler():
    texts = ["x", "x", "y"]
    first_rows = lambda n, size, rng: np.arange(min(n, size))  # noqa: E731
    rows, shown = present(3, 3, np.random.default_rng(), render_from(texts), first_rows, False)
    assert rows.tolist() == [0, 1, 2] and shown == texts
