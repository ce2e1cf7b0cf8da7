"""Drift monitoring: hand-checked PSI, scipy cross-checks, windows, persistence, retraining."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from featurehealth import config, display, drift, runlog
from featurehealth.dashboard import plots

METRICS = ["p50_latency", "p95_latency", "p99_latency", "crash_rate", "avg_feedback", "usage_count"]


def _settings(**changes: object) -> dict:
    """The default profile's drift group with a trailing reference, plus ``changes``."""
    return {**config.load_profile("default")["drift"], "reference": "trailing", **changes}


def _thresholds(**changes: object) -> drift.Thresholds:
    return drift.Thresholds.from_params(_settings(**changes))


def _fact(*, n_features: int = 4, weeks: int = 12, seed: int = 0, weekend_factor: float = 1.0) -> pd.DataFrame:
    """Feature-day rows from Monday 2026-01-05 with 5% noise; weekend days scaled by ``weekend_factor``."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-05", periods=7 * weeks, freq="D")
    season = np.where(days.day_of_week >= 5, weekend_factor, 1.0)
    columns = {"usage_count": 1000, "p50_latency": 100, "p95_latency": 300, "p99_latency": 600, "crash_rate": 0.01}
    frames = []
    for i in range(n_features):
        values = {name: level * season * rng.normal(1, 0.05, len(days)) for name, level in columns.items()}
        frames.append(pd.DataFrame({
            "feature_id": f"f{i}", "date": days, **values, "avg_feedback": rng.normal(4, 0.2, len(days)),
        }))
    return pd.concat(frames, ignore_index=True)


def _cells(**columns: list) -> pd.DataFrame:
    """Comparison cells for classify/persistence tests; unspecified statistics are neutral."""
    n = len(next(iter(columns.values())))
    base = {"feature_id": [f"f{i}" for i in range(n)], "metric": ["p95_latency"] * n, "n_ref": [56] * n,
            "n_cur": [14] * n, "mean_change": [0.0] * n, "psi": [0.0] * n, "ks_pvalue": [1.0] * n,
            "wasserstein_norm": [0.0] * n}
    return pd.DataFrame({**base, **columns})


# --- PSI, bins, scipy cross-checks ---------------------------------------------------------------

def test_psi_matches_hand_computed_example() -> None:
    edges = np.array([10.0, 20.0])  # bins (-inf, 10], (10, 20], (20, inf)
    reference = np.array([5, 10, 15, 15, 25, 25, 30, 40], dtype=float)  # 2/8, 2/8, 4/8
    current = np.array([1, 12, 20, 20], dtype=float)  # 20 is an edge: lower bin -> 1/4, 3/4, 0
    # By hand, the empty bin floored at 1e-4:
    # (0.25-0.25)ln(1) + (0.75-0.25)ln(3) + (1e-4-0.5)ln(1e-4/0.5) = 0 + 0.549306 + 4.257745 = 4.807051
    assert drift.population_stability_index(reference, current, edges=edges) == pytest.approx(4.807051, abs=1e-6)


def test_psi_counts_values_beyond_the_reference_range() -> None:
    edges = drift.bin_edges(np.arange(1.0, 11.0), n_bins=2)
    far = np.array([1e6, 1e6])
    assert edges.tolist() == [5.5]
    assert drift.bin_proportions(far, edges).tolist() == [0.0, 1.0]
    assert drift.population_stability_index(np.arange(1.0, 11.0), far, edges=edges) > 4
    assert math.isnan(drift.population_stability_index(np.array([]), far, edges=edges))


def test_psi_and_bins_reject_bad_options() -> None:
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        drift.population_stability_index(np.ones(3), np.ones(3), edges=np.array([1.0]), epsilon=0)
    with pytest.raises(ValueError, match="n_bins must be >= 2"):
        drift.bin_edges(np.ones(3), n_bins=1)


def test_bin_edges_merge_ties() -> None:
    crash_rates = np.array([0.0] * 8 + [0.1, 0.2])
    assert drift.bin_edges(crash_rates, n_bins=5).tolist() == pytest.approx([0.0, 0.02])


def test_psi_sees_a_fall_from_a_reference_tied_at_its_maximum() -> None:
    # A small feature rated 5.0 on most reference days: the median edge is the maximum itself, so
    # every reference value fell in the bin below it and a fall to 3.0 read PSI 0.
    reference = np.sort(np.r_[np.full(40, 5.0), np.linspace(4.0, 4.9, 30)])
    edges = drift.bin_edges(reference, n_bins=2)
    assert drift.bin_proportions(reference, edges).tolist() == pytest.approx([30 / 70, 40 / 70, 0.0])
    # By hand, bins (-inf, 5) [5] (5, inf), empty ones floored at 1e-4:
    # (1 - 3/7) ln(7/3) + (1e-4 - 4/7) ln(1e-4 * 7/4) + 0 = 0.484170 + 4.942406 = 5.426576
    psi = drift.population_stability_index(reference, np.full(14, 3.0), edges=edges)
    assert psi == pytest.approx(5.426576, abs=1e-6)
    assert drift.population_stability_index(reference, reference[::5], edges=edges) < 0.1


def test_psi_of_a_constant_reference_sees_a_fall_as_it_sees_a_rise() -> None:
    constant = np.full(70, 2.0)
    edges = drift.bin_edges(constant, n_bins=2)
    fall = drift.population_stability_index(constant, np.full(14, 1.0), edges=edges)
    rise = drift.population_stability_index(constant, np.full(14, 3.0), edges=edges)
    assert fall == pytest.approx(rise) and fall > 4
    assert drift.population_stability_index(constant, np.full(14, 2.0), edges=edges) == 0


def test_ks_and_wasserstein_match_scipy_on_the_window_samples() -> None:
    fact = _fact(n_features=2, weeks=4, seed=3)
    first_weeks = drift.window_slice(fact, date(2026, 1, 5), date(2026, 1, 18))
    reference = drift.fit_reference(first_weeks, metrics=METRICS, n_bins=4)
    current = drift.window_slice(fact, date(2026, 1, 19), date(2026, 2, 1))
    cells = drift.calculate_drift(reference, current, thresholds=_thresholds())
    assert len(cells) == 2 * len(METRICS)
    for cell in cells.itertuples():
        ref = fact.loc[(fact.feature_id == cell.feature_id) & (fact.date < "2026-01-19"), cell.metric].to_numpy()
        cur = fact.loc[(fact.feature_id == cell.feature_id) & (fact.date >= "2026-01-19"), cell.metric].to_numpy()
        expected = stats.ks_2samp(ref, cur)
        assert (cell.n_ref, cell.n_cur) == (14, 14)
        assert cell.ks_stat == pytest.approx(expected.statistic)
        assert cell.ks_pvalue == pytest.approx(expected.pvalue)
        assert cell.wasserstein_norm == pytest.approx(stats.wasserstein_distance(ref, cur) / np.std(ref, ddof=1))
        assert cell.mean_change == pytest.approx(cur.mean() / ref.mean() - 1)


@pytest.mark.parametrize(("n_ref", "n_cur"), [(14, 14), (56, 7), (3, 40), (400, 300), (1, 1)])
def test_ks_tests_without_ties_is_scipys_exact_test(n_ref: int, n_cur: int) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    ref, cur = np.sort(rng.normal(size=n_ref)), np.sort(rng.normal(0.3, size=n_cur))
    statistic, pvalue = drift.ks_tests([(ref, cur)])
    expected = stats.ks_2samp(ref, cur, method="exact")
    assert statistic[0] == pytest.approx(expected.statistic, rel=1e-12)
    assert pvalue[0] == pytest.approx(expected.pvalue, rel=1e-9)


def _ks_pvalue_by_enumeration(ref: np.ndarray, cur: np.ndarray) -> float:
    """Share of all splits of the pooled values into the two sizes whose KS statistic reaches the observed one."""
    pooled = np.r_[ref, cur]
    observed = stats.ks_2samp(ref, cur).statistic
    reached = []
    for chosen in itertools.combinations(range(len(pooled)), len(cur)):
        is_cur = np.isin(np.arange(len(pooled)), chosen)
        reached.append(stats.ks_2samp(pooled[~is_cur], pooled[is_cur]).statistic >= observed - 1e-12)
    return float(np.mean(reached))


@pytest.mark.parametrize(("ref", "cur"), [
    ([0, 0, 0, 0, 1, 2, 2], [0, 2, 2, 3, 3]),
    ([1, 1, 1, 1, 1, 1], [1, 1, 2, 2]),
    ([0.5, 0.5, 1, 2, 2, 2, 3, 4], [2, 2, 4, 4, 4]),
    ([1, 2, 3], [1, 2, 3]),
])
def test_ks_tests_with_ties_is_the_exact_share_of_all_splits(ref: list[float], cur: list[float]) -> None:
    # Tied values cannot be split, so scipy's exact p-value, which assumes continuous data, overstates it.
    ref, cur = np.sort(np.array(ref, dtype=float)), np.sort(np.array(cur, dtype=float))
    statistic, pvalue = drift.ks_tests([(ref, cur)])
    assert statistic[0] == pytest.approx(stats.ks_2samp(ref, cur).statistic)
    assert pvalue[0] == pytest.approx(_ks_pvalue_by_enumeration(ref, cur), rel=1e-9)


def test_crashes_on_days_of_a_crash_free_reference_are_an_alert() -> None:
    # 56 crash-free days, then crashes on 4 of 14: only the split putting all four crash days in the
    # current window is that far apart, p = C(14, 4) / C(70, 4); scipy's p for continuous data says 0.29.
    ref, cur = np.zeros(56), np.r_[np.zeros(10), np.full(4, 0.02)]
    statistic, pvalue = drift.ks_tests([(ref, cur)])
    assert pvalue[0] == pytest.approx(math.comb(14, 4) / math.comb(70, 4), rel=1e-9)
    cell = {"n_ref": 56, "n_cur": 14, "ks_stat": statistic[0], "ks_pvalue": pvalue[0],
            **drift.compare_samples(ref, cur, edges=drift.bin_edges(ref, n_bins=2))}
    cells = drift.classify(pd.DataFrame([cell]), thresholds=_thresholds())
    assert cells.loc[0, ["status", "triggered"]].tolist() == ["alert", "psi"]


def test_ks_tests_counts_pairs_of_any_sizes_together_as_it_counts_them_alone() -> None:
    rng = np.random.default_rng(5)
    pairs = [(np.sort(np.round(rng.normal(size=n), 1)), np.sort(np.round(rng.normal(0.5, size=m), 1)))
             for n, m in [(28, 14), (14, 28), (28, 14), (7, 7), (28, 14)]]
    pairs.insert(2, (np.array([]), np.array([1.0])))
    together = drift.ks_tests(pairs)
    alone = [drift.ks_tests([pair]) for pair in pairs]
    for index in range(len(pairs)):
        assert together[0][index] == pytest.approx(alone[index][0][0], nan_ok=True)
        assert together[1][index] == pytest.approx(alone[index][1][0], nan_ok=True)
    assert math.isnan(together[0][2]) and math.isnan(together[1][2])  # an empty side is no test


def test_ks_tests_of_two_windows_of_one_value_is_no_evidence() -> None:
    # Crash-free in both windows, the commonest cell: every split compares equal, so p is exactly 1,
    # not 0 (the only point compared is the last value) nor a rounding above 1.
    pairs = [(np.zeros(n), np.zeros(m)) for n, m in [(56, 14), (1, 4), (2, 3)]]
    statistic, pvalue = drift.ks_tests(pairs)
    assert statistic.tolist() == [0.0] * 3
    assert pvalue == pytest.approx([1.0] * 3) and (pvalue <= 1).all()


def test_compare_samples_with_an_empty_side_is_all_nan() -> None:
    cell = drift.compare_samples(np.array([1.0, 2.0]), np.array([]), edges=np.array([1.5]))
    assert all(math.isnan(value) for value in cell.values())


# --- reference --------------------------------------------------------------------------------------

def test_fit_reference_keeps_stats_and_edges_per_cell() -> None:
    frame = pd.DataFrame({
        "feature_id": ["a"] * 5 + ["b"] * 2,
        "date": pd.date_range("2026-01-01", periods=7, freq="D"),
        "crash_rate": [0.1, 0.2, 0.3, 0.4, None, 1.0, 1.0],
    })
    stats_ = drift.fit_reference(frame, metrics=["crash_rate"], n_bins=2).stats.set_index("feature_id")
    assert stats_.loc["a", "count"] == 4  # the missing day is no observation
    assert stats_.loc["a", "mean"] == pytest.approx(0.25)
    assert stats_.loc["a", "std"] == pytest.approx(np.std([0.1, 0.2, 0.3, 0.4], ddof=1))
    assert stats_.loc["a", "q50"] == pytest.approx(0.25)
    assert stats_.loc["a", "bin_edges"] == pytest.approx([0.25])
    assert stats_.loc["b", "bin_edges"] == [np.nextafter(1.0, 0.0), 1.0]  # constant: below, at, above 1.0
    assert frame["crash_rate"].isna().sum() == 1  # input untouched


def _normal_fact(*, n_features: int, shift_days: int = 0, seed: int = 0) -> pd.DataFrame:
    """12 weeks of p50_latency ~ N(100, 5) per feature; the last ``shift_days`` days moved up one sd."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-05", periods=84, freq="D")
    values = rng.normal(100, 5, (n_features, len(days)))
    values[:, len(days) - shift_days:] += 5 * (shift_days > 0)
    return pd.DataFrame({
        "feature_id": np.repeat([f"f{i:03d}" for i in range(n_features)], len(days)),
        "date": np.tile(days, n_features),
        "p50_latency": values.ravel(),
    })


