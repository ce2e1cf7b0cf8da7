"""Paired block bootstrap of PR-AUC differences: resampled average precision, runs of days, the interval."""

from __future__ import annotations

import numpy as np
import pytest

from featurehealth import bootstrap


def test_average_precision_of_resampled_groups_is_that_of_their_rows_repeated() -> None:
    from sklearn.metrics import average_precision_score

    y = np.array([1, 0, 1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.9, 0.4, 0.4, 0.3, 0.2, 0.9])  # ties, as calibrated scores have
    groups = np.array([0, 1, 1, 2, 2, 0, 1])  # group 2 holds no positive
    counts = np.array([[1, 1, 1], [2, 0, 1], [0, 3, 1], [0, 0, 2]])  # the last draws no positive
    repeats = counts[:, groups]
    expected = [average_precision_score(np.repeat(y, r), np.repeat(scores, r)) for r in repeats[:3]]
    measured = bootstrap.resampled_average_precision(y, scores, groups, counts)
    assert np.allclose(measured[:3], expected) and np.isnan(measured[3])


def test_the_pr_auc_difference_interval_resamples_whole_days_with_both_models_together() -> None:
    days = np.repeat(np.arange(6), 3)
    y = np.tile([1, 0, 0], 6)
    same = np.tile([0.8, 0.3, 0.1], 6)
    # Scores of one model for both: every resample gives the same PR-AUC to both, the difference is 0.
    assert bootstrap.pr_auc_difference_interval(y, same, same, days, block_days=1, seed=7) == (0.0, 0.0)
    # One model ranks the positive first on every day, the other on half of them: the paired
    # interval is above 0 throughout (unpaired, the two spreads would overlap 0).
    worse = np.where(days % 2 == 0, same, np.tile([0.3, 0.8, 0.1], 6))
    low, high = bootstrap.pr_auc_difference_interval(y, same, worse, days, block_days=1, seed=7)
    assert 0 < low <= high <= 1
    assert bootstrap.pr_auc_difference_interval(y, same, worse, days, block_days=1, seed=7) == (low, high)  # seeded
    # As many resamples as asked: one resample is one difference, both ends of the interval.
    one = bootstrap.pr_auc_difference_interval(y, same, worse, days, block_days=1, seed=7, resamples=1)
    assert one[0] == one[1]


def test_circular_block_draws_take_runs_of_consecutive_days() -> None:
    rng = np.random.default_rng(3)
    draws = bootstrap.circular_block_draws(7, block_days=3, resamples=50, rng=rng)
    assert draws.shape == (50, 7) and (draws.sum(axis=1) == 7).all()  # as many days as the holdout has
    # A block as long as the holdout draws every day once, whatever its start.
    assert (bootstrap.circular_block_draws(6, block_days=6, resamples=20, rng=rng) == 1).all()
    # Blocks longer than the holdout are cut to it; a day alone is the plain day bootstrap.
    assert (bootstrap.circular_block_draws(4, block_days=9, resamples=5, rng=rng) == 1).all()
    assert (bootstrap.circular_block_draws(6, block_days=1, resamples=200, rng=rng) != 1).any()


def test_circular_block_draws_refuse_a_block_shorter_than_a_day() -> None:
    with pytest.raises(ValueError, match="block_days must be a whole number >= 1; got 0"):
        bootstrap.circular_block_draws(6, block_days=0, resamples=5, rng=np.random.default_rng(0))


def test_the_pr_auc_difference_interval_widens_when_the_models_differ_on_a_run_of_days() -> None:
    # The candidate is better only on days 0-9 of 30, as around one incident whose label covers a
    # horizon of days: those days are one piece of evidence, not ten, and blocks of them say so.
    days = np.repeat(np.arange(30), 3)
    y = np.tile([1, 0, 0], 30)
    candidate = np.tile([0.8, 0.3, 0.1], 30)
    current = np.where(days < 10, np.tile([0.3, 0.8, 0.1], 30), candidate)
    by_day = bootstrap.pr_auc_difference_interval(y, candidate, current, days, block_days=1, seed=7)
    by_block = bootstrap.pr_auc_difference_interval(y, candidate, current, days, block_days=10, seed=7)
    assert by_block[1] - by_block[0] > by_day[1] - by_day[0]


def test_the_pr_auc_difference_interval_is_the_middle_95_percent_of_the_resampled_differences() -> None:
    from sklearn.metrics import average_precision_score

    # Three days; the model ranks the positive last on day 0 only, the baseline first on each.
    days = np.repeat(np.arange(3), 2)
    y = np.tile([1, 0], 3)
    model = np.array([0.2, 0.8, 0.9, 0.1, 0.9, 0.1])
    baseline = np.tile([0.9, 0.1], 3)
    day_0 = average_precision_score(y[:2], model[:2]) - average_precision_score(y[:2], baseline[:2])
    # 1 resample in 27 (3.7 %) draws day 0 alone, the lowest difference: below the 2.5th percentile of
    # the differences, not the 5th. The 8 in 27 without day 0 give 0, the highest.
    low, high = bootstrap.pr_auc_difference_interval(y, model, baseline, days, block_days=1, seed=7, resamples=20_000)
    assert (low, high) == (pytest.approx(day_0), 0.0)
