"""Signals use only the past; the target looks exactly horizon_days ahead."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from featurehealth import config, signals

DEGRADATION = config.load_profile("default")["degradation"]


def _fact(n_days: int = 50, features: tuple[str, ...] = ("login", "search")) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for fid in features:
        for day in pd.date_range("2026-01-01", periods=n_days, freq="D"):
            p95 = 400 * rng.lognormal(0, 0.1)
            usage = int(rng.integers(200, 300))
            rows.append({
                "feature_id": fid, "date": day.date(), "usage_count": usage, "active_users": usage // 2,
                "avg_latency": p95 / 2, "p50_latency": p95 / 3, "p95_latency": p95, "p99_latency": p95 * 1.4,
                "crash_count": 2, "crash_rate": 2 / usage, "avg_feedback": 4.0 + rng.normal(0, 0.1),
                "feedback_count": 10, "error_rate": 0.05, "new_version_events": usage // 10,
                "new_version_crashes": int(rng.random() < 0.2), "is_degraded": False,
            })
    return pd.DataFrame(rows)


def _metadata() -> pd.DataFrame:
    return pd.DataFrame({
        "feature_id": ["login", "search"], "lifecycle_stage": ["ga", "mystery"], "tier": ["critical", "standard"],
        "launch_date": [pd.Timestamp("2025-12-01").date(), None],
    })


@pytest.mark.parametrize("cut", [10, 30, 48])
def test_perturbing_later_days_leaves_earlier_signals_unchanged(cut: int) -> None:
    fact = _fact()
    later = pd.to_datetime(fact["date"]) > pd.Timestamp("2026-01-01") + pd.Timedelta(days=cut)
    numeric = fact.select_dtypes("number").columns
    perturbed = fact.copy()
    perturbed.loc[later, numeric] = perturbed.loc[later, numeric] * 7.0 + 1.0
    perturbed.loc[later, "is_degraded"] = True
    before = signals.build_signals(fact, _metadata(), degradation=DEGRADATION)
    after = signals.build_signals(perturbed, _metadata(), degradation=DEGRADATION)
    keep = before["date"] <= pd.Timestamp("2026-01-01") + pd.Timedelta(days=cut)
    pd.testing.assert_frame_equal(before[keep], after[keep])
    # The perturbation is visible on its own day, so the comparison above is not vacuous.
    assert not before[~keep]["p95_latency_level"].equals(after[~keep]["p95_latency_level"])


def test_one_row_per_fact_row_sorted_and_finite() -> None:
    fact = _fact()
    out = signals.build_signals(fact.sample(frac=1.0, random_state=1), _metadata(), degradation=DEGRADATION)
    assert len(out) == len(fact)
    keys = list(out[["date", "feature_id"]].itertuples(index=False))
    assert keys == sorted(keys)
    values = out[signals.signal_columns(out)].to_numpy(dtype=float)
    assert not np.isinf(values).any()
    assert {"p95_latency_mean7", "crash_rate_mean28", "usage_count_change7", "day_of_week", "tier_code"} <= set(out)


def test_a_few_days_give_signals_with_gaps_not_an_error() -> None:
    out = signals.build_signals(_fact(n_days=3), _metadata(), degradation=DEGRADATION)
    assert len(out) == 6 and out["p95_latency_level"].notna().all() and out["p95_latency_z"].isna().all()


def test_jump_shows_in_z_score_and_rule_distance() -> None:
    fact = _fact()
    jump = (fact["feature_id"] == "login") & (pd.to_datetime(fact["date"]) == pd.Timestamp("2026-02-10"))
    fact.loc[jump, "p95_latency"] = 400 * 2.0  # twice the usual p95: beyond the 1.6x rule
    out = signals.build_signals(fact, _metadata(), degradation=DEGRADATION)
    row = out[(out["feature_id"] == "login") & (out["date"] == pd.Timestamp("2026-02-10"))].iloc[0]
    calm = out[(out["feature_id"] == "search") & (out["date"] == pd.Timestamp("2026-02-10"))].iloc[0]
    assert row["p95_latency_z"] > 5 and abs(calm["p95_latency_z"]) < 3
    assert row["p95_latency_to_threshold"] > 1.0 > calm["p95_latency_to_threshold"]


def test_missing_days_are_gaps_not_zeros() -> None:
    fact = _fact()
    days = pd.to_datetime(fact["date"])
    gone = (fact["feature_id"] == "login") & days.between(pd.Timestamp("2026-01-18"), pd.Timestamp("2026-01-20"))
    out = signals.build_signals(fact[~gone], _metadata(), degradation=DEGRADATION)
    row = out[(out["feature_id"] == "login") & (out["date"] == pd.Timestamp("2026-01-21"))].iloc[0]
    # Zeros for the three missing days would pull the 7-day mean down to about 4/7 of 400.
    assert 330 <= row["p95_latency_mean7"] <= 480
    assert len(out) == len(fact) - 3


def test_metadata_codes_and_history() -> None:
    fact = _fact()
    day = pd.to_datetime(fact["date"]) == pd.Timestamp("2026-01-05")
    fact.loc[(fact["feature_id"] == "search") & day, "is_degraded"] = True
    out = signals.build_signals(fact, _metadata(), degradation=DEGRADATION).set_index(["feature_id", "date"])
    login = out.loc[("login", pd.Timestamp("2026-01-11"))]
    search = out.loc[("search", pd.Timestamp("2026-01-11"))]
    assert login["tier_code"] == 1.0 and login["lifecycle_stage_code"] == 2.0 and login["feature_age_days"] == 41
    assert np.isnan(search["lifecycle_stage_code"]) and np.isnan(search["feature_age_days"])
    assert search["degraded_days_7"] == 1 and search["days_since_degraded"] == 6 and login["days_since_degraded"] == 28
    # Without metadata they would be constant: left out, not listed as signals fed by nothing.
    without = signals.build_signals(fact, None, degradation=DEGRADATION).columns
    assert not {"tier_code", "lifecycle_stage_code", "feature_age_days"} & set(without) and "day_of_week" in without


def test_optional_columns_the_input_did_not_feed_give_no_signal() -> None:
    # No error_count and no app_version in the input: error_rate empty, no event on a new version.
    unfed = _fact().assign(error_rate=np.nan, new_version_events=0, new_version_crashes=0)
    names = signals.build_signals(unfed, degradation=DEGRADATION).columns
    assert not any(c.startswith(("error_", "new_version_")) for c in names) and "crash_excess_z3" in names
    fed = signals.build_signals(_fact(), degradation=DEGRADATION).columns
    assert {"error_rate_z3", "error_excess_z1", "new_version_share_z3", "new_version_crash_ratio3"} <= set(fed)


def test_optional_columns_are_used_only_when_present() -> None:
    fact = _fact().drop(columns=list(signals.OPTIONAL_COLUMNS))
    names = signals.build_signals(fact, degradation=DEGRADATION).columns
    assert not any(c.startswith(("error_", "new_version_")) for c in names) and "feedback_rate_excess_z3" in names
    out = signals.build_signals(fact, degradation=DEGRADATION)
    pd.testing.assert_series_equal(out["crash_evidence"], out["crash_excess_z3"], check_names=False)
    days = pd.to_datetime(fact["date"])
    rising = (fact["feature_id"] == "login") & (days >= pd.Timestamp("2026-02-08"))
    with_errors = fact.assign(error_rate=np.where(rising, 0.3, 0.05) + 0.01 * (days.dt.day % 3).to_numpy())
    out = signals.build_signals(with_errors, degradation=DEGRADATION).set_index(["feature_id", "date"])
    assert out.loc[("login", pd.Timestamp("2026-02-10")), "error_rate_z3"] > 5
    assert abs(out.loc[("search", pd.Timestamp("2026-02-10")), "error_rate_z3"]) < 3


def test_days_without_error_data_are_unknown_not_error_free() -> None:
    # error_count exported from day 30 on (error_rate NaN before), at a steady 5 % of events.
    fact = _fact()
    day = (pd.to_datetime(fact["date"]) - pd.Timestamp("2026-01-01")).dt.days
    fact = fact.assign(error_rate=np.where(day >= 30, 0.05, np.nan))
    out = signals.build_signals(fact, degradation=DEGRADATION).set_index(["feature_id", "date"])
    # Once the baseline holds error days, a steady rate is no excess; the days before the baseline
    # held any were read as zero errors against all of the baseline's events.
    assert abs(out.loc[("login", pd.Timestamp("2026-02-10")), "error_excess_z1"]) < 3
    assert np.isnan(out.loc[("login", pd.Timestamp("2026-02-05")), "error_excess_z7"])
    # A day before the export began has the evidence of a feed without error data, whatever comes later.
    early = pd.Timestamp("2026-01-25")
    upto = signals.build_signals(fact[pd.to_datetime(fact["date"]) <= early], degradation=DEGRADATION)
    upto = upto.set_index(["feature_id", "date"]).loc[("login", early)]
    for name in ("latency_evidence", "worst_shift_z"):
        assert out.loc[("login", early), name] == pytest.approx(upto[name])


def test_days_before_app_versions_were_exported_keep_the_crash_evidence_of_a_feed_without_them() -> None:
    # app_version exported from day 30 on: before it, no event is on a newest version (0, not missing).
    fact = _fact()
    before = (pd.to_datetime(fact["date"]) - pd.Timestamp("2026-01-01")).dt.days < 30
    fact = fact.assign(new_version_events=np.where(before, 0, fact["new_version_events"]),
                       new_version_crashes=np.where(before, 0, fact["new_version_crashes"]))
    early = pd.Timestamp("2026-01-25")
    full = signals.build_signals(fact, degradation=DEGRADATION).set_index(["feature_id", "date"])
    upto = signals.build_signals(fact[before], degradation=DEGRADATION).set_index(["feature_id", "date"])
    for name in ("crash_evidence", "worst_shift_z"):
        assert full.loc[("login", early), name] == pytest.approx(upto.loc[("login", early), name])


def test_crashes_on_a_new_version_stand_out_before_the_totals_do() -> None:
    fact = _fact()
    staged = (fact["feature_id"] == "login") & (pd.to_datetime(fact["date"]) >= pd.Timestamp("2026-02-15"))
    # 10 % of login's events on a version crashing 5x as often: 2 more crashes a day, spread over the day's totals.
    bad = fact.assign(
        new_version_crashes=np.where(staged, 3, fact["new_version_crashes"]),
        crash_count=np.where(staged, 4, fact["crash_count"]),
    )
    out = signals.build_signals(bad.assign(crash_rate=bad["crash_count"] / bad["usage_count"]), degradation=DEGRADATION)
    day = out[out["date"] == pd.Timestamp("2026-02-17")].set_index("feature_id")
    assert day.loc["login", "new_version_crash_excess_z3"] > 4 > abs(day.loc["search", "new_version_crash_excess_z3"])
    assert day.loc["login", "new_version_crash_ratio3"] > 5 * day.loc["search", "new_version_crash_ratio3"]
    assert day.loc["login", "worst_shift_z"] >= day.loc["login", "crash_evidence"] > 4


def test_build_signals_rejects_bad_fact() -> None:
    # Named as a reader writes them, not as a Python list (['p95_latency']).
    with pytest.raises(ValueError, match=r"^fact table lacks columns p95_latency, p99_latency; required: "):
        signals.build_signals(_fact().drop(columns=["p95_latency", "p99_latency"]), degradation=DEGRADATION)
    fact = _fact()
    with pytest.raises(ValueError, match="more than one row"):
        signals.build_signals(pd.concat([fact, fact.head(1)]), degradation=DEGRADATION)


def test_build_signals_names_the_missing_keys_of_the_degradation_group() -> None:
    with pytest.raises(ValueError, match="degradation group lacks baseline_days, min_baseline_days, .*min_feedback"):
        signals.build_signals(_fact(), degradation={})
    partial = {k: v for k, v in DEGRADATION.items() if k not in ("min_usage", "feedback_abs")}
    with pytest.raises(ValueError, match="degradation group lacks min_usage, feedback_abs;"):
        signals.build_signals(_fact(), degradation=partial)


def test_target_looks_exactly_horizon_days_ahead() -> None:
    fact = _fact(n_days=20, features=("login",))
    fact.loc[10, "is_degraded"] = True  # 2026-01-11
    target = signals.build_target(fact, horizon_days=3).set_index("date")["target"]
    positives = target[target == 1].index
    assert list(positives) == list(pd.date_range("2026-01-08", "2026-01-10"))
    assert target.loc["2026-01-11"] == 0  # degraded today is not the target
    assert target.loc["2026-01-17"] == 0 and target.loc["2026-01-18":].isna().all()


def test_target_rejects_bad_horizon() -> None:
    with pytest.raises(ValueError, match="horizon_days"):
        signals.build_target(_fact(), horizon_days=0)
    with pytest.raises(ValueError, match=r"^fact table lacks columns is_degraded; required: feature_id, date"):
        signals.build_target(_fact().drop(columns="is_degraded"), horizon_days=3)


def test_metadata_matches_features_whatever_the_id_dtype() -> None:
    # Integer ids (a CSV of numeric feature ids) are text in the signals; the metadata's must match them.
    ids = {"login": 101, "search": 202}
    fact = _fact().assign(feature_id=lambda f: f["feature_id"].map(ids))
    metadata = _metadata().assign(feature_id=lambda m: m["feature_id"].map(ids))
    out = signals.build_signals(fact, metadata, degradation=DEGRADATION).set_index(["feature_id", "date"])
    login = out.loc[("101", pd.Timestamp("2026-01-11"))]
    assert login["tier_code"] == 1.0 and login["lifecycle_stage_code"] == 2.0 and login["feature_age_days"] == 41


def test_empty_fact_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no rows"):
        signals.build_signals(_fact().iloc[0:0], degradation=DEGRADATION)
    with pytest.raises(ValueError, match="no rows"):
        signals.build_target(_fact().iloc[0:0], horizon_days=3)


def test_timezone_aware_dates_are_days_in_utc() -> None:
    fact = _fact(n_days=10)
    aware = fact.assign(date=pd.to_datetime(fact["date"]).dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin"))
    pd.testing.assert_frame_equal(
        signals.build_signals(aware, degradation=DEGRADATION), signals.build_signals(fact, degradation=DEGRADATION)
    )


@pytest.mark.parametrize("cut", [0, 3, 20, 40])
def test_signals_of_a_day_equal_those_computed_without_the_later_days(cut: int) -> None:
    # Gaps in a feature's days and a feature that starts mid-window: each signal of day t is the
    # same whether or not the days after t exist.
    fact = _fact(features=("login", "search", "late"))
    days = pd.to_datetime(fact["date"])
    gaps = (fact["feature_id"] == "search") & (days.dt.day % 4 == 0)
    late = (fact["feature_id"] == "late") & (days < pd.Timestamp("2026-01-15"))
    fact = fact[~gaps & ~late].reset_index(drop=True)
    fact["is_degraded"] = (pd.to_datetime(fact["date"]).dt.day % 9 == 0).to_numpy()
    day = pd.Timestamp("2026-01-01") + pd.Timedelta(days=cut)
    full = signals.build_signals(fact, _metadata(), degradation=DEGRADATION)
    upto = signals.build_signals(fact[pd.to_datetime(fact["date"]) <= day], _metadata(), degradation=DEGRADATION)
    pd.testing.assert_frame_equal(upto, full[full["date"] <= day].reset_index(drop=True))


def _plain_fact(n_days: int = 40, **by_day: dict[int, float]) -> pd.DataFrame:
    """One feature, ``n_days`` of fixed values (no noise); ``by_day`` sets a column's value on given days."""
    day = np.arange(n_days)
    p95 = 400.0 + 100.0 * (day % 2)
    fact = pd.DataFrame({
        "feature_id": "login", "date": pd.date_range("2026-01-01", periods=n_days).date,
        "usage_count": 1000, "active_users": 500, "avg_latency": p95 / 2, "p50_latency": p95 / 3,
        "p95_latency": p95, "p99_latency": p95 * 1.4, "crash_count": 1, "avg_feedback": 4.0 + 0.1 * (day % 2),
        "feedback_count": 10, "is_degraded": False,
    })
    for column, values in by_day.items():
        for d, value in values.items():
            fact.loc[d, column] = value
    return fact.assign(crash_rate=fact["crash_count"] / fact["usage_count"])


