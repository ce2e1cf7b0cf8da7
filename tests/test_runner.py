"""Runner: parameter planning, staging and publishing, failure handling (on tiny notebooks)."""

from __future__ import annotations

import contextlib
import copy
import csv
import errno
import functools
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

from featurehealth import config, runlog, runner

WRITE_CELL = (
    "from featurehealth import config, runlog\n"
    "paths = config.run_paths(profile, output_dir=output_dir).ensure()\n"
    "runlog.write_json(paths.reports / f'{step}.json', {'value': model['value']})\n"
    "runlog.record_step(paths, step, rows_in=3, rows_out=2)\n"
)


#: Writes the reports a run report quotes, as 01_ingest would; a failing quality check when model.value is 0.
INGEST_CELL = (
    "from featurehealth import config, runlog\n"
    "paths = config.run_paths(profile, output_dir=output_dir).ensure()\n"
    "status = 'fail' if model['value'] == 0 else 'pass'\n"
    "runlog.write_json(paths.reports / 'ingest_summary.json', {'rows_in': 3, 'rows_valid': 2, 'rows_quarantined': 1})\n"
    "runlog.write_json(paths.reports / 'data_quality.json', {'summary': {'status': status, 'stopping': []},\n"
    "    'checks': [{'name': 'missing_days', 'status': status}, {'name': 'freshness', 'status': 'pass'}]})\n"
    "runlog.write_json(paths.reports / 'data_drift.json', {'summary': {}, 'alerts': [{'feature_id': 'F1'}]})\n"
)


#: Records, before the notebook's own ``import colorsys`` runs, whether its kernel preloaded it.
PRELOAD_CELLS = (
    "import sys\n"
    "from featurehealth import config, runlog\n"
    "names = sorted(n for n in dir() if not n.startswith('_'))\n"
    "preloaded = 'colorsys' in sys.modules\n"
    "paths = config.run_paths(profile, output_dir=output_dir).ensure()\n"
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


def _make_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny project in ``root``: two notebooks and a profile with a 'model' group and the runner's 'run'."""
    notebooks, params = root / "notebooks", root / "params"
    notebooks.mkdir()
    params.mkdir()
    _notebook(notebooks / "a.ipynb", WRITE_CELL, step="a")
    _notebook(notebooks / "b.ipynb", WRITE_CELL, step="b")
    _notebook(notebooks / "boom.ipynb", "raise ValueError('input file x.csv lacks feature_id')", step="boom")
    _notebook(notebooks / "preload.ipynb", *PRELOAD_CELLS, step="preload")
    _notebook(notebooks / "ingest.ipynb", INGEST_CELL, step="ingest")
    (params / "default.yaml").write_text(
        "run:\n  html: false\n  retrain_on_drift: false\n  keep_runs: 0\nmodel:\n  value: 1\n  retrain: auto\n"
    )
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", notebooks)
    monkeypatch.setattr(config, "PARAMS_DIR", params)
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(root / "outputs"))
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """:func:`_make_project` in the test's folder."""
    return _make_project(tmp_path, monkeypatch)


#: An outputs folder and the report of the run that published it.
Published = tuple[Path, dict[str, Any]]


@pytest.fixture(scope="module")
def published_a(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The outputs folder and report of one successful run of a.ipynb, in a project of its own.

    Many tests start from a published run; each such run costs a kernel, so it is made once and
    copied (:func:`_after_a_good_run`).
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = _make_project(tmp_path_factory.mktemp("published-a"), monkeypatch)
        report = runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lambda _: None)
    return root / "outputs", report


def _after_a_good_run(project: Path, published_a: Published) -> dict[str, Any]:
    """Give ``project`` the outputs of :func:`published_a`'s run of a.ipynb, as if it had run there; its report."""
    outputs, report = published_a
    shutil.copytree(outputs, project / "outputs", symlinks=True)
    return copy.deepcopy(report)


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


def test_a_notebook_declaring_rerun_gets_every_set_item_besides_the_window(project: Path) -> None:
    # 01_ingest's backfill and re-run commands repeat them: a run with --set model.* that dropped
    # them would train with the profile's settings.
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "ci"  # profile\noutput_dir = ""  # folder\nrerun = []  # items')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from featurehealth import config, runlog\n"
        "runlog.write_json(config.run_paths(profile, output_dir=output_dir).ensure().reports / 'rerun.json', rerun)"
    )]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, project / "notebooks" / "rerun.ipynb")
    runner.run_pipeline(
        "default", notebooks=["rerun.ipynb", "a.ipynb"], overrides=["model.value=5", "run.keep_runs=3"],
        progress=lambda _: None,
    )
    published = project / "outputs" / "default"
    assert runlog.read_json(published / "reports" / "rerun.json") == ["--set run.keep_runs=3", "--set model.value=5"]
    assert "rerun" not in runner.plan_parameters(
        {"model": {}}, [project / "notebooks" / "a.ipynb"], profile="p", output_dir="/x", rerun=["--set x.y=1"]
    )["a.ipynb"]


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
    assert saved["params"]["model"] == {"value": 1, "retrain": "auto"} and saved["code_version"].startswith("0.")
    assert "reports/a.json" in saved["artifacts"]
    assert (published / "runs" / report["run_id"] / "a.ipynb").is_file()
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]
    assert any("a ok" in line for line in lines)


@pytest.mark.parametrize("notebooks", [["a.ipynb"], ["a.ipynb", "boom.ipynb"]])
def test_duration_is_the_run_s_wall_time_not_the_sum_of_its_steps(
    project: Path, monkeypatch: pytest.MonkeyPatch, notebooks: list[str]
) -> None:
    # Work outside every step's clock (here a slow staging copy; kernel boots, checks, the report in a
    # real run) was left out: the report said 8 s of a run that took 11.
    prepare = runner.prepare_staging
    slow_s = 0.2  # any pause outside the steps' clocks shows; a longer one only slows the test

    def slow_staging(*args: Any, **kwargs: Any) -> Any:
        time.sleep(slow_s)
        return prepare(*args, **kwargs)

    monkeypatch.setattr(runner, "prepare_staging", slow_staging)
    began = time.perf_counter()
    with contextlib.suppress(runner.RunFailed):
        runner.run_pipeline("default", notebooks=notebooks, progress=lambda _: None)
    wall = time.perf_counter() - began
    run_dir = next((project / "outputs" / "default" / "runs").iterdir())
    report = runlog.read_json(run_dir / "run_report.json")
    steps = sum(s["duration_s"] for s in report["steps"])
    assert report["status"] == ("succeeded" if len(notebooks) == 1 else "failed")
    assert steps + slow_s <= report["duration_s"] <= wall


def test_overrides_given_as_any_iterable_are_applied_and_reported(project: Path) -> None:
    # A generator was read once, for the parameters: the report then recorded no --set item.
    report = runner.run_pipeline(
        "default", notebooks=["a.ipynb"], overrides=(item for item in ["model.value=5"]), progress=lambda _: None
    )
    assert report["overrides"] == ["model.value=5"] and report["params"]["model"]["value"] == 5


def test_old_run_folders_beyond_keep_runs_are_removed(project: Path) -> None:
    runs = project / "outputs" / "default" / "runs"
    for name in ("20260101T000000Z-0000000a", "20260102T000000Z-0000000a", "20260103T000000Z-0000000a"):
        (runs / name).mkdir(parents=True)
    assert runner.prune_runs(runs, keep=0, current="x") == ([], [])  # 0 keeps all
    report = runner.run_pipeline("default", notebooks=["a.ipynb"], overrides=["run.keep_runs=2"], progress=lambda _: None)
    assert sorted(p.name for p in runs.iterdir()) == ["20260103T000000Z-0000000a", report["run_id"]]
    assert runner.prune_runs(runs, keep=1, current=report["run_id"]) == (["20260103T000000Z-0000000a"], [])


def test_pruning_removes_only_run_folders(tmp_path: Path) -> None:
    # Name order is age order only for run ids: a folder of the user's ("+keep", "notes") sorted
    # before them was removed as the oldest run, or after them took the place of a kept run.
    runs = tmp_path / "runs"
    old, new, current = "20260101T000000Z-0123abcd", "20260102T000000Z-0123abcd", "20260103T000000Z-0123abcd"
    for name in ("+keep", old, new, current, "notes"):
        (runs / name).mkdir(parents=True)
    assert runner.prune_runs(runs, keep=2, current=current) == ([old], [])
    assert sorted(p.name for p in runs.iterdir()) == ["+keep", new, current, "notes"]


def _refuse_removing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make the runner's ``shutil.rmtree`` fail with EACCES on a folder called ``name``."""
    remove = shutil.rmtree

    def refuse(path: Path, *args: object, **kwargs: object) -> None:
        if Path(path).name == name:
            raise PermissionError(13, "Permission denied")
        remove(path, *args, **kwargs)

    monkeypatch.setattr(runner.shutil, "rmtree", refuse)


def test_a_run_folder_that_cannot_be_removed_is_reported_as_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Removal errors were ignored and the folder still counted as removed: the disk filled unseen.
    runs = tmp_path / "runs"
    stuck, old, current = "20260101T000000Z-0123abcd", "20260102T000000Z-0123abcd", "20260103T000000Z-0123abcd"
    for name in (stuck, old, current):
        (runs / name).mkdir(parents=True)
    _refuse_removing(monkeypatch, stuck)
    assert runner.prune_runs(runs, keep=1, current=current) == ([old], [f"{stuck} (Permission denied)"])
    assert sorted(p.name for p in runs.iterdir()) == [stuck, current]


