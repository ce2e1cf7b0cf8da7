"""Simulator benchmark: events generated and written per second, and peak memory.

Generates the default profile's telemetry (120 features x 180 days x 50k events/day, ~8.6M
events) into a temporary folder, ``--repeats`` times, and prints the median wall time, events/s
on the wall clock and per CPU-second (the latter is barely moved by other load on the machine),
and peak resident memory. A one-day warm-up run first keeps one-off imports out of the figures.

    .venv/bin/python benchmarks/bench_simulate.py [--days 180] [--features 120] [--events-per-day 50000]
        [--format parquet] [--repeats 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from featurehealth import config, simulate


def _cpu_s() -> float:
    """CPU seconds of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    defaults = config.load_profile("default")["simulate"]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=defaults["n_days"],
                        help="days to simulate (default: %(default)s, the default profile's simulate.n_days)")
    parser.add_argument("--features", type=int, default=defaults["n_features"],
                        help="product features (default: %(default)s, the default profile's simulate.n_features)")
    parser.add_argument("--events-per-day", type=int, default=defaults["events_per_day"],
                        help="weekday events across all features (default: %(default)s, the default profile's "
                             "simulate.events_per_day)")
    parser.add_argument("--format", default=defaults["file_format"], choices=simulate.FILE_FORMATS,
                        help="file format written, one of %(choices)s (default: %(default)s, the default "
                             "profile's simulate.file_format)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed simulations, 1 or more; their median is reported (default: %(default)s)")
    args = parser.parse_args()
    if min(args.days, args.features, args.events_per_day, args.repeats) < 1:
        parser.error("--days, --features, --events-per-day and --repeats must each be 1 or more.")
    params = {**defaults, "n_days": args.days, "n_features": args.features,
              "events_per_day": args.events_per_day, "file_format": args.format}
    walls, cpus, rows = [], [], 0
    with tempfile.TemporaryDirectory(prefix="fh-sim-bench-") as work:
        simulate.simulate_telemetry(Path(work) / "warm-up", **{**params, "n_days": 1})
        for repeat in range(args.repeats):
            started, cpu_started = time.perf_counter(), _cpu_s()
            summary = simulate.simulate_telemetry(Path(work) / f"run{repeat}", **params)
            walls.append(time.perf_counter() - started)
            cpus.append(_cpu_s() - cpu_started)
            rows = summary["rows_written"]
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    # ru_maxrss is in KiB on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"simulated {rows:,} events ({args.features} features x {args.days} days, {args.format})")
    print(f"seconds       median {wall:.2f} of {args.repeats} ({', '.join(f'{s:.2f}' for s in walls)})")
    print(f"events/s      {rows / wall / 1e6:.2f} M (wall clock, generated and written)")
    print(f"events/cpu-s  {rows / cpu / 1e6:.2f} M (median CPU {cpu:.2f} s)")
    print(f"peak RSS      {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
