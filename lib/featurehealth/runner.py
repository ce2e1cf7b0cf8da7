"""Run the pipeline notebooks of one profile with Papermill and publish the outputs safely.

A run works in a staging copy of the last published outputs (``outputs/.staging/``) and only
moves its results into ``outputs/<profile>/`` when every notebook succeeded, so a failed or
interrupted run leaves the last good outputs in place. Every run, good or failed, keeps its
executed notebooks, their HTML rendering and its run report under ``outputs/<profile>/runs/<run_id>/``.

A daily run is mostly fixed costs per notebook, so they are kept off the critical path. Each
notebook still gets its own fresh kernel, but that kernel is launched while earlier notebooks run
and imports the notebook's modules as it boots (:func:`launch_kernel`); it is killed as soon as
the last cell has finished; the HTML rendering of an executed notebook happens in a background
thread while the next notebook runs.

Command line: ``python -m featurehealth.runner PROFILE`` (what ``run_all.sh`` calls).
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import functools
import importlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from featurehealth import config, runlog

#: Parameter groups read by the runner itself rather than by a notebook.
RUNNER_GROUPS = ("run",)
#: Parameters every pipeline notebook receives from the runner.
RUNNER_INJECTED = ("profile", "output_dir")
KERNEL_NAME = "python3"
#: Papermill engine running a notebook on a kernel the runner launched ahead (see _register_engine).
ENGINE_NAME = "featurehealth-launched-kernel"
#: Kernels launched ahead of the running notebook: a kernel importing scikit-learn and friends
#: needs more than one short notebook's time to boot.
KERNELS_AHEAD = 2
#: Niceness added to the thread rendering HTML copies (see :func:`_lower_priority`).
HTML_NICENESS = 10
#: Heavy libraries a pipeline notebook needs that featurehealth imports inside functions (to keep
#: the dashboard light), so no import cell names them; the notebook's kernel imports them as it
#: boots too. An entry that goes stale only costs time, never a result.
LAZY_IMPORTS = {
    "01_ingest.ipynb": ("duckdb", "pyarrow.parquet"),
    "02_aggregate.ipynb": ("duckdb", "pyarrow.parquet", "scipy.special"),
    # Not matplotlib: a run that only scores shows the figures the registry drew at training.
    "03_model.ipynb": ("duckdb", "pyarrow.parquet", "scipy.special", "sklearn.ensemble", "sklearn.metrics"),
    "04_drift.ipynb": ("pyarrow.parquet",),
}


class RunFailed(RuntimeError):
    """A notebook of the run failed; the message is one line naming the notebook and the error."""


def _source(cell: dict[str, Any]) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def declared_parameters(notebook: str | Path) -> list[str]:
    """Names assigned in the notebook's cell tagged ``parameters``, in order.

    Parameters
    ----------
    notebook : str or Path
        Path to an ``.ipynb`` file.

    Raises
    ------
    ValueError
        If the notebook has no cell tagged ``parameters``.
    """
    path = Path(notebook)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = _source(cell)
            names: list[str] = []
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign):
                    names += [t.id for t in node.targets if isinstance(t, ast.Name)]
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.append(node.target.id)
            return names
    raise ValueError(f"Notebook {path.name} has no cell tagged 'parameters'; tag one in Jupyter.")


def notebook_imports(notebook: str | Path) -> list[str]:
    """Modules named by the top-level import statements of the notebook's code cells, in order.

    ``from a import b`` names both ``a`` and ``a.b`` (``b`` may be a submodule); IPython magics
    and cells that are not plain Python are skipped. These, with the notebook's
    :data:`LAZY_IMPORTS`, are what its kernel imports while it boots (:func:`launch_kernel`).
    """
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    modules: list[str] = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        lines = [line for line in _source(cell).splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            body = ast.parse("\n".join(lines)).body
        except SyntaxError:
            continue
        for node in body:
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return list(dict.fromkeys(modules))


def preload_modules(names: Iterable[str]) -> None:
    """Import ``names`` without binding any name; run by a notebook's kernel as it boots.

    A name that is not a module (``datetime.UTC``) or fails to import is skipped: the notebook's
    own import cell then raises the real error in the notebook, where it belongs.
    """
    for name in names:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def plan_parameters(
    params: dict[str, Any], notebooks: Iterable[str | Path], *, profile: str, output_dir: str
) -> dict[str, dict[str, Any]]:
    """Parameters to inject into each notebook: the groups it declares, plus profile and folder.

    Raises
    ------
    config.ProfileError
        If the profile holds a group that no notebook (nor the runner) declares; Papermill
        would only warn and silently ignore it.
    """
    plan: dict[str, dict[str, Any]] = {}
    declared_anywhere: set[str] = set(RUNNER_GROUPS)
    for notebook in notebooks:
        names = declared_parameters(notebook)
        declared_anywhere.update(names)
        injected: dict[str, Any] = {"profile": profile, "output_dir": output_dir}
        injected.update({name: params[name] for name in names if name in params})
        plan[Path(notebook).name] = injected
    unknown = sorted(set(params) - declared_anywhere)
    if unknown:
        raise config.ProfileError(
            f"Profile '{profile}' sets {', '.join(repr(u) for u in unknown)}, which no notebook "
            f"declares; declared groups: {', '.join(sorted(declared_anywhere - set(RUNNER_INJECTED)))}."
        )
    return plan


def new_run_id(params_digest: str, *, now: datetime | None = None) -> str:
    """Run id: UTC start time plus the first characters of the parameter hash."""
    moment = now or datetime.now(UTC)
    return f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{params_digest[:8]}"


def unused_run_id(runs: Path, params_digest: str, *, now: datetime | None = None) -> str:
    """:func:`new_run_id`, a second later for each id ``runs`` already holds.

    A daily run can take less than a second when nothing changed, and two runs must never share
    a run folder.
    """
    moment = now or datetime.now(UTC)
    while (runs / (run_id := new_run_id(params_digest, now=moment))).exists():
        moment += timedelta(seconds=1)
    return run_id


@contextlib.contextmanager
def profile_lock(profile: str) -> Iterator[None]:
    """Hold an exclusive lock for one profile so two runs never publish over each other."""
    lock_dir = config.output_root() / ".staging"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{profile}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFailed(
                f"Another run of profile '{profile}' is in progress; wait for it to finish."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_staging(published: Path, staging: Path) -> None:
    """Make ``staging`` a copy of the published outputs without run history or hand-over files."""
    if staging.exists():
        shutil.rmtree(staging)
    if published.is_dir():
        shutil.copytree(published, staging, ignore=shutil.ignore_patterns("runs", "work"))
    staging.mkdir(parents=True, exist_ok=True)
    # Step records describe one run only. reports/retrain.json is kept on purpose: the model step
    # of the next run reads the last drift advice (model.retrain: auto).
    shutil.rmtree(staging / "reports" / "steps", ignore_errors=True)


def publish(staging: Path, published: Path) -> None:
    """Move every top-level entry of ``staging`` (but hand-over files) over ``published``.

    Each entry is swapped with two renames on the same file system, so a reader sees either the
    old or the new version of a folder, never a half-written one.
    """
    published.mkdir(parents=True, exist_ok=True)
    trash = staging.with_name(staging.name + ".old")
    trash.mkdir(exist_ok=True)
    for entry in sorted(staging.iterdir()):
        if entry.name in ("work", "runs"):
            continue
        target = published / entry.name
        if target.exists():
            target.rename(trash / entry.name)
        entry.rename(target)
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def artifact_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative posix path -> hex), sorted, runs excluded."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] not in ("runs", "work") and not path.name.startswith("."):
            hashes[relative.as_posix()] = runlog.sha256_file(path)
    return hashes


def _read_optional_json(path: Path) -> Any:
    try:
        return runlog.read_json(path)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def summarise_outputs(root: Path) -> dict[str, Any]:
    """What the run report quotes from the steps' own reports (None where a report is absent)."""
    reports = root / "reports"
    quality = _read_optional_json(reports / "data_quality.json")
    metrics = _read_optional_json(reports / "metrics.json")
    drift = _read_optional_json(reports / "data_drift.json")
    card = _read_optional_json(root / "models" / "risk_model.card.json")
    ingest = _read_optional_json(reports / "ingest_summary.json")
    return {
        "input_data_hash": (ingest or {}).get("input_data_hash"),
        "rows": {k: (ingest or {}).get(k) for k in ("rows_in", "rows_valid", "rows_quarantined")},
        "quality": (quality or {}).get("summary"),
        "model": None
        if card is None
        else {"version": card.get("version"), "metrics": (metrics or {}).get("model")},
        "drift": None
        if drift is None
        else {"summary": drift.get("summary"), "alerts": drift.get("alerts")},
        "retrain": _read_optional_json(reports / "retrain.json"),
    }


