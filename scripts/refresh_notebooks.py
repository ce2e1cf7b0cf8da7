"""Re-execute the pipeline notebooks on the ``ci`` profile and store their outputs in place.

nbval (in ``./run_tests.sh``) re-runs the notebooks and compares each cell's text output with
the stored one, so after changing a notebook or what it prints, refresh the stored outputs:

    .venv/bin/python scripts/refresh_notebooks.py

The notebooks run in order against fresh temporary output and data folders, exactly as nbval
runs them, and only their outputs change on disk.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from featurehealth.config import NOTEBOOKS_DIR, PIPELINE_NOTEBOOKS


def refresh(names: list[str]) -> None:
    """Execute ``names`` (notebook files under notebooks/) in order and save them with outputs."""
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="featurehealth-refresh-") as sandbox:
        for variable, sub in {
            "FEATUREHEALTH_OUTPUT_ROOT": "outputs",
            "FEATUREHEALTH_DATA_ROOT": "data",
            "MPLCONFIGDIR": "mpl",
            "IPYTHONDIR": "ipython",
        }.items():
            os.environ[variable] = str(Path(sandbox) / sub)
        os.environ.setdefault("MPLBACKEND", "Agg")
        for name in names:
            path = NOTEBOOKS_DIR / name
            notebook = nbformat.read(path, as_version=4)
            print(f"executing {name} ...", flush=True)
            NotebookClient(
                notebook, kernel_name="python3", timeout=600,
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
            for cell in notebook.cells:
                cell.metadata.pop("execution", None)
            notebook.metadata.pop("widgets", None)
            nbformat.write(notebook, path)


if __name__ == "__main__":
    refresh(sys.argv[1:] or list(PIPELINE_NOTEBOOKS))
