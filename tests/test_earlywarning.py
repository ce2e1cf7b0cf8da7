"""Lead times and false alerts against hand-made incidents."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from featurehealth import earlywarning

DAYS = pd.date_range("2026-03-01", periods=30, freq="D")


def _predictions(flags: dict[str, list[str]]) -> pd.DataFrame:
    """Risk 0.9 on the listed days of each feature, 0.1 elsewhere, over 30 days."""
    rows = [
        {"feature_id": fid, "date": day, "probability": 0.9 if day.strftime("%Y-%m-%d") in days else 0.1}
        for fid, days in flags.items() for day in DAYS
    ]
    return pd.DataFrame(rows)


def _incidents(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["feature_id", "start", "end", "kind"]).assign(precursor_days=[3] * len(rows))


def test_lead_time_counts_the_earliest_flag_within_the_horizon() -> None:
    predictions = _predictions({
        "a": ["2026-03-10", "2026-03-13", "2026-03-14"],  # 2026-03-10 is 6 days early: outside a 5-day horizon
        "b": ["2026-03-20", "2026-03-21"],  # flags only after the onset
    })
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"), ("b", "2026-03-20", "2026-03-22", "spike"))
    out = earlywarning.incident_warnings(predictions, incidents, threshold=0.5, horizon_days=5).set_index("feature_id")
    assert out.loc["a", "lead_days"] == 3 and out.loc["a", "warned_3d"] and out.loc["a", "warned_1d"]
    assert math.isnan(out.loc["b", "lead_days"]) and not out.loc["b", "warned_1d"]



def test_a_flag_on_a_day_already_degraded_is_no_warning() -> None:
    # Persistence flags a degraded day too; only a flag while the feature is still healthy warns.
    predictions = _predictions({"a": ["2026-03-13", "2026-03-15"], "b": ["2026-03-15"]})
    degraded = predictions["date"].eq(pd.Timestamp("2026-03-15")) | predictions["date"].ge(pd.Timestamp("2026-03-16"))
    predictions = predictions.assign(is_degraded=degraded.astype(int))
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"), ("b", "2026-03-16", "2026-03-17", "spike"))
    out = earlywarning.incident_warnings(predictions, incidents, threshold=0.5, horizon_days=5).set_index("feature_id")
    assert out.loc["a", "lead_days"] == 3  # 03-13, healthy; 03-15 was degraded
    assert math.isnan(out.loc["b", "lead_days"]) and not out.loc["b", "warned_1d"]
    without = earlywarning.incident_warnings(predictions.drop(columns="is_degraded"), incidents, threshold=0.5,
                                             horizon_days=5).set_index("feature_id")
    assert without.loc["b", "lead_days"] == 1  # unknown health: every flag counts

def test_incidents_without_a_whole_warning_window_are_not_judged() -> None:
    predictions = _predictions({"a": ["2026-03-02"]})
    incidents = _incidents(("a", "2026-03-03", "2026-03-04", "early"), ("a", "2026-04-15", "2026-04-16", "late"))
    assert earlywarning.incident_warnings(predictions, incidents, threshold=0.5, horizon_days=5).empty


def _partly_scored() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions of a (scored from 03-12, launched then), b (no score on 03-18) and c (every day),
    never flagged, and one incident each after those days, plus one on c too early in the period."""
    full = _predictions({"a": [], "b": [], "c": []})
    scored = full[~(((full["feature_id"] == "a") & (full["date"] < "2026-03-12"))
                    | ((full["feature_id"] == "b") & (full["date"] == "2026-03-18")))].reset_index(drop=True)
    incidents = _incidents(("a", "2026-03-14", "2026-03-15", "creep"), ("b", "2026-03-20", "2026-03-21", "creep"),
                           ("c", "2026-03-20", "2026-03-21", "spike"), ("c", "2026-03-03", "2026-03-04", "spike"))
    return scored, incidents


