"""The star schema on disk: Parquet tables under ``tables/`` and an embedded DuckDB database.

Every table is one Parquet file ``tables/<name>.parquet``; the DuckDB file
(``RunPaths.warehouse``) is rebuilt from all of them after each write so analysts can query the
star schema with SQL. Both are replaced atomically: a reader sees the old or the new version,
never half of one.

This module also opens the DuckDB sessions the pipeline computes with (:func:`connect`), so that
every step agrees on the time zone and the memory cap.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from featurehealth import runlog

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from featurehealth.config import RunPaths

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: View joining each feature-day with its feature's metadata, created when both tables exist.
FEATURE_DAY_VIEW = """
CREATE VIEW feature_day AS
SELECT f.*, d.* EXCLUDE (feature_id)
FROM fact_feature_metrics AS f LEFT JOIN dim_feature_metadata AS d USING (feature_id)
"""


def connect(
    database: str | os.PathLike[str] = ":memory:",
    *,
    read_only: bool = False,
    threads: int | None = None,
    memory_limit: str = "2GB",
) -> "duckdb.DuckDBPyConnection":
    """Open a DuckDB session working in UTC, without a progress bar.

    Parameters
    ----------
    database : str or path-like
        Database file, or ``":memory:"``.
    read_only : bool
        Open an existing database file for reading only.
    threads : int, optional
        Worker threads; default all cores.
    memory_limit : str
        DuckDB spills to disk beyond this, which keeps a year of events under the 3 GB peak
        the pipeline promises on a small machine.

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    import duckdb

    con = duckdb.connect(str(database), read_only=read_only)
    # Dates are cut at UTC midnight whatever the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    # Parquet writers leave NaN out of a column's min/max statistics, and DuckDB's statistics
    # propagation then folds isnan(x) to false: NaN latencies would pass validation.
    con.execute("SET disabled_optimizers = 'statistics_propagation'")
    con.execute(f"SET memory_limit = {sql_string(memory_limit)}")
    # DuckDB spills to ".tmp" in the working folder by default, which for a run's kernel is the
    # repository's notebooks/: gigabytes of a large ingest would land in the source tree.
    con.execute(f"SET temp_directory = {sql_string(str(spill_folder()))}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def spill_folder() -> Path:
    """Where DuckDB writes what exceeds its memory limit: ``featurehealth-duckdb-<uid>`` in the
    system's temporary folder (``$TMPDIR``), made when first needed; each process's files carry
    its id. One folder per user: in a shared ``/tmp`` another user's would not be writable."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"featurehealth-duckdb-{os.getuid()}"


def wal_file(database: str | os.PathLike[str]) -> Path:
    """DuckDB's write-ahead log of ``database``: ``<database>.wal``, beside it while a read-write
    connection holds writes not yet checkpointed into the file (or was killed holding them)."""
    return Path(f"{os.fspath(database)}.wal")


def sql_string(value: str) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_path(path: str | os.PathLike[str]) -> str:
    """A file's path as the SQL string literal DuckDB's readers (``read_parquet``, ``read_csv``,
    ``parquet_schema``) read that file, and only that file, from.

    They take every path as a glob pattern: a file named ``events_*.parquet`` (or one in a folder
    ``exports?``) would also read its neighbours. ``*``, ``?`` and ``[`` are escaped as
    :func:`glob.escape` does (``[*]``), which DuckDB's patterns understand.

    >>> sql_path("/in/d*.csv")
    "'/in/d[*].csv'"

    Raises
    ------
    ValueError
        If the path holds a backslash as well: in a pattern DuckDB takes it for a folder separator
        (on every system), so no escaped path names the file.
    """
    import glob

    text = os.fspath(path)
    escaped = glob.escape(text)
    if escaped != text and "\\" in text:
        raise ValueError(f"{text} cannot be read: DuckDB takes a path holding *, ? or [ for a pattern, in which a "
                         f"backslash separates folders; rename the file or folder so that its path holds no backslash.")
    return sql_string(escaped)


def export_parquet(con: "duckdb.DuckDBPyConnection", query: str, path: str | os.PathLike[str]) -> Path:
    """Write the result of ``query`` to Parquet (zstd) through a temporary file, atomically.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Session in which ``query`` runs.
    query : str
        A SELECT statement; order it explicitly when the file's bytes must be reproducible.
    path : path-like
        Target file; replaced only when the whole result is written.

    Returns
    -------
    Path
        The file written.
    """
    with runlog.replacing(path) as tmp:
        con.execute(f"COPY ({query}) TO {sql_string(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
    return Path(path)


def _check_name(name: str) -> str:
    if not _TABLE_NAME.match(name):
        raise ValueError(
            f"Table name {name!r} is not valid: use lower-case letters, digits and '_', "
            f"starting with a letter, like 'fact_feature_metrics'."
        )
    return name


def table_path(paths: "RunPaths", name: str) -> Path:
    """Parquet file of table ``name`` under ``paths.tables``."""
    return paths.tables / f"{_check_name(name)}.parquet"


def write_tables(paths: "RunPaths", **frames: "pd.DataFrame | None") -> dict[str, Path]:
    """Write tables to Parquet and rebuild the DuckDB database from every table on disk.

    Writing some tables keeps the others: the database always holds all ``tables/*.parquet``.
    ``fact_feature_metrics`` and ``dim_feature_metadata`` are checked against their contracts
    (see :mod:`featurehealth.aggregate`) and stored in their canonical column order and sort.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    **frames : pandas.DataFrame or None
        Table name -> rows, e.g. ``fact_feature_metrics=fact``; None removes that table (a run
        without incidents must not keep the last run's). A table not named stays as it is.

    Returns
    -------
    dict
        Table name -> Parquet file written.

    Raises
    ------
    ValueError
        If no table is named, a name is not a plain lower-case identifier, or a table breaks
        its contract.
    """
    from featurehealth import aggregate

    if not frames:
        raise ValueError("write_tables needs at least one table, like write_tables(paths, fact_feature_metrics=fact).")
    given = {name: frame for name, frame in sorted(frames.items()) if frame is not None}
    removed = [table_path(paths, name) for name, frame in sorted(frames.items()) if frame is None]
    contracts = {"fact_feature_metrics": aggregate.check_fact, "dim_feature_metadata": aggregate.check_dim}
    checked = {name: contracts[name](frame) if name in contracts else frame for name, frame in given.items()}
    # The dim's types are fixed: without a metadata file three of its columns hold no value.
    schemas = {"dim_feature_metadata": aggregate.dim_schema()}
    written = {
        name: runlog.write_parquet(frame, table_path(paths, name), schema=schemas.get(name))
        for name, frame in checked.items()
    }
    for path in removed:
        path.unlink(missing_ok=True)
    build_database(paths)
    return written


def query(paths: "RunPaths", sql: str) -> "pd.DataFrame":
    """Run a read-only SQL query against the star schema database (``paths.warehouse``).

    Raises
    ------
    FileNotFoundError
        If the database was never built; the message names the steps that build it.
    """
    if not Path(paths.warehouse).is_file():
        # DuckDB's own error ("Cannot open database ... in read-only mode: database does not exist") names no step.
        raise FileNotFoundError(
            f"The star-schema database {paths.warehouse} does not exist; run notebooks 01_ingest and 02_aggregate first."
        )
    con = connect(paths.warehouse, read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


def build_database(paths: "RunPaths") -> Path:
    """Rebuild ``paths.warehouse`` from all ``tables/*.parquet`` under a temporary name, then swap it in.

    The old database's write-ahead log (:func:`wal_file`) is removed with it: what a read-write
    connection wrote into the warehouse is not kept, as the database holds the Parquet tables alone.

    Returns
    -------
    Path
        The database file.
    """
    with runlog.replacing(paths.warehouse) as tmp:
        con = connect(str(tmp))
        try:
            names = sorted(p.stem for p in paths.tables.glob("*.parquet") if _TABLE_NAME.match(p.stem))
            for name in names:
                con.execute(
                    f"CREATE TABLE {name} AS SELECT * FROM read_parquet({sql_path(table_path(paths, name))})"
                )
            if {"fact_feature_metrics", "dim_feature_metadata"} <= set(names):
                con.execute(FEATURE_DAY_VIEW)
            con.execute("CHECKPOINT")
        finally:
            con.close()
            wal_file(tmp).unlink(missing_ok=True)
    # A log left by an analyst's read-write connection that wrote belongs to the database just
    # replaced: beside the new one, DuckDB refuses to open it ("WAL does not match database file").
    wal_file(paths.warehouse).unlink(missing_ok=True)
    return paths.warehouse


def read_table(paths: "RunPaths", name: str, *, missing_ok: bool = False) -> "pd.DataFrame | None":
    """Read table ``name`` from ``paths.tables``.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    name : str
        Table name, e.g. ``"fact_feature_metrics"``.
    missing_ok : bool
        Return None instead of raising when the table was never written.

    Raises
    ------
    FileNotFoundError
        If the table does not exist and ``missing_ok`` is false; the message names the step
        that writes it.
    """
    import pandas as pd

    path = table_path(paths, name)
    if not path.is_file():
        if missing_ok:
            return None
        raise FileNotFoundError(
            f"Table {name} does not exist at {path}; run notebooks 01_ingest and 02_aggregate first."
        )
    return pd.read_parquet(path)
