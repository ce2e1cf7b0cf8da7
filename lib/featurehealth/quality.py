"""Data-quality checks of one ingest run -> ``reports/data_quality.json``.

Each check reports its name, status (pass, warn or fail), observed value, thresholds and the
rule comparing them. For "above" checks a value at or above the warn (fail) threshold warns
(fails); for "below" checks (volume ratio) a value under the threshold does. Which failures stop
the run is the profile's ``quality.stop_on_fail``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from featurehealth import aggregate, degradation, ingest, validate

if TYPE_CHECKING:
    import pandas as pd

CHECKS = (
    "missing_days", "volume_drop", "duplicate_events", "null_rate", "out_of_range", "freshness", "unknown_features",
)
STATUSES = ("pass", "warn", "fail")
_WORST_SHOWN = 5


class QualityError(ValueError):
    """A check listed in ``quality.stop_on_fail`` failed; the message names it and the fix."""


def grade(observed: float | None, *, warn: float, fail: float, below: bool = False) -> str:
    """Status of an observed value: ``"fail"``, ``"warn"`` or ``"pass"`` (None -> pass: nothing to judge).

    Parameters
    ----------
    observed : float or None
    warn, fail : float
        Thresholds; reached (``>=``) by "above" checks, undercut (``<``) with ``below``.
    below : bool
        Low values are bad (e.g. a volume ratio).
    """
    if observed is None:
        return "pass"
    if below:
        return "fail" if observed < fail else "warn" if observed < warn else "pass"
    return "fail" if observed >= fail else "warn" if observed >= warn else "pass"


def _check(
    name: str, observed: Any, *, warn: float, fail: float, below: bool = False, **details: Any
) -> dict[str, Any]:
    rule = "below" if below else "at or above"
    return {
        "name": name,
        "status": grade(observed, warn=warn, fail=fail, below=below),
        "observed": round(observed, 6) if isinstance(observed, float) else observed,
        "threshold": {"warn": warn, "fail": fail},
        "rule": f"warn {rule} warn, fail {rule} fail",
        "details": details,
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def check_missing_days(
    counts: "pd.DataFrame", *, start: date, end: date, warn: float, fail: float
) -> dict[str, Any]:
    """Share of expected feature-days in the window without any valid event.

    A feature is expected on each window day from its first day with events (in ``counts``,
    which may include earlier history) to ``end``.
    """
    first_seen = counts.groupby("feature_id")["date"].min()
    present = set(zip(counts["feature_id"], counts["date"], strict=True))
    expected = [(f, d) for f, first in first_seen.items() for d in _days(max(first, start), end)]
    missing = sorted(key for key in expected if key not in present)
    return _check(
        "missing_days", _share(len(missing), len(expected)), warn=warn, fail=fail,
        expected_feature_days=len(expected), missing_feature_days=len(missing),
        examples=[{"feature_id": f, "date": d.isoformat()} for f, d in missing[:_WORST_SHOWN]],
    )


def check_volume_drop(
    counts: "pd.DataFrame",
    *,
    start: date,
    end: date,
    baseline_days: int,
    min_baseline_days: int,
    warn: float,
    fail: float,
) -> dict[str, Any]:
    """Lowest ratio of a window feature-day's events to the feature's trailing median."""
    baseline = degradation.trailing_statistic(counts, "events", days=baseline_days, min_periods=min_baseline_days)
    ratio = counts["events"] / baseline
    judged = counts.assign(ratio=ratio)[ratio.notna() & counts["date"].between(start, end)]
    worst = judged.sort_values(["ratio", "feature_id", "date"], kind="stable").head(_WORST_SHOWN)
    observed = float(judged["ratio"].min()) if len(judged) else None
    return _check(
        "volume_drop", observed, warn=warn, fail=fail, below=True,
        judged_feature_days=len(judged), below_warn=int((judged["ratio"] < warn).sum()),
        worst=[
            {"feature_id": r.feature_id, "date": r.date.isoformat(), "ratio": round(r.ratio, 4)}
            for r in worst.itertuples()
        ],
    )


def check_null_rate(null_counts: Mapping[str, int], *, rows_in: int, warn: float, fail: float) -> dict[str, Any]:
    """Highest share of missing values among the required columns."""
    rates = {c: _share(int(null_counts.get(c, 0)), rows_in) for c in ingest.REQUIRED_COLUMNS}
    return _check(
        "null_rate", max(rates.values()), warn=warn, fail=fail, by_column={c: round(r, 6) for c, r in rates.items()}
    )


def check_freshness(last_event: date | None, *, as_of: date, warn: float, fail: float) -> dict[str, Any]:
    """Days between the as-of date and the latest input day (``fail`` when there is none).

    The latest input day is the summary's ``latest_input_date``: the feed's freshness, so a
    backfill of an old window on current input is fresh.
    """
    lag = (as_of - last_event).days if last_event else None
    check = _check("freshness", lag, warn=warn, fail=fail, as_of=as_of.isoformat(),
                   latest_event=last_event.isoformat() if last_event else None)
    if lag is None:
        check["status"] = "fail"
    return check


def check_unknown_features(
    features: Iterable[str], known: Iterable[str], *, warn: float, fail: float
) -> dict[str, Any]:
    """Number of features with events but no row in the feature metadata."""
    unknown = sorted(set(features) - set(known))
    return _check("unknown_features", len(unknown), warn=warn, fail=fail, features=unknown[:50])


def run_checks(
    summary: Mapping[str, Any],
    daily_counts: "pd.DataFrame",
    *,
    history: "pd.DataFrame | None",
    known_features: Iterable[str],
    volume_drop_warn: float,
    volume_drop_fail: float,
    volume_baseline_days: int,
    volume_min_baseline_days: int,
    missing_days_warn: float,
    missing_days_fail: float,
    duplicate_share_warn: float,
    duplicate_share_fail: float,
    null_rate_warn: float,
    null_rate_fail: float,
    out_of_range_warn: float,
    out_of_range_fail: float,
    freshness_warn_days: float,
    freshness_fail_days: float,
    unknown_features_warn: float,
    unknown_features_fail: float,
    stop_on_fail: Sequence[str],
) -> dict[str, Any]:
    """All quality checks of a run (keyword names = the ``quality`` group).

    Parameters
    ----------
    summary : mapping
        The ingest summary (:class:`featurehealth.validate.ValidationResult`).
    daily_counts : pandas.DataFrame
        Valid events per ``feature_id`` and ``date`` in the window (column ``events``).
    history : pandas.DataFrame or None
        The previous fact table (``feature_id``, ``date``, ``usage_count``); its days outside
        the window give volume baselines and first-seen days.
    known_features : iterable of str
        Feature ids of the metadata.

    Returns
    -------
    dict
        ``checks`` (one dict per :data:`CHECKS` entry, in that order) and ``summary``
        (counts per status, ``status`` the worst, ``stopping`` the failed checks that stop the run).

    Raises
    ------
    ValueError
        If ``stop_on_fail`` names an unknown check.
    """
    import pandas as pd

    unknown = [c for c in stop_on_fail if c not in CHECKS]
    if unknown:
        raise ValueError(f"quality.stop_on_fail names {', '.join(map(repr, unknown))}; allowed: {', '.join(CHECKS)}.")
    start, end = date.fromisoformat(summary["window_start"]), date.fromisoformat(summary["window_end"])
    as_of = date.fromisoformat(summary["as_of"])
    counts = daily_counts
    if history is not None and len(history):
        past = history.assign(date=aggregate.as_dates(history["date"]))
        past = past[(past["date"] < start) | (past["date"] > end)]
        counts = pd.concat(
            [past[["feature_id", "date"]].assign(events=past["usage_count"].to_numpy()), daily_counts],
            ignore_index=True,
        )
    counts = counts.sort_values(["feature_id", "date"], kind="stable").reset_index(drop=True)
    rows_in = int(summary["rows_in"])
    by_reason = summary["by_reason"]
    out_of_range = sum(int(by_reason.get(r, 0)) for r in validate.OUT_OF_RANGE_REASONS)
    duplicates = int(by_reason.get("duplicate_event", 0))
    # Older summaries lack latest_input_date; their window's last valid day is the nearest figure.
    last_event = summary.get("latest_input_date") or summary.get("last_event_date")
    checks = [
        check_missing_days(counts, start=start, end=end, warn=missing_days_warn, fail=missing_days_fail),
        check_volume_drop(
            counts, start=start, end=end, baseline_days=volume_baseline_days,
            min_baseline_days=volume_min_baseline_days, warn=volume_drop_warn, fail=volume_drop_fail,
        ),
        _check("duplicate_events", _share(duplicates, rows_in),
               warn=duplicate_share_warn, fail=duplicate_share_fail, duplicates=duplicates),
        check_null_rate(summary["null_counts"], rows_in=rows_in, warn=null_rate_warn, fail=null_rate_fail),
        _check("out_of_range", _share(out_of_range, rows_in), warn=out_of_range_warn, fail=out_of_range_fail,
               rows=out_of_range, reasons=list(validate.OUT_OF_RANGE_REASONS)),
        check_freshness(date.fromisoformat(last_event) if last_event else None, as_of=as_of,
                        warn=freshness_warn_days, fail=freshness_fail_days),
        check_unknown_features(daily_counts["feature_id"], known_features,
                               warn=unknown_features_warn, fail=unknown_features_fail),
    ]
    tally = {s: sum(c["status"] == s for c in checks) for s in STATUSES}
    worst = next((s for s in reversed(STATUSES) if tally[s]), "pass")
    stopping = [c["name"] for c in checks if c["status"] == "fail" and c["name"] in stop_on_fail]
    return {
        "as_of": summary["as_of"],
        "window": {"start": summary["window_start"], "end": summary["window_end"]},
        "checks": checks,
        "summary": {**tally, "status": worst, "stopping": stopping},
    }


def checks_table(report: Mapping[str, Any]) -> "pd.DataFrame":
    """One row per check (name, status, observed, warn, fail) for display."""
    import pandas as pd

    return pd.DataFrame([
        {"check": c["name"], "status": c["status"], "observed": c["observed"],
         "warn": c["threshold"]["warn"], "fail": c["threshold"]["fail"]}
        for c in report["checks"]
    ])


def enforce(report: Mapping[str, Any]) -> None:
    """Stop the run when a check of ``quality.stop_on_fail`` failed.

    Raises
    ------
    QualityError
        One sentence naming the failed check(s), what was observed and the fix.
    """
    stopping = report["summary"]["stopping"]
    if not stopping:
        return
    failed = [c for c in report["checks"] if c["name"] in stopping]
    observed = "; ".join(
        f"{c['name']} observed {c['observed']} (fail threshold {c['threshold']['fail']})" for c in failed
    )
    raise QualityError(
        f"Data quality stopped the run: {observed}; fix the input (see reports/data_quality.json in the "
        f"run's folder runs/<run_id>/) or remove the check from quality.stop_on_fail."
    )
