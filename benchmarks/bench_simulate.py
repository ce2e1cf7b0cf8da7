"""Simulator benchmark: events generated and written per second, and peak memory.

    .venv/bin/python benchmarks/bench_simulate.py [--days 180] [--events-per-day 50000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time

from featurehealth import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--features", type=int, default=120)
    parser.add_argument("--events-per-day", type=int, default=50_000)
    parser.add_argument("--format", default="parquet", choices=simulate.FILE_FORMATS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    seconds, rows = [], 0
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="fh-sim-bench-") as out:
            started = time.perf_counter()
            summary = simulate.simulate_telemetry(
                out, n_features=args.features, n_days=args.days,
                events_per_day=args.events_per_day, file_format=args.format,
            )
            seconds.append(time.perf_counter() - started)
            rows = summary["rows"]
    median = statistics.median(seconds)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"simulated {rows:,} events ({args.features} features x {args.days} days, {args.format})")
    print(f"seconds   median {median:.2f} of {args.repeats} ({', '.join(f'{s:.2f}' for s in seconds)})")
    print(f"events/s  {rows / median / 1e6:.2f} M (generated and written)")
    print(f"peak RSS  {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
