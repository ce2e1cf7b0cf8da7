"""Safe artifact loading for the dashboard (featurehealth.dashboard.data)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from featurehealth import config
from featurehealth.dashboard import data


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """outputs/ci with a good metrics.json and ranking, a corrupt fact table and two runs."""
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    ci = tmp_path / "ci"
    (ci / "reports").mkdir(parents=True)
    (ci / "tables").mkdir()
    (ci / "reports" / "metrics.json").write_text(json.dumps({"model": {"pr_auc": 0.5}}))
    pd.DataFrame({"feature_id": ["A"], "risk_probability": [0.4]}).to_csv(ci / "reports" / "risk_ranking.csv", index=False)
    (ci / "tables" / "fact_feature_metrics.parquet").write_bytes(b"PAR1 not really")
    for run_id, report in {"20260101T000000Z-0000000a": {"status": "failed", "error": "boom"},
                           "20260102T000000Z-0000000b": {"status": "succeeded", "duration_s": 12.5,
                                                  "drift": {"alerts": [{}, {}]}, "quality": {"status": "pass"},
                                                  "window": {"as_of": "2026-03-16", "start": "2026-03-16",
                                                             "end": "2026-03-16"}}}.items():
        (ci / "runs" / run_id).mkdir(parents=True)
        (ci / "runs" / run_id / "run_report.json").write_text(json.dumps(report))
    (tmp_path / "not-a-profile").mkdir()
    return tmp_path


def test_only_profiles_with_outputs_are_offered(outputs: Path) -> None:
    assert data.profiles_with_outputs() == ["ci"]
    assert data.published_profiles() == []
    (outputs / "year" / "reports").mkdir(parents=True)  # a skeleton records no run
    assert data.default_profile("year") == "ci"  # its runs/ say why nothing was published
    (outputs / "ci" / "reports" / "run_report.json").write_text("{}")
    assert data.published_profiles() == ["ci"] and data.default_profile("default") == "ci"


def test_published_runs_come_first_and_copies_under_other_names_are_offered(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "run_report.json").write_text("{}")
    (outputs / "year" / "reports").mkdir(parents=True)  # skeleton of a failed hand run
    (outputs / "copy" / "reports").mkdir(parents=True)
    (outputs / "copy" / "reports" / "run_report.json").write_text("{}")
    (outputs / "bad name" / "reports").mkdir(parents=True)
    (outputs / "bad name" / "reports" / "run_report.json").write_text("{}")
    assert data.profiles_with_outputs() == ["ci", "copy", "year"]
    assert data.profile_options() == [("ci", "ci"), ("copy", "copy"), ("year (no outputs)", "year")]
    assert data.default_profile("year") == "ci" and data.default_profile("copy") == "copy"
    assert data.artifact_path("copy", "metrics") == outputs / "copy" / "reports" / "metrics.json"


def test_without_a_published_run_the_profile_whose_first_run_failed_is_shown(outputs: Path) -> None:
    """A first run that failed (a quality stop, say) publishes nothing: the page said only "No
    published outputs: run ./run_all.sh ci first" to a user who had just run it. The profile whose
    runs/ records it is shown instead, so its Overview and Run history say what went wrong."""
    (outputs / "year" / "reports").mkdir(parents=True)  # a skeleton: no run recorded
    assert data.published_profiles() == []
    assert data.default_profile("year") == "ci" and data.default_profile("default") == "ci"
    for run in (outputs / "ci" / "runs").iterdir():
        (run / "run_report.json").unlink()
        run.rmdir()
    assert data.default_profile("ci") is None


def test_artifact_paths_stay_inside_the_outputs_root(outputs: Path) -> None:
    assert data.artifact_path("ci", "metrics") == outputs / "ci" / "reports" / "metrics.json"
    with pytest.raises(ValueError, match="allowed: fact, dim"):
        data.artifact_path("ci", "../../etc/passwd")
    for profile in ("../ci", "default", "not-a-profile", "/etc"):
        with pytest.raises(ValueError, match="allowed: ci"):
            data.artifact_path(profile, "metrics")
    with pytest.raises(ValueError, match=r"run \./run_all\.sh default to publish"):
        data.artifact_path("default", "metrics")


def test_a_symlink_out_of_the_outputs_root_is_refused(outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.json"
    secret.write_text("{}")
    (outputs / "ci" / "reports" / "data_quality.json").symlink_to(secret)
    value, message = data.load_artifact("ci", "quality")
    assert value is None and "outside the outputs folder" in message


def test_load_reads_json_and_csv(outputs: Path) -> None:
    metrics, message = data.load_artifact("ci", "metrics", required=("model",))
    assert metrics == {"model": {"pr_auc": 0.5}} and message == ""
    ranking, message = data.load_artifact("ci", "ranking", required=("feature_id",))
    assert ranking["feature_id"].tolist() == ["A"] and message == ""


@pytest.mark.parametrize(
    ("name", "required", "expected"),
    [
        ("drift", (), "reports/data_drift.json is not available: run ./run_all.sh ci"),
        ("fact", (), "tables/fact_feature_metrics.parquet could not be read (not a readable Parquet file); re-run"),
        ("metrics", ("baselines",), "reports/metrics.json lacks key(s) baselines"),
        ("ranking", ("impact",), "reports/risk_ranking.csv lacks column(s) impact"),
        ("nonsense", (), "Unknown artifact 'nonsense'"),
    ],
)
def test_unusable_artifacts_give_a_message_not_an_exception(
    outputs: Path, name: str, required: tuple[str, ...], expected: str
) -> None:
    value, message = data.load_artifact("ci", name, required=required)
    assert value is None and message.startswith(expected)


def test_an_unreadable_file_is_said_why_in_a_reader_s_words(tmp_path: Path) -> None:
    # The note read "could not be read (JSONDecodeError)": Python's class name, nothing a stakeholder can use.
    cut = tmp_path / "metrics.json"
    cut.write_text('{"model": {"pr_a')
    garbled = tmp_path / "ranking.csv"
    garbled.write_bytes(b"\xff\xfe feature")
    reasons = {}
    for path in (cut, garbled):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            reasons[path.name] = data.unreadable_because(path, exc)
    assert reasons == {"metrics.json": "not valid JSON, line 1, column 12", "ranking.csv": "not UTF-8 text"}
    assert data.unreadable_because(tmp_path / "t.parquet", OSError("Invalid: magic bytes")) == (
        "not a readable Parquet file")
    assert data.unreadable_because(tmp_path / "t.png", PermissionError(13, "Permission denied")) == "permission denied"


def test_without_a_model_its_artifacts_say_so_and_why_not_to_run_again(outputs: Path) -> None:
    # Training days of one class: metrics.json records no model; a ranking of no model is absent by design.
    reason = "none of its 564 training feature-days degrades within the horizon."
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps({"available": False, "reason": reason}))
    (outputs / "ci" / "reports" / "risk_ranking.csv").unlink()
    for name in ("metrics", "ranking", "predictions", "importance", "registry"):
        assert data.load_artifact("ci", name) == (None, (
            "The risk model is not available: no model was trained, as none of its 564 training feature-days "
            "degrades within the horizon."))
    assert data.load_artifact("ci", "quality")[1].startswith("reports/data_quality.json is not available: run")


def test_json_that_is_not_an_object_is_unusable(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "metrics.json").write_text("[1, 2]")
    assert data.load_artifact("ci", "metrics") == (None, "reports/metrics.json does not hold a JSON object; "
                                                         "re-run ./run_all.sh ci.")


def test_lookup_walks_nested_keys() -> None:
    assert data.lookup({"a": {"b": 1}}, "a.b") == 1
    assert data.lookup({"a": {"b": 1}}, "a.c") is None
    assert data.lookup({"a": [1]}, "a.b") is None
    assert data.lookup(None, "a") is None


@pytest.fixture
def params_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """params/ with the real default.yaml and a profile ``small`` whose buckets are [0.2, 0.5]."""
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "default.yaml").write_text((config.PARAMS_DIR / "default.yaml").read_text())
    (folder / "small.yaml").write_text("extends: default\nmodel:\n  risk_buckets: [0.2, 0.5]\n")
    monkeypatch.setattr(config, "PARAMS_DIR", folder)
    return folder


def _old_report(overrides: list[str]) -> dict:
    """A run report of a release that recorded the hash and overrides but not the parameters."""
    return {"params_hash": config.params_hash(config.load_run_params("small", overrides=overrides)), "overrides": overrides}


def test_the_profile_gives_a_run_s_parameters_only_when_it_resolves_to_the_run_s_hash(params_dir: Path) -> None:
    report = _old_report(["model.horizon_days=3"])
    params, reason = data.run_params_from_profile(report, "small")
    assert reason == "" and params["model"]["risk_buckets"] == [0.2, 0.5] and params["model"]["horizon_days"] == 3
    # without the recorded --set the run's hash is not reached: the profile alone is not that run's
    assert data.run_params_from_profile({**report, "overrides": []}, "small")[0] is None
    (params_dir / "small.yaml").write_text("extends: default\nmodel:\n  risk_buckets: [0.3, 0.6]\n")
    assert data.run_params_from_profile(report, "small") == (None, (
        "reports/run_report.json does not record the run's parameters and params/small.yaml (or a profile it "
        "extends) has changed since that run; re-run ./run_all.sh small to record them"))


def test_a_report_before_overrides_were_recorded_is_a_run_without_any(params_dir: Path) -> None:
    report = _old_report([])
    del report["overrides"]
    assert data.run_params_from_profile(report, "small")[0] == config.load_profile("small")


@pytest.mark.parametrize(
    ("report", "profile", "reason"),
    [
        ({"overrides": []}, "small",
         "reports/run_report.json records neither the run's parameters nor their hash, so params/small.yaml "
         "cannot be checked against them; re-run ./run_all.sh small to record them"),
        ({"params_hash": "0" * 64}, "copied",
         "reports/run_report.json does not record the run's parameters and there is no params/copied.yaml "
         "for these outputs"),
        ({"params_hash": "0" * 64, "overrides": ["model.gone=1"]}, "small",
         "reports/run_report.json does not record the run's parameters and params/small.yaml cannot be checked "
         "against them (Unknown parameter 'model.gone' in --set; allowed keys here: alert_budget, "),
        ({"params_hash": "0" * 64, "overrides": "model.horizon_days=3"}, "small",
         "reports/run_report.json does not record the run's parameters and params/small.yaml cannot be checked "
         "against them (its overrides are not a list of text); re-run ./run_all.sh small to record them"),
    ],
)
def test_without_a_hash_to_match_the_profile_gives_no_parameters(
    params_dir: Path, report: dict, profile: str, reason: str
) -> None:
    params, said = data.run_params_from_profile(report, profile)
    assert params is None and said.startswith(reason)


def test_run_history_newest_first_with_unreadable_reports_named(outputs: Path) -> None:
    (outputs / "ci" / "runs" / "20260103T000000Z-0000000c").mkdir()
    (outputs / "ci" / "runs" / "20260103T000000Z-0000000c" / "run_report.json").write_text("{")
    runs, message = data.run_history("ci")
    assert runs["run_id"].tolist() == ["20260102T000000Z-0000000b", "20260101T000000Z-0000000a"]
    assert runs.iloc[0][["status", "duration_s", "drift_alerts", "quality"]].tolist() == ["succeeded", 12.5, 2, "pass"]
    assert runs.iloc[1]["error"] == "boom" and pd.isna(runs.iloc[1]["drift_alerts"]) and runs.iloc[0]["error"] == ""
    assert runs["days"].iloc[0] == "2026-03-16" and pd.isna(runs["days"].iloc[1])  # stopped before ingest read any
    assert message == "Run report(s) not readable: 20260103T000000Z-0000000c."
    assert data.run_history("ci", limit=1)[0]["run_id"].tolist() == ["20260102T000000Z-0000000b"]
    # JSON that is no report (a list, not an object) is not readable either.
    (outputs / "ci" / "runs" / "20260103T000000Z-0000000c" / "run_report.json").write_text("[]")
    assert data.run_history("ci")[1] == "Run report(s) not readable: 20260103T000000Z-0000000c."


@pytest.mark.parametrize(
    ("window", "days"),
    [
        ({"as_of": "2026-03-16", "start": "2026-03-16", "end": "2026-03-16"}, "2026-03-16"),
        ({"as_of": "2026-03-16", "start": "2026-03-14", "end": "2026-03-14"}, "2026-03-14 (as of 2026-03-16)"),
        ({"as_of": "2026-03-01", "start": "2026-01-01", "end": "2026-03-01"}, "2026-01-01 .. 2026-03-01"),
        ({"as_of": "2026-03-31", "start": "2026-03-01", "end": "2026-03-07"}, "2026-03-01 .. 2026-03-07 (as of 2026-03-31)"),
        ({"as_of": "2026-03-16", "start": None, "end": "2026-03-16"}, None),
        (None, None),
        ("2026-03-16", None),
    ],
)
def test_run_days_tell_a_daily_run_from_a_backfill_and_a_full_run(window: object, days: str | None) -> None:
    assert data.run_days(window) == days


def test_run_history_without_runs_or_with_bad_limit(outputs: Path) -> None:
    (outputs / "year").mkdir()
    assert data.run_history("year") == (None, "No runs recorded under runs/ yet: run ./run_all.sh year.")
    with pytest.raises(ValueError, match="limit"):
        data.run_history("ci", limit=0)


def test_run_history_names_a_run_in_progress_as_such_not_as_unreadable(outputs: Path) -> None:
    (outputs / "ci" / "runs" / "20260104T000000Z-0000000d").mkdir()  # the runner writes the report when the run ends
    # A folder of the user's own, which the runner leaves alone, read as a run "still running" forever.
    (outputs / "ci" / "runs" / "notes").mkdir()
    runs, message = data.run_history("ci")
    assert runs["run_id"].tolist() == ["20260102T000000Z-0000000b", "20260101T000000Z-0000000a"]
    assert message == ("Run(s) without a report yet (still running, or stopped before writing it): "
                       "20260104T000000Z-0000000d.")


def test_csv_text_that_looks_like_a_missing_value_is_kept(outputs: Path) -> None:
    """Owner teams and names come from other teams' files: "NA" (North America) is a team, not a gap."""
    from featurehealth import registry

    ranking = pd.DataFrame({"feature_id": ["0012", "B"], "owner_team": ["NA", "null"], "feature_name": ["None", "n/a"],
                            "risk_probability": [0.4, float("nan")]})
    registry.write_csv(ranking, outputs / "ci" / "reports" / "risk_ranking.csv")
    loaded, message = data.load_artifact("ci", "ranking")
    assert message == ""
    assert loaded["owner_team"].tolist() == ["NA", "null"] and loaded["feature_name"].tolist() == ["None", "n/a"]
    assert loaded["feature_id"].tolist() == ["0012", "B"]
    assert loaded["risk_probability"].iloc[0] == 0.4 and loaded["risk_probability"].isna().iloc[1]