def test_psi_of_an_unchanged_metric_stays_below_psi_warn_at_the_default_windows() -> None:
    # 200 features are 200 seeded draws of 56 reference vs 14 current days with no change at all.
    settings = _settings(metrics=["p50_latency"])
    cells = drift.monitor(_normal_fact(n_features=200), settings=settings).cells
    assert (cells["n_cur"] == 14).all()
    assert cells["psi"].median() < settings["psi_warn"]
    assert (cells["psi"] >= settings["psi_alert"]).mean() < 0.2


def test_psi_still_alerts_on_a_one_standard_deviation_shift() -> None:
    settings = _settings(metrics=["p50_latency"])
    cells = drift.monitor(_normal_fact(n_features=50, shift_days=21), settings=settings).cells
    assert cells["psi"].median() >= settings["psi_alert"]
    assert (cells["psi"] >= settings["psi_alert"]).mean() > 0.5
    alerts = cells[cells["raw_status"] == "alert"]  # KS p < ks_pvalue_alert decides which of them alert
    assert len(alerts) > 0 and alerts["triggered"].str.contains("psi").mean() > 0.5


def test_psi_bin_count_keeps_the_chance_psi_within_its_limit() -> None:
    assert drift.psi_bin_count(70, 14, n_bins=10, max_chance_psi=0.05) == 2  # even 2 bins exceed it: the floor
    assert drift.psi_bin_count(10_000, 10_000, n_bins=10, max_chance_psi=0.05) == 10  # plenty of data: the cap
    for n_ref, n_cur in [(182, 56), (364, 91), (1000, 200)]:
        k = drift.psi_bin_count(n_ref, n_cur, n_bins=50, max_chance_psi=0.05)
        assert 2 < k < 50
        assert (k - 1) * (1 / n_ref + 1 / n_cur) <= 0.05 < k * (1 / n_ref + 1 / n_cur)
    with pytest.raises(ValueError, match="n_bins must be >= 2"):
        drift.psi_bin_count(70, 14, n_bins=1, max_chance_psi=0.05)


def test_fit_reference_bins_follow_the_current_window() -> None:
    frame = _normal_fact(n_features=1)
    kwargs = {"metrics": ["p50_latency"], "n_bins": 10}
    assert len(drift.fit_reference(frame, **kwargs).stats.loc[0, "bin_edges"]) == 9
    fitted = drift.fit_reference(frame, **kwargs, current_days=14, max_chance_psi=0.05)
    assert len(fitted.stats.loc[0, "bin_edges"]) == 1
    with pytest.raises(ValueError, match="both current_days and max_chance_psi"):
        drift.fit_reference(frame, **kwargs, current_days=14)


def test_fit_reference_rejects_unknown_metric_and_missing_column() -> None:
    frame = _fact(n_features=1, weeks=1)
    with pytest.raises(ValueError, match="allowed: usage_count"):
        drift.fit_reference(frame, metrics=["latency"], n_bins=5)
    with pytest.raises(ValueError, match="lacks column"):
        drift.fit_reference(frame.drop(columns="crash_rate"), metrics=["crash_rate"], n_bins=5)


# --- statuses ----------------------------------------------------------------------------------------

def test_status_needs_effect_and_significance() -> None:
    cells = _cells(
        psi=[3.0, 3.0, 0.0, 0.15, 3.0],
        ks_pvalue=[1e-4, 0.5, 1e-6, 0.03, 0.03],
        mean_change=[0.0, 0.9, 0.0, 0.0, 0.0],
    )
    classified = drift.classify(cells, thresholds=_thresholds())
    assert classified["status"].tolist() == ["alert", "ok", "ok", "warn", "warn"]
    assert classified["triggered"].tolist() == ["psi", "", "", "psi", "psi"]
    assert "status" not in cells


def test_small_samples_are_insufficient_never_alert() -> None:
    cells = _cells(n_ref=[56, 56, 6], n_cur=[6, 7, 14], psi=[9.0] * 3, ks_pvalue=[1e-9] * 3)
    assert drift.classify(cells, thresholds=_thresholds())["status"].tolist() == [
        "insufficient_data", "alert", "insufficient_data"]


