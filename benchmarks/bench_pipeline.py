"""Whole-pipeline benchmark: per-step seconds and peak memory, full run and daily increment.

    .venv/bin/python benchmarks/bench_pipeline.py [--profile year] [--repeats 1]

1. Full run of the profile up to the day before its last day (simulation prepared beforehand,
   not timed: see bench_simulate.py).
2. Incremental daily run: the last day only, existing model, no retraining
   (``--set ingest.as_of=<last day> --set ingest.window_start=<last day> --set model.retrain=never``).

Outputs go to a temporary folder; figures are printed, medians when ``--repeats`` > 1.
Peak memory is the largest resident set of the runner process or any notebook kernel.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from datetime import date, timedelta


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _timed_run(profile: str, overrides: list[str]) -> tuple[float, dict]:
    from featurehealth import runner

    started = time.perf_counter()
    report = runner.run_pipeline(profile, overrides=overrides, progress=lambda _line: None)
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="year")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from featurehealth import config, simulate

    params = config.load_profile(args.profile)
    sim = params["simulate"]
    print(f"preparing simulation for '{args.profile}' (not timed)...", flush=True)
    simulate.ensure_simulation(config.simulated_data_dir(args.profile), **sim)
    last_day = date.fromisoformat(sim["start_date"]) + timedelta(days=sim["n_days"] - 1)
    previous_day = (last_day - timedelta(days=1)).isoformat()
    full_overrides = [f"ingest.as_of={previous_day}", f"ingest.window_end={previous_day}"]
    daily_overrides = [
        f"ingest.as_of={last_day.isoformat()}",
        f"ingest.window_start={last_day.isoformat()}",
        f"ingest.window_end={last_day.isoformat()}",
        "model.retrain=never",
    ]

    full_times: list[float] = []
    daily_times: list[float] = []
    step_times: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="fh-bench-") as root:
            os.environ["FEATUREHEALTH_OUTPUT_ROOT"] = root
            seconds, report = _timed_run(args.profile, full_overrides)
            full_times.append(seconds)
            for step in report["steps"]:
                step_times.setdefault(step["step"], []).append(step["duration_s"])
            seconds, _ = _timed_run(args.profile, daily_overrides)
            daily_times.append(seconds)
        print(f"repeat {repeat + 1}: full {full_times[-1]:.1f}s, daily {daily_times[-1]:.1f}s", flush=True)

    rows = report.get("rows", {}).get("rows_in")
    print(f"\nprofile {args.profile}: {rows} events, {sim['n_features']} features x {sim['n_days']} days")
    for step, values in step_times.items():
        print(f"  {step:<16} {statistics.median(values):7.2f} s")
    full = statistics.median(full_times)
    print(f"full pipeline      {full:7.2f} s (median of {args.repeats})"
          + (f", {rows / full / 1e6:.2f} M events/s" if rows else ""))
    print(f"daily increment    {statistics.median(daily_times):7.2f} s (median of {args.repeats})")
    print(f"peak memory        {_peak_rss_mb():7.0f} MB (largest process: runner or a kernel)")


if __name__ == "__main__":
    main()
