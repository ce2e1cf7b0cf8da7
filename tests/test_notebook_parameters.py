"""Every parameter of the notebooks' ``parameters`` cells is visible to papermill.

papermill's parser skips any line with two ``=`` (one in a trailing comment is enough), so a
hand run's ``-p`` and ``--help-notebook`` would silently miss that parameter.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from papermill.translators import PythonTranslator

from featurehealth import config, runner

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("*.ipynb"))


def _parameters_cell(path) -> nbformat.NotebookNode:
    notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    return next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_sees_every_declared_parameter(path) -> None:
    seen = [p.name for p in PythonTranslator.inspect(_parameters_cell(path))]
    assert seen == runner.declared_parameters(path)
    assert all(p.help for p in PythonTranslator.inspect(_parameters_cell(path)))


def test_an_equals_sign_in_a_comment_hides_the_parameter() -> None:
    cell = nbformat.v4.new_code_cell('a = 1  # fine\nb = {}  # {} = from the profile\n', metadata={"tags": ["parameters"]})
    assert [p.name for p in PythonTranslator.inspect(json.loads(json.dumps(cell)))] == ["a"]


@pytest.mark.parametrize("path", [config.NOTEBOOKS_DIR / name for name in config.PIPELINE_NOTEBOOKS], ids=lambda p: p.stem)
def test_the_parameters_cell_says_a_hand_run_writes_into_the_published_outputs(path) -> None:
    # It said only "empty means outputs/<profile>": an analyst in JupyterLab could not tell that
    # running the notebook changes what the dashboard shows.
    helps = {p.name: p.help for p in PythonTranslator.inspect(_parameters_cell(path))}
    assert "the published outputs the dashboard shows, changed in place" in helps["output_dir"]
    assert "docs/notebooks.md" in helps["output_dir"]