def test_triggered_names_the_effects_at_the_limit_of_the_status() -> None:
    # A fall of the mean counts as a rise does; an effect only at its warn limit is not named on an alert.
    t = _thresholds()
    cells = _cells(psi=[t.psi_alert, t.psi_warn], mean_change=[-t.mean_change_warn, -t.mean_change_alert],
                   ks_pvalue=[1e-6, 1e-6])
    classified = drift.classify(cells, thresholds=t)
    assert classified["status"].tolist() == ["alert", "alert"]
    assert classified["triggered"].tolist() == ["psi", "mean_change"]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="lacks ks_pvalue_warn"):
        drift.Thresholds.from_params({k: v for k, v in _settings().items() if k != "ks_pvalue_warn"})
    # "drift.psi_warn must not exceed drift.psi_alert." and "drift p-values must satisfy 0 < ks_pvalue_alert
    # <= ks_pvalue_warn <= 1." named no value; a run's own check of the profile says them (config).
    with pytest.raises(ValueError, match=r"^drift\.psi_warn 0\.5 is above drift\.psi_alert 0\.25; set the warn "
                                         r"threshold at or below the alert one"):
        _thresholds(psi_warn=0.5, psi_alert=0.25)
    with pytest.raises(ValueError, match=r"^drift\.ks_pvalue_warn 0\.001 is below drift\.ks_pvalue_alert 0\.01; "):
        _thresholds(ks_pvalue_warn=0.001, ks_pvalue_alert=0.01)
    with pytest.raises(ValueError, match=r"^drift\.ks_pvalue_alert 0 is not valid; use a p-value in \(0, 1\]\.$"):
        _thresholds(ks_pvalue_alert=0)
    with pytest.raises(ValueError, match="prediction_min_rows_per_bin must be >= 1"):
        _thresholds(prediction_min_rows_per_bin=0)


# --- windows, seasonality, persistence --------------------------------------------------------------

def _windows(**changes: object) -> drift.DriftWindows:
    options = dict(as_of=date(2026, 6, 30), data_start=date(2026, 1, 1), reference="trailing", reference_days=56,
                   current_days=14, short_window_days=7, persist_days=3)
    return drift.plan_windows(**{**options, **changes})


def test_windows_are_whole_weeks_and_reference_precedes_every_evaluation() -> None:
    windows = _windows()
    earliest = min(start for start, _ in windows.evaluation_windows())
    assert windows.current_start == date(2026, 6, 17)
    assert windows.reference_end == earliest - timedelta(days=1) == date(2026, 6, 14)
    assert (windows.reference_end - windows.reference_start).days + 1 == 56
    assert windows.short_window() == (date(2026, 6, 24), date(2026, 6, 30))
    assert _windows(short_window_days=0).short_window() is None


def test_training_reference_is_cut_to_whole_weeks_or_falls_back() -> None:
    windows = _windows(reference="training", training_window=(date(2026, 1, 10), date(2026, 4, 2)))
    assert (windows.reference_source, windows.reference_end) == ("training", date(2026, 4, 2))
    assert ((windows.reference_end - windows.reference_start).days + 1) % 7 == 0
    assert windows.reference_start >= date(2026, 1, 10)
    missing = _windows(reference="training")
    assert missing.reference_source == "trailing" and "no training window" in missing.note
    late = _windows(reference="training", training_window=(date(2026, 6, 10), date(2026, 6, 30)))
    assert late.reference_source == "trailing" and "less than a whole week" in late.note
    short_data = _windows(data_start=date(2026, 5, 20))
    assert (short_data.reference_start, short_data.reference_end) == (date(2026, 5, 25), date(2026, 6, 14))
    assert "reference cut to 21 days" in short_data.note
    # Data from exactly three weeks (or one) before the current windows keeps all of them.
    whole = _windows(data_start=date(2026, 5, 25))
    assert (whole.reference_start, whole.reference_end) == (date(2026, 5, 25), date(2026, 6, 14))
    assert "reference cut to 7 days" in _windows(data_start=date(2026, 6, 8)).note
    # A current window longer than the data said "reference cut to 0 days" beside an end before the start.
    no_room = _windows(data_start=date(2026, 6, 10))
    assert "no whole week of it precedes the current windows" in no_room.note
    assert "shorten drift.current_days" in no_room.note and "cut to 0 days" not in no_room.note


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"current_days": 10}, "current_days must be a positive multiple of 7"),
        ({"reference_days": 30}, "reference_days must be"),
        ({"short_window_days": 21}, "must not exceed current_days"),
        ({"short_window_days": 3}, r"0 \(off\) or a positive multiple of 7"),
        ({"persist_days": 0}, "persist_days must be >= 1"),
        ({"reference": "rolling"}, "must be one of training, trailing"),
    ],
)
def test_plan_windows_rejects_bad_options(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _windows(**changes)


def test_window_slice_reads_date_objects_as_the_fact_table_stores_them() -> None:
    fact = _fact(n_features=1, weeks=2)
    as_dates = fact.assign(date=fact["date"].dt.date.astype(object))
    picked = drift.window_slice(as_dates, date(2026, 1, 10), date(2026, 1, 12))
    assert picked["date"].tolist() == [date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)]
    assert drift.window_slice(as_dates, date(2026, 2, 1), date(2026, 1, 1)).empty


def _in_new_york(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each midnight-UTC day as a timezone-aware New York timestamp (19:00 the day before)."""
    return frame.assign(date=frame["date"].dt.tz_localize("UTC").dt.tz_convert("America/New_York"))


def test_window_slice_and_monitor_read_timezone_aware_dates_as_their_day_in_utc() -> None:
    fact = _fact(n_features=2, weeks=12, seed=1)
    aware = _in_new_york(fact)
    picked = drift.window_slice(aware, date(2026, 1, 10), date(2026, 1, 12))
    # Local clocks say 9..11 January; the fact table cuts days in UTC, as signals does.
    assert picked["date"].dt.tz_convert("UTC").dt.date.unique().tolist() == [
        date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)]
    naive_result, aware_result = drift.monitor(fact, settings=_settings()), drift.monitor(aware, settings=_settings())
    assert aware_result.windows == naive_result.windows
    pd.testing.assert_frame_equal(aware_result.cells, naive_result.cells)
    current, history = _episodes(shift=0.3)
    assert drift.prediction_drift(_in_new_york(current), _in_new_york(history), **_prediction_options()) == (
        drift.prediction_drift(current, history, **_prediction_options()))


def test_pure_weekly_seasonality_raises_no_alert() -> None:
    fact = _fact(n_features=6, weeks=12, seed=11, weekend_factor=3.0)
    result = drift.monitor(fact, settings=_settings())
    assert len(result.cells) == 6 * len(METRICS)
    assert (result.cells["status"] == "ok").mean() > 0.9
    assert not result.cells["raw_status"].eq("alert").any()
    # The same data compared without whole weeks (weekends only) does alert: the windows matter.
    weekends = fact.loc[fact["date"].dt.day_of_week >= 5]
    unaligned = drift.calculate_drift(result.reference, weekends, thresholds=result.thresholds)
    assert unaligned.loc[unaligned["metric"] == "p95_latency", "status"].eq("alert").all()


def test_injected_shift_alerts_on_that_feature_and_metric_only() -> None:
    fact = _fact(n_features=5, weeks=12, seed=5)
    recent = fact["date"] > fact["date"].max() - pd.Timedelta(days=21)
    target = recent & (fact["feature_id"] == "f2")
    shifted = fact.assign(p95_latency=fact["p95_latency"].where(~target, fact["p95_latency"] * 2))
    cells = drift.monitor(shifted, settings=_settings()).cells
    alerts = cells.loc[cells["status"] == "alert", ["feature_id", "metric"]].to_numpy().tolist()
    assert alerts == [["f2", "p95_latency"]]
    assert drift.monitor(fact, settings=_settings()).cells["status"].ne("alert").all()
    assert fact["p95_latency"].equals(_fact(n_features=5, weeks=12, seed=5)["p95_latency"])  # input untouched


def test_recent_change_is_a_warn_until_it_persists() -> None:
    fact = _fact(n_features=2, weeks=12, seed=5)
    recent = fact["date"] > fact["date"].max() - pd.Timedelta(days=7)
    shifted = fact.assign(p95_latency=fact["p95_latency"].where(~recent, fact["p95_latency"] * 3))
    strict = drift.monitor(shifted, settings=_settings(persist_days=7)).cells.set_index(["feature_id", "metric"])
    assert strict.loc[("f0", "p95_latency"), ["raw_status", "status"]].tolist() == ["alert", "warn"]
    assert strict.loc[("f0", "p95_latency"), "days_in_alert"] < 7
    loose = drift.monitor(shifted, settings=_settings(persist_days=1)).cells.set_index(["feature_id", "metric"])
    assert loose.loc[("f0", "p95_latency"), "status"] == "alert"


def test_apply_persistence_needs_every_day_and_the_short_window() -> None:
    thresholds = _thresholds()
    alert = drift.classify(_cells(psi=[3.0, 3.0], ks_pvalue=[1e-6, 1e-6]), thresholds=thresholds)
    mixed = drift.classify(_cells(psi=[3.0, 0.0], ks_pvalue=[1e-6, 1.0]), thresholds=thresholds)
    held = drift.apply_persistence([alert, alert, mixed])
    assert held["status"].tolist() == ["alert", "warn"]
    assert held["days_in_alert"].tolist() == [3, 2]
    disagree = drift.apply_persistence([alert, alert], short=mixed)
    assert disagree["status"].tolist() == ["alert", "warn"]
    assert disagree["short_status"].tolist() == ["alert", "ok"]
    warned = drift.classify(_cells(psi=[3.0, 0.15], ks_pvalue=[1e-6, 1e-6]), thresholds=thresholds)
    short_warn = drift.apply_persistence([alert, alert], short=warned)  # a short window at warn does not confirm
    assert short_warn["status"].tolist() == short_warn["short_status"].tolist() == ["alert", "warn"]
    with pytest.raises(ValueError, match="at least today's"):
        drift.apply_persistence([])


# --- prediction drift, model age, retraining, reports -----------------------------------------------

def _scores(start: str, days: int, level: float, n_features: int = 20) -> pd.DataFrame:
    dates = pd.date_range(start, periods=days, freq="D")
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "feature_id": np.repeat([f"f{i}" for i in range(n_features)], days),
        "date": np.tile(dates, n_features),
        "risk_probability": np.clip(level + 0.05 * rng.standard_normal(days * n_features), 0, 1),
    })


def _prediction_options(**changes: object) -> dict:
    return {"windows": _windows(), "n_bins": 10, "thresholds": _thresholds(**changes)}


def _advice(prediction: dict, *, model_age_days: int = 5, drifted_share: float = 0.0,
            training_days: int | None = None, library_changes: list[str] | None = None) -> dict:
    return drift.retrain_recommendation(drifted_share=drifted_share, prediction=prediction, model_age_days=model_age_days,
                                        training_days=training_days, library_changes=library_changes,
                                        thresholds=_thresholds())


def test_prediction_drift_compares_scores_with_history_before_the_current_window() -> None:
    # The current window is 2026-06-17..30; history also holds high scores inside it, which must not count.
    history = pd.concat([_scores("2026-05-01", 47, 0.2), _scores("2026-06-17", 14, 0.8)], ignore_index=True)
    calm = drift.prediction_drift(_scores("2026-06-17", 14, 0.2), history, **_prediction_options())
    # Whole weeks back from 2026-06-16: six of them (05-06..06-16); 05-01..05-05 are left out.
    assert calm["available"] and (calm["n_ref"], calm["n_cur"]) == (20 * 42, 20 * 14)
    assert (calm["n_blocks_ref"], calm["n_blocks_cur"]) == (20 * 6, 20 * 2)
    assert calm["status"] == "ok" and calm["psi_pvalue"] > 0.05 and calm["reason"] is None
    risen = drift.prediction_drift(_scores("2026-06-17", 14, 0.6), history, **_prediction_options())
    assert risen["status"] == "alert" and risen["psi"] > 1 and risen["psi_pvalue"] == 1 / (1 + drift.PERMUTATIONS)
    renamed = history.rename(columns={"risk_probability": "probability"})  # the model step's holdout file
    assert drift.prediction_drift(_scores("2026-06-17", 14, 0.6), renamed, **_prediction_options()) == risen


def test_prediction_drift_can_reach_a_stricter_alert_level() -> None:
    # 499 shuffles give no p-value below 1/500: at ks_pvalue_alert 0.001 a plain rise read warn, never alert.
    history = _scores("2026-05-01", 47, 0.2)
    risen = drift.prediction_drift(_scores("2026-06-17", 14, 0.6), history,
                                   **_prediction_options(ks_pvalue_alert=0.001))
    assert risen["status"] == "alert" and risen["psi_pvalue"] < 0.001


@pytest.mark.parametrize("n_permutations", [0, -5])
def test_block_permutation_psi_refuses_no_shuffles(n_permutations: int) -> None:
    blocks = pd.DataFrame({"feature_id": ["a"] * 4, "block": [0, 1, 2, 3], "current": [False, False, True, True],
                           "value": [0.1, 0.2, 0.3, 0.4]})
    with pytest.raises(ValueError, match=f"n_permutations must be >= 1, got {n_permutations}"):
        drift.block_permutation_psi(blocks, n_bins=2, n_permutations=n_permutations)


def _episodes(*, shift: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Current window (2026-06-17..30) and 5 reference weeks before it of 12 features' scores.

    Each feature has its own level; 6 features have a one-week incident (scores 0.6) in the
    reference weeks and none in the current window: the ci profile's situation. ``shift`` is
    added to every current score.
    """
    days = pd.date_range("2026-05-13", "2026-06-30", freq="D")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"feature_id": np.repeat([f"f{i:02d}" for i in range(12)], len(days)),
                          "date": np.tile(days, 12)})
    index = frame["feature_id"].str[1:].astype(int)
    week = (pd.Timestamp("2026-06-30") - frame["date"]).dt.days // 7
    incident = (index < 6) & (week == index % 5 + 2)
    scores = np.where(incident, 0.6, 0.1 + 0.02 * index) + 0.03 * rng.standard_normal(len(frame))
    current = frame["date"] >= pd.Timestamp("2026-06-17")
    frame["risk_probability"] = np.clip(scores + np.where(current, shift, 0.0), 0, 1)
    return frame.loc[current].reset_index(drop=True), frame.loc[~current].reset_index(drop=True)