def test_pruning_of_one_run_folder_is_told_in_the_singular(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The run's closing lines read "removed 1 old run folder(s)" and "could not remove 1 old run folder(s)".
    runs = project / "outputs" / "default" / "runs"
    stuck, old, kept = "20260101T000000Z-0000000a", "20260102T000000Z-0000000a", "20260103T000000Z-0000000a"
    for name in (stuck, old, kept):
        (runs / name).mkdir(parents=True)
    _refuse_removing(monkeypatch, stuck)
    lines: list[str] = []
    runner.run_pipeline("default", notebooks=["a.ipynb"], overrides=["run.keep_runs=2"], progress=lines.append)
    assert "removed 1 old run folder beyond run.keep_runs=2" in lines
    assert f"could not remove 1 old run folder under {runs} (first: {stuck} (Permission denied)); remove it by hand" \
        in lines


#: A model step that trains ("new") only with retrain=always, and a drift step advising to retrain the "old" one.
MODEL_STEP_CELL = (
    "from featurehealth import config, runlog\n"
    "paths = config.run_paths(profile, output_dir=output_dir).ensure()\n"
    "trained = model['retrain'] == 'always'\n"
    "if trained or not (paths.reports / 'in_use.json').is_file():\n"
    "    runlog.write_json(paths.reports / 'in_use.json', {'version': 'new' if trained else 'old'})\n"
    "runlog.record_step(paths, step, rows_in=1, rows_out=1, trained=trained)\n"
)
DRIFT_STEP_CELL = (
    "from featurehealth import config, runlog\n"
    "paths = config.run_paths(profile, output_dir=output_dir).ensure()\n"
    "version = runlog.read_json(paths.reports / 'in_use.json')['version']\n"
    "runlog.write_json(paths.reports / 'retrain.json', {'retrain_recommended': version == 'old', 'model_version': version})\n"
    "runlog.record_step(paths, step, rows_in=1, rows_out=1)\n"
)


def test_retraining_on_drift_runs_drift_again_on_the_model_in_use(project: Path) -> None:
    notebooks = project / "notebooks"
    _notebook(notebooks / "03_model.ipynb", MODEL_STEP_CELL, step="03_model")
    _notebook(notebooks / "04_drift.ipynb", DRIFT_STEP_CELL, step="04_drift")
    report = runner.run_pipeline(
        "default", notebooks=["03_model.ipynb", "04_drift.ipynb"], overrides=["run.retrain_on_drift=true"],
        progress=lambda _: None,
    )
    assert [s["step"] for s in report["steps"]] == ["03_model", "04_drift", "03_model_retrain", "04_drift_retrain"]
    # The published advice is about the model just trained, not the one it replaced.
    published = project / "outputs" / "default" / "reports"
    assert runlog.read_json(published / "retrain.json") == {"retrain_recommended": False, "model_version": "new"}
    assert report["retrain"] == {"retrain_recommended": False, "model_version": "new"}


def test_retraining_on_drift_says_why(project: Path) -> None:
    # Cron mail said "drift recommends retraining: re-running ..." and never why: the reasons were in the
    # first retrain.json alone, which the retraining's drift step replaces.
    notebooks = project / "notebooks"
    _notebook(notebooks / "03_model.ipynb", MODEL_STEP_CELL, step="03_model")
    _notebook(notebooks / "04_drift.ipynb", DRIFT_STEP_CELL.replace(
        "'model_version': version}", "'model_version': version, 'reasons': ['model 10 days old (limit 5)', 'x'] * "
        "(version == 'old')}"), step="04_drift")
    lines: list[str] = []
    runner.run_pipeline("default", notebooks=["03_model.ipynb", "04_drift.ipynb"],
                        overrides=["run.retrain_on_drift=true"], progress=lines.append)
    assert ("drift recommends retraining (model 10 days old (limit 5); x): re-running 03_model and 04_drift "
            "with retrain=always") in lines


def test_drift_advice_does_not_retrain_over_a_version_put_in_use_by_hand() -> None:
    advice = {"retrain_recommended": True}
    report = {"steps": [{"step": "03_model", "trained": False}]}
    params = {"model": {"retrain": "auto", "use_version": None}}
    assert runner._retrain_advised(advice, params, {"retrain_on_drift": True}, report)
    # Re-running 03_model with retrain=always would replace the version the operator just chose.
    params = {"model": {"retrain": "auto", "use_version": "20260301-cd34"}}
    assert not runner._retrain_advised(advice, params, {"retrain_on_drift": True}, report)


def test_retrain_steps_rerun_drift_only_when_the_run_has_it() -> None:
    plan = {"03_model.ipynb": {"profile": "p", "model": {"retrain": "auto"}}, "04_drift.ipynb": {"profile": "p"}}
    steps = runner.retrain_steps(plan, model={"retrain": "auto", "n_estimators": 5})
    assert [path.name for path, _ in steps] == ["03_model.ipynb", "04_drift.ipynb"]
    assert steps[0][1] == {"profile": "p", "model": {"retrain": "always", "n_estimators": 5}}
    assert plan["03_model.ipynb"]["model"] == {"retrain": "auto"}  # the plan is not changed
    only_model = runner.retrain_steps({"03_model.ipynb": {"profile": "p"}}, model={"retrain": "auto"})
    assert [path.name for path, _ in only_model] == ["03_model.ipynb"]


def test_artifact_manifest_leaves_out_the_run_report_and_history(tmp_path: Path) -> None:
    for relative in ("reports/a.json", "reports/run_report.json", "runs/r1/run_report.json", "work/x.parquet"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(relative)
    # The report cannot hold its own hash: a listed one would be the previous run's (the staging copy's).
    assert list(runner.artifact_hashes(tmp_path)) == ["reports/a.json"]


def test_failed_run_keeps_last_good_outputs(project: Path, published_a: Published) -> None:
    good = _after_a_good_run(project, published_a)
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


def test_a_failed_step_names_published_files_not_their_staging_copies(project: Path) -> None:
    # The staging copy is gone when the message is read; the published file is the one to fix.
    _notebook(project / "notebooks" / "damaged.ipynb", "raise OSError(f'{output_dir}/tables/fact.parquet is damaged')", step="x")
    published = project / "outputs" / "default"
    with pytest.raises(runner.RunFailed) as caught:
        runner.run_pipeline("default", notebooks=["damaged.ipynb"], progress=lambda _: None)
    assert str(caught.value) == f"damaged.ipynb failed: OSError: {published}/tables/fact.parquet is damaged"
    assert runlog.read_json(caught.value.run_dir / "run_report.json")["steps"][0]["error"].startswith(f"OSError: {published}/")


def test_main_reports_unknown_profile_key_in_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "params" / "typo.yaml").write_text("model:\n  valu: 2\n")
    assert runner.main(["typo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Unknown parameter 'model.valu' in typo.yaml" in err


@pytest.mark.parametrize("words", [
    ["ci", "--set", "model.n_estimators", "=", "30"],
    ["--set", "model.n_estimators", "=30", "ci"],
    ["--set", "model.n_estimators=", "30"],
])
def test_main_says_in_one_sentence_that_a_set_item_must_be_one_word(
    words: list[str], capsys: pytest.CaptureFixture[str],
) -> None:
    # argparse said "unrecognized arguments: = 30" under a usage line.
    assert runner.main(words) == runner.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.endswith("write --set model.n_estimators=30 as one word.")


def test_spaced_set_item_leaves_an_empty_value_before_a_profile_alone() -> None:
    assert runner.spaced_set_item(["--set", "ingest.source=", "ci"]) is None
    assert runner.spaced_set_item(["--set", "model.n_estimators=30", "ci"]) is None
    assert runner.spaced_set_item(["--set", "a.b", "--set", "c.d=1"]) is None
    assert runner.spaced_set_item(["--set", "ingest.source=", "--set", "c.d=1"]) is None  # an option, not a value


def test_spaced_set_item_quotes_the_words_as_the_shell_split_them() -> None:
    assert runner.spaced_set_item(["--set", "model.n_estimators", "=30", "ci"]).startswith(
        "--set model.n_estimators =30 has spaces around '='")
    assert runner.spaced_set_item(["--set", "model.n_estimators", "=", "30"]).startswith(
        "--set model.n_estimators = 30 has spaces around '='")


def test_main_help_example_is_a_day_of_the_default_input_and_exit_codes_are_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The example was ingest.as_of=2026-06-30, a day after the default simulation's last: taken
    # literally it set an as-of date the input does not reach. Cron users also need the codes.
    import re
    from datetime import date, timedelta

    with pytest.raises(SystemExit) as done:
        runner.main(["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    example = re.search(r"e\.g\. --set (\S+)", text).group(1)
    params = config.load_run_params("default", overrides=[example])
    simulate = params["simulate"]
    first = date.fromisoformat(simulate["start_date"])
    assert first <= date.fromisoformat(params["ingest"]["as_of"]) <= first + timedelta(days=simulate["n_days"] - 1)
    for code in (runner.EXIT_FAILED, runner.EXIT_USAGE, runner.EXIT_QUALITY_FAILED, runner.EXIT_BUSY, 130):
        assert re.search(rf"\b{code}\b", text.split("Exit codes:")[1])


def test_main_exit_code_on_failure(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("boom.ipynb",))
    assert runner.main(["default"]) == 1
    assert "FAILED: boom.ipynb failed: ValueError" in capsys.readouterr().err


def test_a_kernel_that_dies_is_one_line_naming_the_notebook(
    project: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The kernel killed (by the system's out-of-memory killer, say): nbclient also logged
    # "Kernel died while waiting for execute reply.", which Python prints on standard error when
    # no handler takes it (as in run_all.sh; here pytest's handler does), above run_all's line.
    _notebook(project / "notebooks" / "die.ipynb", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", step="die")
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("die.ipynb",))
    assert runner.main(["default"]) == runner.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("run_all: FAILED: die.ipynb failed: DeadKernelError: Kernel died")
    assert caplog.records == []


@pytest.mark.parametrize(("status", "code"), [("fail", 3), ("warn", 0), ("pass", 0)])
def test_main_exit_code_says_a_published_run_failed_a_quality_check(
    status: str, code: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A scheduler sees only the exit code: a daily run whose day has no rows (missing_days fail,
    # not in quality.stop_on_fail) publishes, but must not look like a clean day.
    monkeypatch.setattr(runner, "run_pipeline", lambda *_a, **_k: {"quality": {"status": status}})
    assert runner.main(["ci"]) == code
    err = capsys.readouterr().err
    assert ("data quality failed" in err) == (status == "fail") and err.count("\n") == (status == "fail")


def test_main_prints_a_failure_quoting_a_line_break_on_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An error may quote an export's column name or value, which can hold a line break.
    def fail(*_args: object, **_kwargs: object) -> None:
        raise runner.RunFailed("01_ingest failed: InputError: File a.csv has no column 'x\nrun 1: succeeded'")

    monkeypatch.setattr(runner, "run_pipeline", fail)
    assert runner.main(["ci"]) == runner.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'x\\nrun 1: succeeded'" in err


def _children() -> set[int]:
    """Ids of this process's child processes, zombies included (Linux /proc)."""
    own = str(os.getpid())
    found = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == own:
            found.add(int(stat_file.parent.name))
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


#: Run in a fresh interpreter: boots as 04_drift's kernel does, then runs the drift monitor on
#: 12 weeks of two features and prints the scipy, sklearn and matplotlib modules it imported.
DRIFT_KERNEL_SCRIPT = """
import sys
import numpy as np, pandas as pd
from featurehealth import config, runner
runner.preload_modules([*runner.notebook_imports(config.NOTEBOOKS_DIR / "04_drift.ipynb"),
                        *runner.LAZY_IMPORTS["04_drift.ipynb"]])
before = set(sys.modules)
from featurehealth import drift
days = pd.date_range("2026-01-05", periods=84, freq="D")
metrics = ["usage_count", "p50_latency", "p95_latency", "p99_latency", "crash_rate", "avg_feedback"]
fact = pd.concat([pd.DataFrame({"feature_id": f, "date": days, **{m: np.random.default_rng(i).normal(100, 5, 84)
                  for m in metrics}}) for i, f in enumerate(["a", "b"])], ignore_index=True)
drift.monitor(fact, settings=config.load_profile("ci")["drift"])
print(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("scipy", "sklearn", "matplotlib")))
"""


def test_the_drift_kernel_preloads_the_heavy_modules_the_drift_monitor_imports() -> None:
    # The kernel boots while earlier notebooks run; a module left for the monitor cell to import
    # (scipy.stats, about 0.6 CPU s) lengthens every run by its import time.
    finished = subprocess.run([sys.executable, "-c", DRIFT_KERNEL_SCRIPT], capture_output=True, text=True, check=True)
    assert finished.stdout.strip() == "[]"


def test_kernel_preloads_the_notebooks_imports_but_binds_no_name(project: Path) -> None:
    report = runner.run_pipeline("default", notebooks=["preload.ipynb"], progress=lambda _: None)
    published = project / "outputs" / "default"
    facts = runlog.read_json(published / "reports" / "kernel.json")
    assert facts["preloaded"] is True
    assert not {"colorsys", "featurehealth", "importlib"} & set(facts["names"])
    executed = json.loads((published / "runs" / report["run_id"] / "preload.ipynb").read_text())
    counts = [cell["execution_count"] for cell in executed["cells"] if cell["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))


def test_kernels_talk_over_sockets_in_a_private_folder(tmp_path: Path) -> None:
    from jupyter_core.utils import run_sync

    notebook = tmp_path / "x.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    manager = runner.launch_kernel(notebook)
    try:
        runner.wait_until_ready(manager)
        folder = Path(manager.ip).parent
        assert manager.transport == "ipc" and folder.parent == runner._socket_folder()
        # (jupyter_client adds the sticky bit to the connection file's folder)
        assert stat.S_IMODE(folder.stat().st_mode) & 0o777 == 0o700 and any(folder.iterdir())
        # The connection file too, so removing a killed run's folder leaves nothing in /tmp.
        assert Path(manager.connection_file).parent == folder
    finally:
        run_sync(manager.shutdown_kernel)(now=True)


def test_kernel_sockets_fit_under_a_long_temporary_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A Unix socket's path is at most 103 bytes on every system: under a long TMPDIR (macOS's
    # /var/folders/.../T, a batch job's) no kernel started ("ZMQError: File name too long").
    import zmq

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / ("t" * 60)))
    Path(tempfile.tempdir).mkdir()
    folder = runner.make_socket_folder()
    try:
        kernel = folder / "02_aggregate-12345678"  # as launch_kernel names a kernel's folder
        kernel.mkdir()
        with zmq.Context() as context, context.socket(zmq.REP) as socket:
            socket.bind(f"ipc://{kernel}/kernel-5")
    finally:
        shutil.rmtree(folder)


def test_the_socket_folder_stays_under_a_temporary_directory_that_leaves_room_for_the_kernels(
        monkeypatch: pytest.MonkeyPatch) -> None:
    short = Path(tempfile.mkdtemp(prefix="fh", dir="/tmp"))  # pytest's own tmp_path may be too long
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(short))
        assert runner.make_socket_folder().parent == short
    finally:
        shutil.rmtree(short)


def _dead_pid() -> int:
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_run_s_kernel_folder_is_removed_by_the_next_run_a_live_one_kept(tmp_path: Path) -> None:
    stale = tmp_path / "featurehealth-kernels-stale"
    (stale / "01_ingest-x").mkdir(parents=True)
    (stale / "01_ingest-x" / "kernel.json").write_text("{}")
    (stale / runner.SOCKET_FOLDER_OWNER).write_text(f"{_dead_pid()}\n")
    live = tmp_path / "featurehealth-kernels-live"
    live.mkdir()
    (live / runner.SOCKET_FOLDER_OWNER).write_text(runner._process_token(os.getpid()))
    fresh_without_owner = tmp_path / "featurehealth-kernels-new"  # just created, owner not written yet
    fresh_without_owner.mkdir()
    other = tmp_path / "something-else"
    other.mkdir()

    folder = runner.make_socket_folder(parent=tmp_path)

    assert not stale.exists()
    assert live.is_dir() and fresh_without_owner.is_dir() and other.is_dir()
    assert folder.parent == tmp_path and folder.name.startswith("featurehealth-kernels-")
    assert (folder / runner.SOCKET_FOLDER_OWNER).read_text() == runner._process_token(os.getpid())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_kernel_folder_whose_owner_file_is_being_written_is_kept(tmp_path: Path) -> None:
    # Another run's make_socket_folder between creating owner.pid and writing its token: the file is empty.
    writing = tmp_path / "featurehealth-kernels-writing"
    writing.mkdir()
    (writing / runner.SOCKET_FOLDER_OWNER).write_text("")
    runner.make_socket_folder(parent=tmp_path)
    assert writing.is_dir()


def test_a_reused_pid_does_not_keep_a_stale_kernel_folder(tmp_path: Path) -> None:
    if not Path(f"/proc/{os.getpid()}/stat").is_file():
        pytest.skip("needs /proc to tell a process's start time")
    stale = tmp_path / "featurehealth-kernels-reused"
    stale.mkdir()
    # This process's pid, but another start time: the pid was reused after the owner died.
    (stale / runner.SOCKET_FOLDER_OWNER).write_text(f"{os.getpid()} 1\n")
    runner.make_socket_folder(parent=tmp_path)
    assert not stale.exists()


def test_no_kernel_outlives_a_failed_run(project: Path) -> None:
    before = _children()
    with pytest.raises(runner.RunFailed):
        # b's kernel is launched ahead while boom runs, and must not be left behind.
        runner.run_pipeline("default", notebooks=["a.ipynb", "boom.ipynb", "b.ipynb"], progress=lambda _: None)
    assert _children() - before == set()


def test_kernels_see_relative_roots_as_the_command_does(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Kernels start in notebooks/: a relative root read there would name notebooks/<root>.
    cell = (
        "from featurehealth import config, runlog\n"
        "paths = config.run_paths(profile, output_dir=output_dir).ensure()\n"
        "runlog.write_json(paths.reports / 'roots.json', {'data': str(config.data_root()), 'out': str(config.output_root())})"
    )
    _notebook(project / "notebooks" / "roots.ipynb", cell, step="roots")
    (project / "cwd").mkdir()
    monkeypatch.chdir(project / "cwd")
    monkeypatch.setenv("FEATUREHEALTH_DATA_ROOT", "telemetry")
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", "../outputs")
    runner.run_pipeline("default", notebooks=["roots.ipynb"], progress=lambda _: None)
    roots = runlog.read_json(project / "outputs" / "default" / "reports" / "roots.json")
    assert roots == {"data": str(project / "cwd" / "telemetry"), "out": str(project / "outputs")}


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


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Inode and bytes of every file under ``folder`` but the run history."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_ino, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] != "runs"
    }


def _failing_rename(monkeypatch: pytest.MonkeyPatch, name: str, error: BaseException) -> None:
    """Make moving the published entry ``name`` aside fail, as a busy mount point does."""
    original = Path.rename

    def rename(self: Path, target: Any) -> Any:
        if self.name == name and self.parent.name == "default":
            raise error
        return original(self, target)

    monkeypatch.setattr(Path, "rename", rename)


def test_a_run_removes_the_hand_over_files_a_notebook_run_by_hand_left(project: Path, published_a: Published) -> None:
    # 01_ingest run by hand leaves work/; after a run, 02_aggregate by hand read those with the
    # run's ingest summary and stopped on "Row accounting failed ... report this bug".
    _after_a_good_run(project, published_a)
    published = project / "outputs" / "default"
    (published / "work").mkdir()
    (published / "work" / "window_fact.parquet").write_bytes(b"an earlier ingest's aggregates")
    runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lambda _: None)
    assert (published / "reports" / "a.json").is_file()
    assert not (published / "work").exists()


def test_failed_publish_puts_every_entry_back(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner.run_pipeline("default", notebooks=["a.ipynb", "ingest.ipynb"], progress=lambda _: None)
    published = project / "outputs" / "default"
    (published / "models" / "model.bin").write_bytes(b"old model")
    before = _snapshot(published)
    _failing_rename(monkeypatch, "reports", OSError(16, "Device or resource busy", str(published / "reports")))
    with pytest.raises(runner.RunFailed, match=r"^Publishing to .*default failed: Device or resource busy") as failed:
        runner.run_pipeline("default", notebooks=["a.ipynb", "ingest.ipynb"], progress=lambda _: None)
    # Entries sorted before reports/ (models/, quarantine/) had been swapped: all are back.
    assert _snapshot(published) == before
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]
    report = runlog.read_json(failed.value.run_dir / "run_report.json")
    assert report["status"] == "failed" and report["error"].startswith("Publishing to")
    assert report["artifacts"] is None


def test_a_publish_whose_undo_fails_too_names_the_first_error_and_who_puts_the_outputs_back(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The message quoted the undo's error and said "the previous outputs are kept" over swapped folders.
    runner.run_pipeline("default", notebooks=["a.ipynb", "ingest.ipynb"], progress=lambda _: None)
    published = project / "outputs" / "default"
    before = _snapshot(published)
    original = Path.rename

    def rename(self: Path, target: Any) -> Any:
        if self.name == "reports" and self.parent == published:
            raise OSError(16, "Device or resource busy", str(self))
        if self.parent.name.endswith(".old") and self.name == "models":
            raise OSError(13, "Permission denied", str(self))
        return original(self, target)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "rename", rename)
        with pytest.raises(runner.RunFailed) as failed:
            runner.run_pipeline("default", notebooks=["a.ipynb", "ingest.ipynb"], progress=lambda _: None)
    message = str(failed.value)
    assert message.startswith(f"Publishing to {published} failed: Device or resource busy: {published / 'reports'}; ")
    assert "previous outputs are kept" not in message and "the next run of profile 'default' puts" in message
    # As said: the next run (failing, so that it publishes nothing itself) puts them back.
    with pytest.raises(runner.RunFailed):
        runner.run_pipeline("default", notebooks=["boom.ipynb"], progress=lambda _: None)
    assert _snapshot(published) == before


def test_the_days_verdict_is_printed_only_once_the_outputs_are_published(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cron mail must not carry a verdict the dashboard does not show: a run whose publish fails
    # keeps the previous outputs.
    _notebook(project / "notebooks" / "advice.ipynb", (
        "from featurehealth import config, runlog\n"
        "runlog.write_json(config.run_paths(profile, output_dir=output_dir).ensure().reports / 'retrain.json', "
        "{'retrain_recommended': False, 'reasons': []})"
    ), step="advice")
    lines: list[str] = []
    runner.run_pipeline("default", notebooks=["advice.ipynb"], progress=lines.append)
    assert "retraining not advised" in lines
    lines.clear()
    _failing_rename(monkeypatch, "reports", OSError(16, "Device or resource busy", "reports"))
    with pytest.raises(runner.RunFailed, match=r"^Publishing to "):
        runner.run_pipeline("default", notebooks=["advice.ipynb"], progress=lines.append)
    assert "retraining not advised" not in lines


def test_a_profile_folder_on_another_file_system_fails_before_any_notebook(
    project: Path, published_a: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # outputs/<profile> linked to another disk: publishing renames cannot cross it.
    _after_a_good_run(project, published_a)
    published = project / "outputs" / "default"
    real_stat = os.stat

    def other_disk(path: Any, *args: Any, **kwargs: Any) -> Any:
        info = real_stat(path, *args, **kwargs)
        if Path(path) == published:
            return os.stat_result((*info[:2], info.st_dev + 1, *info[3:]))
        return info

    monkeypatch.setattr(runner.os, "stat", other_disk)
    steps: list[str] = []
    with pytest.raises(runner.RunFailed, match=rf"^Output folder {published} is on another file system than .*FEATUREHEALTH_OUTPUT_ROOT"):
        runner.run_pipeline("default", notebooks=["a.ipynb"], progress=steps.append)
    assert not any("a ..." in line for line in steps)


def test_publish_killed_half_way_is_undone_by_the_next_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner.run_pipeline("default", notebooks=["a.ipynb", "ingest.ipynb"], progress=lambda _: None)
    published = project / "outputs" / "default"
    (published / "models" / "model.bin").write_bytes(b"old model")
    before = _snapshot(published)

    def killed(plan: dict[str, Any]) -> None:
        raise SystemExit("killed before undoing")

    with monkeypatch.context() as patch:
        # Swapping reports/ fails after models/ and quarantine/, and the process "dies" before undoing them.
        patch.setattr(runner, "undo_publish", killed)
        _failing_rename(patch, "reports", OSError(16, "Device or resource busy"))
        with pytest.raises(SystemExit):
            runner.run_pipeline("default", notebooks=["a.ipynb", "ingest.ipynb"], progress=lambda _: None)
    assert config.publish_journal_path("default").is_file()
    assert _snapshot(published) != before

    # The next run (failing, so that it publishes nothing itself) finds the journal and undoes the swaps.
    lines: list[str] = []
    with pytest.raises(runner.RunFailed):
        runner.run_pipeline("default", notebooks=["boom.ipynb"], progress=lines.append)
    assert lines[0] == f"an interrupted publish to {published} was undone; the previous outputs are back"
    assert _snapshot(published) == before
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]


def test_publishing_the_warehouse_removes_the_log_a_writer_left_beside_the_published_one(tmp_path: Path) -> None:
    # An analyst's read-write connection wrote to the published featurehealth.duckdb after the run
    # made its staging copy: its .wal stayed beside the new database, which nobody could open then
    # ("WAL does not match database file"), and, left by a killed kernel, after every later run too.
    import duckdb

    from featurehealth import warehouse

    staging, published = tmp_path / "staging", tmp_path / "ci"
    for folder, value in ((published, 1), (staging, 2)):
        folder.mkdir()
        con = duckdb.connect(str(folder / "featurehealth.duckdb"))
        con.execute(f"CREATE TABLE t AS SELECT {value} AS v")
        con.close()
    con = duckdb.connect(str(published / "featurehealth.duckdb"))
    con.execute("CREATE TABLE my_scratch AS SELECT 1 AS x")
    log = warehouse.wal_file(published / "featurehealth.duckdb").read_bytes()
    con.close()
    warehouse.wal_file(published / "featurehealth.duckdb").write_bytes(log)
    runner.publish(staging, published, tmp_path / "ci.publish.json")
    assert sorted(p.name for p in published.iterdir()) == ["featurehealth.duckdb"]
    reader = duckdb.connect(str(published / "featurehealth.duckdb"), read_only=True)
    assert reader.sql("SELECT v FROM t").fetchall() == [(2,)]


def test_a_log_that_cannot_be_removed_after_the_swap_does_not_undo_a_complete_publish(tmp_path: Path) -> None:
    # The swap is done and the journal gone: an error removing the log made the run report "Publishing
    # failed; the previous outputs are kept" over the new outputs. The next run's rebuild removes it.
    staging, published = tmp_path / "staging", tmp_path / "ci"
    (staging / "reports").mkdir(parents=True)
    (staging / "reports" / "new.json").write_text("{}")
    (published / "featurehealth.duckdb.wal").mkdir(parents=True)  # unlink() fails on a folder
    (published / "featurehealth.duckdb.wal" / "held").write_text("")
    runner.publish(staging, published, tmp_path / "ci.publish.json")
    assert (published / "reports" / "new.json").is_file()
    assert not (tmp_path / "ci.publish.json").exists()


def test_a_run_killed_writing_its_publish_journal_leaves_no_temporary_journal_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kill -9 between the journal's temporary file and its rename: nothing was swapped yet.
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    journal = config.publish_journal_path("ci")
    journal.parent.mkdir(parents=True)
    unfinished = journal.with_name(f".{journal.name}.k3_9xq2a.tmp")
    unfinished.write_text('{"staging": ')
    # Other profiles', whose names start or end with this one's: not ours to remove.
    others = [config.publish_journal_path(name).with_name(f".{name}.publish.json.k3_9xq2a.tmp")
              for name in ("ci-x", "my-ci")]
    for other in others:
        other.write_text("")
    lines = runner.recover_profile("ci", tmp_path / "ci")
    assert lines == [f"removed the unfinished publish journal {unfinished} of a killed run"]
    assert sorted(p.name for p in journal.parent.iterdir()) == sorted(other.name for other in others)


@pytest.mark.parametrize("journal_text", ["", "{}", "{not json"])
def test_an_unreadable_publish_journal_stops_the_run_with_a_sentence_not_a_traceback(
    project: Path, published_a: Published, journal_text: str
) -> None:
    # The journal is written without fsync: a machine that goes down mid-publish can leave it empty.
    _after_a_good_run(project, published_a)
    published = project / "outputs" / "default"
    before = _snapshot(published)
    journal = config.publish_journal_path("default")
    journal.write_text(journal_text, encoding="utf-8")
    with pytest.raises(runner.RunFailed, match=rf"^The journal of an interrupted publish, {journal}, cannot be read "
                                               rf".*delete {journal}"):
        runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lambda _: None)
    assert journal.is_file()  # kept: it is the only record of what the killed publish swapped
    assert _snapshot(published) == before


def test_run_report_names_the_days_the_run_read(tmp_path: Path) -> None:
    """Without them a month of daily runs, backfills and re-runs read alike in the run history."""
    (tmp_path / "reports").mkdir()
    runlog.write_json(tmp_path / "reports" / "ingest_summary.json",
                      {"as_of": "2026-03-16", "window_start": "2026-03-14", "window_end": "2026-03-14"})
    assert runner.summarise_outputs(tmp_path)["window"] == {"as_of": "2026-03-16", "start": "2026-03-14",
                                                             "end": "2026-03-14", "drop_before": None,
                                                             "dropped_days": None}
    assert runner.summarise_outputs(tmp_path, only=set())["window"] is None


def test_failed_run_reports_only_what_it_wrote(project: Path) -> None:
    good = runner.run_pipeline("default", notebooks=["ingest.ipynb"], progress=lambda _: None)
    assert good["quality"]["status"] == "pass" and good["rows"]["rows_in"] == 3 and len(good["drift"]["alerts"]) == 1
    with pytest.raises(runner.RunFailed) as failed:
        runner.run_pipeline("default", notebooks=["boom.ipynb", "ingest.ipynb"], progress=lambda _: None)
    report = runlog.read_json(failed.value.run_dir / "run_report.json")
    # The staging copy held the last good run's reports: none of them is this run's.
    sections = ("rows", "window", "input_data_hash", "quality", "drift", "model", "retrain", "artifacts")
    assert {k: report[k] for k in sections} == dict.fromkeys(sections)
    assert not (failed.value.run_dir / "reports").exists()


def test_failed_run_keeps_the_reports_it_wrote(project: Path) -> None:
    runner.run_pipeline("default", notebooks=["ingest.ipynb"], progress=lambda _: None)
    lines: list[str] = []
    with pytest.raises(runner.RunFailed) as failed:
        runner.run_pipeline(
            "default", notebooks=["ingest.ipynb", "boom.ipynb"], overrides=["model.value=0"], progress=lines.append
        )
    run_dir = failed.value.run_dir
    assert runlog.read_json(run_dir / "reports" / "data_quality.json")["summary"]["status"] == "fail"
    assert runlog.read_json(run_dir / "reports" / "ingest_summary.json")["rows_in"] == 3
    assert runlog.read_json(run_dir / "run_report.json")["quality"]["status"] == "fail"
    assert "data quality: fail (missing_days fail)" in lines
    published = project / "outputs" / "default" / "reports" / "data_quality.json"
    assert runlog.read_json(published)["summary"]["status"] == "pass"


def test_risk_line_names_three_flagged_features_then_how_many_more_or_the_top_one_when_none(tmp_path: Path) -> None:
    ranking = tmp_path / "risk_ranking.csv"
    rows = [f"{i},F{i},2026-04-30,0.{90 - i},{'low' if i < 3 else 'medium'},N{i}" for i in range(1, 9)]
    ranking.write_text("rank,feature_id,date,risk_probability,risk_bucket,feature_name\n" + "\n".join(rows) + "\n")
    assert runner._risk_line(ranking) == (
        "risk on 2026-04-30: 0 high, 6 medium of 8 features scored (at risk, by impact: F3 N3 medium 0.870, "
        "F4 N4 medium 0.860, F5 N5 medium 0.850 and 3 more)")
    ranking.write_text("rank,feature_id,date,risk_probability,risk_bucket,feature_name\n"
                       "1,F9,2026-04-30,0.077,low,Stories\n2,F8,2026-04-30,0.2,low,F8\n")
    assert runner._risk_line(ranking) == (
        "risk on 2026-04-30: 0 high, 0 medium of 2 features scored (highest impact: F9 Stories low 0.077)")
    # Text written after a ' for spreadsheets (registry.write_csv) prints as it was.
    ranking.write_text("rank,feature_id,date,risk_probability,risk_bucket,feature_name\n1,'=F9,2026-04-30,0.077,low,'-Stories\n")
    assert runner._risk_line(ranking).endswith("(highest impact: =F9 -Stories low 0.077)")
    # A ranking the csv module refuses (a field beyond its size limit) gives no line rather than a crash.
    ranking.write_text("rank,feature_id\n1," + "x" * (csv.field_size_limit() + 1) + "\n")
    assert runner._risk_line(ranking) is None


def test_outcome_lines_say_what_the_run_found(tmp_path: Path) -> None:
    assert runner.outcome_lines(tmp_path) == []  # no reports, no lines
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "risk_ranking.csv").write_text(
        "rank,feature_id,date,risk_probability,risk_bucket,feature_name\n"
        "1,F2,2026-04-30,0.4085,medium,Search\n2,F1,2026-04-30,0.7,high,\n3,F3,2026-04-30,0.01,low,Feed\n"
    )
    alerts = [{"feature_id": f"F{i}", "metric": "crash_rate"} for i in range(5)]
    runlog.write_json(reports / "data_drift.json", {"summary": {"n_cells": 30, "n_alert": 5, "n_warn": 2}, "alerts": alerts})
    runlog.write_json(reports / "retrain.json", {"retrain_recommended": True, "reasons": ["17% of drift cells alert"]})
    assert runner.outcome_lines(tmp_path) == [
        # The flagged features by impact, so cron mail names those to look at (not a large calm one).
        "risk on 2026-04-30: 1 high, 1 medium of 3 features scored (at risk, by impact: F2 Search medium 0.408, "
        "F1 high 0.700)",
        "drift: 5 alert, 2 warn of 30 feature x metric cells (alert: F0 crash_rate, F1 crash_rate, F2 crash_rate "
        "and 2 more); retraining advised: 17% of drift cells alert",
    ]
    runlog.write_json(reports / "promotion.json", {
        "version": "20260430-ab12", "promoted": False,
        "reason": "kept the model in use: its PR-AUC 0.5500 beats 0.5100 (tolerance 0.01)."})
    assert runner.outcome_lines(tmp_path)[1] == (
        "model: trained 20260430-ab12; kept the model in use: its PR-AUC 0.5500 beats 0.5100 (tolerance 0.01)")
    runlog.write_json(reports / "promotion.json", {
        "version": "20260301-cd34", "promoted": True, "by_hand": True, "previous_version": "20260430-ab12",
        "reason": "put in use by hand with model.use_version, replacing 20260430-ab12, at 2026-05-01T06:00:00+00:00."})
    assert runner.outcome_lines(tmp_path)[1] == (
        "model: 20260301-cd34 put in use by hand with model.use_version, replacing 20260430-ab12, at "
        "2026-05-01T06:00:00+00:00 (nothing trained)")
    (reports / "promotion.json").unlink()  # a run that only scored
    (reports / "risk_ranking.csv").write_text("rank,feature_id,date,risk_probability,risk_bucket\n")
    (reports / "data_drift.json").write_text("{not json")
    runlog.write_json(reports / "retrain.json", {"retrain_recommended": False, "reasons": []})
    assert runner.outcome_lines(tmp_path) == [
        "risk: no feature was scored on the latest day", "retraining not advised",
    ]


def test_a_run_whose_training_days_hold_one_class_says_not_trained_and_why(tmp_path: Path) -> None:
    # A healthy platform: cron mail and the run report must say why there is no new model, or no model at all.
    steps = tmp_path / "reports" / "steps"
    steps.mkdir(parents=True)
    why = "none of its 564 training feature-days from 2026-01-01 to 2026-02-16 degrades within the horizon."
    runlog.write_json(steps / "03_model.json", {"trained": False, "model_version": None, "not_trained": why})
    assert runner.outcome_lines(tmp_path) == [
        "model: not trained: none of its 564 training feature-days from 2026-01-01 to 2026-02-16 degrades within the "
        "horizon; no model is in use, so nothing is scored until a run has the data to train one"]
    assert runner.summarise_outputs(tmp_path)["model"] == {"version": None, "metrics": None, "not_trained": why}
    runlog.write_json(steps / "03_model.json", {"trained": False, "model_version": "v1", "not_trained": why})
    assert runner.outcome_lines(tmp_path)[0].endswith(
        "within the horizon; scoring with model v1 in use, as model.retrain=never would")
    runlog.write_json(steps / "03_model.json", {"trained": True, "model_version": "v1"})
    assert runner.outcome_lines(tmp_path) == []
    # Nothing trained, the model in use kept: why, in a few words (the full reason is in 03_model's output).
    runlog.write_json(steps / "03_model.json", {"trained": False, "model_version": "v1", "kept": "same settings, retraining not advised before this run"})
    assert runner.outcome_lines(tmp_path) == ["model: kept v1 (same settings, retraining not advised before this run)"]


def test_outcome_drift_line_says_how_many_cells_had_too_little_data(tmp_path: Path) -> None:
    """0 alert of 72 cells reads as all clear; when the windows were too short to judge, it must say so."""
    reports = tmp_path / "reports"
    reports.mkdir()
    runlog.write_json(reports / "data_drift.json",
                      {"summary": {"n_cells": 72, "n_alert": 0, "n_warn": 0, "n_insufficient": 72}, "alerts": []})
    assert runner.outcome_lines(tmp_path) == [
        "drift: 0 alert, 0 warn of 72 feature x metric cells, 72 with too little data to judge"]


def test_outcome_drift_line_says_what_fired_when_the_advice_was_withheld(tmp_path: Path) -> None:
    """Cron mail read "retraining not advised" beside 25 % of cells alerting, where retrain.json and the
    dashboard say a check fired and why the advice was withheld (no model in use, or one just built)."""
    reports = tmp_path / "reports"
    reports.mkdir()
    runlog.write_json(reports / "retrain.json", {
        "retrain_recommended": False, "reasons": [], "withheld": "no model is in use",
        "withheld_reasons": ["25% of drift cells alert (limit 20%)"]})
    assert runner.outcome_lines(tmp_path) == [
        "retraining not advised, though a check fired (25% of drift cells alert (limit 20%)): no model is in use"]


def test_console_lines_cannot_carry_terminal_control_sequences(tmp_path: Path) -> None:
    """Feature ids and names come from other teams' exports: printed, they must not drive the
    terminal (escape sequences, carriage returns) nor add lines of their own to cron mail."""
    import csv
    import io

    reports = tmp_path / "reports"
    reports.mkdir()
    hostile = "F\x1b]0;owned\x07\x1b[2J\rrun x: succeeded\nrun y: succeeded"
    with open(reports / "risk_ranking.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["rank", "feature_id", "date", "risk_probability", "risk_bucket", "feature_name"],
                                      [1, hostile, "2026-04-30", 0.7, "high", "name\x9b31m"]])
    runlog.write_json(reports / "data_drift.json", {"summary": {"n_cells": 1, "n_alert": 1, "n_warn": 0},
                                                    "alerts": [{"feature_id": hostile, "metric": "crash_rate"}]})
    stream = io.StringIO()
    for line in runner.outcome_lines(tmp_path):
        runner._print_while_read(line, stream=stream)
    runner._print_while_read("data quality: warn\n  late_rows: re-run", stream=stream)
    printed = stream.getvalue()
    assert not any(c in printed for c in "\x1b\x07\r\x9b")
    assert printed.count("\n") == 4  # two outcome lines, and the quality report's own two lines
    assert "F\\x1b]0;owned\\x07\\x1b[2J\\rrun x: succeeded\\nrun y: succeeded" in printed


def test_console_lines_print_under_a_locale_that_cannot_encode_them() -> None:
    """A scheduler's locale may not be UTF-8 (LANG=en_US.ISO-8859-1): a feature named in another
    script must print escaped, not stop a published run with a UnicodeEncodeError traceback."""
    import io

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="latin-1", write_through=True)
    runner._print_while_read("risk on 2026-04-30: (highest impact: F006 \u8a2d\u5b9a R\u00e9glages)", stream=stream)
    printed = raw.getvalue().decode("latin-1")
    assert printed == "risk on 2026-04-30: (highest impact: F006 \\u8a2d\\u5b9a R\u00e9glages)\n"


def test_a_signal_ignored_when_the_run_starts_stays_ignored() -> None:
    # nohup ./run_all.sh: logging out sends SIGHUP, which must not stop the run.
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with runner.interrupts_raise():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)  # ignored: no RunInterrupted
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_IGN, signal.SIG_DFL)  # still handled
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_writes_an_interrupted_report_and_stops_kernels(
    project: Path, published_a: Published, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], signum: int,
    request: pytest.FixtureRequest,
) -> None:
    # The signal as a terminal delivers it (under nohup SIGHUP is ignored, and stays so for a run).
    original = signal.signal(signum, signal.SIG_DFL)
    request.addfinalizer(lambda: signal.signal(signum, original))

    good = _after_a_good_run(project, published_a)
    published = project / "outputs" / "default"
    before = _snapshot(published)
    execute = runner._execute

    def terminated_during_b(notebook: Path, *args: Any, **kwargs: Any) -> None:
        if notebook.name == "b.ipynb":
            os.kill(os.getpid(), signum)
        execute(notebook, *args, **kwargs)

    monkeypatch.setattr(runner, "_execute", terminated_during_b)
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("a.ipynb", "b.ipynb", "preload.ipynb"))
    children = _children()
    assert runner.main(["default"]) == 128 + signum
    err = capsys.readouterr().err
    name = signal.Signals(signum).name
    assert err.count("\n") == 1 and err.startswith(f"run_all: INTERRUPTED by {name}; outputs unchanged")
    assert _children() - children == set()
    assert _snapshot(published) == before
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]
    interrupted = next(d for d in (published / "runs").iterdir() if d.name != good["run_id"])
    report = runlog.read_json(interrupted / "run_report.json")
    assert report["status"] == "interrupted"
    assert [s["status"] for s in report["steps"]] == ["succeeded", "interrupted"]
    assert signal.getsignal(signum) == signal.SIG_DFL