def test_csv_text_that_looks_like_numbers_is_kept_as_written(outputs: Path) -> None:
    """A column of team codes "0042" or of names like "2024" is text: read as numbers it shows 42, 2024.0."""
    from featurehealth import registry

    ranking = pd.DataFrame({"feature_id": ["A", "B"], "feature_name": ["2024", "1.10"], "owner_team": ["0042", "0107"],
                            "tier": ["critical", "standard"], "lifecycle_stage": ["ga", "beta"],
                            "risk_probability": [0.4, 0.3]})
    registry.write_csv(ranking, outputs / "ci" / "reports" / "risk_ranking.csv")
    loaded, message = data.load_artifact("ci", "ranking")
    assert message == ""
    for column in ("feature_name", "owner_team"):
        assert loaded[column].tolist() == ranking[column].tolist()
    assert loaded["risk_probability"].tolist() == [0.4, 0.3]


def test_publish_state_tells_a_publish_under_way_from_one_a_killed_run_left(outputs: Path) -> None:
    from featurehealth import config, runner

    assert data.publish_state("ci") is None
    journal = config.publish_journal_path("ci")
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text('{"staging": "s", "published": "p", "trash": "t", "entries": ["reports"]}')
    assert data.publish_state("ci") == "interrupted"  # no run holds the profile: a killed publish
    with runner.profile_lock("ci"):
        assert data.publish_state("ci") == "publishing"


