"""scripts/refresh_notebooks.py: its command line (executing the notebooks is nbval's and the lead's job)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
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


def test_a_notebook_is_replaced_whole_so_a_run_reading_it_meanwhile_gets_one_version(tmp_path: Path) -> None:
    # A run of ./run_all.sh reads the notebooks while a refresh saves them: saved in place, the
    # file read empty or cut short for a moment ("Notebook does not appear to be JSON").
    spec = importlib.util.spec_from_file_location("refresh_notebooks", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    path = tmp_path / "01_ingest.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", execution_count=1)])
    nbformat.write(notebook, path)
    old = path.read_text()
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", text="refreshed\n")]
    notebook.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-11-29T00:00:00Z"}
    with open(path, encoding="utf-8") as reader:  # a run that opened the notebook just before
        script.save(notebook, path)
        assert reader.read() == old
    saved = nbformat.read(path, as_version=4)
    assert saved.cells[0].outputs[0].text == "refreshed\n" and "execution" not in saved.cells[0].metadata
    assert [p.name for p in tmp_path.iterdir()] == ["01_ingest.ipynb"]


def test_a_refreshed_notebook_keeps_its_mode_and_a_linked_one_its_link(tmp_path: Path) -> None:
    # Replaced by a new file, a notebook took the umask's mode, and a symlinked one became a copy.
    spec = importlib.util.spec_from_file_location("refresh_notebooks", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    shared = tmp_path / "shared.ipynb"
    nbformat.write(notebook, shared)
    shared.chmod(0o664)
    link = tmp_path / "02_aggregate.ipynb"
    link.symlink_to(shared.name)
    script.save(notebook, link)
    assert link.is_symlink() and shared.stat().st_mode & 0o777 == 0o664