def test_prediction_drift_tells_incident_timing_from_drift() -> None:
    current, history = _episodes()
    quiet = drift.prediction_drift(current, history, **_prediction_options())
    # Counted as independent rows, the gap looks significant: what made ci recommend retraining.
    iid = stats.ks_2samp(history["risk_probability"], current["risk_probability"])
    assert quiet["psi"] >= 0.25 and iid.pvalue < 0.01
    assert quiet["status"] == "ok" and quiet["psi_pvalue"] > 0.05 and 0 < quiet["psi_null_median"] < quiet["psi"]
    advice = _advice(quiet)
    assert advice["retrain_recommended"] is False and not advice["checks"]["prediction_psi"]["fired"]
    # The same feature-weeks with every current score raised is drift.
    shifted = drift.prediction_drift(*_episodes(shift=0.3), **_prediction_options())
    assert shifted["status"] == "alert" and shifted["psi_pvalue"] < 0.01
    advice = _advice(shifted)
    assert advice["retrain_recommended"] is True and advice["reasons"][0].startswith("risk scores drifted")


def _slow_drift(*, shift: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Current window (2026-06-17..30) and 3 reference weeks before it of 12 features' scores.

    8 features near 0 creep down by 0.001 a week and 4 near 0.4 creep up by 0.002, so the
    scores as a whole keep their mean and spread (the model's 28-day signals drift slowly);
    ``shift`` is added to every current score.
    """
    days = pd.date_range("2026-05-27", "2026-06-30", freq="D")
    week = ((pd.Timestamp("2026-06-30") - days).days // 7).to_numpy()
    rng = np.random.default_rng(0)
    frames = []
    for i in range(12):
        level, step = (0.006 + 0.001 * i, 0.001) if i < 8 else (0.4, -0.002)
        score = level + step * (week - 2) + 0.0005 * rng.standard_normal(len(days))
        frames.append(pd.DataFrame({"feature_id": f"f{i:02d}", "date": days, "risk_probability": score}))
    frame = pd.concat(frames, ignore_index=True)
    current = frame["date"] >= pd.Timestamp("2026-06-17")
    frame["risk_probability"] = np.clip(frame["risk_probability"] + np.where(current, shift, 0.0), 0, 1)
    return frame.loc[current].reset_index(drop=True), frame.loc[~current].reset_index(drop=True)


def test_slow_drift_of_each_feature_with_the_scores_unchanged_overall_is_no_alert() -> None:
    # Each feature's weeks trend, so the real split is the most extreme shuffle (p 0.002), and scores
    # packed near 0 cross the narrow quantile bins: PSI 2.8 with the mean unchanged advised retraining.
    creep = drift.prediction_drift(*_slow_drift(), **_prediction_options())
    assert creep["psi"] > 1 and creep["psi_pvalue"] < 0.01
    assert abs(creep["mean_change"]) < 0.01 and creep["wasserstein_norm"] < 0.1
    assert creep["status"] == "ok"
    advice = _advice(creep)
    assert advice["retrain_recommended"] is False and not advice["checks"]["prediction_psi"]["fired"]
    # Every current score raised by 0.1: the mean moves by more than half, which is drift.
    risen = drift.prediction_drift(*_slow_drift(shift=0.1), **_prediction_options())
    assert risen["status"] == "alert" and risen["mean_change"] > 0.5
    advice = _advice(risen)
    assert advice["retrain_recommended"] is True
    assert "mean +72% (limit ±50%), Wasserstein 0.55 (limit 1.0), block permutation p=0.002" in advice["reasons"][0]


def test_prediction_effect_gate_needs_the_mean_or_wasserstein_at_the_limit() -> None:
    limits = {"mean_change_limit": 0.5, "wasserstein_limit": 1.0}
    assert not drift.prediction_effect_reached(-0.03, 0.09, **limits)  # the ci runs that advised retraining
    assert drift.prediction_effect_reached(-0.5, 0.09, **limits) and drift.prediction_effect_reached(0.0, 1.0, **limits)
    assert not drift.prediction_effect_reached(float("nan"), 0.9, **limits)  # a reference mean of 0: Wasserstein decides
    # A constant reference (every held-out score 0) defines neither: PSI and its p-value decide alone.
    assert drift.prediction_effect_reached(float("nan"), float("nan"), **limits)
    assert drift.prediction_effect_reached(None, None, **limits)


def test_prediction_drift_is_deterministic() -> None:
    current, history = _episodes()
    first = drift.prediction_drift(current, history, **_prediction_options())
    assert drift.prediction_drift(current, history, **_prediction_options()) == first
    other_seed = drift.prediction_drift(current, history, seed=1, **_prediction_options())
    assert other_seed["psi"] == first["psi"] and other_seed["psi_null_median"] != first["psi_null_median"]


def test_block_permutation_keeps_each_feature_on_both_sides() -> None:
    # Each feature constant: any shuffle of a feature's own weeks leaves both windows as they were,
    # while a shuffle mixing features (or rows) would not.
    blocks = pd.DataFrame({
        "feature_id": np.repeat(["a", "b", "c"], 28), "block": np.tile(np.repeat([0, 1, 2, 3], 7), 3),
        "value": np.repeat([0.1, 0.5, 0.9], 28),
    })
    blocks["current"] = blocks["block"] == 0
    blocks.loc[(blocks["feature_id"] == "c") & (blocks["block"] == 1), "current"] = True
    observed = drift.population_stability_index(
        np.sort(blocks.loc[~blocks["current"], "value"].to_numpy()), blocks.loc[blocks["current"], "value"].to_numpy(),
        edges=drift.bin_edges(np.sort(blocks.loc[~blocks["current"], "value"].to_numpy()), n_bins=4),
    )
    null = drift.block_permutation_psi(blocks, n_bins=4, n_permutations=50)
    assert observed > 0.1 and null == pytest.approx(np.full(50, observed))
    assert drift.block_arrangements(blocks) == pytest.approx(np.log10(4 * 4 * 6))


def test_prediction_drift_on_few_rows_or_weeks_is_insufficient_never_alert() -> None:
    history = _scores("2026-05-01", 47, 0.2, n_features=3)
    few_rows = drift.prediction_drift(_scores("2026-06-17", 14, 0.9, n_features=3), history, **_prediction_options())
    assert few_rows["status"] == "insufficient_data" and few_rows["psi"] > 1
    assert few_rows["reason"] == "42 scored rows in the current window: fewer than 10 per bin x 10 bins"
    assert few_rows["psi_pvalue"] is None
    advice = _advice(few_rows)
    assert advice["retrain_recommended"] is False and advice["checks"]["prediction_psi"]["value"] > 1
    assert advice["checks"]["prediction_psi"]["note"].startswith("insufficient data: 42 scored rows")
    # Enough rows per bin, but 2 features x 3 weeks allow only 3 x 3 arrangements: p could not go below 0.01.
    options = _prediction_options(prediction_min_rows_per_bin=1)
    risen = _scores("2026-06-17", 14, 0.9, n_features=2)
    short = drift.prediction_drift(risen, _scores("2026-06-10", 7, 0.2, n_features=2), **options)
    assert short["status"] == "insufficient_data" and "too few feature-weeks" in short["reason"]
    longer = drift.prediction_drift(risen, _scores("2026-05-20", 28, 0.2, n_features=2), **options)
    assert longer["status"] == "alert"


def test_prediction_drift_not_available_without_inputs() -> None:
    options = _prediction_options()
    absent = drift.prediction_drift(_scores("2026-06-17", 14, 0.2), None, **options)
    assert absent == {"available": False, "reason": "reports/test_predictions.parquet not found"}
    unscored = _scores("2026-06-17", 14, 0.2).drop(columns="risk_probability")
    history = _scores("2026-05-01", 40, 0.2)
    missing_fact = drift.prediction_drift(unscored, history, **options)
    assert not missing_fact["available"] and "run 03_model first" in missing_fact["reason"]
    missing_history = drift.prediction_drift(unscored, history.drop(columns="date"), **options)
    assert not missing_history["available"] and "lack 'date'" in missing_history["reason"]
    no_feature = drift.prediction_drift(unscored, history.drop(columns="feature_id"), **options)
    assert no_feature["reason"] == "test predictions lack 'feature_id'"


def test_without_a_model_prediction_drift_is_not_available_and_never_a_reason_to_retrain() -> None:
    # Training days of one class (a healthy platform): no model, no scores; data drift is still judged.
    none = drift.prediction_drift(_scores("2026-06-17", 14, 0.2), None, **_prediction_options(), model_in_use=False)
    assert none == {"available": False, "reason": "no model (the model step trained none: reports/metrics.json says why)"}
    advice = drift.retrain_recommendation(drifted_share=0.5, prediction=none, model_age_days=None,
                                          thresholds=_thresholds(), model_in_use=False)
    assert advice["retrain_recommended"] is False and advice["reasons"] == []
    assert advice["withheld"].startswith("no model is in use") and advice["withheld_reasons"][0].startswith("50%")
    assert advice["checks"]["prediction_psi"]["note"] == "not available"


def test_training_window_reads_the_card_defensively() -> None:
    nested = {"training_window": {"start": "2026-01-01", "end": "2026-04-30"}}
    flat = {"train_start": "2026-01-01", "train_end": "2026-04-30T00:00:00"}
    split = {"split": {"train_start": "2026-01-01", "train_end": "2026-04-30", "test_start": "2026-05-08"}}
    expected = (date(2026, 1, 1), date(2026, 4, 30))
    assert drift.training_window(nested) == drift.training_window(flat) == drift.training_window(split) == expected
    unreadable = ({}, {"training_window": "soon"}, {"train_start": "2026-05-01", "train_end": "2026-01-01"},
                  {"train_start": 3, "train_end": None}, {"split": {"train_start": "never", "train_end": "2026-01-01"}})
    for card in unreadable:
        assert drift.training_window(card) is None


def test_model_age_counts_days_since_the_model_was_built() -> None:
    card = {"training_window": {"start": "2026-01-01", "end": "2026-03-13"},
            "test_window": {"start": "2026-03-21", "end": "2026-04-23"}, "horizon_days": 7}
    assert drift.model_age_days(card, as_of=date(2026, 4, 30)) == 0  # the run that trained it
    assert drift.model_age_days(card, as_of=date(2026, 5, 31)) == 31
    for broken in ({}, {**card, "horizon_days": None}, {**card, "test_window": {"end": "soon"}}):
        assert drift.model_age_days(broken, as_of=date(2026, 5, 31)) is None


def test_retrain_recommendation_gives_reasons() -> None:
    thresholds = _thresholds()
    calm = {"available": True, "psi": 0.05, "psi_pvalue": 0.5, "psi_null_median": 0.02, "status": "ok"}
    quiet = drift.retrain_recommendation(drifted_share=0.05, prediction=calm, model_age_days=10, thresholds=thresholds)
    assert quiet["retrain_recommended"] is False and quiet["reasons"] == []
    shifted = {"available": True, "psi": 0.9, "psi_pvalue": 0.002, "psi_null_median": 0.02, "status": "alert"}
    loud = drift.retrain_recommendation(
        drifted_share=0.25, prediction=shifted, model_age_days=45, thresholds=thresholds
    )
    assert loud["retrain_recommended"] is True and loud["withheld"] is None
    assert [r.split()[0] for r in loud["reasons"]] == ["25%", "risk", "newest"]
    assert loud["checks"]["prediction_psi"]["pvalue"] == 0.002
    # The same PSI that chance alone reaches as often is no reason.
    noisy = {**shifted, "psi_pvalue": 0.05, "status": "ok"}
    assert not drift.retrain_recommendation(
        drifted_share=None, prediction=noisy, model_age_days=10, thresholds=thresholds
    )["checks"]["prediction_psi"]["fired"]
    unknown = drift.retrain_recommendation(
        drifted_share=None, prediction={"available": False}, model_age_days=None, thresholds=thresholds
    )
    assert unknown["retrain_recommended"] is False
    assert {c["note"] for c in unknown["checks"].values()} == {"not available"}


def test_retrain_is_withheld_for_a_model_built_on_all_the_data() -> None:
    shifted = {"available": True, "psi": 0.9, "psi_pvalue": 0.002, "psi_null_median": 0.02, "status": "alert"}
    fresh = _advice(shifted, model_age_days=0, drifted_share=0.5)
    assert fresh["retrain_recommended"] is False and fresh["reasons"] == []
    assert "newest model version was built on all the data" in fresh["withheld"] and len(fresh["withheld_reasons"]) == 2
    day_old = _advice(shifted, model_age_days=1, drifted_share=0.5)
    assert day_old["retrain_recommended"] is True and day_old["withheld_reasons"] == []


def test_retrain_text_gives_the_reasons_and_why_advice_was_withheld() -> None:
    shifted = {"available": True, "psi": 0.9, "psi_pvalue": 0.002, "psi_null_median": 0.02, "status": "alert"}
    advised = _advice(shifted, model_age_days=1, drifted_share=0.5)
    assert drift.retrain_text(advised).splitlines() == ["retraining recommended:", *(f"- {r}" for r in advised["reasons"])]
    fresh = _advice(shifted, model_age_days=0, drifted_share=0.5)
    lines = drift.retrain_text(fresh).splitlines()
    assert lines[0] == f"retraining not recommended, though checks fired: {fresh['withheld']}"
    assert lines[1:] == [f"- {r}" for r in fresh["withheld_reasons"]] and len(lines) == 3
    calm = {"available": True, "psi": 0.05, "psi_pvalue": 0.5, "psi_null_median": 0.02, "status": "ok"}
    assert drift.retrain_text(_advice(calm, model_age_days=1, drifted_share=0.0)) == "retraining not recommended: no check fired."


def test_retrain_checks_table_has_a_column_per_check_and_blanks_where_an_entry_does_not_apply() -> None:
    # The checks as rows printed 11 columns, mostly NaN, split by pandas into three blocks.
    calm = {"available": True, "psi": 0.35312, "psi_pvalue": 0.054, "psi_null_median": 0.159, "status": "ok",
            "mean_change": -0.2913, "wasserstein_norm": 0.3521}
    table = drift.retrain_checks_table(_advice(calm, model_age_days=0, drifted_share=0.0139, training_days=75,
                                               library_changes=[])["checks"])
    assert table.columns.tolist() == ["drifted_share", "prediction_psi", "model_age_days", "data_growth",
                                      "library_versions"]
    assert table.loc["value"].tolist() == ["0.0139", "0.353", "0", "0", "none changed"]
    assert table.loc["fired"].tolist() == ["False", "False", "False", "False", "False"]
    assert table.loc["training_days", "data_growth"] == "75" and table.loc["training_days", "model_age_days"] == ""
    assert table.loc["pvalue", "drifted_share"] == "" and table.loc["pvalue", "prediction_psi"] == "0.054"
    assert not table.isna().any().any()
    # One block, as 04_drift prints it (expand_frame_repr off): five checks no longer fit in 80 characters.
    with pd.option_context("display.expand_frame_repr", False):
        assert repr(table).splitlines()[0].split() == table.columns.tolist()
    # A check without its input says why in the note row.
    absent = drift.retrain_checks_table(_advice(calm, model_age_days=None, drifted_share=0.0)["checks"])
    assert absent.loc["note", "model_age_days"] == "not available" and absent.loc["value", "model_age_days"] == ""
    # As read back from retrain.json, whose keys are sorted: the common entries still come first.
    read_back = {name: dict(sorted(check.items())) for name, check in sorted(_advice(calm)["checks"].items())}
    assert drift.retrain_checks_table(read_back).index.tolist()[:3] == ["value", "threshold", "fired"]


def test_drifted_share_needs_min_samples_judged_cells() -> None:
    settings = _settings(metrics=["p95_latency", "crash_rate", "usage_count"])
    fact = _fact(n_features=2, weeks=12, seed=5)
    recent = fact["date"] > fact["date"].max() - pd.Timedelta(days=21)
    fact = fact.assign(crash_rate=fact["crash_rate"].where(~recent, fact["crash_rate"] * 4))
    few = drift.drift_report(drift.monitor(fact, settings=settings), prediction={"available": False})
    assert few["summary"]["n_alert"] == 2 and few["summary"]["drifted_share"] is None  # 2 of 6 cells
    enough = drift.drift_report(drift.monitor(fact, settings=settings | {"min_samples": 6}), prediction={})
    assert enough["summary"]["drifted_share"] == pytest.approx(2 / 6, abs=1e-6)


def test_reports_are_json_ready(tmp_path: Path) -> None:
    fact = _fact(n_features=2, weeks=12, seed=5)
    recent = fact["date"] > fact["date"].max() - pd.Timedelta(days=21)
    fact = fact.assign(crash_rate=fact["crash_rate"].where(~recent, fact["crash_rate"] * 4))
    result = drift.monitor(fact, settings=_settings())
    report = drift.drift_report(result, prediction={"available": False, "reason": "x"})
    summary = report["summary"]
    assert summary["n_cells"] == 12 == sum(summary[f"n_{s}"] for s in ("ok", "warn", "alert", "insufficient"))
    assert summary["n_alert"] == 2 and summary["drifted_share"] == pytest.approx(2 / 12, abs=1e-6)
    assert [(a["feature_id"], a["metric"]) for a in report["alerts"]] == [("f0", "crash_rate"), ("f1", "crash_rate")]
    baseline = drift.baseline_report(result)
    assert baseline["reference"]["days"] == 56 and len(baseline["cells"]) == 12
    written = runlog.write_json(tmp_path / "d.json", report)
    assert runlog.read_json(written)["summary"]["windows"]["current"]["days"] == 14
    runlog.write_json(tmp_path / "b.json", baseline)


def test_monitor_rejects_empty_fact() -> None:
    with pytest.raises(ValueError, match="no rows"):
        drift.monitor(_fact(n_features=1, weeks=1).iloc[:0], settings=_settings())


def test_status_heatmap_has_one_row_per_feature() -> None:
    import matplotlib.pyplot as plt

    cells = drift.classify(_cells(psi=[3.0, 0.0], ks_pvalue=[1e-6, 1.0]), thresholds=_thresholds())
    assert drift.status_matrix(cells).to_numpy().tolist() == [["alert"], ["ok"]]
    ax = drift.plot_status_heatmap(cells)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["f0", "f1"]
    # White separators on every cell boundary: 3 horizontal and 2 vertical lines.
    assert sorted(len(lines.get_segments()) for lines in ax.collections) == [2, 3]
    plt.close(ax.figure)
    ax = drift.plot_status_heatmap(cells, max_rows=1)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["f0"] and "1 of 2 features" in ax.get_title()
    plt.close(ax.figure)


def test_status_heatmap_names_its_axes_and_the_row_order() -> None:
    import matplotlib.pyplot as plt

    # Rows are ordered most pressing first (F006, F005, F008, F001, ...), which unlabelled axes left unsaid.
    cells = drift.classify(_cells(psi=[0.0, 3.0], ks_pvalue=[1.0, 1e-6]), thresholds=_thresholds())
    ax = drift.plot_status_heatmap(cells)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["f1", "f0"]
    assert ax.get_xlabel() == "metric" and ax.get_ylabel() == "feature (most pressing first)"
    plt.close(ax.figure)


def test_status_heatmap_writes_each_status_but_ok_in_its_cell() -> None:
    import matplotlib.pyplot as plt

    # Told apart by colour alone, red alert and green ok cells look alike to a red-green colour-blind reader.
    cells = drift.classify(_cells(psi=[3.0, 0.0], ks_pvalue=[1e-6, 1.0]), thresholds=_thresholds())
    ax = drift.plot_status_heatmap(cells)
    assert [(t.get_position(), t.get_text()) for t in ax.texts] == [((0, 0), "alert")]
    # Readable on its cell as drawn (WCAG AA): white on the former red was 4.2:1.
    image = ax.get_images()[0]
    cell = image.cmap(image.norm(image.get_array()[0, 0]))
    assert plots.contrast_ratio(ax.texts[0].get_color(), cell) >= 4.5
    plt.close(ax.figure)


def test_most_severe_ranks_alerts_then_warnings() -> None:
    matrix = pd.DataFrame({"m1": ["ok", "warn", "alert", "ok"], "m2": ["ok", "warn", "ok", "insufficient_data"]},
                          index=pd.Index(["a", "b", "c", "d"], name="feature_id"))
    assert drift.most_severe(matrix, max_rows=3).index.tolist() == ["c", "b", "d"]
    tied = pd.DataFrame({"m1": ["warn", "ok", "warn"]}, index=pd.Index(["e", "a", "b"], name="feature_id"))
    assert drift.most_severe(tied, max_rows=3).index.tolist() == ["b", "e", "a"]  # ties by feature id
    with pytest.raises(ValueError, match="max_rows must be >= 1"):
        drift.most_severe(matrix, max_rows=0)



def test_report_keeps_tiny_pvalues_to_significant_figures() -> None:
    fact = _fact(n_features=2, weeks=12, seed=5)
    recent = fact["date"] > fact["date"].max() - pd.Timedelta(days=21)
    # A complete shift: every current value above every reference value, a KS p-value far below 1e-6.
    fact = fact.assign(crash_rate=fact["crash_rate"].where(~recent, fact["crash_rate"] * 4))
    result = drift.monitor(fact, settings=_settings())
    exact = result.cells.set_index(["feature_id", "metric"])["ks_pvalue"]
    report = drift.drift_report(result, prediction={"available": False, "reason": "x"})
    for cell in [*report["cells"], *report["alerts"]]:
        truth = exact[(cell["feature_id"], cell["metric"])]
        assert cell["ks_pvalue"] == pytest.approx(truth, rel=1e-5)  # six significant figures, not decimals
    tiny = [c["ks_pvalue"] for c in report["alerts"]]
    assert tiny and all(0 < p < 5e-7 for p in tiny)


def test_round_significant_keeps_the_tiniest_p_values() -> None:
    values = pd.Series([0.0123456789, 7.123456789e-12, 1e-305, 5e-324, 0.0, None, 1.0])
    rounded = drift.round_significant(values, digits=6)
    assert rounded.iloc[0] == pytest.approx(0.0123457, rel=1e-12)
    assert rounded.iloc[1] == pytest.approx(7.12346e-12, rel=1e-12)
    # Far below the float's normal range, a p-value is still a positive number, never missing.
    assert rounded.iloc[2] > 0 and rounded.iloc[3] > 0
    assert rounded.iloc[4] == 0 and pd.isna(rounded.iloc[5]) and rounded.iloc[6] == 1.0


def test_status_heatmap_draws_feature_ids_as_written() -> None:
    """Feature ids come from other teams' exports: a ``$`` in one is text, never mathtext that fails the run."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    ids = [r"$\undefinedcmd$ promo", "Pay $5 or $10"]
    cells = drift.classify(_cells(psi=[3.0, 0.0], ks_pvalue=[1e-6, 1.0]).assign(feature_id=ids), thresholds=_thresholds())
    ax = drift.plot_status_heatmap(cells)
    ax.figure.canvas.draw()
    drawn = [Text(text=t.get_text())._preprocess_math(t.get_text()) for t in ax.get_yticklabels()]
    assert drawn == [(i, False) for i in ids]
    plt.close(ax.figure)


def test_status_heatmap_shortens_very_long_feature_ids() -> None:
    import matplotlib.pyplot as plt

    cells = drift.classify(_cells(psi=[3.0, 0.0], ks_pvalue=[1e-6, 1.0]).assign(feature_id=["L" * 500, "f1"]),
                           thresholds=_thresholds())
    ax = drift.plot_status_heatmap(cells)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[1] == "f1" and len(labels[0]) <= display.MAX_LABEL_CHARS
    plt.close(ax.figure)


def test_calculate_drift_psi_uses_the_bins_fixed_on_the_reference() -> None:
    days = pd.date_range("2026-01-05", periods=4, freq="D")
    frame = pd.DataFrame({"feature_id": "f0", "date": days, "p95_latency": [1.0, 2.0, 3.0, 4.0]})
    reference = drift.fit_reference(frame, metrics=["p95_latency"], n_bins=2)
    current = frame.assign(date=days + pd.Timedelta(days=7), p95_latency=[2.0, 3.0, 3.0, 3.0])
    cell = drift.calculate_drift(reference, current, thresholds=_thresholds()).iloc[0]
    # Two bins split at the reference median 2.5: reference 1/2, 1/2; current 1/4, 3/4.
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert cell["psi"] == pytest.approx(expected)


def test_status_effect_at_its_threshold_counts_but_the_p_value_must_be_below() -> None:
    t = _thresholds()
    assert t.ks_pvalue_alert < t.ks_pvalue_warn
    cells = _cells(psi=[t.psi_alert, t.psi_alert], ks_pvalue=[t.ks_pvalue_alert / 2, t.ks_pvalue_alert])
    assert drift.classify(cells, thresholds=t)["status"].tolist() == ["alert", "warn"]
    cells = _cells(psi=[t.psi_warn, t.psi_warn], ks_pvalue=[t.ks_pvalue_warn / 2, t.ks_pvalue_warn])
    assert drift.classify(cells, thresholds=t)["status"].tolist() == ["warn", "ok"]


def test_prediction_status_at_its_limits() -> None:
    # The PSI counts at its limit; the p-value must be below that level's.
    t = _thresholds()
    moved = {"mean_change": t.mean_change_alert, "wasserstein_norm": 0.0, "thresholds": t}
    assert drift.prediction_status(t.psi_alert, t.ks_pvalue_alert / 2, **moved) == "alert"
    assert drift.prediction_status(t.psi_alert, t.ks_pvalue_alert, **moved) == "warn"
    assert drift.prediction_status(t.psi_warn, t.ks_pvalue_warn / 2, **moved) == "warn"
    assert drift.prediction_status(t.psi_warn, t.ks_pvalue_warn, **moved) == "ok"
    # The effect gate at each level: the warn limits give warn, below them ok.
    at_warn = {"mean_change": 0.0, "wasserstein_norm": t.wasserstein_warn, "thresholds": t}
    assert drift.prediction_status(t.psi_alert, t.ks_pvalue_alert / 2, **at_warn) == "warn"
    still = {"mean_change": -t.mean_change_warn / 2, "wasserstein_norm": t.wasserstein_warn / 2, "thresholds": t}
    assert drift.prediction_status(t.psi_alert, t.ks_pvalue_alert / 2, **still) == "ok"


def test_retrain_checks_at_their_limits() -> None:
    t = _thresholds()
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}
    at_share = drift.retrain_recommendation(
        drifted_share=t.drift_share_retrain, prediction=calm, model_age_days=1, thresholds=t)
    assert at_share["checks"]["drifted_share"]["fired"]  # reaching the share is enough
    at_age = drift.retrain_recommendation(
        drifted_share=None, prediction=calm, model_age_days=t.max_model_age_days, thresholds=t)
    older = drift.retrain_recommendation(
        drifted_share=None, prediction=calm, model_age_days=t.max_model_age_days + 1, thresholds=t)
    assert not at_age["checks"]["model_age_days"]["fired"] and older["checks"]["model_age_days"]["fired"]


def test_training_days_counts_the_cards_training_window_inclusive() -> None:
    assert drift.training_days({"training_window": {"start": "2026-01-01", "end": "2026-02-02"}}) == 33
    assert drift.training_days({"training_window": {"start": "2026-01-01", "end": "2026-01-01"}}) == 1
    assert drift.training_days({}) is None and drift.training_days({"training_window": {"end": "2026-02-02"}}) is None


def test_data_growth_fires_at_its_share_of_the_training_days_not_below() -> None:
    # A first model trained on 33 days was kept 30 days (the age limit) while more data trained a better one.
    t = _thresholds(retrain_data_growth=0.5)
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}

    def growth(age: int, days: int) -> dict:
        return drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=age,
                                            training_days=days, thresholds=t)

    assert not growth(16, 33)["checks"]["data_growth"]["fired"] and growth(17, 33)["checks"]["data_growth"]["fired"]
    assert growth(16, 33)["checks"]["data_growth"]["value"] == 0.484848  # the report's JSON holds it rounded
    below, at = growth(16, 34), growth(17, 34)
    assert below["retrain_recommended"] is False and below["checks"]["data_growth"]["fired"] is False
    assert at["retrain_recommended"] is True
    assert at["checks"]["data_growth"] == {"value": 0.5, "threshold": 0.5, "fired": True, "training_days": 34,
                                           "model_age_days": 17}
    assert at["reasons"] == ["newest model trained on 34 days, built 17 days of data ago (advised from 50% more data)"]
    # From 60 training days on the age limit (30) comes first.
    assert not growth(t.max_model_age_days, 62)["checks"]["data_growth"]["fired"]


