"""Day partitions, file pruning and the local and Dask engines (equal results, clear errors)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurehealth import aggregate, config, engine, ingest, runlog, runner, warehouse

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = 86_400_000_000


def _day(text: str) -> int:
    return (pd.Timestamp(text).date() - pd.Timestamp("1970-01-01").date()).days


def _index(rows: list[tuple[int, float | None, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["file_id", "day", "rows"]).astype({"day": "float64"})


def test_check_engine_lists_allowed_values() -> None:
    assert engine.check_engine(name="dask")["partition_days"] == 31
    with pytest.raises(ValueError, match="allowed: local, dask"):
        engine.check_engine(name="spark")
    with pytest.raises(ValueError, match="engine.partition_days must be a positive number"):
        engine.check_engine(name="local", partition_days=0)


def test_run_locally_keeps_order() -> None:
    assert engine.run_locally(lambda x: x * 2, [3, 1, 2]) == [6, 2, 4]


def test_each_aggregated_partition_reports_its_days_rows_and_time(tmp_path: Path) -> None:
    # A year-long backfill printed nothing while its partitions ran: "half done" read as "stuck".
    con = warehouse.connect()
    raw = ingest.open_events(con, _write_days(tmp_path / "in"), column_map={})
    lines: list[str] = []
    result = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path, work_dir=tmp_path, now=NOW,
                                           partition_days=2, progress=lines.append)
    # Two-day blocks on a fixed grid (the first is 2026-02-28..03-01), named by the days they hold;
    # the first also reads the undated and the future rows.
    assert [re.sub(r"after \d+ s$", "after N s", line) for line in lines] == [
        "aggregated partition 1 of 2 (2026-03-01): 4 rows, after N s",
        "aggregated partition 2 of 2 (2026-03-02..2026-03-03): 4 rows, after N s",
    ]
    assert result.summary["rows_read"] == 8


def test_plan_partitions_keeps_days_whole_and_places_undated_rows_once() -> None:
    index = _index([
        (0, 10, 5), (0, None, 1),   # days 10, plus an undated row
        (1, 11, 5), (1, 12, 5),     # crosses into the next block
        (2, 3, 5), (2, None, 1),    # dated only before the range: not read
        (3, None, 2),               # no dated row at all: read by the first partition
    ])
    plan = engine.plan_partitions(index, lo=9, hi=None, partition_days=12)
    assert plan == [(9, 11, [0, 1, 3], [0, 3]), (12, 23, [1], [])]
    assert engine.plan_partitions(_index([(0, 3, 1)]), lo=9, hi=9, partition_days=5) == [(1, 0, [0], [])]


def test_provably_outside_needs_dated_rows_all_before_or_after() -> None:
    start = _day("2026-03-02")
    before = ingest.FooterStats(rows=3, nulls=1, low_us=(start - 2) * DAY, high_us=start * DAY - 1)
    assert engine.provably_outside(before, lo=start, hi=None, now=NOW)
    assert engine.provably_outside(
        ingest.FooterStats(rows=1, nulls=0, low_us=(start + 5) * DAY, high_us=(start + 5) * DAY), lo=start, hi=start,
        now=NOW)
    # A future value may be the only "dated-looking" row: future rows are undated.
    future = ingest.FooterStats(rows=2, nulls=0, low_us=(start - 2) * DAY, high_us=(start + 10_000) * DAY)
    assert not engine.provably_outside(future, lo=start, hi=None, now=NOW)
    assert not engine.provably_outside(ingest.FooterStats(rows=2, nulls=2, low_us=0, high_us=0), lo=start, hi=None,
                                       now=NOW)
    assert not engine.provably_outside(None, lo=start, hi=None, now=NOW)
    # A zero epoch is the null sentinel of many exports: that row is undated, so it places the file nowhere.
    sentinel = ingest.FooterStats(rows=2, nulls=0, low_us=0, high_us=0)
    assert not engine.provably_outside(sentinel, lo=start, hi=None, now=NOW)


def _write_days(folder: Path) -> Path:
    """Daily files, one with an undated row beside in-window days, one of future rows only."""
    folder.mkdir(parents=True, exist_ok=True)

    def table(times: list[str | None], users: list[str]) -> pa.Table:
        stamps = pa.array([None if t is None else pd.Timestamp(t) for t in times], pa.timestamp("us", tz="UTC"))
        n = len(times)
        return pa.table({"event_time": stamps, "feature_id": ["a"] * n, "user_id": users,
                         "latency_ms": [10.0 + i for i in range(n)], "is_crash": [False] * n})

    pq.write_table(table(["2026-03-01T10:00Z", "2026-03-01T11:00Z", None], ["u1", "u2", "u3"]),
                   folder / "e_2026-03-01.parquet")
    pq.write_table(table(["2026-03-02T10:00Z", "2026-03-02T10:00Z", "2026-03-03T09:00Z", None],
                         ["u1", "u1", "u2", "u4"]), folder / "e_2026-03-02.parquet")
    pq.write_table(table(["2099-01-01T00:00Z"], ["u9"]), folder / "e_future.parquet")
    return folder


def _ingest(source: Path, out: Path, **window: str) -> tuple[dict, bytes, pd.DataFrame, int]:
    con = warehouse.connect()
    raw = ingest.open_events(con, source, column_map={})
    result = engine.validate_and_aggregate(con, raw, quarantine_dir=out, work_dir=out, now=NOW, **window)
    return result.summary, result.quarantine_path.read_bytes(), aggregate.read_window_fact(out), result.files_read


def test_pruned_daily_run_equals_an_unpruned_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _write_days(tmp_path / "in")
    window = {"as_of": "2026-03-02", "window_start": "2026-03-02", "window_end": "2026-03-02"}
    raw = ingest.open_events(warehouse.connect(), source, column_map={})
    # Only the first day's file is skipped by its footer: the future-only file and the file with
    # an undated row beside in-window days are read.
    day = _day("2026-03-02")
    assert engine.pruned_files(raw, lo=day, hi=day, now=NOW)["file_id"].tolist() == [0]
    pruned = _ingest(source, tmp_path / "pruned", **window)
    monkeypatch.setattr(ingest, "footer_stats", lambda _path, _column: None)
    assert engine.pruned_files(raw, lo=day, hi=day, now=NOW).empty
    full = _ingest(source, tmp_path / "full", **window)
    assert pruned[0] == full[0] and pruned[1] == full[1]
    pd.testing.assert_frame_equal(pruned[2], full[2], check_exact=True)
    assert (pruned[3], full[3]) == (2, 2)
    assert pruned[0]["by_reason"] == {"missing_event_time": 1, "future_event_time": 1}
    assert pruned[0]["rows_outside_window"] == 4 and pruned[0]["files"][0] == {"name": "e_2026-03-01.parquet", "rows": 3}
    # The files whose undated rows the run judged (the dashboard's examples of the window's quarantine).
    assert pruned[0]["window_files"] == ["e_2026-03-02.parquet", "e_future.parquet"]


def test_a_refused_window_leaves_the_published_quarantine_as_it_was(tmp_path: Path) -> None:
    source = _write_days(tmp_path / "in")
    out = tmp_path / "out"
    published = _ingest(source, out)[1]
    seen: list[object] = []

    def refuse(window: object) -> None:
        seen.append(window)
        raise ingest.InputError("another source")

    con = warehouse.connect()
    with pytest.raises(ingest.InputError, match="another source"):
        engine.validate_and_aggregate(con, ingest.open_events(con, source, column_map={}), quarantine_dir=out,
                                      work_dir=tmp_path / "work", now=NOW, window_start="2026-03-02", check_window=refuse)
    assert [(w.start.isoformat(), w.end.isoformat()) for w in seen] == [("2026-03-02", "2026-03-03")]
    assert (out / "quarantine.parquet").read_bytes() == published


def test_a_window_replacing_another_source_drops_its_quarantined_rows(tmp_path: Path) -> None:
    source = _write_days(tmp_path / "in")
    out = tmp_path / "out"
    _ingest(source, out)
    con = warehouse.connect()
    raw = ingest.open_events(con, source, column_map={})
    kept = engine.validate_and_aggregate(con, raw, quarantine_dir=out, work_dir=out, now=NOW, window_start="2026-03-02",
                                         check_window=lambda _window: False)
    # The first day's file holds no row of the window: its undated row stays unless the source changed.
    assert "e_2026-03-01.parquet" in set(pd.read_parquet(kept.quarantine_path)["source_file"])
    replaced = engine.validate_and_aggregate(con, raw, quarantine_dir=out, work_dir=out, now=NOW,
                                             window_start="2026-03-02", check_window=lambda _window: True)
    assert "e_2026-03-01.parquet" not in set(pd.read_parquet(replaced.quarantine_path)["source_file"])
    assert len(pd.read_parquet(replaced.quarantine_path)) == replaced.summary["rows_quarantined"]


def _write_events_at(path: Path, times: list[str]) -> None:
    """A Parquet file of feature ``a``'s valid events at ``times`` (UTC), one user each."""
    n = len(times)
    pq.write_table(pa.table({"event_time": pa.array([pd.Timestamp(t) for t in times], pa.timestamp("us", tz="UTC")),
                             "feature_id": ["a"] * n, "user_id": [f"u{i}" for i in range(n)],
                             "latency_ms": [10.0] * n, "is_crash": [False] * n}), path)


