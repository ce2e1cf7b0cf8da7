"""Benchmark: the model stage of 03_model on one year of the default profile (120 features x 365 days).

Preparation, not timed and cached under the data root: simulate a year of the default
profile's telemetry (the same cache as bench_aggregate.py), validate it, aggregate it to
``fact_feature_metrics`` with ``is_degraded`` and keep fact, dim and incidents as Parquet.

Timed, each repeat in a fresh output folder, with the default profile's ``model`` group:

* ``train``: signals and target, training with calibration, evaluation beside the baselines,
  permutation importance, early warning, registry (version, card, promotion), the holdout
  comparison a retrain over a model in use adds (here against itself: the whole test window,
  the largest holdout, with its bootstrap interval), scoring of the out-of-sample days, the fact
  table and DuckDB rewrite, and the risk ranking;
* ``score``: what a daily run without retraining does: load the model in use (sha256
  checked), signals, scoring, fact table rewrite and ranking.

Prints the median seconds of each (and of the training steps). Target: ``train`` <= 15 s on the
2-core machine; ``score`` about a second.

    .venv/bin/python benchmarks/bench_model.py [--repeats 3] [--days 365]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from featurehealth import aggregate, config, engine, ingest, registry, runlog, signals, warehouse
from featurehealth import degradation as degradation_rules
from featurehealth import model as risk_model

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def year_tables(days: int) -> dict[str, pd.DataFrame]:
    """fact, dim and incidents of ``days`` days of the default simulation.

    The aggregates come from :func:`cached_aggregates`; degraded days are flagged on every call,
    with the default profile's current rules.
    """
    profile = config.load_profile("default")
    tables = cached_aggregates(days, profile)
    fact = degradation_rules.flag_degraded(tables["fact_feature_metrics"], **profile["degradation"])
    return {**tables, "fact_feature_metrics": aggregate.check_fact(fact)}


def cached_aggregates(days: int, profile: dict) -> dict[str, pd.DataFrame]:
    """Window aggregates (no ``is_degraded``), dim and incidents of the simulation, cached as Parquet.

    The cache is tied to the simulation's summary file and the fact columns, so a changed
    simulation or aggregation rebuilds it.
    """
    from featurehealth import simulate

    folder = config.data_root() / f"bench-default-{days}d"
    simulation = {**profile["simulate"], "n_days": days, "file_format": "parquet"}
    simulate.ensure_simulation(folder, **simulation)
    source_hash = runlog.sha256_file(folder / "simulation.json") + " " + ",".join(aggregate.FACT_COLUMNS)
    cache = config.data_root() / f"bench-model-{days}d"
    names = ("fact_feature_metrics", "dim_feature_metadata", "incidents")
    stamp = cache / "simulation.sha256"
    if stamp.is_file() and stamp.read_text() == source_hash:
        return {n: pd.read_parquet(cache / f"{n}.parquet") for n in names}
    located = ingest.resolve_inputs(
        source="simulated", metadata_path="", incidents_path="", simulated_dir=folder, simulation=simulation
    )
    with tempfile.TemporaryDirectory(prefix="bench-model-") as work:
        paths = config.RunPaths(Path(work)).ensure()
        con = warehouse.connect()
        raw = ingest.open_events(con, located.events, column_map={})
        engine.validate_and_aggregate(con, raw, quarantine_dir=paths.quarantine, work_dir=paths.work, now=FAR_FUTURE)
        con.close()
        fact = aggregate.read_window_fact(paths.work)
    tables = {
        "fact_feature_metrics": fact,
        "dim_feature_metadata": aggregate.build_dim(
            ingest.read_metadata(located.metadata), fact["feature_id"].unique()
        ),
        "incidents": ingest.read_incidents(located.incidents),
    }
    cache.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(cache / f"{name}.parquet", index=False)
    stamp.write_text(source_hash)
    return tables


def train_stage(paths: config.RunPaths, tables: dict[str, pd.DataFrame], params: dict) -> dict[str, float]:
    """03_model with training; seconds per step."""
    fact, dim, incidents = tables["fact_feature_metrics"], tables["dim_feature_metadata"], tables["incidents"]
    settings = params["model"]
    clock = {"start": time.perf_counter()}
    frame = signals.build_signals(fact, dim, degradation=params["degradation"])
    dataset = risk_model.labelled_dataset(frame, signals.build_target(fact, horizon_days=settings["horizon_days"]))
    clock["signals"] = time.perf_counter()
    report = risk_model.train_and_evaluate(dataset, incidents, params=settings)
    clock["train_and_evaluate"] = time.perf_counter()
    registry.register(paths, report, dataset, params=settings, degradation=params["degradation"])
    clock["register"] = time.perf_counter()
    split = report.result.split
    registry.compare_on_holdout(report.result.model, registry.load_current(paths), dataset,
                                test_start=split.test_start, test_end=split.test_end,
                                horizon_days=settings["horizon_days"], min_positives=settings["promote_min_positives"],
                                seed=settings["random_state"])
    clock["compare"] = time.perf_counter()
    score_stage(paths, tables, params, frame=frame)
    clock["score_and_write"] = time.perf_counter()
    marks = list(clock.items())
    return {name: t - marks[i - 1][1] for i, (name, t) in enumerate(marks) if i}


def score_stage(
    paths: config.RunPaths, tables: dict[str, pd.DataFrame], params: dict, *, frame: pd.DataFrame | None = None
) -> None:
    """03_model without training: load, score, write the fact table and the ranking."""
    fact, dim = tables["fact_feature_metrics"], tables["dim_feature_metadata"]
    in_use, card = registry.load_current(paths)
    registry.publish_reports(paths, card, degradation=params["degradation"])
    threshold = runlog.read_json(paths.reports / "metrics.json")["operating_threshold"]
    cutoffs = risk_model.bucket_cutoffs(params["model"]["risk_buckets"], operating_threshold=threshold)
    if frame is None:
        frame = signals.build_signals(fact, dim, degradation=params["degradation"])
    scored = risk_model.score_rows(in_use, frame[frame["date"] >= card["test_window"]["start"]], cutoffs=cutoffs)
    warehouse.write_tables(paths, fact_feature_metrics=risk_model.with_risk(fact, scored))
    latest = frame[frame["date"] == frame["date"].max()]
    ranking = risk_model.risk_ranking(in_use, latest, fact, dim, cutoffs=cutoffs)
    registry.write_csv(ranking, paths.reports / "risk_ranking.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed train and score stages, each in a fresh output folder, 1 or more; their medians "
                             "are reported (default: %(default)s)")
    parser.add_argument("--days", type=int, default=365,
                        help="days of the default profile's telemetry to simulate and train on (default: %(default)s)")
    args = parser.parse_args()
    if args.repeats < 1 or args.days < 1:
        parser.error("--repeats and --days must each be 1 or more.")

    print(f"preparing {args.days} days of the default profile (not timed)...", flush=True)
    tables = year_tables(args.days)
    fact = tables["fact_feature_metrics"]
    print(f"fact: {len(fact)} feature-days, {fact['feature_id'].nunique()} features", flush=True)
    params = config.load_profile("default")
    train_runs, score_runs = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-model-run-") as folder:
            paths = config.RunPaths(Path(folder)).ensure()
            warehouse.write_tables(paths, **tables)
            train_runs.append(train_stage(paths, tables, params))
            started = time.perf_counter()
            score_stage(paths, tables, params)
            score_runs.append(time.perf_counter() - started)
    for step in train_runs[0]:
        print(f"  train/{step:<20} median {statistics.median(r[step] for r in train_runs):6.2f} s")
    print(f"train stage (target <= 15 s): median {statistics.median(sum(r.values()) for r in train_runs):.2f} s")
    print(f"score-only stage (target ~1 s): median {statistics.median(score_runs):.2f} s")


if __name__ == "__main__":
    main()