def test_data_growth_is_off_with_null_and_not_available_without_training_days() -> None:
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}
    off = drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=25, training_days=33,
                                       thresholds=_thresholds(retrain_data_growth=None))
    assert off["retrain_recommended"] is False and off["checks"]["data_growth"]["fired"] is False
    assert off["checks"]["data_growth"]["note"] == "off (drift.retrain_data_growth is null)"
    for age, days in ((25, None), (None, 33)):
        unknown = drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=age,
                                               training_days=days, thresholds=_thresholds())
        check = unknown["checks"]["data_growth"]
        assert (check["value"], check["fired"], check["note"]) == (None, False, "not available")
        assert unknown["retrain_recommended"] is False and unknown["reasons"] == []


def test_data_growth_advice_is_withheld_by_the_usual_rules() -> None:
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}
    fresh = drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=0, training_days=1,
                                         thresholds=_thresholds(retrain_data_growth=0.01))
    assert fresh["retrain_recommended"] is False and fresh["checks"]["data_growth"]["fired"] is False
    unused = drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=20, training_days=33,
                                          thresholds=_thresholds(), model_in_use=False)
    assert unused["retrain_recommended"] is False and unused["withheld"].startswith("no model is in use")
    assert unused["withheld_reasons"] == [
        "newest model trained on 33 days, built 20 days of data ago (advised from 50% more data)"]


