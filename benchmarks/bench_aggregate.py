"""Benchmark: aggregate one year of the default telemetry to fact_feature_metrics.

By default simulates (once, cached under the data root) 365 days of the default profile's
telemetry -- 120 features, 50k events a day, ~18M events as daily Parquet files -- and then
times :func:`featurehealth.aggregate.aggregate_events` with its exact statistics, each repeat in
a fresh process so peak memory is that of the measured work alone. Timed:

* ``raw``: aggregation straight from the Parquet files (``read_parquet``) -- the target;
* ``validate``: opening and validating the files as 01_ingest does (quarantine written);
* ``pipeline``: aggregation through the ``valid_events`` view left by validation, as
  02_aggregate runs (the row rules are evaluated again on the fly).

Prints the median seconds, events/s and peak resident memory of each. Target for ``raw`` on
the 2-core CI machine: >= 5M events/s and <= 3 GB peak.

    .venv/bin/python benchmarks/bench_aggregate.py [--repeats 3] [--days 365] [--source DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from featurehealth import aggregate, config, ingest, validate, warehouse

if TYPE_CHECKING:
    import duckdb

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def year_of_telemetry(days: int) -> Path:
    """Folder of daily Parquet files: the default profile's simulation over ``days`` days."""
    from featurehealth import simulate

    params = {**config.load_profile("default")["simulate"], "n_days": days, "file_format": "parquet"}
    folder = config.data_root() / f"bench-default-{days}d"
    simulate.ensure_simulation(folder, **params)
    return folder / "events"


def _peak_gb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _warm_up(con: "duckdb.DuckDBPyConnection", relation: str) -> None:
    """Aggregate one row first, so library imports (pandas on first use) are not timed."""
    aggregate.aggregate_events(con, f"(SELECT * FROM {relation} LIMIT 1)")


def time_raw(source: str) -> list[tuple[str, float, int, float]]:
    """Aggregate straight from Parquet: [(path, seconds, events, peak GB)]."""
    files = ingest.resolve_sources(source)
    relation = "read_parquet([" + ", ".join(warehouse.sql_string(str(p)) for p in files) + "])"
    con = warehouse.connect()
    _warm_up(con, relation)
    started = time.perf_counter()
    fact = aggregate.aggregate_events(con, relation)
    return [("raw", time.perf_counter() - started, int(fact["usage_count"].sum()), _peak_gb())]


def time_pipeline(source: str) -> list[tuple[str, float, int, float]]:
    """Validate, then aggregate the ``valid_events`` view, as 01 and 02 do: one row per step."""
    with tempfile.TemporaryDirectory(prefix="bench-aggregate-") as folder:
        paths = config.RunPaths(Path(folder)).ensure()
        started = time.perf_counter()
        con = warehouse.work_connection(paths, fresh=True)
        raw = ingest.open_events(con, source, column_map={})
        # A year from 2026-01-01 may lie partly after the machine's clock; count none of it as future.
        result = validate.validate_events(con, raw, quarantine_dir=paths.quarantine, now=FAR_FUTURE)
        con.close()
        validated = time.perf_counter() - started
        peak = _peak_gb()
        con = warehouse.work_connection(paths)
        _warm_up(con, validate.VALID_VIEW)
        started = time.perf_counter()
        fact = aggregate.aggregate_events(con, validate.VALID_VIEW)
        seconds = time.perf_counter() - started
        con.close()
    return [
        ("validate", validated, int(result.summary["rows_in"]), peak),
        ("pipeline", seconds, int(fact["usage_count"].sum()), _peak_gb()),
    ]


def measure(task, source: str, repeats: int) -> dict[str, dict[str, float]]:
    """Per timed step of ``task``: median seconds, events/s and peak GB over ``repeats`` fresh processes."""
    context = multiprocessing.get_context("spawn")
    runs = []
    for _ in range(repeats):
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            runs.append(pool.submit(task, source).result())
    results = {}
    for index, (name, _s, events, _p) in enumerate(runs[0]):
        seconds = statistics.median(run[index][1] for run in runs)
        results[name] = {"seconds": seconds, "events": events, "events_per_s": events / seconds,
                         "peak_gb": statistics.median(run[index][3] for run in runs)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process runs per path (median reported)")
    parser.add_argument("--days", type=int, default=365, help="days of default telemetry to simulate")
    parser.add_argument("--source", default="", help="Parquet folder/glob to use instead of simulating")
    args = parser.parse_args()
    source = args.source or str(year_of_telemetry(args.days))
    print(f"source: {source}")
    for task in (time_raw, time_pipeline):
        for name, result in measure(task, source, args.repeats).items():
            print(
                f"{name:8s} events={result['events']:,} median={result['seconds']:.2f}s "
                f"rate={result['events_per_s'] / 1e6:.2f}M events/s peak={result['peak_gb']:.2f} GB "
                f"(median of {args.repeats})"
            )


if __name__ == "__main__":
    main()
