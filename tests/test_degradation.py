"""Degradation rules: absolute thresholds and trailing baselines that exclude the day."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from featurehealth import config, degradation

PARAMS = config.load_profile("default")["degradation"]


def _history(n: int = 20, **changes: dict[int, float]) -> pd.DataFrame:
    """One feature, ``n`` calm days; ``changes`` sets column values on given day numbers."""
    frame = pd.DataFrame({
        "feature_id": "login",
        "date": [date(2026, 1, 1) + timedelta(days=i) for i in range(n)],
        "usage_count": 500,
        "p95_latency": 400.0,
        "crash_rate": 0.004,
        "avg_feedback": 4.2,
        "feedback_count": 30,
    })
    for column, by_day in changes.items():
        for day, value in by_day.items():
            frame.loc[day, column] = value
    return frame.assign(crash_count=(frame["crash_rate"] * frame["usage_count"]).round().astype(int))


def test_trailing_statistic_excludes_the_day_and_needs_history() -> None:
    frame = pd.DataFrame({"feature_id": ["a"] * 4 + ["b"], "date": pd.date_range("2026-01-01", periods=5).date,
                          "v": [1.0, 3.0, np.nan, 100.0, 7.0]})
    baseline = degradation.trailing_statistic(frame, "v", days=2, min_periods=1)
    assert baseline.tolist()[:4] == [pytest.approx(x, nan_ok=True) for x in [np.nan, 1.0, 2.0, 3.0]]
    assert np.isnan(baseline.iloc[4])  # another feature's history never leaks in
    with pytest.raises(ValueError, match="min_periods"):
        degradation.trailing_statistic(frame, "v", days=2, min_periods=3)


def test_calm_history_is_never_degraded() -> None:
    flagged = degradation.flag_degraded(_history(), **PARAMS)
    assert not flagged["is_degraded"].any()


def test_relative_latency_rule_fires_only_with_enough_baseline() -> None:
    early = degradation.degradation_rules(_history(p95_latency={3: 900.0}), **PARAMS)
    assert not early.loc[3, "latency_rel"]  # 3 days of history < min_baseline_days
    late = degradation.degradation_rules(_history(p95_latency={15: 900.0}), **PARAMS)
    assert late.loc[15, "latency_rel"] and not late.loc[15, "latency_abs"]
    assert late["latency_rel"].sum() == 1  # the spike does not move the next days' median enough


def test_absolute_rules_and_minimum_usage() -> None:
    frame = _history(crash_rate={2: 0.2}, avg_feedback={4: 2.0}, p95_latency={6: 5000.0}, usage_count={6: 10})
    rules = degradation.degradation_rules(frame, **PARAMS)
    assert rules.loc[2, "crash_abs"] and rules.loc[4, "feedback_abs"]
    assert not rules.loc[6].drop(["feature_id", "date"]).any()  # too few events to judge


def test_feedback_rules_need_enough_ratings() -> None:
    frame = _history(avg_feedback={12: 1.5}, feedback_count={12: 2})
    assert not degradation.degradation_rules(frame, **PARAMS).loc[12, ["feedback_abs", "feedback_rel"]].any()


def test_crash_relative_rule_respects_the_floor() -> None:
    calm = {day: 0.002 for day in range(20)}
    frame = _history(crash_rate={**calm, 14: 0.008})  # 4x the median but under the 0.01 floor
    assert not degradation.degradation_rules(frame, **PARAMS).loc[14, "crash_rel"]
    frame = _history(crash_rate={**calm, 14: 0.012})
    assert degradation.degradation_rules(frame, **PARAMS).loc[14, "crash_rel"]


def test_crash_rules_need_a_minimum_number_of_crashes() -> None:
    calm = {day: 0.002 for day in range(20)}
    frame = _history(crash_rate={**calm, 14: 2 / 150}, usage_count={14: 150})  # two chance crashes
    assert PARAMS["min_crashes"] == 3
    assert not degradation.degradation_rules(frame, **PARAMS).loc[14, ["crash_rel", "crash_abs"]].any()
    assert degradation.degradation_rules(frame, **{**PARAMS, "min_crashes": 2, "crash_max_pvalue": 1.0}).loc[14, "crash_rel"]
    with pytest.raises(ValueError, match="min_crashes must be >= 1"):
        degradation.degradation_rules(frame, **{**PARAMS, "min_crashes": 0})


def test_relative_crash_rule_needs_an_unlikely_count() -> None:
    calm = {day: 0.002 for day in range(20)}  # one crash a day in 500 events
    # 3 crashes in 150 events: twice the floor, but P(>= 3) at the pooled rate is about 0.005.
    frame = _history(crash_rate={**calm, 14: 3 / 150}, usage_count={14: 150})
    assert not degradation.degradation_rules(frame, **PARAMS).loc[14, "crash_rel"]
    assert degradation.degradation_rules(frame, **{**PARAMS, "crash_max_pvalue": 0.01}).loc[14, "crash_rel"]
    with pytest.raises(ValueError, match="crash_max_pvalue must be in"):
        degradation.degradation_rules(frame, **{**PARAMS, "crash_max_pvalue": 0})


def test_poisson_tail_matches_scipy_stats() -> None:
    from scipy import stats

    counts = np.array([0, 1, 3, 6, 2, 0])
    expected = np.array([0.5, 0.0, 1.2, 1.0, np.nan, np.nan])
    tail = degradation.poisson_tail(counts, expected)
    np.testing.assert_array_equal(tail[:4], stats.poisson.sf(counts[:4] - 1, expected[:4]))
    assert tail[0] == 1.0 and np.isnan(tail[4]) and np.isnan(tail[5])


def test_trailing_sum_and_unknown_statistic() -> None:
    frame = pd.DataFrame({"feature_id": ["a"] * 3, "date": pd.date_range("2026-01-01", periods=3).date,
                          "v": [1.0, 2.0, 4.0]})
    assert degradation.trailing_statistic(frame, "v", days=2, min_periods=1, statistic="sum").tolist()[1:] == [1.0, 3.0]
    with pytest.raises(ValueError, match="median, sum"):
        degradation.trailing_statistic(frame, "v", days=2, min_periods=1, statistic="mean")


def test_flag_degraded_returns_a_new_frame_and_checks_params() -> None:
    frame = _history(crash_rate={2: 0.2})
    flagged = degradation.flag_degraded(frame, **PARAMS)
    assert "is_degraded" not in frame.columns and flagged["is_degraded"].sum() == 1
    # It said "min_usage and min_feedback must be >= 0 and the relative multiples > 0", naming no value.
    with pytest.raises(ValueError, match=r"^degradation: p95_latency_rel must be > 0; got 0\.$"):
        degradation.flag_degraded(frame, **{**PARAMS, "p95_latency_rel": 0})
    with pytest.raises(ValueError, match=r"^degradation: min_feedback must be >= 0; got -1\.$"):
        degradation.flag_degraded(frame, **{**PARAMS, "min_feedback": -1})


@pytest.mark.parametrize(("baseline_days", "min_baseline_days"), [(28, 40), (28, 0), (0, 0)])
def test_a_baseline_longer_than_its_window_is_refused_naming_the_group_s_keys(
    baseline_days: int, min_baseline_days: int
) -> None:
    # The message spoke of trailing_statistic's days and min_periods, which no profile has.
    with pytest.raises(ValueError, match=r"^degradation: need 1 <= min_baseline_days <= baseline_days; got "
                                         rf"baseline_days={baseline_days}, min_baseline_days={min_baseline_days}\.$"):
        degradation.flag_degraded(
            _history(), **{**PARAMS, "baseline_days": baseline_days, "min_baseline_days": min_baseline_days}
        )


def test_flag_degraded_names_missing_and_unknown_keys_of_the_group() -> None:
    frame = _history()
    partial = {k: v for k, v in PARAMS.items() if k != "baseline_days"}
    with pytest.raises(ValueError, match="degradation group lacks baseline_days;"):
        degradation.flag_degraded(frame, **partial)
    with pytest.raises(ValueError, match="unknown key baseline_day;"):
        degradation.flag_degraded(frame, **partial, baseline_day=28)


def test_the_group_keys_are_the_default_profiles_and_the_rules_keywords() -> None:
    import inspect

    keywords = inspect.signature(degradation.degradation_rules).parameters
    required = [k for k, p in keywords.items() if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    assert list(degradation.REQUIRED_SETTINGS) == required
    assert set(degradation.REQUIRED_SETTINGS) | set(degradation.OPTIONAL_SETTINGS) == set(PARAMS)


def test_thresholds_are_strict_and_minimum_counts_inclusive() -> None:
    abs_ms = PARAMS["p95_latency_abs_ms"]
    frame = _history(usage_count={3: PARAMS["min_usage"]}, p95_latency={3: abs_ms + 1, 5: abs_ms},
                     avg_feedback={8: 2.0}, feedback_count={8: PARAMS["min_feedback"]})
    rules = degradation.degradation_rules(frame, **PARAMS)
    assert rules.loc[3, "latency_abs"]  # exactly min_usage events: the day is judged
    assert not rules.loc[5, "latency_abs"]  # at the threshold is not above it
    assert rules.loc[8, "feedback_abs"]  # exactly min_feedback ratings are enough


def test_crash_floor_alone_holds_back_the_relative_rule() -> None:
    calm = {day: 0.002 for day in range(20)}
    any_count = {**PARAMS, "crash_max_pvalue": 1.0}  # only the multiple and the floor decide
    under_floor = _history(crash_rate={**calm, 14: 0.008})  # 4x the median, 4 crashes, under the floor
    assert 0.008 > PARAMS["crash_rate_rel"] * 0.002 and 0.008 < PARAMS["crash_rate_rel_floor"]
    assert not degradation.degradation_rules(under_floor, **any_count).loc[14, "crash_rel"]
    over_floor = _history(crash_rate={**calm, 14: 0.012})
    assert degradation.degradation_rules(over_floor, **any_count).loc[14, "crash_rel"]


def test_baselines_learn_only_from_days_with_enough_usage() -> None:
    # Ten early days too small to judge with a slow p95 must not raise the median baseline.
    frame = _history(usage_count={d: 10 for d in range(10)}, p95_latency={**{d: 2000.0 for d in range(10)}, 19: 900.0})
    rules = degradation.degradation_rules(frame, **PARAMS)
    assert 900.0 > PARAMS["p95_latency_rel"] * 400.0
    assert rules.loc[19, "latency_rel"]


def test_crash_baseline_and_pooled_rate_learn_only_from_judged_days() -> None:
    # Ten early days too small to judge, each with 5 crashes in 10 events: neither the median
    # crash rate nor the pooled rate of the p-value may count them. Day 19: 10 crashes in 500
    # events against 2 in 500 on the judged days.
    frame = _history(usage_count={d: 10 for d in range(10)}, crash_rate={**{d: 0.5 for d in range(10)}, 19: 0.02})
    assert degradation.degradation_rules(frame, **PARAMS).loc[19, "crash_rel"]


def test_feedback_baseline_learns_only_from_days_with_enough_ratings() -> None:
    # Ten early days with too few ratings to judge and a low average must not lower the baseline.
    frame = _history(feedback_count={d: 2 for d in range(10)}, avg_feedback={**{d: 2.6 for d in range(10)}, 19: 3.3})
    assert 3.3 < PARAMS["feedback_rel_drop"] * 4.2
    assert degradation.degradation_rules(frame, **PARAMS).loc[19, "feedback_rel"]


def test_crash_pvalue_adds_half_a_crash_to_a_clean_history() -> None:
    frame = _history(crash_rate={**{d: 0.0 for d in range(20)}, 14: 1 / 500})
    window = {"days": PARAMS["baseline_days"], "min_periods": PARAMS["min_baseline_days"]}
    pvalue = degradation.crash_pvalue(frame, window=window, judged=frame["usage_count"] >= PARAMS["min_usage"])
    # 14 clean days of 500 events: the pooled rate is 0.5 crash in 7000 events.
    expected = degradation.poisson_tail(np.array([1]), np.array([500 * 0.5 / 7000]))[0]
    assert 0 < pvalue.loc[14] == pytest.approx(expected)
