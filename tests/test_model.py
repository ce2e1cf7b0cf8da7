"""Time split, training, calibration, metrics beside baselines, contributions, scoring, ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from featurehealth import config, model, signals

PROFILE = config.load_profile("default")
PARAMS = {
    **PROFILE["model"], "n_estimators": 25, "min_samples_leaf": 3, "max_samples": 0.5, "n_jobs": 1,
    "permutation_repeats": 1, "permutation_max_rows": 400,
}


def _fact(n_features: int = 6, n_days: int = 150) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features whose p95 latency creeps up for 4 days before each 3-day degradation."""
    rng = np.random.default_rng(11)
    rows, incidents = [], []
    for f in range(n_features):
        ramp = np.ones(n_days)
        degraded = np.zeros(n_days, dtype=bool)
        for start in range(30 + 4 * f, n_days - 4, 29):
            ramp[start - 4:start] = [1.15, 1.3, 1.45, 1.6]
            ramp[start:start + 3] = 2.2
            degraded[start:start + 3] = True
            incidents.append({"feature_id": f"f{f}", "start": pd.Timestamp("2026-01-01") + pd.Timedelta(days=start),
                              "end": pd.Timestamp("2026-01-01") + pd.Timedelta(days=start + 2), "kind": "creep"})
        for d in range(n_days):
            p95 = 500 * ramp[d] * rng.lognormal(0, 0.05)
            rows.append({
                "feature_id": f"f{f}", "date": (pd.Timestamp("2026-01-01") + pd.Timedelta(days=d)).date(),
                "usage_count": 300, "active_users": 100 + 10 * f, "avg_latency": p95 / 2, "p50_latency": p95 / 3,
                "p95_latency": p95, "p99_latency": p95 * 1.3, "crash_count": 3, "crash_rate": 0.01,
                "avg_feedback": 4.0, "feedback_count": 20, "is_degraded": bool(degraded[d]),
            })
    return pd.DataFrame(rows), pd.DataFrame(incidents)


@pytest.fixture(scope="module")
def trained() -> tuple[pd.DataFrame, pd.DataFrame, model.TrainingReport]:
    fact, incidents = _fact()
    frame = signals.build_signals(fact, degradation=PROFILE["degradation"])
    dataset = model.labelled_dataset(frame, signals.build_target(fact, horizon_days=PARAMS["horizon_days"]))
    return fact, dataset, model.train_and_evaluate(dataset, incidents, params=PARAMS)


def test_time_split_keeps_a_gap_of_the_horizon() -> None:
    dates = pd.Series(pd.date_range("2026-01-01", periods=100, freq="D"))
    split = model.time_split(dates, horizon_days=7, test_share=0.3)
    assert split.test_start == pd.Timestamp("2026-03-12") and split.test_end == pd.Timestamp("2026-04-10")
    assert split.train_end == pd.Timestamp("2026-03-04")  # 7 days strictly between train and test
    assert split.as_dict()["train_start"] == "2026-01-01"


@pytest.mark.parametrize(("n_days", "share", "n_test"), [(100, 0.07, 7), (50, 0.14, 7), (25, 0.28, 7), (100, 0.075, 8)])
def test_time_split_holds_out_the_share_of_days_not_a_day_more_from_float_rounding(
    n_days: int, share: float, n_test: int
) -> None:
    # 100 * 0.07 is 7.000000000000001 in binary floats, whose ceiling held out 8 days.
    dates = pd.Series(pd.date_range("2026-01-01", periods=n_days, freq="D"))
    split = model.time_split(dates, horizon_days=1, test_share=share)
    assert (split.test_end - split.test_start).days + 1 == n_test


def test_time_split_rejects_impossible_requests() -> None:
    dates = pd.Series(pd.date_range("2026-01-01", periods=10, freq="D"))
    with pytest.raises(ValueError, match="test_share") as raised:
        model.time_split(dates, horizon_days=1, test_share=1.0)
    # No amount of data fixes a share of 1: a fault of the settings, which fails the run.
    assert not isinstance(raised.value, model.NotTrainableYetError)
    # The gap is the horizon: a horizon too long for the data is named as a way out, with the test share.
    with pytest.raises(model.NotTrainableYetError, match=(
        r"^The risk model cannot be trained: no training day is left: 10 labelled days, 5 for test \(model\.test_share "
        r"0\.5\) and a gap of 7 days \(model\.horizon_days\); use more days of data, a smaller model\.test_share or a "
        r"shorter model\.horizon_days\.$"
    )):
        model.time_split(dates, horizon_days=7, test_share=0.5)
    with pytest.raises(model.NotTrainableYetError, match="no day has a known target yet"):
        model.time_split(dates[:0], horizon_days=7, test_share=0.5)


def test_calibration_days_that_cannot_be_split_off_are_not_trainable_yet() -> None:
    # Training days with gaps (days missing from the feed) can still be too few for the calibration split.
    dates = pd.Series(pd.to_datetime(["2026-04-10", "2026-04-11"]))
    with pytest.raises(model.NotTrainableYetError, match=(
        r"^The risk model cannot be trained: the calibration days cannot be split off the 2 training days "
        r"\(2026-04-10\.\.2026-04-11\): their last 0\.25 and a gap of 7 days")):
        model._calibration_split(dates, horizon_days=7, share=0.25)
    with pytest.raises(ValueError, match=r"^model\.calibration_share must be in \(0, 1\), got 1\.5\.$") as raised:
        model._calibration_split(dates, horizon_days=7, share=1.5)
    assert not isinstance(raised.value, model.NotTrainableYetError)


