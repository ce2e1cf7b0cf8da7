"""Runner: parameter planning, staging and publishing, failure handling (on tiny notebooks)."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from featurehealth import config, runlog, runner

WRITE_CELL = (
    "from featurehealth import config, runlog\n"
    "paths = config.run_paths(profile, output_dir).ensure()\n"
    "runlog.write_json(paths.reports / f'{step}.json', {'value': model['value']})\n"
    "runlog.record_step(paths, step, rows_in=3, rows_out=2)\n"
)


#: Records, before the notebook's own ``import colorsys`` runs, whether its kernel preloaded it.
PRELOAD_CELLS = (
    "import sys\n"
    "from featurehealth import config, runlog\n"
    "names = sorted(n for n in dir() if not n.startswith('_'))\n"
    "preloaded = 'colorsys' in sys.modules\n"
    "paths = config.run_paths(profile, output_dir).ensure()\n"
    "runlog.write_json(paths.reports / 'kernel.json', {'names': names, 'preloaded': preloaded})",
    "import colorsys",
)


def _notebook(path: Path, *bodies: str, step: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        f'profile = "ci"  # profile\noutput_dir = ""  # folder\nmodel = {{}}  # group\nstep = "{step}"  # name'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params, *map(nbformat.v4.new_code_cell, bodies)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny project: two notebooks and a profile with a 'model' group and the runner's 'run'."""
    notebooks, params = tmp_path / "notebooks", tmp_path / "params"
    notebooks.mkdir()
    params.mkdir()
    _notebook(notebooks / "a.ipynb", WRITE_CELL, step="a")
    _notebook(notebooks / "b.ipynb", WRITE_CELL, step="b")
    _notebook(notebooks / "boom.ipynb", "raise ValueError('input file x.csv lacks feature_id')", step="boom")
    _notebook(notebooks / "preload.ipynb", *PRELOAD_CELLS, step="preload")
    (params / "default.yaml").write_text(
        "run:\n  html: false\n  retrain_on_drift: false\nmodel:\n  value: 1\n  retrain: auto\n"
    )
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", notebooks)
    monkeypatch.setattr(config, "PARAMS_DIR", params)
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path / "outputs"))
    return tmp_path


def test_declared_parameters_reads_the_tagged_cell(project: Path) -> None:
    assert runner.declared_parameters(project / "notebooks" / "a.ipynb") == ["profile", "output_dir", "model", "step"]


def test_notebook_without_parameters_cell_is_an_error(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, tmp_path / "n.ipynb")
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        runner.declared_parameters(tmp_path / "n.ipynb")


def test_group_no_notebook_declares_is_an_error(project: Path) -> None:
    nb = project / "notebooks" / "a.ipynb"
    with pytest.raises(config.ProfileError, match=r"sets 'drift', which no notebook declares"):
        runner.plan_parameters({"model": {}, "drift": {}}, [nb], profile="p", output_dir="/x")
    plan = runner.plan_parameters({"model": {"value": 2}, "run": {}}, [nb], profile="p", output_dir="/x")
    assert plan == {"a.ipynb": {"profile": "p", "output_dir": "/x", "model": {"value": 2}}}


def test_successful_run_publishes_and_reports(project: Path) -> None:
    lines: list[str] = []
    report = runner.run_pipeline("default", notebooks=["a.ipynb", "b.ipynb"], progress=lines.append)
    published = project / "outputs" / "default"
    assert report["status"] == "succeeded"
    assert [s["step"] for s in report["steps"]] == ["a", "b"]
    assert report["steps"][0]["rows_in"] == 3 and report["steps"][0]["status"] == "succeeded"
    assert runlog.read_json(published / "reports" / "a.json") == {"value": 1}
    saved = runlog.read_json(published / "reports" / "run_report.json")
    assert saved["run_id"] == report["run_id"] and saved["params_hash"] == report["params_hash"]
    assert "reports/a.json" in saved["artifacts"]
    assert (published / "runs" / report["run_id"] / "a.ipynb").is_file()
    assert not (project / "outputs" / ".staging" / f"default-{report['run_id']}").exists()
    assert any("a ok" in line for line in lines)


def test_failed_run_keeps_last_good_outputs(project: Path) -> None:
    good = runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lambda _: None)
    published = project / "outputs" / "default"
    before = (published / "reports" / "run_report.json").read_bytes()
    with pytest.raises(runner.RunFailed, match=r"^boom.ipynb failed: ValueError: input file x.csv lacks feature_id$"):
        runner.run_pipeline("default", notebooks=["a.ipynb", "boom.ipynb"], progress=lambda _: None)
    assert (published / "reports" / "run_report.json").read_bytes() == before
    failed = [d for d in (published / "runs").iterdir() if d.name != good["run_id"]]
    assert len(failed) == 1
    failed_report = runlog.read_json(failed[0] / "run_report.json")
    assert failed_report["status"] == "failed"
    assert [s["status"] for s in failed_report["steps"]] == ["succeeded", "failed"]
    assert "boom.ipynb" in failed_report["error"]