def test_retrain_reason_shows_shares_finer_than_a_whole_percent() -> None:
    # At whole per cent, 0.6 % against a 0.5 % limit read "1% of drift cells alert (limit 0%)".
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}
    fine = drift.retrain_recommendation(drifted_share=0.006, prediction=calm, model_age_days=1,
                                        thresholds=_thresholds(drift_share_retrain=0.005))
    assert fine["reasons"] == ["0.6% of drift cells alert (limit 0.5%)"]
    whole = drift.retrain_recommendation(drifted_share=0.25, prediction=calm, model_age_days=1,
                                         thresholds=_thresholds(drift_share_retrain=0.2))
    assert whole["reasons"] == ["25% of drift cells alert (limit 20%)"]


def test_prediction_drift_leaves_out_reference_weeks_missing_a_day() -> None:
    history = _scores("2026-05-01", 47, 0.2)
    history = history[history["date"] != pd.Timestamp("2026-05-10")]  # inside the week 05-06..05-12
    out = drift.prediction_drift(_scores("2026-06-17", 14, 0.2), history, **_prediction_options())
    assert (out["n_blocks_ref"], out["n_ref"]) == (20 * 5, 20 * 35)


def test_days_in_alert_counts_only_the_unbroken_run_back_from_today() -> None:
    thresholds = _thresholds()
    alert = drift.classify(_cells(psi=[3.0, 3.0], ks_pvalue=[1e-6, 1e-6]), thresholds=thresholds)
    mixed = drift.classify(_cells(psi=[3.0, 0.0], ks_pvalue=[1e-6, 1.0]), thresholds=thresholds)
    broken = drift.apply_persistence([alert, mixed, alert])  # f1: alert today, not yesterday, alert before
    assert broken["days_in_alert"].tolist() == [3, 1] and broken["status"].tolist() == ["alert", "warn"]
    # A cell missing from an earlier evaluation had no data there: it was not alerting.
    gone = drift.apply_persistence([alert, alert.iloc[[0]]])
    assert gone["days_in_alert"].tolist() == [2, 1] and gone["status"].tolist() == ["alert", "warn"]


