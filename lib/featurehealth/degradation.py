"""Which feature-days are degraded: absolute thresholds and rules relative to the feature's past.

A relative rule compares a day with the median of the same feature over the ``baseline_days``
calendar days before it (the day itself excluded), using only days with at least
``min_usage`` events (the feedback rule: and ``min_feedback`` ratings); with fewer than
``min_baseline_days`` such days only the absolute rules apply. A day with fewer than
``min_usage`` events is never judged degraded.

"Degraded" should mean something went wrong, not that a small sample was unlucky: the crash
rules need ``min_crashes`` crashes, the relative crash rule also a count that the feature's own
pooled crash rate makes unlikely (``crash_max_pvalue``; the rate is the crashes plus half a
crash over the events of the judged days in the baseline window, :func:`crash_pvalue`), and the
feedback rules ``min_feedback`` ratings. On the simulations these keep chance days out of the model's
target while every injected incident day stays degraded (tests/test_pipeline.py checks it on
the ``ci`` profile).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: One boolean column per rule, in the order :func:`degradation_rules` returns them.
RULE_COLUMNS = (
    "latency_abs", "latency_rel", "crash_abs", "crash_rel", "feedback_abs", "feedback_rel",
)


#: Keys of the ``degradation`` group every rule needs (keywords of :func:`degradation_rules`).
REQUIRED_SETTINGS = (
    "baseline_days", "min_baseline_days", "min_usage", "p95_latency_abs_ms", "p95_latency_rel",
    "crash_rate_abs", "crash_rate_rel", "crash_rate_rel_floor", "feedback_abs", "feedback_rel_drop",
    "min_feedback",
)
#: Keys of the group with a default (:func:`degradation_rules`).
OPTIONAL_SETTINGS = ("min_crashes", "crash_max_pvalue")


def check_settings(settings: Mapping[str, Any]) -> None:
    """Check that ``settings`` holds every required key of the ``degradation`` group and no other.

    Raises
    ------
    ValueError
        One sentence naming the missing and the unknown keys.
    """
    missing = [k for k in REQUIRED_SETTINGS if k not in settings]
    unknown = sorted(str(k) for k in settings if k not in REQUIRED_SETTINGS + OPTIONAL_SETTINGS)
    problems = [f"lacks {', '.join(missing)}"] if missing else []
    if unknown:
        problems.append(f"has unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if problems:
        raise ValueError(
            f"The degradation group {' and '.join(problems)}; give every key of params/default.yaml's "
            f"degradation group ({' and '.join(OPTIONAL_SETTINGS)} may be left out)."
        )


#: Statistics :func:`trailing_statistic` computes over the trailing window.
TRAILING_STATISTICS = ("median", "sum")


def trailing_statistic(
    frame: "pd.DataFrame", column: str, *, days: int, min_periods: int, by: str = "feature_id", on: str = "date",
    statistic: str = "median",
) -> "pd.Series":
    """Median (or sum) of ``column`` over each group's previous ``days`` calendar days, the day excluded.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per (``by``, ``on``); NaN values are ignored (they do not count towards
        ``min_periods``).
    column : str
        Numeric column.
    days : int
        Window length in calendar days.
    min_periods : int
        Fewer non-NaN values in the window give NaN.
    by, on : str
        Group and date columns.
    statistic : {"median", "sum"}
        What is computed over the window.

    Returns
    -------
    pandas.Series
        Aligned with ``frame.index``.

    Raises
    ------
    ValueError
        If ``days`` < 1, ``min_periods`` is not in 1..``days`` or ``statistic`` is unknown.
    """
    import pandas as pd

    if statistic not in TRAILING_STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(TRAILING_STATISTICS)}; got {statistic!r}.")

    if days < 1 or not 1 <= min_periods <= days:
        raise ValueError(f"Need days >= 1 and 1 <= min_periods <= days; got days={days}, min_periods={min_periods}.")
    work = pd.DataFrame({
        "group": frame[by].to_numpy(),
        "ts": pd.to_datetime(pd.Series(frame[on].to_numpy())).to_numpy(),
        "value": pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64"),
    }).sort_values(["group", "ts"], kind="stable")
    rolled = (
        work.groupby("group", sort=False)
        .rolling(f"{days}D", on="ts", closed="left", min_periods=min_periods)["value"]
        .agg(statistic)
    )
    # The result follows ``work``'s sorted order (groups in order of appearance); ``work``'s
    # index is each row's position in ``frame``.
    by_position = pd.Series(rolled.to_numpy(), index=work.index).sort_index()
    return pd.Series(by_position.to_numpy(), index=frame.index, name=f"{column}_{statistic}")


def degradation_rules(
    fact: "pd.DataFrame",
    *,
    baseline_days: int,
    min_baseline_days: int,
    min_usage: int,
    p95_latency_abs_ms: float,
    p95_latency_rel: float,
    crash_rate_abs: float,
    crash_rate_rel: float,
    crash_rate_rel_floor: float,
    feedback_abs: float,
    feedback_rel_drop: float,
    min_feedback: int,
    min_crashes: int = 1,
    crash_max_pvalue: float = 1.0,
) -> "pd.DataFrame":
    """Evaluate each degradation rule on each feature-day (keyword names = the ``degradation`` group).

    Parameters
    ----------
    fact : pandas.DataFrame
        fact_feature_metrics rows (``feature_id``, ``date``, ``usage_count``, ``p95_latency``,
        ``crash_rate``, ``avg_feedback``, ``feedback_count``); one row per feature and day.

    Returns
    -------
    pandas.DataFrame
        ``feature_id``, ``date`` and the boolean :data:`RULE_COLUMNS`, aligned with ``fact``.

    Raises
    ------
    ValueError
        If a threshold is out of its range.
    """
    import pandas as pd

    if min_crashes < 1:
        raise ValueError(f"degradation: min_crashes must be >= 1; got {min_crashes}.")
    if not 0 < crash_max_pvalue <= 1:
        raise ValueError(f"degradation: crash_max_pvalue must be in (0, 1]; got {crash_max_pvalue}.")
    if not 1 <= min_baseline_days <= baseline_days:
        raise ValueError(
            "degradation: need 1 <= min_baseline_days <= baseline_days; "
            f"got baseline_days={baseline_days}, min_baseline_days={min_baseline_days}."
        )
    for key, value in {"min_usage": min_usage, "min_feedback": min_feedback}.items():
        if value < 0:
            raise ValueError(f"degradation: {key} must be >= 0; got {value}.")
    for key, value in {"p95_latency_rel": p95_latency_rel, "crash_rate_rel": crash_rate_rel,
                       "feedback_rel_drop": feedback_rel_drop}.items():
        if value <= 0:
            raise ValueError(f"degradation: {key} must be > 0; got {value}.")
    judged = fact["usage_count"] >= min_usage
    rated = judged & (fact["feedback_count"] >= min_feedback) & fact["avg_feedback"].notna()
    # Baselines only learn from days that could themselves be judged.
    basis = fact.assign(
        p95=fact["p95_latency"].where(judged),
        crash=fact["crash_rate"].where(judged),
        feedback=fact["avg_feedback"].where(rated),
    )
    window = {"days": baseline_days, "min_periods": min_baseline_days}
    p95_base = trailing_statistic(basis, "p95", **window)
    crash_base = trailing_statistic(basis, "crash", **window)
    feedback_base = trailing_statistic(basis, "feedback", **window)
    crash_limit = (crash_rate_rel * crash_base).clip(lower=crash_rate_rel_floor)
    # On a small feature one or two chance crashes already cross the floor; a minimum count
    # keeps such noise out of the target the model learns.
    crashed = judged & (fact["crash_count"] >= min_crashes)
    unlikely = crash_pvalue(basis, window=window, judged=judged) <= crash_max_pvalue
    rules = pd.DataFrame({
        "feature_id": fact["feature_id"],
        "date": fact["date"],
        "latency_abs": judged & (fact["p95_latency"] > p95_latency_abs_ms),
        "latency_rel": judged & p95_base.notna() & (fact["p95_latency"] > p95_latency_rel * p95_base),
        "crash_abs": crashed & (fact["crash_rate"] > crash_rate_abs),
        "crash_rel": crashed & crash_base.notna() & (fact["crash_rate"] > crash_limit) & unlikely,
        "feedback_abs": rated & (fact["avg_feedback"] < feedback_abs),
        "feedback_rel": rated & feedback_base.notna() & (fact["avg_feedback"] < feedback_rel_drop * feedback_base),
    }, index=fact.index)
    return rules.astype({c: "bool" for c in RULE_COLUMNS})


def poisson_tail(count: "np.ndarray | pd.Series", expected: "np.ndarray | pd.Series") -> "np.ndarray":
    """P(X >= ``count``) for X Poisson with mean ``expected`` (1 where ``count`` <= 0; NaN stays NaN).

    scipy.special rather than scipy.stats: the same function underneath, and importing
    scipy.stats costs a daily run's kernels most of a second.
    """
    import numpy as np
    from scipy import special

    count = np.asarray(count, dtype="float64")
    expected = np.asarray(expected, dtype="float64")
    return np.where(count <= 0, np.where(np.isnan(expected), np.nan, 1.0), special.pdtrc(count - 1, expected))


def crash_pvalue(fact: "pd.DataFrame", *, window: dict[str, int], judged: "pd.Series") -> "pd.Series":
    """Chance of at least the day's crashes at the feature's pooled trailing crash rate (Poisson).

    The rate pools the crashes and events of the judged days in the trailing ``window``, plus
    half a crash, so that a clean history does not make a single crash look impossible. A day
    crossing the relative crash threshold by sampling noise alone, common on small features with
    rare crashes, gets a large value; NaN where the history is too short.
    """
    import pandas as pd

    pool = fact.assign(crashes=fact["crash_count"].where(judged), events=fact["usage_count"].where(judged))
    crashes = trailing_statistic(pool, "crashes", statistic="sum", **window)
    events = trailing_statistic(pool, "events", statistic="sum", **window)
    expected = fact["usage_count"] * (crashes + 0.5) / events.where(events > 0)
    return pd.Series(poisson_tail(fact["crash_count"], expected), index=fact.index)


def flag_degraded(fact: "pd.DataFrame", **degradation: float) -> "pd.DataFrame":
    """``fact`` with ``is_degraded`` (any rule of :func:`degradation_rules` true) recomputed.

    Every day is recomputed, so days whose trailing window changed (after a window was
    re-processed or a day appended) are always up to date.

    Parameters
    ----------
    fact : pandas.DataFrame
        fact_feature_metrics rows.
    **degradation
        The ``degradation`` parameter group.

    Returns
    -------
    pandas.DataFrame
        A copy of ``fact`` with a boolean ``is_degraded`` column.

    Raises
    ------
    ValueError
        If a key of the group is missing or unknown (:func:`check_settings`), or a threshold is
        out of its range.
    """
    check_settings(degradation)
    rules = degradation_rules(fact, **degradation)
    return fact.assign(is_degraded=rules[list(RULE_COLUMNS)].any(axis=1).to_numpy())
