"""Shape loaded artifacts into what the dashboard shows: tiles, filtered tables, HTML.

Pure functions of frames and dicts (see :mod:`.data` for loading). A figure that an artifact
does not hold is shown as :data:`~featurehealth.dashboard.data.NOT_AVAILABLE`, never guessed.
"""

from __future__ import annotations

import functools
import html
import numbers
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from featurehealth.dashboard.data import NOT_AVAILABLE, PUBLISH_STATES, lookup
from featurehealth.dashboard.plots import DRIFT_SCORES, NOT_AVAILABLE_SHORT, STATUS_WORDS, check_score, score_label
from featurehealth.display import (QUALITY_MEASURES, SMALLEST, count_text, number_text, percent_text, quality_entries,
                                  quality_rows, visible_text, withheld_text)

if TYPE_CHECKING:
    import pandas as pd

#: Choice meaning "no filter" in the ranking filters.
ALL = "All"
#: Ranking columns the Risk ranking tab filters on.
FILTER_COLUMNS = ("owner_team", "lifecycle_stage", "tier", "risk_bucket")
TONES = ("ok", "warn", "bad", "neutral")
#: Header of the ranking's feature cell: its name over its :data:`FEATURE_DETAILS` (:func:`ranking_view`).
FEATURE_HEADER = "feature (team · stage · tier)"
#: Ranking columns on the second line of the feature cell, in order, when present.
FEATURE_DETAILS = ("owner_team", "lifecycle_stage", "tier")
#: Ranking columns shown between the feature and why, in order, when present.
RANKING_NUMBERS = ("risk_probability", "risk_bucket", "active_users", "impact")
#: Rows the Risk ranking draws until "rows shown" asks for all (:func:`ranking_rows_choices`); 120 features fit.
RANKING_ROWS = 200
#: Features in alert named above the drift heatmap before "and N more" (hundreds can drift at once).
DRIFT_ALERTS_NAMED = 10
#: Metrics of the Model tab, as named in ``reports/metrics.json`` -> the words heading their column.
MODEL_METRICS = {
    "pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "precision": "precision", "recall": "recall", "f1": "F1",
    "brier": "Brier score", "base_rate": "base rate", "flagged_share": "share flagged",
}
#: Daily metrics of a feature (fact columns, the drift report's ``metric``) in words, with their unit.
METRIC_NAMES = {
    "usage_count": "events per day", "active_users": "active users", "avg_latency": "average latency (ms)",
    "p50_latency": "median latency (ms)", "p95_latency": "p95 latency (ms)", "p99_latency": "p99 latency (ms)",
    "crash_count": "crashes per day", "crash_rate": "crash rate", "avg_feedback": "average feedback rating (1-5)",
    "feedback_count": "ratings per day",
}


def plain_name(name: Any, *, words: Mapping[str, str]) -> str:
    """``name`` in ``words``; one it lacks with its underscores as spaces ("new_metric" -> "new metric").

    Report fields, metrics and reasons are written for code: the page shows them in words, and a
    name added later reads as well as it can rather than failing.
    """
    return words.get(str(name)) or str(name).replace("_", " ")


def metric_name(metric: Any) -> str:
    """A feature's daily ``metric`` in words (:data:`METRIC_NAMES`)."""
    return plain_name(metric, words=METRIC_NAMES)


@dataclass(frozen=True)
class Tile:
    """One Overview tile: a label, the headline value, a detail line and a tone for its colour.

    Raises
    ------
    ValueError
        If ``tone`` is not one of :data:`TONES`.
    """

    label: str
    value: str
    detail: str = ""
    tone: str = "neutral"

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"tone must be one of {', '.join(TONES)}, got {self.tone!r}.")


def _count_tile(label: str, count: int | None, *, detail: str, bad_from: int = 1) -> Tile:
    if count is None:
        return Tile(label, NOT_AVAILABLE, detail)
    return Tile(label, f"{count:,}", detail, "bad" if count >= bad_from else "ok")


def _drift_tile(alerts: int | None, *, cells: int | None, insufficient: int | None,
                advice: Mapping[str, Any] | None = None) -> Tile:
    """Drift alerts of the report's cells, then whether retraining is advised; no green 0 when no cell had
    enough data to be judged."""
    if cells and insufficient == cells:
        return Tile("Drift alerts", NOT_AVAILABLE, f"too little data in all {cells:,} feature x metric cells")
    detail = f"of {cells:,} feature x metric cells" if cells else ""
    if detail and insufficient:
        detail += f" ({insufficient:,} with too little data)"
    if isinstance(advice, Mapping) and "retrain_recommended" in advice:
        # A red count of alerts alone read as "the model is broken", which the console's drift line denies.
        detail += f"; retraining {'advised' if advice['retrain_recommended'] else 'not advised'}"
    return _count_tile("Drift alerts", alerts, detail=detail)


#: The checks of ``reports/retrain.json`` in the order the Drift tab words them: the drift first.
_RETRAIN_CHECKS = ("drifted_share", "prediction_psi", "model_age_days", "data_growth", "library_versions")


def _score_effect_text(check: Mapping[str, Any]) -> str:
    """The effect the risk scores need besides PSI and p-value, with the observed one, from the
    ``prediction_psi`` check of ``reports/retrain.json``; empty for a report written before that rule."""
    mean_limit, distance_limit = check.get("mean_change_threshold"), check.get("wasserstein_threshold")
    if mean_limit is None or distance_limit is None:
        return ""
    mean_change, distance = check.get("mean_change"), check.get("wasserstein_norm")
    seen = []
    if mean_change is not None:
        seen.append(f"{'-' if mean_change < 0 else '+'}{percent_text(abs(mean_change))}")
    if distance is not None:
        seen.append(f"{distance:.2f}")
    here = f": here {' and '.join(seen)}" if seen else ""
    return f", and |mean change| from {percent_text(mean_limit)} or Wasserstein from {distance_limit:g}{here}"


def _retrain_check_text(name: str, check: Mapping[str, Any]) -> str:
    """One check of ``reports/retrain.json`` in words, against the limit that would advise retraining."""
    value, limit = check.get("value"), check.get("threshold")
    if name == "drifted_share":
        return ("cells in alert: not available" if value is None else
                f"{value:.1%} of feature x metric cells in alert (advised from {percent_text(limit)})")
    if name == "prediction_psi":
        if value is None:
            return "risk scores: not available"
        chance, pvalue = check.get("psi_expected_by_chance"), check.get("pvalue")
        by_chance = "" if chance is None else f"{chance:.3f} by chance alone; "
        observed = "" if pvalue is None else f": here {pvalue:.2g}"
        return (f"the risk scores moved by PSI {value:.3f} ({by_chance}advised from {limit} with p-value below "
                f"{check.get('pvalue_threshold')}{observed}{_score_effect_text(check)})")
    if name == "data_growth":
        if value is None:
            return "data added since the newest model's training: not available"
        advised = "check off: drift.retrain_data_growth is null" if limit is None else f"advised from {percent_text(limit)}"
        # The age check just before it names the days since the build: say only what they add to.
        return f"{percent_text(value)} more data than the {check.get('training_days')} days it was trained on ({advised})"
    if name == "library_versions":
        if value is None:
            return "the library versions of the model in use: not available"
        if not check.get("fired") and not check.get("note"):
            return "the model in use was saved under this environment's library versions"
        # Not fired with versions that differ: a newer version saved under these lost to it (the note says so).
        but = f", but {check['note']}" if check.get("note") else ""
        return f"the model in use was saved with {value}{but}"
    return ("the model's age: not available" if value is None else
            f"{count_text(value, 'day')} of data since the newest model was built (advised after {limit})")