def test_the_day_before_the_window_is_counted_exactly_beside_pruned_files(tmp_path: Path) -> None:
    # Files cut at local midnight: each holds the evening before its day. The daily run of 03-03 must
    # count the rows of 03-02 exactly (for late_rows), not all of a skipped file's rows on its last day.
    folder = tmp_path / "in"
    folder.mkdir()

    _write_events_at(folder / "local_2026-03-01.parquet", ["2026-02-28T23:00Z", "2026-03-01T10:00Z"])
    _write_events_at(folder / "local_2026-03-02.parquet", ["2026-03-01T23:00Z", "2026-03-01T23:30Z", "2026-03-02T10:00Z"])
    _write_events_at(folder / "local_2026-03-03.parquet", ["2026-03-02T23:30Z", "2026-03-03T10:00Z", "2026-03-03T11:00Z"])
    summary = _ingest(folder, tmp_path / "out", as_of="2026-03-03", window_start="2026-03-03")[0]
    assert summary["day_before_window"] == {"date": "2026-03-02", "input_rows": 2, "quarantined_rows": 0}
    assert summary["rows_in"] == 2 and summary["rows_outside_window"] == 6


def test_days_earlier_runs_found_empty_are_counted_exactly_beside_pruned_files(tmp_path: Path) -> None:
    # 2026-02-28 had no row when a run read it; its rows came later, in a file ending on 03-01 that a
    # daily run skips by its footer (which would give all 3 rows to 03-01): the run counts 02-28's rows.
    folder = tmp_path / "in"
    folder.mkdir()

    _write_events_at(folder / "late_2026-03-01.parquet", ["2026-02-28T23:00Z", "2026-03-01T10:00Z", "2026-03-01T11:00Z"])
    _write_events_at(folder / "day_2026-03-03.parquet", ["2026-03-02T23:30Z", "2026-03-03T10:00Z"])
    con = warehouse.connect()
    result = engine.validate_and_aggregate(
        con, ingest.open_events(con, folder, column_map={}), quarantine_dir=tmp_path, work_dir=tmp_path, now=NOW,
        as_of="2026-03-03", window_start="2026-03-03", watch_days=[date(2026, 2, 28), date(2026, 3, 2), date(2026, 3, 3)])
    # The day before the window is late_rows' to count (day_before_window), the window's the run's own.
    assert result.summary["empty_days_now"] == {"2026-02-28": {"input_rows": 1, "quarantined_rows": 0}}
    assert result.files_read == 1


