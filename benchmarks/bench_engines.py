"""Scaling benchmark: validation + aggregation on the local engine and on Dask, by input size.

    .venv/bin/python benchmarks/bench_engines.py [--sizes 1 10 50] [--repeats 3] [--workers 2]

For each size (millions of events) the default profile's telemetry is simulated once (120
features, 50k weekday events a day, as many days as the size needs; cached under the data root,
not timed). Then :func:`featurehealth.engine.validate_and_aggregate` runs as 01_ingest runs it
(open the files, validate, quarantine, aggregate each day partition) on:

* ``local``: in the measuring process;
* ``dask``: a ``LocalCluster`` of ``--workers`` worker processes with one thread each, on
  127.0.0.1, started before the clock (its start-up is printed apart) and reached as an
  existing scheduler, the way a shared cluster is used.

Each engine and size runs in a fresh process. Printed: events, median wall seconds, events/s,
median CPU seconds (this process plus, for Dask, the workers) and peak memory: the largest
resident set of the process, its children and, for Dask, each worker.
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
from typing import Any

#: A simulation may lie partly after the machine's clock; count none of it as future.
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
EVENTS_PER_DAY = 50_000


def telemetry(millions: int) -> Path:
    """Folder of daily Parquet files holding about ``millions`` million events (simulated once)."""
    from featurehealth import config, simulate

    # Weekends carry 0.75 of a weekday's events: about 0.93 of the nominal rate on average.
    days = max(1, round(millions * 1e6 / (EVENTS_PER_DAY * 0.93)))
    params = {**config.load_profile("default")["simulate"], "n_days": days, "events_per_day": EVENTS_PER_DAY,
              "file_format": "parquet"}
    folder = config.data_root() / f"bench-engines-{millions}m"
    simulate.ensure_simulation(folder, **params)
    return folder / "events"


def _usage() -> tuple[float, int]:
    """(CPU seconds, peak resident KiB) of this process and its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return cpu, max(own.ru_maxrss, children.ru_maxrss)


def _run_once(source: str, mapper: Any, threads: int | None) -> int:
    from featurehealth import engine, ingest, warehouse

    with tempfile.TemporaryDirectory(prefix="bench-engines-") as folder:
        con = warehouse.connect()
        raw = ingest.open_events(con, source, column_map={})
        result = engine.validate_and_aggregate(
            con, raw, quarantine_dir=folder, work_dir=folder, now=FAR_FUTURE, mapper=mapper, threads=threads
        )
        con.close()
    return int(result.summary["rows_read"])


def measure(source: str, engine_name: str, repeats: int, workers: int) -> dict[str, Any]:
    """Wall and CPU seconds of each repeat, events, peak KiB; run in a fresh process."""
    import pandas  # noqa: F401 - imported before timing

    from featurehealth import engine

    runs: list[tuple[float, float]] = []
    if engine_name == "local":
        for _ in range(repeats):
            cpu, wall = _usage()[0], time.perf_counter()
            events = _run_once(source, engine.run_locally, None)
            runs.append((time.perf_counter() - wall, _usage()[0] - cpu))
        return {"runs": runs, "events": events, "peak_kb": _usage()[1], "startup_s": 0.0}

    import logging

    from distributed import Client, LocalCluster

    started = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        startup = time.perf_counter() - started

        def worker_cpu() -> float:
            return sum(client.run(lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])).values())

        with engine.open_engine(name="dask", scheduler_address=cluster.scheduler_address) as (mapper, threads):
            for _ in range(repeats):
                cpu, wall = _usage()[0] + worker_cpu(), time.perf_counter()
                events = _run_once(source, mapper, threads)
                runs.append((time.perf_counter() - wall, _usage()[0] + worker_cpu() - cpu))
        worker_peak = max(client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).values())
    return {"runs": runs, "events": events, "peak_kb": max(_usage()[1], worker_peak), "startup_s": startup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50], metavar="MILLIONS",
                        help="input sizes to time, in millions of events, each 1 or more "
                             "(default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs per engine and size, 1 or more; their median is reported (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the Dask LocalCluster, 1 or more (default: %(default)s)")
    args = parser.parse_args()
    if min(args.sizes) < 1 or args.repeats < 1 or args.workers < 1:
        parser.error("--sizes, --repeats and --workers must each be 1 or more.")
    context = multiprocessing.get_context("spawn")
    print(f"{'events':>12} {'engine':>6} {'wall s':>8} {'M events/s':>10} {'cpu s':>8} {'peak GB':>8}", flush=True)
    for millions in args.sizes:
        source = str(telemetry(millions))
        for engine_name in ("local", "dask"):
            # A fresh process per engine and size, so each peak is its own.
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                result = pool.submit(measure, source, engine_name, args.repeats, args.workers).result()
            wall = statistics.median(r[0] for r in result["runs"])
            cpu = statistics.median(r[1] for r in result["runs"])
            note = f"  (cluster start {result['startup_s']:.1f} s, not timed)" if engine_name == "dask" else ""
            print(f"{result['events']:>12,} {engine_name:>6} {wall:8.2f} {result['events'] / wall / 1e6:10.2f} "
                  f"{cpu:8.1f} {result['peak_kb'] / 1024**2:8.2f}{note}", flush=True)


if __name__ == "__main__":
    main()