def test_incidents_whose_feature_lacks_scores_in_their_window_are_left_out_and_counted() -> None:
    # a's window (03-09..03-13) starts before a was scored and b's misses 03-18: unscored days
    # are no evidence of a missed warning, so only c's 03-20 incident is judged (not warned).
    predictions, incidents = _partly_scored()
    table = earlywarning.incident_warnings(predictions, incidents, threshold=0.5, horizon_days=5)
    assert table[["feature_id", "start"]].astype(str).values.tolist() == [["c", "2026-03-20"]]
    summary, _ = earlywarning.evaluate_early_warning(predictions, incidents, threshold=0.5, horizon_days=5)
    assert summary["n_incidents"] == 1 and summary["share_warned_1d"] == 0.0
    assert summary["n_incidents_not_judged"] == 3
    assert summary["not_judged"] == {"window_before_period": 1, "feature_not_scored_whole_window": 2}
    creep = summary["by_kind"]["creep"]  # both left out: the kind still shows, with 0 judged
    assert creep["n_incidents"] == 0 and creep["n_incidents_not_judged"] == 2
    shown = earlywarning.summary_table(summary)
    assert shown.loc["all", "n_incidents_not_judged"] == 3 and shown.loc["spike", "n_incidents_not_judged"] == 1


def test_note_says_why_no_incident_was_judged() -> None:
    predictions = _predictions({"a": ["2026-03-14"]})
    elsewhere = _incidents(("a", "2026-05-16", "2026-05-17", "creep"))  # after the period: none starts in it
    summary, _ = earlywarning.evaluate_early_warning(predictions, elsewhere, threshold=0.5, horizon_days=5)
    assert summary["n_incidents"] == 0 and summary["n_incidents_not_judged"] == 0
    assert summary["note"] == "no incident starts in the period"
    summary, _ = earlywarning.evaluate_early_warning(predictions, elsewhere.iloc[0:0], threshold=0.5, horizon_days=5)
    assert summary["note"] == "no incident starts in the period"
    too_early = _incidents(("a", "2026-03-03", "2026-03-04", "creep"))  # its warning window begins before the scores
    summary, _ = earlywarning.evaluate_early_warning(predictions, too_early, threshold=0.5, horizon_days=5)
    assert summary["n_incidents_not_judged"] == 1
    assert summary["note"] == "no incident has a score of its feature on every day of its warning window in the period"


def test_false_alerts_are_alerts_with_no_incident_soon_after() -> None:
    predictions = _predictions({"a": ["2026-03-05", "2026-03-06", "2026-03-20"], "b": ["2026-03-10"]})
    incidents = _incidents(("a", "2026-03-09", "2026-03-10", "creep"))
    out = earlywarning.false_alerts(predictions, incidents, threshold=0.5, horizon_days=3)
    # a's first run (05-06) precedes the incident by 3 days: true. a on 03-20 and b: false.
    assert out["n_alerts"] == 3 and out["n_false_alerts"] == 2
    assert out["false_alerts_per_feature_month"] == pytest.approx(2 / (60 / 30))
    assert out["flagged_share"] == pytest.approx(4 / 60)


def test_summary_reports_per_kind_and_not_available_without_truth() -> None:
    predictions = _predictions({"a": ["2026-03-14"], "b": []})
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"), ("b", "2026-03-20", "2026-03-22", "spike"))
    summary, table = earlywarning.evaluate_early_warning(predictions, incidents, threshold=0.5, horizon_days=5)
    assert summary["n_incidents"] == 2 and summary["share_warned_1d"] == 0.5 and summary["share_warned_3d"] == 0.0
    assert summary["median_lead_days"] == 2.0
    assert summary["by_kind"]["spike"]["share_warned_1d"] == 0.0 and summary["by_kind"]["creep"]["n_incidents"] == 1
    assert len(table) == 2 and summary["lead_times_days"] == [2] and summary["incidents_detected"] == 1
    shown = earlywarning.summary_table(summary)
    assert shown.index.tolist() == ["all", "creep", "spike"] and shown.loc["spike", "share_warned_1d"] == 0.0
    assert shown.loc["all", "n_alerts"] == 1 and shown["n_alerts"].isna().sum() == 2
    assert str(shown["n_incidents"].dtype) == "Int64" and shown["share_warned_1d"].dtype == "float64"
    counts = shown[["n_incidents", "incidents_detected", "n_alerts"]].to_string()
    assert ".0" not in counts and "<NA>" in counts  # 2, not 2.0; no count for a kind stays missing
    absent, none = earlywarning.evaluate_early_warning(predictions, None, threshold=0.5, horizon_days=5)
    assert absent == {"available": False, "reason": "no ground-truth incidents for this data"} and none is None
    assert earlywarning.summary_table(absent).index.tolist() == ["not available"]
    # Read across, the 15 figures wrapped into blocks full of NaN and <NA> for kinds they do not apply to.
    view = earlywarning.summary_view(summary)
    assert view.columns.tolist() == ["all", "creep", "spike"] and view.index[0] == "n_incidents"
    assert view.loc["n_alerts"].tolist() == ["1", "", ""] and view.loc["share_warned_1d", "all"] == "0.5"
    assert earlywarning.summary_view(absent).index.tolist() == ["not available"]


