"""Exact feature-day aggregates, window merges, contracts and the incremental, idempotent step."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurehealth import aggregate, config, engine, ingest, runlog, warehouse

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _events(seed: int, days: list[str], n: int = 300) -> pa.Table:
    rng = np.random.default_rng(seed)
    day = rng.choice(np.array(days, dtype="datetime64[us]"), n)
    times = day + rng.integers(0, 86_400_000_000, n).astype("timedelta64[us]")
    feedback = np.where(rng.random(n) < 0.3, rng.integers(1, 6, n).astype(float), np.nan)
    return pa.table({
        "event_time": pa.array(times, pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
        "feature_id": rng.choice(["login", "search", "pay"], n),
        "user_id": [f"u{i}" for i in rng.integers(0, 40, n)],
        "latency_ms": rng.lognormal(4, 1, n),
        "is_crash": rng.random(n) < 0.05,
        "feedback_score": pa.array(feedback, from_pandas=True),
        "platform": rng.choice(["ios", "web"], n),
        # "5.10.0" is newer than "5.9.0" though it sorts first as text.
        "app_version": rng.choice(["5.9.0", "5.10.0", "4.12.3"], n, p=[0.6, 0.1, 0.3]),
        "error_count": rng.integers(0, 3, n),
    })


def _write_day_files(folder: Path, table: pa.Table) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    days = pd.Series(table["event_time"].to_pandas()).dt.strftime("%Y-%m-%d")
    for day in sorted(days.unique()):
        pq.write_table(table.filter(pa.array((days == day).to_numpy())), folder / f"events_{day}.parquet")
    return folder


def test_aggregates_are_exact(tmp_path: Path) -> None:
    table = _events(1, ["2026-03-01", "2026-03-02"])
    pq.write_table(table, tmp_path / "e.parquet")
    fact = aggregate.aggregate_events(warehouse.connect(), f"read_parquet('{tmp_path / 'e.parquet'}')")
    frame = table.to_pandas()
    frame["date"] = frame["event_time"].dt.date
    for (feature, day), group in frame.groupby(["feature_id", "date"]):
        row = fact[(fact["feature_id"] == feature) & (fact["date"] == day)].iloc[0]
        latency = group["latency_ms"].to_numpy()
        assert row["usage_count"] == len(group)
        assert row["active_users"] == group["user_id"].nunique()
        assert row[["p50_latency", "p95_latency", "p99_latency"]].tolist() == pytest.approx(
            np.percentile(latency, [50, 95, 99]), rel=1e-12)
        assert row["avg_latency"] == pytest.approx(latency.mean(), abs=1e-6)
        assert row["crash_count"] == group["is_crash"].sum()
        assert row["crash_rate"] == pytest.approx(group["is_crash"].mean())
        assert row["feedback_count"] == group["feedback_score"].notna().sum()
        assert row["avg_feedback"] == pytest.approx(group["feedback_score"].mean(), nan_ok=True)
        assert row["error_rate"] == pytest.approx(group["error_count"].mean())
        newest = group["app_version"] == "5.10.0"
        assert row["new_version_events"] == newest.sum()
        assert row["new_version_crashes"] == (newest & group["is_crash"]).sum()
    assert list(fact.columns) == [c for c in aggregate.FACT_COLUMNS if c != "is_degraded"]
    assert fact.equals(fact.sort_values(["feature_id", "date"]).reset_index(drop=True))


def _fact(rows: list[tuple[str, str, int]], **extra: list) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["feature_id", "date", "usage_count"])
    n = len(frame)
    return frame.assign(
        date=[date.fromisoformat(d) for d in frame["date"]], active_users=frame["usage_count"],
        avg_latency=1.0, p50_latency=1.0, p95_latency=2.0, p99_latency=3.0, crash_count=0, crash_rate=0.0,
        avg_feedback=np.nan, feedback_count=0, error_rate=0.0, new_version_events=0, new_version_crashes=0,
        is_degraded=[False] * n, **extra,
    )


def test_merge_window_replaces_days_and_appends_new_ones() -> None:
    previous = _fact([("a", "2026-03-01", 5), ("a", "2026-03-02", 5), ("b", "2026-03-02", 7)],
                     risk_probability=[0.1, 0.2, 0.3])
    new = _fact([("a", "2026-03-02", 9), ("a", "2026-03-03", 4)]).drop(columns="is_degraded")
    merged = aggregate.merge_window(previous, new, start=date(2026, 3, 2), end=date(2026, 3, 3))
    assert merged[["feature_id", "date", "usage_count"]].values.tolist() == [
        ["a", date(2026, 3, 1), 5], ["a", date(2026, 3, 2), 9], ["a", date(2026, 3, 3), 4]]
    assert merged["risk_probability"].tolist()[0] == 0.1 and merged["risk_probability"].isna().sum() == 2
    assert previous["usage_count"].tolist() == [5, 5, 7]
    with pytest.raises(ValueError, match="lacks column.s. error_rate .* rebuild it"):
        aggregate.merge_window(previous.drop(columns="error_rate"), new, start=date(2026, 3, 2), end=date(2026, 3, 3))
    # A window covering every published day replaces the older table whole: the way to rebuild it.
    rebuilt = aggregate.merge_window(previous.drop(columns="error_rate"), new, start=date(2026, 3, 1), end=date(2026, 3, 3))
    assert rebuilt["date"].tolist() == [date(2026, 3, 2), date(2026, 3, 3)] and "error_rate" in rebuilt


def test_a_damaged_published_fact_table_is_named_with_the_way_to_rebuild_it() -> None:
    # A published day with a negative count stopped 02_aggregate with "fact_feature_metrics breaks its
    # contract: a count is negative.": no table, no column, no way out.
    previous = _fact([("a", "2026-03-01", 5), ("b", "2026-03-01", 6), ("a", "2026-03-02", 5)]).assign(crash_count=[-1, -2, 0])
    new = _fact([("a", "2026-03-02", 9)]).drop(columns="is_degraded")
    with pytest.raises(ValueError) as damaged:
        aggregate.merge_window(previous, new, start=date(2026, 3, 2), end=date(2026, 3, 2))
    assert str(damaged.value) == (
        "The published fact table breaks its contract on days outside the window 2026-03-02..2026-03-02 "
        "(crash_count is negative on 2 rows); re-run with ingest.window_start and ingest.window_end empty "
        "to rebuild it from every input day."
    )
    # Within the window the published rows are replaced, whatever they held.
    merged = aggregate.merge_window(previous, new, start=date(2026, 3, 1), end=date(2026, 3, 2))
    assert merged["usage_count"].tolist() == [9]


def test_merge_window_rejects_new_days_outside_the_window() -> None:
    new = _fact([("a", "2026-03-05", 1)])
    with pytest.raises(ValueError, match="outside the window"):
        aggregate.merge_window(None, new, start=date(2026, 3, 1), end=date(2026, 3, 2))


def _aggregate_one_feature_day(columns: str) -> pd.Series:
    """Aggregate events of feature ``a`` on 2026-03-01 by user u1 (5 ms, no feedback) plus ``columns``
    (SQL select items, optionally followed by a FROM clause giving one event per row)."""
    con = warehouse.connect()
    con.execute(
        "CREATE TABLE e AS SELECT TIMESTAMPTZ '2026-03-01 10:00:00+00' AS event_time, 'a' AS feature_id, "
        f"'u1' AS user_id, 5.0 AS latency_ms, NULL::DOUBLE AS feedback_score, {columns}"
    )
    return aggregate.aggregate_events(con, "e").iloc[0]


def test_optional_columns_absent_give_nan_errors_and_no_new_version() -> None:
    row = _aggregate_one_feature_day("true AS is_crash, NULL::VARCHAR AS app_version, NULL::BIGINT AS error_count")
    assert np.isnan(row["error_rate"]) and row["new_version_events"] == 0 and row["new_version_crashes"] == 0


def test_per_feature_day_rows_hold_a_user_count_not_every_event_s_user_id() -> None:
    # Both the newest-version step and the final select read these rows, so DuckDB keeps all of
    # them in memory: a list of user ids per feature-day there held every event's id at once.
    con = warehouse.connect()
    con.execute("CREATE TABLE e AS SELECT * FROM (VALUES (TIMESTAMPTZ '2026-03-01 10:00:00+00', 'a', 'u1', 5.0, "
                "false, NULL::DOUBLE, '1.0', 0::BIGINT)) AS t(event_time, feature_id, user_id, latency_ms, is_crash, "
                "feedback_score, app_version, error_count)")
    types = {name: kind for name, kind, *_ in con.sql(f"DESCRIBE {aggregate.feature_day_sql('e')}").fetchall()}
    assert types["active_users"] == "BIGINT" and "VARCHAR[]" not in types.values()


def test_check_fact_normalises_and_rejects_duplicates() -> None:
    fact = _fact([("b", "2026-03-02", 1), ("a", "2026-03-01", 2)])
    checked = aggregate.check_fact(fact.assign(date=pd.to_datetime(fact["date"])))
    assert checked["feature_id"].tolist() == ["a", "b"] and checked["date"].tolist()[0] == date(2026, 3, 1)
    with pytest.raises(ValueError, match="more than once"):
        aggregate.check_fact(pd.concat([fact, fact]))
    with pytest.raises(ValueError, match="lacks column"):
        aggregate.check_fact(fact.drop(columns="crash_rate"))


def test_check_fact_says_which_values_are_missing_rather_than_out_of_range() -> None:
    fact = _fact([("a", "2026-03-01", 2), ("a", "2026-03-02", 2), ("b", "2026-03-02", 1)])
    with pytest.raises(ValueError) as caught:
        aggregate.check_fact(fact.assign(crash_rate=[np.nan, np.nan, 0.1], usage_count=[2, np.nan, 1]))
    message = str(caught.value)
    assert "crash_rate is missing on 2 rows" in message and "usage_count is missing on 1 row" in message
    assert "outside [0, 1]" not in message and "negative" not in message
    with pytest.raises(ValueError, match="crash_rate is outside \\[0, 1\\] on 1 row"):
        aggregate.check_fact(fact.assign(crash_rate=[0.0, 1.5, np.nan]).fillna({"crash_rate": 0.2}))


def test_build_dim_flags_features_missing_from_metadata() -> None:
    metadata = pd.DataFrame({c: ["b"] if c == "feature_id" else ["x"] for c in ingest.METADATA_COLUMNS})
    dim = aggregate.build_dim(metadata, ["c", "b", "a"])
    assert dim["feature_id"].tolist() == ["a", "b", "c"]
    assert dim["in_metadata"].tolist() == [False, True, False]
    assert dim.loc[dim["feature_id"] == "a", "owner_team"].item() == aggregate.UNASSIGNED_OWNER
    assert aggregate.build_dim(None, ["a"])["in_metadata"].tolist() == [False]


def test_check_valid_count() -> None:
    aggregate.check_valid_count(_fact([("a", "2026-03-01", 3)]), rows_valid=3)
    with pytest.raises(RuntimeError, match="Row accounting failed"):
        aggregate.check_valid_count(_fact([("a", "2026-03-01", 3)]), rows_valid=4)


def _run(source: Path, paths: config.RunPaths, **window: str) -> pd.DataFrame:
    """01 then 02 in miniature: validate a window, aggregate it, merge, store."""
    con = warehouse.connect()
    raw = ingest.open_events(con, source, column_map={})
    result = engine.validate_and_aggregate(
        con, raw, quarantine_dir=paths.quarantine, work_dir=paths.work, now=NOW, partition_days=1, **window)
    con.close()
    new = aggregate.read_window_fact(paths.work)
    aggregate.check_valid_count(new, rows_valid=result.summary["rows_valid"])
    previous = warehouse.read_table(paths, "fact_feature_metrics", missing_ok=True)
    start, end = aggregate.window_of(result.summary)
    fact = aggregate.merge_window(previous, new, start=start, end=end).assign(is_degraded=False)
    warehouse.write_tables(paths, fact_feature_metrics=fact)
    return warehouse.read_table(paths, "fact_feature_metrics")


def test_rerunning_a_window_replaces_it_and_a_new_day_appends(tmp_path: Path) -> None:
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    source = _write_day_files(tmp_path / "events", _events(2, days, n=600))
    paths = config.RunPaths(tmp_path / "run").ensure()
    full = _run(source / "events_2026-03-0[12].parquet", paths)
    assert sorted({d.isoformat() for d in full["date"]}) == days[:2]
    again = _run(source, paths, window_start="2026-03-02", window_end="2026-03-02", as_of="2026-03-02")
    pd.testing.assert_frame_equal(again, full)
    appended = _run(source / "events_2026-03-03.parquet", paths)
    assert not appended.duplicated(["feature_id", "date"]).any()
    assert len(appended) == len(full) + appended["date"].eq(date(2026, 3, 3)).sum()
    pd.testing.assert_frame_equal(appended[appended["date"] < date(2026, 3, 3)].reset_index(drop=True), full)


def test_same_inputs_give_identical_tables(tmp_path: Path) -> None:
    source = _write_day_files(tmp_path / "events", _events(3, ["2026-03-01", "2026-03-02"]))
    digests = []
    for name in ("one", "two"):
        paths = config.RunPaths(tmp_path / name).ensure()
        _run(source, paths)
        digests.append(runlog.sha256_file(warehouse.table_path(paths, "fact_feature_metrics")))
    assert digests[0] == digests[1]


def test_ingest_summary_is_read_from_the_reports_folder(tmp_path: Path) -> None:
    runlog.write_json(tmp_path / aggregate.INGEST_SUMMARY_FILE, {"window_start": "2026-03-01", "window_end": "2026-03-02"})
    assert aggregate.window_of(aggregate.read_ingest_summary(tmp_path)) == (date(2026, 3, 1), date(2026, 3, 2))


def test_03_model_refuses_degradation_the_labels_were_not_flagged_with(tmp_path: Path) -> None:
    # degradation set in 03_model's parameters cell alone changed its signals and model card, but
    # not the is_degraded labels 02_aggregate flagged: the card claimed settings the labels lacked.
    paths = config.RunPaths(tmp_path)
    flagged = {"min_usage": 50, "p95_latency_rel": 1.6}
    runlog.record_step(paths, aggregate.AGGREGATE_STEP, rows_in=3, degradation=flagged)
    aggregate.check_labels_degradation(paths.reports, degradation=dict(flagged))
    with pytest.raises(config.ProfileError, match=r"flagged by 02_aggregate with degradation min_usage=50, not this "
                                                  r"notebook's min_usage=80; set the same in 02_aggregate's parameters cell"):
        aggregate.check_labels_degradation(paths.reports, degradation={**flagged, "min_usage": 80})


def test_labels_unlike_the_profile_s_degradation_say_what_to_set_here_or_to_rerun_both_steps(tmp_path: Path) -> None:
    # A threshold changed in params/<profile>.yaml after a run (or set in 02_aggregate's cell alone),
    # then 03_model opened by hand with an empty degradation cell: the message said to set the same
    # in 02_aggregate's cell and to run 02_aggregate, which stops until 01_ingest has run.
    paths = config.RunPaths(tmp_path)
    runlog.record_step(paths, aggregate.AGGREGATE_STEP, rows_in=3, degradation={"min_usage": 50})
    with pytest.raises(config.ProfileError) as raised:
        aggregate.check_labels_degradation(paths.reports, degradation={"min_usage": 80}, set_here={})
    message = str(raised.value)
    assert "02_aggregate's parameters cell" not in message and "min_usage=50" in message and "min_usage=80" in message
    assert "profile" in message and "01_ingest and 02_aggregate" in message
    assert 'set degradation = {"min_usage": 50} in this notebook\'s parameters cell' in message
    with pytest.raises(config.ProfileError, match=r"set the same in 02_aggregate's parameters cell"):
        aggregate.check_labels_degradation(paths.reports, degradation={"min_usage": 80}, set_here={"min_usage": 80})


def test_labels_of_unknown_degradation_are_not_refused(tmp_path: Path) -> None:
    # A fact table published before 02_aggregate recorded its group, or a key newer than the record.
    paths = config.RunPaths(tmp_path)
    aggregate.check_labels_degradation(paths.reports, degradation={"min_usage": 80})
    runlog.record_step(paths, aggregate.AGGREGATE_STEP, rows_in=3)
    assert aggregate.labels_degradation(paths.reports) is None
    aggregate.check_labels_degradation(paths.reports, degradation={"min_usage": 80})
    runlog.record_step(paths, aggregate.AGGREGATE_STEP, degradation={"min_usage": 50})
    aggregate.check_labels_degradation(paths.reports, degradation={"min_usage": 50, "min_feedback": 9})


def test_a_missing_ingest_summary_says_to_run_01_ingest_first(tmp_path: Path) -> None:
    # 02_aggregate run by hand before 01_ingest: one sentence naming the step, not a bare errno.
    with pytest.raises(FileNotFoundError, match=r"ingest_summary\.json does not exist; run notebook 01_ingest first"):
        aggregate.read_ingest_summary(tmp_path)


@pytest.mark.parametrize("placeholder", ["unknown", "dev", "x.1"])
def test_a_version_without_a_number_is_never_the_newest(placeholder: str) -> None:
    # 5.10.0 twice (one crash), 5.9.0 once and a placeholder once: the newest version is 5.10.0.
    row = _aggregate_one_feature_day(
        "c AS is_crash, v AS app_version, 0::BIGINT AS error_count "
        f"FROM (VALUES ('5.10.0', true), ('5.10.0', false), ('5.9.0', true), ('{placeholder}', true)) AS t(v, c)"
    )
    assert row["new_version_events"] == 2 and row["new_version_crashes"] == 1


def test_newest_version_ignores_a_leading_v_and_puts_a_release_after_its_pre_release() -> None:
    row = _aggregate_one_feature_day(
        "false AS is_crash, v AS app_version, 0::BIGINT AS error_count "
        "FROM (VALUES ('v5.10.0'), ('5.9.0'), ('5.9.0'), ('5.10.0-rc1'), ('5.10.0-rc1'), ('5.10.0-rc1')) AS t(v)"
    )
    assert row["new_version_events"] == 1


def _newest_version_counts(feature_versions: list[tuple[str, str, bool]]) -> list[list[int]]:
    """``[new_version_events, new_version_crashes]`` per feature of one day's events, each given as
    (feature_id, app_version, is_crash)."""
    features, versions, crashes = zip(*feature_versions, strict=True)
    events = pd.DataFrame({
        "event_time": pd.Timestamp("2026-03-01 10:00", tz="UTC"), "feature_id": features, "user_id": "u1",
        "latency_ms": 5.0, "is_crash": crashes, "feedback_score": pd.array([None] * len(features), dtype="Float64"),
        "app_version": versions, "error_count": 0,
    })
    con = warehouse.connect()
    con.register("e", events)
    return aggregate.aggregate_events(con, "e")[["new_version_events", "new_version_crashes"]].values.tolist()


def test_newest_version_counts_its_spellings_with_and_without_a_leading_v_as_one() -> None:
    # The newest release spelled v5.10.0 and 5.10.0 had its events split between the spellings:
    # only one counted, and a feature whose events all carried the other counted none.
    counts = _newest_version_counts([
        ("a", "v5.10.0", True), ("a", "5.10.0", False), ("a", " V5.10.0 ", True), ("a", "5.9.0", True),
        ("b", "5.10.0", True), ("b", "5.10.0", False),
    ])
    assert counts == [[3, 2], [2, 1]]


def test_versions_differing_beyond_a_leading_v_stay_distinct() -> None:
    # Only the spelling is one: 5.10.0, 5.10 and 5.10.1-rc1 are other versions than the newest 5.10.1.
    counts = _newest_version_counts([
        ("a", "5.10.1", False), ("a", "5.10.0", True), ("a", "v5.10.0", True), ("a", "5.10", True),
        ("a", "5.10.1-rc1", True),
    ])
    assert counts == [[1, 0]]


@pytest.mark.parametrize(("versions", "newest_events"), [
    # 5.10-rc1 (twice) is newer than 5.9 (once): its suffix must not drop the 10.
    (["5.10-rc1", "5.10-rc1", "5.9"], 2),
    # A release is newer than its pre-release, whichever part the suffix is on.
    (["5.10", "5.10-rc1", "5.10-rc1"], 1),
    (["2.0.1", "2.0.1-beta", "2.0.1-beta", "2.0.0"], 1),
    # Pre-releases of one version compare by their identifiers, numbers by value.
    (["5.10.0-beta.10", "5.10.0-beta.2", "5.10.0-beta.2"], 1),
])
def test_newest_version_reads_the_number_before_a_suffix(versions: list[str], newest_events: int) -> None:
    listed = ", ".join(f"('{v}')" for v in versions)
    row = _aggregate_one_feature_day(
        f"false AS is_crash, v AS app_version, 0::BIGINT AS error_count FROM (VALUES {listed}) AS t(v)"
    )
    assert row["new_version_events"] == newest_events


@pytest.mark.parametrize("versions", [
    # Dot-separated pre-release identifiers (semver's 1.0.0-beta.2) made the pre-release's list of
    # numbers longer than its release's, so the straggling beta outranked the full rollout.
    ["5.10.0", "5.10.0-beta.3", "5.10.0-beta.3"],
    ["5.10.0", "5.10.0-rc.1", "5.10.0-rc.1", "5.9.0"],
])
def test_a_release_is_newer_than_its_dotted_pre_release(versions: list[str]) -> None:
    listed = ", ".join(f"('{v}')" for v in versions)
    row = _aggregate_one_feature_day(
        f"false AS is_crash, v AS app_version, 0::BIGINT AS error_count FROM (VALUES {listed}) AS t(v)"
    )
    assert row["new_version_events"] == 1


def test_a_day_with_only_placeholder_versions_has_no_newest_version() -> None:
    # An export writing "unknown" for every missing version made all the day's events and
    # crashes count as the newest version's.
    row = _aggregate_one_feature_day(
        "c AS is_crash, v AS app_version, 0::BIGINT AS error_count "
        "FROM (VALUES ('unknown', true), ('unknown', false), ('n/a', true)) AS t(v, c)"
    )
    assert row["new_version_events"] == 0 and row["new_version_crashes"] == 0


def test_error_rate_counts_only_events_with_a_known_error_count() -> None:
    row = _aggregate_one_feature_day(
        "false AS is_crash, '1.0' AS app_version, n AS error_count FROM (VALUES (2::BIGINT), (NULL), (4)) AS t(n)"
    )
    assert row["usage_count"] == 3 and row["error_rate"] == pytest.approx((2 + 4) / 2)


def test_check_fact_rejects_a_repeated_feature_day_negative_counts_and_missing_keys() -> None:
    fact = _fact([("a", "2026-03-01", 2), ("a", "2026-03-02", 3)])
    with pytest.raises(ValueError, match="more than once"):
        aggregate.check_fact(fact.assign(date=[date(2026, 3, 1)] * 2))  # same day, different counts
    with pytest.raises(ValueError, match=r"crash_count is negative on 1 row\.$"):
        aggregate.check_fact(fact.assign(crash_count=[0, -1]))
    with pytest.raises(ValueError, match="a feature_id or date is missing"):
        aggregate.check_fact(fact.assign(feature_id=["a", None]))


def test_drop_days_before_removes_published_days_before_the_date_and_names_them() -> None:
    # A stray row dated 2019 published that day; every later run kept it, as it lies outside their windows.
    published = _fact([("a", "2019-05-03", 1), ("a", "2026-01-01", 5), ("b", "2026-01-02", 7)])
    kept, dropped = aggregate.drop_days_before(published, day="2026-01-01")
    assert kept["date"].tolist() == [date(2026, 1, 1), date(2026, 1, 2)] and list(kept.index) == [0, 1]
    assert dropped == ["2019-05-03"]
    assert aggregate.drop_days_before(published, day="")[0] is published
    assert aggregate.drop_days_before(None, day="2026-01-01") == (None, [])
    # Left set on later runs, after the stray day is gone: nothing to drop, the table itself.
    kept_again, dropped_again = aggregate.drop_days_before(kept, day="2026-01-01")
    assert kept_again is kept and dropped_again == []
