"""Star-schema storage: Parquet tables, the DuckDB database, atomic writes, work sessions."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from featurehealth import aggregate, config, warehouse


def _fact() -> pd.DataFrame:
    return pd.DataFrame({
        "feature_id": ["b", "a"], "date": [date(2026, 3, 2), date(2026, 3, 1)], "usage_count": [3, 4],
        "active_users": [2, 3], "avg_latency": [1.0, 2.0], "p50_latency": [1.0, 2.0], "p95_latency": [1.5, 2.5],
        "p99_latency": [1.9, 2.9], "crash_count": [0, 1], "crash_rate": [0.0, 0.25], "avg_feedback": [None, 4.0],
        "feedback_count": [0, 1], "error_rate": [0.0, 0.5], "new_version_events": [0, 2], "new_version_crashes": [0, 1],
        "is_degraded": [False, True],
    })


def _dim() -> pd.DataFrame:
    return aggregate.build_dim(None, ["a", "b"])


def test_connect_works_in_utc(tmp_path: Path) -> None:
    con = warehouse.connect(tmp_path / "x.duckdb", threads=1)
    day = con.sql("SELECT CAST(TIMESTAMPTZ '2026-03-01 23:30:00-05:00' AS DATE)").fetchall()
    assert day == [(date(2026, 3, 2),)]


def test_spilled_data_goes_to_the_temporary_folder_not_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run's kernel works in the repository's notebooks/: DuckDB's default ".tmp" put a large
    # ingest's spill files in the source tree.
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    (tmp_path / "scratch").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    con = warehouse.connect(threads=1, memory_limit="20MB")
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(warehouse.spill_folder())
    assert warehouse.spill_folder() == tmp_path / "scratch" / f"featurehealth-duckdb-{os.getuid()}"
    con.execute("CREATE TABLE t AS SELECT range AS a, random() AS b FROM range(3000000)")
    seen = con.execute("SELECT count(*) FROM (SELECT a FROM t ORDER BY b)").fetchone()[0]
    assert seen == 3_000_000 and not (work / ".tmp").exists()


def test_sql_string_escapes_quotes() -> None:
    assert warehouse.sql_string("it's") == "'it''s'"


@pytest.mark.parametrize("folder", ["in \\ x", "in [1]", "in*"])
def test_sql_path_names_a_file_with_a_backslash_or_glob_characters_in_its_path(tmp_path: Path, folder: str) -> None:
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "d.csv").write_text("a\n1\n")
    con = warehouse.connect()
    assert con.execute(f"SELECT count(*) FROM read_csv({warehouse.sql_path(tmp_path / folder / 'd.csv')})").fetchall() == [(1,)]


@pytest.mark.parametrize("path", ["/in [1] \\ x/d.csv", "/in\\d*.csv", "/in\\x/d?.parquet"])
def test_sql_path_refuses_a_path_with_a_backslash_and_glob_characters(path: str) -> None:
    # DuckDB reads such a path as a pattern in which a backslash separates folders: it found no
    # file, and ingest called the CSV damaged.
    with pytest.raises(ValueError, match=r"^/in.* cannot be read: .*; rename the file or folder") as raised:
        warehouse.sql_path(path)
    assert str(raised.value).startswith(f"{path} cannot be read")


def test_write_tables_keeps_other_tables_and_builds_the_database(tmp_path: Path) -> None:
    paths = config.RunPaths(tmp_path).ensure()
    warehouse.write_tables(paths, fact_feature_metrics=_fact(), dim_feature_metadata=_dim())
    warehouse.write_tables(paths, fact_feature_metrics=_fact().assign(risk_probability=[0.1, 0.9]), incidents=None)
    stored = warehouse.read_table(paths, "fact_feature_metrics")
    assert stored["feature_id"].tolist() == ["a", "b"] and stored["risk_probability"].tolist() == [0.9, 0.1]
    rows = warehouse.query(paths, "SELECT feature_id, owner_team, risk_probability FROM feature_day ORDER BY 1")
    assert rows.values.tolist() == [["a", "unassigned", 0.9], ["b", "unassigned", 0.1]]
    tables = warehouse.query(paths, "SELECT table_name FROM information_schema.tables ORDER BY 1")["table_name"]
    assert tables.tolist() == ["dim_feature_metadata", "fact_feature_metrics", "feature_day"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []



def _leave_write_ahead_log(database: Path) -> None:
    """Leave beside ``database`` the write-ahead log of a read-write connection that wrote and is still open
    (or was killed): DuckDB removes it when the connection closes, so it is put back."""
    import duckdb

    con = duckdb.connect(str(database))
    con.execute("CREATE TABLE my_scratch AS SELECT 1 AS x")
    log = warehouse.wal_file(database).read_bytes()
    con.close()
    warehouse.wal_file(database).write_bytes(log)


def test_a_rebuilt_database_is_readable_though_a_writer_left_a_log_beside_the_old_one(tmp_path: Path) -> None:
    # An analyst's default (read-write) connection that created a table left featurehealth.duckdb.wal;
    # the rebuilt database beside it failed to open ("WAL does not match database file"), and
    # 02_aggregate with it.
    paths = config.RunPaths(tmp_path).ensure()
    warehouse.write_tables(paths, fact_feature_metrics=_fact(), dim_feature_metadata=_dim())
    _leave_write_ahead_log(paths.warehouse)
    warehouse.write_tables(paths, fact_feature_metrics=_fact().assign(risk_probability=[0.1, 0.9]))
    assert warehouse.query(paths, "SELECT max(risk_probability) AS p FROM feature_day")["p"].tolist() == [0.9]
    assert not warehouse.wal_file(paths.warehouse).exists()


def test_a_table_given_as_none_is_removed(tmp_path: Path) -> None:
    # 02_aggregate hands over incidents=None when the run has none (a profile moved from the
    # simulator to CSV without an incidents file): the last run's table stayed, and 03_model
    # judged the model against another source's incidents.
    paths = config.RunPaths(tmp_path).ensure()
    incidents = pd.DataFrame({"feature_id": ["a"], "start": [date(2026, 3, 1)]})
    warehouse.write_tables(paths, fact_feature_metrics=_fact(), dim_feature_metadata=_dim(), incidents=incidents)
    written = warehouse.write_tables(paths, fact_feature_metrics=_fact(), incidents=None)
    assert list(written) == ["fact_feature_metrics"]
    assert warehouse.read_table(paths, "incidents", missing_ok=True) is None
    tables = warehouse.query(paths, "SELECT table_name FROM information_schema.tables ORDER BY 1")["table_name"]
    assert tables.tolist() == ["dim_feature_metadata", "fact_feature_metrics", "feature_day"]


def test_write_tables_rejects_bad_names_and_broken_contracts(tmp_path: Path) -> None:
    paths = config.RunPaths(tmp_path).ensure()
    with pytest.raises(ValueError, match="not valid"):
        warehouse.write_tables(paths, **{"Fact-Table": _fact()})
    with pytest.raises(ValueError, match="more than once"):
        warehouse.write_tables(paths, fact_feature_metrics=pd.concat([_fact(), _fact()]))
    with pytest.raises(ValueError, match="at least one table"):
        warehouse.write_tables(paths)
    assert not warehouse.table_path(paths, "fact_feature_metrics").exists()


def test_read_table_missing(tmp_path: Path) -> None:
    paths = config.RunPaths(tmp_path).ensure()
    assert warehouse.read_table(paths, "fact_feature_metrics", missing_ok=True) is None
    with pytest.raises(FileNotFoundError, match="run notebooks 01_ingest and 02_aggregate"):
        warehouse.read_table(paths, "fact_feature_metrics")


def test_query_without_a_database_names_the_steps_that_build_it(tmp_path: Path) -> None:
    paths = config.RunPaths(tmp_path).ensure()
    with pytest.raises(FileNotFoundError, match=r"^The star-schema database .+ does not exist; run notebooks 01_ingest"):
        warehouse.query(paths, "SELECT 1")


def test_export_parquet_failure_keeps_previous_file(tmp_path: Path) -> None:
    con = warehouse.connect()
    target = warehouse.export_parquet(con, "SELECT 1 AS x", tmp_path / "t.parquet")
    with pytest.raises(Exception, match="no_such_table"):
        warehouse.export_parquet(con, "SELECT * FROM no_such_table", target)
    assert pd.read_parquet(target)["x"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]



def test_dim_without_metadata_keeps_its_column_types(tmp_path: Path) -> None:
    # No metadata file: every feature is unassigned and lifecycle_stage, tier, launch_date are all
    # empty; they must still be text and dates in Parquet and DuckDB, not the type NULL that
    # makes year(launch_date) a binder error.
    paths = config.RunPaths(tmp_path).ensure()
    warehouse.write_tables(paths, fact_feature_metrics=_fact(), dim_feature_metadata=_dim())
    types = dict(warehouse.query(paths, "SELECT column_name, data_type FROM information_schema.columns "
                                        "WHERE table_name = 'dim_feature_metadata'").values.tolist())
    assert types == {"feature_id": "VARCHAR", "feature_name": "VARCHAR", "owner_team": "VARCHAR",
                     "lifecycle_stage": "VARCHAR", "tier": "VARCHAR", "launch_date": "DATE", "in_metadata": "BOOLEAN"}
    rows = warehouse.query(paths, "SELECT year(launch_date) AS y, lower(tier) AS t FROM feature_day")
    assert rows["y"].isna().all() and rows["t"].isna().all()
