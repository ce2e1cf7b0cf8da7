"""Early-warning evaluation of risk scores against ground-truth incidents.

An incident (feature, onset = ``start``) counts as *warned d days ahead* when its feature was
flagged (risk >= the operating threshold) on some day in ``[onset - horizon, onset - 1]`` while
not degraded (when the predictions carry ``is_degraded``) and the earliest such day is ``d`` days
before the onset: a flag on day ``t`` claims "degraded
within ``horizon`` days", so only flags within the horizon before the onset are warnings for it.
Only incidents whose feature has a score on every day of that warning window are judged, so
each has the same chance: a day without a score (before the period, before the feature was
launched or first scored, a day without data) is no evidence that a warning was missed. The
incidents with an onset in the period that are left out are counted by reason
(:data:`NOT_JUDGED_REASONS`) beside the judged ones.

An *alert* is a run of consecutive flagged days of one feature; it is *false* when no incident
of that feature is under way during the alert or begins within ``horizon`` days after its end.

Two references keep the figures honest. *Chance*: flagging the same share of feature-days at
random warns of an incident ``d`` days ahead with probability ``1 - (1 - share) ** n``, ``n`` its
days in ``[onset - horizon, onset - d]``, averaged over the judged incidents; a threshold that
flags much warns of many incidents without knowing anything. When predictions say which days a
feature is degraded (``is_degraded``), the share is taken over the days it is not, and ``n``
counts those days alone: a warning is a flag on a day still healthy, and flags on days already
degraded cannot warn of anything, the model's or random ones.
*Ceiling*, when the ground truth gives ``precursor_days``: the ROC-AUC of an oracle that knows
which feature-days show a precursor or an incident that goes on the next day. Target days
before a precursor starts carry no signal by construction, so no model can rank them. Beside it,
the model's own ranking of each type of positive row (ongoing incident, precursor of each kind,
nothing visible) against the negatives shows where its ROC-AUC is lost, and what it would reach
if it detected every precursor perfectly.
*The z-score rule at the model's alert load*: the rule's score (``rule_score`` of the predictions)
flagged on as many healthy feature-days as the model flags, so the two warn at the same cost;
persistence needs no such figure, since it flags only days already degraded and so warns of none.
*Visibility*, likewise: the share of each kind's precursors whose evidence signal (see
:data:`PRECURSOR_EVIDENCE`) rises above what ordinary feature-days reach now and then (their 95th
and 99th percentiles); a precursor that does not stand out of the noise cannot be warned of
without flagging many ordinary days too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from featurehealth import signals as sig
from featurehealth.display import number_text, percent_text

#: Days in a feature-month for the false-alert rate.
DAYS_PER_MONTH = 30
INCIDENT_COLUMNS = ("feature_id", "start", "end", "kind")
LEAD_DAYS = (1, 3)
#: The evidence signal of each simulated incident kind's precursor (other kinds: ``worst_shift_z``).
PRECURSOR_EVIDENCE = {
    "latency_creep": "latency_evidence",
    "feedback_decline": "feedback_evidence",
    "crash_spike_rollout": "crash_evidence",
}
VISIBILITY_QUANTILES = (0.95, 0.99)
#: Reason given when a run has no ground truth (real telemetry); the dashboard quotes it.
NO_GROUND_TRUTH = "no ground-truth incidents for this data"
#: Types of positive rows in the ceiling's breakdown (with ``precursor:<kind>``).
POSITIVE_ONGOING = "incident_ongoing"
POSITIVE_NOTHING_VISIBLE = "nothing_visible"
#: Thresholds of the trade-off table stored with the early-warning summary (plus the operating one).
TRADEOFF_THRESHOLDS = (0.1, 0.2, 0.3, 0.5)
#: Why an incident with its onset in the scored period is not judged (keys of ``not_judged``).
NOT_JUDGED_REASONS = {
    "window_before_period": "its warning window starts before the scored period",
    "feature_not_scored_whole_window": "its feature has no score on some day of its warning window",
}
TRADEOFF_COLUMNS = (
    "share_warned_1d", "chance_share_warned_1d", "share_warned_3d", "median_lead_days",
    "false_alerts_per_feature_month", "flagged_share", "flagged_share_not_degraded",
)


def _check_inputs(predictions: pd.DataFrame, incidents: pd.DataFrame, horizon_days: int) -> None:
    missing = [c for c in ("feature_id", "date", "probability") if c not in predictions.columns]
    missing += [c for c in INCIDENT_COLUMNS if c not in incidents.columns]
    if missing:
        raise ValueError(
            f"Missing columns {', '.join(missing)}: predictions need feature_id, date, probability; "
            f"incidents need {', '.join(INCIDENT_COLUMNS)}."
        )
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be >= 1, got {horizon_days!r}.")


def _normalised(predictions: pd.DataFrame, incidents: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    scored = predictions.assign(
        feature_id=predictions["feature_id"].astype(str), date=sig.normalise_dates(predictions["date"])
    )
    truth = incidents.assign(
        feature_id=incidents["feature_id"].astype(str),
        start=sig.normalise_dates(incidents["start"]),
        end=sig.normalise_dates(incidents["end"]),
        kind=incidents["kind"].fillna("unknown").astype(str),
    )
    return scored, truth.sort_values(["feature_id", "start", "kind"], kind="stable").reset_index(drop=True)


def _judgement(truth: pd.DataFrame, scored: pd.DataFrame, *, horizon_days: int) -> pd.Series:
    """Per incident of ``truth``: ``judged``, the key of :data:`NOT_JUDGED_REASONS` that leaves it
    out, or ``outside`` (onset outside the period of ``scored``, not counted).

    Judged: the onset lies in the period and ``scored`` (normalised ``feature_id``, ``date``) has
    a row of the incident's feature on every day of ``[start - horizon, start - 1]``.
    """
    out = pd.Series("outside", index=truth.index, dtype=object)
    if scored.empty:
        return out
    horizon = pd.Timedelta(days=horizon_days)
    pairs = truth.reset_index(names="incident")[["incident", "feature_id", "start"]].merge(
        scored[["feature_id", "date"]].drop_duplicates(), on="feature_id"
    )
    in_window = (pairs["date"] >= pairs["start"] - horizon) & (pairs["date"] < pairs["start"])
    covered = pairs[in_window].groupby("incident")["date"].nunique().reindex(truth.index, fill_value=0)
    first, last = scored["date"].min(), scored["date"].max()
    out[:] = np.where(covered.to_numpy() >= horizon_days, "judged", "feature_not_scored_whole_window")
    out[truth["start"] - horizon < first] = "window_before_period"
    out[(truth["start"] < first) | (truth["start"] > last)] = "outside"
    return out


def _not_judged(judgement: pd.Series) -> dict[str, Any]:
    """``n_incidents_not_judged`` and ``not_judged`` (count per reason) of a :func:`_judgement`."""
    counts = {reason: int((judgement == reason).sum()) for reason in NOT_JUDGED_REASONS}
    return {"n_incidents_not_judged": sum(counts.values()), "not_judged": counts}


def _scored_rows(scored: pd.DataFrame) -> pd.DataFrame:
    """The rows of normalised predictions that hold a score."""
    return scored[scored["probability"].notna()]


def incident_warnings(
    predictions: pd.DataFrame, incidents: pd.DataFrame, *, threshold: float, horizon_days: int
) -> pd.DataFrame:
    """Lead time of the first warning before each judged incident.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``feature_id``, ``date``, ``probability`` for every scored feature-day of the
        evaluation period (out-of-sample days only), and optionally ``is_degraded``: a flag on
        a day already degraded is no warning (see the module doc), as persistence flags it too.
    incidents : pandas.DataFrame
        Ground truth: ``feature_id``, ``start``, ``end`` (inclusive), ``kind`` and optionally
        ``severity``, ``precursor_days``.
    threshold : float
        Risk at or above which a feature-day is flagged.
    horizon_days : int
        The model's horizon: how far before the onset a flag counts.

    Returns
    -------
    pandas.DataFrame
        One row per judged incident (onset in the scored period, its feature scored on every
        day of ``[start - horizon, start - 1]``; see the module doc): the incident columns,
        ``first_flag`` (date or NaT), ``lead_days`` (NaN when not warned) and ``warned_1d``,
        ``warned_3d``; sorted by start, feature_id.
    """
    _check_inputs(predictions, incidents, horizon_days)
    scored, truth = _normalised(predictions, incidents)
    horizon = pd.Timedelta(days=horizon_days)
    judgement = _judgement(truth, _scored_rows(scored), horizon_days=horizon_days)
    judged = truth[(judgement == "judged").to_numpy()].reset_index(drop=True)
    warning = scored["probability"] >= threshold
    if "is_degraded" in scored.columns:
        warning &= scored["is_degraded"] == 0
    flagged = scored.loc[warning, ["feature_id", "date"]]
    pairs = judged.reset_index(names="incident")[["incident", "feature_id", "start"]].merge(flagged, on="feature_id")
    pairs = pairs[(pairs["date"] >= pairs["start"] - horizon) & (pairs["date"] < pairs["start"])]
    first_flag = pairs.groupby("incident")["date"].min().reindex(judged.index).astype("datetime64[ns]")
    out = judged.assign(first_flag=first_flag, lead_days=(judged["start"] - first_flag).dt.days.astype("float64"))
    for days in LEAD_DAYS:
        out[f"warned_{days}d"] = (out["lead_days"] >= days).to_numpy()
    return out.sort_values(["start", "feature_id"], kind="stable").reset_index(drop=True)


def alert_episodes(predictions: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """Runs of consecutive flagged days per feature: ``feature_id``, ``start``, ``end``, ``days``."""
    flagged = predictions.loc[predictions["probability"] >= threshold, ["feature_id", "date"]]
    flagged = flagged.assign(
        feature_id=flagged["feature_id"].astype(str), date=sig.normalise_dates(flagged["date"])
    ).sort_values(["feature_id", "date"], kind="stable")
    gap = flagged["date"].diff().dt.days.ne(1) | flagged["feature_id"].ne(flagged["feature_id"].shift())
    episodes = flagged.assign(episode=gap.cumsum()).groupby("episode").agg(
        feature_id=("feature_id", "first"), start=("date", "min"), end=("date", "max")
    )
    episodes["days"] = (episodes["end"] - episodes["start"]).dt.days + 1
    return episodes.reset_index(drop=True)


def false_alerts(
    predictions: pd.DataFrame, incidents: pd.DataFrame, *, threshold: float, horizon_days: int
) -> dict[str, Any]:
    """Alerts with no incident during them or within ``horizon_days`` after, per feature-month.

    Returns
    -------
    dict
        ``n_alerts``, ``n_false_alerts``, ``feature_months``, ``false_alerts_per_feature_month``
        and ``flagged_share`` (share of scored feature-days flagged).
    """
    _check_inputs(predictions, incidents, horizon_days)
    scored, truth = _normalised(predictions, incidents)
    episodes = alert_episodes(scored, threshold=threshold).reset_index(names="alert")
    pairs = episodes.merge(truth[["feature_id", "start", "end"]], on="feature_id", suffixes=("", "_incident"))
    hit = (pairs["start_incident"] <= pairs["end"] + pd.Timedelta(days=horizon_days)) & (
        pairs["end_incident"] >= pairs["start"]
    )
    true_alerts = set(pairs.loc[hit, "alert"])
    n_false = int((~episodes["alert"].isin(true_alerts)).sum())
    months = len(scored) / DAYS_PER_MONTH
    return {
        "n_alerts": len(episodes),
        "n_false_alerts": n_false,
        "feature_months": months,
        "false_alerts_per_feature_month": n_false / months if months else None,
        # A low threshold warns of every incident by flagging everything; this shows it.
        "flagged_share": float((scored["probability"] >= threshold).mean()) if len(scored) else None,
    }


def chance_share_warned(flagged_share: float, *, window_days: Sequence[int]) -> float | None:
    """Expected share of incidents warned by flagging ``flagged_share`` of days at random.

    Parameters
    ----------
    flagged_share : float
        Share of the days that may warn (the healthy ones, when known) flagged, in [0, 1].
    window_days : sequence of int
        Per incident, its days that may warn: those of its warning window far enough ahead and,
        when known, not degraded (:func:`chance_window_days`).

    Returns
    -------
    float or None
        The mean over the incidents of ``1 - (1 - flagged_share) ** days``; None without incidents.

    Raises
    ------
    ValueError
        If ``flagged_share`` is not in [0, 1].
    """
    if not 0 <= flagged_share <= 1:
        raise ValueError(f"flagged_share must be in [0, 1], got {flagged_share!r}.")
    days = np.asarray(window_days, dtype="float64")
    return float(np.mean(1.0 - (1.0 - flagged_share) ** days)) if len(days) else None


def chance_window_days(
    predictions: pd.DataFrame, warnings: pd.DataFrame, *, lead_days: int, horizon_days: int
) -> np.ndarray:
    """Per incident of ``warnings`` (:func:`incident_warnings`), its days in ``[start - horizon_days,
    start - lead_days]`` that could warn of it: those not degraded when ``predictions`` carry
    ``is_degraded``, else all of them (a judged incident's feature is scored on each)."""
    if "is_degraded" not in predictions.columns:
        return np.full(len(warnings), max(horizon_days - lead_days + 1, 0))
    scored = _scored_rows(_normalised(predictions, warnings)[0])
    healthy = scored.loc[scored["is_degraded"] == 0, ["feature_id", "date"]]
    pairs = warnings.reset_index(names="incident")[["incident", "feature_id", "start"]].merge(healthy, on="feature_id")
    ahead = (pairs["start"] - pairs["date"]).dt.days
    in_window = (ahead >= lead_days) & (ahead <= horizon_days)
    return pairs[in_window].groupby("incident").size().reindex(range(len(warnings)), fill_value=0).to_numpy()


def _summary(warnings: pd.DataFrame) -> dict[str, Any]:
    n = len(warnings)
    lead = warnings["lead_days"].dropna()
    out: dict[str, Any] = {"n_incidents": n}
    for days in LEAD_DAYS:
        out[f"share_warned_{days}d"] = float(warnings[f"warned_{days}d"].mean()) if n else None
    out["incidents_detected"] = int(warnings["warned_1d"].sum())
    out["median_lead_days"] = float(lead.median()) if len(lead) else None
    out["lead_times_days"] = [int(days) for days in lead]
    if "precursor_days" in warnings.columns:
        precursor = pd.to_numeric(warnings["precursor_days"], errors="coerce")
        out["median_precursor_days"] = float(precursor.median()) if precursor.notna().any() else None
        with_precursor = warnings[precursor > 0]
        out["n_with_precursor"] = len(with_precursor)
        out["share_warned_1d_with_precursor"] = (
            float(with_precursor["warned_1d"].mean()) if len(with_precursor) else None
        )
    return out


def _episode_pairs(
    rows: pd.DataFrame, incidents: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows and incidents normalised, and each row paired with every incident of its feature.

    Incidents get ``precursor_days`` as a number (missing: 0) and ``precursor_start``, their
    first precursor day; a pair holds the row's position ``row``, ``date``, the incident's
    columns with its position ``incident``, and where the row lies in that episode:
    ``on_precursor`` (a precursor day) and ``goes_on`` (an incident day with another after it).
    """
    scored, truth = _normalised(rows, incidents)
    precursor = pd.to_numeric(truth["precursor_days"], errors="coerce").fillna(0)
    truth = truth.assign(
        precursor_days=precursor, precursor_start=truth["start"] - pd.to_timedelta(precursor, unit="D")
    )
    pairs = scored.reset_index(names="row")[["row", "feature_id", "date"]].merge(
        truth.reset_index(names="incident"), on="feature_id"
    )
    pairs = pairs.assign(
        on_precursor=(pairs["date"] >= pairs["precursor_start"]) & (pairs["date"] < pairs["start"]),
        goes_on=(pairs["date"] >= pairs["start"]) & (pairs["date"] < pairs["end"]),
    )
    return scored, truth, pairs


def signal_ceiling(predictions: pd.DataFrame, incidents: pd.DataFrame) -> dict[str, Any]:
    """ROC-AUC of the ground-truth oracle (see the module doc) on the labelled rows of ``predictions``.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``feature_id``, ``date`` and ``y_true`` (NaN rows are skipped); with ``probability``, the
        model's scores are broken down against the oracle too.
    incidents : pandas.DataFrame
        Ground truth with ``precursor_days``.

    Returns
    -------
    dict
        ``available``; ``roc_auc`` of the oracle and ``share_of_positives_visible`` (target rows
        with a precursor or an ongoing incident), or the reason they are not available. With
        scores also ``by_positive_type`` and ``model_roc_auc_perfect_precursors`` (see
        :func:`_model_against_ceiling`).
    """
    from sklearn.metrics import roc_auc_score

    if "precursor_days" not in incidents.columns or "y_true" not in predictions.columns:
        return {"available": False, "reason": "the ground truth gives no precursor_days"}
    labelled = predictions[predictions["y_true"].notna()].reset_index(drop=True)
    scored, _truth, pairs = _episode_pairs(labelled, incidents)
    visible = pairs["on_precursor"] | pairs["goes_on"]
    oracle = pd.Series(False, index=scored.index)
    oracle.loc[pairs.loc[visible, "row"].unique()] = True
    y = scored["y_true"].to_numpy(dtype="int8")
    if len(set(y)) < 2:
        return {"available": False, "reason": "the labelled rows hold one class only"}
    ceiling: dict[str, Any] = {
        "available": True,
        "roc_auc": float(roc_auc_score(y, oracle.to_numpy(dtype="float64"))),
        "share_of_positives_visible": float(oracle[y == 1].mean()),
    }
    if "probability" in scored.columns:
        ceiling.update(_model_against_ceiling(scored, pairs))
    return ceiling


def _positive_row_types(scored: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Each positive row's type: ``incident_ongoing`` (it goes on the next day), ``precursor:<kind>``
    or ``nothing_visible`` (before the precursor starts, an incident without one, or a degraded
    day that no incident explains)."""
    types = pd.Series(POSITIVE_NOTHING_VISIBLE, index=scored.index)
    on_precursor = pairs[pairs["on_precursor"]]
    types.loc[on_precursor["row"].to_numpy()] = "precursor:" + on_precursor["kind"].astype(str).to_numpy()
    types.loc[pairs.loc[pairs["goes_on"], "row"].unique()] = POSITIVE_ONGOING
    return types[scored["y_true"] == 1]


def _model_against_ceiling(scored: pd.DataFrame, pairs: pd.DataFrame) -> dict[str, Any]:
    """Where the model's ROC-AUC is lost: each type of positive row ranked against every negative.

    ``by_positive_type`` holds, per type of :func:`_positive_row_types`, its rows, their share of
    the positives and ``model_roc_auc``: the chance that the model scores such a row above a
    random negative row (ROC-AUC is the positives' average of it). ``model_roc_auc_perfect_precursors``
    is the model's ROC-AUC if it ranked every precursor row above every other row and kept its
    scores elsewhere: what perfect precursor detection alone would add.
    """
    from sklearn.metrics import roc_auc_score

    scores = scored["probability"].to_numpy(dtype="float64")
    y = scored["y_true"].to_numpy(dtype="int8")
    negatives = np.sort(scores[y == 0])
    types = _positive_row_types(scored, pairs)
    by_type: dict[str, Any] = {}
    for row_type, rows in types.groupby(types, sort=True):
        positive = scores[rows.index.to_numpy()]
        below = np.searchsorted(negatives, positive, side="left")
        ties = np.searchsorted(negatives, positive, side="right") - below
        by_type[str(row_type)] = {
            "n_rows": len(rows),
            "share_of_positives": len(rows) / len(types),
            "model_roc_auc": float(np.mean((below + 0.5 * ties) / len(negatives))),
        }
    precursor_rows = types.index[types.str.startswith("precursor:")].to_numpy()
    perfect = scores.copy()
    perfect[precursor_rows] = scores.max() + 1.0
    return {"by_positive_type": by_type, "model_roc_auc_perfect_precursors": float(roc_auc_score(y, perfect))}


def _flag_figures(
    predictions: pd.DataFrame, incidents: pd.DataFrame, *, threshold: float, horizon_days: int
) -> tuple[dict[str, Any], pd.DataFrame]:
    """What flagging at ``threshold`` gives: warned shares, lead times, alert load and chance."""
    warnings = incident_warnings(predictions, incidents, threshold=threshold, horizon_days=horizon_days)
    figures = {
        **_summary(warnings),
        **false_alerts(predictions, incidents, threshold=threshold, horizon_days=horizon_days),
    }
    healthy = predictions["is_degraded"] == 0 if "is_degraded" in predictions.columns else None
    if healthy is not None and healthy.any():
        figures["flagged_share_not_degraded"] = float((predictions.loc[healthy, "probability"] >= threshold).mean())
    chance_basis = figures.get("flagged_share_not_degraded", figures["flagged_share"]) or 0.0
    for days in LEAD_DAYS:
        figures[f"chance_share_warned_{days}d"] = chance_share_warned(
            chance_basis, window_days=chance_window_days(predictions, warnings, lead_days=days, horizon_days=horizon_days)
        )
    return figures, warnings


#: Figures of :func:`rule_at_model_load`, beside the model's own in the early-warning summary.
RULE_AT_LOAD_FIGURES = (
    "incidents_detected", "share_warned_1d", "share_warned_3d", "median_lead_days",
    "false_alerts_per_feature_month", "flagged_share_not_degraded",
)


def rule_at_model_load(
    predictions: pd.DataFrame, incidents: pd.DataFrame, *, flagged_share: float, horizon_days: int
) -> dict[str, Any]:
    """Early warning of the z-score rule flagged on the same share of healthy feature-days as the model.

    Parameters
    ----------
    predictions : pandas.DataFrame
        As for :func:`incident_warnings`, with ``rule_score`` and ``is_degraded``.
    incidents : pandas.DataFrame
        Ground truth, as for :func:`incident_warnings`.
    flagged_share : float
        The model's share of healthy (not degraded) feature-days flagged, in [0, 1].
    horizon_days : int
        The model's horizon.

    Returns
    -------
    dict
        ``threshold`` (the rule's score flagging the ``flagged_share`` highest-scored healthy
        feature-days, ties included; None when it flags none), :data:`RULE_AT_LOAD_FIGURES` and
        ``by_kind`` (incidents warned >= 1 day ahead per incident kind).

    Raises
    ------
    ValueError
        If ``predictions`` lack ``rule_score`` or ``is_degraded``, or ``flagged_share`` is not in
        [0, 1].
    """
    missing = sorted({"rule_score", "is_degraded"} - set(predictions.columns))
    if missing:
        raise ValueError(f"predictions lack {', '.join(missing)}, which the z-score rule's warnings need.")
    if not 0 <= flagged_share <= 1:
        raise ValueError(f"flagged_share must be in [0, 1], got {flagged_share!r}.")
    healthy = np.sort(predictions.loc[predictions["is_degraded"] == 0, "rule_score"].dropna().to_numpy())[::-1]
    n_flagged = round(flagged_share * len(healthy))
    threshold = float(healthy[n_flagged - 1]) if n_flagged else None
    rule = predictions.assign(probability=predictions["rule_score"])
    figures, warnings = _flag_figures(rule, incidents, threshold=np.inf if threshold is None else threshold,
                                      horizon_days=horizon_days)
    by_kind = warnings.groupby("kind", sort=True)["warned_1d"].sum()
    return {"threshold": threshold, **{key: figures.get(key) for key in RULE_AT_LOAD_FIGURES},
            "by_kind": {str(kind): int(n) for kind, n in by_kind.items()}}


def rule_at_load_text(summary: dict[str, Any]) -> str | None:
    """One sentence comparing the model's warnings with the z-score rule's at the same alert load
    (``summary["rule_at_model_load"]``, :func:`rule_at_model_load`); None without ground truth."""
    if not summary.get("available"):
        return None
    rule = summary.get("rule_at_model_load")
    if not rule:
        return ("The z-score rule at the model's alert load: not available (the model in use was trained "
                "before it was measured; retrain it to add it).")
    return (f"At the model's alert load ({percent_text(rule['flagged_share_not_degraded'])} of healthy feature-days "
            f"flagged) the z-score rule warns of {rule['incidents_detected']} of {summary['n_incidents']} incidents "
            f"a day or more ahead, with "
            f"{number_text(rule['false_alerts_per_feature_month'], digits=2)} false alerts per feature-month "
            f"(the model: {summary['incidents_detected']}, "
            f"{number_text(summary['false_alerts_per_feature_month'], digits=2)}); persistence flags only days "
            f"already degraded, so it warns of none.")


def precursor_visibility(signal_rows: pd.DataFrame, incidents: pd.DataFrame, *, horizon_days: int) -> dict[str, Any]:
    """How many precursors stand out of the noise of ordinary days, per incident kind.

    Parameters
    ----------
    signal_rows : pandas.DataFrame
        ``feature_id``, ``date``, ``degraded_today`` and the evidence signals of
        :data:`PRECURSOR_EVIDENCE` for the scored days.
    incidents : pandas.DataFrame
        Ground truth with ``precursor_days``.
    horizon_days : int
        The model's horizon: the incidents judged are those :func:`incident_warnings` judges.

    Returns
    -------
    dict
        ``available`` (False, with ``reason``, without ground truth or ordinary days); ``quantiles``;
        ``by_kind``, per kind with a judged incident that has a precursor: the ``evidence``
        signal, ``n_with_precursor`` and ``visible_q95`` / ``visible_q99``, the shares
        whose largest evidence on a precursor day in the period reaches that percentile of
        ordinary days (feature-days not degraded and outside every incident's precursor and
        incident days).
    """
    columns = {*PRECURSOR_EVIDENCE.values(), "worst_shift_z", "degraded_today"}
    if "precursor_days" not in incidents.columns or not columns <= set(signal_rows.columns):
        return {"available": False, "reason": "the ground truth gives no precursor_days or the signals lack evidence"}
    rows, truth, pairs = _episode_pairs(signal_rows, incidents)
    in_episode = (pairs["date"] >= pairs["precursor_start"]) & (pairs["date"] <= pairs["end"])
    on_precursor = pairs[pairs["on_precursor"]]
    ordinary = rows.drop(index=pairs.loc[in_episode, "row"].unique())
    ordinary = ordinary[ordinary["degraded_today"] == 0]
    if ordinary.empty:
        # No noise level to stand out of: every share would read 0 % visible, as if measured.
        return {"available": False, "reason": "no ordinary feature-day (healthy, outside every incident) to compare with"}
    by_kind: dict[str, Any] = {}
    judged = (_judgement(truth, rows, horizon_days=horizon_days) == "judged").to_numpy()
    on_precursor = on_precursor[judged[on_precursor["incident"].to_numpy()]]
    for kind, group in on_precursor.groupby("kind", sort=True):
        column = PRECURSOR_EVIDENCE.get(kind, "worst_shift_z")
        peaks = rows.loc[group["row"], column].groupby(group["incident"].to_numpy()).max()
        entry: dict[str, Any] = {"evidence": column, "n_with_precursor": len(peaks)}
        for q in VISIBILITY_QUANTILES:
            limit = float(ordinary[column].quantile(q))
            # An evidence signal the input never feeds (NaN on every ordinary day) judges nothing.
            entry[f"visible_q{round(q * 100)}"] = (None if np.isnan(limit)
                                                   else float((peaks.fillna(-float("inf")) >= limit).mean()))
        by_kind[kind] = entry
    return {"available": True, "quantiles": list(VISIBILITY_QUANTILES), "by_kind": by_kind}


def evaluate_early_warning(
    predictions: pd.DataFrame, incidents: pd.DataFrame | None, *, threshold: float, horizon_days: int
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Early-warning figures of a scored period against ground-truth incidents.

    Without incidents (no simulator ground truth), the figures are reported as not available,
    never estimated.

    Returns
    -------
    tuple
        Summary dict (``available``; ``n_incidents`` (judged), ``n_incidents_not_judged`` and
        ``not_judged`` (count per reason of :data:`NOT_JUDGED_REASONS` of the incidents with an
        onset in the period left out), ``incidents_detected`` (warned >= 1 day ahead), shares
        warned >= 1 and >= 3 days ahead, ``lead_times_days`` of the warned incidents and their
        median, the false-alert rate, the chance references, the same per incident ``kind``
        (every kind with an onset in the period), the ``ceiling`` and the ``tradeoff`` rows of
        :func:`tradeoff_rows` at :data:`TRADEOFF_THRESHOLDS` and ``threshold`` itself, unrounded) and the
        per-incident table of :func:`incident_warnings` (None when not available).
    """
    if incidents is None:
        return {"available": False, "reason": NO_GROUND_TRUTH}, None
    figures, warnings = _flag_figures(predictions, incidents, threshold=threshold, horizon_days=horizon_days)
    dates = sig.normalise_dates(predictions["date"])
    # The operating row at the exact threshold: rounded, it could flag other rows than the headline figures.
    thresholds = sorted({*TRADEOFF_THRESHOLDS, float(threshold)})
    scored, truth = _normalised(predictions, incidents)
    judgement = _judgement(truth, _scored_rows(scored), horizon_days=horizon_days)
    # Every kind with an onset in the period, judged or not, so a kind left out entirely shows.
    kinds = sorted({*warnings["kind"], *truth.loc[(judgement != "outside").to_numpy(), "kind"]})
    summary: dict[str, Any] = {
        "available": True,
        "threshold": threshold,
        "horizon_days": horizon_days,
        "period": {"start": dates.min().date().isoformat(), "end": dates.max().date().isoformat()},
        **figures,
        **_not_judged(judgement),
        "by_kind": {
            kind: {
                **_summary(warnings[warnings["kind"] == kind]),
                **_not_judged(judgement[(truth["kind"] == kind).to_numpy()]),
            }
            for kind in kinds
        },
        "ceiling": signal_ceiling(predictions, incidents),
        "tradeoff": tradeoff_rows(predictions, incidents, thresholds=thresholds, horizon_days=horizon_days),
    }
    if {"rule_score", "is_degraded"} <= set(predictions.columns) and "flagged_share_not_degraded" in figures:
        summary["rule_at_model_load"] = rule_at_model_load(
            predictions, incidents, flagged_share=figures["flagged_share_not_degraded"], horizon_days=horizon_days)
    if not len(warnings):
        # Two different reasons: an empty ground truth or a calm period must not read as missing scores.
        summary["note"] = (
            "no incident has a score of its feature on every day of its warning window in the period"
            if summary["n_incidents_not_judged"] else "no incident starts in the period"
        )
    return summary, warnings


def tradeoff_rows(
    predictions: pd.DataFrame, incidents: pd.DataFrame, *, thresholds: list[float], horizon_days: int
) -> list[dict[str, Any]]:
    """Early warning against alert load at each threshold: one JSON-ready row each.

    Keys: ``threshold`` and :data:`TRADEOFF_COLUMNS` (``flagged_share_not_degraded`` absent, so
    None, without ``is_degraded``); see :func:`tradeoff_table` for a frame.
    """
    rows = []
    for threshold in thresholds:
        figures, _ = _flag_figures(predictions, incidents, threshold=threshold, horizon_days=horizon_days)
        rows.append({"threshold": threshold, **{key: figures.get(key) for key in TRADEOFF_COLUMNS}})
    return rows


def tradeoff_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Trade-off rows (``summary["tradeoff"]`` or :func:`tradeoff_rows`) as a frame indexed by threshold."""
    frame = pd.DataFrame(rows, columns=["threshold", *TRADEOFF_COLUMNS]).set_index("threshold")
    return frame.astype("float64")


def tradeoff_view(rows: list[dict[str, Any]], *, operating_threshold: float, digits: int = 3) -> pd.DataFrame:
    """:func:`tradeoff_table` for reading: thresholds to ``digits`` significant digits, the model's
    operating threshold marked ``(operating)`` (its row repeats the headline figures), values as text
    to ``digits`` significant digits as :func:`summary_view` writes them, blank where a figure does
    not apply (a median lead without a warned incident).
    """
    table = tradeoff_table(rows).map(lambda value: "" if pd.isna(value) else number_text(value, digits=digits))
    labels = [number_text(t, digits=digits) + (" (operating)" if t == operating_threshold else "") for t in table.index]
    return table.set_axis(pd.Index(labels, name="threshold"))


def summary_view(summary: dict[str, Any], *, digits: int = 3) -> pd.DataFrame:
    """:func:`summary_table` for reading: one row per figure and one column per incident kind
    (``all`` first), so its 15 figures fit the width of a notebook; values as text to ``digits``
    significant digits, blank where a figure does not apply (false alerts and chance for one
    kind, a median lead without a warned incident).
    """
    table = summary_table(summary)
    if not summary.get("available"):
        return table
    shown = table.T.map(lambda value: "" if pd.isna(value) else number_text(value, digits=digits))
    return shown.rename_axis(index="figure", columns="kind")


def _not_available(section: dict[str, Any]) -> pd.DataFrame:
    """One display row ``not available`` with the section's reason."""
    return pd.DataFrame({"reason": [section.get("reason", "")]}, index=["not available"])


def visibility_table(summary: dict[str, Any]) -> pd.DataFrame:
    """``summary["precursor_visibility"]`` as one row per incident kind (for display).

    A summary without it (no ground truth, or no precursor in the period) gives one row
    ``not available`` with the reason.
    """
    visibility = summary.get("precursor_visibility") or {
        "available": False, "reason": summary.get("reason", "not computed for this model"),
    }
    if not visibility.get("available"):
        return _not_available(visibility)
    table = pd.DataFrame.from_dict(visibility["by_kind"], orient="index")
    return table.rename_axis("kind")


def ceiling_table(summary: dict[str, Any]) -> pd.DataFrame:
    """``summary["ceiling"]["by_positive_type"]`` as one row per type of positive row (for display).

    A summary without it (no ground truth, no scores, or a model saved before it existed) gives
    one row ``not available`` with the reason.
    """
    ceiling = summary.get("ceiling") or {"available": False, "reason": summary.get("reason", "")}
    if "by_positive_type" not in ceiling:
        return _not_available({"reason": ceiling.get("reason", "not computed for this model")})
    table = pd.DataFrame.from_dict(ceiling["by_positive_type"], orient="index")
    return table.reindex(columns=["n_rows", "share_of_positives", "model_roc_auc"]).rename_axis("positive rows")


def ceiling_summary(summary: dict[str, Any], *, model_roc_auc: float, digits: int = 3) -> pd.Series:
    """The model's ROC-AUC beside each figure of ``summary["ceiling"]`` (for display), as text to
    ``digits`` significant digits: the model's figures first (``model_roc_auc_perfect_precursors`` as
    ``model roc_auc_perfect_precursors``), then the oracle's, each ``ceiling <key>``; without a
    ceiling, ``ceiling`` reads "not available" and the reason.
    """
    ceiling = summary.get("ceiling") or {"available": False,
                                         "reason": summary.get("reason", "not computed for this model")}
    shown = {"model roc_auc": number_text(model_roc_auc, digits=digits)}
    if not ceiling.get("available"):
        return pd.Series(shown | {"ceiling": f"not available: {ceiling.get('reason', '')}"}, dtype=object)
    figures = {key: number_text(value, digits=digits) for key, value in ceiling.items()
               if key != "available" and not isinstance(value, dict)}
    model_figures = {f"model {key.removeprefix('model_')}": text for key, text in figures.items()
                     if key.startswith("model_")}
    oracle_figures = {f"ceiling {key}": text for key, text in figures.items() if not key.startswith("model_")}
    return pd.Series(shown | model_figures | oracle_figures, dtype=object)


def ceiling_note(summary: dict[str, Any], *, model_roc_auc: float, digits: int = 3) -> str | None:
    """Why a figure of the model stands above the oracle ceiling of ``summary["ceiling"]``, when one
    does (for display); None when none does or there is no ceiling.

    The oracle ranks the positive rows with nothing visible no better than chance. A model can rank
    them higher, by luck on the few rows of a short test period or from what a feature's past says
    of its risk, and so pass the ceiling, which bounds what the precursors reveal, not the model.
    """
    ceiling = summary.get("ceiling") or {}
    if not ceiling.get("available"):
        return None
    limit = ceiling["roc_auc"]
    figures = {"the model's ROC-AUC": model_roc_auc,
               "the model's ROC-AUC with perfect precursors": ceiling.get("model_roc_auc_perfect_precursors")}
    above = [f"{name}, {number_text(value, digits=digits)}" for name, value in figures.items()
             if value is not None and value > limit]
    if not above:
        return None
    hidden = ceiling.get("by_positive_type", {}).get(POSITIVE_NOTHING_VISIBLE)
    ranked = ("" if hidden is None else
              f" The model ranks the {hidden['n_rows']} positive rows with nothing visible at "
              f"{number_text(hidden['model_roc_auc'], digits=digits)}, where the oracle ranks them no better than "
              f"chance; on the rows of a few incidents that can be luck, or what a feature's past says of its risk, "
              f"and no precursor the model sees.")
    return (f"Above the ceiling ({number_text(limit, digits=digits)}): {'; '.join(above)}.{ranked} "
            f"The ceiling bounds what the precursors reveal, not the model.")


def summary_table(summary: dict[str, Any]) -> pd.DataFrame:
    """The early-warning summary as rows ``all`` and one per incident kind (for display).

    False alerts are not tied to an incident, so their columns are filled on ``all`` only. When
    the figures are not available, one row ``not available`` carries the reason.
    """
    if not summary.get("available"):
        return _not_available(summary)
    columns = [
        "n_incidents", "n_incidents_not_judged", "incidents_detected", "share_warned_1d",
        "chance_share_warned_1d", "share_warned_3d", "median_lead_days", "n_with_precursor",
        "share_warned_1d_with_precursor", "median_precursor_days",
        "n_alerts", "n_false_alerts", "false_alerts_per_feature_month", "flagged_share", "flagged_share_not_degraded",
    ]
    rows = {"all": summary, **summary.get("by_kind", {})}
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns).astype("float64")
    # Counts print as whole numbers (5, not 5.0); absent ones stay missing.
    return table.astype({c: "Int64" for c in columns if c.startswith("n_") or c == "incidents_detected"})