@pytest.mark.parametrize("calibrate", [True, False])
def test_days_of_data_needed_is_the_fewest_days_whose_splits_leave_days_to_fit_on(calibrate: bool) -> None:
    params = {**PARAMS, "calibrate": calibrate}
    needed = model.days_of_data_needed(params)
    assert needed == (33 if calibrate else 19)  # horizon 7, test_share 0.3, calibration_share 0.25

    def splits(n_days: int) -> bool:
        # The last horizon_days days of data have no target: n_days - 7 labelled days.
        labelled = pd.Series(pd.date_range("2026-01-01", periods=max(0, n_days - 7)))
        try:
            split = model.time_split(labelled, horizon_days=7, test_share=0.3)
            if calibrate:
                model._calibration_split(labelled[labelled <= split.train_end], horizon_days=7, share=0.25)
        except model.NotTrainableYetError:
            return False
        return True

    assert [splits(n) for n in range(1, 60)] == [n >= needed for n in range(1, 60)]
    with pytest.raises(ValueError, match=r"^model\.test_share must be in \(0, 1\), got 1\.0\.$"):
        model.days_of_data_needed({**params, "test_share": 1.0})


# 25 days split into test and training days, but their 5 training days are too few for the calibration split.
@pytest.mark.parametrize(("calibrate", "n_days", "needed", "until"), [
    (True, 21, 33, "2026-02-02"), (True, 25, 33, "2026-02-02"), (False, 15, 19, "2026-01-19"),
])
def test_a_new_feed_too_short_to_split_says_how_many_days_it_needs_and_when(
    calibrate: bool, n_days: int, needed: int, until: str
) -> None:
    # A new feed's first weeks failed every run at 03_model; it is a state of the data, not a fault.
    fact, _ = _fact(n_features=2, n_days=n_days)
    frame = signals.build_signals(fact, degradation=PROFILE["degradation"])
    dataset = model.labelled_dataset(frame, signals.build_target(fact, horizon_days=PARAMS["horizon_days"]))
    params = {**PARAMS, "calibrate": calibrate, "operating_threshold": "auto" if calibrate else 0.3}
    held_out = ("the test days (model.test_share 0.3) and calibration days (model.calibration_share 0.25)" if calibrate
                else "the test days (model.test_share 0.3)")
    first_day = "then the one day before its calibration days" if calibrate else "then its one training day"
    with pytest.raises(model.NotTrainableYetError) as raised:
        model.train_model(dataset, params=params)
    assert raised.value.reason == (
        f"it needs {needed} days of data, has {n_days} (2026-01-01..{fact['date'].max()}): a day's target needs the 7 "
        f"days after it (model.horizon_days), and {held_out} are each held out after a gap of as many days; "
        f"a model can be trained at the earliest once the data reaches {until}, and then only if, on its first day "
        f"2026-01-01 ({first_day}), some features are followed by a degraded day within 7 days and some are not; "
        f"later data gives it more days.")


@pytest.mark.parametrize(("calibrate", "needed"), [(True, 33), (False, 19)])
def test_a_new_feed_reaching_the_days_it_needs_fits_on_its_first_day_alone(calibrate: bool, needed: int) -> None:
    # "A model can be trained once the data reaches <day>" was read as a promise; a feed whose first day
    # has no degraded day ahead then got another refusal, which the first message had not announced.
    fact, _ = _fact(n_features=2, n_days=needed)
    frame = signals.build_signals(fact, degradation=PROFILE["degradation"])
    dataset = model.labelled_dataset(frame, signals.build_target(fact, horizon_days=PARAMS["horizon_days"]))
    first = dataset["date"] == dataset["date"].min()
    # Every later day degrades ahead: only the first day's one class can stop the training.
    dataset["target"] = dataset["target"].where(dataset["target"].isna(), 1.0).mask(first, 0.0)
    params = {**PARAMS, "calibrate": calibrate, "operating_threshold": "auto" if calibrate else 0.3}
    with pytest.raises(model.OneClassError, match="from 2026-01-01 to 2026-01-01 degrades within the horizon"):
        model.train_model(dataset, params=params)


def test_a_table_without_a_day_is_not_trainable_yet_and_says_so(trained) -> None:
    _, dataset, _ = trained
    with pytest.raises(model.NotTrainableYetError) as raised:
        model.train_model(dataset.iloc[:0], params=PARAMS)
    assert raised.value.reason.startswith("no day of data yet: it needs 33 days of data")


def test_a_table_too_short_for_any_target_names_its_days(trained) -> None:
    # A first run with a daily run's one-day window: say what the table holds, not just "more data".
    _, dataset, _ = trained
    one_day = dataset[dataset["date"] == dataset["date"].max()].assign(target=np.nan)
    day = pd.Timestamp(one_day["date"].iloc[0]).date()
    with pytest.raises(model.NotTrainableYetError) as raised:
        model.train_model(one_day, params=PARAMS)
    until = (pd.Timestamp(day) + pd.Timedelta(days=32)).date()
    assert raised.value.reason.startswith(f"no day has a known target yet: it needs 33 days of data, has 1 ({day}..{day}): ")
    assert raised.value.reason.endswith(
        f"a model can be trained at the earliest once the data reaches {until}, and then only if, on its first day "
        f"{day} (then the one day before its calibration days), some features are followed by a degraded day within "
        f"7 days and some are not; later data gives it more days (a first run reads the input's whole history when "
        f"ingest.window_start is empty).")


def test_training_never_reads_test_labels(trained) -> None:
    _, _, report = trained
    split = report.result.split
    assert split.train_end + pd.Timedelta(days=PARAMS["horizon_days"]) < split.test_start
    assert report.metrics["split"]["n_test_rows"] == report.metrics["model"]["n_rows"]


def test_model_beats_both_baselines_on_a_learnable_precursor(trained) -> None:
    _, _, report = trained
    metrics = report.metrics
    assert metrics["model"]["roc_auc"] > 0.9
    assert metrics["model"]["pr_auc"] > metrics["baselines"]["persistence"]["pr_auc"] + 0.2
    assert metrics["comparison"]["pr_auc_over_base_rate"] > 2
    assert metrics["early_warning"]["available"] and metrics["early_warning"]["share_warned_1d"] > 0.7


def test_the_rule_baseline_is_described_with_its_limit(trained) -> None:
    # The description is read on the dashboard's Model tab: the limit, not the parameter's name.
    _, _, report = trained
    described = report.metrics["baselines"]["rule"]["description"]
    assert described.endswith(f">= {PARAMS['baseline_rule_z']:g}") and "baseline_rule_z" not in described


