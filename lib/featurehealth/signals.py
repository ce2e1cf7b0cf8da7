"""Model signals and target for the early-warning risk model (grain: one feature, one day).

Every signal of feature ``f`` on day ``t`` is computed from fact rows dated ``<= t`` only: the
fact table is laid out as a days x features grid (a missing feature-day is a gap, not a zero)
and every window is trailing. The target looks ahead on purpose and lives apart, in
:func:`build_target`.

Signal families (names are ``<metric>_<kind>``):

- levels of the day (``_level``) and 7-/28-day means including the day (``_mean7``, ``_mean28``);
- z-scores of the day and of the 7-day mean against the feature's own baseline, the 28 days
  that end a week before ``t`` (``_z``, ``_z7``), so a slow precursor does not leak into the
  baseline it is compared with; 3-day relative change of latencies (``_change3``);
- trend: least-squares slope over the last 7 days in baseline standard deviations per day
  (``_slope7``);
- pooled changes weighted by volume: crashes of the last 3/7 days against the baseline rate
  (``crash_excess_z3``/``_z7``, Poisson z) and the feedback mean of the last 3/7 days
  (``feedback_shift_z3``/``_z7``);
- distance to the degradation rule (``_to_threshold``: the day's value over the threshold of
  the ``degradation`` profile group, > 1 means the value crosses it; the rule itself also needs
  ``min_usage`` events, ``min_feedback`` ratings, ``min_crashes`` crashes and, relative to the
  feature's past, ``crash_max_pvalue``, and its relative thresholds learn from judged days only,
  this one from every day) and the chance that the crash or
  feedback rule fires within a week from sampling noise alone (``crash_rule_noise_week``,
  ``feedback_rule_noise_week``, with ``crash_limit_over_rate`` and ``crash_expected_per_day``):
  on small features most degraded days are such noise, and it is predictable;
- usage change (``usage_count_change7``: 7-day mean over baseline mean, minus one);
- degradation history (``degraded_today``, ``degraded_days_7``, ``degraded_days_28``,
  ``days_since_degraded``);
- calendar and metadata (``day_of_week``, ``lifecycle_stage_code``, ``tier_code``,
  ``feature_age_days``, capped at :data:`MAX_AGE_DAYS`; each metadata signal is left out when no
  feature has its value, as without a metadata file). The metadata is today's snapshot, applied
  to every past day: on real data, a stage set *because* of an incident (a feature moved to
  ``deprecated`` after it broke) tells the model about the past from the future, so keep the
  metadata file's stages as they were or leave it out to test that; the simulator's never change);
- counts pooled over the last 1, 3 and 7 days against what the baseline rate predicts for the
  volume seen (Poisson z): feedback given (``feedback_rate_excess_z*``: unhappy users write
  more), errors (``error_excess_z*``) and crashes on the day's newest app version
  (``new_version_crash_excess_z*``), with that version's crash rate over the older versions'
  (``new_version_crash_ratio*``), since a staged rollout shows a bad version days before the
  full rollout; ``error_rate`` and ``new_version_share`` also get level, 3-day change and
  z-score. These need the fact columns ``error_rate``, ``new_version_events`` and
  ``new_version_crashes`` (:data:`OPTIONAL_COLUMNS`) and are left out without them, or when the
  input fed them nothing (no ``error_count``, no ``app_version``);
- evidence per precursor pattern (``latency_evidence``, ``feedback_evidence``,
  ``crash_evidence``: two z-scores that move together, combined) and the largest of them,
  ``worst_shift_z``, which puts every kind on one scale.

A model reads a signal by its name only: :func:`definitions_fingerprint` hashes the signals of a
fixed sample, so a change to how one is computed shows on the model card and the registry.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from featurehealth import ingest
from featurehealth.degradation import check_settings as check_degradation_settings

KEYS = ("feature_id", "date")
BASELINE_DAYS = 28
#: Window of the noise model's pooled rates: a feature's ordinary crash rate and feedback
#: mean change slowly, and a longer pool halves the sampling error of a small feature's rate.
NOISE_POOL_DAYS = 56
BASELINE_GAP_DAYS = 7
#: Fewest observations for a rolling statistic; fewer gives NaN (the forest handles missing values).
MIN_PERIODS = 4
#: Metrics with the full set of signals; the sign says in which direction the metric gets worse.
RULE_METRICS = {"p95_latency": 1, "crash_rate": 1, "avg_feedback": -1}
#: Further metrics with level, z-scores and trend.
TREND_METRICS = ("p99_latency", "avg_latency", "p50_latency", "usage_count")
#: Plain levels of the day.
LEVEL_ONLY = ("active_users", "feedback_count", "crash_count")
#: Fact columns beyond DESIGN.md's (see featurehealth.aggregate) whose signals are left out when
#: a fact table lacks them.
OPTIONAL_COLUMNS = ("error_rate", "new_version_events", "new_version_crashes")
#: Days over which counts are pooled against their baseline rate.
POOLED_DAYS = (1, 3, 7)
#: Latency metrics also get their 3-day change against the baseline (``_change3``).
LATENCY_METRICS = ("p95_latency", "p99_latency", "avg_latency", "p50_latency")
LIFECYCLE_STAGES = ingest.METADATA_VALUES["lifecycle_stage"]
TIERS = ingest.METADATA_VALUES["tier"]
#: Feature age is capped: beyond it, age would mostly encode the calendar date, which a model
#: judged on later days must not lean on.
MAX_AGE_DAYS = 90
#: Standard deviation floor as a share of the baseline mean, so a flat baseline gives finite z.
STD_FLOOR_SHARE = 0.05
REQUIRED_FACT_COLUMNS = (*KEYS, "is_degraded", *RULE_METRICS, *TREND_METRICS, *LEVEL_ONLY)


def _check_fact(fact: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_FACT_COLUMNS if c not in fact.columns]
    if missing:
        raise ValueError(
            f"fact table lacks columns {', '.join(missing)}; required: {', '.join(REQUIRED_FACT_COLUMNS)}."
        )
    _check_not_empty(fact)
    if fact.duplicated(list(KEYS)).any():
        raise ValueError("fact table has more than one row per (feature_id, date); expected one.")


def _check_not_empty(fact: pd.DataFrame) -> None:
    if fact.empty:
        raise ValueError("fact table has no rows; signals and targets need at least one feature-day.")


def normalise_dates(values: pd.Series) -> pd.Series:
    """Dates (``datetime.date``, strings or timestamps) as midnight ``datetime64[ns]``.

    A timezone-aware timestamp gives its day in UTC, where the fact table cuts its days.
    """
    stamps = pd.to_datetime(values)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.dt.normalize().astype("datetime64[ns]")


def _grid(fact: pd.DataFrame, column: str, days: pd.DatetimeIndex, features: pd.Index) -> np.ndarray:
    """``column`` as a days x features array; missing feature-days are NaN."""
    wide = fact.assign(value=fact[column].astype("float64")).pivot(index="date", columns="feature_id", values="value")
    return wide.reindex(index=days, columns=features).to_numpy(dtype="float64")


# Rolling statistics over days (axis 0) for all features at once. Each is built from prefix
# sums, so the value of day t reads rows <= t only, whatever comes later.


def _shift(values: np.ndarray, days: int) -> np.ndarray:
    """``values`` moved ``days`` rows later (the first rows become NaN)."""
    out = np.full_like(values, np.nan)
    if days < len(values):
        out[days:] = values[: len(values) - days]
    return out


def _window_sum(values: np.ndarray, days: int) -> np.ndarray:
    """Sum over the last ``days`` rows, the row itself included; NaN adds nothing."""
    total = np.cumsum(np.nan_to_num(values), axis=0)
    total[days:] = total[days:] - total[:-days]
    return total


def _window_count(values: np.ndarray, days: int) -> np.ndarray:
    """Non-missing values among the last ``days`` rows."""
    return _window_sum((~np.isnan(values)).astype("float64"), days)


def _rolling_mean(values: np.ndarray, days: int, *, min_periods: int = MIN_PERIODS) -> np.ndarray:
    """Mean of the non-missing values of the last ``days`` rows (NaN below ``min_periods``)."""
    n = _window_count(values, days)
    return np.where(n >= min_periods, _window_sum(values, days) / n, np.nan)


def _rolling_std(values: np.ndarray, days: int, *, min_periods: int = MIN_PERIODS) -> np.ndarray:
    """Sample standard deviation (ddof 1) of the last ``days`` rows (NaN below ``min_periods``)."""
    n = _window_count(values, days)
    mean = _window_sum(values, days) / n
    squares = _window_sum(values**2, days) / n
    variance = np.clip(squares - mean**2, 0.0, None) * n / (n - 1)
    return np.where(n >= max(min_periods, 2), np.sqrt(variance), np.nan)


def _rolling_median(values: np.ndarray, days: int, *, min_periods: int) -> np.ndarray:
    """Median of the non-missing values of the last ``days`` rows, the row itself included."""
    padded = np.vstack([np.full((days - 1, values.shape[1]), np.nan), values])
    windows = np.lib.stride_tricks.sliding_window_view(padded, days, axis=0)
    n = (~np.isnan(windows)).sum(axis=-1)
    with warnings.catch_warnings():
        # Windows without any value give NaN, which is what is wanted here.
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(windows, axis=-1)
    return np.where(n >= min_periods, median, np.nan)


def _baseline(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and floored std of the 28 days ending ``BASELINE_GAP_DAYS`` before each day."""
    mean = _shift(_rolling_mean(values, BASELINE_DAYS), BASELINE_GAP_DAYS)
    std = _shift(_rolling_std(values, BASELINE_DAYS), BASELINE_GAP_DAYS)
    floor = np.clip(np.abs(mean) * STD_FLOOR_SHARE, 1e-9, None)
    return mean, np.where(std > floor, std, floor)