def test_a_signal_while_a_kernel_starts_leaves_no_kernel_running(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel process was started but not yet in the run's list of kernels to stop: it ran on
    # until it saw the runner gone, its connection file removed (it then listened on TCP ports).
    from jupyter_client.manager import AsyncKernelManager

    started = AsyncKernelManager._async_post_start_kernel

    async def terminated_while_starting(self: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await started(self, **kwargs)

    monkeypatch.setattr(AsyncKernelManager, "_async_post_start_kernel", terminated_while_starting)
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("a.ipynb",))
    children = _children()
    assert runner.main(["default"]) == 128 + signal.SIGTERM
    assert _children() - children == set()


@pytest.mark.parametrize("hook", ["stop_kernel", "_close_stopped_run"])
def test_a_signal_once_a_notebook_failed_lets_the_run_stop_as_failed(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hook: str
) -> None:
    # A Ctrl-C (or a scheduler's SIGTERM) while a failed run stops its kernels or writes its report
    # replaced the failure with "INTERRUPTED ... outputs unchanged" and left b's kernel running.
    original, calls = getattr(runner, hook), []

    def terminated(*args: Any, **kwargs: Any) -> Any:
        calls.append(hook)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, hook, terminated)
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("a.ipynb", "boom.ipynb", "b.ipynb"))
    children = _children()
    assert runner.main(["default"]) == runner.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("run_all: FAILED: boom.ipynb failed: ValueError: input file x.csv lacks feature_id (run report")
    assert _children() - children == set()
    run_dir = next((project / "outputs" / "default" / "runs").iterdir())
    assert runlog.read_json(run_dir / "run_report.json")["status"] == "failed"
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_an_interrupted_cell_unwinds_before_its_kernel_is_stopped(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Killed outright, the kernel never ran the cell's with-blocks: its temporary folders (CSV
    # re-cuts), DuckDB spill files and Dask cluster were left behind.
    import threading

    held, started = tmp_path / "held", tmp_path / "started"
    _notebook(project / "notebooks" / "hold.ipynb", (
        "import pathlib, tempfile, time\n"
        f"with tempfile.TemporaryDirectory(dir={str(tmp_path)!r}) as folder:\n"
        f"    pathlib.Path({str(held)!r}).symlink_to(folder)\n"
        f"    pathlib.Path({str(started)!r}).touch()\n"
        "    time.sleep(120)"
    ), step="hold")
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("hold.ipynb",))

    def terminate_once_the_cell_runs() -> None:
        deadline = runner.time.monotonic() + 60
        while not started.exists() and runner.time.monotonic() < deadline:
            runner.time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_the_cell_runs, daemon=True).start()
    children = _children()
    assert runner.main(["default"]) == 128 + signal.SIGTERM
    assert held.is_symlink() and not held.exists()  # the folder was removed by the cell itself
    assert _children() - children == set()


