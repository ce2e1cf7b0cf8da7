"""Whole-pipeline benchmark: per-step seconds and peak memory, full run and daily increment.

    .venv/bin/python benchmarks/bench_pipeline.py [--profile year] [--repeats 1]

1. Full run of the profile up to the day before its last day (simulation prepared beforehand,
   not timed: see bench_simulate.py).
2. Incremental daily run: the last day only, existing model, no retraining
   (``--set ingest.as_of=<last day> --set ingest.window_start=<last day> --set model.retrain=never``).

Each run is a fresh ``python -m featurehealth.runner`` process, as ``run_all.sh`` starts it, so
the runner's own imports count. Outputs go to a temporary folder; figures are medians when
``--repeats`` > 1. CPU seconds are those of the runner and its kernels (on a shared machine they
vary less than wall time). Peak memory is the largest resident set of the runner or any kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _timed_run(profile: str, overrides: list[str], *, output_root: str) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, CPU seconds (runner and kernels) and run report of one run in a fresh process."""
    from featurehealth.runner import EXIT_QUALITY_FAILED

    command = [sys.executable, "-m", "featurehealth.runner", profile, *(f"--set={item}" for item in overrides)]
    before = os.times()
    started = time.perf_counter()
    finished = subprocess.run(
        command, stdout=subprocess.DEVNULL, env={**os.environ, "FEATUREHEALTH_OUTPUT_ROOT": output_root}
    )
    seconds = time.perf_counter() - started
    # A data-quality failure still publishes a complete run, whose time counts.
    if finished.returncode not in (0, EXIT_QUALITY_FAILED):
        raise subprocess.CalledProcessError(finished.returncode, command)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    report = json.loads((Path(output_root) / profile / "reports" / "run_report.json").read_text(encoding="utf-8"))
    return seconds, cpu, report


def _print_steps(title: str, step_times: dict[str, list[float]]) -> None:
    print(title)
    for step, values in step_times.items():
        print(f"  {step:<16} {statistics.median(values):7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="year",
                        help="profile (file stem in params/) whose simulated telemetry is run (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="full runs and daily increments, each pair in a fresh output folder, 1 or more; "
                             "figures are their medians (default: %(default)s)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more.")

    from featurehealth import config, simulate

    try:
        params = config.load_profile(args.profile)
    except config.ProfileError as exc:
        parser.error(f"--profile: {exc}")
    sim = params["simulate"]
    print(f"preparing simulation for '{args.profile}' (not timed)...", flush=True)
    simulate.ensure_simulation(config.simulated_data_dir(args.profile), **sim)
    last_day = date.fromisoformat(sim["start_date"]) + timedelta(days=sim["n_days"] - 1)
    previous_day = (last_day - timedelta(days=1)).isoformat()
    runs = {
        "full": [f"ingest.as_of={previous_day}", f"ingest.window_end={previous_day}"],
        "daily": [
            f"ingest.as_of={last_day.isoformat()}",
            f"ingest.window_start={last_day.isoformat()}",
            f"ingest.window_end={last_day.isoformat()}",
            "model.retrain=never",
        ],
    }

    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    step_times: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="fh-bench-") as root:
            for name, overrides in runs.items():
                seconds, cpu_seconds, report = _timed_run(args.profile, overrides, output_root=root)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
                for step in report["steps"]:
                    step_times[name].setdefault(step["step"], []).append(step["duration_s"])
                if name == "full":
                    rows = report.get("rows", {}).get("rows_in")
        print(f"repeat {repeat + 1}: " + ", ".join(
            f"{name} {wall[name][-1]:.1f}s ({cpu[name][-1]:.1f} CPU s)" for name in runs), flush=True)

    print(f"\nprofile {args.profile}: {rows} events, {sim['n_features']} features x {sim['n_days']} days")
    _print_steps("full run, per step:", step_times["full"])
    _print_steps("daily increment, per step:", step_times["daily"])
    full = statistics.median(wall["full"])
    print(f"full pipeline      {full:7.2f} s, {statistics.median(cpu['full']):6.1f} CPU s (median of {args.repeats})"
          + (f", {rows / full / 1e6:.2f} M events/s" if rows else ""))
    print(f"daily increment    {statistics.median(wall['daily']):7.2f} s, "
          f"{statistics.median(cpu['daily']):6.1f} CPU s (median of {args.repeats})")
    print(f"peak memory        {_peak_rss_mb():7.0f} MB (largest process: runner or a kernel)")


if __name__ == "__main__":
    main()