def test_main_reports_unknown_profile_key_in_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "params" / "typo.yaml").write_text("model:\n  valu: 2\n")
    assert runner.main(["typo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Unknown parameter 'model.valu' in typo.yaml" in err


def test_main_exit_code_on_failure(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("boom.ipynb",))
    assert runner.main(["default"]) == 1
    assert "FAILED: boom.ipynb failed: ValueError" in capsys.readouterr().err


def _children() -> set[int]:
    """Ids of this process's child processes, zombies included (Linux /proc)."""
    own = str(os.getpid())
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == own:
            found.add(int(stat.parent.name))
    return found


def test_notebook_imports_lists_top_level_imports(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("import not_code"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport os.path\nfrom json import dumps, decoder"),
        nbformat.v4.new_code_cell("from . import relative_only"),
        nbformat.v4.new_code_cell("def f():\n    import inner_only\nimport os"),
        nbformat.v4.new_code_cell("this is not python"),
    ]
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert runner.notebook_imports(tmp_path / "n.ipynb") == ["os.path", "json", "json.dumps", "json.decoder", "os"]


def test_preload_modules_skips_what_is_not_an_importable_module() -> None:
    sys.modules.pop("colorsys", None)
    runner.preload_modules(["datetime.UTC", "no_such_module_for_featurehealth", "colorsys"])
    assert "colorsys" in sys.modules and "no_such_module_for_featurehealth" not in sys.modules


def test_kernel_preloads_the_notebooks_imports_but_binds_no_name(project: Path) -> None:
    report = runner.run_pipeline("default", notebooks=["preload.ipynb"], progress=lambda _: None)
    published = project / "outputs" / "default"
    facts = runlog.read_json(published / "reports" / "kernel.json")
    assert facts["preloaded"] is True
    assert not {"colorsys", "featurehealth", "importlib"} & set(facts["names"])
    executed = json.loads((published / "runs" / report["run_id"] / "preload.ipynb").read_text())
    counts = [cell["execution_count"] for cell in executed["cells"] if cell["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))


def test_no_kernel_outlives_a_failed_run(project: Path) -> None:
    before = _children()
    with pytest.raises(runner.RunFailed):
        # b's kernel is launched ahead while boom runs, and must not be left behind.
        runner.run_pipeline("default", notebooks=["a.ipynb", "boom.ipynb", "b.ipynb"], progress=lambda _: None)
    assert _children() - before == set()


def test_html_is_rendered_for_every_step_before_the_run_returns(project: Path) -> None:
    (project / "params" / "html.yaml").write_text("extends: default\nrun:\n  html: true\n")
    report = runner.run_pipeline("html", notebooks=["a.ipynb", "b.ipynb"], progress=lambda _: None)
    run_dir = project / "outputs" / "html" / "runs" / report["run_id"]
    assert all((run_dir / f"{step}.html").stat().st_size > 1000 for step in ("a", "b"))


def test_failed_html_rendering_is_reported_not_fatal(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(executed: Path) -> Path:
        raise OSError(f"disk full writing {executed.name}")

    monkeypatch.setattr(runner, "render_html", broken)
    (project / "params" / "html.yaml").write_text("extends: default\nrun:\n  html: true\n")
    lines: list[str] = []
    report = runner.run_pipeline("html", notebooks=["a.ipynb"], progress=lines.append)
    assert report["status"] == "succeeded"
    assert "  HTML of a.ipynb not written: OSError: disk full writing a.ipynb" in lines


def test_run_ids_stay_unique_within_one_second(tmp_path: Path) -> None:
    moment = datetime(2026, 6, 30, 4, 5, 6, tzinfo=UTC)
    first = runner.unused_run_id(tmp_path, "ab" * 32, now=moment)
    assert first == "20260630T040506Z-abababab"
    (tmp_path / first).mkdir()
    assert runner.unused_run_id(tmp_path, "ab" * 32, now=moment) == "20260630T040507Z-abababab"
    assert runner.unused_run_id(tmp_path, "cd" * 32, now=moment) == "20260630T040506Z-cdcdcdcd"


def test_html_renderer_thread_runs_at_a_lower_priority_than_the_run() -> None:
    import threading

    seen: dict[str, int] = {}

    def probe() -> None:
        runner._lower_priority()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, 0)
    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    assert seen["nice"] == min(before + runner.HTML_NICENESS, 19)
    # Only that thread: the run itself keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
