"""Run the pipeline notebooks of one profile with Papermill and publish the outputs safely.

A run works in a staging copy of the last published outputs (``outputs/.staging/``) and only
moves its results into ``outputs/<profile>/`` when every notebook succeeded, so a failed or
interrupted run leaves the last good outputs in place. Every run, good or failed, keeps its
executed notebooks, their HTML rendering and its run report under ``outputs/<profile>/runs/<run_id>/``.

Command line: ``python -m featurehealth.runner PROFILE`` (what ``run_all.sh`` calls).
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from featurehealth import config, runlog

#: Parameter groups read by the runner itself rather than by a notebook.
RUNNER_GROUPS = ("run",)
#: Parameters every pipeline notebook receives from the runner.
RUNNER_INJECTED = ("profile", "output_dir")


class RunFailed(RuntimeError):
    """A notebook of the run failed; the message is one line naming the notebook and the error."""


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
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            names: list[str] = []
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign):
                    names += [t.id for t in node.targets if isinstance(t, ast.Name)]
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.append(node.target.id)
            return names
    raise ValueError(f"Notebook {path.name} has no cell tagged 'parameters'; tag one in Jupyter.")


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


def render_html(executed: Path) -> Path:
    """Write a static HTML rendering beside an executed notebook, for readers without Jupyter."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(executed))
    return runlog.atomic_write_bytes(executed.with_suffix(".html"), body.encode("utf-8"))


def _execute(notebook: Path, executed: Path, parameters: dict[str, Any]) -> None:
    import logging

    import papermill

    # The runner checks parameters itself (plan_parameters); papermill's own parser misreads
    # comments holding quotes and would print misleading "unknown parameter" warnings.
    logging.getLogger("papermill").setLevel(logging.ERROR)

    papermill.execute_notebook(
        str(notebook),
        str(executed),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(notebook.parent),
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
        If the profile is missing or has unknown keys (nothing is run).
    RunFailed
        If a notebook fails; the last published outputs are untouched and the failed run's
        report is under ``runs/<run_id>/``.
    """
    params = config.apply_overrides(config.load_profile(profile), list(overrides))
    run_options = params["run"]
    digest = config.params_hash(params)
    notebook_paths = [config.NOTEBOOKS_DIR / name for name in notebooks or config.PIPELINE_NOTEBOOKS]
    missing = [str(p) for p in notebook_paths if not p.is_file()]
    if missing:
        raise RunFailed(f"Notebook {missing[0]} does not exist; restore it from git.")

    published = config.output_root() / profile
    run_id = new_run_id(digest)
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

    with profile_lock(profile):
        prepare_staging(published, staging)
        run_dir.mkdir(parents=True, exist_ok=True)
        progress(f"run {run_id}: profile '{profile}', {len(notebook_paths)} notebooks -> {published}")
        steps = [(p, plan[p.name]) for p in notebook_paths]
        try:
            _run_steps(
                steps, staging=staging, run_dir=run_dir, report=report, progress=progress,
                html=run_options["html"],
            )
            if "03_model.ipynb" in plan and _retrain_advised(staging, params, run_options, report):
                retrain = dict(plan["03_model.ipynb"], model={**params["model"], "retrain": "always"})
                progress("drift recommends retraining: re-running 03_model with retrain=always")
                _run_steps(
                    [(config.NOTEBOOKS_DIR / "03_model.ipynb", retrain)],
                    staging=staging, run_dir=run_dir, report=report, progress=progress,
                    html=run_options["html"], suffix="_retrain",
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
    html: bool,
    suffix: str = "",
) -> None:
    for notebook, parameters in steps:
        step = notebook.stem + suffix
        executed = run_dir / f"{step}.ipynb"
        started = time.perf_counter()
        entry: dict[str, Any] = {"step": step, "notebook": notebook.name}
        report["steps"].append(entry)
        progress(f"  {step} ...")
        try:
            _execute(notebook, executed, parameters)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one reported line
            entry.update(status="failed", duration_s=round(time.perf_counter() - started, 3))
            entry["error"] = _step_error(exc)
            with contextlib.suppress(Exception):
                render_html(executed)
            raise RunFailed(f"{notebook.name} failed: {entry['error']}") from None
        facts = _read_optional_json(staging / "reports" / "steps" / f"{notebook.stem}.json") or {}
        entry.update(status="succeeded", duration_s=round(time.perf_counter() - started, 3), **facts)
        if html:
            render_html(executed)
        rows = ", ".join(f"{k}={v}" for k, v in facts.items() if k.startswith("rows"))
        progress(f"  {step} ok in {entry['duration_s']:.1f}s{' (' + rows + ')' if rows else ''}")


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
