"""Shared test set-up: keep $HOME clean and send all outputs to temporary folders."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session")
def sandbox() -> Path:
    """Temporary folder that stands in for $HOME-level state during the test session."""
    return _SANDBOX


@pytest.fixture(scope="session")
def ci_run() -> dict:
    """Run the ``ci`` profile end to end once per test session; returns its run report.

    Outputs land under the sandboxed FEATUREHEALTH_OUTPUT_ROOT, never in the repository.
    """
    from featurehealth import runner

    return runner.run_pipeline("ci", progress=lambda _line: None)