def _slope(values: np.ndarray, days: int) -> np.ndarray:
    """Least-squares slope per day over the last ``days`` days, skipping gaps."""
    present = ~np.isnan(values)
    t = np.where(present, np.arange(len(values), dtype="float64")[:, None], np.nan)
    n = _window_count(values, days)
    sum_t, sum_y = _window_sum(t, days), _window_sum(values, days)
    denominator = n * _window_sum(t * t, days) - sum_t**2
    slope = (n * _window_sum(t * values, days) - sum_t * sum_y) / np.where(denominator > 0, denominator, np.nan)
    return np.where(n >= MIN_PERIODS, slope, np.nan)


def _rule_threshold(values: np.ndarray, metric: str, degradation: Mapping[str, Any]) -> np.ndarray:
    """The degradation rule's threshold per feature-day, as in the ``degradation`` group."""
    median = _shift(
        _rolling_median(values, degradation["baseline_days"], min_periods=degradation["min_baseline_days"]), 1
    )
    if metric == "p95_latency":
        limit = np.minimum(median * degradation["p95_latency_rel"], degradation["p95_latency_abs_ms"])
        return np.where(np.isnan(median), degradation["p95_latency_abs_ms"], limit)
    if metric == "crash_rate":
        relative = np.maximum(median * degradation["crash_rate_rel"], degradation["crash_rate_rel_floor"])
        limit = np.minimum(relative, degradation["crash_rate_abs"])
        return np.where(np.isnan(median), degradation["crash_rate_abs"], limit)
    relative = np.maximum(median * degradation["feedback_rel_drop"], degradation["feedback_abs"])
    return np.where(np.isnan(median), degradation["feedback_abs"], relative)