def test_chance_is_judged_on_days_not_yet_degraded() -> None:
    predictions = _predictions({"a": ["2026-03-16", "2026-03-17"], "b": []})
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"))
    degraded = (predictions["feature_id"] == "a") & predictions["date"].between("2026-03-16", "2026-03-17")
    summary, _ = earlywarning.evaluate_early_warning(
        predictions.assign(is_degraded=degraded.astype(float)), incidents, threshold=0.5, horizon_days=5
    )
    # Both flags fall on degraded days: they warn of nothing, and chance is what flagging no healthy day gives.
    assert summary["flagged_share"] == pytest.approx(2 / 60) and summary["flagged_share_not_degraded"] == 0.0
    assert summary["chance_share_warned_1d"] == 0.0 == summary["share_warned_1d"]


def test_chance_counts_only_the_healthy_days_of_each_warning_window() -> None:
    # a is degraded on 03-13 and 03-14, inside its warning window: a random flag there would warn of
    # nothing, as the model's would not, so chance has 3 days (03-11, 03-12, 03-15) to hit, not 5.
    predictions = _predictions({"a": [], "b": ["2026-03-05"]})
    degraded = (predictions["feature_id"] == "a") & predictions["date"].isin(
        pd.to_datetime(["2026-03-13", "2026-03-14", "2026-03-16", "2026-03-17"]))
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"))
    summary, _ = earlywarning.evaluate_early_warning(
        predictions.assign(is_degraded=degraded.astype(float)), incidents, threshold=0.5, horizon_days=5
    )
    share = summary["flagged_share_not_degraded"]
    assert share == pytest.approx(1 / 56)
    assert summary["chance_share_warned_1d"] == pytest.approx(1 - (1 - share) ** 3)
    assert summary["chance_share_warned_3d"] == pytest.approx(1 - (1 - share) ** 2)  # 03-11, 03-12


def _with_rule_scores(predictions: pd.DataFrame, peaks: dict[tuple[str, str], float]) -> pd.DataFrame:
    """Healthy days throughout; the z-score rule's score 0.1 but on the listed (feature, day)s."""
    keys = list(zip(predictions["feature_id"], predictions["date"].dt.strftime("%Y-%m-%d"), strict=True))
    return predictions.assign(rule_score=[peaks.get(key, 0.1) for key in keys], is_degraded=0)


def test_the_rule_flags_as_many_healthy_days_as_the_model_and_is_judged_alike() -> None:
    # The model flags 2 of 60 healthy days; the rule's 2 highest: a's 03-13 (warns of a's incident
    # 3 days ahead) and b's 03-05 (a false alert). Its 0.7 on a's 03-01 stays below the cut.
    predictions = _with_rule_scores(_predictions({"a": ["2026-03-14"], "b": ["2026-03-20"]}),
                                    {("a", "2026-03-13"): 0.9, ("b", "2026-03-05"): 0.8, ("a", "2026-03-01"): 0.7})
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"))
    rule = earlywarning.rule_at_model_load(predictions, incidents, flagged_share=2 / 60, horizon_days=5)
    assert rule["threshold"] == 0.8 and rule["flagged_share_not_degraded"] == pytest.approx(2 / 60)
    assert rule["incidents_detected"] == 1 and rule["median_lead_days"] == 3 and rule["by_kind"] == {"creep": 1}
    assert rule["false_alerts_per_feature_month"] == pytest.approx(1 / 2)  # one false alert in 60 feature-days
    summary, _ = earlywarning.evaluate_early_warning(predictions, incidents, threshold=0.5, horizon_days=5)
    assert summary["rule_at_model_load"] == rule  # the model's own load: 2 of 60 healthy days
    text = earlywarning.rule_at_load_text(summary)
    assert text.startswith("At the model's alert load (3.3% of healthy feature-days flagged) the z-score rule warns of "
                           "1 of 1 incidents a day or more ahead, with 0.5 false alerts per feature-month (the model: 1,")
    assert text.endswith("persistence flags only days already degraded, so it warns of none.")


