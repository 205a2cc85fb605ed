"""The paired bootstrap interval shared by evaluate and the bench scripts."""

from __future__ import annotations

import math

import numpy as np

from activellm_modal.experiments.intervals import paired_interval


def test_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    hits = sum(
        (iv := paired_interval(rng.normal(0.01, 0.03, 30), n_resamples=999)).low <= 0.01 <= iv.high
        for _ in range(200)
    )
    assert 175 <= hits <= 200  # 0.95 * 200 = 190, with slack for bootstrap's undercoverage


def test_pairing_removes_the_shared_draw_effect() -> None:
    rng = np.random.default_rng(0)
    draw_effect = rng.normal(0, 0.05, 40)  # some draws are easy for everyone
    random_acc = 0.6 + draw_effect
    strategy_acc = random_acc + 0.01 + rng.normal(0, 0.002, 40)
    paired = paired_interval(strategy_acc - random_acc)
    assert paired.above_zero and paired.half_width < 0.002
    assert math.isclose(paired.mean, 0.01, abs_tol=0.002)


def test_edge_cases_and_formatting() -> None:
    one = paired_interval([0.03])
    assert one.n == 1 and math.isnan(one.low) and one.points() == "+3.0"
    assert math.isnan(paired_interval([]).mean)
    iv = paired_interval([0.0, 0.01, -0.01, 0.02, -0.02, 0.0])
    assert not iv.above_zero and iv.low < 0 < iv.high
    assert iv.draws_for(iv.half_width / 2) >= 4 * iv.n - 1
    assert paired_interval([1, 2, 3, np.nan]).n == 3