def test_importance_ranks_the_precursor_signals_first(trained) -> None:
    _, _, report = trained
    importance = report.importance
    assert importance["rank"].tolist() == list(range(1, len(importance) + 1))
    top = importance.head(5)["signal"].str.contains("latency|degraded").all()
    assert top and importance["impurity_importance"].sum() == pytest.approx(1.0)


def test_training_days_without_a_degradation_are_refused_in_one_sentence() -> None:
    fact, _ = _fact(n_days=60)
    fact = fact.assign(is_degraded=False, p95_latency=500.0)
    frame = signals.build_signals(fact, degradation=PROFILE["degradation"])
    dataset = model.labelled_dataset(frame, signals.build_target(fact, horizon_days=PARAMS["horizon_days"]))
    with pytest.raises(ValueError, match=r"none of its \d+ training feature-days from 2026-01-01 .* degrades within"):
        model.train_model(dataset, params=PARAMS)



def test_a_calm_test_period_gives_metrics_and_importance_not_available(trained) -> None:
    # Own telemetry without a degradation ahead on the test days: AUCs and permutation importance are
    # undefined, so they are missing (the impurity ranks the signals), and the run goes on.
    _, dataset, report = trained
    test_days = dataset["date"] >= report.result.split.test_start
    calm = dataset.assign(target=dataset["target"].mask(test_days & dataset["target"].notna(), 0.0))
    quiet = model.train_and_evaluate(calm, None, params=PARAMS)
    assert quiet.metrics["model"]["pr_auc"] is None and quiet.metrics["comparison"]["pr_auc_over_base_rate"] is None
    importance = quiet.importance
    assert importance["permutation_importance"].isna().all() and importance["rank"].tolist()[:2] == [1, 2]
    assert importance["impurity_importance"].is_monotonic_decreasing

def test_forest_draws_a_share_of_rows_but_never_too_few() -> None:
    params = {**PROFILE["model"], "max_samples": 0.1, "min_rows_per_tree": 2000}
    assert model.make_forest(params, n_rows=100_000).max_samples == 0.1
    assert model.make_forest(params, n_rows=8000).max_samples == 0.25
    assert model.make_forest(params, n_rows=500).max_samples == 1.0
    with pytest.raises(ValueError, match="at least one"):
        model.make_forest(params, n_rows=0)


@pytest.mark.parametrize("batch_columns", [1, 2, 8])
def test_permutation_drops_are_scikit_learn_s_permutation_importances(batch_columns: int) -> None:
    # The shuffles are scored in batches of columns (one prediction per batch, not per shuffle):
    # the drops must stay those of sklearn's permutation_importance, bit for bit, whatever the batch.
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance

    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(300, 5))
    y = (matrix[:, 0] + 0.5 * matrix[:, 3] + rng.normal(size=300) > 0.5).astype("int8")
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(matrix, y)
    expected = permutation_importance(forest, matrix, y, scoring="average_precision", n_repeats=3, random_state=7)
    drops = model.permutation_drops(forest, matrix, y, n_repeats=3, random_state=7, batch_columns=batch_columns)
    np.testing.assert_array_equal(drops, expected.importances)


def test_missing_signals_become_a_sentinel_below_every_value() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": [-5.0, 2.0]})
    matrix = model.signal_matrix(frame, ["b", "a"])
    assert matrix.tolist() == [[-5.0, 1.0], [2.0, model.MISSING]] and model.MISSING < -1e6


def test_a_signal_the_model_needs_and_the_frame_lacks_names_the_input_as_a_cause() -> None:
    # build_signals leaves out signals the input feeds nothing (no metadata file): the error blamed
    # only the model's training, and a run that dropped its metadata file was told just to retrain.
    frame = pd.DataFrame({"a": [1.0]})
    with pytest.raises(ValueError, match=r"\['tier_code'\] are missing.*input no longer feeds them.*metadata file"):
        model.signal_matrix(frame, ["a", "tier_code"])