def test_the_rules_cut_ranks_healthy_days_only_at_the_models_share() -> None:
    # 58 healthy days scored 0..57 and two degraded days scored above them all; the model flags 31 of
    # its 58 healthy days, a share whose product with 58 falls short of 31 in floating point.
    predictions = _predictions({"a": [], "b": []})
    degraded = predictions["feature_id"].eq("a") & predictions["date"].isin(pd.to_datetime(["2026-03-16", "2026-03-17"]))
    healthy_scores = iter(range(58))
    predictions = predictions.assign(is_degraded=degraded.astype(int),
                                     rule_score=[99.0 if d else float(next(healthy_scores)) for d in degraded])
    rule = earlywarning.rule_at_model_load(predictions, _incidents(), flagged_share=31 / 58, horizon_days=5)
    assert rule["threshold"] == 27.0  # the 31st highest healthy score; the degraded days' 99 are no cut


def test_the_rules_warnings_per_kind_count_those_a_day_ahead() -> None:
    predictions = _with_rule_scores(_predictions({"a": []}), {("a", "2026-03-15"): 0.9})
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"))
    rule = earlywarning.rule_at_model_load(predictions, incidents, flagged_share=1 / 30, horizon_days=5)
    assert rule["by_kind"] == {"creep": 1}  # warned one day ahead, not three


def test_the_rule_at_no_load_flags_nothing_and_needs_its_scores() -> None:
    predictions = _with_rule_scores(_predictions({"a": []}), {("a", "2026-03-13"): 0.9})
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"))
    rule = earlywarning.rule_at_model_load(predictions, incidents, flagged_share=0.0, horizon_days=5)
    assert rule["threshold"] is None and rule["incidents_detected"] == 0 and rule["flagged_share_not_degraded"] == 0
    with pytest.raises(ValueError, match="predictions lack rule_score, which the z-score rule"):
        earlywarning.rule_at_model_load(predictions.drop(columns="rule_score"), incidents, flagged_share=0.1,
                                        horizon_days=5)
    with pytest.raises(ValueError, match=r"flagged_share must be in \[0, 1\], got 2"):
        earlywarning.rule_at_model_load(predictions, incidents, flagged_share=2, horizon_days=5)
    # Without the rule's scores (a model trained before they were compared) the figure is not available.
    summary, _ = earlywarning.evaluate_early_warning(predictions.drop(columns="rule_score"), incidents, threshold=0.5,
                                                     horizon_days=5)
    assert "rule_at_model_load" not in summary
    assert "not available (the model in use was trained before" in earlywarning.rule_at_load_text(summary)
    assert earlywarning.rule_at_load_text({"available": False, "reason": "no ground truth"}) is None


def test_rejects_missing_columns_and_bad_horizon() -> None:
    predictions = _predictions({"a": []})
    with pytest.raises(ValueError, match=r"^Missing columns probability: predictions need "):
        earlywarning.incident_warnings(
            predictions.drop(columns="probability"), _incidents(), threshold=0.5, horizon_days=3
        )
    with pytest.raises(ValueError, match="horizon_days"):
        earlywarning.false_alerts(predictions, _incidents(), threshold=0.5, horizon_days=0)


def test_tradeoff_warns_more_and_flags_more_as_the_threshold_falls() -> None:
    predictions = _predictions({"a": ["2026-03-14"], "b": []})
    predictions.loc[(predictions["feature_id"] == "b") & (predictions["date"] == "2026-03-17"), "probability"] = 0.4
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"), ("b", "2026-03-20", "2026-03-22", "spike"))
    out = earlywarning.tradeoff_table(
        earlywarning.tradeoff_rows(predictions, incidents, thresholds=[0.5, 0.3], horizon_days=5)
    )
    assert out.index.tolist() == [0.5, 0.3]
    assert out.loc[0.5, "share_warned_1d"] == 0.5 and out.loc[0.3, "share_warned_1d"] == 1.0
    assert out.loc[0.3, "flagged_share"] > out.loc[0.5, "flagged_share"]