_THREAD = threading.local()


def _lower_priority() -> None:
    """Give the calling thread a lower CPU priority (Linux: a thread has its own nice value).

    The HTML copies are not on the run's critical path; the kernels executing and booting are,
    and on a small machine they would otherwise share the cores with the renderer evenly.
    """
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(os.getpriority(os.PRIO_PROCESS, thread) + HTML_NICENESS, 19))


def _html_exporter() -> Any:
    # One exporter per thread (a run renders in one worker thread): building its template
    # environment costs as much as rendering a notebook.
    if not hasattr(_THREAD, "html_exporter"):
        from nbconvert import HTMLExporter

        _THREAD.html_exporter = HTMLExporter()
    return _THREAD.html_exporter


def render_html(executed: Path) -> Path:
    """Write a static HTML rendering beside an executed notebook, for readers without Jupyter."""
    body, _ = _html_exporter().from_filename(str(executed))
    return runlog.atomic_write_bytes(executed.with_suffix(".html"), body.encode("utf-8"))


def _render_or_report(executed: Path, progress: Callable[[str], None]) -> None:
    # The HTML is a convenience copy of the executed notebook, which is kept anyway: a rendering
    # failure is reported, and never fails a run whose outputs are good.
    try:
        render_html(executed)
    except Exception as exc:  # noqa: BLE001
        progress(f"  HTML of {executed.name} not written: {type(exc).__name__}: {exc}")


