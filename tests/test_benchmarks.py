"""The benchmark scripts still run against the library (speed itself is measured by hand, not here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from featurehealth import config


@pytest.mark.pipeline
def test_bench_model_runs_on_a_short_year(tmp_path: Path) -> None:
    # The model benchmark (issue target: train <= 15 s on a year) once broke unnoticed when
    # risk_buckets gained 'auto'; 60 days keep this check to seconds.
    env = {**os.environ, "FEATUREHEALTH_DATA_ROOT": str(tmp_path / "data"),
           "FEATUREHEALTH_OUTPUT_ROOT": str(tmp_path / "outputs")}
    result = subprocess.run(
        [sys.executable, str(config.REPO_ROOT / "benchmarks" / "bench_model.py"), "--days", "60", "--repeats", "1"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "train stage (target <= 15 s): median" in result.stdout
    assert "score-only stage (target ~1 s): median" in result.stdout


def test_bench_aggregate_refuses_a_csv_source_in_one_sentence(tmp_path: Path) -> None:
    # Its raw path reads Parquet only; a CSV folder used to end in a DuckDB traceback.
    (tmp_path / "events.csv").write_text("timestamp,feature_id\n2026-01-01,F1\n")
    result = subprocess.run(
        [sys.executable, str(config.REPO_ROOT / "benchmarks" / "bench_aggregate.py"), "--source", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "holds CSV files" in result.stderr and "Traceback" not in result.stderr