def test_summary_stores_the_tradeoff_with_the_operating_threshold_row_matching_it() -> None:
    predictions = _predictions({"a": ["2026-03-14"], "b": []})
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"), ("b", "2026-03-20", "2026-03-22", "spike"))
    summary, _ = earlywarning.evaluate_early_warning(predictions, incidents, threshold=0.45, horizon_days=5)
    table = earlywarning.tradeoff_table(summary["tradeoff"])
    assert table.index.tolist() == [0.1, 0.2, 0.3, 0.45, 0.5]
    assert table.loc[0.45, "share_warned_1d"] == summary["share_warned_1d"] == 0.5
    assert table.loc[0.45, "flagged_share"] == summary["flagged_share"]
    # JSON-ready: plain floats or None, never NaN.
    assert all(v is None or v == v for row in summary["tradeoff"] for v in row.values())


def test_tradeoff_view_rounds_the_thresholds_and_marks_the_operating_one() -> None:
    rows = [{"threshold": t, "share_warned_1d": share, "flagged_share": 0.123456}
            for t, share in ((0.1, 0.9), (0.24921019230059027, 0.5), (0.3, 0.4))]
    view = earlywarning.tradeoff_view(rows, operating_threshold=0.24921019230059027)
    assert view.index.tolist() == ["0.1", "0.249 (operating)", "0.3"]
    assert view.index.name == "threshold" and view.loc["0.249 (operating)", "share_warned_1d"] == "0.5"
    assert view["flagged_share"].tolist() == ["0.123"] * 3
    # An operating threshold among the fixed ones is marked there, not added.
    assert earlywarning.tradeoff_view(rows, operating_threshold=0.3).index.tolist()[-1] == "0.3 (operating)"
    # A fixed threshold that only rounds like the operating one is not marked.
    near = [{"threshold": t, "share_warned_1d": 0.5} for t in (0.1, 0.1004)]
    assert earlywarning.tradeoff_view(near, operating_threshold=0.1004).index.tolist() == ["0.1", "0.1 (operating)"]
    # No incident warned at a threshold: its median lead is blank, as in the summary, not NaN.
    unwarned = [{"threshold": 0.5, "share_warned_1d": 0.0, "median_lead_days": None}]
    assert earlywarning.tradeoff_view(unwarned, operating_threshold=0.3).loc["0.5", "median_lead_days"] == ""


def test_chance_share_warned_matches_random_flags() -> None:
    assert earlywarning.chance_share_warned(0.1, window_days=[7]) == pytest.approx(1 - 0.9**7)
    assert earlywarning.chance_share_warned(0.1, window_days=[7, 5]) == pytest.approx(1 - (0.9**7 + 0.9**5) / 2)
    assert earlywarning.chance_share_warned(0.0, window_days=[7]) == 0.0
    assert earlywarning.chance_share_warned(0.1, window_days=[]) is None  # no incident judged
    with pytest.raises(ValueError, match="flagged_share must be in"):
        earlywarning.chance_share_warned(1.5, window_days=[7])


def test_chance_window_days_without_health_counts_every_day_far_enough_ahead() -> None:
    predictions = _predictions({"a": []})
    warnings = earlywarning.incident_warnings(predictions, _incidents(("a", "2026-03-16", "2026-03-17", "creep")),
                                              threshold=0.5, horizon_days=5)
    assert earlywarning.chance_window_days(predictions, warnings, lead_days=3, horizon_days=5).tolist() == [3]


def test_ceiling_knows_precursor_and_incident_days_only() -> None:
    predictions = _predictions({"a": []})
    incidents = _incidents(("a", "2026-03-16", "2026-03-18", "creep"))  # precursor 03-13..03-15
    # Target with a 5-day horizon: 03-11..03-17 are positive; 03-11 and 03-12 precede the precursor.
    target = predictions["date"].between("2026-03-11", "2026-03-17")
    ceiling = earlywarning.signal_ceiling(predictions.assign(y_true=target.astype(float)), incidents)
    assert ceiling["share_of_positives_visible"] == pytest.approx(5 / 7)  # 03-13..03-17
    assert ceiling["roc_auc"] == pytest.approx((5 / 7 + 1) / 2)
    assert not earlywarning.signal_ceiling(predictions.assign(y_true=1.0), incidents)["available"]
    assert not earlywarning.signal_ceiling(
        predictions.assign(y_true=target.astype(float)), incidents.drop(columns="precursor_days")
    )["available"]