def test_footer_stats_reads_timestamps_only(tmp_path: Path) -> None:
    source = _write_days(tmp_path / "in")
    stats = ingest.footer_stats(source / "e_2026-03-01.parquet", "event_time")
    assert (stats.rows, stats.nulls, stats.low_us // DAY) == (3, 1, _day("2026-03-01"))
    assert ingest.footer_stats(source / "e_2026-03-01.parquet", "user_id") is None
    assert ingest.footer_stats(source / "e_2026-03-01.parquet", "no_such_column") is None


def test_unreachable_scheduler_is_one_sentence_naming_it() -> None:
    started = time.perf_counter()
    with pytest.raises(engine.EngineError, match=r"Cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9 within 1 s"):
        with engine.open_engine(name="dask", scheduler_address="tcp://127.0.0.1:9", connect_timeout_s=1):
            pass
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("address", ["127.0.0.1", "http://127.0.0.1:8786", "localhost:port"])
def test_a_malformed_scheduler_address_is_one_sentence_saying_how_to_write_it(address: str) -> None:
    # Dask's own errors ("missing port number in address '127.0.0.1'") named neither the setting nor the fix.
    expected = rf"^engine\.scheduler_address '{re.escape(address)}' is not an address of a Dask scheduler \(.+\); write it"
    with pytest.raises(engine.EngineError, match=expected) as caught:
        with engine.open_engine(name="dask", scheduler_address=address, connect_timeout_s=1):
            pass
    assert str(caught.value).endswith('as tcp://host:port, or set it to "" for a local cluster.')


def test_a_port_that_accepts_but_never_answers_fails_within_the_timeout() -> None:
    # Dask's Client waited forever here: its timeout does not cover the handshake.
    listener = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    started = time.perf_counter()
    try:
        with pytest.raises(engine.EngineError, match=rf"^{re.escape(address)} accepts connections but no Dask "
                                                     r"scheduler answered there within 1 s \(TimeoutError\)"):
            with engine.open_engine(name="dask", scheduler_address=address, connect_timeout_s=1):
                pass
    finally:
        listener.close()
    assert time.perf_counter() - started < 10


def test_refused_addresses_leave_no_dask_event_loop_running() -> None:
    # A Client whose start failed kept its "IO loop" thread until garbage collection closed it.
    for address in ("tcp://127.0.0.1:9", "127.0.0.1", "http://127.0.0.1:8786"):
        with pytest.raises(engine.EngineError):
            with engine.open_engine(name="dask", scheduler_address=address, connect_timeout_s=1):
                pass
    assert [t.name for t in threading.enumerate() if t.name == "IO loop"] == []


def test_dask_without_a_scheduler_address_starts_a_local_cluster_and_closes_it() -> None:
    # Placed before the tests of dask_scheduler, whose scheduler would hold port 8787 (distributed warns).
    import multiprocessing

    with engine.open_engine(name="dask", n_workers=1, threads_per_worker=1) as (mapper, threads):
        assert mapper(abs, [-1, 2]) == [1, 2] and threads == 1
        assert multiprocessing.active_children()  # the cluster's worker process
    assert not multiprocessing.active_children()


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two workers on 127.0.0.1, started with the dask CLI and stopped after the tests."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    bin_dir = Path(sys.executable).parent
    common = ["--no-dashboard", "--host", "127.0.0.1"]
    processes = [subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--port", "0", "--scheduler-file", str(scheduler_file), *common],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        for number in range(2):
            processes.append(subprocess.Popen(
                [str(bin_dir / "dask"), "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                 "--local-directory", str(folder / f"worker{number}"), *common],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
            ))
        with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        yield address
    finally:
        # Workers first, gone before the scheduler is stopped: signalled together, the three took
        # about 8 s to exit; in this order, 1-2 s.
        for group in (processes[1:], processes[:1]):
            for process in group:
                process.terminate()
            for process in group:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def _run_notebooks(names: list[str], output_dir: Path, overrides: list[str]) -> None:
    """Execute pipeline notebooks of the ci profile into ``output_dir``, as the runner injects them."""
    import papermill

    params = config.apply_overrides(config.load_profile("ci"), overrides)
    for name in names:
        notebook = config.NOTEBOOKS_DIR / name
        injected = {"profile": "ci", "output_dir": str(output_dir)}
        injected.update({g: params[g] for g in runner.declared_parameters(notebook) if g in params})
        papermill.execute_notebook(str(notebook), str(output_dir / name), parameters=injected,
                                   kernel_name="python3", progress_bar=False, cwd=str(notebook.parent))


@pytest.mark.pipeline
def test_dask_engine_gives_the_local_engines_outputs(ci_run: dict, dask_scheduler: str, tmp_path: Path) -> None:
    distributed = tmp_path / "ci"
    distributed.mkdir()
    _run_notebooks(["01_ingest.ipynb", "02_aggregate.ipynb"], distributed,
                   ["engine.name=dask", f"engine.scheduler_address={dask_scheduler}", "engine.partition_days=16"])
    local = Path(ci_run["output_root"]) / "ci"
    remote_fact = pd.read_parquet(distributed / "tables" / "fact_feature_metrics.parquet")
    local_fact = pd.read_parquet(local / "tables" / "fact_feature_metrics.parquet")
    # Every column 02 writes, whatever columns aggregation gains; 03 adds its own afterwards.
    pd.testing.assert_frame_equal(local_fact[list(remote_fact.columns)], remote_fact, check_exact=True)
    quarantine = "quarantine/quarantine.parquet"
    assert runlog.sha256_file(local / quarantine) == runlog.sha256_file(distributed / quarantine)
    summary = "reports/ingest_summary.json"
    assert runlog.read_json(local / summary) == runlog.read_json(distributed / summary)


def test_failed_scheduler_leaves_published_outputs_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    published = tmp_path / "ci" / "reports"
    published.mkdir(parents=True)
    (published / "marker.json").write_text("{}")
    with pytest.raises(runner.RunFailed, match=r"01_ingest.ipynb failed: EngineError: Cannot reach the Dask scheduler at "
                                               r"tcp://127\.0\.0\.1:9"):
        runner.run_pipeline(
            "ci", progress=lambda _line: None,
            overrides=["engine.name=dask", "engine.scheduler_address=tcp://127.0.0.1:9", "engine.connect_timeout_s=1",
                       "run.html=false"],
        )
    assert sorted(p.name for p in (tmp_path / "ci").iterdir()) == ["reports", "runs"]
    assert [p.name for p in published.iterdir()] == ["marker.json"]
    assert config.load_profile("ci")["engine"]["name"] == "local"


def _mixed_forms(folder: Path) -> dict[str, Path]:
    """One CSV and one Parquet folder whose feature ids, users and versions mix NFC and NFD spellings."""
    nfc, nfd = "R\u00e9glages", "Re\u0301glages"
    ids, users, versions = [nfc, nfd, nfd, "Reglages"], ["Zo\u00e9", "Zoe\u0301", "u2", "u3"], ["\u00e9", "e\u0301", "1", "1"]
    times = [f"2026-03-0{1 + i % 2}T10:0{i}:00Z" for i in range(4)]
    (folder / "csv").mkdir(parents=True)
    (folder / "csv" / "e.csv").write_text("event_time,feature_id,user_id,app_version,latency_ms,is_crash\n" + "".join(
        f"{t},{f},{u},{v},1,0\n" for t, f, u, v in zip(times, ids, users, versions, strict=True)
    ) + f"garbage,{nfd},u9,1,1,0\n", encoding="utf-8")
    (folder / "parquet").mkdir()
    pq.write_table(pa.table({
        "event_time": pa.array(pd.to_datetime(times), pa.timestamp("us", tz="UTC")), "feature_id": ids,
        "user_id": users, "app_version": versions, "latency_ms": [1.0, 2.0, -1.0, 3.0], "is_crash": [False] * 4,
    }), folder / "parquet" / "e.parquet")
    return {"csv": folder / "csv", "parquet": folder / "parquet"}


def test_dask_engine_normalises_text_as_the_local_one(dask_scheduler: str, tmp_path: Path) -> None:
    for fmt, source in _mixed_forms(tmp_path / "in").items():
        results, reported = {}, {}
        for name in engine.ENGINES:
            out = tmp_path / fmt / name
            out.mkdir(parents=True)
            settings = {"scheduler_address": dask_scheduler} if name == "dask" else {}
            lines: list[str] = []
            with engine.open_engine(name=name, partition_days=1, **settings) as (mapper, threads):
                con = warehouse.connect()
                raw = ingest.open_events(con, source, column_map={})
                result = engine.validate_and_aggregate(con, raw, quarantine_dir=out, work_dir=out, now=NOW,
                                                       mapper=mapper, threads=threads, partition_days=1,
                                                       progress=lines.append)
            results[name] = (result.summary, result.quarantine_path.read_bytes(), aggregate.read_window_fact(out))
            # Dask's partitions finish in any order: the count goes up, each names its own days.
            assert [line.split(" (")[0] for line in lines] == ["aggregated partition 1 of 2", "aggregated partition 2 of 2"]
            reported[name] = sorted(re.sub(r".* \(|\)|, after \d+ s$", "", line) for line in lines)
        assert reported["dask"] == reported["local"] == [f"2026-03-01: {3 if fmt == 'csv' else 2} rows",
                                                          "2026-03-02: 2 rows"]
        (local_summary, local_quarantine, local_fact), (summary, quarantine, fact) = results["local"], results["dask"]
        assert summary == local_summary and quarantine == local_quarantine
        pd.testing.assert_frame_equal(fact, local_fact, check_exact=True)
        assert set(fact["feature_id"]) == {"Reglages", "R\u00e9glages"}  # one Réglages whatever its spelling


def test_a_partition_cancelled_on_dask_stops_the_mapper(dask_scheduler: str, tmp_path: Path) -> None:
    # Dask cancels every future when the client loses its scheduler: a cancelled partition must raise,
    # not come back as an exception object among the results.
    from concurrent.futures import CancelledError

    from distributed import Client

    release = tmp_path / "release"

    def wait_unless_first(item: int) -> int:
        while item and not release.exists():
            time.sleep(0.05)
        return item

    with Client(dask_scheduler, timeout=30) as client:
        mapped: list = []

        class Recording:
            def map(self, *args: object, **kwargs: object) -> list:
                mapped[:] = client.map(*args, **kwargs)
                return mapped

        def cancel_the_rest(position: int, _result: object) -> None:
            client.cancel([f for i, f in enumerate(mapped) if i != position])

        try:
            with pytest.raises(CancelledError):
                engine._dask_mapper(Recording())(wait_unless_first, [0, 1], done=cancel_the_rest)
        finally:
            release.touch()


def test_the_staged_copy_of_csv_input_is_removed_once_the_partitions_are_read(tmp_path: Path) -> None:
    # It stayed in work/ (the published one, for 01_ingest run by hand): a fifth of the CSV's size
    # again, as Parquet, read by nothing after the partitions.
    summary = _ingest(_mixed_forms(tmp_path / "in")["csv"], tmp_path / "out")[0]
    assert summary["rows_in"] == 5
    assert not (tmp_path / "out" / engine.STAGED_CSV_FILE).exists()


def test_an_output_folder_named_like_a_pattern_reads_only_its_own_files(tmp_path: Path) -> None:
    # DuckDB reads each path as a pattern: the quarantine of out?/ was merged with out1/'s, a
    # sibling run's, and the row accounting failed asking for a bug report.
    source = _write_days(tmp_path / "in")
    alone = _ingest(source, tmp_path / "out1")
    beside = _ingest(source, tmp_path / "out?")
    assert beside[0] == alone[0] and beside[1] == alone[1]
    pd.testing.assert_frame_equal(beside[2], alone[2], check_exact=True)