@pytest.mark.parametrize("journal_text", ["", "{}", "{not json"])
def test_publish_state_tells_a_killed_publish_whose_journal_cannot_be_read(outputs: Path, journal_text: str) -> None:
    # The next run cannot put such a publish back (it stops, naming the folders to sort out by
    # hand): "interrupted" would promise that it does.
    from featurehealth import config

    journal = config.publish_journal_path("ci")
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(journal_text)
    assert data.publish_state("ci") == "unreadable"


def test_published_stamp_changes_when_a_run_publishes_and_is_none_without_a_report(outputs: Path) -> None:
    assert data.published_stamp("ci") is None  # the fixture's outputs have no reports/run_report.json
    report = outputs / "ci" / "reports" / "run_report.json"
    report.write_text("{}")
    first = data.published_stamp("ci")
    assert first is not None and data.published_stamp("ci") == first
    staged = outputs / "ci" / "reports" / "run_report.json.new"
    staged.write_text("{}")
    staged.replace(report)  # a publish swaps a new file in
    assert data.published_stamp("ci") not in (None, first)
    assert data.published_stamp("gone") is None


def test_csv_text_written_as_text_for_spreadsheets_reads_as_it_was(outputs: Path) -> None:
    """The ' that keeps a spreadsheet from running "=1+1" as a formula is not part of the name on the page."""
    from featurehealth import registry

    ranking = pd.DataFrame({"feature_id": ["=A1", "B"], "feature_name": ["-2+3", "'@x"], "owner_team": ["@ops", "core"],
                            "driver_1": ["+z", "p95_latency_z"], "risk_probability": [0.4, 0.3]})
    registry.write_csv(ranking, outputs / "ci" / "reports" / "risk_ranking.csv")
    loaded, message = data.load_artifact("ci", "ranking")
    assert message == ""
    for column in ("feature_id", "feature_name", "owner_team", "driver_1"):
        assert loaded[column].tolist() == ranking[column].tolist()