def test_windows_text_says_in_words_where_the_reference_comes_from() -> None:
    # 04_drift printed "reference from training." and a note starting in lower case after it.
    training = drift.windows_text(_windows(reference="training",
                                           training_window=(date(2026, 1, 10), date(2026, 4, 2))).to_dict())
    assert training.startswith("As of 2026-06-30, the reference is the model's training window (")
    late = drift.windows_text(_windows(reference="training",
                                       training_window=(date(2026, 6, 10), date(2026, 6, 30))).to_dict())
    assert "the reference is the 56 days before the current windows. Less than a whole week" in late
    assert late.endswith("used the trailing reference.")


def test_status_heatmap_legend_reads_words() -> None:
    import matplotlib.pyplot as plt

    cells = drift.classify(_cells(psi=[3.0, 0.0], ks_pvalue=[1e-6, 1.0]), thresholds=_thresholds())
    ax = drift.plot_status_heatmap(cells)
    # The dashboard's words (its heatmap's legend reads the same).
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ok", "warn", "alert", "too little data"]
    plt.close(ax.figure)


@pytest.mark.parametrize("digits", [0, -1])
def test_round_significant_refuses_fewer_than_one_digit(digits: int) -> None:
    # 0 rounded to one significant figure without a word, -1 failed inside the string formatting.
    with pytest.raises(ValueError, match=f"digits must be >= 1, got {digits}"):
        drift.round_significant(pd.Series([0.1234]), digits=digits)