@pytest.mark.parametrize("hook", ["publish", "prune_runs"])
def test_a_signal_once_the_run_publishes_lets_it_finish(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hook: str
) -> None:
    # During the swap, or after it (last HTML copy, run report, pruning): the outputs are the
    # run's, so "INTERRUPTED ... outputs unchanged" with no report in the run folder would be false.
    original = getattr(runner, hook)

    def terminated(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, hook, terminated)
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("a.ipynb",))
    assert runner.main(["default"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "SIGTERM arrived while the run was publishing; it finished first" in captured.out
    published = project / "outputs" / "default"
    run_id = runlog.read_json(published / "reports" / "run_report.json")["run_id"]
    assert runlog.read_json(published / "runs" / run_id / "run_report.json")["status"] == "succeeded"
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_signal_while_the_run_says_it_succeeded_lets_it_succeed(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A SIGTERM as the last line was printed raised in run_pipeline: "INTERRUPTED ... outputs
    # unchanged" and exit 143 over a run that had published and reported itself succeeded.
    printed = runner._print_while_read

    def terminated_on_the_last_line(line: str, **kwargs: Any) -> None:
        if "succeeded in" in line:
            os.kill(os.getpid(), signal.SIGTERM)
        printed(line, **kwargs)

    monkeypatch.setattr(runner, "_print_while_read", terminated_on_the_last_line)
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("a.ipynb",))
    assert runner.main(["default"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    published = project / "outputs" / "default"
    assert runlog.read_json(published / "reports" / "run_report.json")["status"] == "succeeded"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize("code", [0, runner.EXIT_QUALITY_FAILED, runner.EXIT_FAILED])
def test_a_signal_once_the_command_has_its_exit_code_does_not_replace_it(code: int) -> None:
    # The interpreter's shutdown with pandas, DuckDB and papermill loaded takes a tenth of a second
    # or more: a scheduler's SIGTERM then ended a published run with 143, "interrupted".
    import subprocess

    script = (
        "import atexit, os, signal, sys\n"
        "from featurehealth import runner\n"
        f"runner.main = lambda argv=None: {code}\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
        "sys.exit(runner.command())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (code, "")


def test_python_m_featurehealth_runner_keeps_its_exit_code_through_a_late_signal() -> None:
    # As run_all.sh starts it: a profile error (exit 2), then a SIGTERM while the interpreter shuts down.
    import subprocess

    script = (
        "import atexit, os, runpy, signal, sys\n"
        "from featurehealth import config\n"
        "def refused(*args, **kwargs):\n"
        "    raise config.ProfileError('no such profile')\n"
        "config.load_run_params = refused\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
        "sys.argv = ['run_all.sh', 'default']\n"
        "runpy.run_module('featurehealth.runner', run_name='__main__', alter_sys=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (runner.EXIT_USAGE, "run_all: no such profile\n")


def test_a_run_folder_report_not_written_after_publishing_does_not_fail_the_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    runs = project / "outputs" / "default" / "runs"
    write_json = runlog.write_json

    def full_runs_folder(path: Any, obj: Any) -> Path:
        if Path(path).parent.parent == runs:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_json(path, obj)

    monkeypatch.setattr(runlog, "write_json", full_runs_folder)
    lines: list[str] = []
    report = runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lines.append)
    assert report["status"] == "succeeded"
    assert any(line.startswith(f"run report not written to {runs / report['run_id']}: No space left") for line in lines)
    monkeypatch.setattr(runlog, "write_json", write_json)
    runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lambda _: None)
    assert runlog.read_json(runs / report["run_id"] / "run_report.json")["status"] == "succeeded"


class _GoneStream:
    """A stream whose reader has gone: each write fails with ``error``; its descriptor is a real file."""

    def __init__(self, file: Any, error: OSError) -> None:
        self.file, self.error = file, error

    def write(self, _text: str) -> int:
        raise self.error

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self.file.fileno()


# A closed pipe (run_all.sh | head) gives EPIPE; a terminal that hung up gives EIO (SIGHUP during
# the publish is held back, so the run's last lines meet the closed terminal).
@pytest.mark.parametrize("error", [BrokenPipeError(), OSError(errno.EIO, "Input/output error")], ids=["pipe", "terminal"])
def test_a_reader_gone_only_silences_the_lines(tmp_path: Path, error: OSError) -> None:
    for name in ("stdout", "stderr"):
        with open(tmp_path / name, "w") as file:
            runner._print_while_read("run ...: succeeded", stream=_GoneStream(file, error))  # no exception
            assert os.path.realpath(f"/proc/self/fd/{file.fileno()}") == os.devnull
    with open(tmp_path / "other", "w") as file, pytest.raises(PermissionError):
        runner._print_while_read("run ...", stream=_GoneStream(file, PermissionError(errno.EACCES, "denied")))


# A closed stream is no reader gone: Python makes it None, the file the run opens next takes its
# descriptor, and a kernel started without it dies as it boots.
@pytest.mark.parametrize("closing", [">&-", "2>&-"], ids=["stdout", "stderr"])
def test_a_run_started_with_a_standard_stream_closed_runs_without_it(closing: str) -> None:
    code = (
        "import os, sys\n"
        "from featurehealth import runner\n"
        "def run(profile, **kwargs):\n"
        "    kwargs['progress']('run ...: profile ci')\n"
        "    lock = open(os.devnull)\n"
        "    assert lock.fileno() > 2, lock.fileno()\n"
        "    kernel = [sys.executable, '-c', 'import sys; sys.exit(sys.stdout is None or sys.stderr is None)']\n"
        "    assert __import__('subprocess').run(kernel).returncode == 0\n"
        "    raise runner.RunBusy('busy')\n"
        "runner.run_pipeline = run\n"
        "sys.exit(runner.main(['ci']))\n"
    )
    done = subprocess.run(["bash", "-c", f'exec "$0" -c "$1" {closing}', sys.executable, code],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == runner.EXIT_BUSY, done.stderr


def test_the_final_line_of_a_run_whose_terminal_hung_up_keeps_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_args: Any, **_kwargs: Any) -> None:
        raise runner.RunBusy("Another run of profile 'ci' is in progress; wait for it to finish.")

    monkeypatch.setattr(runner, "run_pipeline", busy)
    with open(tmp_path / "stderr", "w") as file:
        monkeypatch.setattr(sys, "stderr", _GoneStream(file, OSError(errno.EIO, "Input/output error")))
        assert runner.main(["ci"]) == runner.EXIT_BUSY


def test_next_run_cleans_up_after_a_killed_run(project: Path, published_a: Published) -> None:
    good = _after_a_good_run(project, published_a)
    published, staging = project / "outputs" / "default", project / "outputs" / ".staging"
    killed = "20260101T000000Z-0123abcd"
    (published / "runs" / killed).mkdir()
    (published / "runs" / "notes").mkdir()  # the user's own folder: no run of ours, not marked as one
    (staging / f"default-{killed}" / "reports").mkdir(parents=True)
    (staging / f"default-{killed}.old").mkdir()
    # Another profile's staging folder, whose name starts with this profile's: not ours to remove.
    (staging / f"default-x-{killed}").mkdir()
    lines: list[str] = []
    runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lines.append)
    assert sorted(p.name for p in staging.iterdir()) == ["default-x-" + killed, "default.lock"]
    closed = runlog.read_json(published / "runs" / killed / "run_report.json")
    # Without started_at, the dashboard's run history showed the killed run with no start at all.
    assert (closed["status"], closed["started_at"]) == ("interrupted", "2026-01-01T00:00:00+00:00")
    assert runlog.read_json(published / "runs" / good["run_id"] / "run_report.json")["status"] == "succeeded"
    assert f"run {killed} had no report: marked interrupted" in lines
    assert list((published / "runs" / "notes").iterdir()) == []


def test_the_next_run_says_which_killed_run_had_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # kill -9 after the swap, before the run wrote its report into its run folder: its outputs are
    # the published ones, and its folder gets their report, which says succeeded.
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    (tmp_path / ".staging").mkdir()
    published = tmp_path / "ci"
    done, killed = "20260101T000000Z-0123abcd", "20260102T000000Z-0123abcd"
    for run_id in (done, killed):
        (published / "runs" / run_id).mkdir(parents=True)
    runlog.write_json(published / "reports" / "run_report.json", {"run_id": done, "status": "succeeded"})
    assert runner.recover_profile("ci", published) == [
        f"run {done} had no report: it was killed once its outputs were published; given the published report",
        f"run {killed} had no report: marked interrupted",
    ]
    assert runlog.read_json(published / "runs" / done / "run_report.json")["status"] == "succeeded"
    assert runlog.read_json(published / "runs" / killed / "run_report.json")["status"] == "interrupted"


def test_unwritable_output_folder_is_one_sentence_and_leaves_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = project / "outputs" / "default"
    original = Path.mkdir

    def read_only(self: Path, *args: Any, **kwargs: Any) -> None:
        if self == published:
            raise PermissionError(13, "Permission denied", str(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    expected = rf"^Output folder {project / 'outputs'} is not writable: Permission denied;"
    with pytest.raises(runner.RunFailed, match=expected):
        runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lambda _: None)
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]
    assert not published.exists()


def test_a_broken_link_in_the_outputs_is_named_with_its_missing_target(project: Path, published_a: Published) -> None:
    # A version folder linked from a backup that was since moved: the copy for staging fails on it,
    # and "not writable: No such file or directory" pointed at permissions instead of the link.
    _after_a_good_run(project, published_a)
    published = project / "outputs" / "default"
    (published / "models").mkdir(exist_ok=True)
    link = published / "models" / "20260101-0123456789ab"
    link.symlink_to(project / "moved-away")
    before = _snapshot(published)
    expected = (rf"^{re.escape(str(link))} is a symbolic link to {re.escape(str(project / 'moved-away'))}, which does "
                rf"not exist; restore its target or remove the link\.$")
    with pytest.raises(runner.RunFailed, match=expected):
        runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lambda _: None)
    assert _snapshot(published) == before
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]



def test_a_link_whose_target_exists_is_not_called_broken_when_its_copy_fails(tmp_path: Path) -> None:
    # Only a missing target makes the link the cause; any other failure keeps its own error.
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    with pytest.raises(runner._CopyFailed):
        runner._copy_or_stop(str(tmp_path / "link.json"), str(tmp_path / "no-such-folder" / "link.json"))

def test_a_full_disk_while_staging_is_one_sentence_saying_so(project: Path, published_a: Published, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import shutil

    _after_a_good_run(project, published_a)
    published = project / "outputs" / "default"
    before = _snapshot(published)

    def disk_full(source: str, target: str, **_kwargs: Any) -> str:
        raise OSError(errno.ENOSPC, "No space left on device", target)

    monkeypatch.setattr(shutil, "copyfile", disk_full)
    with pytest.raises(runner.RunFailed) as caught:
        runner.run_pipeline("default", notebooks=["a.ipynb"], progress=lambda _: None)
    message = str(caught.value)
    assert message.startswith(f"No space left for the outputs under {project / 'outputs'} (No space left on device); ")
    assert "not writable" not in message and "[(" not in message
    assert _snapshot(published) == before
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]


def test_a_file_size_limit_is_not_called_an_output_folder_that_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ulimit -f (a service's LimitFSIZE) below the fact table's size: "make it writable" sent the
    # reader to the folder's permissions.
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    too_large = OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(tmp_path / "ci" / "featurehealth.duckdb"))
    assert str(runner.not_writable(too_large)) == (
        f"A file under {tmp_path} is larger than this process may write (File too large); raise its file-size "
        f"limit (ulimit -f) or point FEATUREHEALTH_OUTPUT_ROOT at a file system that takes larger files."
    )


def test_a_full_disk_in_a_step_is_one_sentence_saying_where_to_free_room(
    project: Path, published_a: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inside the kernel the errno is lost: the runner gets the error as text ("OSError: [Errno 28] ...").
    _notebook(project / "notebooks" / "full.ipynb",
              "import errno, os\nraise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))", step="full")
    _after_a_good_run(project, published_a)
    published = project / "outputs" / "default"
    before = _snapshot(published)
    with pytest.raises(runner.RunFailed) as caught:
        runner.run_pipeline("default", notebooks=["full.ipynb"], progress=lambda _: None)
    message = str(caught.value)
    assert message.startswith("full.ipynb failed: no space left on a device the run writes to (OSError: [Errno 28] ")
    assert f"; free some under {project / 'outputs'} or " in message and "FEATUREHEALTH_OUTPUT_ROOT" in message
    # CSV input is re-cut and DuckDB spills in the temporary folder: it can be the full one.
    assert f" or {tempfile.gettempdir()} (run.keep_runs" in message and " or TMPDIR at a folder with room." in message
    assert "\n" not in message
    assert _snapshot(published) == before
    assert [p.name for p in (project / "outputs" / ".staging").iterdir()] == ["default.lock"]


@pytest.mark.parametrize("error", [
    "OSError: [Errno 28] No space left on device",
    "OSError: [Errno 28] No space left on device: '/out/ci/tables/x.parquet'",
    "OSError: [Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device",
    'IOException: IO Error: Could not write file "/out/x.duckdb.wal": No space left on device',
    "OSError: [Errno 122] Disk quota exceeded",
])
def test_is_disk_full_knows_the_system_error_in_a_step_error(error: str) -> None:
    assert runner.is_disk_full(error)


@pytest.mark.parametrize("error", [
    "InputError: The feature metadata file /in/m.csv has no column 'feature_id' "
    "(it has: No space left on device); add it.",
    "ValueError: owner team 'Disk quota exceeded' is not known; fix the metadata.",
])
def test_is_disk_full_ignores_a_step_error_that_only_quotes_the_system_message(error: str) -> None:
    # Telling such a run to free disk space (and skipping its HTML copy) would send the reader
    # after the wrong cause: the input's text merely contains the words.
    assert not runner.is_disk_full(error)


def test_a_full_disk_while_saving_an_executed_notebook_is_one_sentence_without_an_html_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Papermill writes the executed notebook into the run folder: cut short there, its HTML
    # rendering could only add "NotJSONError: Notebook does not appear to be JSON".
    def disk_full(_notebook: Path, executed: Path, *_args: Any, **_kwargs: Any) -> None:
        executed.write_text('{\n "cells": [')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runner, "_execute", disk_full)
    lines: list[str] = []
    with pytest.raises(runner.RunFailed, match=r"^a.ipynb failed: no space left on a device the run writes to \(OSError: "
                                               r"\[Errno 28\] No space left on device\); free some under "):
        runner.run_pipeline("default", notebooks=["a.ipynb"], overrides=["run.html=true"], progress=lines.append)
    assert not [line for line in lines if "HTML of" in line]


def test_a_full_disk_when_the_run_report_is_staged_is_one_sentence_and_publishes_nothing(
    project: Path, published_a: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    _after_a_good_run(project, published_a)
    published = project / "outputs" / "default"
    before = _snapshot(published)
    staging_root = project / "outputs" / ".staging"
    write_json = runlog.write_json

    def full_after_the_steps(path: Any, obj: Any) -> Path:
        if Path(path).is_relative_to(staging_root) and Path(path).name == "run_report.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return write_json(path, obj)

    monkeypatch.setattr(runlog, "write_json", full_after_the_steps)
    with pytest.raises(runner.RunFailed, match=rf"^No space left for the outputs under {project / 'outputs'} "):
        runner.run_pipeline("default", notebooks=["b.ipynb"], progress=lambda _: None)
    assert _snapshot(published) == before
    assert [p.name for p in staging_root.iterdir()] == ["default.lock"]


def test_a_failed_run_whose_report_did_not_fit_writes_it_once_its_staging_copy_is_gone(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a full disk the report of the failed run cannot be written beside its staging copy; left
    # without one, the next run would record the run as killed and lose why it failed.
    staging_root, runs = project / "outputs" / ".staging", project / "outputs" / "default" / "runs"
    write_json = runlog.write_json

    def full_while_staging(path: Any, obj: Any) -> Path:
        staged = [p for p in staging_root.iterdir() if p.is_dir()] if staging_root.is_dir() else []
        if Path(path).parent.parent == runs and staged:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return write_json(path, obj)

    monkeypatch.setattr(runlog, "write_json", full_while_staging)
    with pytest.raises(runner.RunFailed) as caught:
        runner.run_pipeline("default", notebooks=["boom.ipynb"], progress=lambda _: None)
    report = runlog.read_json(caught.value.run_dir / "run_report.json")
    assert report["status"] == "failed"
    assert "input file x.csv lacks feature_id" in report["error"]


def test_a_run_starting_while_its_profile_is_probed_waits_for_the_probe(project: Path) -> None:
    # The dashboard and notebooks run by hand probe the lock with a shared lock held for an
    # instant; a run starting just then must not be told another run is in progress.
    import fcntl
    import threading

    lock_path = config.profile_lock_path("default")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    probe = open(lock_path, "a")  # noqa: SIM115 - closed by the timer below
    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
    releasing = threading.Timer(0.2, lambda: (fcntl.flock(probe, fcntl.LOCK_UN), probe.close()))
    releasing.start()
    try:
        with runner.profile_lock("default"):
            entered = True
    finally:
        releasing.join()
    assert entered


def test_busy_profile_has_its_own_exit_code(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "PIPELINE_NOTEBOOKS", ("a.ipynb",))
    with runner.profile_lock("default"):
        assert runner.main(["default"]) == runner.EXIT_BUSY
    assert "Another run of profile 'default' is in progress" in capsys.readouterr().err


def test_heartbeat_names_the_running_cell_and_stays_quiet_on_a_quick_step() -> None:
    lines: list[str] = []
    heartbeat = runner.Heartbeat("01_ingest", progress=lines.append, started=0.0, interval=0.01)
    heartbeat.cell_started(nbformat.v4.new_code_cell("# why\n\nresult = engines.validate_and_aggregate(con, raw)"), 8)
    with heartbeat:
        deadline = runner.time.perf_counter() + 10
        while not lines and runner.time.perf_counter() < deadline:
            runner.time.sleep(0.01)
    assert lines[0].startswith("  01_ingest still running after ")
    assert lines[0].endswith("s (cell 9: result = engines.validate_and_aggregate(con, raw))")
    quiet: list[str] = []
    with runner.Heartbeat("02_aggregate", progress=quiet.append, started=0.0, interval=60):
        pass
    assert quiet == []


def test_heartbeat_adds_the_running_cell_s_last_printed_line() -> None:
    # A long ingest's partition lines, or the simulator's wait for its lock, never reached the terminal.
    lines: list[str] = []
    heartbeat = runner.Heartbeat("01_ingest", progress=lines.append, started=0.0, interval=0.01)
    heartbeat.cell_started(nbformat.v4.new_code_cell("result = run()"), 10)
    heartbeat.write("aggregated partition 1 of 12 (2026-01-01..2026-01-31): 1,234 rows, after 3 s\n")
    heartbeat.write("aggregated partition 12 of 12 (2026-12-01..2026-12-31): 56,789,012 rows, after 380 s\n\n")
    heartbeat.flush()
    with heartbeat:
        deadline = runner.time.perf_counter() + 10
        while not lines and runner.time.perf_counter() < deadline:
            runner.time.sleep(0.01)
    assert lines[0].endswith("s (cell 11: result = run(); last printed: aggregated partition 12 of 12 "
                             "(2026-12-01..2026-12-31): 56,789,012 rows, after 380 s)")
    heartbeat.write("UserWarning: " + "x" * 200)
    assert heartbeat.printed == "UserWarning: " + "x" * 87 + "..."
    # A new cell has printed nothing yet.
    heartbeat.cell_started(nbformat.v4.new_code_cell("report = check()"), 11)
    assert heartbeat.cell == "cell 12: report = check()" and heartbeat.printed == ""


def test_heartbeat_reports_what_the_kernel_prints_to_stderr(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The simulator prints that it waits for another process's lock to the kernel's stderr.
    seen = project / "seen"
    _notebook(project / "notebooks" / "wait.ipynb", "import pathlib, sys, time\n"
              "print('Waiting for another process to finish generating x.parquet ...', file=sys.stderr, flush=True)\n"
              f"for _ in range(600):\n    if pathlib.Path({str(seen)!r}).exists():\n        break\n"
              "    time.sleep(0.05)", step="wait")
    monkeypatch.setattr(runner, "Heartbeat", functools.partial(runner.Heartbeat, interval=0.05))
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if "last printed: Waiting for another process" in line:
            seen.touch()

    runner.run_pipeline("default", notebooks=["wait.ipynb"], progress=progress)
    assert seen.exists()
    assert not any(line.startswith("Waiting") for line in lines)  # the output itself is not printed


def test_outcome_line_names_a_feature_without_metadata_once(tmp_path: Path) -> None:
    # Without a metadata file a feature's name is its id: "F006 F006" reads like a glitch.
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "risk_ranking.csv").write_text(
        "rank,feature_id,date,risk_probability,risk_bucket,feature_name\n1,F006,2026-04-30,0.368,low,F006\n")
    assert runner.outcome_lines(tmp_path) == [
        "risk on 2026-04-30: 0 high, 0 medium of 1 features scored (highest impact: F006 low 0.368)"]


def test_a_run_that_drops_published_days_records_and_prints_them(tmp_path: Path) -> None:
    # ingest.drop_before removes days from the published tables: the run report and cron mail must say which.
    (tmp_path / "reports").mkdir()
    runlog.write_json(tmp_path / "reports" / "ingest_summary.json",
                      {"as_of": "2026-04-29", "window_start": "2026-04-29", "window_end": "2026-04-29",
                       "drop_before": "2026-01-01", "dropped_days": ["2019-05-03"]})
    window = runner.summarise_outputs(tmp_path)["window"]
    assert (window["drop_before"], window["dropped_days"]) == ("2026-01-01", ["2019-05-03"])
    assert runner.outcome_lines(tmp_path) == [
        "dropped: 1 published day before 2026-01-01 (ingest.drop_before): 2019-05-03"]
    runlog.write_json(tmp_path / "reports" / "ingest_summary.json",
                      {"as_of": "2026-04-29", "drop_before": "2026-01-01", "dropped_days": []})
    assert runner.outcome_lines(tmp_path) == ["dropped: no published day before 2026-01-01 (ingest.drop_before)"]


def test_a_run_under_umask_0_writes_nothing_others_can_change(capsys: pytest.CaptureFixture[str]) -> None:
    """Under umask 0 (a container's or a service's default) every output, models/ included, was
    world-writable: any user of the host could swap in a model and its card, and the next run
    unpickled it, running their code. A run clears the umask's world-write bit and keeps the rest."""
    previous = os.umask(0)
    try:
        assert runner.main(["typo"]) == 2
        assert os.umask(0o027) == 0o002
        runner.main(["typo"])
        assert os.umask(previous) == 0o027
    finally:
        os.umask(previous)
    capsys.readouterr()


def test_stale_kernel_folders_are_told_from_what_is_not_a_dead_run_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = time.time() - 2 * runner._UNOWNED_FOLDER_GRACE_S
    unowned = tmp_path / "featurehealth-kernels-old"  # no owner named, and older than the grace period
    unowned.mkdir()
    os.utime(unowned, (old, old))
    garbled = tmp_path / "featurehealth-kernels-garbled"  # an owner file naming no process
    garbled.mkdir()
    (garbled / runner.SOCKET_FOLDER_OWNER).write_text("not a pid\n")
    a_file = tmp_path / "featurehealth-kernels-file"
    a_file.write_text("kept")
    target = tmp_path / "elsewhere"
    target.mkdir()
    linked = tmp_path / "featurehealth-kernels-link"
    linked.symlink_to(target, target_is_directory=True)
    os.utime(target, (old, old))
    assert set(runner.remove_stale_socket_folders(tmp_path)) == {unowned, garbled}
    assert a_file.is_file() and linked.is_symlink() and target.is_dir()
    # An owner the kernel will not signal (another user's process) is alive: its folder is kept.
    other_user = tmp_path / "featurehealth-kernels-other"
    other_user.mkdir()
    (other_user / runner.SOCKET_FOLDER_OWNER).write_text("4242 17\n")

    def refuse(_pid: int, _signal: int) -> None:
        raise PermissionError("not yours")

    monkeypatch.setattr(runner.os, "kill", refuse)
    assert runner.remove_stale_socket_folders(tmp_path) == [] and other_user.is_dir()