def test_rule_distance_crosses_one_exactly_where_the_rule_fires() -> None:
    from featurehealth import degradation

    fact = _plain_fact(
        p95_latency={6: 1000.0, 20: 850.0, 30: 700.0},  # day 6: 6 days of history, too few for the relative rule
        crash_count={15: 6, 25: 20, 35: 60},  # 0.006 is 6x the median but under the floor
        avg_feedback={12: 3.0, 18: 3.4, 28: 2.0},
    )
    # Every day is judged here, so the rule's thresholds are the signal's.
    params = {**DEGRADATION, "min_crashes": 1, "crash_max_pvalue": 1.0}
    rules = degradation.degradation_rules(fact, **params)
    out = signals.build_signals(fact, degradation=params)
    for metric, kinds in (("p95_latency", "latency"), ("crash_rate", "crash"), ("avg_feedback", "feedback")):
        fired = (rules[f"{kinds}_abs"] | rules[f"{kinds}_rel"]).to_numpy()
        crosses = (out[f"{metric}_to_threshold"] > 1.0).to_numpy()
        assert fired.any() and (~fired).any()
        np.testing.assert_array_equal(crosses, fired, err_msg=metric)


def test_z_score_and_means_follow_their_windows() -> None:
    day = np.arange(60)
    values = 300.0 + 37.0 * (day * 7 % 11)  # no period that divides the windows
    out = signals.build_signals(_plain_fact(60, p95_latency=dict(enumerate(values))), degradation=DEGRADATION)
    t = 50
    baseline = values[t - 7 - 27: t - 7 + 1]  # the 28 days ending a week before t
    assert out.loc[t, "p95_latency_z"] == pytest.approx((values[t] - baseline.mean()) / baseline.std(ddof=1))
    assert out.loc[t, "p95_latency_mean7"] == pytest.approx(values[t - 6: t + 1].mean())
    assert out.loc[t, "p95_latency_mean28"] == pytest.approx(values[t - 27: t + 1].mean())