def test_retrain_reason_words_only_the_defined_effects_and_unjudged_scores_record_none() -> None:
    t = _thresholds()
    # A reference mean of 0 leaves the relative mean change undefined: the reason names the Wasserstein alone.
    moved = {"available": True, "psi": 0.9, "psi_pvalue": 0.002, "status": "alert", "mean_change": float("nan"),
             "wasserstein_norm": t.wasserstein_alert}
    advice = drift.retrain_recommendation(drifted_share=None, prediction=moved, model_age_days=5, thresholds=t)
    assert advice["reasons"] == [f"risk scores drifted: PSI 0.900 (limit {t.prediction_psi_retrain}), Wasserstein "
                                 f"{t.wasserstein_alert:.2f} (limit {t.wasserstein_alert}), block permutation p=0.002"]
    # Scores too few to judge give no effect sizes to read beside their limits.
    few = {**moved, "mean_change": 0.5, "status": "insufficient_data", "reason": "too few scores"}
    check = drift.retrain_recommendation(drifted_share=None, prediction=few, model_age_days=5,
                                         thresholds=t)["checks"]["prediction_psi"]
    assert (check["mean_change"], check["wasserstein_norm"], check["fired"]) == (None, None, False)


def test_library_versions_fires_when_the_model_in_use_was_saved_under_other_libraries() -> None:
    # After an upgrade of the lock, model.retrain=auto kept the old pickle, which scikit-learn does not promise
    # to score alike, and only 03_model's output said so.
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}

    def advise(changes: list[str] | None, **options: object) -> dict:
        return drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=3, training_days=60,
                                            thresholds=_thresholds(), library_changes=changes, **options)

    changed = advise(["scikit-learn 1.8.0 (now 1.9.0)", "numpy 2.3.0 (now 2.4.0)"])
    assert changed["retrain_recommended"] is True
    assert changed["reasons"] == ["model in use saved with scikit-learn 1.8.0 (now 1.9.0), numpy 2.3.0 (now 2.4.0)"]
    assert changed["checks"]["library_versions"] == {
        "value": "scikit-learn 1.8.0 (now 1.9.0), numpy 2.3.0 (now 2.4.0)", "threshold": None, "fired": True}
    same = advise([])
    assert same["retrain_recommended"] is False and same["reasons"] == []
    assert same["checks"]["library_versions"] == {"value": "none changed", "threshold": None, "fired": False}
    unknown = advise(None)["checks"]["library_versions"]
    assert (unknown["value"], unknown["fired"], unknown["note"]) == (None, False, "not available")


def test_library_versions_is_not_a_reason_once_a_newer_version_saved_here_was_not_put_in_use() -> None:
    # The holdout comparison scored the model in use under these libraries and kept it: retraining every
    # day to be refused again would be no news.
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}
    kept = drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=1, thresholds=_thresholds(),
                                        library_changes=["scikit-learn 1.8.0 (now 1.9.0)"],
                                        saved_here_not_in_use="20260601-abc")
    check = kept["checks"]["library_versions"]
    assert kept["retrain_recommended"] is False and check["fired"] is False
    assert check["value"] == "scikit-learn 1.8.0 (now 1.9.0)"
    assert check["note"] == ("newer version 20260601-abc, saved with these libraries, is not in use (refused by the "
                             "holdout comparison or set aside by hand)")


def test_library_versions_advice_is_withheld_without_a_model_in_use_not_for_a_model_built_on_all_the_data() -> None:
    # Retraining a version built on all the data up to as-of gives it again, but pickled under these libraries:
    # the ci profile's model is, and a run after upgrading the lock said retraining "would reproduce it".
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}
    fresh = drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=0, thresholds=_thresholds(),
                                         library_changes=["scikit-learn 1.8.0 (now 1.9.0)"])
    assert fresh["retrain_recommended"] is True and fresh["withheld"] is None
    assert fresh["reasons"] == ["model in use saved with scikit-learn 1.8.0 (now 1.9.0)"]
    same = drift.retrain_recommendation(drifted_share=1.0, prediction=calm, model_age_days=0, thresholds=_thresholds(),
                                        library_changes=[])
    assert same["retrain_recommended"] is False and same["withheld"].startswith("the newest model version was built")
    unused = drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=3, thresholds=_thresholds(),
                                          library_changes=["scikit-learn 1.8.0 (now 1.9.0)"], model_in_use=False)
    assert unused["retrain_recommended"] is False and unused["withheld"].startswith("no model is in use")


def test_retrain_reasons_with_a_count_of_one_say_it_in_the_singular() -> None:
    calm = {"available": True, "psi": 0.0, "psi_pvalue": 1.0, "psi_null_median": 0.0, "status": "ok"}
    advice = drift.retrain_recommendation(drifted_share=None, prediction=calm, model_age_days=1, training_days=None,
                                          thresholds=_thresholds(max_model_age_days=0))
    assert advice["reasons"] == ["newest model built 1 day of data ago (limit 0)"]


def test_a_metric_without_a_finite_reference_value_gets_no_bins() -> None:
    frame = _fact(n_features=2, weeks=2)
    frame.loc[frame["feature_id"] == "f1", "avg_feedback"] = np.nan  # a feature without feedback
    stats = drift.fit_reference(frame, metrics=["avg_feedback"], n_bins=10, current_days=14,
                                max_chance_psi=0.05).stats.set_index("feature_id")
    assert stats.loc["f1", "count"] == 0 and stats.loc["f1", "bin_edges"] == [] and np.isnan(stats.loc["f1", "mean"])
    assert len(stats.loc["f0", "bin_edges"]) > 0
    # No reference value: the most bins, for no edges are drawn anyway (and 1/0 is no chance PSI).
    assert drift.psi_bin_count(0, 14, n_bins=10, max_chance_psi=0.05) == 10
    assert drift.psi_bin_count(56, 0, n_bins=10, max_chance_psi=0.05) == 10


def test_without_a_short_window_a_persistent_alert_needs_no_confirmation() -> None:
    fact = _fact(n_features=2, weeks=12, seed=5)
    last = fact["date"].max()
    # Every current window (14 days ending on each of the last 3 days) is in alert; the last 7 days are not.
    earlier = (fact["date"] > last - pd.Timedelta(days=16)) & (fact["date"] <= last - pd.Timedelta(days=7))
    shifted = fact.assign(p95_latency=fact["p95_latency"].where(~earlier, fact["p95_latency"] * 3))
    confirmed = drift.monitor(shifted, settings=_settings()).cells.set_index(["feature_id", "metric"])
    assert confirmed.loc[("f0", "p95_latency"), ["raw_status", "status", "short_status"]].tolist() == ["alert", "warn", "ok"]
    off = drift.monitor(shifted, settings=_settings(short_window_days=0)).cells.set_index(["feature_id", "metric"])
    assert off.loc[("f0", "p95_latency"), "status"] == "alert" and off["short_status"].isna().all()


def test_prediction_drift_without_a_score_column_or_reference_rows() -> None:
    options = _prediction_options()
    current, history = _scores("2026-06-17", 14, 0.2), _scores("2026-05-01", 40, 0.2)
    unscored = drift.prediction_drift(current, history.drop(columns="risk_probability"), **options)
    assert unscored == {"available": False, "reason": "test predictions lack one of risk_probability, probability"}
    renamed = drift.prediction_drift(current, history.rename(columns={"risk_probability": "probability"}), **options)
    assert renamed == drift.prediction_drift(current, history, **options) and renamed["available"]
    # Held-out scores all inside the current window: no reference, so the bins it would have are counted.
    late = drift.prediction_drift(current, _scores("2026-06-17", 14, 0.2), **options)
    assert late["n_ref"] == 0 and late["n_bins"] == 10 and late["status"] == "insufficient_data"
    assert late["reason"] == "0 scored rows in the reference window: fewer than 10 per bin x 10 bins"
