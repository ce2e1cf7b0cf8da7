"""scripts/refresh_notebooks.py: its command line (executing the notebooks is nbval's and the lead's job)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from featurehealth import config

SCRIPT = config.REPO_ROOT / "scripts" / "refresh_notebooks.py"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_help_prints_the_usage_without_running_anything(tmp_path: Path) -> None:
    result = _run("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[NOTEBOOK ...]" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["05_nothing.ipynb", "../README.md"])
def test_an_unknown_notebook_is_one_sentence_listing_the_names(name: str, tmp_path: Path) -> None:
    result = _run(name, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert name in result.stderr and "01_ingest.ipynb" in result.stderr


def test_a_pipeline_notebook_alone_names_the_ones_to_run_before_it(tmp_path: Path) -> None:
    # Run alone in a fresh sandbox, 03_model would fail on its first read after seconds of work.
    result = _run("03_model.ipynb", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "01_ingest.ipynb, 02_aggregate.ipynb, 03_model.ipynb" in result.stderr