def launch_kernel(notebook: Path) -> Any:
    """Launch a fresh kernel for ``notebook`` in its folder, importing the notebook's modules as it boots.

    The modules are :func:`notebook_imports` and the notebook's :data:`LAZY_IMPORTS`.

    Returns as soon as the process is started (a ``jupyter_client`` AsyncKernelManager), so the
    kernel boots while earlier notebooks run.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    # An expression returning None: no output, no name bound, execution count untouched.
    modules = [*notebook_imports(notebook), *LAZY_IMPORTS.get(notebook.name, ())]
    preload = f"__import__('featurehealth.runner').runner.preload_modules({modules!r})"
    manager = AsyncKernelManager(kernel_name=KERNEL_NAME)
    run_sync(manager.start_kernel)(
        cwd=str(notebook.parent),
        # History in memory, as nbclient sets for the kernels it starts itself.
        extra_arguments=["--HistoryManager.hist_file=:memory:", f"--IPKernelApp.exec_lines={preload}"],
    )
    return manager


def wait_until_ready(manager: Any, *, timeout: float = 60) -> None:
    """Block until ``manager``'s kernel answers (it has booted and run its imports)."""
    from jupyter_core.utils import run_sync

    client = manager.client()
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=timeout)
    finally:
        client.stop_channels()


def stop_kernel(manager: Any) -> None:
    """Kill ``manager``'s kernel if it still runs (launched for a step that never ran, say)."""
    from jupyter_core.utils import run_sync

    if manager.has_kernel:
        run_sync(manager.shutdown_kernel)(now=True)


