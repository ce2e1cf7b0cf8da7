"""The benchmark scripts still run against the library (speed itself is measured by hand, not here)."""

from __future__ import annotations

import os
import re
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


BENCHMARKS = sorted((config.REPO_ROOT / "benchmarks").glob("bench_*.py"))


def _described_options(help_text: str) -> dict[str, str]:
    """Each option of an argparse --help's options section -> the text describing it."""
    described: dict[str, str] = {}
    names: list[str] = []
    for line in help_text.partition("\noptions:\n")[2].splitlines():
        head = re.match(r"^  (-\S.*?)(?:\s{2,}(\S.*))?$", line)
        if head:
            names = re.findall(r"--[\w-]+", head[1])
            described.update(dict.fromkeys(names, head[2] or ""))
        elif line.startswith("    ") and names:
            for name in names:
                described[name] = f"{described[name]} {line.strip()}".strip()
    return described


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_every_benchmark_option_is_described_with_its_default(script: Path) -> None:
    # Options without help (bench_model's --repeats and --days, bench_simulate's five) showed only
    # their names: what they count and what a run without them uses were in the source alone.
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    described = _described_options(result.stdout)
    in_usage = set(re.findall(r"\[(--[\w-]+)", result.stdout.partition("\n\n")[0]))
    assert in_usage and in_usage <= set(described), (in_usage, described)
    for name, text in described.items():
        if name != "--help":
            assert re.search(r"\(default: [^)]+\)", text) and len(text.split()) >= 5, f"{script.name} {name}: {text!r}"


@pytest.mark.parametrize(
    ("script", "args", "named"),
    [
        ("bench_engines.py", ["--repeats", "0"], "--repeats"),
        ("bench_model.py", ["--repeats", "0"], "--repeats"),
        ("bench_pipeline.py", ["--repeats", "0"], "--repeats"),
        ("bench_pipeline.py", ["--profile", "no_such_profile"], "no_such_profile"),
        ("bench_simulate.py", ["--features", "0"], "--features"),
        ("bench_aggregate.py", ["--days", "0"], "--days"),
    ],
)
def test_a_benchmark_refuses_a_value_it_cannot_measure_in_one_sentence(script: str, args: list[str], named: str) -> None:
    # --repeats 0 ran everything up to statistics.median([]), then ended in a traceback.
    result = subprocess.run([sys.executable, str(config.REPO_ROOT / "benchmarks" / script), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert named in result.stderr and "Traceback" not in result.stderr