def test_target_counts_a_missing_feature_day_as_not_degraded() -> None:
    fact = _plain_fact(20).drop(index=5)
    target = signals.build_target(fact, horizon_days=3)["target"]
    assert (target.iloc[:16] == 0).all() and target.iloc[16:].isna().all()


def test_target_is_unknown_when_no_day_of_the_horizon_has_data() -> None:
    # Paused on days 10..14 (a kill switch), then back; another feature runs on, so the data go on.
    fact = pd.concat([_plain_fact(20).drop(index=range(10, 15)),
                      _plain_fact(20).assign(feature_id="search")], ignore_index=True)
    target = signals.build_target(fact, horizon_days=3).set_index(["feature_id", "date"])["target"]
    login = target.loc["login"]
    # Day 9's next 3 days are all paused: nothing says whether it degraded, as past the data's end.
    assert np.isnan(login.loc[pd.Timestamp("2026-01-10")])
    # Day 8 still sees day 9, and day 15 its next days, so both keep their target.
    assert login.loc[pd.Timestamp("2026-01-09")] == 0 and login.loc[pd.Timestamp("2026-01-16")] == 0
    assert (target.loc["search"].iloc[:17] == 0).all()


def test_target_of_a_feature_that_stopped_ends_with_its_data() -> None:
    fact = pd.concat([_plain_fact(10), _plain_fact(20).assign(feature_id="search")], ignore_index=True)
    login = signals.build_target(fact, horizon_days=3).set_index(["feature_id", "date"])["target"].loc["login"]
    assert (login.iloc[:9] == 0).all() and np.isnan(login.iloc[9])