def retrain_advice(advice: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The drift step's retraining advice (``reports/retrain.json``) in words, with its tone.

    Parameters
    ----------
    advice : mapping or None
        :func:`featurehealth.drift.retrain_recommendation`'s result as published.

    Returns
    -------
    tuple of (str, str) or None
        "Retraining advised: <reasons>. ...", "Retraining not advised, though a check fired (...): <why>." or
        "Retraining not advised: <each check against its limit>. ..."; and the tone (bad, neutral, ok). None
        without a report, or one that lacks its checks.
    """
    if not isinstance(advice, Mapping) or not isinstance(advice.get("checks"), Mapping):
        return None
    if advice.get("retrain_recommended"):
        return (f"Retraining advised: {'; '.join(advice.get('reasons') or [])}. A run with model.retrain auto "
                f"retrains the model; see docs/drift.md.", "bad")
    if advice.get("withheld"):
        return f"Retraining not advised{withheld_text(advice)}.", "neutral"
    found = advice["checks"]
    checks = "; ".join(_retrain_check_text(name, found[name]) for name in _RETRAIN_CHECKS
                       if isinstance(found.get(name), Mapping))
    limit, share = lookup(found, "drifted_share.threshold"), lookup(found, "drifted_share.value")
    # Only alerts there are need calling leads: with none, or no cell judged, the sentence would describe nothing.
    leads = "" if limit is None or not share else (f" Alerts in fewer than {percent_text(limit)} of the cells are "
                                                   f"leads on their features, not on the model.")
    return f"Retraining not advised: {checks}.{leads}", "ok"


def _status_tone(status: Any) -> str:
    return {"pass": "ok", "succeeded": "ok", "warn": "warn", "fail": "bad", "failed": "bad"}.get(status, "neutral")


def _quality_detail(quality: Mapping[str, Any] | None) -> str:
    """"1 warn (drop in events), 0 fail": the summary's counts with the checks behind them, in words.

    Checks not judged (nothing to compare yet) are named too when there are any: a "pass" tile
    must not read as every check having passed on a first run.
    """
    named = quality_entries(quality)[0] if isinstance(quality, Mapping) else []
    parts = []
    for level in ("warn", "fail", "not_judged"):
        count = lookup(quality, f"summary.{level}")
        if count is None or (level == "not_judged" and not count):
            continue
        names = [check_name(c["name"]) for c in named if c.get("status") == level]
        parts.append(f"{count} {plain_name(level, words=QUALITY_STATUSES)}" + (f" ({', '.join(names)})" if names else ""))
    return ", ".join(parts)


#: Short words for the reasons an incident is not judged (keys of ``early_warning.not_judged``).
NOT_JUDGED_SHORT = {
    "window_before_period": "warning window before it",
    "feature_not_scored_whole_window": "feature not scored every day",
}


def judged_incidents_text(early_warning: Mapping[str, Any] | None) -> str:
    """"58 judged in the test period (6 more not judged: warning window before it)".

    ``n_incidents`` counts only the incidents judged (warning window inside the test period and
    scored every day); those with their onset in it but not judged are named with their reasons
    (``n_incidents_not_judged``, ``not_judged``). A summary without these counts says
    "N in the test period".
    """
    total = lookup(early_warning, "n_incidents")
    shown = NOT_AVAILABLE if total is None else f"{total:,}"
    left_out = lookup(early_warning, "n_incidents_not_judged")
    if not isinstance(left_out, int) or isinstance(left_out, bool):
        return f"{shown} in the test period"
    text = f"{shown} judged in the test period"
    if left_out <= 0:
        return text
    reasons = lookup(early_warning, "not_judged")
    counts = [(NOT_JUDGED_SHORT.get(k, str(k)), n) for k, n in (reasons.items() if isinstance(reasons, dict) else [])
              if isinstance(n, int) and n > 0]
    if len(counts) == 1 and counts[0][1] == left_out:
        why = f": {counts[0][0]}"
    else:
        why = (": " + ", ".join(f"{n:,} {words}" for words, n in counts)) if counts else ""
    return f"{text} ({left_out:,} more not judged{why})"


def _early_warning_tile(metrics: Mapping[str, Any] | None) -> Tile:
    detected = lookup(metrics, "early_warning.incidents_detected")
    total = lookup(metrics, "early_warning.n_incidents")
    if detected is None or not total:
        reason = lookup(metrics, "early_warning.reason")
        if detected is not None and total == 0:
            # Evaluated, but no incident could be judged: say how many were left out and why.
            reason = f"no incident to judge: {judged_incidents_text(lookup(metrics, 'early_warning'))}"
        return Tile("Incidents predicted", NOT_AVAILABLE, reason or "early warning on the test period")
    lead = lookup(metrics, "early_warning.median_lead_days")
    chance = lookup(metrics, "early_warning.chance_share_warned_1d")
    detail = (
        f"warned ahead, of {judged_incidents_text(lookup(metrics, 'early_warning'))}"
        + (f"; median {count_text(lead, 'day')}" if _real(lead) else "")
        + (f"; random flags would warn {chance:.0%}" if chance is not None else "")
    )
    # "11" alone, beside "Features at risk ... in the next 7 days", read as incidents forecast.
    return Tile("Incidents predicted", f"{detected:,} of {total:,}", detail, _warning_tone(detected / total, chance))


def _warning_tone(share: float, chance: float | None) -> str:
    """"ok" when half the incidents were warned and at least twice what random flags would warn."""
    beats_chance = chance is None or share >= 2 * chance
    return "ok" if share >= 0.5 and beats_chance else "warn"


def _horizon_text(metrics: Mapping[str, Any] | None) -> str:
    horizon = lookup(metrics, "horizon_days")
    if _real(horizon):
        return f"in the next {count_text(horizon, 'day')}"
    return f"within the model's horizon ({NOT_AVAILABLE})"


def scored_day(ranking: "pd.DataFrame | None") -> str:
    """The day the ranking scored (YYYY-MM-DD), or "" without a dated row.

    Not necessarily today: a run whose as-of date lies past the input scores the input's last day.
    """
    # An empty ranking has no latest day (its max is NaN, which read "scored on nan").
    if ranking is None or "date" not in ranking or not ranking["date"].notna().any():
        return ""
    return str(ranking["date"].max())[:10]


def scored_day_text(ranking: "pd.DataFrame | None") -> str:
    """What follows "on" in a sentence about the scored day: :func:`scored_day`, or "the latest scored day" without one."""
    return scored_day(ranking) or "the latest scored day"


def at_risk_tile(ranking: "pd.DataFrame | None", metrics: Mapping[str, Any] | None) -> Tile:
    """The "Features at risk" tile: features in the ``medium`` or ``high`` risk bucket on the scored day.

    A "high" count alone read 0 on a green tile while the model flagged features at
    ``medium`` (its alerts start there when ``model.risk_buckets`` is ``auto``).

    Parameters
    ----------
    ranking : DataFrame or None
        ``reports/risk_ranking.csv`` (``risk_bucket`` column).
    metrics : dict or None
        ``reports/metrics.json`` (``horizon_days`` for the detail line).

    Returns
    -------
    Tile
        Bad with any ``high``, warn with only ``medium``, ok with none; not available
        without a bucket column or a scored feature.
    """
    if ranking is None or "risk_bucket" not in ranking:
        return Tile("Features at risk", NOT_AVAILABLE, "risk buckets medium and high on the latest scored day")
    if ranking.empty:
        # Nothing scored is not an all-clear: a green 0 would say every feature is fine.
        return Tile("Features at risk", NOT_AVAILABLE, "no feature was scored on the latest day")
    buckets = ranking["risk_bucket"].astype(str)
    high, medium = int((buckets == "high").sum()), int((buckets == "medium").sum())
    tone = "bad" if high else "warn" if medium else "ok"
    detail = (f"{high:,} high, {medium:,} medium on {scored_day_text(ranking)}: "
              f"chance of degrading {_horizon_text(metrics)}")
    return Tile("Features at risk", f"{high + medium:,}", detail, tone)


def monitored_tile(ranking: "pd.DataFrame | None", monitored: Collection[str] | Mapping[str, Any] | None) -> Tile:
    """The "Features monitored" tile: the features of the fact table, naming those the ranking lacks.

    A feature without data on the scored day is not ranked: counting the ranking alone, a feature
    that went silent (an outage of all its events, say) vanished from the Overview without a word.

    Parameters
    ----------
    ranking : DataFrame or None
        ``reports/risk_ranking.csv``.
    monitored : collection of str, mapping or None
        The feature ids of the fact table, or each id's last day with data (a date), which the tile
        gives for the features without a score; None without it, when the ranking's features are counted.

    Returns
    -------
    Tile
        Warn when some monitored feature has no score on the scored day; not available without
        either artifact.
    """
    scored_on = scored_day(ranking)
    plain = f"scored on {scored_on}" if scored_on else ""
    if monitored is None:
        return Tile("Features monitored", NOT_AVAILABLE if ranking is None else f"{len(ranking):,}", plain)
    ids = set(map(str, monitored))
    scored = set() if ranking is None else set(ranking["feature_id"].astype(str))
    silent = sorted(ids - scored)
    # An empty ranking scored no day to be silent on: the "Features at risk" tile says so.
    if not silent or not scored:
        return Tile("Features monitored", f"{len(ids):,}", plain)
    if isinstance(monitored, Mapping):
        # A feature retired weeks ago must not read as one silent for that day only.
        last = {str(k): v for k, v in monitored.items()}
        silent = [f"{f} (none since {last[f]:%Y-%m-%d})" for f in silent]
    return Tile("Features monitored", f"{len(ids):,}",
                f"{len(scored):,} scored on {scored_day_text(ranking)}; no data that day: {_named(silent)}", "warn")


def risk_caption(metrics: Mapping[str, Any] | None, cutoffs: Sequence[float]) -> str:
    """What the ranking's risk probability, risk bucket, impact and drivers mean (:func:`ranking_view`).

    Parameters
    ----------
    metrics : dict or None
        ``reports/metrics.json`` (``horizon_days``, ``operating_threshold``).
    cutoffs : sequence of float
        The two bucket cut-offs (:func:`bucket_cutoffs`); empty when unknown.

    Returns
    -------
    str
        One sentence; a figure the artifacts do not hold reads "not available".
    """
    # Cut-offs read as the ranking's risk_probability does (number_text): at two decimals a
    # feature at 0.358 showed "medium" under "medium from 0.36".
    if len(cutoffs) == 2:
        low, high = (number_text(c) for c in cutoffs)
        buckets = f"low below {low}, medium from {low}, high from {high}"
    else:
        buckets = f"cut-offs {NOT_AVAILABLE}"
    threshold = lookup(metrics, "operating_threshold")
    alerts = f" (the model alerts from {number_text(threshold)})" if _real(threshold) else ""
    return (f"risk probability: the model's chance (0 to 1) that the feature degrades {_horizon_text(metrics)}; "
            f"risk bucket: {buckets}{alerts}; impact = risk × active users of the scored day "
            f"(users likely to be hit); why: the signals that raised the score most, strongest first, one a line "
            f"(the Feature drill-down says what each measures).")


def overview_tiles(
    *,
    ranking: "pd.DataFrame | None",
    metrics: Mapping[str, Any] | None,
    drift: Mapping[str, Any] | None,
    quality: Mapping[str, Any] | None,
    runs: "pd.DataFrame | None",
    monitored: Collection[str] | None = None,
    retrain: Mapping[str, Any] | None = None,
) -> list[Tile]:
    """The six Overview tiles from the loaded artifacts (any of which may be None).

    Parameters
    ----------
    ranking : DataFrame or None
        ``reports/risk_ranking.csv``.
    metrics, drift, quality : dict or None
        ``reports/metrics.json``, ``reports/data_drift.json``, ``reports/data_quality.json``.
    runs : DataFrame or None
        :func:`featurehealth.dashboard.data.run_history` (newest first).
    monitored : collection of str, mapping or None
        The feature ids of the fact table, or each id's last day with data; None without it (the
        ranking's features are counted).
    retrain : dict or None
        ``reports/retrain.json``: the drift tile says whether retraining is advised.

    Returns
    -------
    list of Tile
        Features monitored (:func:`monitored_tile`), features at risk (:func:`at_risk_tile`), incidents predicted, drift
        alerts, data quality, last run.
    """
    alerts = lookup(drift, "summary.n_alert")
    quality_status = lookup(quality, "summary.status")
    tiles = [
        monitored_tile(ranking, monitored),
        at_risk_tile(ranking, metrics),
        _early_warning_tile(metrics),
        _drift_tile(alerts, cells=lookup(drift, "summary.n_cells"), insufficient=lookup(drift, "summary.n_insufficient"),
                    advice=retrain),
        Tile("Data quality", quality_status or NOT_AVAILABLE, _quality_detail(quality), _status_tone(quality_status)),
    ]
    if runs is None or runs.empty:
        tiles.append(Tile("Last run", NOT_AVAILABLE, "no run recorded"))
    else:
        tiles.append(_last_run_tile(runs.iloc[0]))
    return tiles


def utc_time_text(stamp: Any) -> str:
    """"2026-11-27 21:15 UTC" for an ISO timestamp; other text as given, anything else "not available".

    The runner writes its times in UTC (``+00:00``); one without a zone is taken as UTC too.
    """
    from datetime import UTC, datetime

    if not isinstance(stamp, str):
        return NOT_AVAILABLE
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return f"{(moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _last_run_tile(last: "pd.Series") -> Tile:
    """The newest run's status, then when it finished (or started, if it never did) and its id."""
    finished = isinstance(last["finished_at"], str)
    when = f"{'finished' if finished else 'started'} {utc_time_text(last['finished_at' if finished else 'started_at'])}"
    return Tile("Last run", str(last["status"]), f"{when} · run {last['run_id']}", _status_tone(last["status"]))


def filter_options(frame: "pd.DataFrame", column: str) -> list[str]:
    """``[ALL, *sorted distinct values]`` of ``column`` (just ``[ALL]`` if it is absent).

    ``risk_bucket`` always offers every bucket, low to high, even one that no feature is in today.
    """
    if column == "risk_bucket":
        from featurehealth.model import RISK_BUCKETS

        present = [] if column not in frame else sorted(str(v) for v in frame[column].dropna().unique())
        return [ALL, *RISK_BUCKETS, *(v for v in present if v not in RISK_BUCKETS)]
    if column not in frame:
        return [ALL]
    return [ALL, *sorted(str(v) for v in frame[column].dropna().unique())]


def filter_choices(frame: "pd.DataFrame", column: str) -> list[tuple[str, str]]:
    """``(label, value)`` for a filter's dropdown: the values of :func:`filter_options`, each
    labelled with :func:`featurehealth.display.visible_text` (one line).

    Teams, stages and tiers come from other teams' exports: a bidi override in one shown raw
    made its option read backwards, as a feature name would in the feature picker. The value
    stays as written, so :func:`filter_ranking` still matches it.
    """
    return [(visible_text(v, one_line=True), v) for v in filter_options(frame, column)]


def filter_ranking(frame: "pd.DataFrame", *, filters: Mapping[str, str]) -> "pd.DataFrame":
    """Rows of the ranking matching every filter (``ALL`` matches anything), in rank order.

    Raises
    ------
    ValueError
        If a filter names a column other than :data:`FILTER_COLUMNS`.
    """
    unknown = [c for c in filters if c not in FILTER_COLUMNS]
    if unknown:
        raise ValueError(f"Cannot filter on {', '.join(unknown)}; allowed: {', '.join(FILTER_COLUMNS)}.")
    import numpy as np

    keep = np.ones(len(frame), dtype=bool)
    for column, choice in filters.items():
        if choice != ALL:
            keep &= (frame[column].astype(str) == choice).to_numpy()
    return frame.loc[keep]



def no_match_note(filters: Mapping[str, str]) -> str:
    """The sentence shown instead of an empty ranking table: the filters that exclude every feature.

    Parameters
    ----------
    filters : mapping of str to str
        Filter column -> chosen value, as given to :func:`filter_ranking`.

    Returns
    -------
    str
        Names the non-``ALL`` choices and how to widen them.
    """
    chosen = [f"{column.replace('_', ' ')} = {value}" for column, value in filters.items() if value != ALL]
    return (f"No feature matches {' and '.join(chosen) or 'these filters'}: "
            f"set a filter back to {ALL} to see more features.")

def pvalue_text(value: float, *, digits: int = 3) -> str:
    """A p-value as :func:`featurehealth.display.number_text` writes it, except that 0 reads ``< 0.000001`` too.

    No test gives a p-value of exactly 0: a stored 0 is one too small for its float or for the
    rounding of an older report (6 decimals), so it reads as below :data:`featurehealth.display.SMALLEST`.
    """
    return number_text(SMALLEST / 2 if value == 0 else value, digits=digits)


def _cell(value: Any, *, digits: int, missing: str) -> str:
    import pandas as pd

    if not isinstance(value, (list, tuple, dict)) and pd.isna(value):
        return missing
    return number_text(value, digits=digits)


def _escaped(text: str) -> str:
    """``text`` for HTML: markup escaped, and control and bidi characters written as escapes (see
    :func:`featurehealth.display.visible_text`), so an id from an export cannot reverse a sentence."""
    return html.escape(visible_text(text))


#: The column holding the ids of column ``{}`` (see :func:`id_column` and :func:`html_table`).
ID_COLUMN = "{} (id)"


def id_column(column: str) -> str:
    """The name of the column that holds the raw ids of ``column``'s plain names (:data:`ID_COLUMN`)."""
    return ID_COLUMN.format(column)


def html_table(
    frame: "pd.DataFrame", *, max_rows: int = 200, digits: int = 3, caption: str = "", missing: str = NOT_AVAILABLE,
    wrap: Sequence[str] = (), more: str = "", links: Mapping[str, str] | None = None,
) -> str:
    """An escaped HTML table of the first ``max_rows`` rows; absent values read ``missing``.

    When rows are left out, the line below says how many, followed by ``more`` (how to see them).

    Cells stay on one line, except those of the ``wrap`` columns (sentences), which wrap in the
    page's width (class ``fh-wrap``, see ``app._STYLE``) rather than run off the table's box. A
    column named :func:`id_column` of another is not drawn: each of its ids follows that column's
    plain name in grey (class ``fh-id``), where the two differ, so an engineer finds the raw name
    with the browser's search. A cell holding a tuple is a line per item, each followed by its own
    id where the id cell holds a tuple too.

    ``links`` maps a column to a link key (one of :data:`LINK_KEYS`): each of its lines with an id (its
    :func:`id_column` id, else its own value) becomes a link to ``?<key>=<id>`` (:func:`link_query`),
    the line's text the link's, so ``{"feature": "feature"}`` opens each feature's drill-down.

    Raises
    ------
    ValueError
        If ``max_rows`` is below 1, a ``wrap`` or ``links`` column is not in ``frame``, or a link
        key is not one of :data:`LINK_KEYS`.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows!r}.")
    links = dict(links or {})
    unknown = [c for c in (*wrap, *links) if c not in frame.columns]
    if unknown:
        raise ValueError(f"Cannot wrap or link {unknown[0]!r}: the table has no column {unknown[0]!r}.")
    odd = [k for k in links.values() if k not in LINK_KEYS]
    if odd:
        raise ValueError(f"Cannot link to {odd[0]!r}: use one of {', '.join(LINK_KEYS)}.")
    ids = {c: id_column(c) for c in frame.columns if id_column(c) in frame.columns}
    shown = frame.head(max_rows)
    drawn = [c for c in shown.columns if c not in ids.values()]
    head = "".join(f"<th>{_escaped(str(c))}</th>" for c in drawn)
    opening = ["<td class='fh-wrap'>" if c in wrap else "<td>" for c in drawn]

    def text(value: Any, raw: Any = None, key: str | None = None) -> str:
        if isinstance(value, tuple):
            raws = raw if isinstance(raw, tuple) else (None,) * len(value)
            return "<br>".join(text(v, r, key) for v, r in zip(value, raws, strict=True))
        said = _cell(value, digits=digits, missing=missing)
        grey = "" if raw is None or str(raw) in ("", said) else str(raw)
        words = _escaped(said)
        target = str(value if raw is None else raw)
        if key and target and said != missing:
            words = _anchor_html(link_query(key, target), words)
        return words + (f" <span class='fh-id'>{_escaped(grey)}</span>" if grey else "")

    rows = shown.astype(object)
    body = "".join(
        "<tr>" + "".join(f"{td}{text(row[c], row[ids[c]] if c in ids else None, links.get(c))}</td>"
                         for td, c in zip(opening, drawn, strict=True)) + "</tr>"
        for _, row in rows.iterrows()
    )
    note = "<div class='fh-caption' style='font-size:12px;margin:2px 0'>{}</div>"
    above = note.format(_escaped(caption)) if caption else ""
    cut = f"first {max_rows:,} of {len(frame):,} rows" + (f"; {more}" if more else "")
    below = note.format(_escaped(cut)) if len(frame) > max_rows else ""
    # Wide tables scroll inside their own box instead of being cut at the page edge; the captions
    # stay outside it, where they wrap in the page's width (a <caption> spans the whole table, so
    # its end was hidden off to the right). The box is at most 70 % of the window high, so its
    # sideways scrollbar is in sight, not under the 120th row (its header row sticks, see app._STYLE).
    # Focusable, so the arrow keys scroll it: only some browsers let the keyboard reach a scrolling box.
    return (f"{above}<div class='fh-scroll' tabindex='0' style='overflow:auto;max-height:70vh'>"
            f"<table class='fh-table'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>{below}")


def ranking_view(frame: "pd.DataFrame") -> "pd.DataFrame":
    """The ranking as shown, in a 1280 px window: rank, feature, :data:`RANKING_NUMBERS` headed in words
    ("risk probability"; :func:`risk_caption` explains them), then why; columns ``frame`` lacks are left out.

    A feature cell is two lines, the feature's name (its :func:`id_column` id after it) over its
    :data:`FEATURE_DETAILS` ("core · ga · critical"); a why cell is a line per ``driver_<i>``, strongest
    first, in words (:func:`signal_name`), each followed by its signal id, and a slot no signal filled
    (fewer raised the score) gives no line. Lines are tuples (:func:`html_table`); why is meant to wrap.
    """
    import pandas as pd

    def text(value: Any) -> str:
        return NOT_AVAILABLE if pd.isna(value) else str(value)

    columns: dict[str, Any] = {"rank": frame["rank"]} if "rank" in frame else {}
    if "feature_id" in frame:
        ids = frame["feature_id"].astype(str)
        names = frame["feature_name"].where(frame["feature_name"].notna(), ids) if "feature_name" in frame else ids
        details = [c for c in FEATURE_DETAILS if c in frame]
        below = [(" · ".join(map(text, row)),) if details else () for row in frame[details].itertuples(index=False)]
        columns[FEATURE_HEADER] = [(str(name), *line) for name, line in zip(names, below, strict=True)]
        columns[id_column(FEATURE_HEADER)] = [(i, *("" for _ in line)) for i, line in zip(ids, below, strict=True)]
    for column in RANKING_NUMBERS:
        if column in frame:
            columns[column.replace("_", " ")] = frame[column]
    drivers = driver_columns(frame)
    if drivers:
        signals = [tuple(str(s) for s in row if pd.notna(s) and s != "")
                   for row in frame[drivers].itertuples(index=False)]
        patterns = frame[PATTERN_COLUMN] if PATTERN_COLUMN in frame else [None] * len(frame)
        columns["why"] = [tuple(driver_name(s, pattern=pattern) for s in row)
                          for row, pattern in zip(signals, patterns, strict=True)]
        columns[id_column("why")] = signals
    return pd.DataFrame(columns, index=frame.index)


#: Column of ``reports/risk_ranking.csv`` naming the evidence signal of the day's ``worst_shift_z``
#: (:func:`featurehealth.signals.strongest_pattern`); rankings written before it lack it.
PATTERN_COLUMN = "strongest_pattern"


def driver_name(signal: Any, *, pattern: Any = None) -> str:
    """A driver in words (:func:`signal_name`); ``worst_shift_z`` adds which pattern it was
    ("strongest warning pattern: latency") when ``pattern`` names an evidence signal, as
    :data:`PATTERN_COLUMN` does."""
    name = signal_name(signal)
    if str(signal) != "worst_shift_z" or not isinstance(pattern, str) or not pattern.endswith("_evidence"):
        return name
    subject = SIGNAL_SUBJECTS.get(pattern.removesuffix("_evidence"))
    return f"{name}: {subject}" if subject else name


def driver_columns(ranking: "pd.DataFrame") -> list[str]:
    """The ranking's ``driver_<i>`` columns (signal ids), strongest first."""
    found = [c for c in ranking.columns if c.startswith("driver_") and c.removeprefix("driver_").isdigit()]
    return sorted(found, key=lambda c: int(c.removeprefix("driver_")))


def ranking_rows_choices(total: int) -> list[tuple[str, int]]:
    """``(label, max_rows)`` of the Risk ranking's "rows shown" control for a ranking of ``total``
    features: the first :data:`RANKING_ROWS`, or all; none when they all fit."""
    return [] if total <= RANKING_ROWS else [(f"first {RANKING_ROWS:,}", RANKING_ROWS), ("all", total)]


def ranking_html(frame: "pd.DataFrame", *, caption: str, max_rows: int = RANKING_ROWS, linked: bool = True) -> str:
    """:func:`html_table` of the first ``max_rows`` rows of :func:`ranking_view`, its why column wrapping
    in the page's width; a cut table says how to list every row (:func:`ranking_rows_choices`).

    With ``linked``, each feature's name links to its drill-down (``?feature=F042``, :func:`link_target`).
    """
    shown = ranking_view(frame)
    links = {FEATURE_HEADER: "feature"} if linked and FEATURE_HEADER in shown else {}
    return html_table(shown, caption=caption, max_rows=max_rows, wrap=("why",) if "why" in shown else (),
                      more="choose rows shown: all, above the table, to list every one", links=links)


def feature_choices(
    dim: "pd.DataFrame | None", fact: "pd.DataFrame", *, ranking: "pd.DataFrame | None" = None
) -> list[tuple[str, str]]:
    """``(label, feature_id)`` for every feature of the fact table, by id, labelled with its name.

    With ``ranking``, a feature scored on the latest day also names its risk bucket
    ("Payments (F042), high risk"), so the list says which features the ranking flags; one whose
    last day is before the fact table's names it ("Wishlist (F011), no data since 2026-04-15").
    """
    ids = sorted(str(f) for f in fact["feature_id"].dropna().unique())
    names: dict[str, str] = {}
    if dim is not None and {"feature_id", "feature_name"} <= set(dim.columns):
        names = {str(k): str(v) for k, v in zip(dim["feature_id"], dim["feature_name"], strict=True) if v == v}
    buckets: dict[str, str] = {}
    if ranking is not None and {"feature_id", "risk_bucket"} <= set(ranking.columns):
        buckets = {str(k): v for k, v in zip(ranking["feature_id"], ranking["risk_bucket"], strict=True)
                   if isinstance(v, str) and v}
    labels = {f: f"{names[f]} ({f})" if f in names and names[f] != f else f for f in ids}
    labels = {f: f"{label}, {buckets[f]} risk" if f in buckets else label for f, label in labels.items()}
    if "date" in fact and ids:
        last = last_days(fact)
        end = max(last.values())
        labels = {f: f"{label}, no data since {last[f]:%Y-%m-%d}" if last[f] < end else label
                  for f, label in labels.items()}
    return [(visible_text(labels[f], one_line=True), f) for f in ids]


def find_features(choices: Sequence[tuple[str, str]], text: str) -> list[tuple[str, str]]:
    """The ``(label, feature_id)`` choices whose id or label holds ``text``, ignoring case and
    surrounding spaces; a choice whose id or whole label is the text comes first.

    Empty text finds every choice. The label holds the name and the risk bucket, so "pay" finds
    Payments and "high" the features at high risk.
    """
    wanted = text.strip().casefold()
    if not wanted:
        return list(choices)
    found = [c for c in choices if wanted in c[0].casefold() or wanted in c[1].casefold()]
    # sorted() is stable: the exact matches move up, the rest keep the list's id order.
    return sorted(found, key=lambda c: wanted not in (c[0].casefold(), c[1].casefold()))


def feature_search_note(text: str, *, matches: int, total: int) -> str:
    """The line beside a feature search (drill-down, Drift): how many of ``total`` features match,
    or that none does and the list keeps them all ("" when the search is empty)."""
    wanted = text.strip()
    if not wanted:
        return ""
    if not matches:
        return f"No feature id or name contains {wanted!r}; the list still holds all {total:,} features."
    verb = "matches" if matches == 1 else "match"
    return f"{matches:,} of {total:,} features {verb} {wanted!r}; clear the search to list all."


#: Query keys Voila reads itself (its template and theme): a link may carry them unremarked.
VOILA_QUERY_KEYS = ("template", "theme")
#: Query keys of a link to the dashboard (:func:`link_target`).
LINK_KEYS = ("tab", "feature")
#: Characters of a link's value quoted in a note; a longer one is cut with "…".
LINK_VALUE_SHOWN = 40


def _link_value(value: str) -> str:
    return repr(value if len(value) <= LINK_VALUE_SHOWN else value[:LINK_VALUE_SHOWN] + "…")


def link_target(query: str, *, tabs: Sequence[str], features: Collection[str]) -> tuple[str | None, str | None, str]:
    """The tab and feature a link to the dashboard opens (``?tab=drift``, ``?feature=F042``), and what of it
    cannot be followed.

    Parameters
    ----------
    query : str
        The page's query string, as Voila passes it in ``QUERY_STRING`` (a leading "?" is allowed).
    tabs : Sequence[str]
        The tabs' slugs, in page order; ``tab=`` names one in any case.
    features : Collection[str]
        The feature ids of the fact table; ``feature=`` names one exactly, in any case.

    Returns
    -------
    tuple
        ``(tab, feature, note)``: the slug to open (a feature alone opens ``"drilldown"``), the feature id as
        ``features`` spells it, and sentences naming what is not followed (an unknown tab, feature or key, a key
        given twice), "" when all is; None where the link names nothing usable. The note quotes the link's
        values as typed: escape it for HTML (:func:`status_html` does). The first value of a key counts, and
        an empty one is no value.
    """
    from urllib.parse import parse_qsl

    given: dict[str, list[str]] = {}
    for key, value in parse_qsl(query.strip().removeprefix("?"), keep_blank_values=True):
        given.setdefault(key.strip().casefold(), []).append(value.strip())
    notes = []
    unknown = [k for k in given if k not in (*LINK_KEYS, *VOILA_QUERY_KEYS)]
    if unknown:
        verb = "is" if len(unknown) == 1 else "are"
        notes.append(f"The link's {', '.join(map(_link_value, unknown))} {verb} not read: a link gives tab= and "
                     f"feature= only.")
    wanted = {}
    for key in LINK_KEYS:
        values = [v for v in given.get(key, []) if v]
        if len(set(values)) > 1:
            notes.append(f"The link gives {key} more than once: the first, {_link_value(values[0])}, is followed.")
        wanted[key] = values[0] if values else ""
    slugs = {t.casefold(): t for t in tabs}
    tab = slugs.get(wanted["tab"].casefold())
    if wanted["tab"] and tab is None:
        notes.append(f"The link's tab {_link_value(wanted['tab'])} is not a tab of the dashboard: use one of "
                     f"{', '.join(tabs)}.")
    feature = None
    if wanted["feature"]:
        # An exact id first: ids differing only in case stay reachable.
        same = [f for f in features if f == wanted["feature"]] or [
            f for f in features if f.casefold() == wanted["feature"].casefold()]
        feature = same[0] if same else None
        tab = tab or "drilldown"
        if feature is None:
            notes.append(f"The link's feature {_link_value(wanted['feature'])} is not in this profile's fact table: "
                         f"the drill-down shows its first feature; type an id or part of a name in its Find feature "
                         f"box to look for it.")
    return tab, feature, " ".join(notes)


def link_query(key: str, value: str) -> str:
    """The relative link ``?<key>=<value>``, the value URL-quoted (escape it for an HTML attribute).

    Relative, since the kernel does not know the host the page was reached by.
    """
    from urllib.parse import urlencode

    return "?" + urlencode({key: value})


def _anchor_html(query: str, text_html: str) -> str:
    """A link to ``query`` (:func:`link_query`) around ``text_html``, already escaped."""
    return f"<a href='{html.escape(query, quote=True)}'>{text_html}</a>"


def feature_link_html(feature_id: str, *, profile: str, home: str) -> str:
    """The drill-down's "Link to this view: ?feature=F042" line, the query a link (:func:`link_query`),
    to copy and share.

    The page opens on ``home`` (its default profile): shown on another ``profile``, the line says to
    choose it there.
    """
    query = link_query("feature", feature_id)
    other = f" (the link opens profile {home}: choose {profile} in Profile there)" if profile != home else ""
    return (f"<div class='fh-note {NO_MATH_CLASS}' style='color:{TONE_COLOURS['neutral']}'>Link to this view: "
            f"{_anchor_html(query, _escaped(query))}{_escaped(other)}</div>")


def incidents_note(
    message: str, *, ingest: Mapping[str, Any] | None, metrics: Mapping[str, Any] | None
) -> str:
    """The drill-down's note on known incidents ("" when ``tables/incidents.parquet`` was read).

    Parameters
    ----------
    message : str
        The loader's message for the incidents table ("" when it was read).
    ingest, metrics : dict or None
        ``reports/ingest_summary.json`` and ``reports/metrics.json``.

    Returns
    -------
    str
        The Overview's "no ground-truth incidents" wording when the run had none (the ingest
        summary names no incidents file, or the model step reported no ground truth), since
        re-running cannot produce the table then; otherwise the loader's message.
    """
    from featurehealth.earlywarning import NO_GROUND_TRUTH

    if not message:
        return ""
    no_file = isinstance(ingest, Mapping) and "incidents_file" in ingest and not ingest["incidents_file"]
    if no_file or lookup(metrics, "early_warning.reason") == NO_GROUND_TRUTH:
        return f"Known incidents: {NO_GROUND_TRUTH}."
    return f"Known incidents: {message}"


def feature_series(fact: "pd.DataFrame", feature_id: str) -> "pd.DataFrame":
    """One feature's fact rows, one per calendar day from its first day to the fact table's last.

    A day without the feature's row (paused, retired, renamed, a missed day) is a row of missing
    values with ``has_data`` False: a line drawn over the rows alone joined the days either side
    as if measured between them, and a feature that stopped ended its plot as if its last day were
    the data's.

    Returns
    -------
    pandas.DataFrame
        The fact's columns with ``date`` as datetime64, and ``has_data``, by date.

    Raises
    ------
    ValueError
        If ``feature_id`` is not in the fact table.
    """
    import pandas as pd

    rows = fact[fact["feature_id"].astype(str) == feature_id]
    if rows.empty:
        raise ValueError(f"Feature {feature_id!r} is not in the fact table.")
    own = rows.assign(date=pd.to_datetime(rows["date"]), has_data=True).set_index("date").sort_index()
    days = pd.date_range(own.index.min(), pd.to_datetime(fact["date"]).max(), freq="D", name="date")
    series = own.reindex(days).reset_index()
    return series.assign(feature_id=rows["feature_id"].iloc[0], has_data=series["has_data"].notna())


def last_days(fact: "pd.DataFrame") -> dict[str, "pd.Timestamp"]:
    """Each feature's last day in the fact table (a row is a day with data), by id as text."""
    import pandas as pd

    days = pd.to_datetime(fact["date"]).groupby(fact["feature_id"].astype(str)).max()
    return days.to_dict()


def last_data_day(series: "pd.DataFrame") -> "pd.Timestamp | None":
    """The last day of a :func:`feature_series` with the feature's data, when days follow it up to
    the data's last day (the feature stopped); None otherwise."""
    if "has_data" not in series or series.empty or series["has_data"].iloc[-1] or not series["has_data"].any():
        return None
    return series.loc[series["has_data"], "date"].max()


def bucket_cutoffs(setting: Any, metrics: Mapping[str, Any] | None) -> tuple[float, ...]:
    """The risk-bucket lines of the drill-down: ``model.risk_buckets`` resolved against the model's
    operating threshold (``auto``), or none when they cannot be known (no metrics, bad setting).
    """
    from featurehealth import model

    try:
        return model.bucket_cutoffs(setting, operating_threshold=lookup(metrics, "operating_threshold"))
    except (TypeError, ValueError):
        return ()


#: Scored days whose risk the drill-down lists in words above the drivers (:func:`feature_status`).
RECENT_RISK_DAYS = 7


def _risk_trend(scores: "pd.Series", *, cutoff: float) -> str:
    """When the recent ``scores`` (indexed by day, oldest first) were at or above ``cutoff``."""
    above = scores >= cutoff
    if not above.any():
        return "below it on each"
    if above.all():
        return "at or above it on each"
    days = above[above].index
    if not above.iloc[-1]:
        return f"at or above it on {len(days)} of them, last on {days[-1]:%b %d}"
    streak = days[days > above[~above].index[-1]][0]
    return f"at or above it since {streak:%b %d}" + ("" if days[0] == streak else f", first on {days[0]:%b %d}")


def feature_status(series: "pd.DataFrame", *, meta: Mapping[str, Any] | None, cutoff: float | None) -> str:
    """The drill-down's line above the drivers: since when a feature that stopped has no data, owner, the
    risk of the last scored days, the last degraded day.

    Parameters
    ----------
    series : DataFrame
        :func:`feature_series` of one feature (``date``, and ``has_data``, ``risk_probability``,
        ``is_degraded`` when present).
    meta : mapping or None
        The feature's ranking row (``owner_team``, ``lifecycle_stage``, ``tier``), or None.
    cutoff : float or None
        The medium risk bucket's lower bound; None when unknown.

    Returns
    -------
    str
        "No data since 2026-06-04 (its last day with events, 6 days before the last day, 2026-06-10): not
        scored since. Owner team T (stage, tier). Risk score of the last 7 days: Jun 23 0.07, ... (medium
        from 0.249): at or above it since Jun 28, first on Jun 25. Last degraded day: 2026-03-06 (115 days
        before the last day)."; each part only when its data is there.
    """
    parts = []
    if (last := last_data_day(series)) is not None:
        end = series["date"].max()
        parts.append(f"No data since {last:%Y-%m-%d} (its last day with events, {_days_before(last, end)}, "
                     f"{end:%Y-%m-%d}): not scored since.")
    team = (meta or {}).get("owner_team")
    if isinstance(team, str) and team:
        details = [v for v in ((meta or {}).get(k) for k in ("lifecycle_stage", "tier")) if isinstance(v, str) and v]
        parts.append(f"Owner team {team}" + (f" ({', '.join(details)})." if details else "."))
    if "risk_probability" in series:
        scores = series.set_index("date")["risk_probability"].dropna().tail(RECENT_RISK_DAYS)
        if len(scores):
            # As the ranking and the cut-offs read (number_text): at two decimals 0.248 read 0.25 under "from 0.249".
            listed = ", ".join(f"{d:%b %d} {number_text(v)}" for d, v in scores.items())
            trend = ("" if cutoff is None else
                     f" (medium from {number_text(cutoff)}): {_risk_trend(scores, cutoff=cutoff)}")
            days = "day" if len(scores) == 1 else f"{len(scores)} days"
            parts.append(f"Risk score of the last {days}: {listed}{trend}.")
    if "is_degraded" in series and len(series):
        degraded = series.loc[series["is_degraded"].fillna(False).astype(bool), "date"]
        if degraded.empty:
            parts.append("No degraded day.")
        else:
            last, end = degraded.max(), series["date"].max()
            ago = "the last day" if last == end else _days_before(last, end)
            parts.append(f"Last degraded day: {last:%Y-%m-%d} ({ago}).")
    return " ".join(parts)


def _days_before(day: "pd.Timestamp", end: "pd.Timestamp") -> str:
    """"N days before the last day", with "1 day" for one."""
    return f"{count_text((end - day).days, 'day')} before the last day"


def threshold_lines(series: "pd.DataFrame", *, degradation: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The degradation limits of the drill-down plots, per metric.

    Parameters
    ----------
    series : DataFrame
        One feature's rows from :func:`feature_series`.
    degradation : mapping
        The profile's ``degradation`` group.

    Returns
    -------
    dict
        ``{metric: {"absolute": float, "relative": Series or None}}`` for ``p95_latency``,
        ``crash_rate`` and ``avg_feedback`` (the relative limit is the rule's multiple of the
        trailing median, as :mod:`featurehealth.degradation` applies it), and ``usage_count``
        with the ``min_usage`` floor.
    """
    from featurehealth.degradation import trailing_statistic

    d = degradation
    judged = series["usage_count"] >= d["min_usage"]
    window = {"days": d["baseline_days"], "min_periods": d["min_baseline_days"]}

    def relative(column: str, multiple: float, mask: "pd.Series") -> "pd.Series":
        basis = series.assign(_basis=series[column].where(mask))
        return multiple * trailing_statistic(basis, "_basis", **window)

    rated = judged & (series["feedback_count"] >= d["min_feedback"])
    return {
        "p95_latency": {"absolute": d["p95_latency_abs_ms"],
                        "relative": relative("p95_latency", d["p95_latency_rel"], judged)},
        "crash_rate": {
            "absolute": d["crash_rate_abs"],
            "relative": relative("crash_rate", d["crash_rate_rel"], judged).clip(lower=d["crash_rate_rel_floor"]),
        },
        "avg_feedback": {"absolute": d["feedback_abs"],
                         "relative": relative("avg_feedback", d["feedback_rel_drop"], rated)},
        "usage_count": {"absolute": d["min_usage"], "relative": None},
    }


#: Under the drill-down figure: what its degraded-days strip, limit lines and shading mean.
DRILLDOWN_CAPTION = (
    "Red bars in the strip above the risk score: days the feature was degraded (any rule), i.e. its p95 latency, "
    "crash rate or average feedback broke a limit (dashed: absolute; dotted: relative to the feature's own "
    "trailing median; the crash rules also need a minimum number of crashes, the relative one a count unlikely "
    "for the feature, and the feedback rules a minimum number of ratings). The panel whose line crosses its own "
    "limit shows which metric it was; events per day only decides whether a day is judged. Pink bands: known "
    "incidents."
)


def drivers(ranking: "pd.DataFrame", feature_id: str) -> "pd.DataFrame":
    """Signals driving the feature's latest score: ``signal``, ``value``, ``contribution`` and
    ``pattern``, the ranking's :data:`PATTERN_COLUMN` (None where it has none).

    Empty when the feature is not ranked, the ranking carries no ``driver_<i>`` columns or no
    signal raised its score (a driver slot left empty, see :func:`featurehealth.model.top_drivers`).
    """
    import pandas as pd

    row = ranking[ranking["feature_id"].astype(str) == feature_id]
    count = len(driver_columns(ranking))
    records = [
        {"signal": row.iloc[0][f"driver_{i}"], "value": row.iloc[0].get(f"driver_{i}_value"),
         "contribution": row.iloc[0].get(f"driver_{i}_contribution"), "pattern": row.iloc[0].get(PATTERN_COLUMN)}
        for i in range(1, count + 1)
        if pd.notna(row.iloc[0][f"driver_{i}"]) and row.iloc[0][f"driver_{i}"] != ""
    ] if not row.empty else []
    return pd.DataFrame(records, columns=["signal", "value", "contribution", "pattern"])


def drivers_view(table: "pd.DataFrame") -> "pd.DataFrame":
    """:func:`drivers` for reading: each ``signal`` in words (:func:`driver_name`), its id in the
    :func:`id_column` after it; a new frame, the values unchanged."""
    words = [driver_name(s, pattern=p) for s, p in zip(table["signal"], table["pattern"], strict=True)]
    shown = table.assign(**{"signal": words, id_column("signal"): table["signal"]})
    return shown[["signal", id_column("signal"), "value", "contribution"]]


#: The metric or count a signal is about (its name without the ending of :data:`SIGNAL_ENDINGS`),
#: in words that read before that ending's ("p95 latency, 7-day trend"; "crash count above expected").
SIGNAL_SUBJECTS = {
    "p95_latency": "p95 latency", "p99_latency": "p99 latency", "avg_latency": "average latency",
    "p50_latency": "median latency", "crash_rate": "crash rate", "avg_feedback": "average feedback rating",
    "usage_count": "events", "active_users": "active users", "feedback_count": "ratings",
    "crash_count": "crashes", "error_rate": "error rate", "new_version_share": "newest app version's share of events",
    "feedback_shift": "pooled feedback rating", "crash": "crash", "error": "error", "feedback_rate": "rating",
    "new_version_crash": "newest-version crash", "feedback": "feedback", "latency": "latency",
    "lifecycle_stage": "lifecycle stage", "tier": "tier",
}
#: How a signal name reads, by its ending (first match wins): ``(pattern, name, meaning)``. The name
#: puts the subject (:data:`SIGNAL_SUBJECTS`, the text before the ending) in ``{subject}``; a pattern
#: from ``^`` is a whole name, without subject. ``{n}`` is the number the ending carries, ``{days}``
#: it in days ("1 day", "3 days"), ``{cap}`` the cap of ``days_since_degraded``, ``{age_cap}`` that of
#: ``feature_age_days``; see :mod:`featurehealth.signals`.
SIGNAL_ENDINGS = (
    (r"_rule_noise_week$", "chance the {subject} rule fires from noise within a week",
     "chance that the degradation rule fires within a week from noise alone"),
    (r"_limit_over_rate$", "{subject} rule's limit over the usual rate",
     "the degradation rule's limit over the feature's usual rate (how far it is from firing)"),
    (r"_to_threshold$", "{subject} over its degradation limit",
     "the day's value over its degradation limit (above 1 = degraded)"),
    (r"_evidence$", "{subject} warning pattern", "strength of a known warning pattern (z-scores that move together)"),
    (r"^worst_shift_z$", "strongest warning pattern", "strength of a known warning pattern (z-scores that move together)"),
    (r"_excess_z(\d+)$", "{subject} count above expected, last {days} (z-score)",
     "count of the last {days} above what the usual rate predicts (z-score)"),
    (r"_ratio(\d+)$", "{subject} rate over older versions', last {days}",
     "crash rate of the newest app version over the older versions', last {days}"),
    (r"_z(\d+)$", "{subject}, {n}-day mean against usual (z-score)",
     "mean of the last {days} against the feature's usual level (z-score)"),
    (r"_z$", "{subject} against usual (z-score)", "the day against the feature's usual level (z-score)"),
    (r"_change(\d+)$", "{subject}, change over {days}", "relative change over the last {days}"),
    (r"_slope(\d+)$", "{subject}, {n}-day trend", "trend over the last {days}"),
    (r"_mean(\d+)$", "{subject}, {n}-day mean", "mean of the last {days}"),
    (r"_level$", "{subject} on the day", "value of the day"),
    (r"^degraded_today$", "degraded on the scored day", "1 when the feature was degraded on the scored day, else 0"),
    (r"^degraded_days_(\d+)$", "degraded days in the last {n}", "degraded days among the last {n}"),
    (r"^days_since_degraded$", "days since last degraded",
     "days since the feature was last degraded (0 = degraded on the scored day, {cap} = not in the last {cap} days)"),
    (r"_expected_per_day$", "{subject} count expected per day", "count expected per day"),
    (r"_code$", "{subject}", "feature metadata or calendar"),
    (r"^day_of_week$", "day of the week", "feature metadata or calendar"),
    (r"^feature_age_days$", "days since launch", "days since the feature was launched (at most {age_cap})"),
)


def _signal_ending(signal: str, *, known_subject: bool) -> tuple[str, str, "re.Match[str]"] | None:
    """``(name, meaning, match)`` of the first ending of :data:`SIGNAL_ENDINGS` that ``signal`` has
    (with ``known_subject``, only with a subject :data:`SIGNAL_SUBJECTS` knows); None if none."""
    for pattern, name, meaning in SIGNAL_ENDINGS:
        found = re.search(pattern, signal)
        if found and (not known_subject or pattern.startswith("^") or signal[:found.start()] in SIGNAL_SUBJECTS):
            return name, meaning, found
    return None


def _filled(template: str, found: "re.Match[str]") -> str:
    from featurehealth.signals import BASELINE_DAYS, MAX_AGE_DAYS

    n = found.group(1) if found.groups() else ""
    days = count_text(int(n), "day") if n else ""
    subject = SIGNAL_SUBJECTS.get(found.string[:found.start()], "")
    return template.format(subject=subject, n=n, days=days, cap=BASELINE_DAYS, age_cap=MAX_AGE_DAYS)


def signal_name(signal: Any) -> str:
    """A signal of :mod:`featurehealth.signals` in words ("p95_latency_slope7" -> "p95 latency, 7-day trend"),
    from its subject and ending (:data:`SIGNAL_SUBJECTS`, :data:`SIGNAL_ENDINGS`); one they do not
    describe reads as written, so a new signal is still shown by its id."""
    ending = _signal_ending(str(signal), known_subject=True)
    return str(signal) if ending is None else _filled(ending[0], ending[2])


def signals_note(signals: Sequence[str]) -> str:
    """What the named signals measure, by their endings (:data:`SIGNAL_ENDINGS`, whatever their subject);
    "" if none is known.

    When a z-score is named, the note adds that it counts standard deviations from usual.
    """
    said = []
    for signal in dict.fromkeys(str(s) for s in signals):
        ending = _signal_ending(signal, known_subject=False)
        if ending is not None:
            said.append(f"{signal}: {_filled(ending[1], ending[2])}")
    if not said:
        return ""
    z = " A z-score counts standard deviations from the usual level (0 = usual)." if "z-score" in "".join(said) else ""
    return "; ".join(said) + "." + z


#: Names of the scorers shown for the keys of ``reports/metrics.json`` (``model``, ``baselines.*``):
#: the curves' legends, the metrics table and the sentences about them use the same words.
SCORER_NAMES = {"model": "model", "persistence": "persistence", "rule": "z-score rule"}


def scorer_name(key: str) -> str:
    """The shown name of scorer ``key`` (:data:`SCORER_NAMES`; a key it lacks as written)."""
    return SCORER_NAMES.get(key, key)


def metrics_table(metrics: Mapping[str, Any]) -> "pd.DataFrame":
    """Model metrics beside the naive baselines: one row per scorer, :data:`MODEL_METRICS` columns.

    Scorers are ``model`` and each entry of ``baselines``, named by :func:`scorer_name`; an
    absent metric is NaN.
    """
    import pandas as pd

    scorers = {"model": metrics.get("model")}
    baselines = metrics.get("baselines")
    scorers.update(baselines if isinstance(baselines, dict) else {})
    rows = [
        {"scorer": scorer_name(name), **{m: lookup(values, m) for m in MODEL_METRICS}}
        for name, values in scorers.items() if isinstance(values, dict)
    ]
    return pd.DataFrame(rows, columns=["scorer", *MODEL_METRICS]).astype({m: "float64" for m in MODEL_METRICS})


def metrics_view(table: "pd.DataFrame") -> "pd.DataFrame":
    """:func:`metrics_table` headed in words (:data:`MODEL_METRICS`); a new frame, the numbers unchanged."""
    return table.rename(columns=lambda c: c if c == "scorer" else plain_name(c, words=MODEL_METRICS))


#: What each column of :func:`metrics_table` means, for readers who are not data scientists.
METRIC_NOTES = {
    "pr_auc": "how well the highest scores catch the feature-days that go on to degrade (1 = perfect, "
              "base rate = guessing)",
    "roc_auc": "chance that a feature-day that degrades scores above one that does not (0.5 = guessing)",
    "precision": "share of alerts that were right",
    "recall": "share of degradations that were alerted",
    "f1": "balance of precision and recall",
    "brier": "error of the probabilities (0 = perfect, lower is better)",
    "base_rate": "share of feature-days followed by a degradation",
    "flagged_share": "share of feature-days alerted",
}


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def model_verdict(metrics: Mapping[str, Any]) -> str:
    """The test days, the PR-AUC of the model and of each naive baseline, and whether the model is
    ahead of each beyond noise.

    Parameters
    ----------
    metrics : mapping
        ``reports/metrics.json`` (``split``, ``horizon_days``, ``model``, ``baselines`` and the
        intervals under ``comparison``, :func:`featurehealth.model.baseline_intervals`).

    Returns
    -------
    str
        The period, its size and base rate, the PR-AUCs, then per baseline "ahead of" (the 95 %
        interval of the model's gain above 0), "behind" (below 0) or "not distinguishable from" it,
        with the difference and the interval; without intervals, why there is no verdict.
        "not available" for what is absent.
    """
    start, end = lookup(metrics, "split.test_start"), lookup(metrics, "split.test_end")
    period = f"{start} .. {end}" if start and end else NOT_AVAILABLE
    rows, base = lookup(metrics, "model.n_rows"), lookup(metrics, "model.base_rate")
    parts = ([f"{rows:,} feature-days"] if isinstance(rows, int) and not isinstance(rows, bool) else []) + (
        [f"{base:.1%} followed by a degradation"] if _real(base) else [])
    size = f" ({', '.join(parts)})" if parts else ""
    model = lookup(metrics, "model.pr_auc")
    baselines = metrics.get("baselines") if isinstance(metrics.get("baselines"), dict) else {}
    others = {name: lookup(v, "pr_auc") for name, v in baselines.items() if _real(lookup(v, "pr_auc"))}
    scores = ", ".join(f"{scorer_name(name)} {value:.3f}" for name, value in others.items()) or f"baselines {NOT_AVAILABLE}"
    head = f"Test days {period}{size}. PR-AUC: model {f'{model:.3f}' if _real(model) else NOT_AVAILABLE}, {scores}"
    if not _real(model) or not others:
        return head + "."
    intervals = {name: _interval(lookup(metrics, f"comparison.pr_auc_minus_{name}_interval")) for name in others}
    reason = lookup(metrics, "comparison.no_interval_reason")
    if isinstance(reason, str) or None in intervals.values():
        why = reason if isinstance(reason, str) else (
            "this model's reports hold no interval of the differences (it was trained before they were recorded); "
            "retrain it to have them")
        return f"{head}; no verdict beside the baselines: {why}."
    verdicts = "; ".join(_beside_baseline(scorer_name(name), model - others[name], intervals[name]) for name in others)
    horizon = lookup(metrics, "horizon_days")
    runs = f"runs of {count_text(horizon, 'test day')}" if _real(horizon) else "runs of test days"
    return (f"{head}: {verdicts}. Each difference is the model's PR-AUC minus the baseline's, its interval over "
            f"resampled {runs}.")


def _interval(value: Any) -> tuple[float, float] | None:
    """A recorded [low, high] interval, or None for anything else."""
    if isinstance(value, list) and len(value) == 2 and all(_real(v) for v in value):
        return value[0], value[1]
    return None


def _beside_baseline(name: str, difference: float, interval: tuple[float, float]) -> str:
    """"ahead of" / "behind" / "not distinguishable from" baseline ``name`` as its interval lies above, below or around 0."""
    low, high = interval
    words = "ahead of" if low > 0 else "behind" if high < 0 else "not distinguishable from"
    return f"{words} {name} ({difference:+.3f}, 95% interval {low:+.3f} .. {high:+.3f})"


def degradation_note(metrics: Mapping[str, Any]) -> str:
    """One sentence when the metrics were measured under other degradation rules than today's, else "".

    Parameters
    ----------
    metrics : mapping
        ``reports/metrics.json`` (``degradation_changed``, :func:`featurehealth.registry.degradation_changes`).
    """
    changed = metrics.get("degradation_changed")
    if not isinstance(changed, dict) or not changed:
        return ""

    def rules(side: str) -> str:
        return ", ".join(f"degradation.{key}" + (" not set" if values.get(side) is None else f"={values[side]}")
                         for key, values in changed.items())

    version = metrics.get("model_version")
    model = f"model {version}" if isinstance(version, str) else "the model"
    noun, verb = ("rule", "is") if len(changed) == 1 else ("rules", "are")
    return (f"These metrics were measured under {rules('trained_with')}, the {noun} {model} was trained with; "
            f"today's {noun} {verb} {rules('current')}: retrain to measure them under today's {noun}.")


def metrics_notes(metrics: Mapping[str, Any]) -> str:
    """What the metric columns (in :func:`metrics_view`'s words) and the baselines mean (baselines as the
    report describes them)."""
    baselines = metrics.get("baselines") if isinstance(metrics.get("baselines"), dict) else {}
    described = [f"{scorer_name(name)} = {lookup(v, 'description')}" for name, v in baselines.items()
                 if isinstance(lookup(v, "description"), str)]
    notes = "; ".join(f"{MODEL_METRICS[name]}: {text}" for name, text in METRIC_NOTES.items())
    return notes + (f". Baselines: {'; '.join(described)}." if described else ".")


def lead_times(metrics: Mapping[str, Any]) -> list[float] | None:
    """Days between each detected incident's first warning and its start, or None if not reported."""
    values = lookup(metrics, "early_warning.lead_times_days")
    if not isinstance(values, list):
        return None
    return [float(v) for v in values if isinstance(v, (int, float))]


#: Under the signal importance figure: what permutation importance is and when a bar says nothing.
IMPORTANCE_CAPTION = (
    "Permutation importance: how much the model's PR-AUC on the test days drops when one signal's values are "
    "shuffled among the feature-days, which cuts its link to what happened next (bar: the mean over repeated "
    "shuffles; line: ± one standard deviation of them). A bar whose line crosses zero is indistinguishable from "
    "no effect: the model does not measurably rely on that signal."
)


def drift_cells(drift: Mapping[str, Any]) -> "pd.DataFrame | None":
    """The drift report's cells as a frame (None when it has no usable cells)."""
    import pandas as pd

    cells = drift.get("cells")
    if not isinstance(cells, list) or not cells:
        return None
    frame = pd.DataFrame([c for c in cells if isinstance(c, dict)])
    return frame if {"feature_id", "metric", "status"} <= set(frame.columns) else None


def flagged_cells(cells: "pd.DataFrame") -> "pd.DataFrame":
    """Cells of the features that have at least one cell at ``warn`` or ``alert``."""
    flagged = cells.loc[cells["status"].isin(["warn", "alert"]), "feature_id"]
    return cells[cells["feature_id"].isin(flagged)]


#: How the drift heatmap orders its features (the order of 04_drift's heatmap, :func:`featurehealth.drift.most_severe`).
SEVERITY_ORDER = "by drift severity (most alert cells, then warn, then too little data; ties by id)"


def most_pressing_cells(cells: "pd.DataFrame", *, top: int) -> "pd.DataFrame":
    """The cells of the ``top`` features with the most pressing drift statuses, feature by feature
    in that order (each feature's cells in their own order).

    The heatmap colours drift status, so its rows follow it, as :data:`SEVERITY_ORDER` says;
    the drift report's alerts come first however many features there are.

    Raises
    ------
    ValueError
        If ``top`` is below 1.
    """
    from featurehealth.drift import most_severe, status_matrix

    if top < 1:
        raise ValueError(f"top must be >= 1, got {top!r}.")
    order = most_severe(status_matrix(cells), max_rows=top).index
    position = {feature: i for i, feature in enumerate(order)}
    chosen = cells[cells["feature_id"].isin(list(order))]
    return chosen.sort_values("feature_id", key=lambda ids: ids.map(position), kind="stable")


def heatmap_caption(*, shown: int, total: int, flagged_only: bool) -> str:
    """The line above the drift heatmap: its row order, and "Top N of M" when features were left out."""
    if shown >= total:
        return f"Features {SEVERITY_ORDER}."
    which = "features with a warn or alert" if flagged_only else "features"
    return f"Top {shown:,} of {total:,} {which} {SEVERITY_ORDER}; every feature is in the Feature list below."


def first_flagged_cell(cells: "pd.DataFrame") -> tuple[str, str]:
    """``(feature_id, metric)`` of the first alert cell, else the first warn, else the first cell."""
    for status in ("alert", "warn"):
        hits = cells[cells["status"] == status]
        if not hits.empty:
            return str(hits["feature_id"].iloc[0]), str(hits["metric"].iloc[0])
    return str(cells["feature_id"].iloc[0]), str(cells["metric"].iloc[0])


def drift_summary(report: Mapping[str, Any]) -> str:
    """One line: cells per status and the drifted share, from the report's ``summary``.

    The share counts the cells in alert among those with enough data (warn cells not at all,
    :func:`featurehealth.drift.drift_report`): "1.0%" beside 58 warn cells read as all drift.
    """
    counts = {status: lookup(report, f"summary.n_{status}") for status in ("ok", "warn", "alert", "insufficient")}
    listed = ", ".join(f"{count} {'with too little data' if status == 'insufficient' else status}"
                       for status, count in counts.items() if count is not None)
    judged = [counts[status] for status in ("ok", "warn", "alert")]
    among = f"the {sum(judged):,}" if all(isinstance(n, int) for n in judged) else "those"
    share = lookup(report, "summary.drifted_share")
    return (f"Feature x metric cells: {listed or NOT_AVAILABLE}; drifted share "
            f"{NOT_AVAILABLE if share is None else f'{share:.1%}'}: the cells in alert among {among} with enough "
            f"data (warn cells are not counted)")


#: What each drift score (:data:`~featurehealth.dashboard.plots.DRIFT_SCORES`) measures, and which way is bad.
DRIFT_SCORE_MEANINGS = {
    "ks_pvalue": "chance of a difference this large between the two windows if nothing had changed "
                 "(low is bad: the change is real)",
    "psi": "how far the share of days in each range of values moved, ranges fixed on the reference (0 = none; "
           "high is bad)",
    "mean_change": "current mean against the reference mean, (current - reference) / |reference| "
                   "(-0.23 = 23% lower; far from 0 is bad)",
    "wasserstein_norm": "how far the values moved, in standard deviations of the reference window (0 = none; "
                        "high is bad)",
}
#: The line under the Drift tab's Score list: each score in the list's words, what it measures, which way is bad.
DRIFT_SCORE_KEY = "Scores: " + "; ".join(f"{DRIFT_SCORES[score]} = {meaning}"
                                         for score, meaning in DRIFT_SCORE_MEANINGS.items()) + "."


def drift_alerts_text(cells: "pd.DataFrame", *, labels: Mapping[str, str], windows: Mapping[str, Any] | None) -> str:
    """Which features drift (status ``alert``), by name, and over which days against which.

    Parameters
    ----------
    cells : DataFrame
        :func:`drift_cells`.
    labels : mapping
        feature_id -> label shown ("Onboarding (F014)"); an id without one is shown as is.
    windows : mapping or None
        The report's ``summary.windows`` (``current`` and ``reference`` start/end).

    Returns
    -------
    str
        "Drift alerts (days A .. B against C .. D): Onboarding (F014): events per day; ...", the
        first :data:`DRIFT_ALERTS_NAMED` features by id then "and N more features in alert", or
        that no metric of any feature is in alert, or, when every cell is ``insufficient_data``,
        that no drift was judged; a reference cut to no day reads "against no reference day"
        with the report's note.
    """
    def span(name: str) -> str | None:
        start, end = lookup(windows, f"{name}.start"), lookup(windows, f"{name}.end")
        return f"{start} .. {end}" if start and end else None

    current, reference = span("current"), span("reference")
    if lookup(windows, "reference.days") == 0:
        # Cut to nothing (the windows reach before the data): its start lies after its end, and the note says why.
        note = lookup(windows, "note")
        reference = "no reference day" + (f": {note}" if note else "")
    period = f" (days {current} against {reference})" if current and reference else ""
    alerts = cells[cells["status"] == "alert"]
    if alerts.empty and _none_judged(cells):
        # "No drift alert" in green would read as all clear when no cell could be judged.
        return f"No drift judged: all {len(cells):,} feature x metric cells had too little data{period}."
    if alerts.empty:
        return f"No drift alert{period}."
    by_feature = alerts.groupby(alerts["feature_id"].astype(str), sort=True)["metric"].agg(
        lambda m: ", ".join(map(metric_name, m)))
    named = by_feature.head(DRIFT_ALERTS_NAMED)
    listed = "; ".join(f"{labels.get(f, f)}: {metrics}" for f, metrics in named.items())
    more = len(by_feature) - len(named)
    # A platform-wide regression puts hundreds of features in alert: the heatmap shows the most pressing.
    rest = f"; and {count_text(more, 'more feature')} in alert" if more else ""
    return f"Drift alerts{period}: {listed}{rest}."


def _none_judged(cells: "pd.DataFrame") -> bool:
    """Whether ``cells`` has cells and every one had too little data (``insufficient_data``)."""
    return not cells.empty and bool((cells["status"] == "insufficient_data").all())


def drift_alerts_tone(cells: "pd.DataFrame") -> str:
    """The tone of :func:`drift_alerts_text`: ``bad`` with an alert, ``neutral`` when no cell was
    judged (not an all-clear), else ``ok``."""
    if (cells["status"] == "alert").any():
        return "bad"
    return "neutral" if _none_judged(cells) else "ok"


def _limit(thresholds: Mapping[str, Any] | None, key: str) -> str:
    value = lookup(thresholds, key)
    return NOT_AVAILABLE if not isinstance(value, (int, float)) else f"{value:g}"


def drift_rule_caption(report: Mapping[str, Any]) -> str:
    """How a drift cell's colour is decided, with the report's own thresholds and windows.

    The status needs an effect size (PSI, ``|mean change|``, normalised Wasserstein) at its
    threshold *and* a KS p-value below its limit; an alert must also persist. A large PSI alone
    does not colour a cell, which the caption says so that the numbers and colours agree.
    """
    t = report.get("thresholds")
    windows = lookup(report, "summary.windows")
    days = lookup(windows, "current.days")
    persist = lookup(windows, "persist_days")
    short = lookup(windows, "short.days")

    def effects(level: str) -> str:
        return (f"PSI ≥ {_limit(t, f'psi_{level}')}, |mean change| ≥ {_limit(t, f'mean_change_{level}')} "
                f"or Wasserstein ≥ {_limit(t, f'wasserstein_{level}')}")

    held = (f", held on {count_text(persist, 'daily evaluation')}" if persist is not None else "") + (
        f" and in the last {short} days" if short else "")
    sample = f"{days} daily values" if days is not None else "a few weeks of daily values"
    return (
        f"Colour = status, decided by the KS test together with an effect size: warn when "
        f"{effects('warn')} with KS p-value < {_limit(t, 'ks_pvalue_warn')}; alert when {effects('alert')} "
        f"with KS p-value < {_limit(t, 'ks_pvalue_alert')}{held}. On {sample} PSI is noisy, so a cell "
        f"can show PSI above its threshold and still be ok."
    )


_UNITS = "in the metric's own unit (latencies in ms, crash rate a share of events, feedback 1 to 5)"
#: Fields of a drift cell (``reports/data_drift.json``) in the order the details show them: name -> (words, meaning).
DRIFT_FIELDS = {
    "feature_id": ("feature id", ""),
    "metric": ("metric", ""),
    "status": ("status", "the heatmap's colour: after the persistence rule"),
    "triggered": ("effect sizes over their limit", "those at or above the limit of the status on the last day alone "
                                                "(at alert for an alert the persistence rule shows as a warn)"),
    "raw_status": ("status on the last day alone", "before the persistence rule, which keeps an alert only if it "
                                                   "held on the last daily evaluations and in the short window"),
    "days_in_alert": ("days in alert", "consecutive daily evaluations at alert, counting back from the last day; "
                                       "only the last drift.persist_days days are evaluated, so an alert that "
                                       "lasted longer counts that many"),
    "short_status": ("status in the short window", "the same comparison on the last few days only"),
    "ks_pvalue": (DRIFT_SCORES["ks_pvalue"], DRIFT_SCORE_MEANINGS["ks_pvalue"]),
    "ks_stat": ("KS statistic", "largest gap between the two windows' cumulative shares of days "
                                "(0 = same, 1 = no overlap)"),
    "psi": (DRIFT_SCORES["psi"], DRIFT_SCORE_MEANINGS["psi"]),
    "mean_change": (DRIFT_SCORES["mean_change"], "(current mean - reference mean) / |reference mean|; far from 0 "
                                                 "is bad"),
    "mean_ref": ("reference mean", f"mean of the daily values in the reference window, {_UNITS}"),
    "mean_cur": ("current mean", f"mean of the daily values in the current window, {_UNITS}"),
    "wasserstein_norm": (DRIFT_SCORES["wasserstein_norm"], DRIFT_SCORE_MEANINGS["wasserstein_norm"]),
    "n_ref": ("reference days", "days with a value in the reference window"),
    "n_cur": ("current days", "days with a value in the current window"),
}
#: The effect sizes ``triggered`` names (:func:`featurehealth.drift.classify`), in the Score list's words.
TRIGGER_NAMES = {"psi": "PSI", "mean_change": "mean change", "wasserstein": "Wasserstein distance"}


def _detail_value(field: str, value: Any) -> Any:
    """A drift cell's ``value`` as the details show it: p-values by :func:`pvalue_text` (never 0), the
    metric, its statuses (as the heatmap words them) and the effect sizes ``triggered`` names in words;
    other values as reported."""
    if field == "metric":
        return metric_name(value)
    if field in ("status", "raw_status", "short_status") and isinstance(value, str):
        return STATUS_WORDS.get(value, value)
    if field.endswith("pvalue") and isinstance(value, float) and value == value:
        return pvalue_text(value)
    if field == "triggered" and isinstance(value, str):
        return ", ".join(TRIGGER_NAMES.get(name, name) for name in value.split(",") if name) or "none"
    return value


def _detail_meaning(field: str, value: Any) -> str:
    """What ``field`` means (:data:`DRIFT_FIELDS`); for the mean change, also how much that is in per cent."""
    meaning = DRIFT_FIELDS.get(field, ("", ""))[1]
    if field == "mean_change" and _real(value) and value:
        return f"the current mean is {abs(value):.1%} {'below' if value < 0 else 'above'} the reference mean: {meaning}"
    return meaning


def cell_details(cells: "pd.DataFrame", *, feature_id: str, metric: str) -> "pd.DataFrame":
    """The reported fields of one drift cell as ``field`` (in words), ``value`` and ``meaning`` rows
    (empty if absent).

    The fields of :data:`DRIFT_FIELDS` come first, in its order, then any other as written. Values
    stay the report's (:func:`_detail_value`: a tiny p-value reads ``< 0.000001``, never 0).
    """
    import pandas as pd

    row = cells[(cells["feature_id"].astype(str) == feature_id) & (cells["metric"] == metric)]
    if row.empty:
        return pd.DataFrame(columns=["field", "value", "meaning"])
    fields = row.iloc[0].astype(object)
    order = [f for f in DRIFT_FIELDS if f in fields.index] + [f for f in fields.index if f not in DRIFT_FIELDS]
    return pd.DataFrame({
        "field": [DRIFT_FIELDS[f][0] if f in DRIFT_FIELDS else str(f) for f in order],
        "value": [_detail_value(str(f), fields[f]) for f in order],
        "meaning": [_detail_meaning(str(f), fields[f]) for f in order],
    })


#: The checks of :mod:`featurehealth.quality` in words.
QUALITY_CHECKS = {
    "missing_days": "missing feature-days",
    "published_gap": "gaps in the published table",
    "late_rows": "rows that arrived late",
    "volume_drop": "drop in events",
    "duplicate_events": "duplicate events",
    "null_rate": "missing or unreadable values",
    "out_of_range": "impossible values",
    "freshness": "data freshness",
    "unknown_features": "features without metadata",
}


def check_name(check: Any) -> str:
    """A data-quality check in words (:data:`QUALITY_CHECKS`); one it lacks as written, a new
    check still being found by its id."""
    return QUALITY_CHECKS.get(str(check), str(check))


#: A check's status (:data:`featurehealth.quality.STATUSES`) in words.
QUALITY_STATUSES = {"not_judged": "not judged"}


def quality_checks(quality: Mapping[str, Any]) -> "pd.DataFrame":
    """Checks of ``data_quality.json``: ``check`` (in words, :func:`check_name`), its id in the
    :func:`id_column`, ``measures`` (:data:`QUALITY_MEASURES`, "" for a check it does not know),
    ``status`` (in words, :data:`QUALITY_STATUSES`), ``observed``, ``warn``, ``fail``, ``rule``.

    Thresholds are text, a "never" sentinel reading ``none`` (:func:`featurehealth.display.quality_rows`).
    """
    import pandas as pd

    rows = [{**row, "check": check_name(row["check"]), id_column("check"): row["check"],
             "measures": QUALITY_MEASURES.get(row["check"], ""),
             "status": plain_name(row["status"], words=QUALITY_STATUSES)} for row in quality_rows(quality)]
    return pd.DataFrame(rows, columns=["check", id_column("check"), "measures", "status", "observed", "warn",
                                       "fail", "rule"])


def quality_malformed_note(quality: Mapping[str, Any]) -> str:
    """The warning shown when ``data_quality.json`` holds entries that are not checks (a report edited
    by hand or cut short, :func:`featurehealth.display.quality_entries`), "" when it holds none."""
    problems = quality_entries(quality)[1]
    if not problems:
        return ""
    return (f"reports/data_quality.json holds malformed entries, left out of this tab: {'; '.join(problems)}. "
            f"Each check should be an object with a name; the profile's next run rewrites the report.")


def quality_findings(quality: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(tone, sentence)`` for each check at ``warn`` or ``fail``, or not judged, in its own words,
    named in words (:func:`check_name`; the checks table gives the ids).

    The sentence is the check's ``message`` (what it found, with dates and features, or why it
    could not judge), or its observed value when it has none; failures first, not judged last.
    """
    order = ("fail", "warn", "not_judged")
    found = [c for c in quality_entries(quality)[0] if c.get("status") in order]
    found.sort(key=lambda c: order.index(c["status"]))
    findings = []
    for check in found:
        said = check.get("message") or f"observed {check.get('observed', NOT_AVAILABLE)}"
        status = "" if check["status"] == "not_judged" else f" ({check['status']})"
        findings.append((_status_tone(check["status"]), f"{check_name(check['name'])}{status}: {said}"))
    return findings


def _window_text(start: Any, end: Any) -> str:
    """" of the run's window START .. END" when both days are known, else ""."""
    return f" of the run's window {start} .. {end}" if isinstance(start, str) and isinstance(end, str) else ""


def quality_caption(quality: Mapping[str, Any]) -> str:
    """"Data-quality checks of the run's window START .. END: STATUS" for the checks table.

    The checks judge the run's window (``window`` of the report): one day on a daily run, so
    "the data up to" the as-of date, used only when the report names no window, overstated them.
    """
    status = lookup(quality, "summary.status") or NOT_AVAILABLE
    window = _window_text(lookup(quality, "window.start"), lookup(quality, "window.end"))
    if window:
        return f"Data-quality checks{window}: {status}"
    as_of = quality.get("as_of")
    return f"Data-quality checks of the data up to {as_of}: {status}" if as_of else f"Data-quality checks: {status}"


#: Why a row was quarantined (:data:`featurehealth.validate.REASONS`), in words.
QUARANTINE_REASONS = {
    "missing_event_time": "no event time", "invalid_event_time": "unreadable event time",
    "future_event_time": "event time in the future", "missing_feature_id": "no feature id",
    "missing_user_id": "no user id", "missing_is_crash": "no crash flag", "invalid_is_crash": "unreadable crash flag",
    "missing_latency": "no latency", "invalid_number": "not a number", "negative_latency": "negative latency",
    "latency_out_of_range": "latency out of range", "feedback_out_of_range": "feedback rating outside 1-5",
    "negative_error_count": "negative error count", "duplicate_event": "duplicate event",
    "malformed_line": "malformed line",
}
#: Columns of the input events (:data:`featurehealth.ingest.CANONICAL_TYPES`), in words.
INPUT_FIELDS = {
    "event_time": "event time", "feature_id": "feature id", "user_id": "user id", "latency_ms": "latency (ms)",
    "is_crash": "crash flag", "feedback_score": "feedback rating", "platform": "platform",
    "app_version": "app version", "error_count": "error count",
}


def quarantine_counts(ingest: Mapping[str, Any]) -> "pd.Series":
    """Quarantined rows by reason in words (``ingest_summary.json`` ``by_reason``, :data:`QUARANTINE_REASONS`),
    largest first."""
    import pandas as pd

    by_reason = ingest.get("by_reason")
    pairs = by_reason.items() if isinstance(by_reason, dict) else []
    counts = {plain_name(k, words=QUARANTINE_REASONS): int(v) for k, v in pairs if isinstance(v, (int, float))}
    return pd.Series(counts, name="rows", dtype="int64").sort_values(ascending=False)


#: Quarantine columns shown as examples, when present -> their headers.
QUARANTINE_COLUMNS = {
    "reason": "reason", "field": "field at fault", "source_file": "source file", "line": "line",
    **{c: INPUT_FIELDS[c] for c in ("feature_id", "event_time", "latency_ms", "feedback_score")},
    "raw_line": "line as read",
}


def quarantine_examples(rows: "pd.DataFrame", *, per_reason: int = 2) -> "pd.DataFrame":
    """The first ``per_reason`` quarantined rows of each reason, with those of
    :data:`QUARANTINE_COLUMNS` that hold a value in any of them, headed in its words; the reason and
    the field at fault in words too (:data:`QUARANTINE_REASONS`, :data:`INPUT_FIELDS`).

    Raises
    ------
    ValueError
        If ``per_reason`` is below 1.
    """
    if per_reason < 1:
        raise ValueError(f"per_reason must be >= 1, got {per_reason!r}.")
    columns = [c for c in QUARANTINE_COLUMNS if c in rows.columns]
    examples = rows.groupby("reason").head(per_reason)[columns]
    worded = {"reason": QUARANTINE_REASONS, "field": INPUT_FIELDS}
    examples = examples.assign(**{c: examples[c].map(functools.partial(plain_name, words=words), na_action="ignore")
                                  for c, words in worded.items() if c in examples})
    # By reason as shown, so the words read in alphabetical order.
    examples = examples.sort_values("reason", kind="stable")
    return examples.dropna(axis="columns", how="all").rename(columns=QUARANTINE_COLUMNS)


def window_quarantine(
    rows: "pd.DataFrame", *, start: Any, end: Any, files: "list[str] | None" = None
) -> "pd.DataFrame | None":
    """The rows of the accumulated quarantine that the run of the window ``start``..``end`` judged.

    Those dated in the window (``event_date``), and the undated rows (no valid event time,
    malformed lines) of the files the run judged them for: ``files``, the summary's
    ``window_files``, or else (a summary written before it existed) the files holding a
    quarantined row of the window. None when the window (ISO days) or ``event_date`` is unknown.
    """
    import pandas as pd

    if not (isinstance(start, str) and isinstance(end, str)) or "event_date" not in rows.columns:
        return None
    days = pd.to_datetime(rows["event_date"], errors="coerce")
    dated = days.between(pd.Timestamp(start), pd.Timestamp(end))
    # Without source_file no undated row can be tied to this run.
    sources = rows["source_file"] if "source_file" in rows.columns else pd.Series(None, index=rows.index)
    judged = set(sources[dated].dropna()) if files is None else set(files)
    undated = days.isna() & sources.notna() & sources.isin(judged)
    return rows.loc[dated | undated]


def quarantine_examples_caption(window: tuple[Any, Any], *, whole: bool, judged_files: bool = False) -> str:
    """Caption of the examples table: the run's window, or the whole quarantine when ``whole``.

    Its undated rows are those of the files the run judged when the summary lists them
    (``judged_files``: ``window_files``), else those of the files holding a row dated in the
    window (:func:`window_quarantine`).
    """
    if whole:
        return ("Examples per reason from the whole accumulated quarantine (quarantine/quarantine.parquet), "
                "not only the run's window")
    files = "the files the run judged" if judged_files else "the files holding one of them"
    return (f"Examples per reason{_window_text(*window)} (quarantine/quarantine.parquet: rows dated in it, "
            f"and undated rows of {files})")


def quarantine_caption(quarantined: int, rows_in: Any, *, window: tuple[Any, Any] = (None, None)) -> str:
    """"2,281 of 450,436 rows of the run's window START .. END quarantined".

    The counts are the run's (``ingest_summary.json``), not the accumulated quarantine, so the
    window (``window_start``, ``window_end``) is named when known; the total reads not available
    when unknown.
    """
    total = f"{rows_in:,}" if isinstance(rows_in, int) and not isinstance(rows_in, bool) else NOT_AVAILABLE
    return f"{quarantined:,} of {total} rows{_window_text(*window)} quarantined"


#: The columns of the early-warning table the dashboard shows (the notebook shows them all), in
#: order -> (header, what it counts); see :mod:`featurehealth.earlywarning`.
EARLY_WARNING_NOTES = {
    "n_incidents": ("incidents judged", "incidents whose warning window lies in the test period, their feature "
                                        "scored on each of its days"),
    "n_incidents_not_judged": ("incidents not judged", "incidents starting in the test period left out (the line "
                                                       "above says why)"),
    "incidents_detected": ("incidents warned", "incidents warned at least 1 day before they started"),
    "share_warned_1d": ("warned ≥ 1 day ahead", "share of the incidents judged warned at least 1 day before "
                                                "they started"),
    "chance_share_warned_1d": ("warned ≥ 1 day ahead by chance", "the share warned ≥ 1 day ahead that flagging "
                                                                 "as many feature-days at random would reach"),
    "share_warned_3d": ("warned ≥ 3 days ahead", "share of the incidents judged warned at least 3 days before "
                                                 "they started"),
    "median_lead_days": ("median lead (days)", "median days from the first warning to the start"),
    "n_with_precursor": ("incidents with early signs", "incidents whose data showed early signs (a precursor) "
                                                       "before they started"),
    "false_alerts_per_feature_month": ("false alerts per feature-month", "alerts (runs of flagged days) with no "
                                       "incident during them or within the horizon after, per feature and 30 days"),
}
#: Incident kinds (``kind`` of the ground truth, :data:`featurehealth.simulate.INCIDENT_KINDS`) in words.
INCIDENT_KINDS = {
    "latency_creep": "latency creep", "crash_spike_rollout": "crash spike after a rollout",
    "feedback_decline": "feedback decline", "partial_outage": "partial outage",
}
#: Columns of :func:`featurehealth.earlywarning.visibility_table` (its index ``kind`` first) -> their headers.
VISIBILITY_HEADERS = {
    "kind": "incident kind", "evidence": "evidence signal", "n_with_precursor": "incidents with early signs",
    "visible_q95": "share reaching the 95th percentile", "visible_q99": "share reaching the 99th percentile",
}


def _kinds_in_words(kinds: "pd.Series") -> "pd.Series":
    return kinds.map(lambda kind: plain_name(kind, words=INCIDENT_KINDS))


def early_warning_view(table: "pd.DataFrame") -> "pd.DataFrame":
    """The :data:`EARLY_WARNING_NOTES` columns of an early-warning summary table headed in its words, its
    index (``all`` and the incident kinds, in words) as ``incidents``; the numbers unchanged."""
    shown = table[[c for c in EARLY_WARNING_NOTES if c in table.columns]].reset_index(names="incidents")
    headers = {c: words for c, (words, _) in EARLY_WARNING_NOTES.items()}
    return shown.assign(incidents=_kinds_in_words(shown["incidents"])).rename(columns=headers)


def early_warning_notes(columns: Sequence[str]) -> str:
    """What the early-warning ``columns`` among :data:`EARLY_WARNING_NOTES` count, each by its header,
    in table order; "" when none is known."""
    said = [f"{words}: {meaning}" for c, (words, meaning) in EARLY_WARNING_NOTES.items() if c in columns]
    return "; ".join(said) + "." if said else ""


def visibility_view(table: "pd.DataFrame") -> "pd.DataFrame":
    """:func:`featurehealth.earlywarning.visibility_table` with its kinds as a column, kinds and headers
    in words (:data:`INCIDENT_KINDS`, :data:`VISIBILITY_HEADERS`); the numbers unchanged."""
    shown = table.reset_index(names="kind")
    shown = shown.assign(kind=_kinds_in_words(shown["kind"]))
    return shown.rename(columns=lambda c: plain_name(c, words=VISIBILITY_HEADERS))


#: Columns of :func:`model_versions`.
VERSION_COLUMNS = ("version", "training days", "PR-AUC on its test days", "in use", "promotion when trained",
                   "put in use by hand")


def _by_hand_text(record: Any) -> str:
    """"at <UTC time>, replacing <version>" for a version's latest rollback by hand; "never" for none."""
    if not isinstance(record, Mapping):
        return "never"
    return f"at {utc_time_text(record.get('at'))}, replacing {record.get('previous_version') or 'no model'}"


def model_versions(registry: Mapping[str, Any]) -> "pd.DataFrame":
    """The versions of ``models/registry.json`` as :data:`VERSION_COLUMNS`, newest first.

    The registry lists them oldest first (:func:`featurehealth.registry.version_cards`).

    A version trained before promotion decisions were kept has its decision "not available", as has a
    training start its card does not record, and a rollback by hand a registry written before it
    listed them does not record. One
    put in use by hand (``model.use_version``) says when and replacing which version in its own
    column, beside the decision it was given when trained.
    """
    import pandas as pd

    versions = registry.get("versions")
    rows = [
        {
            "version": str(v.get("version")),
            "training days": " .. ".join(str(lookup(v, f"training_window.{day}") or NOT_AVAILABLE)
                                         for day in ("start", "end")),
            "PR-AUC on its test days": v.get("pr_auc"),
            "in use": "yes" if v.get("version") == registry.get("current") else "",
            "promotion when trained": v.get("promotion_reason") or NOT_AVAILABLE,
            # A registry.json written before it listed rollbacks (before 2026-11-29 11:40) cannot say "never".
            "put in use by hand": _by_hand_text(v["put_in_use_by_hand"]) if "put_in_use_by_hand" in v
                                  else NOT_AVAILABLE,
        }
        for v in (versions if isinstance(versions, list) else []) if isinstance(v, dict)
    ]
    frame = pd.DataFrame(rows, columns=list(VERSION_COLUMNS))
    return frame.iloc[::-1].reset_index(drop=True)


def model_versions_caption(registry: Mapping[str, Any]) -> str:
    """"Model in use: V; N versions kept under models/" for the versions table."""
    versions = registry.get("versions")
    count = len(versions) if isinstance(versions, list) else 0
    return (f"Model in use: {registry.get('current') or NOT_AVAILABLE}; {count_text(count, 'version')} kept under "
            f"models/, newest first")


def publish_note(state: str | None, *, profile: str) -> str:
    """The warning shown while ``profile``'s outputs are mid-swap (:func:`featurehealth.dashboard.data.publish_state`).

    A run swaps its folders in one by one, so the tabs could show some of the new run and some
    of the previous one; after a run killed while publishing that lasts until the profile's next
    run, whose command is named with the profile (a bare ``./run_all.sh`` runs ``default``), or,
    when the journal cannot be read, until someone sorts the folders out as that run says.

    Raises
    ------
    ValueError
        If ``state`` is neither None nor one of :data:`~featurehealth.dashboard.data.PUBLISH_STATES`.
    """
    if state is not None and state not in PUBLISH_STATES:
        raise ValueError(f"state must be None or one of {', '.join(PUBLISH_STATES)}, got {state!r}.")
    if state == "publishing":
        return ("A run is publishing new outputs right now: reload the page in a moment, as what it "
                "shows may mix that run's outputs with the previous ones.")
    if state == "interrupted":
        return ("A run was killed while publishing its outputs: some folders are that run's, others the "
                f"previous run's, until the profile's next run puts the previous ones back (./run_all.sh {profile}).")
    if state == "unreadable":
        return ("A run was killed while publishing its outputs and its journal cannot be read: some folders "
                f"may be that run's, others the previous run's, until they are sorted out by hand, as the "
                f"profile's next run (./run_all.sh {profile}) says.")
    return ""


def unpublished_run_note(runs: "pd.DataFrame | None", published: Mapping[str, Any] | None, *,
                         ever_published: bool = True) -> str:
    """The warning shown when the newest run published nothing, so the page shows an earlier run.

    A failed or interrupted run leaves the last good outputs in place: without this note its
    Data quality "pass" or risk ranking read as today's, next to a "failed" Last run tile.

    Parameters
    ----------
    runs : DataFrame or None
        :func:`featurehealth.dashboard.data.run_history` (newest first).
    published : dict or None
        ``reports/run_report.json``: the report of the run whose outputs are published.
    ever_published : bool
        False when the profile holds no published run (no ``reports/run_report.json``): no
        earlier outputs are shown then.

    Returns
    -------
    str
        "" when the newest run succeeded or none is recorded; otherwise the newest run, its status,
        error and run folder, and the run whose outputs every tab shows.
    """
    if runs is None or runs.empty or runs.iloc[0]["status"] == "succeeded":
        return ""
    last = runs.iloc[0]
    status = last["status"] if isinstance(last["status"], str) else "did not succeed"
    error = f" ({last['error'].rstrip('.')})" if isinstance(last["error"], str) and last["error"] else ""
    told = (f"The newest run, {last['run_id']}, {status} and published nothing{error}; what it wrote is in "
            f"runs/{last['run_id']}/.")
    if not ever_published:
        return f"{told} No run of this profile has published outputs yet, so the tabs have nothing else to show."
    shown_id, shown_at = lookup(published, "run_id"), lookup(published, "finished_at")
    if isinstance(shown_id, str) and shown_id != last["run_id"]:
        finished = f", finished {utc_time_text(shown_at)}" if isinstance(shown_at, str) else ""
        shown = f"the earlier run {shown_id}{finished}"
    else:
        shown = "an earlier run (reports/run_report.json does not name it)"
    return f"{told} Every tab shows the outputs of {shown}."


#: Run history columns -> their headers in the page.
RUN_HEADERS = {"run_id": "run id", "started_at": "started", "finished_at": "finished", "duration_s": "duration (s)",
               "drift_alerts": "drift alerts", "days": "days read"}


def runs_view(runs: "pd.DataFrame") -> "pd.DataFrame":
    """The run history for reading: headers in words (:data:`RUN_HEADERS`), start and finish times as
    "2026-11-27 21:15 UTC" (:func:`utc_time_text`), a run that has not finished left blank; a new
    frame, the input (which the duration figure reads) unchanged."""
    times = [c for c in ("started_at", "finished_at") if c in runs.columns]
    shown = runs.assign(**{c: runs[c].map(lambda t: utc_time_text(t) if isinstance(t, str) else "") for c in times})
    return shown.rename(columns=RUN_HEADERS)


def runs_caption(count: int) -> str:
    """Caption of the run history table: "Last run" or "Last 5 runs", newest first."""
    return "Last run" if count == 1 else f"Last {count:,} runs, newest first"


#: Text colour of each tone, at least 4.5:1 on white (WCAG AA; the amber was #b26a00, 4.2:1).
TONE_COLOURS = {"ok": "#2e7d32", "warn": "#a65f00", "bad": "#c62828", "neutral": "#455a64"}
#: Class of an element whose text MathJax leaves alone. The page loads MathJax, which typeset any $...$ or
#: \(...\) in the HTML it was given: a feature named "Plan $5 to $10" read "Plan 5to10" in italics.
NO_MATH_CLASS = "mathjax_ignore"
#: The mark before a judged tile's label and what it says: the background colour alone, green
#: beside red, was lost on red-green colour-blind readers.
TONE_MARKS = {"ok": ("✓", "fine"), "warn": ("!", "worth a look"), "bad": ("✕", "needs attention")}


def status_html(message: str, *, tone: str = "neutral") -> str:
    """A message for a status or note area, escaped and coloured by ``tone``.

    Raises
    ------
    ValueError
        If ``tone`` is not one of :data:`TONES`.
    """
    if tone not in TONE_COLOURS:
        raise ValueError(f"tone must be one of {', '.join(TONES)}, got {tone!r}.")
    return f"<div class='fh-note {NO_MATH_CLASS}' style='color:{TONE_COLOURS[tone]}'>{_escaped(message)}</div>"


def tiles_html(tiles: Sequence[Tile]) -> str:
    """The Overview tiles as one HTML block (a flex row of cards); a judged tile's label starts with
    its tone's mark (:data:`TONE_MARKS`)."""
    backgrounds = {"ok": "#e8f5e9", "warn": "#fff8e1", "bad": "#ffebee", "neutral": "#eceff1"}

    def mark(tone: str) -> str:
        if tone not in TONE_MARKS:
            return ""
        symbol, words = TONE_MARKS[tone]
        return (f"<span class='fh-tile-mark' role='img' aria-label='{words}' title='{words}' "
                f"style='color:{TONE_COLOURS[tone]};font-weight:700'>{symbol}</span> ")

    # The border shows only with forced colours, where the browser drops the background, the tile's only edge.
    cards = "".join(
        f"<div class='fh-tile' style='background:{backgrounds[t.tone]};border:1px solid transparent;"
        f"padding:10px 14px;border-radius:6px;flex:1 1 150px;min-width:150px'>"
        f"<div style='font-size:12px;color:#555'>{mark(t.tone)}{_escaped(t.label)}</div>"
        f"<div class='fh-tile-value' style='font-size:26px;font-weight:600'>{_escaped(t.value)}</div>"
        f"<div style='font-size:11px;color:#666'>{_escaped(t.detail)}</div></div>"
        for t in tiles
    )
    return f"<div class='fh-tiles' style='display:flex;flex-wrap:wrap;gap:10px'>{cards}</div>"


# -- alt texts of the figures: what each shows, for readers who cannot see it -------------------
#: Alt text of :func:`featurehealth.dashboard.plots.curves_figure`.
CURVES_ALT = ("ROC and precision-recall curves of the model and the naive baselines on the test days; the areas "
              "under them (roc_auc, pr_auc) are in the metrics table above.")
#: Alt text of :func:`featurehealth.dashboard.plots.calibration_figure`.
CALIBRATION_ALT = ("Calibration on the test days: the model's predicted probability against the share of "
                   "feature-days that degraded, per tenth of the predictions (the legend gives their sizes), above "
                   "a histogram of the predicted probabilities; points on the diagonal are calibrated.")


def _named(items: Sequence[str]) -> str:
    """The first :data:`DRIFT_ALERTS_NAMED` of ``items``, comma-separated, then "and N more"."""
    shown = ", ".join(items[:DRIFT_ALERTS_NAMED])
    more = len(items) - DRIFT_ALERTS_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def heatmap_alt(cells: "pd.DataFrame", *, score: str) -> str:
    """Alt text of the drift heatmap of ``cells``: its size, then the cells of each status other
    than ok (feature id, metric in words and the printed ``score``), as its colours show them.

    Raises
    ------
    ValueError
        If ``score`` is not one of :data:`~featurehealth.dashboard.plots.DRIFT_SCORES`.
    """
    import pandas as pd

    check_score(score)
    parts = []
    for status in ("alert", "warn", "insufficient_data"):
        rows = cells[cells["status"] == status]
        values = rows[score] if score in rows else pd.Series(None, index=rows.index, dtype=object)
        named = [f"{f} {metric_name(m)}" + ("" if pd.isna(v) else f" ({score_label(v, score=score)})")
                 for f, m, v in zip(rows["feature_id"], rows["metric"], values, strict=True)]
        if named:
            parts.append(f"{STATUS_WORDS[status]}: {_named(named)}")
    if (cells["status"] == "ok").any():
        parts.append("every other cell ok" if parts else "every cell ok")
    return (f"Drift status of {cells['feature_id'].nunique():,} features by {cells['metric'].nunique():,} metrics, "
            f"each cell printing its {DRIFT_SCORES[score]}. {'; '.join(parts)}.")


def drilldown_alt(series: "pd.DataFrame", *, incidents: "pd.DataFrame | None", label: str) -> str:
    """Alt text of the drill-down figure of one feature's ``series``: its days, panels, degraded days and incidents."""
    dates = series["date"]
    if "is_degraded" in series:
        degraded = int(series["is_degraded"].fillna(False).astype(bool).sum())
        days = "no degraded day" if not degraded else count_text(degraded, "degraded day")
    else:
        days = "degraded days not available"
    known = "" if incidents is None else (
        ", no known incident" if incidents.empty else
        f", {count_text(len(incidents), 'known incident')}")
    last = last_data_day(series)
    stopped = "" if last is None else f" (no data since {last:%Y-%m-%d})"
    return (f"{label}, {dates.min():%Y-%m-%d} .. {dates.max():%Y-%m-%d}{stopped}: p95 latency, crash rate, average feedback "
            f"and events per day against their limits, {days}{known}, and the risk score with its bucket cut-offs.")


def drift_cell_alt(series: "pd.DataFrame", *, metric: str, label: str) -> str:
    """Alt text of the series figure of one drift cell."""
    dates, name = series["date"], metric_name(metric)
    daily = name if name.endswith("per day") else f"{name} per day"
    return (f"{label}: {daily}, {dates.min():%Y-%m-%d} .. {dates.max():%Y-%m-%d}, the drift reference "
            f"and current windows shaded; their means are in the table above.")


def importance_alt(importance: "pd.DataFrame", *, top: int = 15) -> str:
    """Alt text of the signal importance figure: its ``top`` signals in words, largest drop first."""
    known = importance.dropna(subset=["permutation_importance"])
    if known.empty:
        return "Signal importance not available: no test day is followed by a degraded day within the horizon."
    shown = known.sort_values("permutation_importance", ascending=False).head(top)
    listed = ", ".join(f"{signal_name(s)} {number_text(v)}"
                       for s, v in zip(shown["signal"], shown["permutation_importance"], strict=True))
    return f"Drop in PR-AUC when each signal is shuffled, top {len(shown)}: {listed}."


def signal_ids_note(importance: "pd.DataFrame", *, top: int = 15) -> str:
    """The ids of the signals the importance figure names in words, as "words = id" in its order
    (largest drop first), so an engineer finds the raw names; "" when none has other words."""
    known = importance.dropna(subset=["permutation_importance"])
    shown = known.sort_values("permutation_importance", ascending=False).head(top)["signal"].astype(str)
    pairs = [f"{signal_name(s)} = {s}" for s in shown if signal_name(s) != s]
    return f"Signal ids, largest drop first: {'; '.join(pairs)}." if pairs else ""


def quarantine_alt(counts: "pd.Series") -> str:
    """Alt text of the quarantine figure: rows per reason, largest first."""
    return "Quarantined rows by reason: " + ", ".join(f"{reason} {n:,}" for reason, n in counts.items()) + "."


def lead_time_alt(days: Sequence[float]) -> str:
    """Alt text of the lead-time histogram: every lead time, shortest first."""
    noun = "incident" if len(days) == 1 else "incidents"
    return (f"Lead times of the {len(days):,} {noun} warned ahead, in days before their start: "
            + ", ".join(f"{d:g}" for d in sorted(days)) + ".")


def run_history_alt(runs: "pd.DataFrame") -> str:
    """Alt text of the run durations figure (``runs`` newest first, as drawn oldest first)."""
    import pandas as pd

    said = []
    for row in runs.iloc[::-1].itertuples(index=False):
        when = utc_time_text(row.started_at) if isinstance(row.started_at, str) else str(row.run_id)
        took = f", {NOT_AVAILABLE_SHORT}" if pd.isna(row.duration_s) else f" {row.duration_s:g} s"
        said.append(f"{when} {row.status}{took}")
    count = "the last run" if len(runs) == 1 else f"the last {len(runs):,} runs, oldest first"
    return f"Durations of {count}: " + "; ".join(said) + "."
