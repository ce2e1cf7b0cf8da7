"""The ci profile end to end through ./run_all.sh's runner: artifacts, accounting, determinism."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from featurehealth import config, runlog, runner

pytestmark = pytest.mark.pipeline

EXPECTED_ARTIFACTS = [
    "tables/fact_feature_metrics.parquet",
    "tables/dim_feature_metadata.parquet",
    "quarantine/quarantine.parquet",
    "reports/ingest_summary.json",
    "reports/data_quality.json",
    "reports/metrics.json",
    "reports/feature_importance.csv",
    "reports/risk_ranking.csv",
    "reports/baseline_stats.json",
    "reports/data_drift.json",
    "reports/run_report.json",
    "models/risk_model.joblib",
    "models/risk_model.card.json",
    "featurehealth.duckdb",
]


def _published(ci_run: dict) -> Path:
    return Path(ci_run["output_root"]) / "ci"


def test_run_succeeds_with_every_step_recorded(ci_run: dict) -> None:
    assert ci_run["status"] == "succeeded"
    assert [s["step"] for s in ci_run["steps"]][:4] == [n.removesuffix(".ipynb") for n in config.PIPELINE_NOTEBOOKS]
    assert all(s["status"] == "succeeded" and s["duration_s"] > 0 for s in ci_run["steps"])
    saved = runlog.read_json(_published(ci_run) / "reports" / "run_report.json")
    assert saved["run_id"] == ci_run["run_id"] and saved["params_hash"] == config.params_hash(config.load_profile("ci"))


def test_artifacts_exist_and_hashes_match(ci_run: dict) -> None:
    published = _published(ci_run)
    for artifact in EXPECTED_ARTIFACTS:
        assert (published / artifact).is_file(), artifact
    assert "reports/run_report.json" not in ci_run["artifacts"]
    for relative, digest in ci_run["artifacts"].items():
        assert runlog.sha256_file(published / relative) == digest, relative


def test_executed_notebooks_and_html_are_kept(ci_run: dict) -> None:
    run_dir = _published(ci_run) / "runs" / ci_run["run_id"]
    for notebook in config.PIPELINE_NOTEBOOKS:
        assert (run_dir / notebook).is_file()
        assert (run_dir / notebook).with_suffix(".html").stat().st_size > 10_000


def test_row_accounting_holds(ci_run: dict) -> None:
    summary = runlog.read_json(_published(ci_run) / "reports" / "ingest_summary.json")
    assert summary["rows_in"] == summary["rows_valid"] + summary["rows_quarantined"]
    assert summary["rows_quarantined"] > 0  # the ci simulation injects malformed rows
    quarantine = pd.read_parquet(_published(ci_run) / "quarantine" / "quarantine.parquet")
    assert len(quarantine) == summary["rows_quarantined"]


def test_fact_table_has_one_row_per_feature_day(ci_run: dict) -> None:
    fact = pd.read_parquet(_published(ci_run) / "tables" / "fact_feature_metrics.parquet")
    assert not fact.duplicated(["feature_id", "date"]).any()
    assert fact["risk_probability"].notna().any()


def test_degraded_days_are_the_injected_incidents(ci_run: dict) -> None:
    published = _published(ci_run)
    fact = pd.read_parquet(published / "tables" / "fact_feature_metrics.parquet")
    incidents = pd.read_parquet(published / "tables" / "incidents.parquet")
    days = pd.to_datetime(fact["date"])
    in_incident = pd.Series(False, index=fact.index)
    for incident in incidents.itertuples():
        in_incident |= (fact["feature_id"] == incident.feature_id) & days.between(
            pd.Timestamp(incident.start), pd.Timestamp(incident.end)
        )
    assert fact.loc[in_incident, "is_degraded"].all()
    # Chance days (sampling noise on small features) stay rare: under 1 % of the other days.
    assert fact.loc[~in_incident, "is_degraded"].mean() < 0.01


def test_same_inputs_give_identical_artifacts(ci_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    lines: list[str] = []
    again = runner.run_pipeline("ci", progress=lines.append)
    # The console ends with what the run found, from the reports it publishes.
    # A first run trains, so a model line stands between the risk and drift lines.
    outcome = [line for line in lines if line.startswith(("risk", "model", "drift"))]
    assert runner.outcome_lines(tmp_path / "ci") == outcome
    assert [line.split(" ")[0] for line in outcome] == ["risk", "model:", "drift:"]
    # DuckDB stamps a random id into its file header; the tables it holds are the Parquet ones.
    unstable = {"featurehealth.duckdb"}
    assert set(again["artifacts"]) == set(ci_run["artifacts"])
    assert len(set(ci_run["artifacts"]) - unstable) > 20  # models/<version>/ and reports/figures/ included
    for artifact in sorted(set(ci_run["artifacts"]) - unstable):
        assert again["artifacts"][artifact] == ci_run["artifacts"][artifact], artifact


def test_a_run_that_would_mix_two_sources_is_refused(ci_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(_published(ci_run), tmp_path / "outputs" / "ci", ignore=shutil.ignore_patterns("runs"))
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path / "outputs"))
    monkeypatch.setenv("FEATUREHEALTH_DATA_ROOT", str(tmp_path / "data"))
    before = runner.artifact_hashes(tmp_path / "outputs" / "ci")
    with pytest.raises(runner.RunFailed, match=r"01_ingest.*outputs in \S+/outputs/ci hold 60 days \(2026-03-02..2026-04-30\) outside this "
                                               r"run's window .* other simulate parameters \(n_days 120 -> 60\)"):
        runner.run_pipeline("ci", overrides=["simulate.n_days=60"], progress=lambda _line: None)
    assert runner.artifact_hashes(tmp_path / "outputs" / "ci") == before


def test_run_all_rejects_unknown_profile_with_one_sentence() -> None:
    result = subprocess.run(
        [str(config.REPO_ROOT / "run_all.sh"), "no_such_profile"],
        capture_output=True, text=True, timeout=120, env={**os.environ},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("run_all: Profile file")
    assert "available profiles: ci, default, year" in result.stderr


def _run_without_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, override: str) -> tuple[dict, Path, str]:
    """Run the ci profile with ``override`` into ``tmp_path``, check that it published quality and drift but
    no model, and return the run, its published folder and why it trained none."""
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    lines: list[str] = []
    run = runner.run_pipeline("ci", overrides=[override], progress=lines.append)
    published = tmp_path / "ci"
    why = run["model"]["not_trained"]
    assert run["status"] == "succeeded" and run["drift"]["summary"]["n_cells"] > 0 and run["model"]["version"] is None
    assert runlog.read_json(published / "reports" / "metrics.json") == {"available": False, "reason": why}
    assert not (published / "reports" / "risk_ranking.csv").exists()
    assert pd.read_parquet(published / "tables" / "fact_feature_metrics.parquet")["risk_probability"].isna().all()
    assert [line for line in lines if line.startswith("model:")] == [
        f"model: not trained: {why.rstrip('.')}; no model is in use, so nothing is scored until a run has the data to "
        "train one"]
    return run, published, why


def _trains_over_the_whole_window(published: Path) -> None:
    """The next run under model.retrain auto, over the ci profile's whole window, trains as usual."""
    whole = runner.run_pipeline("ci", progress=lambda _line: None)
    assert whole["model"]["version"] and whole["model"]["not_trained"] is None
    assert (published / "reports" / "risk_ranking.csv").is_file()