def test_ceiling_breaks_the_model_down_by_type_of_positive_row() -> None:
    # Shuffled, with a non-default index: rows are matched by label, not position.
    predictions = _predictions({"a": ["2026-03-14"]}).sample(frac=1.0, random_state=0).set_axis(range(100, 130))
    incidents = _incidents(("a", "2026-03-16", "2026-03-18", "creep"))  # precursor 03-13..03-15
    target = predictions["date"].between("2026-03-11", "2026-03-17").astype(float)
    ceiling = earlywarning.signal_ceiling(predictions.assign(y_true=target), incidents)
    by_type = ceiling["by_positive_type"]
    # Every score is 0.1 (a tie with every negative: 0.5) except the precursor day 03-14 (0.9: 1.0).
    assert by_type == {
        "incident_ongoing": {"n_rows": 2, "share_of_positives": pytest.approx(2 / 7), "model_roc_auc": 0.5},
        "nothing_visible": {"n_rows": 2, "share_of_positives": pytest.approx(2 / 7), "model_roc_auc": 0.5},
        "precursor:creep": {"n_rows": 3, "share_of_positives": pytest.approx(3 / 7), "model_roc_auc": pytest.approx(2 / 3)},
    }
    assert ceiling["model_roc_auc_perfect_precursors"] == pytest.approx((3 * 1.0 + 4 * 0.5) / 7)
    without_scores = earlywarning.signal_ceiling(predictions.drop(columns="probability").assign(y_true=target), incidents)
    assert without_scores["available"] and "by_positive_type" not in without_scores
    table = earlywarning.ceiling_table({"ceiling": ceiling})
    assert table.index.tolist() == ["incident_ongoing", "nothing_visible", "precursor:creep"]
    assert earlywarning.ceiling_table({"ceiling": without_scores}).index.tolist() == ["not available"]


def test_ceiling_summary_puts_the_model_beside_the_ceiling_and_says_when_there_is_none() -> None:
    ceiling = {"available": True, "roc_auc": 0.8581, "model_roc_auc_perfect_precursors": 0.89512,
               "by_positive_type": {"nothing_visible": {"n_rows": 19}}}
    # The model's figures first, named as the model's: "ceiling model_roc_auc_perfect_precursors" read
    # as a second ceiling, above the first.
    shown = earlywarning.ceiling_summary({"ceiling": ceiling}, model_roc_auc=0.77912)
    assert shown.index.tolist() == ["model roc_auc", "model roc_auc_perfect_precursors", "ceiling roc_auc"]
    assert shown.tolist() == ["0.779", "0.895", "0.858"]
    # Real telemetry has no ground truth: the notebook printed the model's ROC-AUC alone, unexplained.
    unavailable = {"available": False, "reason": "no ground-truth incidents"}
    assert earlywarning.ceiling_summary(unavailable, model_roc_auc=0.7).to_dict() == {
        "model roc_auc": "0.7", "ceiling": "not available: no ground-truth incidents"}


def test_ceiling_note_explains_a_model_figure_above_the_ceiling() -> None:
    # On ci the model's ROC-AUC with perfect precursors read 0.895 above the ceiling 0.858, unexplained.
    ceiling = {"available": True, "roc_auc": 0.8581, "model_roc_auc_perfect_precursors": 0.89512,
               "by_positive_type": {"nothing_visible": {"n_rows": 19, "model_roc_auc": 0.6604}}}
    note = earlywarning.ceiling_note({"ceiling": ceiling}, model_roc_auc=0.77912)
    assert note is not None
    assert "0.895" in note and "0.858" in note and "19 positive rows with nothing visible" in note and "0.66" in note
    assert "0.779" not in note  # the model's own ROC-AUC is below the ceiling: not named
    below = {**ceiling, "model_roc_auc_perfect_precursors": 0.845}
    assert earlywarning.ceiling_note({"ceiling": below}, model_roc_auc=0.767) is None
    assert earlywarning.ceiling_note({"ceiling": below}, model_roc_auc=0.8581) is None  # at the ceiling, not above
    assert earlywarning.ceiling_note({"available": False, "reason": "no truth"}, model_roc_auc=0.9) is None


