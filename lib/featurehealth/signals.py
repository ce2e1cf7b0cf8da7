"""Model signals and target for the early-warning risk model (grain: one feature, one day).

Every signal of feature ``f`` on day ``t`` is computed from fact rows dated ``<= t`` only: the
fact table is laid out as a days x features grid (a missing feature-day is a gap, not a zero)
and every window is trailing. The target looks ahead on purpose and lives apart, in
:func:`build_target`.

Signal families (names are ``<metric>_<kind>``):

- levels of the day (``_level``) and 7-/28-day means including the day (``_mean7``, ``_mean28``);
- z-scores of the day and of the 7-day mean against the feature's own baseline, the 28 days
  that end a week before ``t`` (``_z``, ``_z7``), so a slow precursor does not leak into the
  baseline it is compared with;
- trend: least-squares slope over the last 7 days in baseline standard deviations per day
  (``_slope7``);
- distance to the degradation rule (``_to_threshold``: the day's value over the threshold of
  the ``degradation`` profile group, > 1 means the rule fires);
- usage change (``usage_count_change7``: 7-day mean over baseline mean, minus one);
- degradation history (``degraded_today``, ``degraded_days_7``, ``degraded_days_28``,
  ``days_since_degraded``);
- calendar and metadata (``day_of_week``, ``lifecycle_stage_code``, ``tier_code``,
  ``feature_age_days``, capped at :data:`MAX_AGE_DAYS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

KEYS = ("feature_id", "date")
#: Days of history a signal of day t reads, t included: baseline of 28 days ending 7 days before t.
LOOKBACK_DAYS = 35
BASELINE_DAYS = 28
BASELINE_GAP_DAYS = 7
#: Fewest observations for a rolling statistic; fewer gives NaN (the forest handles missing values).
MIN_PERIODS = 4
#: Metrics with the full set of signals; the sign says in which direction the metric gets worse.
RULE_METRICS = {"p95_latency": 1, "crash_rate": 1, "avg_feedback": -1}
#: Further metrics with level, z-scores and trend.
TREND_METRICS = ("p99_latency", "avg_latency", "p50_latency", "usage_count")
#: Plain levels of the day.
LEVEL_ONLY = ("active_users", "feedback_count", "crash_count")
LIFECYCLE_STAGES = ("experimental", "beta", "ga", "deprecated")
TIERS = ("standard", "critical")
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
            f"fact table lacks columns {missing}; required: {', '.join(REQUIRED_FACT_COLUMNS)}."
        )
    if fact.duplicated(list(KEYS)).any():
        raise ValueError("fact table has more than one row per (feature_id, date); expected one.")


def normalise_dates(values: pd.Series) -> pd.Series:
    """Dates (``datetime.date``, strings or timestamps) as midnight ``datetime64[ns]``."""
    return pd.to_datetime(values).dt.normalize().astype("datetime64[ns]")


def _grid(fact: pd.DataFrame, column: str, days: pd.DatetimeIndex, features: pd.Index) -> pd.DataFrame:
    """``column`` as a days x features frame; missing feature-days are NaN."""
    wide = fact.assign(value=fact[column].astype("float64")).pivot(index="date", columns="feature_id", values="value")
    return wide.reindex(index=days, columns=features).astype("float64")


def _baseline(wide: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean and floored std of the 28 days ending ``BASELINE_GAP_DAYS`` before each day."""
    rolling = wide.rolling(BASELINE_DAYS, min_periods=MIN_PERIODS)
    mean = rolling.mean().shift(BASELINE_GAP_DAYS)
    std = rolling.std().shift(BASELINE_GAP_DAYS)
    floor = (mean.abs() * STD_FLOOR_SHARE).clip(lower=1e-9)
    return mean, std.where(std > floor, floor)


