"""Shared test set-up: keep $HOME clean and send all outputs to temporary folders."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Set before any test module imports matplotlib, IPython or Jupyter.
_SANDBOX = Path(tempfile.mkdtemp(prefix="featurehealth-tests-"))
for _var, _sub in {
    "MPLCONFIGDIR": "mpl",
    "IPYTHONDIR": "ipython",
    "JUPYTER_CONFIG_DIR": "jupyter/config",
    "JUPYTER_DATA_DIR": "jupyter/data",
    "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
    "FEATUREHEALTH_OUTPUT_ROOT": "outputs",
    "FEATUREHEALTH_DATA_ROOT": "data",
}.items():
    os.environ[_var] = str(_SANDBOX / _sub)
    (_SANDBOX / _sub).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("MPLBACKEND", "Agg")
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox() -> Path:
    """Temporary folder that stands in for $HOME-level state during the test session."""
    return _SANDBOX


@pytest.fixture(scope="session")
def ci_run() -> dict:
    """Run the ``ci`` profile end to end once per test session.

    It publishes under its own output root (``report["output_root"]``), apart from the root the
    notebook (nbval) tests use, so each sees a fresh start whatever the test order.
    """
    from featurehealth import runner

    root = _SANDBOX / "pipeline-outputs"
    previous = os.environ["FEATUREHEALTH_OUTPUT_ROOT"]
    os.environ["FEATUREHEALTH_OUTPUT_ROOT"] = str(root)
    try:
        report = runner.run_pipeline("ci", progress=lambda _line: None)
    finally:
        os.environ["FEATUREHEALTH_OUTPUT_ROOT"] = previous
    return {**report, "output_root": str(root)}


def pytest_collectstart(collector: pytest.Collector) -> None:
    """nbval compares a notebook's text/plain outputs; HTML and widget views carry volatile ids."""
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("text/html", "application/vnd.jupyter.widget-view+json")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop at once, with the command to use, when nbval would run a pipeline notebook without those before it.

    nbval runs the notebooks by hand in this session's fresh output folder, so
    ``./run_tests.sh notebooks/03_model.ipynb`` alone would fail every cell after the first read.
    """
    from featurehealth import config as fh_config

    order = [item.path.name for item in items if item.path.suffix == ".ipynb"]
    problem = fh_config.pipeline_order_problem(order)
    if problem:
        chosen = [name for name in dict.fromkeys(order) if name in fh_config.PIPELINE_NOTEBOOKS]
        last = max(fh_config.PIPELINE_NOTEBOOKS.index(name) for name in chosen)
        command = " ".join(f"notebooks/{name}" for name in fh_config.PIPELINE_NOTEBOOKS[: last + 1])
        raise pytest.UsageError(f"{problem} For example: ./run_tests.sh {command}")
