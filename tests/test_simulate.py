"""Telemetry simulator: determinism, schema, incidents visible at their dates, malformed share."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from featurehealth import runlog, simulate

SMALL = dict(n_features=6, n_days=60, events_per_day=3000, seed=3, malformed_share=0.01,
             incidents_per_feature_year=12.0)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim") / "small"
    return out, simulate.ensure_simulation(out, **SMALL)


def _events(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "events")


def test_same_seed_gives_identical_files(small: tuple[Path, dict], tmp_path: Path) -> None:
    out, summary = small
    again = simulate.simulate_telemetry(tmp_path / "again", **SMALL)
    assert again["files"] == summary["files"]
    other = simulate.simulate_telemetry(tmp_path / "other", **{**SMALL, "seed": 4})
    assert other["files"] != summary["files"]


def test_schema_matches_the_raw_contract(small: tuple[Path, dict]) -> None:
    out, _ = small
    schema = pq.read_schema(next((out / "events").glob("*.parquet")))
    assert {f.name: str(f.type) for f in schema} == {
        "event_time": "timestamp[us, tz=UTC]", "feature_id": "string", "user_id": "string",
        "latency_ms": "double", "is_crash": "bool", "feedback_score": "double", "platform": "string",
        "app_version": "string", "error_count": "int64",
    }
    dim = pd.read_csv(out / "dim_feature_metadata.csv")
    assert list(dim.columns) == ["feature_id", "feature_name", "owner_team", "lifecycle_stage", "tier", "launch_date"]
    assert dim["feature_id"].is_unique and dim["feature_name"].is_unique
    assert set(dim["lifecycle_stage"]) <= {"experimental", "beta", "ga", "deprecated"}
    assert set(dim["tier"]) <= {"critical", "standard"}


def test_one_file_per_day_sorted_by_time(small: tuple[Path, dict]) -> None:
    out, _ = small
    files = sorted((out / "events").glob("*.parquet"))
    assert len(files) == SMALL["n_days"]
    day = pd.read_parquet(files[10])
    times = day["event_time"].dropna()
    normal = times[times < times.min() + pd.Timedelta(days=1)]
    assert normal.is_monotonic_increasing


def test_malformed_share_and_counts(small: tuple[Path, dict]) -> None:
    out, summary = small
    events = _events(out)
    bad = sum(summary["malformed_rows"].values())
    assert summary["rows"] == len(events)
    assert 0.007 < bad / len(events) < 0.013
    assert (events["latency_ms"] < 0).sum() == summary["malformed_rows"]["negative_latency"]
    assert events["user_id"].isna().sum() == summary["malformed_rows"]["null_user_id"]
    assert events["feedback_score"].isin([0, 7]).sum() == (
        summary["malformed_rows"]["feedback_zero"] + summary["malformed_rows"]["feedback_seven"]
    )
    assert events.duplicated().sum() >= summary["malformed_rows"]["duplicate_event"]


def test_no_events_before_launch(small: tuple[Path, dict]) -> None:
    out, _ = small
    events = _events(out).dropna(subset=["event_time", "feature_id"])
    events = events[events["feature_id"] != ""]
    dim = pd.read_csv(out / "dim_feature_metadata.csv")
    first = events.groupby("feature_id")["event_time"].min().dt.date.astype(str)
    launch = dim.set_index("feature_id")["launch_date"]
    assert (first >= launch.reindex(first.index)).all()


def test_incidents_are_visible_on_their_days(small: tuple[Path, dict]) -> None:
    out, _ = small
    truth = pd.read_csv(out / "incidents.csv")
    assert len(truth) >= 4 and set(truth["kind"]) <= set(simulate.INCIDENT_KINDS)
    events = _events(out).dropna(subset=["event_time", "feature_id"])
    events = events[(events["latency_ms"] >= 0) & (events["latency_ms"] < 600_000)]
    events["date"] = events["event_time"].dt.date.astype(str)
    daily = events.groupby(["feature_id", "date"]).agg(
        p95=("latency_ms", lambda s: s.quantile(0.95)), crash=("is_crash", "mean"),
        usage=("is_crash", "size"), feedback=("feedback_score", "mean"),
    )
    metric = {"latency_creep": ("p95", 1), "crash_spike_rollout": ("crash", 1),
              "partial_outage": ("usage", -1), "feedback_decline": ("feedback", -1)}
    hits = 0
    for incident in truth.itertuples():
        name, sign = metric[incident.kind]
        series = daily.loc[incident.feature_id, name]
        during = series[(series.index >= incident.start) & (series.index <= incident.end)].median()
        before = series[series.index < incident.start].iloc[-21:-max(incident.precursor_days, 1)].median()
        hits += sign * (during - before) > 0.3 * abs(before)
    assert hits / len(truth) >= 0.9


def test_ensure_simulation_reuses_and_regenerates(tmp_path: Path) -> None:
    out = tmp_path / "data"
    tiny = {**SMALL, "n_days": 5}
    summary = simulate.ensure_simulation(out, **tiny)
    stamp_before = (out / "simulation.json").stat().st_mtime_ns
    assert simulate.ensure_simulation(out, **tiny) == summary
    assert (out / "simulation.json").stat().st_mtime_ns == stamp_before
    changed = simulate.ensure_simulation(out, **{**tiny, "n_days": 3})
    assert changed["params"]["n_days"] == 3 and len(list((out / "events").glob("*.parquet"))) == 3
    assert not list(out.parent.glob(f".{out.name}*"))  # no staging folders left behind


def test_csv_output(tmp_path: Path) -> None:
    summary = simulate.simulate_telemetry(tmp_path / "csv", **{**SMALL, "n_days": 3, "file_format": "csv"})
    files = sorted((tmp_path / "csv" / "events").glob("*.csv"))
    assert len(files) == 3
    assert sum(len(pd.read_csv(f)) for f in files) == summary["rows"]


@pytest.mark.parametrize(
    ("change", "message"),
    [({"file_format": "xlsx"}, "file_format must be one of parquet, csv"),
     ({"malformed_share": 0.7}, r"malformed_share must be in \[0, 0.5\)"),
     ({"n_days": 0}, "must be >= 1")],
)
def test_invalid_arguments(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate.simulate_telemetry(tmp_path, **{**SMALL, **change})


def test_unknown_parameter_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown simulation parameter"):
        simulate.ensure_simulation(tmp_path / "x", n_feature=3)


def test_summary_is_written(small: tuple[Path, dict]) -> None:
    out, summary = small
    assert runlog.read_json(out / "simulation.json") == summary
    assert summary["incidents_with_precursor"] < sum(summary["incidents_by_kind"].values())
