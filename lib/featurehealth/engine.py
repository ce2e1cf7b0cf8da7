"""Validation and aggregation of raw events over day partitions, in-process or on Dask.

One function, :func:`run_partition`, validates the rows of a range of days (plus the undated
rows of the files it owns), drops extra duplicate copies and aggregates the valid events with
:func:`featurehealth.aggregate.aggregate_sql`. Both engines map it over the same partitions:

* ``local`` calls it in this process, one partition after another (DuckDB uses every core);
* ``dask`` submits the partitions to a ``distributed`` cluster: the scheduler at
  ``engine.scheduler_address``, or a ``LocalCluster`` of worker processes on 127.0.0.1 started
  (and closed) for the run. Workers read the input files themselves, so on an existing cluster
  they must see them at the same paths (and, for CSV input, the run's ``work/`` folder).

Events of one day always fall in one partition: duplicates (equal values, so equal
``event_time``), exact percentiles and distinct users stay exact, and the parts stack into the
same tables one pass over all files would give. Before partitioning, a cheap index of each
file's dated days (its ``event_time`` column only) plans which files each partition reads; with
a known window start, Parquet files whose footer statistics prove they hold no row of the window
are not read at all (their row counts come from the footer). CSV input is always scanned whole.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurehealth import aggregate, ingest, validate, warehouse

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

#: Engine names accepted in ``engine.name``.
ENGINES = ("local", "dask")
#: Staged copy of CSV input (as read, with ``file_id`` and ``row_no``) under the run's work folder.
STAGED_CSV_FILE = "raw_csv.parquet"
#: Called with (item's position, its result) as each item is done, in the order they finish.
Done = Callable[[int, Any], None]
#: A function mapping a one-argument function over items (``done``: see :data:`Done`), returning the results in order.
Mapper = Callable[..., list[Any]]


class EngineError(RuntimeError):
    """The engine cannot start (e.g. the scheduler is unreachable); the message is one sentence."""


@dataclass(frozen=True)
class Partition:
    """One unit of work: the days ``lo``..``hi`` (day numbers, inclusive; lo > hi means none) of
    the files ``relation`` reads, plus the undated rows of the files in ``owned``."""

    relation: str
    types: dict[str, str]
    from_text: bool
    now: datetime
    lo: int
    hi: int
    owned: tuple[int, ...]
    threads: int | None = None


@dataclass(frozen=True)
class PartitionResult:
    """Arrow tables of one partition: row ``counts`` (:func:`validate.counts_sql`), extra
    ``duplicates`` by feature and day, those ``repeated`` from another file (:func:`validate.repeated_sql`),
    ``quarantine`` rows and the ``fact`` aggregates."""

    counts: "pa.Table"
    duplicates: "pa.Table"
    repeated: "pa.Table"
    quarantine: "pa.Table"
    fact: "pa.Table"


def check_engine(
    *, name: str, scheduler_address: str = "", n_workers: int = 2, threads_per_worker: int = 1,
    partition_days: int = 31, connect_timeout_s: float = 10,
) -> dict[str, Any]:
    """Check the ``engine`` parameter group and return it.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ENGINES` or a count is not positive.
    """
    if name not in ENGINES:
        raise ValueError(f"engine.name {name!r} is not supported; allowed: {', '.join(ENGINES)}.")
    for key, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker),
                       ("partition_days", partition_days), ("connect_timeout_s", connect_timeout_s)):
        if not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"engine.{key} must be a positive number, not {value!r}.")
    return {
        "name": name, "scheduler_address": str(scheduler_address or ""), "n_workers": int(n_workers),
        "threads_per_worker": int(threads_per_worker), "partition_days": int(partition_days),
        "connect_timeout_s": float(connect_timeout_s),
    }


def _ignore(_position: int, _result: Any) -> None:
    pass


def run_locally(function: Callable[[Any], Any], items: Sequence[Any], *, done: Done = _ignore) -> list[Any]:
    """The local engine: call ``function`` on each item in this process, in order."""
    results = []
    for position, item in enumerate(items):
        results.append(function(item))
        done(position, results[-1])
    return results


def _dask_mapper(client: Any) -> Mapper:
    from distributed import as_completed

    def run(function: Callable[[Any], Any], items: Sequence[Any], *, done: Done = _ignore) -> list[Any]:
        futures = client.map(function, list(items), pure=False)
        positions = {future.key: position for position, future in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        # result() raises for a cancelled future too (a lost scheduler cancels them all), which
        # as_completed(with_results=True) would hand over as if it were the partition's result.
        for future in as_completed(futures):
            position = positions[future.key]
            results[position] = future.result()
            done(position, results[position])
        return results

    return run


@contextlib.contextmanager
def open_engine(**settings: Any) -> Iterator[tuple[Mapper, int | None]]:
    """Start the engine of the ``engine`` parameter group; yield (mapper, DuckDB threads per partition).

    ``dask`` connects to ``scheduler_address`` or starts a ``LocalCluster`` (worker processes on
    127.0.0.1, no dashboard) and closes what it started on exit.

    Raises
    ------
    ValueError
        For invalid settings (see :func:`check_engine`).
    EngineError
        If ``scheduler_address`` is not an address, or no Dask scheduler answers there within
        ``connect_timeout_s``.
    """
    checked = check_engine(**settings)
    if checked["name"] == "local":
        yield run_locally, None
        return
    import logging

    from distributed import Client, LocalCluster

    address = checked["scheduler_address"]
    timeout_s = checked["connect_timeout_s"]
    if address:
        _check_scheduler(address, timeout_s=timeout_s)
    with contextlib.ExitStack() as stack:
        if not address:
            cluster = stack.enter_context(LocalCluster(
                n_workers=checked["n_workers"], threads_per_worker=checked["threads_per_worker"],
                processes=True, host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
            ))
            address = cluster.scheduler_address
        client = stack.enter_context(Client(address, timeout=timeout_s))
        yield _dask_mapper(client), checked["threads_per_worker"]


def _check_scheduler(address: str, *, timeout_s: float) -> None:
    """Raise :class:`EngineError` unless a Dask scheduler answers at ``address`` within ``timeout_s``.

    Checked before any ``Client`` exists, because a ``Client`` is no safe probe: its timeout does
    not cover the handshake (a port that accepts but never answers hangs it for good), and one
    whose start fails keeps its event-loop thread until garbage collection closes it at some
    later, arbitrary moment (a CI run once hung right after such failures).
    """
    import socket

    from distributed.comm.addressing import get_address_host_port

    try:
        host, port = get_address_host_port(address)
    except ValueError as exc:  # no port, an unknown scheme...
        raise EngineError(
            f"engine.scheduler_address {address!r} is not an address of a Dask scheduler ({exc}); write it "
            f"as tcp://host:port, or set it to \"\" for a local cluster."
        ) from None
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except (OSError, OverflowError) as exc:  # OverflowError: a port beyond 65535
        raise EngineError(
            f"Cannot reach the Dask scheduler at {address} within {timeout_s:g} s; start it, fix "
            f"engine.scheduler_address, or set it to \"\" for a local cluster ({exc})."
        ) from None
    answer = _scheduler_identity(address, timeout_s=timeout_s)
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        detail = f"{type(answer).__name__}: {answer}".rstrip(": ") if isinstance(answer, Exception) else repr(answer)
        raise EngineError(
            f"{address} accepts connections but no Dask scheduler answered there within {timeout_s:g} s "
            f"({detail}); fix engine.scheduler_address, or set it to \"\" for a local cluster."
        )


def _scheduler_identity(address: str, *, timeout_s: float) -> object:
    """The answer to Dask's ``identity`` request at ``address``, or the exception that stopped it.

    Runs in a thread of its own, so it works where an event loop already runs (a notebook's kernel).
    """
    import asyncio
    import threading

    from distributed.comm import connect
    from distributed.core import send_recv
    from distributed.security import Security

    async def ask() -> object:
        comm = await connect(address, timeout=timeout_s, **Security().get_connection_args("client"))
        try:
            return await send_recv(comm, op="identity")
        finally:
            await comm.close()

    outcome: list[object] = [TimeoutError("no answer")]

    def run() -> None:
        try:
            outcome[0] = asyncio.run(asyncio.wait_for(ask(), timeout_s))
        except Exception as exc:  # reported in EngineError's message, whatever the comm raised
            outcome[0] = exc

    probe = threading.Thread(target=run, name="dask-scheduler-probe", daemon=True)
    probe.start()
    probe.join(timeout_s + 5)
    return outcome[0]


def run_partition(part: Partition) -> PartitionResult:
    """Validate and aggregate one partition in a fresh DuckDB session (the engines' unit of work).

    Returns
    -------
    PartitionResult
    """
    con = warehouse.connect(threads=part.threads)
    try:
        validate.install_macros(con)
        checked = validate.checked_sql(f"({part.relation})", part.types, now=part.now, from_text=part.from_text)
        rows = validate.partition_rows_sql(checked, lo=part.lo, hi=part.hi, owned=part.owned)
        # The rules run once; counting, duplicates and aggregation read the kept columns (an Arrow
        # table: cheaper to build than a DuckDB one), the rare quarantined rows are read again.
        kept = con.sql(f"SELECT {', '.join(validate.KEPT_COLUMNS)} FROM ({rows})").to_arrow_table()
        con.register("part", kept)
        con.execute(f"CREATE TEMP TABLE dups AS {validate.duplicates_sql('part')}")
        return PartitionResult(
            counts=con.sql(validate.counts_sql("part")).to_arrow_table(),
            duplicates=con.sql("SELECT feature_id, day, count(*) AS n FROM dups GROUP BY ALL").to_arrow_table(),
            repeated=con.sql(validate.repeated_sql("dups")).to_arrow_table(),
            quarantine=con.sql(validate.quarantine_rows_sql(rows, "dups")).to_arrow_table(),
            fact=con.sql(aggregate.aggregate_sql(validate.valid_sql("part", "dups"))).to_arrow_table(),
        )
    finally:
        con.close()


def provably_outside(stats: ingest.FooterStats | None, *, lo: int, hi: int | None, now: datetime) -> bool:
    """Whether footer statistics prove a file holds dated rows, all outside the days ``lo``..``hi``.

    Such a file is placed outside the window by its dated rows, so its undated rows are outside
    too. A file whose range reaches the Unix epoch (or before) or after ``now`` may hold only undated
    rows there, and a file of nulls only has no date at all: neither is provable.
    """
    if stats is None or stats.rows <= stats.nulls:
        return False
    if stats.low_us <= 0 or stats.high_us > ingest.epoch_us(now):
        return False
    return stats.high_us // validate.DAY_US < lo or (hi is not None and stats.low_us // validate.DAY_US > hi)


def pruned_files(
    raw: ingest.RawEvents, *, lo: int | None, hi: int | None, now: datetime, keep: Sequence[int] = ()
) -> "pd.DataFrame":
    """Files skipped by their footers: ``file_id``, ``day`` (their last dated day) and ``rows``.

    Only typed (timestamp or date) Parquet ``event_time`` columns are judged, and only when the
    window start is known. A file whose range holds a day of ``keep`` is not skipped, so that
    day's rows are counted exactly.
    """
    import pandas as pd

    rows = []
    if lo is not None and raw.file_format == "parquet" and validate.kind_of(raw.types["event_time"]) == "time":
        for file_id, path in enumerate(raw.paths):
            column = ingest.event_time_column(raw, file_id)
            stats = ingest.footer_stats(path, column[0]) if column else None
            if provably_outside(stats, lo=lo, hi=hi, now=now) and not any(
                    stats.low_us // validate.DAY_US <= day <= stats.high_us // validate.DAY_US for day in keep):
                rows.append((file_id, float(stats.high_us // validate.DAY_US), stats.rows))
    return pd.DataFrame(rows, columns=["file_id", "day", "rows"]).astype({"file_id": "int64", "day": "float64",
                                                                         "rows": "int64"})


def file_index(
    con: "duckdb.DuckDBPyConnection", raw: ingest.RawEvents, *, now: datetime, lo: int | None, hi: int | None,
    keep: Sequence[int] = (),
) -> "pd.DataFrame":
    """Rows of every input file by dated day: ``file_id``, ``day`` (NaN: undated), ``rows``.

    Pruned files (:func:`pruned_files`, which reads the files holding a day of ``keep``) are not
    read: each appears once, with its last dated day and its footer's row count.
    """
    import pandas as pd

    pruned = pruned_files(raw, lo=lo, hi=hi, now=now, keep=keep)
    rest = [i for i in range(len(raw.files)) if i not in set(pruned["file_id"])]
    relation = f"({ingest.parquet_relation(raw, rest)})" if raw.file_format == "parquet" and rest else raw.relation
    dated = validate.dated_day_sql(relation, raw.types, now=now, from_text=raw.file_format == "csv")
    scanned = con.sql(f"SELECT file_id, day, count(*) AS rows FROM ({dated}) GROUP BY ALL").df() if rest else None
    parts = [p for p in (scanned, pruned) if p is not None and len(p)]
    index = pd.concat(parts, ignore_index=True) if parts else pruned
    index = index.astype({"file_id": "int64", "day": "float64", "rows": "int64"})
    return index.sort_values(["file_id", "day"], kind="stable").reset_index(drop=True)


def plan_partitions(
    index: "pd.DataFrame", *, lo: int | None, hi: int | None, partition_days: int
) -> list[tuple[int, int, list[int], list[int]]]:
    """Day ranges and their files: (first day, last day, files to read, files whose undated rows it judges).

    Ranges are blocks of ``partition_days`` days on a fixed grid (so a day's partition does not
    depend on the window), cut to ``lo``..``hi`` where known. A file's undated rows go with the
    partition of its first dated day in range, or the first partition when it has no dated row;
    files dated only outside the range are not read. An empty plan still reads the first file
    (selecting no row), so the results have their columns.
    """
    low = -(2**31) if lo is None else lo
    high = 2**31 - 1 if hi is None else hi
    dated = index[index["day"].notna()]
    inside = dated[dated["day"].between(low, high)]
    blocks: dict[int, set[int]] = {}
    for file_id, day in zip(inside["file_id"], inside["day"], strict=True):
        blocks.setdefault(int(day) // partition_days, set()).add(int(file_id))
    plan = [
        [max(low, b * partition_days), min(high, (b + 1) * partition_days - 1), sorted(files), []]
        for b, files in sorted(blocks.items())
    ]
    first_day = inside.groupby("file_id")["day"].min()
    has_dates = set(dated["file_id"])
    for file_id in sorted(set(index.loc[index["day"].isna(), "file_id"])):
        if file_id in first_day.index:
            block = next(p for p in plan if p[0] <= first_day[file_id] <= p[1])
        elif file_id in has_dates:
            continue
        else:
            if not plan:
                plan.append([1, 0, [], []])
            block = plan[0]
            block[2] = sorted({*block[2], int(file_id)})
        block[3].append(int(file_id))
    return [(a, b, files, owned) for a, b, files, owned in plan] or [(1, 0, [0], [])]


def _stage_csv(con: "duckdb.DuckDBPyConnection", raw: ingest.RawEvents, files: Sequence[int], work: Path) -> Path:
    """Write the CSV rows of ``files`` as read (text, ``file_id``, ``row_no``) where workers can read them."""
    query = f"SELECT * FROM {raw.relation} WHERE file_id IN ({', '.join(map(str, files))}) ORDER BY file_id, row_no"
    return warehouse.export_parquet(con, query, work / STAGED_CSV_FILE)


def _partitions(
    con: "duckdb.DuckDBPyConnection", raw: ingest.RawEvents,
    plan: Sequence[tuple[int, int, list[int], list[int]]], *, now: datetime, threads: int | None, work: Path,
) -> list[Partition]:
    csv = raw.file_format == "csv"
    staged = _stage_csv(con, raw, sorted({f for p in plan for f in p[2]}), work) if csv and plan else None

    def relation(files: list[int]) -> str:
        if staged is None:
            return ingest.parquet_relation(raw, files)
        return f"SELECT * FROM read_parquet({warehouse.sql_path(staged)}) WHERE file_id IN ({', '.join(map(str, files))})"

    return [
        Partition(relation=relation(files), types=dict(raw.types), from_text=csv, now=now, lo=lo, hi=hi,
                  owned=tuple(owned), threads=threads)
        for lo, hi, files, owned in plan
    ]


def _frame(tables: Sequence["pa.Table"]) -> "pd.DataFrame":
    """Partition results stacked, with ``day`` as float (NaN: undated) whatever the parts held."""
    import pyarrow as pa

    return pa.concat_tables(tables).to_pandas().astype({"day": "float64"})


def merge_quarantine(
    con: "duckdb.DuckDBPyConnection",
    window: Path,
    published: Path,
    *,
    start: date,
    end: date,
    files: Sequence[str],
    keep_published: bool = True,
) -> Path:
    """Merge a window's quarantined rows into the published quarantine (started when absent); return its path.

    See :func:`validate.merge_quarantine_sql` for which rows the window replaces. With
    ``keep_published=False`` the window's rows replace all the published ones (which came from
    another source).
    """
    window_rows = f"read_parquet({warehouse.sql_path(window)})"
    if published.is_file() and keep_published:
        previous = f"read_parquet({warehouse.sql_path(published)})"
        columns = [row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {previous}").fetchall()]
        previous = f"({validate.published_quarantine_sql(previous, columns)})"
    else:
        # The same query on no previous rows, so a first run writes the bytes a re-run would.
        previous = f"(SELECT * FROM {window_rows} WHERE false)"
    query = validate.merge_quarantine_sql(previous, window_rows, start=start, end=end, files=files)
    return warehouse.export_parquet(con, query, published)


def _event_time_example(rows: pa.Table, files: Sequence[str]) -> tuple[str, str] | None:
    """(file, value as read) of a quarantined row with an unreadable ``event_time``, if any.

    The smallest (file, value), not the first found: partitions return rows in no fixed order,
    and the message must be the same on every run.
    """
    import pyarrow.compute as pc

    found = rows.filter(pc.and_(pc.equal(rows["reason"], "invalid_event_time"), pc.is_valid(rows["event_time"])))
    if found.num_rows == 0:
        return None
    first = found.select(["file_id", "event_time"]).sort_by([("file_id", "ascending"), ("event_time", "ascending")])
    row = first.slice(0, 1).to_pylist()[0]
    return files[int(row["file_id"])], str(row["event_time"])


def partition_line(*, number: int, total: int, lo: int, hi: int, rows: int, seconds: float) -> str:
    """What :func:`validate_and_aggregate` reports as a partition is done, e.g.
    ``aggregated partition 5 of 12 (2026-03-01..2026-03-31): 1,234,567 rows, after 38 s``.

    ``number`` counts the partitions done so far; ``lo``..``hi`` are the first and last day (day
    numbers; lo > hi: none) it holds rows of, ``rows`` the rows it read (valid or not), ``seconds``
    the time since the validation started.
    """
    first, last = (str(validate.day_from_number(day)) for day in (lo, hi))
    days = "no day" if lo > hi else first if lo == hi else f"{first}..{last}"
    return f"aggregated partition {number} of {total} ({days}): {rows:,} rows, after {seconds:.0f} s"


def _dated_span(index: "pd.DataFrame", *, lo: int, hi: int) -> tuple[int, int]:
    """The first and last day of ``index`` (:func:`file_index`) within ``lo``..``hi``; (lo, hi) when none."""
    days = index["day"][index["day"].between(lo, hi)]
    return (int(days.min()), int(days.max())) if len(days) else (lo, hi)


def _silent(_line: str) -> None:
    pass


def validate_and_aggregate(
    con: "duckdb.DuckDBPyConnection",
    raw: ingest.RawEvents,
    *,
    quarantine_dir: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    now: datetime,
    as_of: str = "",
    window_start: str = "",
    window_end: str = "",
    mapper: Mapper = run_locally,
    threads: int | None = None,
    partition_days: int = 31,
    check_window: Callable[[validate.Window], bool] | None = None,
    watch_days: Sequence[date] = (),
    progress: Callable[[str], None] = _silent,
) -> validate.ValidationResult:
    """Apply the row rules, write the quarantine and the window's aggregates, count everything.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The session holding ``raw`` (it plans the partitions and writes the outputs).
    raw : ingest.RawEvents
        Opened telemetry.
    quarantine_dir : path-like
        Holds the published ``quarantine.parquet``: :data:`validate.QUARANTINE_COLUMNS`, raw
        values as strings, sorted by every column so equal inputs give equal bytes. The window's
        rows replace those it re-judged and the others are kept (:func:`merge_quarantine`).
    work_dir : path-like
        Receives the window's aggregates (:data:`aggregate.WINDOW_FACT_FILE`), its quarantined
        rows (:data:`validate.WINDOW_QUARANTINE_FILE`) and, for CSV input, the staged rows the
        partitions read (:data:`STAGED_CSV_FILE`, removed once they are read).
    now : datetime
        Timezone-aware instant after which an event is ``future_event_time``.
    as_of, window_start, window_end : str
        ``ingest`` parameters (see :func:`validate.resolve_window`).
    mapper, threads : optional
        From :func:`open_engine`; default in-process with all cores.
    partition_days : int
        Days per partition.
    check_window : callable, optional
        Called with the run's window as soon as it is known, before anything is written to
        ``quarantine_dir``; an exception it raises leaves the published quarantine as it was.
        It returns True when the published outputs came from another source, whose quarantined
        rows the run then drops (e.g. :func:`featurehealth.ingest.check_same_source`).
    watch_days : sequence of date
        Days earlier runs found without any valid event: those outside the window and the day
        before it are counted exactly (their files are scanned, not skipped by their footers) in
        the summary's ``empty_days_now``, so that rows delivered since are noticed.
    progress : callable, optional
        Called with a line (:func:`partition_line`) as each partition is done, in the order they
        finish; silent by default (01_ingest passes ``print``).

    Returns
    -------
    validate.ValidationResult

    Raises
    ------
    ValueError
        For invalid window parameters.
    RuntimeError
        If the counts do not account for every row (a bug, never bad data).
    """
    import pyarrow as pa

    started = time.perf_counter()
    validate.install_macros(con)
    lo, hi = _scan_bounds(as_of=as_of, window_start=window_start, window_end=window_end)
    index, plan, results = _judge_partitions(con, raw, now=now, lo=lo, hi=hi, watch_days=watch_days, mapper=mapper,
                                             threads=threads, partition_days=partition_days, work=Path(work_dir),
                                             progress=progress, started=started)
    counts = _frame([r.counts for r in results])
    rows = pa.concat_tables([r.quarantine for r in results])
    validate.check_some_dated(index, counts, malformed=len(raw.malformed), example=_event_time_example(rows, raw.files),
                              files=raw.files)
    first, last = validate.first_and_last(counts, index)
    window = validate.resolve_window(
        first_day=first, last_day=last, as_of=as_of, window_start=window_start, window_end=window_end
    )
    other_source = check_window(window) if check_window is not None else False
    w_lo, w_hi = validate.day_number(window.start), validate.day_number(window.end)
    files = validate.files_in_window(index, n_files=len(raw.files), lo=w_lo, hi=w_hi)
    scoped = counts[validate.in_scope(counts, files=files, lo=w_lo, hi=w_hi)]
    duplicates = _frame([r.duplicates for r in results])
    duplicates = duplicates[duplicates["day"].between(w_lo, w_hi)]
    repeated = _frame([r.repeated for r in results])
    repeated = repeated[repeated["day"].between(w_lo, w_hi)]
    malformed = raw.malformed[raw.malformed["file_id"].isin(files)]
    window_quarantine, fact_path = _write_window(con, rows, malformed, results, window=window, files=files,
                                                 lo=w_lo, hi=w_hi, work=Path(work_dir))
    # Without ingest.as_of the window ends on the latest valid day: later days' rows went unjudged.
    unjudged = {} if as_of else validate.unjudged_days(index, raw.malformed, files=files, as_of=window.as_of)
    summary = validate.summarise(
        index, scoped, duplicates, malformed=len(malformed), unread=len(raw.malformed), raw=raw, window=window,
        unjudged=unjudged, repeated=repeated,
    )
    _check_row_accounting(con, window_quarantine, summary)
    validate.check_some_valid(summary, mapped=raw.mapped, files=raw.files)
    # Checked before publishing, so a failed check leaves the published quarantine as it was.
    quarantine_path = merge_quarantine(
        con, window_quarantine, Path(quarantine_dir) / validate.QUARANTINE_FILE,
        start=window.start, end=window.end, files=[raw.files[i] for i in files], keep_published=not other_source,
    )
    summary = {**summary, "window_files": [raw.files[i] for i in files],
               **_days_around_window(con, quarantine_path, index, window=window, watch_days=watch_days)}
    return validate.ValidationResult(
        summary=summary, daily_counts=validate.daily_counts(scoped, duplicates), quarantine_path=quarantine_path,
        fact_path=fact_path, files_read=len({f for _lo, _hi, read, _owned in plan for f in read}),
    )


def _scan_bounds(*, as_of: str, window_start: str, window_end: str) -> tuple[int | None, int | None]:
    """The first and last day numbers the window can hold, as far as the parameters tell (None: open)."""
    start = validate.parse_day(window_start, name="window_start")
    end = validate.parse_day(window_end, name="window_end") or validate.parse_day(as_of, name="as_of")
    # Without as_of the run's present is the last valid day, which may lie after window_end.
    lo = validate.day_number(start) if start else None
    hi = validate.day_number(end) if end and as_of else None
    return lo, hi


def _judge_partitions(
    con: "duckdb.DuckDBPyConnection", raw: ingest.RawEvents, *, now: datetime, lo: int | None, hi: int | None,
    watch_days: Sequence[date], mapper: Mapper, threads: int | None, partition_days: int, work: Path,
    progress: Callable[[str], None], started: float,
) -> tuple["pd.DataFrame", list[tuple[int, int, list[int], list[int]]], list[PartitionResult]]:
    """Index the files, plan the partitions between ``lo`` and ``hi`` and judge their rows: index, plan, results."""
    import pyarrow.compute as pc

    # Files that may hold rows of the day before the window are scanned too (their event_time
    # column only), so that day's input rows are exact for the data-quality check late_rows.
    with ingest.naming_damaged_files(raw.paths, raw.files, fmt=raw.file_format):
        index = file_index(con, raw, now=now, lo=None if lo is None else lo - 1, hi=hi,
                           keep=[validate.day_number(day) for day in watch_days])
        plan = plan_partitions(index, lo=lo, hi=hi, partition_days=partition_days)
        # Named by the days they hold: a block of the grid may start long before the input does.
        spans = [_dated_span(index, lo=a, hi=b) for a, b, _files, _owned in plan]
        numbers = itertools.count(1)

        def report(position: int, result: PartitionResult) -> None:
            progress(partition_line(number=next(numbers), total=len(plan), lo=spans[position][0],
                                    hi=spans[position][1], rows=pc.sum(result.counts["rows"]).as_py() or 0,
                                    seconds=time.perf_counter() - started))

        try:
            results = mapper(run_partition, _partitions(con, raw, plan, now=now, threads=threads, work=work),
                             done=report)
        finally:
            # Only the partitions read this copy of the CSV input; left in work/, it took room for nothing.
            (work / STAGED_CSV_FILE).unlink(missing_ok=True)
    return index, plan, results


def _write_window(
    con: "duckdb.DuckDBPyConnection", rows: "pa.Table", malformed: "pd.DataFrame", results: Sequence[PartitionResult],
    *, window: validate.Window, files: Sequence[int], lo: int, hi: int, work: Path,
) -> tuple[Path, Path]:
    """Write the window's (days ``lo``..``hi``) quarantined rows and aggregates under ``work``; return their paths."""
    import pyarrow as pa

    keep = validate.in_scope(rows.select(["file_id", "day"]).to_pandas(), files=files, lo=lo, hi=hi)
    con.register("fh_rows", rows.filter(pa.array(keep.to_numpy())))
    con.register("fh_malformed", malformed)
    con.register("fh_fact", pa.concat_tables([r.fact for r in results]))
    window_quarantine = warehouse.export_parquet(
        con, validate.quarantine_sql("fh_rows", "fh_malformed"), work / validate.WINDOW_QUARANTINE_FILE
    )
    # Only the window's days: a partition may reach past it while the window is being found.
    fact_path = warehouse.export_parquet(
        con,
        f"SELECT * FROM fh_fact WHERE date BETWEEN DATE '{window.start}' AND DATE '{window.end}' "
        f"ORDER BY feature_id, date",
        work / aggregate.WINDOW_FACT_FILE,
    )
    for name in ("fh_rows", "fh_malformed", "fh_fact"):
        con.unregister(name)
    return window_quarantine, fact_path


def _check_row_accounting(
    con: "duckdb.DuckDBPyConnection", window_quarantine: Path, summary: Mapping[str, Any]
) -> None:
    """Raise RuntimeError unless the window's quarantine and valid rows account for every input row."""
    written = con.execute(
        f"SELECT count(*) FROM read_parquet({warehouse.sql_path(window_quarantine)})"
    ).fetchall()[0][0]
    if written != summary["rows_quarantined"] or summary["rows_in"] != summary["rows_valid"] + written:
        raise RuntimeError(
            f"Row accounting failed: {summary['rows_in']} rows in, {summary['rows_valid']} valid, "
            f"{written} in quarantine (expected {summary['rows_quarantined']}); please report this bug."
        )


def _days_around_window(
    con: "duckdb.DuckDBPyConnection", quarantine_path: Path, index: "pd.DataFrame", *, window: validate.Window,
    watch_days: Sequence[date],
) -> dict[str, Any]:
    """The summary's input rows of the day before the window and of the watched days outside it."""
    # The files whose undated rows this run judged: the dashboard's examples of the window's quarantine.
    quarantined = con.execute(f"SELECT event_date, count(*) AS rows FROM read_parquet("
                              f"{warehouse.sql_path(quarantine_path)}) GROUP BY ALL").df()
    watched = sorted(d for d in set(watch_days) if not window.start - timedelta(days=1) <= d <= window.end)
    return {"day_before_window": validate.day_before_window(index, quarantined, window=window),
            "empty_days_now": {d.isoformat(): validate.day_rows(index, quarantined, day=d) for d in watched}}