def test_a_healthy_platform_publishes_quality_and_drift_without_a_model_until_one_can_be_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No incident: the training days hold no degraded day ahead. That failed every run at 03_model,
    # and the quality and drift reports never reached the dashboard.
    healthy, published, why = _run_without_a_model(tmp_path, monkeypatch,
                                                   override="simulate.incidents_per_feature_year=0")
    assert healthy["quality"]["status"] == "pass"
    assert why.startswith("none of its ") and "degrades within the horizon" in why
    assert runlog.read_json(published / "reports" / "data_drift.json")["summary"]["prediction_drift"]["reason"].startswith(
        "no model")
    assert not runlog.read_json(published / "reports" / "retrain.json")["retrain_recommended"]
    assert not (published / "models" / "registry.json").exists()
    # Days with incidents: the next run under model.retrain auto trains as usual.
    _trains_over_the_whole_window(published)


def test_a_new_feed_publishes_quality_and_drift_from_day_one_and_trains_once_it_has_the_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new feed's first three weeks: too few days for the time and calibration splits failed every run at 03_model.
    first, published, why = _run_without_a_model(tmp_path, monkeypatch, override="ingest.window_start=2026-04-10")
    assert first["quality"]["status"] in ("pass", "warn")
    assert why.startswith("it needs 33 days of data, has 21 (2026-04-10..2026-04-30): ")
    assert why.endswith("a model can be trained at the earliest once the data reaches 2026-05-12, and then only if, on "
                        "its first day 2026-04-10 (then the one day before its calibration days), some features are "
                        "followed by a degraded day within 7 days and some are not; later data gives it more days.")
    # The whole window has the days: the next run under model.retrain auto trains.
    _trains_over_the_whole_window(published)


def test_a_model_in_use_saved_under_an_older_scikit_learn_is_rebuilt_on_the_next_auto_run(
    ci_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After an upgrade of the lock model.retrain=auto kept the old pickle for good, and only 03_model's output said so.
    from featurehealth import registry

    shutil.copytree(_published(ci_run), tmp_path / "ci", ignore=shutil.ignore_patterns("runs"))
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    paths = config.run_paths("ci")
    version = runlog.read_json(paths.models / registry.CURRENT_CARD)["version"]
    # Nothing hashes a card (its file_sha256 vouches for the model file): the version's card is edited, and
    # promote copies it to the model in use's as a run does.
    card = runlog.read_json(paths.models / version / registry.CARD_FILE)
    here = registry.library_versions()["scikit-learn"]
    runlog.write_json(paths.models / version / registry.CARD_FILE,
                      {**card, "library_versions": {**card["library_versions"], "scikit-learn": "0.0.1"}})
    registry.promote(paths, version)
    reason = f"model in use saved with scikit-learn 0.0.1 (now {here})"
    lines: list[str] = []
    runner.run_pipeline("ci", overrides=["run.retrain_on_drift=false"], progress=lines.append)
    advice = runlog.read_json(paths.reports / "retrain.json")
    assert advice["retrain_recommended"] is True and advice["reasons"] == [reason]
    assert advice["checks"]["library_versions"]["fired"] is True
    # Cron mail says it.
    assert f"retraining advised: {reason}" in next(line for line in lines if line.startswith("drift:"))
    nxt = runner.run_pipeline("ci", progress=lambda _line: None)
    assert next(s for s in nxt["steps"] if s["step"] == "03_model")["trained"]
    rebuilt = runlog.read_json(paths.models / registry.CURRENT_CARD)
    assert rebuilt["version"] == version and rebuilt["library_versions"] == registry.library_versions()
    assert runlog.read_json(paths.reports / "retrain.json")["checks"]["library_versions"] == {
        "value": "none changed", "threshold": None, "fired": False}