def test_feature_age_is_capped() -> None:
    metadata = pd.DataFrame({"feature_id": ["login"], "lifecycle_stage": ["ga"], "tier": ["critical"],
                             "launch_date": [pd.Timestamp("2020-01-01").date()]})
    out = signals.build_signals(_plain_fact(10), metadata, degradation=DEGRADATION)
    assert (out["feature_age_days"] == signals.MAX_AGE_DAYS).all()


def test_a_day_missing_from_the_error_and_version_exports_is_unknown_amid_days_with_them() -> None:
    # Errors at a steady 5 % of events and 100 events a day on a newest version, one crash of them
    # on day 49; day 45 holds no error data and no event on a newest version.
    fact = _plain_fact(60).assign(error_rate=0.05, new_version_events=100, new_version_crashes=0)
    fact.loc[45, ["error_rate", "new_version_events"]] = [np.nan, 0]
    fact.loc[49, "new_version_crashes"] = 1
    out = signals.build_signals(fact, degradation=DEGRADATION)
    # No error data is neither an excess nor a deficit, and that day's latency evidence is the latency's alone.
    assert np.isnan(out.loc[45, "error_excess_z1"])
    assert out.loc[45, "latency_evidence"] == pytest.approx(out.loc[45, "avg_latency_z"])
    assert out.loc[47, "error_excess_z7"] == pytest.approx(0.0, abs=1e-9)
    # The last 3 days still hold newest-version events, so the crash evidence stays theirs.
    assert out.loc[45, "crash_evidence"] == pytest.approx(out.loc[45, "new_version_crash_excess_z3"])
    # Days 48-50: the newest version's crash rate over that of the older versions' events.
    assert out.loc[50, "new_version_crash_ratio3"] == pytest.approx((1.5 / 300) / (2.5 / 2700))