def _slope(wide: pd.DataFrame, window: int) -> pd.DataFrame:
    """Least-squares slope per day over a trailing ``window``, skipping gaps."""
    t = pd.DataFrame(
        np.broadcast_to(np.arange(len(wide), dtype="float64")[:, None], wide.shape),
        index=wide.index, columns=wide.columns,
    )
    present = wide.notna()
    t = t.where(present)

    def rsum(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.fillna(0.0).rolling(window, min_periods=1).sum()

    n = present.astype("float64").rolling(window, min_periods=1).sum()
    sum_t, sum_y = rsum(t), rsum(wide)
    denominator = n * rsum(t * t) - sum_t**2
    slope = (n * rsum(t * wide) - sum_t * sum_y) / denominator.where(denominator > 0)
    return slope.where(n >= MIN_PERIODS)


def _rule_threshold(wide: pd.DataFrame, metric: str, degradation: Mapping[str, Any]) -> pd.DataFrame:
    """The degradation rule's threshold per feature-day, as in the ``degradation`` group."""
    median = wide.rolling(degradation["baseline_days"], min_periods=degradation["min_baseline_days"]).median().shift(1)
    if metric == "p95_latency":
        return (median * degradation["p95_latency_rel"]).clip(upper=degradation["p95_latency_abs_ms"]).fillna(
            degradation["p95_latency_abs_ms"]
        )
    if metric == "crash_rate":
        relative = (median * degradation["crash_rate_rel"]).clip(lower=degradation["crash_rate_rel_floor"])
        return relative.clip(upper=degradation["crash_rate_abs"]).fillna(degradation["crash_rate_abs"])
    relative = median * degradation["feedback_rel_drop"]
    return relative.clip(lower=degradation["feedback_abs"]).fillna(degradation["feedback_abs"])


def _metric_signals(
    wide: pd.DataFrame, metric: str, *, full: bool, degradation: Mapping[str, Any]
) -> dict[str, pd.DataFrame]:
    mean7 = wide.rolling(7, min_periods=MIN_PERIODS).mean()
    base_mean, base_std = _baseline(wide)
    out = {
        f"{metric}_level": wide,
        f"{metric}_z": (wide - base_mean) / base_std,
        f"{metric}_z7": (mean7 - base_mean) / base_std,
        f"{metric}_slope7": _slope(wide, 7) / base_std,
    }
    if full:
        out[f"{metric}_mean7"] = mean7
        out[f"{metric}_mean28"] = wide.rolling(28, min_periods=MIN_PERIODS).mean()
        threshold = _rule_threshold(wide, metric, degradation)
        ratio = wide / threshold if RULE_METRICS[metric] > 0 else threshold / wide
        out[f"{metric}_to_threshold"] = ratio
    if metric == "usage_count":
        out["usage_count_change7"] = mean7 / base_mean - 1.0
    return out


def _history_signals(degraded: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Counts of degraded days and days since the last one (capped at ``BASELINE_DAYS``)."""
    flag = degraded.fillna(0.0)
    day = np.arange(len(flag), dtype="float64")[:, None]
    last = np.where(flag.to_numpy() > 0, day, -np.inf)
    last = np.maximum.accumulate(last, axis=0)
    since = np.minimum(day - last, BASELINE_DAYS)
    return {
        "degraded_today": degraded,
        "degraded_days_7": flag.rolling(7, min_periods=1).sum(),
        "degraded_days_28": flag.rolling(BASELINE_DAYS, min_periods=1).sum(),
        "days_since_degraded": pd.DataFrame(since, index=flag.index, columns=flag.columns),
    }


def _metadata_codes(metadata: pd.DataFrame | None, features: pd.Index) -> pd.DataFrame:
    """Lifecycle stage, tier and launch date per feature, coded with fixed vocabularies."""
    columns = ["lifecycle_stage", "tier", "launch_date"]
    meta = pd.DataFrame(index=features, columns=columns, dtype="object")
    if metadata is not None and len(metadata):
        known = metadata.drop_duplicates("feature_id").set_index("feature_id")
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


def build_signals(
    fact: pd.DataFrame, metadata: pd.DataFrame | None = None, *, degradation: Mapping[str, Any]
) -> pd.DataFrame:
    """Signals of every feature-day of ``fact``, each from data up to that day only.

    Parameters
    ----------
    fact : pandas.DataFrame
        ``fact_feature_metrics`` (one row per feature and day; see DESIGN.md).
    metadata : pandas.DataFrame, optional
        ``dim_feature_metadata``; lifecycle stage, tier and age are NaN without it.
    degradation : mapping
        The profile's ``degradation`` group (thresholds behind ``*_to_threshold``).

    Returns
    -------
    pandas.DataFrame
        ``feature_id``, ``date`` (datetime64) and one float column per signal, one row per row
        of ``fact``, sorted by date then feature_id; no infinities.

    Raises
    ------
    ValueError
        If a required column is missing or a feature-day appears twice.
    """
    _check_fact(fact)
    rows = fact.assign(date=normalise_dates(fact["date"]), feature_id=fact["feature_id"].astype(str))
    days = pd.date_range(rows["date"].min(), rows["date"].max(), freq="D")
    features = pd.Index(sorted(rows["feature_id"].unique()), dtype=str)
    wide: dict[str, pd.DataFrame] = {}
    for metric in RULE_METRICS:
        wide.update(_metric_signals(_grid(rows, metric, days, features), metric, full=True, degradation=degradation))
    for metric in TREND_METRICS:
        wide.update(_metric_signals(_grid(rows, metric, days, features), metric, full=False, degradation=degradation))
    for metric in LEVEL_ONLY:
        wide[f"{metric}_level"] = _grid(rows, metric, days, features)
    wide.update(_history_signals(_grid(rows, "is_degraded", days, features)))

    ordered = rows.sort_values(["date", "feature_id"], kind="stable")[list(KEYS)].reset_index(drop=True)
    day_index = days.get_indexer(ordered["date"])
    feature_index = features.get_indexer(ordered["feature_id"])
    columns = {name: frame.to_numpy()[day_index, feature_index] for name, frame in wide.items()}
    meta = _metadata_codes(metadata, features).iloc[feature_index]
    columns["day_of_week"] = ordered["date"].dt.day_of_week.to_numpy(dtype="float64")
    columns["lifecycle_stage_code"] = meta["lifecycle_stage_code"].to_numpy()
    columns["tier_code"] = meta["tier_code"].to_numpy()
    age = (ordered["date"].to_numpy() - meta["launch_date"].to_numpy()) / np.timedelta64(1, "D")
    columns["feature_age_days"] = np.clip(age, 0, MAX_AGE_DAYS)
    values = pd.DataFrame(columns, dtype="float64").replace([np.inf, -np.inf], np.nan)
    return pd.concat([ordered, values], axis=1)


def signal_columns(signals: pd.DataFrame) -> list[str]:
    """Names of the signal columns of a :func:`build_signals` frame, in order."""
    return [c for c in signals.columns if c not in KEYS]


def build_target(fact: pd.DataFrame, *, horizon_days: int) -> pd.DataFrame:
    """Target per feature-day: degraded on any day in ``(t, t + horizon_days]``.

    A missing feature-day counts as not degraded. Days whose horizon runs past the last date
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
    """
    if not isinstance(horizon_days, (int, np.integer)) or isinstance(horizon_days, bool) or horizon_days < 1:
        raise ValueError(f"horizon_days must be an integer >= 1, got {horizon_days!r}.")
    missing = [c for c in (*KEYS, "is_degraded") if c not in fact.columns]
    if missing:
        raise ValueError(f"fact table lacks columns {missing}; required: feature_id, date, is_degraded.")
    rows = fact.assign(date=normalise_dates(fact["date"]), feature_id=fact["feature_id"].astype(str))
    days = pd.date_range(rows["date"].min(), rows["date"].max(), freq="D")
    features = pd.Index(sorted(rows["feature_id"].unique()), dtype=str)
    degraded = _grid(rows, "is_degraded", days, features).fillna(0.0).to_numpy()
    # Maximum over the next `horizon_days` rows; rows beyond the data end stay unknown.
    padded = np.vstack([degraded, np.full((horizon_days, degraded.shape[1]), np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded[1:], horizon_days, axis=0)
    ahead = windows.max(axis=-1)
    ordered = rows.sort_values(["date", "feature_id"], kind="stable")[list(KEYS)].reset_index(drop=True)
    target = ahead[days.get_indexer(ordered["date"]), features.get_indexer(ordered["feature_id"])]
    return ordered.assign(target=target)
