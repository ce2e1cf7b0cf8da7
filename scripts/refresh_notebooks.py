"""Re-execute the pipeline notebooks on the ``ci`` profile and store their outputs in place.

nbval (in ``./run_tests.sh``) re-runs the notebooks and compares each cell's text output with
the stored one, so after changing a notebook or what it prints, refresh the stored outputs:

    .venv/bin/python scripts/refresh_notebooks.py [NOTEBOOK ...]

With no argument the four pipeline notebooks are refreshed. Arguments are file names under
notebooks/ (``01_ingest.ipynb``); a pipeline notebook needs those before it in the same command,
in order, since each reads what they wrote (the script stops with the list to give otherwise).
The notebooks run in order against fresh temporary output and data folders, exactly as nbval
runs them, and only their outputs change on disk.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from featurehealth.config import NOTEBOOKS_DIR, PIPELINE_NOTEBOOKS, pipeline_order_problem

if TYPE_CHECKING:
    import nbformat


def refresh(names: list[str]) -> None:
    """Execute ``names`` (notebook files under notebooks/) in order and save them with outputs."""
    import nbformat
    from jupyter_client.manager import KernelManager
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
            # Unix sockets in the sandbox, as run_all.sh's kernels use: no TCP port open to other
            # local users (and no kernel warning about unencrypted TCP on every notebook).
            kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sandbox) / f"kernel-{path.stem}"),
                                   connection_file=str(Path(sandbox) / f"kernel-{path.stem}.json"))
            try:
                NotebookClient(
                    notebook, km=kernel, kernel_name="python3", timeout=600,
                    resources={"metadata": {"path": str(path.parent)}},
                ).execute()
            finally:
                # A kernel the client did not create is left running by it.
                if kernel.has_kernel:
                    kernel.shutdown_kernel(now=True)
            save(notebook, path)


def save(notebook: "nbformat.NotebookNode", path: Path) -> None:
    """Write ``notebook`` to ``path`` without its execution times and widget state, replacing the file whole.

    A run of ``./run_all.sh`` may be reading the notebook: written in place, it would read empty
    or cut short for a moment.
    """
    import nbformat

    from featurehealth import runlog

    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    notebook.metadata.pop("widgets", None)
    # The file a link points to is replaced, in its mode: the link and a group's write access stay.
    target = path.resolve()
    with runlog.replacing(target) as tmp:
        nbformat.write(notebook, tmp)
        if target.exists():
            shutil.copymode(target, tmp)


def argument_problem(names: list[str]) -> str | None:
    """Why ``names`` cannot be refreshed (an unknown notebook, or pipeline notebooks out of order); None if they can."""
    available_names = {path.name for path in NOTEBOOKS_DIR.glob("*.ipynb")}
    # By name in the list, not by path: "../README.md" is a file too, and nbformat would choke on it.
    unknown = [name for name in names if name not in available_names]
    if unknown:
        available = ", ".join(sorted(available_names))
        return (f"no notebook {', '.join(unknown)} under {NOTEBOOKS_DIR}; give file names from: {available} "
                f"(--help explains).")
    return pipeline_order_problem(names)


def main(argv: list[str]) -> int:
    """Refresh the notebooks named in ``argv`` (all pipeline notebooks when none); 2 on bad arguments."""
    if {"-h", "--help"} & set(argv):
        print(__doc__.strip())
        return 0
    names = argv or list(PIPELINE_NOTEBOOKS)
    problem = argument_problem(names)
    if problem:
        print(f"refresh_notebooks: {problem}", file=sys.stderr)
        return 2
    refresh(names)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