def test_a_crash_after_a_crash_free_baseline_is_one_expected_crash_away() -> None:
    # The Poisson spread is floored at one event: a crash-free baseline expects none.
    fact = _plain_fact(40, crash_count={**dict.fromkeys(range(40), 0), 38: 1})
    assert signals.build_signals(fact, degradation=DEGRADATION).loc[38, "crash_excess_z3"] == pytest.approx(1.0)


def test_pooled_and_short_window_signals_follow_their_definitions() -> None:
    day = np.arange(60)
    crashes = 1 + day * 5 % 11  # no period that divides the windows
    p95 = 300.0 + 37.0 * (day * 7 % 11)
    fact = _plain_fact(60, crash_count=dict(enumerate(crashes)), p95_latency=dict(enumerate(p95)))
    out = signals.build_signals(fact, degradation=DEGRADATION)
    t = 50
    base = slice(t - 7 - 27, t - 7 + 1)  # the 28 days ending a week before t
    base_rate = crashes[base].sum() / (1000 * 28)
    expected = base_rate * 1000 * 3
    assert out.loc[t, "crash_excess_z3"] == pytest.approx((crashes[t - 2: t + 1].sum() - expected) / np.sqrt(expected))
    assert out.loc[t, "p95_latency_change3"] == pytest.approx(p95[t - 2: t + 1].mean() / p95[base].mean() - 1.0)
    assert (out["day_of_week"] == out["date"].dt.day_of_week).all()