@functools.cache
def _register_engine() -> str:
    """Register (once) and name a papermill engine running the notebook on the kernel given as ``km``."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class LaunchedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man: Any, kernel_name: str, *, km: Any, input_path: Any = None, start_timeout: int = 60,
            **options: Any,
        ) -> Any:
            client = PapermillNotebookClient(
                nb_man, km=km, kernel_name=kernel_name, startup_timeout=start_timeout, log=logger,
                shutdown_kernel="immediate", **options,
            )
            # Papermill saves the whole notebook at every cell start and end (a second per notebook);
            # it saves it once more when the notebook ends, failed or not, which is all the runner reads.
            output_path, nb_man.output_path = nb_man.output_path, None
            try:
                # Stop the kernel after the last cell as if the client had started it; at once, since
                # nothing is left to run and a graceful exit costs up to a second.
                return client.execute(cleanup_kc=True)
            finally:
                nb_man.output_path = output_path

    papermill_engines.register(ENGINE_NAME, LaunchedKernelEngine)
    return ENGINE_NAME


def _execute(notebook: Path, executed: Path, parameters: dict[str, Any], *, kernel: Any) -> None:
    import logging

    import papermill

    # The runner checks parameters itself (plan_parameters); papermill's own parser misreads
    # comments holding quotes and would print misleading "unknown parameter" warnings.
    logging.getLogger("papermill").setLevel(logging.ERROR)

    papermill.execute_notebook(
        str(notebook),
        str(executed),
        parameters=parameters,
        engine_name=_register_engine(),
        kernel_name=KERNEL_NAME,
        progress_bar=False,
        km=kernel,
    )


def _step_error(exc: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}".strip()
    return f"{type(exc).__name__}: {exc}".strip()


def run_pipeline(
    profile: str,
    *,
    notebooks: Iterable[str] | None = None,
    overrides: Iterable[str] = (),
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Execute the pipeline notebooks for ``profile`` and publish the outputs on success.

    Parameters
    ----------
    profile : str
        Name of a file in ``params/``.
    notebooks : iterable of str, optional
        Notebook file names under ``notebooks/``, in order; default the whole pipeline.
    overrides : iterable of str
        ``group.key=value`` items applied over the profile (see :func:`config.apply_overrides`).
    progress : callable
        Receives one line per event (start of run, each step's result).

    Returns
    -------
    dict
        The run report (also written to ``reports/run_report.json`` and the run's folder).

    Raises
    ------
    config.ProfileError
        If the profile is missing, has unknown keys or a value not allowed (nothing is run).
    RunFailed
        If a notebook fails; the last published outputs are untouched and the failed run's
        report is under ``runs/<run_id>/``.
    """
    params = config.load_run_params(profile, list(overrides))
    run_options = params["run"]
    digest = config.params_hash(params)
    notebook_paths = [config.NOTEBOOKS_DIR / name for name in notebooks or config.PIPELINE_NOTEBOOKS]
    missing = [str(p) for p in notebook_paths if not p.is_file()]
    if missing:
        raise RunFailed(f"Notebook {missing[0]} does not exist; restore it from git.")

    published = config.output_root() / profile
    run_id = unused_run_id(published / "runs", digest)
    staging = config.output_root() / ".staging" / f"{profile}-{run_id}"
    run_dir = published / "runs" / run_id
    report: dict[str, Any] = {
        "run_id": run_id,
        "profile": profile,
        "params_hash": digest,
        "overrides": list(overrides),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "running",
        "steps": [],
    }
    plan = plan_parameters(params, notebook_paths, profile=profile, output_dir=str(staging))

    # Leaving the executor waits for the last HTML renderings, so a returned run is complete.
    with profile_lock(profile), ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="html", initializer=_lower_priority
    ) as renderer:
        prepare_staging(published, staging)
        run_dir.mkdir(parents=True, exist_ok=True)
        progress(f"run {run_id}: profile '{profile}', {len(notebook_paths)} notebooks -> {published}")
        steps = [(p, plan[p.name]) for p in notebook_paths]
        render = (
            functools.partial(renderer.submit, _render_or_report, progress=progress) if run_options["html"] else None
        )
        try:
            _run_steps(steps, staging=staging, run_dir=run_dir, report=report, progress=progress, render=render)
            if "03_model.ipynb" in plan and _retrain_advised(staging, params, run_options, report):
                retrain = dict(plan["03_model.ipynb"], model={**params["model"], "retrain": "always"})
                progress("drift recommends retraining: re-running 03_model with retrain=always")
                _run_steps(
                    [(config.NOTEBOOKS_DIR / "03_model.ipynb", retrain)],
                    staging=staging, run_dir=run_dir, report=report, progress=progress,
                    render=render, suffix="_retrain",
                )
        except RunFailed as failure:
            report.update(status="failed", error=str(failure))
            _finish_report(report, staging)
            runlog.write_json(run_dir / "run_report.json", report)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        report["status"] = "succeeded"
        _finish_report(report, staging)
        runlog.write_json(staging / "reports" / "run_report.json", report)
        runlog.write_json(run_dir / "run_report.json", report)
        publish(staging, published)
    progress(f"run {run_id}: succeeded in {report['duration_s']:.1f}s; outputs in {published}")
    return report