def _signal_rows(peaks: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Evidence 0 on every day of features a and b (noise 0..1 on ordinary days), with given peaks."""
    rows = []
    for i, day in enumerate(DAYS):
        for fid in ("a", "b"):
            row = {"feature_id": fid, "date": day, "degraded_today": 0.0, "worst_shift_z": 0.0,
                   **{column: (i % 10) / 10 for column in earlywarning.PRECURSOR_EVIDENCE.values()}}
            row.update(peaks.get(f"{fid} {day:%Y-%m-%d}", {}))
            rows.append(row)
    return pd.DataFrame(rows)


def test_visibility_counts_precursors_above_the_noise_of_ordinary_days() -> None:
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "latency_creep"),
                           ("b", "2026-03-20", "2026-03-22", "latency_creep"),
                           ("b", "2026-03-10", "2026-03-11", "crash_spike_rollout"),
                           ("b", "2026-03-04", "2026-03-05", "latency_creep"))
    # a's precursor (03-13..03-15) peaks far above ordinary days; b's latency and crash precursors do not.
    # b's first incident starts before a whole 5-day warning window fits: not judged, as for the warnings.
    signal_rows = _signal_rows({"a 2026-03-14": {"latency_evidence": 5.0}, "b 2026-03-02": {"latency_evidence": 9.0}})
    summary = earlywarning.precursor_visibility(signal_rows, incidents, horizon_days=5)
    assert summary["available"] and summary["by_kind"]["latency_creep"]["n_with_precursor"] == 2
    assert summary["by_kind"]["latency_creep"]["visible_q99"] == 0.5
    assert summary["by_kind"]["crash_spike_rollout"] == {
        "evidence": "crash_evidence", "n_with_precursor": 1, "visible_q95": 0.0, "visible_q99": 0.0,
    }
    table = earlywarning.visibility_table({"precursor_visibility": summary})
    assert table.index.tolist() == ["crash_spike_rollout", "latency_creep"]


def test_visibility_judges_the_incidents_the_warnings_judge() -> None:
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "latency_creep"),
                           ("b", "2026-03-20", "2026-03-22", "latency_creep"))
    rows = _signal_rows({})
    # b has no signal row on 03-17, inside its 5-day warning window: not judged.
    gap = rows[~((rows["feature_id"] == "b") & (rows["date"] == "2026-03-17"))]
    assert earlywarning.precursor_visibility(gap, incidents, horizon_days=5)["by_kind"]["latency_creep"][
        "n_with_precursor"] == 1


def test_visibility_needs_precursor_days_and_evidence_signals() -> None:
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "latency_creep"))
    assert not earlywarning.precursor_visibility(
        _signal_rows({}), incidents.drop(columns="precursor_days"), horizon_days=5)["available"]
    assert not earlywarning.precursor_visibility(
        _signal_rows({}).drop(columns="crash_evidence"), incidents, horizon_days=5)["available"]
    assert earlywarning.visibility_table({"available": False, "reason": "no truth"}).index.tolist() == ["not available"]


def test_visibility_without_ordinary_days_is_not_available_rather_than_zero() -> None:
    # Every day degraded: no ordinary day gives the noise level, and 0 % "visible" read as measured.
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "latency_creep"))
    rows = _signal_rows({"a 2026-03-14": {"latency_evidence": 5.0}}).assign(degraded_today=1.0)
    summary = earlywarning.precursor_visibility(rows, incidents, horizon_days=5)
    assert not summary["available"] and "ordinary" in summary["reason"]
    assert earlywarning.visibility_table({"precursor_visibility": summary}).index.tolist() == ["not available"]


def test_visibility_of_evidence_the_input_never_feeds_is_none() -> None:
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "latency_creep"))
    rows = _signal_rows({}).assign(latency_evidence=float("nan"))
    entry = earlywarning.precursor_visibility(rows, incidents, horizon_days=5)["by_kind"]["latency_creep"]
    assert entry["visible_q95"] is None and entry["visible_q99"] is None


def test_tradeoff_operating_row_is_computed_at_the_exact_threshold() -> None:
    # A score just above the operating threshold but below its 3-decimal rounding must count in
    # the trade-off row of the operating threshold as it does in the headline figures.
    predictions = _predictions({"a": ["2026-03-14"], "b": []})
    predictions.loc[(predictions["feature_id"] == "b") & (predictions["date"] == "2026-03-17"), "probability"] = 0.4998
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"), ("b", "2026-03-20", "2026-03-22", "spike"))
    summary, _ = earlywarning.evaluate_early_warning(predictions, incidents, threshold=0.4996, horizon_days=5)
    operating = [row for row in summary["tradeoff"] if row["threshold"] == summary["threshold"]]
    assert len(operating) == 1
    for key in earlywarning.TRADEOFF_COLUMNS:
        assert operating[0][key] == summary.get(key)


def test_warning_boundaries_threshold_and_horizon_are_inclusive() -> None:
    # a: flagged exactly horizon days before its onset; b: a risk exactly at the threshold;
    # c: an onset whose warning window starts on the first scored day, so it is judged.
    predictions = _predictions({"a": ["2026-03-11"], "b": [], "c": []})
    at_threshold = (predictions["feature_id"] == "b") & (predictions["date"] == "2026-03-18")
    predictions.loc[at_threshold, "probability"] = 0.5
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"), ("b", "2026-03-20", "2026-03-21", "creep"),
                           ("c", "2026-03-06", "2026-03-07", "creep"))
    out = earlywarning.incident_warnings(predictions, incidents, threshold=0.5, horizon_days=5).set_index("feature_id")
    assert out.loc["a", "lead_days"] == 5 and out.loc["b", "lead_days"] == 2
    assert "c" in out.index and math.isnan(out.loc["c", "lead_days"])
    alerts = earlywarning.false_alerts(predictions, incidents, threshold=0.5, horizon_days=5)
    assert alerts["n_alerts"] == 2 and alerts["flagged_share"] == pytest.approx(2 / 90)


def test_alerts_are_runs_of_one_feature_and_true_during_an_incident() -> None:
    # a: two runs split by an unflagged day; b's run begins the day after a's second: its own alert;
    # c's alert starts on its incident's last day: under way, so true.
    predictions = _predictions({"a": ["2026-03-05", "2026-03-07"], "b": ["2026-03-08"], "c": ["2026-03-17"]})
    incidents = _incidents(("c", "2026-03-15", "2026-03-17", "spike"))
    out = earlywarning.false_alerts(predictions, incidents, threshold=0.5, horizon_days=3)
    assert out["n_alerts"] == 4 and out["n_false_alerts"] == 3


def test_summary_takes_the_median_lead_and_counts_only_incidents_with_a_precursor() -> None:
    predictions = _predictions({"a": ["2026-03-15"], "b": ["2026-03-14"], "c": ["2026-03-11"]})
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "creep"), ("b", "2026-03-16", "2026-03-17", "creep"),
                           ("c", "2026-03-16", "2026-03-17", "creep")).assign(precursor_days=[3, 0, 3])
    summary, _ = earlywarning.evaluate_early_warning(predictions, incidents, threshold=0.5, horizon_days=5)
    assert summary["lead_times_days"] == [1, 2, 5] and summary["median_lead_days"] == 2.0
    assert summary["n_with_precursor"] == 2 and summary["share_warned_1d_with_precursor"] == 1.0


def test_visibility_compares_with_healthy_ordinary_days_and_counts_reaching_the_percentile() -> None:
    incidents = _incidents(("a", "2026-03-16", "2026-03-17", "latency_creep"))  # precursor 03-13..03-15
    rows = _signal_rows({"a 2026-03-14": {"latency_evidence": 0.9}})  # the largest ordinary value
    # b is degraded (and far above) on 20 days: not ordinary days, so they set no limit.
    sick = (rows["feature_id"] == "b") & rows["date"].between("2026-03-02", "2026-03-21")
    rows.loc[sick, ["degraded_today", "latency_evidence"]] = [1.0, 10.0]
    entry = earlywarning.precursor_visibility(rows, incidents, horizon_days=5)["by_kind"]["latency_creep"]
    assert entry["visible_q99"] == 1.0


def test_without_a_scored_row_no_incident_lies_in_the_period() -> None:
    # Rows without a probability are not scored: with none scored there is no period to judge in.
    unscored = _predictions({"a": []}).assign(probability=float("nan"))
    inside = _incidents(("a", "2026-03-16", "2026-03-17", "creep"))
    summary, warnings = earlywarning.evaluate_early_warning(unscored, inside, threshold=0.5, horizon_days=5)
    assert warnings.empty and summary["n_incidents_not_judged"] == 0
    assert summary["note"] == "no incident starts in the period"
