"""Benchmark: aggregate one year of the default telemetry to fact_feature_metrics.

By default simulates (once, cached under the data root) 365 days of the default profile's
telemetry -- 120 features, 50k events a day, ~18M events as daily Parquet files -- and times
:func:`featurehealth.aggregate.aggregate_events` with its exact statistics. Each path runs in a
fresh process: the first run is reported as ``cold`` (it also pays the first touch of ~1 GB of
memory, slow on small VMs), the next ``--repeats`` runs give the ``warm`` median. Paths:

* ``raw``: aggregation straight from the Parquet files (``read_parquet``) -- the target;
* ``validate``: validation with aggregation of each day partition, as 01_ingest runs it on the
  local engine (quarantine and window aggregates written), timed once (see bench_engines.py
  for the engines at several sizes).

Prints wall seconds, events/s, CPU seconds (all threads; a check on wall times taken while other
work shares the machine) and the process's peak resident memory. Target for ``raw`` on the
2-core CI machine: >= 5M events/s and <= 3 GB peak.

    .venv/bin/python benchmarks/bench_aggregate.py [--repeats 3] [--days 365] [--source DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurehealth import aggregate, config, engine, ingest, warehouse

if TYPE_CHECKING:
    import duckdb

Run = tuple[float, float, int]

#: A year from 2026-01-01 may lie partly after the machine's clock; count none of it as future.
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def year_of_telemetry(days: int) -> Path:
    """Folder of daily Parquet files: the default profile's simulation over ``days`` days."""
    from featurehealth import simulate

    params = {**config.load_profile("default")["simulate"], "n_days": days, "file_format": "parquet"}
    folder = config.data_root() / f"bench-default-{days}d"
    simulate.ensure_simulation(folder, **params)
    return folder / "events"


def check_parquet_source(source: str, parser: argparse.ArgumentParser) -> None:
    """Stop with one sentence unless ``source`` names Parquet files only: the ``raw`` path reads
    them with ``read_parquet``, and a CSV there would fail deep inside DuckDB."""
    try:
        files = ingest.resolve_sources(source)
    except ingest.InputError as exc:
        parser.error(f"--source: {exc}")
    if ingest.file_format(files[0]) != "parquet":
        parser.error(f"--source {source} holds CSV files; this benchmark times the aggregation "
                     "straight from Parquet, so point it at a Parquet folder or glob (or leave "
                     "--source out to simulate one).")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_gb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _timed(work: Callable[[], int]) -> Run:
    """(wall seconds, CPU seconds, events) of one call of ``work``."""
    wall, cpu = time.perf_counter(), _cpu_s()
    events = work()
    return time.perf_counter() - wall, _cpu_s() - cpu, events


def _aggregate_runs(con: "duckdb.DuckDBPyConnection", relation: str, runs: int) -> list[Run]:
    return [
        _timed(lambda: int(aggregate.aggregate_events(con, relation)["usage_count"].sum()))
        for _ in range(runs)
    ]


def time_raw(source: str, repeats: int) -> dict[str, Any]:
    """Timings of the aggregation straight from Parquet: the cold run, then ``repeats`` warm ones."""
    import pandas  # noqa: F401 - imported before timing: the result is a pandas frame

    files = ingest.resolve_sources(source)
    relation = "read_parquet([" + ", ".join(warehouse.sql_path(p) for p in files) + "])"
    runs = _aggregate_runs(warehouse.connect(), relation, repeats + 1)
    return {"raw": runs, "peak_gb": _peak_gb()}


def time_pipeline(source: str, repeats: int) -> dict[str, Any]:
    """Timing of validation with per-partition aggregation (once), as 01_ingest runs it."""
    import pandas  # noqa: F401 - imported before timing: the result is a pandas frame

    with tempfile.TemporaryDirectory(prefix="bench-aggregate-") as folder:
        paths = config.RunPaths(Path(folder)).ensure()

        def run_validation() -> int:
            con = warehouse.connect()
            raw = ingest.open_events(con, source, column_map={})
            result = engine.validate_and_aggregate(
                con, raw, quarantine_dir=paths.quarantine, work_dir=paths.work, now=FAR_FUTURE
            )
            con.close()
            return int(result.summary["rows_in"])

        validation = [_timed(run_validation)]
    return {"validate": validation, "peak_gb": _peak_gb()}


def _line(name: str, runs: list[Run], peak_gb: float) -> str:
    events = runs[0][2]
    cold = f"cold={runs[0][0]:.2f}s ({events / runs[0][0] / 1e6:.2f}M/s, cpu {runs[0][1]:.2f}s)"
    if len(runs) == 1:
        return f"{name:8s} events={events:,} {cold} peak={peak_gb:.2f} GB"
    warm = runs[1:]
    wall = statistics.median(r[0] for r in warm)
    cpu = statistics.median(r[1] for r in warm)
    return (
        f"{name:8s} events={events:,} warm median={wall:.2f}s rate={events / wall / 1e6:.2f}M events/s "
        f"cpu={cpu:.2f}s (n={len(warm)}); {cold}; peak={peak_gb:.2f} GB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3,
                        help="warm runs of the raw path after its cold one, 0 or more; their median is reported "
                             "(default: %(default)s)")
    parser.add_argument("--days", type=int, default=365,
                        help="days of the default profile's telemetry to simulate, 1 or more; ignored with --source "
                             "(default: %(default)s)")
    parser.add_argument("--source", default="",
                        help="Parquet file, folder or glob to time instead of the simulated telemetry "
                             "(default: none, simulate --days days)")
    args = parser.parse_args()
    if args.repeats < 0 or args.days < 1:
        parser.error("--repeats must be 0 or more and --days 1 or more.")
    if args.source:
        check_parquet_source(args.source, parser)
    source = args.source or str(year_of_telemetry(args.days))
    print(f"source: {source}")
    context = multiprocessing.get_context("spawn")
    for task in (time_raw, time_pipeline):
        # A fresh process per path, so its peak memory is that path's alone.
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            result = pool.submit(task, source, args.repeats).result()
        for name, runs in result.items():
            if name != "peak_gb":
                print(_line(name, runs, result["peak_gb"]), flush=True)


if __name__ == "__main__":
    main()