def _retrain_advised(
    staging: Path, params: dict[str, Any], run_options: dict[str, Any], report: dict[str, Any]
) -> bool:
    """Whether drift advised retraining, the profile lets the runner act, and no model was just trained."""
    advice = _read_optional_json(staging / "reports" / "retrain.json") or {}
    trained_now = any(s.get("step") == "03_model" and s.get("trained") for s in report["steps"])
    return bool(
        advice.get("retrain_recommended")
        and params["model"]["retrain"] == "auto"
        and run_options["retrain_on_drift"]
        and not trained_now
    )


def _run_steps(
    steps: list[tuple[Path, dict[str, Any]]],
    *,
    staging: Path,
    run_dir: Path,
    report: dict[str, Any],
    progress: Callable[[str], None],
    render: Callable[[Path], Any] | None,
    suffix: str = "",
) -> None:
    """Execute ``steps`` in order, each on its own kernel, launched while earlier steps run.

    ``render`` (None: no HTML) is handed each executed notebook, failed ones included.
    """
    kernels: list[Any] = []
    try:
        for index, (notebook, parameters) in enumerate(steps):
            step = notebook.stem + suffix
            executed = run_dir / f"{step}.ipynb"
            started = time.perf_counter()
            entry: dict[str, Any] = {"step": step, "notebook": notebook.name}
            report["steps"].append(entry)
            progress(f"  {step} ...")
            try:
                if len(kernels) == index:
                    kernels.append(launch_kernel(notebook))
                    # Papermill's imports (0.6 s) run on the other core while this kernel boots.
                    _register_engine()
                    # Kernels launched ahead would compete with this boot, which nothing overlaps;
                    # they boot while this notebook runs instead.
                    wait_until_ready(kernels[index])
                while len(kernels) < min(index + 1 + KERNELS_AHEAD, len(steps)):
                    kernels.append(launch_kernel(steps[len(kernels)][0]))
                _execute(notebook, executed, parameters, kernel=kernels[index])
            except Exception as exc:  # noqa: BLE001 - every failure becomes one reported line
                entry.update(status="failed", duration_s=round(time.perf_counter() - started, 3))
                entry["error"] = _step_error(exc)
                if render and executed.is_file():
                    render(executed)
                raise RunFailed(f"{notebook.name} failed: {entry['error']}") from None
            facts = _read_optional_json(staging / "reports" / "steps" / f"{notebook.stem}.json") or {}
            entry.update(status="succeeded", duration_s=round(time.perf_counter() - started, 3), **facts)
            if render:
                render(executed)
            rows = ", ".join(f"{k}={v}" for k, v in facts.items() if k.startswith("rows"))
            progress(f"  {step} ok in {entry['duration_s']:.1f}s{' (' + rows + ')' if rows else ''}")
    finally:
        for kernel in kernels:
            stop_kernel(kernel)


def _finish_report(report: dict[str, Any], staging: Path) -> None:
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["duration_s"] = round(sum(s.get("duration_s", 0.0) for s in report["steps"]), 3)
    report.update(summarise_outputs(staging))
    report["artifacts"] = artifact_hashes(staging) if staging.exists() else {}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code (0 ok, 1 run failed, 2 bad usage)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="run_all.sh",
        description="Run the featurehealth notebooks for one profile and publish outputs/PROFILE/.",
        epilog=f"profiles: {', '.join(config.available_profiles())}",
    )
    parser.add_argument("profile", nargs="?", default="default", help="file stem in params/ (default: default)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE",
        help="override one parameter, e.g. --set ingest.as_of=2026-06-30 (repeatable)",
    )
    args = parser.parse_args(argv)
    # jsonschema (imported by papermill through nbformat) imports rfc3987_syntax, which compiles a
    # grammar for over a second, only to check "iri" formats that notebook schemas never use;
    # without it jsonschema skips that check. Done here, in the command's own process only.
    sys.modules.setdefault("rfc3987_syntax", None)
    try:
        run_pipeline(args.profile, overrides=args.overrides)
    except config.ProfileError as exc:
        print(f"run_all: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"run_all: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