def _metric_signals(
    values: np.ndarray, metric: str, *, full: bool, degradation: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Level, z-scores, trend and changes of one metric; ``full`` adds means and rule distance."""
    mean7 = _rolling_mean(values, 7)
    base_mean, base_std = _baseline(values)
    out = {
        f"{metric}_level": values,
        f"{metric}_z": (values - base_mean) / base_std,
        f"{metric}_z7": (mean7 - base_mean) / base_std,
        f"{metric}_slope7": _slope(values, 7) / base_std,
    }
    if full:
        out[f"{metric}_mean7"] = mean7
        out[f"{metric}_mean28"] = _rolling_mean(values, 28)
        threshold = _rule_threshold(values, metric, degradation)
        out[f"{metric}_to_threshold"] = values / threshold if RULE_METRICS[metric] > 0 else threshold / values
    if metric in LATENCY_METRICS:
        out[f"{metric}_change3"] = _rolling_mean(values, 3, min_periods=1) / base_mean - 1.0
    if metric == "usage_count":
        out["usage_count_change7"] = mean7 / base_mean - 1.0
    return out


def _short_shift_signals(values: np.ndarray, metric: str) -> dict[str, np.ndarray]:
    """Level, and the last 3 days' mean against the baseline: difference and z-score."""
    base_mean, base_std = _baseline(values)
    shift = _rolling_mean(values, 3, min_periods=1) - base_mean
    return {f"{metric}_level": values, f"{metric}_change3": shift, f"{metric}_z3": shift / base_std}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is not positive."""
    return numerator / np.where(denominator > 0, denominator, np.nan)


def _baseline_sum(values: np.ndarray) -> np.ndarray:
    """Sum over the baseline window (28 days ending ``BASELINE_GAP_DAYS`` before each day)."""
    return _shift(_window_sum(values, BASELINE_DAYS), BASELINE_GAP_DAYS)


def _pooled_signals(
    usage: np.ndarray, crashes: np.ndarray, feedback_n: np.ndarray, feedback_avg: np.ndarray
) -> dict[str, np.ndarray]:
    """Changes pooled over the last 3 and 7 days, weighted by how much data each day holds.

    Daily crash rates and feedback means of a small feature are mostly noise; pooling events
    over days and scaling by the expected spread (Poisson for crashes, the baseline's per-score
    spread for feedback) lets a weak but steady precursor stand out.
    """
    base_rate = _ratio(_baseline_sum(crashes), _baseline_sum(usage))
    feedback_sum = np.nan_to_num(feedback_avg * feedback_n)
    base_n = _baseline_sum(feedback_n)
    base_feedback = _ratio(_baseline_sum(feedback_sum), base_n)
    # Per-score spread: the spread of daily means times the square root of a day's feedback count.
    score_sd = _shift(_rolling_std(feedback_avg, BASELINE_DAYS), BASELINE_GAP_DAYS) * np.sqrt(base_n / BASELINE_DAYS)
    out = {}
    for days in (3, 7):
        out[f"crash_excess_z{days}"] = _count_excess_z(crashes, usage, base_rate, days=days)
        n = _window_sum(feedback_n, days)
        shift = _ratio(_window_sum(feedback_sum, days), n) - base_feedback
        out[f"feedback_shift_z{days}"] = shift / (score_sd / np.sqrt(n))
    return out


def _count_excess_z(counts: np.ndarray, exposure: np.ndarray, base_rate: np.ndarray, *, days: int) -> np.ndarray:
    """Poisson z of the last ``days`` days' counts against ``base_rate`` times their exposure
    (NaN when none of those days has a count)."""
    expected = base_rate * _window_sum(exposure, days)
    z = (_window_sum(counts, days) - expected) / np.sqrt(np.clip(expected, 1.0, None))
    return np.where(_window_count(counts, days) > 0, z, np.nan)


def _excess_signals(
    usage: np.ndarray, crashes: np.ndarray, feedback_n: np.ndarray,
    *, errors: np.ndarray | None, new_events: np.ndarray | None, new_crashes: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Counts pooled over :data:`POOLED_DAYS` against the feature's baseline rates (see module doc).

    Rates per event come from the baseline window, so a feature's size and its usual feedback,
    error and crash rates are taken out; a new version's crashes are judged against the feature's
    overall crash rate and against the older versions' crashes on the same days (0.5 is added to
    both counts so that a crash-free window gives a finite ratio). A day without error data
    (``error_rate`` NaN: no ``error_count`` exported that day) is unknown, not error-free: its
    events count in neither the error rate's baseline nor a window's expected errors.
    """
    usage_base = _baseline_sum(usage)
    feedback_rate = _ratio(_baseline_sum(feedback_n), usage_base)
    error_usage = None if errors is None else np.where(np.isnan(errors), np.nan, usage)
    error_rate = None if errors is None else _ratio(_baseline_sum(errors), _baseline_sum(error_usage))
    crash_rate = _ratio(_baseline_sum(crashes), usage_base)
    out = {}
    for days in POOLED_DAYS:
        out[f"feedback_rate_excess_z{days}"] = _count_excess_z(feedback_n, usage, feedback_rate, days=days)
        if errors is not None:
            out[f"error_excess_z{days}"] = _count_excess_z(errors, error_usage, error_rate, days=days)
        if new_events is not None and new_crashes is not None:
            out[f"new_version_crash_excess_z{days}"] = _count_excess_z(new_crashes, new_events, crash_rate, days=days)
            new_n, new_c = _window_sum(new_events, days), _window_sum(new_crashes, days)
            old_n, old_c = _window_sum(usage, days) - new_n, _window_sum(crashes, days) - new_c
            out[f"new_version_crash_ratio{days}"] = _ratio(_ratio(new_c + 0.5, new_n), _ratio(old_c + 0.5, old_n))
    return out


def _rule_noise_signals(
    usage: np.ndarray, crashes: np.ndarray, feedback_n: np.ndarray, feedback_avg: np.ndarray,
    *, degradation: Mapping[str, Any],
) -> dict[str, np.ndarray]:
    """Chance that the crash or feedback rule fires within a week from sampling noise alone.

    A small feature's daily crash count or feedback mean crosses the rule's threshold now and
    then with nothing wrong, and such days count as degraded too. With the pooled crash rate and
    feedback mean of the last :data:`NOISE_POOL_DAYS` days and the rule's current threshold
    (judged days only, as the rule itself), each of the next 7 days is given the volume of the
    same weekday last week; its chance to cross is a Poisson (crashes) or normal (feedback mean)
    tail, and the week's chance combines the seven.
    """
    from scipy import special

    from featurehealth.degradation import poisson_tail

    volume_ok = np.nan_to_num(usage) >= degradation["min_usage"]
    rate = _ratio(_window_sum(crashes, NOISE_POOL_DAYS), _window_sum(usage, NOISE_POOL_DAYS))
    limit = _rule_threshold(np.where(volume_ok, _ratio(crashes, usage), np.nan), "crash_rate", degradation)
    pooled_n = _window_sum(feedback_n, NOISE_POOL_DAYS)
    mean = _ratio(_window_sum(np.nan_to_num(feedback_avg * feedback_n), NOISE_POOL_DAYS), pooled_n)
    rated = np.where(volume_ok & (np.nan_to_num(feedback_n) >= degradation["min_feedback"]), feedback_avg, np.nan)
    score_sd = _rolling_std(rated, NOISE_POOL_DAYS) * np.sqrt(pooled_n / NOISE_POOL_DAYS)
    limit_feedback = _rule_threshold(rated, "avg_feedback", degradation)
    quiet_crash = np.ones(usage.shape)
    quiet_feedback = np.ones(usage.shape)
    for lag in range(7):
        volume, n = np.nan_to_num(_shift(usage, lag)), np.nan_to_num(_shift(feedback_n, lag))
        crash_tail = np.nan_to_num(poisson_tail(np.floor(limit * volume) + 1, rate * volume))
        feedback_tail = np.nan_to_num(special.ndtr((limit_feedback - mean) / (score_sd / np.sqrt(n))))
        judged = volume >= degradation["min_usage"]
        quiet_crash *= 1 - np.where(judged, crash_tail, 0.0)
        quiet_feedback *= 1 - np.where(judged & (n >= degradation["min_feedback"]), feedback_tail, 0.0)
    return {
        "crash_limit_over_rate": _ratio(limit, rate),
        "crash_expected_per_day": rate * _rolling_mean(usage, 7, min_periods=1),
        "crash_rule_noise_week": 1 - quiet_crash,
        "feedback_rule_noise_week": 1 - quiet_feedback,
    }


def _history_signals(degraded: np.ndarray) -> dict[str, np.ndarray]:
    """Counts of degraded days and days since the last one (capped at ``BASELINE_DAYS``)."""
    flag = np.nan_to_num(degraded)
    day = np.arange(len(flag), dtype="float64")[:, None]
    last = np.maximum.accumulate(np.where(flag > 0, day, -np.inf), axis=0)
    return {
        "degraded_today": degraded,
        "degraded_days_7": _window_sum(flag, 7),
        "degraded_days_28": _window_sum(flag, BASELINE_DAYS),
        "days_since_degraded": np.minimum(day - last, BASELINE_DAYS),
    }


def _metadata_codes(metadata: pd.DataFrame | None, features: pd.Index) -> pd.DataFrame:
    """Lifecycle stage, tier and launch date per feature, coded with fixed vocabularies."""
    columns = ["lifecycle_stage", "tier", "launch_date"]
    meta = pd.DataFrame(index=features, columns=columns, dtype="object")
    if metadata is not None and len(metadata):
        # Matched on text, as the fact's ids are (an integer id would otherwise match nothing).
        known = metadata.assign(feature_id=metadata["feature_id"].astype(str))
        known = known.drop_duplicates("feature_id").set_index("feature_id")
        meta = known.reindex(features)[[c for c in columns if c in known.columns]].reindex(columns=columns)
    stage = {name: float(code) for code, name in enumerate(LIFECYCLE_STAGES)}
    tier = {name: float(code) for code, name in enumerate(TIERS)}
    return pd.DataFrame(
        {
            "lifecycle_stage_code": meta["lifecycle_stage"].map(stage).astype("float64"),
            "tier_code": meta["tier"].map(tier).astype("float64"),
            "launch_date": pd.to_datetime(meta["launch_date"], errors="coerce").astype("datetime64[ns]"),
        },
        index=features,
    )


def _fed_optional_columns(rows: pd.DataFrame) -> list[str]:
    """The :data:`OPTIONAL_COLUMNS` the input fed: ``error_rate`` is empty without ``error_count``
    and the new-version counts are 0 without ``app_version``, so their signals would be constant,
    listed on the model card and in the importance table with nothing behind them."""
    fed = []
    if "error_rate" in rows.columns and rows["error_rate"].notna().any():
        fed.append("error_rate")
    versions = ["new_version_events", "new_version_crashes"]
    if set(versions) <= set(rows.columns) and (rows["new_version_events"] > 0).any():
        fed += versions
    return fed


def _wide_signals(
    rows: pd.DataFrame, days: pd.DatetimeIndex, features: pd.Index, *, degradation: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Every grid-based signal as a days x features array."""
    wide: dict[str, np.ndarray] = {}
    # Gaps, zero volumes and flat baselines give NaN or infinities here; build_signals maps both to NaN.
    with np.errstate(invalid="ignore", divide="ignore"):
        for metric in (*RULE_METRICS, *TREND_METRICS):
            values = _grid(rows, metric, days, features)
            wide.update(_metric_signals(values, metric, full=metric in RULE_METRICS, degradation=degradation))
        for metric in LEVEL_ONLY:
            wide[f"{metric}_level"] = _grid(rows, metric, days, features)
        volumes = [wide[f"{m}_level"] for m in ("usage_count", "crash_count", "feedback_count", "avg_feedback")]
        wide.update(_pooled_signals(*volumes))
        wide.update(_rule_noise_signals(*volumes, degradation=degradation))
        wide.update(_history_signals(_grid(rows, "is_degraded", days, features)))
        optional = {c: _grid(rows, c, days, features) for c in _fed_optional_columns(rows)}
        errors = optional["error_rate"] * volumes[0] if "error_rate" in optional else None
        new_events, new_crashes = optional.get("new_version_events"), optional.get("new_version_crashes")
        wide.update(_excess_signals(*volumes[:3], errors=errors, new_events=new_events, new_crashes=new_crashes))
        if errors is not None:
            wide.update(_short_shift_signals(optional["error_rate"], "error_rate"))
        if new_events is not None:
            wide.update(_short_shift_signals(_ratio(new_events, volumes[0]), "new_version_share"))
        wide.update(_evidence_signals(wide, new_events=new_events))
    return wide


def _stouffer(*z: np.ndarray) -> np.ndarray:
    """Independent z-scores combined into one (their sum over the square root of their number)."""
    return sum(z) / np.sqrt(len(z))


def _evidence_signals(wide: Mapping[str, np.ndarray], *, new_events: np.ndarray | None) -> dict[str, np.ndarray]:
    """One z-like score per precursor pattern, and the largest of them (``worst_shift_z``).

    Each pattern moves two things at once, latency and errors, or feedback scores and how many
    users give feedback; a single pooled score lets a tree find a weak joint move with one
    split instead of two, on the few precursor rows a training window holds. A crash rollout
    shows as crashes on the newest version (overall crashes without version data, ``new_events``
    None, or where the last 3 days hold no event on a newest version).
    """
    latency = wide["avg_latency_z"]
    if "error_excess_z1" in wide:
        # Where the errors are unknown (before the export had error_count), the latency alone, as
        # for a feed that never had it: a day's evidence must not depend on what later days hold.
        errors = wide["error_excess_z1"]
        latency = np.where(np.isnan(errors), latency, _stouffer(latency, errors))
    feedback = _stouffer(-wide["feedback_shift_z3"], wide["feedback_rate_excess_z3"])
    crashes = wide["crash_excess_z3"]
    if new_events is not None:
        # Before the export had app_version no event is on a newest version: the overall crashes
        # then, as for a feed that never had it, so a day's evidence does not depend on later days.
        crashes = np.where(_window_sum(new_events, 3) > 0, wide["new_version_crash_excess_z3"], crashes)
    return {
        "latency_evidence": latency,
        "feedback_evidence": feedback,
        "crash_evidence": crashes,
        # One scale for every kind, so rare kinds pool their evidence.
        "worst_shift_z": np.fmax(np.fmax(latency, feedback), crashes),
    }


#: The evidence signals of the precursor patterns (:func:`_evidence_signals`), whose largest is ``worst_shift_z``.
PATTERN_EVIDENCE = ("latency_evidence", "feedback_evidence", "crash_evidence")


def strongest_pattern(signals: pd.DataFrame) -> pd.Series:
    """Per row of ``signals``, which of :data:`PATTERN_EVIDENCE` gives its ``worst_shift_z``.

    ``worst_shift_z`` alone does not say whether latency, feedback or crashes stood out. A missing
    evidence (or a column ``signals`` lacks) is no candidate, as for ``worst_shift_z``; of equal
    ones the first is named.

    Returns
    -------
    pandas.Series
        The evidence signal's name, or None where no evidence is known; on ``signals``' index.
    """
    values = signals.reindex(columns=list(PATTERN_EVIDENCE)).to_numpy(dtype="float64")
    unknown = np.isnan(values)
    largest = np.where(unknown, -np.inf, values).argmax(axis=1)
    names = np.where(unknown.all(axis=1), None, np.asarray(PATTERN_EVIDENCE, dtype=object)[largest])
    return pd.Series(names, index=signals.index, dtype=object)


def build_signals(
    fact: pd.DataFrame, metadata: pd.DataFrame | None = None, *, degradation: Mapping[str, Any]
) -> pd.DataFrame:
    """Signals of every feature-day of ``fact``, each from data up to that day only.

    Parameters
    ----------
    fact : pandas.DataFrame
        ``fact_feature_metrics`` (one row per feature and day; see DESIGN.md).
    metadata : pandas.DataFrame, optional
        ``dim_feature_metadata``, matched on ``feature_id`` as text (as the result's); lifecycle
        stage, tier and age are NaN for a feature it lacks, and left out when it describes none.
    degradation : mapping
        The profile's ``degradation`` group (thresholds behind ``*_to_threshold``), every
        required key present (:data:`featurehealth.degradation.REQUIRED_SETTINGS`).

    Returns
    -------
    pandas.DataFrame
        ``feature_id``, ``date`` (datetime64) and one float column per signal, one row per row
        of ``fact``, sorted by date then feature_id; no infinities.

    Raises
    ------
    ValueError
        If ``fact`` has no rows, a required column is missing, a feature-day appears twice, or
        a key of ``degradation`` is missing or unknown.
    """
    check_degradation_settings(degradation)
    _check_fact(fact)
    rows = fact.assign(date=normalise_dates(fact["date"]), feature_id=fact["feature_id"].astype(str))
    days = pd.date_range(rows["date"].min(), rows["date"].max(), freq="D")
    features = pd.Index(sorted(rows["feature_id"].unique()), dtype=str)
    wide = _wide_signals(rows, days, features, degradation=degradation)
    ordered = rows.sort_values(["date", "feature_id"], kind="stable")[list(KEYS)].reset_index(drop=True)
    day_index = days.get_indexer(ordered["date"])
    feature_index = features.get_indexer(ordered["feature_id"])
    columns = {name: values[day_index, feature_index] for name, values in wide.items()}
    meta = _metadata_codes(metadata, features).iloc[feature_index]
    columns["day_of_week"] = ordered["date"].dt.day_of_week.to_numpy(dtype="float64")
    age = (ordered["date"].to_numpy() - meta["launch_date"].to_numpy()) / np.timedelta64(1, "D")
    described = {"lifecycle_stage_code": meta["lifecycle_stage_code"].to_numpy(),
                 "tier_code": meta["tier_code"].to_numpy(), "feature_age_days": np.clip(age, 0, MAX_AGE_DAYS)}
    # Without metadata (telemetry of one's own) these would be constant: no signal at all.
    columns.update({name: coded for name, coded in described.items() if not np.isnan(coded).all()})
    values = pd.DataFrame(columns, dtype="float64").replace([np.inf, -np.inf], np.nan)
    return pd.concat([ordered, values], axis=1)


#: Settings of the ``degradation`` group the definitions sample is built with (the profile's are
#: compared apart, on the model card), so the fingerprint depends on this module's code alone.
_SAMPLE_DEGRADATION = {
    "baseline_days": 28, "min_baseline_days": 7, "min_usage": 50, "p95_latency_abs_ms": 3000, "p95_latency_rel": 1.6,
    "crash_rate_abs": 0.05, "crash_rate_rel": 3.0, "crash_rate_rel_floor": 0.01, "min_crashes": 3,
    "crash_max_pvalue": 0.001, "feedback_abs": 2.5, "feedback_rel_drop": 0.8, "min_feedback": 5,
}
#: Days and features of the definitions sample: enough days for every baseline window to fill.
_SAMPLE_DAYS = 45
_SAMPLE_FEATURES = ("f0", "f1")
#: Significant digits of a signal value in the fingerprint, and the magnitude below which a value
#: counts as 0: another numpy or scipy build may round the last bits otherwise, never the sixth digit.
_FINGERPRINT_DIGITS = 6
_FINGERPRINT_ZERO = 1e-9


def definitions_sample() -> pd.DataFrame:
    """Every signal of a small fixed fact table and metadata built here, as :func:`build_signals` gives them.

    The table is made of arithmetic sequences, not random draws, so it is the same everywhere; it
    feeds every optional column (error data and app versions exported from a later day on, as
    real feeds start them), the metadata, degraded days and a missing feature-day.
    """
    day = np.arange(_SAMPLE_DAYS)
    rows = []
    for f, feature_id in enumerate(_SAMPLE_FEATURES):
        usage = 180 + 37 * f + 13 * ((7 * day + 3 * f) % 11)
        crashes = (3 * day + f) % 5 + np.where(day % 17 == 16, 9, 0)
        feedback_n = 4 + (day + 2 * f) % 7
        p95 = 700 + 90 * f + 23 * ((5 * day + f) % 9) + np.where(day % 13 == 12, 900, 0)
        new_events = np.where(day >= 30 + 3 * f, 7 * (day - 28), 0)
        rows.append(pd.DataFrame({
            "feature_id": feature_id, "date": pd.Timestamp("2026-01-05") + pd.to_timedelta(day, unit="D"),
            "usage_count": usage, "active_users": usage // 3 + f, "crash_count": crashes, "crash_rate": crashes / usage,
            "feedback_count": feedback_n, "avg_feedback": 4.1 - 0.17 * ((3 * day + f) % 7) / (1 + day % 5),
            "p95_latency": p95, "p99_latency": 1.37 * p95 + 11 * (day % 4), "avg_latency": 0.52 * p95 - 7 * (day % 3),
            "p50_latency": 0.41 * p95 + 5 * (day % 6),
            "error_rate": np.where(day >= 20 + 5 * f, 0.011 + 0.0023 * ((day + f) % 5), np.nan),
            "new_version_events": new_events, "new_version_crashes": np.where(new_events > 0, day % 3, 0),
            "is_degraded": (crashes >= 9) | (p95 >= 1500) | ((day + 5 * f) % 19 == 0),
        }))
    fact = pd.concat(rows, ignore_index=True).drop(index=40)  # f0's day 40: a gap, not a zero
    metadata = pd.DataFrame({"feature_id": list(_SAMPLE_FEATURES), "lifecycle_stage": list(LIFECYCLE_STAGES[1:3]),
                             "tier": list(TIERS[:2]), "launch_date": ["2025-12-20", "2025-10-01"]})
    return build_signals(fact, metadata, degradation=_SAMPLE_DEGRADATION)


def definitions_fingerprint() -> str:
    """Short hash of how the signals are computed: of every value of :func:`definitions_sample`.

    The same code gives the same 16 hex digits on every run and machine; a change to the way a
    signal is computed (a window, a formula, a helper), which keeps its name, changes them. Values
    are hashed at 6 significant digits and below ``1e-9`` as 0, so only a difference in the
    computation counts, not float noise.
    """
    import hashlib

    sample = definitions_sample()
    names = sorted(signal_columns(sample))
    values = sample[names].to_numpy(dtype="float64")
    # A 0 computed as -1e-17 on one build and 1e-17 on another must print alike.
    values = np.where(np.abs(values) < _FINGERPRINT_ZERO, 0.0, values)
    text = "\n".join(f"{name}:" + ",".join(f"{v:.{_FINGERPRINT_DIGITS}g}" for v in values[:, i])
                     for i, name in enumerate(names))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def signal_columns(signals: pd.DataFrame) -> list[str]:
    """Names of the signal columns of a :func:`build_signals` frame, in order."""
    return [c for c in signals.columns if c not in KEYS]


def build_target(fact: pd.DataFrame, *, horizon_days: int) -> pd.DataFrame:
    """Target per feature-day: degraded on any day in ``(t, t + horizon_days]``.

    A missing feature-day counts as not degraded, but a horizon of missing feature-days only (a
    feature paused, retired or renamed) is unknown (NaN). Days whose horizon runs past the last date
    of ``fact`` have no target yet (NaN): they are the days to score, never to train on.

    Parameters
    ----------
    fact : pandas.DataFrame
        ``fact_feature_metrics`` with ``feature_id``, ``date``, ``is_degraded``.
    horizon_days : int
        Days ahead the target looks (>= 1).

    Returns
    -------
    pandas.DataFrame
        ``feature_id``, ``date`` and ``target`` (float 0/1 or NaN), in :func:`build_signals` order.

    Raises
    ------
    ValueError
        If ``horizon_days`` is not an integer >= 1, ``fact`` has no rows or lacks a column.
    """
    if not isinstance(horizon_days, (int, np.integer)) or isinstance(horizon_days, bool) or horizon_days < 1:
        raise ValueError(f"horizon_days must be an integer >= 1, got {horizon_days!r}.")
    missing = [c for c in (*KEYS, "is_degraded") if c not in fact.columns]
    if missing:
        raise ValueError(f"fact table lacks columns {', '.join(missing)}; required: feature_id, date, is_degraded.")
    _check_not_empty(fact)
    rows = fact.assign(date=normalise_dates(fact["date"]), feature_id=fact["feature_id"].astype(str))
    days = pd.date_range(rows["date"].min(), rows["date"].max(), freq="D")
    features = pd.Index(sorted(rows["feature_id"].unique()), dtype=str)
    flags = _grid(rows, "is_degraded", days, features)
    # Maximum over the next `horizon_days` rows; rows beyond the data end stay unknown.
    padded = np.vstack([np.nan_to_num(flags), np.full((horizon_days, flags.shape[1]), np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded[1:], horizon_days, axis=0)
    ahead = windows.max(axis=-1)
    # A horizon without a single row of the feature (paused, retired, renamed) was not observed:
    # unknown, as past the data's end, rather than a "not degraded" no data supports.
    seen = np.vstack([~np.isnan(flags), np.zeros((horizon_days, flags.shape[1]), dtype=bool)])
    observed = np.lib.stride_tricks.sliding_window_view(seen[1:], horizon_days, axis=0).any(axis=-1)
    ahead = np.where(observed, ahead, np.nan)
    ordered = rows.sort_values(["date", "feature_id"], kind="stable")[list(KEYS)].reset_index(drop=True)
    target = ahead[days.get_indexer(ordered["date"]), features.get_indexer(ordered["feature_id"])]
    return ordered.assign(target=target)