def test_classification_metrics_known_values() -> None:
    out = model.classification_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]), threshold=0.5)
    assert out["roc_auc"] == 0.75 and out["precision"] == 0.5 and out["recall"] == 0.5
    assert out["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4) and out["base_rate"] == 0.5
    single = model.classification_metrics(np.array([0, 0]), np.array([0.1, 0.2]), threshold=0.5)
    assert single["roc_auc"] is None and single["pr_auc"] is None
    with pytest.raises(ValueError, match="at least one row"):
        model.classification_metrics(np.array([]), np.array([]), threshold=0.5)


def test_classification_metrics_leave_out_what_has_no_denominator() -> None:
    """Precision of no alert, or recall of no degradation, is not 0: a 0 there reads as every alert wrong."""
    none_flagged = model.classification_metrics(np.array([0, 1, 0]), np.array([0.1, 0.2, 0.3]), threshold=0.9)
    assert none_flagged["precision"] is None and none_flagged["recall"] == 0.0 and none_flagged["f1"] == 0.0
    no_positive = model.classification_metrics(np.array([0, 0, 0]), np.array([0.1, 0.95, 0.3]), threshold=0.9)
    assert no_positive["precision"] == 0.0 and no_positive["recall"] is None and no_positive["f1"] == 0.0
    neither = model.classification_metrics(np.array([0, 0]), np.array([0.1, 0.2]), threshold=0.9)
    assert neither["precision"] is None and neither["recall"] is None and neither["f1"] is None


def test_baselines_persistence_and_rule() -> None:
    frame = pd.DataFrame({
        "degraded_today": [1.0, 0.0, np.nan], "p95_latency_z": [0.0, 2.0, np.nan],
        "crash_rate_z": [0.0, 0.0, 5.0], "avg_feedback_z": [-4.0, 0.0, 0.0],
    })
    out = model.baseline_scores(frame, rule_z=2.0)
    assert out["persistence"].tolist() == [1.0, 0.0, 0.0]
    assert out["rule"].iloc[1] == 0.5 and out["rule"].iloc[0] > 0.8 and out["rule"].iloc[2] > 0.9


def test_calibration_is_chosen_only_when_it_lowers_brier() -> None:
    rng = np.random.default_rng(0)
    dates = pd.Series(np.repeat(pd.date_range("2026-01-01", periods=20, freq="D"), 200))
    truth = rng.uniform(0.0, 1.0, len(dates))
    y = (rng.uniform(size=len(dates)) < truth).astype("int8")
    method, scores = model.choose_calibration(np.sqrt(truth), y, dates)  # over-confident raw scores
    assert method == "sigmoid" and scores["sigmoid"] < scores["none"]
    one_class, _ = model.choose_calibration(truth, np.zeros(len(dates), dtype="int8"), dates)
    assert one_class == "none"
    with pytest.raises(ValueError, match="calibration method"):
        model.fit_calibration(truth, y, method="isotonic")


def test_threshold_best_f1_and_bad_values() -> None:
    y = np.array([0, 0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.6, 0.65, 0.9])
    assert model.choose_threshold(p, y) == 0.35  # flags 4 rows, 3 of them positive: F1 6/7
    with pytest.raises(ValueError, match="both classes"):
        model.choose_threshold(p, np.zeros(7))
    dataset = pd.DataFrame({"feature_id": ["a"], "date": [pd.Timestamp("2026-01-01")], "s": [1.0], "target": [1.0]})
    with pytest.raises(ValueError, match="set model.calibrate"):
        model.train_model(dataset, params={**PARAMS, "operating_threshold": "auto", "calibrate": False})
    with pytest.raises(ValueError, match="probability in"):
        model.train_model(dataset, params={**PARAMS, "operating_threshold": 1.5})


def test_best_f1_threshold_never_flags_every_row() -> None:
    # Positives are common: flagging all six rows has the best F1 (10/11), an alert on everything.
    y = np.array([1, 1, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    chosen = model.choose_threshold(p, y)
    assert chosen == 0.2 and (p < chosen).sum() == 1  # the best F1 (0.8) that leaves a row unflagged
    with pytest.raises(ValueError, match=r"^model.operating_threshold 'auto' found no threshold that leaves any of "
                                         r"the 6 calibration feature-days unflagged \(every score is 0.3\)"):
        model.choose_threshold(np.full(6, 0.3), y)



def test_auto_threshold_without_a_degradation_on_the_calibration_days_names_the_key_and_days(trained) -> None:
    # Own telemetry: degradations early on, then a calm stretch on the calibration days (nothing to choose on).
    _, dataset, _ = trained
    labelled = dataset[dataset["target"].notna()]
    split = model.time_split(labelled["date"], horizon_days=PARAMS["horizon_days"], test_share=PARAMS["test_share"])
    train_days = labelled.loc[labelled["date"] <= split.train_end, "date"]
    inner = model.time_split(train_days, horizon_days=PARAMS["horizon_days"], test_share=PARAMS["calibration_share"])
    calm = dataset["date"].between(inner.test_start, inner.test_end)
    quiet = dataset.assign(target=dataset["target"].mask(calm, 0.0))
    span = f"{inner.test_start:%Y-%m-%d}..{inner.test_end:%Y-%m-%d}"
    # Too few degraded days yet: no fault, the model step keeps the model in use or publishes none.
    with pytest.raises(model.OneClassError, match=rf"^The risk model cannot be trained: model.operating_threshold 'auto' "
                                                  rf"is chosen on the calibration days {span}, "
                                                  rf"but none of their {int(calm.sum())} feature-days .*"
                                                  rf"--set model.operating_threshold=0.3"):
        model.train_model(quiet, params=PARAMS)
    fixed = model.train_model(quiet, params={**PARAMS, "operating_threshold": 0.3})
    assert (fixed.operating_threshold, fixed.threshold_rule) == (0.3, "fixed by model.operating_threshold")


def test_auto_threshold_comes_from_training_days(trained) -> None:
    _, dataset, report = trained
    assert PARAMS["operating_threshold"] == "auto"
    chosen = report.result.operating_threshold
    assert 0 < chosen < 1 and report.metrics["operating_threshold"] == chosen
    assert report.metrics["operating_threshold_rule"] == "best F1 on the calibration days"
    budget = model.train_model(dataset, params={**PARAMS, "alert_budget": 0.3})
    assert budget.threshold_rule == "false-alert budget on the calibration days"
    # Flipping every test label changes nothing the training saw, so neither the threshold.
    test_days = dataset["date"] >= report.result.split.test_start
    flipped = dataset.assign(target=dataset["target"].where(~test_days, 1 - dataset["target"]))
    assert model.train_model(flipped, params=PARAMS).operating_threshold == chosen


def _alert_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """Two features over 30 days: one true alert of A, false alerts of B at 0.6, 0.6 and 0.3."""
    dates = pd.Series(pd.date_range("2026-01-01", periods=30).tolist() * 2)
    features = np.array(["A"] * 30 + ["B"] * 30)
    probability, y = np.zeros(60), np.zeros(60, dtype="int8")
    probability[[3, 4]], y[[3, 4]] = 0.9, 1
    probability[[40, 45]] = 0.6
    probability[50] = 0.3
    return probability, y, features, dates


def test_false_alert_rate_counts_runs_with_no_positive_day_in_any_row_order() -> None:
    probability, y, features, dates = _alert_rows()
    # 60 feature-days are 2 feature-months.
    rates = [model.false_alert_rate(probability, y, features, dates, threshold=t) for t in (0.8, 0.5, 0.2)]
    assert rates == [0.0, pytest.approx(1.0), pytest.approx(1.5)]
    order = np.random.default_rng(0).permutation(60)
    shuffled = dates.iloc[order].reset_index(drop=True)
    assert model.false_alert_rate(probability[order], y[order], features[order], shuffled, threshold=0.2) == pytest.approx(1.5)


def test_budget_threshold_is_the_lowest_within_the_budget_and_checked() -> None:
    probability, y, features, dates = _alert_rows()
    assert 0.6 < model.choose_threshold_budget(probability, y, features, dates, budget=0.0) <= 0.9
    assert 0.3 < model.choose_threshold_budget(probability, y, features, dates, budget=1.0) <= 0.6
    with pytest.raises(ValueError, match="alert_budget must be a number >= 0"):
        model.choose_threshold_budget(probability, y, features, dates, budget=-1)
    # Most scores are 0, so the median candidate is 0, which flags every row and would meet any budget.
    assert model.choose_threshold_budget(probability, y, features, dates, budget=100.0) > 0
    with pytest.raises(ValueError, match="found no threshold that leaves any"):
        model.choose_threshold_budget(np.zeros(60), y, features, dates, budget=100.0)
    dataset = pd.DataFrame({"feature_id": ["a"], "date": [pd.Timestamp("2026-01-01")], "s": [1.0], "target": [1.0]})
    with pytest.raises(ValueError, match="alert_budget"):
        model.train_model(dataset, params={**PARAMS, "alert_budget": "high"})
    with pytest.raises(ValueError, match="needs operating_threshold 'auto'"):
        model.train_model(dataset, params={**PARAMS, "alert_budget": 0.3, "operating_threshold": 0.4})


def test_alert_budget_threshold_flags_more_than_best_f1_with_a_looser_budget(trained) -> None:
    _, dataset, report = trained
    loose = model.train_model(dataset, params={**PARAMS, "alert_budget": 5.0}).operating_threshold
    strict = model.train_model(dataset, params={**PARAMS, "alert_budget": 0.0}).operating_threshold
    assert 0 < loose <= strict < 1


def test_tree_contributions_add_up_to_the_forest_probability(trained) -> None:
    _, dataset, report = trained
    forest = report.result.model.forest
    matrix = model.signal_matrix(dataset.tail(50), report.result.model.signals)
    bias, contributions = model.tree_contributions(forest, matrix)
    np.testing.assert_allclose(bias + contributions.sum(axis=1), forest.predict_proba(matrix)[:, 1], atol=1e-9)


def test_risk_bucket_edges_and_bad_cutoffs() -> None:
    out = model.risk_bucket(np.array([0.0, 0.29, 0.3, 0.59, 0.6, 1.0]), cutoffs=[0.3, 0.6])
    assert out.tolist() == ["low", "low", "medium", "medium", "high", "high"]
    with pytest.raises(ValueError, match="risk_buckets"):
        model.risk_bucket(np.array([0.5]), cutoffs=[0.6, 0.3])


def test_risk_bucket_refuses_a_missing_probability_rather_than_calling_it_high() -> None:
    # NaN sorts after every cut-off, so it used to land in "high": a measured high risk.
    with pytest.raises(ValueError, match="1 of 2 risk probabilities are missing"):
        model.risk_bucket(np.array([0.1, np.nan]), cutoffs=(0.3, 0.6))


def test_bucket_table_counts_the_day_s_features_per_bucket_from_its_lowest_risk() -> None:
    scored = pd.DataFrame({
        "feature_id": ["a", "b", "c", "a"],
        "date": pd.to_datetime(["2026-04-30", "2026-04-30", "2026-04-30", "2026-04-29"]),
        "risk_bucket": ["low", "medium", "low", "high"],
    })
    table = model.bucket_table(scored, cutoffs=(0.358, 0.679), day=pd.Timestamp("2026-04-30"))
    assert table.index.tolist() == ["low", "medium", "high"] and table.index.name == "risk_bucket"
    assert table["risk from"].tolist() == [0.0, 0.358, 0.679]
    # The day before's high is not the latest day's: high is there, with no feature.
    assert table["features on 2026-04-30"].tolist() == [2, 1, 0]


def test_auto_buckets_start_medium_at_the_operating_threshold() -> None:
    cutoffs = model.bucket_cutoffs("auto", operating_threshold=0.25)
    assert cutoffs == (0.25, 0.625)
    assert model.risk_bucket(np.array([0.249, 0.25, 0.62, 0.7]), cutoffs=cutoffs).tolist() == [
        "low", "medium", "medium", "high"]  # every flagged score (>= 0.25) is at least medium
    assert model.bucket_cutoffs([0.3, 0.6], operating_threshold=None) == (0.3, 0.6)
    with pytest.raises(ValueError, match="operating threshold"):
        model.bucket_cutoffs("auto", operating_threshold=None)
    with pytest.raises(ValueError, match="'auto' or two increasing"):
        model.bucket_cutoffs("fixed", operating_threshold=0.3)


def test_with_risk_replaces_columns_without_touching_the_input(trained) -> None:
    fact, dataset, report = trained
    latest = dataset[dataset["date"] == dataset["date"].max()]
    scores = model.score_rows(report.result.model, latest, cutoffs=(0.3, 0.6))
    before = fact.copy()
    out = model.with_risk(fact.assign(risk_probability=0.123, risk_bucket="low"), scores)
    pd.testing.assert_frame_equal(fact, before)
    assert out["risk_probability"].notna().sum() == len(latest) and (out["risk_probability"] != 0.123).all()
    assert list(out["date"]) == list(fact["date"]) and set(out["risk_bucket"].dropna()) <= {"low", "medium", "high"}


def test_with_risk_without_scores_leaves_every_risk_null_not_a_stale_one() -> None:
    # No model in use (training days of one class): no score may survive from an earlier table.
    fact = pd.DataFrame({"feature_id": ["a", "b"], "date": pd.to_datetime(["2026-01-01", "2026-01-02"]),
                         "risk_probability": [0.4, 0.9], "risk_bucket": ["medium", "high"]})
    out = model.with_risk(fact, None)
    assert out["risk_probability"].isna().all() and out["risk_bucket"].isna().all()
    assert out["risk_probability"].dtype == "float64" and list(out.columns) == list(fact.columns)


def test_ranking_orders_by_impact_with_drivers(trained) -> None:
    fact, dataset, report = trained
    latest = dataset[dataset["date"] == dataset["date"].max()]
    ranking = model.risk_ranking(report.result.model, latest, fact, cutoffs=(0.3, 0.6), top_signals=2)
    assert ranking["rank"].tolist() == list(range(1, 7))
    assert ranking["impact"].is_monotonic_decreasing
    assert np.allclose(ranking["impact"], ranking["risk_probability"] * ranking["active_users"])
    assert set(ranking["driver_1"]) <= set(report.result.model.signals) and "driver_3" not in ranking
    with pytest.raises(ValueError, match="top_signals"):
        model.risk_ranking(report.result.model, latest, fact, cutoffs=(0.3, 0.6), top_signals=0)


def test_only_signals_that_raised_a_score_are_its_drivers() -> None:
    contributions = np.array([[0.2, -0.1, 0.05], [-0.3, -0.1, 0.0]])
    values = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    columns = model.top_drivers(contributions, values, ["a", "b", "c"], top=3)
    assert list(columns["driver_1"]) == ["a", None] and list(columns["driver_2"]) == ["c", None]
    assert list(columns["driver_3"]) == [None, None]  # b lowered the score: no driver
    assert columns["driver_1_value"][0] == 1.0 and columns["driver_2_contribution"][0] == 0.05
    assert np.isnan(columns["driver_1_value"][1]) and np.isnan(columns["driver_3_contribution"][0])


def test_model_refuses_frames_without_its_signals(trained) -> None:
    _, dataset, report = trained
    with pytest.raises(ValueError, match="Retrain"):
        report.result.model.predict_proba(dataset.drop(columns="p95_latency_z"))


def test_ranking_of_no_rows_is_an_empty_table_and_top_signals_is_checked(trained) -> None:
    fact, dataset, report = trained
    latest = dataset[dataset["date"] == dataset["date"].max()]
    full = model.risk_ranking(report.result.model, latest, fact, cutoffs=(0.3, 0.6), top_signals=2)
    empty = model.risk_ranking(report.result.model, latest.iloc[0:0], fact, cutoffs=(0.3, 0.6), top_signals=2)
    assert empty.empty and list(empty.columns) == list(full.columns)
    n_signals = len(report.result.model.signals)
    with pytest.raises(ValueError, match=f"between 1 and {n_signals}"):
        model.risk_ranking(report.result.model, latest, fact, cutoffs=(0.3, 0.6), top_signals=n_signals + 1)


def test_apply_calibration_names_the_allowed_methods() -> None:
    with pytest.raises(ValueError, match="none, sigmoid"):
        model.apply_calibration(np.array([0.2, 0.8]), None, method="isotonic")


def test_training_does_not_depend_on_the_row_order_of_the_dataset(trained) -> None:
    _, dataset, report = trained
    shuffled = dataset.sample(frac=1.0, random_state=5)
    again = model.train_model(shuffled, params=PARAMS)
    assert again.training_data_hash == report.result.training_data_hash
    assert again.operating_threshold == report.result.operating_threshold
    np.testing.assert_array_equal(again.model.predict_proba(dataset), report.result.model.predict_proba(dataset))


def test_fit_forest_refuses_more_max_features_than_signals() -> None:
    rows = pd.DataFrame({"date": pd.date_range("2026-01-01", periods=60), "a": range(60), "b": range(60),
                         "target": [0, 1] * 30})
    with pytest.raises(ValueError, match=r"^model\.max_features 3 is more than the 2 signals the model has; use at most 2"):
        model.fit_forest(rows, ["a", "b"], params={**PARAMS, "max_features": 3})
    forest = model.fit_forest(rows, ["a", "b"], params={**PARAMS, "max_features": 2})
    assert forest.n_features_in_ == 2


@pytest.mark.parametrize(("target", "what"), [(0, "degrades within the horizon"), (1, "stays healthy")])
def test_fit_forest_refuses_one_class_naming_the_days_and_how_to_get_more(target: int, what: str) -> None:
    # The forest learns from the whole fact table, not the run's window: "a longer window
    # (ingest.window_start)" misled when the window was already open and the as-of date was early.
    rows = pd.DataFrame({"date": pd.date_range("2026-01-01", periods=40), "a": range(40), "target": target})
    with pytest.raises(ValueError, match=(
        rf"^The risk model cannot be trained: none of its 40 training feature-days from 2026-01-01 to 2026-02-09 "
        rf"{what}, so there is nothing to tell apart; give it more days \(a later ingest\.as_of, a backfill of "
        r"earlier days or a smaller model\.test_share\)")) as raised:
        model.fit_forest(rows, ["a"], params=PARAMS)
    # The model step tells this state of the data (a healthy platform) from a fault, and records the why alone.
    assert isinstance(raised.value, model.OneClassError) and issubclass(model.OneClassError, model.NotTrainableYetError)
    assert raised.value.reason == str(raised.value).removeprefix("The risk model cannot be trained: ")
    assert raised.value.reason.startswith("none of its 40 training feature-days")


def test_a_calm_stretch_before_the_calibration_days_names_it_and_calibration_share() -> None:
    # With model.test_share 0.7 on ci the first forest's 12 days had no degradation ahead: the error called
    # them "its training feature-days" (the card's training window is longer) and advised only more data.
    fact, _ = _fact(n_features=2)  # the first degradations start on days 30 and 34
    frame = signals.build_signals(fact, degradation=PROFILE["degradation"])
    dataset = model.labelled_dataset(frame, signals.build_target(fact, horizon_days=PARAMS["horizon_days"]))
    with pytest.raises(model.OneClassError, match=(
        r"none of its 26 feature-days before the calibration days from 2026-01-01 to 2026-01-13 degrades within the "
        r"horizon, .*a smaller model\.calibration_share\)")):
        model.train_model(dataset, params={**PARAMS, "test_share": 0.6, "calibration_share": 0.6})
    with pytest.raises(ValueError, match=r"none of its \d+ training feature-days .*a smaller model\.test_share\)"):
        model.train_model(dataset, params={**PARAMS, "test_share": 0.85, "calibrate": False, "operating_threshold": 0.3})


def test_false_alerts_are_runs_split_by_an_unflagged_day_and_by_feature() -> None:
    dates = pd.Series(pd.date_range("2026-01-01", periods=10).tolist() * 2)
    features = np.array(["A"] * 10 + ["B"] * 10)
    probability, y = np.zeros(20), np.zeros(20, dtype="int8")
    probability[[2, 4]] = 0.9  # A on days 3 and 5: two runs, both false
    probability[8], y[8] = 0.9, 1  # A on day 9: true
    probability[19] = 0.9  # B on day 10, the day after A's true alert: its own run, false
    assert model.false_alert_rate(probability, y, features, dates, threshold=0.5) == pytest.approx(3 / (20 / 30))


def test_classification_metrics_flag_a_score_at_the_threshold() -> None:
    out = model.classification_metrics(np.array([0, 1]), np.array([0.2, 0.5]), threshold=0.5)
    assert out["precision"] == 1.0 and out["recall"] == 1.0


def test_ranking_breaks_impact_ties_by_risk_then_feature_id(trained) -> None:
    fact, dataset, report = trained
    latest = dataset[dataset["date"] == dataset["date"].max()]
    twin = latest.iloc[[0]].assign(feature_id="f0a")  # same signals as f0: the same risk
    no_users = fact.assign(active_users=0)  # every impact 0
    ranking = model.risk_ranking(report.result.model, pd.concat([twin, latest]), no_users, cutoffs=(0.3, 0.6))
    assert ranking["impact"].eq(0).all() and ranking["risk_probability"].is_monotonic_decreasing
    tied = ranking[ranking["risk_probability"] == ranking.loc[ranking["feature_id"] == "f0", "risk_probability"].item()]
    assert tied["feature_id"].tolist()[:2] == ["f0", "f0a"]


def test_calibration_forest_never_sees_the_calibration_days_and_the_final_one_sees_all(
    trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, dataset, _ = trained
    fitted_on = []
    real_fit = model.fit_forest

    def recording_fit(rows: pd.DataFrame, names: tuple[str, ...], **options: object) -> object:
        fitted_on.append(rows["date"].reset_index(drop=True))
        return real_fit(rows, names, **options)

    monkeypatch.setattr(model, "fit_forest", recording_fit)
    result = model.train_model(dataset, params=PARAMS)
    final, first = fitted_on
    assert len(final) == result.n_train_rows  # the final forest: every training day
    calibration_start = final.iloc[-result.n_calibration_rows]
    assert result.n_calibration_rows > 0
    assert first.max() + pd.Timedelta(days=PARAMS["horizon_days"]) < calibration_start  # with the gap


def _predictions(*, model_hits: int, n_days: int = 40, seed: int = 0) -> pd.DataFrame:
    """Labelled test rows of 10 features x ``n_days`` days, one positive per day (feature f0); the model
    ranks it first on the first ``model_hits`` days, persistence and the rule on every other day."""
    rng = np.random.default_rng(seed)
    days = np.repeat(pd.date_range("2026-05-01", periods=n_days, freq="D"), 10)
    positive = np.tile(np.arange(10) == 0, n_days)
    day = np.repeat(np.arange(n_days), 10)
    noise = rng.random(len(day)) * 0.5
    return pd.DataFrame({
        "feature_id": np.tile([f"f{i}" for i in range(10)], n_days), "date": days,
        "y_true": positive.astype(float),
        "probability": np.where(positive & (day < model_hits), 0.9, noise),
        "persistence_score": np.where(positive & (day % 2 == 0), 1.0, 0.0),
        "rule_score": np.where(positive & (day % 2 == 0), 0.9, noise),
        "is_degraded": False,
    })


EVALUATE = {"threshold": 0.5, "rule_z": 2.0, "horizon_days": 7, "min_positives": 5, "seed": 7}


def test_the_gain_over_each_baseline_has_a_paired_interval_on_the_test_rows() -> None:
    # The model catches every day's positive, the baselines half of them: far beyond noise.
    ahead = model.evaluate(_predictions(model_hits=40), **EVALUATE)["comparison"]
    low, high = ahead["pr_auc_minus_persistence_interval"]
    assert 0 < low <= ahead["pr_auc_minus_persistence"] <= high and ahead["pr_auc_minus_rule_interval"][0] > 0
    assert ahead["no_interval_reason"] is None
    # Ahead on the first 22 days of 40 only, against the baselines' every other day: a noise-sized
    # gain in PR-AUC whose interval, over runs of 7 days, spans 0.
    close = model.evaluate(_predictions(model_hits=22), **EVALUATE)["comparison"]
    low, high = close["pr_auc_minus_persistence_interval"]
    assert low < 0 < high and close["pr_auc_minus_persistence"] > 0


def test_the_baseline_intervals_are_seeded() -> None:
    predictions = _predictions(model_hits=22)
    first = model.evaluate(predictions, **EVALUATE)["comparison"]
    assert model.evaluate(predictions, **EVALUATE)["comparison"] == first
    other = model.evaluate(predictions, **{**EVALUATE, "seed": 8})["comparison"]
    assert other["pr_auc_minus_rule_interval"] != first["pr_auc_minus_rule_interval"]


def test_too_few_positives_give_no_interval_and_say_why() -> None:
    few = model.evaluate(_predictions(model_hits=4, n_days=4), **EVALUATE)["comparison"]
    assert few["pr_auc_minus_persistence_interval"] is None and few["pr_auc_minus_rule_interval"] is None
    assert few["no_interval_reason"] == (
        "only 4 of the 40 labelled test feature-days are positive, fewer than model.promote_min_positives (5) "
        "for an interval beyond noise")
    calm = _predictions(model_hits=0).assign(y_true=0.0)
    assert model.evaluate(calm, **EVALUATE)["comparison"]["no_interval_reason"] == (
        "none of the 400 labelled test feature-days is positive, and PR-AUC needs both classes")
    assert model.evaluate(calm.assign(y_true=1.0), **EVALUATE)["comparison"]["no_interval_reason"] == (
        "all of the 400 labelled test feature-days are positive, and PR-AUC needs both classes")


def test_training_days_too_few_for_a_leaf_size_train_no_model_that_scores_every_feature_alike() -> None:
    # A new feed's first weeks at a fixed threshold "trained" a forest of single leaves: every
    # feature scored 0.500, all flagged, and the run said "model: trained".
    fact, _ = _fact(n_features=2, n_days=40)
    frame = signals.build_signals(fact, degradation=PROFILE["degradation"])
    dataset = model.labelled_dataset(frame, signals.build_target(fact, horizon_days=PARAMS["horizon_days"]))
    dataset["target"] = dataset["target"].where(dataset["target"].isna(), (dataset.index % 2).astype(float))
    params = {**PARAMS, "calibrate": False, "operating_threshold": 0.3, "min_samples_leaf": 1000}
    with pytest.raises(model.NotTrainableYetError, match=(
            r"none of the \d+ trees could split its \d+ training feature-days into leaves of model.min_samples_leaf "
            r"1000, so it would score every feature alike; give it more days or a smaller model.min_samples_leaf.")):
        model.train_model(dataset, params=params)


def test_a_forest_of_single_splits_is_a_model() -> None:
    # Only trees that could not split at all score every feature alike: stumps tell the rows apart.
    rows = pd.DataFrame({"date": pd.date_range("2026-01-01", periods=40), "a": range(40), "target": [0] * 20 + [1] * 20})
    forest = model.fit_forest(rows, ["a"], params={**PARAMS, "max_depth": 1})
    assert {tree.tree_.node_count for tree in forest.estimators_} == {3}
    assert len(set(forest.predict_proba(model.signal_matrix(rows, ["a"]))[:, 1])) > 1


@pytest.mark.parametrize("calibrate", [True, False])
def test_too_few_days_to_label_any_says_no_day_has_a_target_yet(calibrate: bool) -> None:
    # horizon_days 7: on 7 days of data even the first has only 6 after it; on 8 the first has its target.
    params = {**PARAMS, "calibrate": calibrate}
    reason = model._too_few_days_reason(pd.Series(pd.date_range("2026-01-01", periods=7)), params=params)
    assert reason.startswith("no day has a known target yet: it needs ")
    assert not model._too_few_days_reason(pd.Series(pd.date_range("2026-01-01", periods=8)), params=params).startswith(
        "no day has a known target yet")


def test_the_ranking_says_which_warning_pattern_is_strongest_on_the_scored_day(trained) -> None:
    """A driver worst_shift_z read "strongest warning pattern", without saying of latency, feedback or
    crashes: the ranking names it from the scored day's evidence, the same for every top_signals."""
    fact, dataset, report = trained
    latest = dataset[dataset["date"] == dataset["date"].max()]
    ranking = model.risk_ranking(report.result.model, latest, fact, cutoffs=(0.3, 0.6), top_signals=1)
    expected = dict(zip(latest["feature_id"].astype(str), signals.strongest_pattern(latest), strict=True))
    assert ranking["strongest_pattern"].tolist() == [expected[f] for f in ranking["feature_id"]]
    assert ranking["strongest_pattern"].notna().any()


def test_time_split_says_a_horizon_of_one_day_in_the_singular() -> None:
    dates = pd.Series(pd.date_range("2026-01-01", periods=2, freq="D"))
    with pytest.raises(model.NotTrainableYetError, match=r"and a gap of 1 day \(model\.horizon_days\)"):
        model.time_split(dates, horizon_days=1, test_share=0.5)
    with pytest.raises(model.NotTrainableYetError, match=r"a day's target needs the 1 day after it"):
        model.time_split(pd.Series([], dtype="datetime64[ns]"), horizon_days=1, test_share=0.5)


def test_a_new_feed_with_a_horizon_of_one_day_is_told_it_in_the_singular() -> None:
    dates = pd.Series(pd.date_range("2026-01-01", periods=2, freq="D"))
    reason = model._too_few_days_reason(dates, params={**PARAMS, "horizon_days": 1})
    assert "a day's target needs the 1 day after it (model.horizon_days)" in reason
    assert "followed by a degraded day within 1 day and some are not" in reason


def test_a_threshold_above_every_score_raises_no_false_alert() -> None:
    dates = pd.Series(pd.date_range("2026-01-01", periods=4))
    rate = model.false_alert_rate(np.full(4, 0.4), np.zeros(4), np.array(["A"] * 4), dates, threshold=0.5)
    assert rate == 0.0


def test_without_calibration_the_fixed_threshold_scores_with_the_forest_alone(trained) -> None:
    _, dataset, _ = trained
    result = model.train_model(dataset, params={**PARAMS, "calibrate": False, "operating_threshold": 0.4})
    assert result.operating_threshold == 0.4 and result.threshold_rule == model.THRESHOLD_RULES["fixed"]
    assert result.model.calibration == "none" and result.n_calibration_rows == 0
    rows = dataset[dataset["target"].notna()].head(50)
    assert np.array_equal(result.model.predict_proba(rows), result.model.raw_proba(rows))


def test_importance_on_a_sample_of_one_class_uses_every_test_row(trained) -> None:
    # A sample of 1 row holds one class, for which PR-AUC is undefined: all rows are used instead.
    _, dataset, report = trained
    test_rows = dataset[dataset["date"] >= report.result.split.test_start]
    kwargs = {"random_state": 3, "n_repeats": 1}
    sampled = model.feature_importance(report.result, test_rows, max_rows=1, **kwargs)
    assert sampled["permutation_importance"].notna().all()
    pd.testing.assert_frame_equal(sampled, model.feature_importance(report.result, test_rows, max_rows=10**6, **kwargs))


def test_ranking_adds_the_metadata_columns_it_is_given(trained) -> None:
    fact, dataset, report = trained
    latest = dataset[dataset["date"] == dataset["date"].max()]
    metadata = pd.DataFrame({"feature_id": ["f0", "f0", "f1"], "feature_name": ["Search", "Search again", "Login"],
                             "tier": [1, 1, 2], "notes": ["x", "y", "z"]})
    ranking = model.risk_ranking(report.result.model, latest, fact, metadata, cutoffs=(0.3, 0.6), top_signals=1)
    assert len(ranking) == len(latest)  # one row per feature: a repeated metadata row is dropped
    assert list(ranking.columns[7:10]) == ["feature_name", "tier", "driver_1"]
    names = dict(zip(ranking["feature_id"], ranking["feature_name"], strict=True))
    assert names["f0"] == "Search" and names["f1"] == "Login" and pd.isna(names["f2"])