def test_the_definitions_fingerprint_is_short_and_the_same_on_every_call_and_in_another_process() -> None:
    first = signals.definitions_fingerprint()
    assert first == signals.definitions_fingerprint()
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    # Another interpreter, with other string hashes: nothing of the process's state may enter it.
    code = "from featurehealth import signals; print(signals.definitions_fingerprint())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert other.stdout.strip() == first


def test_the_definitions_sample_exercises_every_signal() -> None:
    # A signal the sample left NaN or constant would let a change to its computation go unnoticed.
    sample = signals.definitions_sample()
    flat = [c for c in signals.signal_columns(sample) if sample[c].nunique() < 2]
    assert not flat
    grown = signals.build_signals(_fact(), _metadata(), degradation=DEGRADATION)
    assert set(signals.signal_columns(grown)) <= set(signals.signal_columns(sample))
    assert {"error_rate_z3", "new_version_crash_ratio7", "tier_code", "feature_age_days",
            "days_since_degraded"} <= set(sample.columns)
    # A missing feature-day amid the others, so that how the windows read a gap counts too.
    gaps = sample.sort_values("date").groupby("feature_id")["date"].apply(lambda d: int((d.diff().dt.days > 1).sum()))
    assert gaps.to_dict() == {"f0": 1, "f1": 0}


@pytest.mark.parametrize(("name", "replacement"), [
    ("_rolling_mean", lambda values, days, *, min_periods=signals.MIN_PERIODS: np.full_like(values, 1.0)),
    ("NOISE_POOL_DAYS", 28),
    ("MAX_AGE_DAYS", 30),
])
def test_the_definitions_fingerprint_changes_when_a_signal_is_computed_otherwise(
    monkeypatch: pytest.MonkeyPatch, name: str, replacement: object
) -> None:
    before = signals.definitions_fingerprint()
    monkeypatch.setattr(signals, name, replacement)
    assert signals.definitions_fingerprint() != before


def test_the_definitions_fingerprint_ignores_float_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another numpy build may sum in another order: differences in the last bits must not count.
    before = signals.definitions_fingerprint()
    exact = signals._window_sum
    monkeypatch.setattr(signals, "_window_sum", lambda values, days: exact(values, days) * (1 + 1e-14))
    assert signals.definitions_fingerprint() == before


def test_strongest_pattern_names_the_evidence_worst_shift_z_took() -> None:
    """worst_shift_z is the largest of three patterns' evidence, and the page said only "strongest warning
    pattern": which one it was (a missing one is no candidate; none known, none named) must come from the day."""
    rows = pd.DataFrame({"latency_evidence": [3.0, 1.0, np.nan, np.nan],
                         "feedback_evidence": [1.0, np.nan, -2.0, np.nan], "crash_evidence": [2.0, 4.0, -5.0, np.nan]})
    assert signals.strongest_pattern(rows).tolist() == ["latency_evidence", "crash_evidence", "feedback_evidence", None]
    built = signals.build_signals(_fact(), degradation=DEGRADATION)
    taken = signals.strongest_pattern(built)
    assert taken.notna().any()
    for evidence in signals.PATTERN_EVIDENCE:
        chosen = taken == evidence
        assert (built.loc[chosen, evidence] == built.loc[chosen, "worst_shift_z"]).all()
    assert signals.strongest_pattern(rows.drop(columns="crash_evidence").iloc[1:2]).tolist() == ["latency_evidence"]
