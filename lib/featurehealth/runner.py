"""Run the pipeline notebooks of one profile with Papermill and publish the outputs safely.

A run works in a staging copy of the last published outputs (``outputs/.staging/``) and only
moves its results into ``outputs/<profile>/`` when every notebook succeeded, all or nothing
(:func:`publish`), so a failed or interrupted run leaves the last good outputs in place. Every
run, good or failed, keeps its executed notebooks, their HTML rendering and its run report under
``outputs/<profile>/runs/<run_id>/``; a failed run keeps there the reports it wrote too. A run
holds a lock per profile, and first repairs what killed runs left behind (:func:`recover_profile`).

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
import errno
import fcntl
import functools
import importlib
import json
import os
import re
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from featurehealth import config, display, runlog, warehouse

#: Parameter groups read by the runner itself rather than by a notebook.
RUNNER_GROUPS = ("run",)
#: Parameters every pipeline notebook receives from the runner.
RUNNER_INJECTED = ("profile", "output_dir")
#: Parameter a notebook may declare to receive the run's ``--set`` items besides its window, over
#: every group (:func:`config.rerun_overrides`): the commands it suggests (a backfill, a re-run)
#: must repeat them all, ``model`` and ``degradation`` ones included, not only its own groups'.
RERUN_PARAMETER = "rerun"
KERNEL_NAME = "python3"
#: Papermill engine running a notebook on a kernel the runner launched ahead (see _register_engine).
ENGINE_NAME = "featurehealth-launched-kernel"
#: Kernels launched ahead of the running notebook: a kernel importing scikit-learn and friends
#: needs more than one short notebook's time to boot.
KERNELS_AHEAD = 2
#: Niceness added to the thread rendering HTML copies (see :func:`_lower_priority`).
HTML_NICENESS = 10
#: Seconds between "still running" lines while one notebook runs (a long backfill's ingest, say).
HEARTBEAT_SECONDS = 30
#: Heavy libraries a pipeline notebook needs that featurehealth imports inside functions (to keep
#: the dashboard light), so no import cell names them; the notebook's kernel imports them as it
#: boots too. An entry that goes stale only costs time, never a result.
LAZY_IMPORTS = {
    "01_ingest.ipynb": ("duckdb", "pyarrow.parquet"),
    "02_aggregate.ipynb": ("duckdb", "pyarrow.parquet", "scipy.special"),
    # Not matplotlib: a run that only scores shows the figures the registry drew at training.
    "03_model.ipynb": ("duckdb", "pyarrow.parquet", "scipy.special", "sklearn.ensemble", "sklearn.metrics"),
    # scipy.stats: the drift monitor's Wasserstein distance.
    "04_drift.ipynb": ("pyarrow.parquet", "scipy.stats"),
}


#: Exit codes of the command line besides 0 (succeeded): see :func:`main`.
EXIT_FAILED, EXIT_USAGE, EXIT_QUALITY_FAILED, EXIT_BUSY = 1, 2, 3, 75


class RunFailed(RuntimeError):
    """A run failed; the message is one line naming the notebook (or folder) and the error.

    ``run_dir`` is the failed run's folder (its report and the reports it wrote), if it has one.
    """

    def __init__(self, message: str, *, run_dir: Path | None = None) -> None:
        super().__init__(message)
        self.run_dir = run_dir


class RunBusy(RunFailed):
    """Another run of the same profile holds the profile's lock."""


#: Signals that stop a run cleanly: Ctrl-C, a service manager's stop, a closed terminal.
INTERRUPTING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RunInterrupted(BaseException):
    """The run was stopped by a signal (:data:`INTERRUPTING_SIGNALS`).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` takes it for a
    notebook failure.
    """

    def __init__(self, signum: int, *, run_dir: Path | None = None) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.run_dir = run_dir


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
    params: dict[str, Any], notebooks: Iterable[str | Path], *, profile: str, output_dir: str,
    rerun: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Parameters to inject into each notebook: the groups it declares, plus profile and folder,
    and ``rerun`` (the run's other ``--set`` items) if it declares :data:`RERUN_PARAMETER`.

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
        if RERUN_PARAMETER in names:
            injected[RERUN_PARAMETER] = list(rerun)
        plan[Path(notebook).name] = injected
    unknown = sorted(set(params) - declared_anywhere)
    if unknown:
        raise config.ProfileError(
            f"Profile '{profile}' sets {', '.join(repr(u) for u in unknown)}, which no notebook "
            f"declares; declared groups: {', '.join(sorted(declared_anywhere - {*RUNNER_INJECTED, RERUN_PARAMETER}))}."
        )
    return plan


def new_run_id(params_digest: str, *, now: datetime | None = None) -> str:
    """Run id: UTC start time plus the first characters of the parameter hash."""
    moment = now or datetime.now(UTC)
    return f"{moment.strftime(config.RUN_ID_TIME)}-{params_digest[:8]}"


def unused_run_id(runs: Path, params_digest: str, *, now: datetime | None = None) -> str:
    """:func:`new_run_id`, a second later for each id ``runs`` already holds.

    A daily run can take less than a second when nothing changed, and two runs must never share
    a run folder.
    """
    moment = now or datetime.now(UTC)
    while (runs / (run_id := new_run_id(params_digest, now=moment))).exists():
        moment += timedelta(seconds=1)
    return run_id


def prune_runs(runs: Path, *, keep: int, current: str) -> tuple[list[str], list[str]]:
    """Remove the oldest run folders of ``runs`` beyond the newest ``keep`` (0 keeps all).

    Run ids start with their UTC start time, so name order is age order; the ``current`` run is
    never removed, nor is a folder not named as a run id (a user's own). Returns the removed run
    ids and, for the folders that could not be removed, "run id (reason)".
    """
    if keep <= 0:
        return [], []
    folders = [p.name for p in config.run_folders(runs) if p.name != current]
    removed, failed = [], []
    for name in folders[: max(len(folders) - (keep - 1), 0)]:
        try:
            shutil.rmtree(runs / name)
            removed.append(name)
        except OSError as exc:
            failed.append(f"{name} ({exc.strerror or exc})")
    return removed, failed


def code_version() -> str:
    """The package version and, in a git checkout, its commit (``+dirty`` with local changes)."""
    import subprocess

    from featurehealth import __version__

    try:
        described = subprocess.run(
            ["git", "-C", str(config.REPO_ROOT), "describe", "--always", "--dirty=+dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__} ({described})" if described else __version__


#: How long a run starting waits for the profile's lock before calling the profile busy: a
#: probe (a dashboard page, a notebook run by hand) holds it for microseconds, a run for minutes.
PROBE_PATIENCE_S = 1.0


def _take_lock(handle: Any, *, patience_s: float) -> bool:
    """Take an exclusive lock on ``handle``, trying for ``patience_s`` seconds; whether it was taken."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


@contextlib.contextmanager
def profile_lock(profile: str) -> Iterator[None]:
    """Hold an exclusive lock for one profile so two runs never publish over each other.

    A notebook run by hand on the published folder probes it and stops (:func:`config.run_in_progress`).

    Raises
    ------
    RunBusy
        If another run of ``profile`` holds the lock (after :data:`PROBE_PATIENCE_S` seconds).
    RunFailed
        If the lock file cannot be created (:func:`not_writable`).
    """
    lock_path = config.profile_lock_path(profile)
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "w")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise not_writable(exc) from None
    with handle:
        if not _take_lock(handle, patience_s=PROBE_PATIENCE_S):
            raise RunBusy(f"Another run of profile '{profile}' is in progress; wait for it to finish.")
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: Errors of a full file system (or of a user's disk quota).
_NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def not_writable(exc: OSError) -> RunFailed:
    """The one-line failure for an output folder the run cannot write (``exc`` from creating something in it).

    A full file system is said as such: the folder is writable, and the fix is room. So is a
    file-size limit (``ulimit -f``, or a file system's largest file).
    """
    if exc.errno in _NO_SPACE_ERRNOS:
        return RunFailed(
            f"No space left for the outputs under {config.output_root()} ({exc.strerror}); free some "
            f"(run.keep_runs prunes old run folders) or point FEATUREHEALTH_OUTPUT_ROOT at a folder with room."
        )
    if exc.errno == errno.EFBIG:
        return RunFailed(
            f"A file under {config.output_root()} is larger than this process may write ({exc.strerror}); raise its "
            f"file-size limit (ulimit -f) or point FEATUREHEALTH_OUTPUT_ROOT at a file system that takes larger files."
        )
    folder = Path(exc.filename).parent if exc.filename else config.output_root()
    return RunFailed(
        f"Output folder {folder} is not writable: {exc.strerror or exc}; make it writable "
        f"or point FEATUREHEALTH_OUTPUT_ROOT at a writable folder."
    )


def is_disk_full(error: BaseException | str) -> bool:
    """Whether ``error`` (an exception, or a step's error as text) is a full file system or quota.

    A kernel's error reaches the runner as text only, so text is matched where a system error
    stands: its errno (``[Errno 28]``, as Python and Arrow write it) or the system's message
    ending the text after a colon (DuckDB's ``Could not write file "x": No space left on
    device``). The message alone elsewhere is an input's value quoted in another error (a
    column or team named so), which room on the disk would not fix.
    """
    if isinstance(error, OSError) and error.errno in _NO_SPACE_ERRNOS:
        return True
    text = (error if isinstance(error, str) else _step_error(error)).rstrip()
    return any(
        re.search(rf"\[errno {code}\]|: {re.escape(os.strerror(code))}$", text, flags=re.IGNORECASE)
        for code in _NO_SPACE_ERRNOS
    )


def no_space_failure(step: str, error: str, *, writes_to: Mapping[str, Path]) -> str:
    """The one-line failure of ``step`` stopped by a full disk: where to free room, and the way out.

    Parameters
    ----------
    step : str
        Notebook file name, e.g. ``"01_ingest.ipynb"``.
    error : str
        The step's error (:func:`_step_error`), quoted: it may name no folder.
    writes_to : mapping of str to Path
        The folders the run writes under, by the environment variable that moves each (see
        :func:`space_needed_under`).
    """
    folders = " or ".join(dict.fromkeys(str(folder) for folder in writes_to.values()))
    return (
        f"{step} failed: no space left on a device the run writes to ({error}); free some under {folders} "
        f"(run.keep_runs prunes old run folders), or point {' or '.join(writes_to)} at a folder with room."
    )


def space_needed_under(*, simulated: bool) -> dict[str, Path]:
    """The folders a run writes under, by the environment variable that moves each: the output
    root, the data root when it simulates its telemetry, and the temporary folder, where CSV
    input is re-cut and DuckDB spills what exceeds its memory limit."""
    import tempfile

    folders = {"FEATUREHEALTH_OUTPUT_ROOT": config.output_root()}
    if simulated:
        folders["FEATUREHEALTH_DATA_ROOT"] = config.data_root()
    folders["TMPDIR"] = Path(tempfile.gettempdir())
    return folders


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """Turn the first of :data:`INTERRUPTING_SIGNALS` into :class:`RunInterrupted` in the main thread.

    Later signals are ignored, so that the run can stop its kernels and write its report.
    """
    received: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        if not received:
            received.append(signum)
            raise RunInterrupted(signum)

    with _interrupting_signals_handled_by(handler):
        yield


@contextlib.contextmanager
def _interrupting_signals_handled_by(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """Install ``handler`` for :data:`INTERRUPTING_SIGNALS`; restore the previous handlers after.

    A signal the run was started ignoring stays ignored: ``nohup ./run_all.sh`` ignores SIGHUP so
    that logging out does not stop the run, and a shell ignores SIGINT for a job it put in the
    background.
    """
    previous = {signum: signal.signal(signum, handler) for signum in INTERRUPTING_SIGNALS
                if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[list[int]]:
    """Hold back :data:`INTERRUPTING_SIGNALS` in the main thread: record them instead of stopping.

    Once a run publishes, its outcome is decided: a signal during the swap would undo a complete
    run, and one after it (while the last HTML copy is rendered, the run report written, old run
    folders pruned) would report "outputs unchanged" over published outputs. So is a failed run's:
    a signal while it stops its kernels and writes its report would leave kernels running and
    report an interruption instead of the error. Yields the numbers
    of the signals received, for the caller to mention; elsewhere than in the main thread,
    where no handler can be set, nothing is held back.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    with _interrupting_signals_handled_by(lambda signum, _frame: received.append(signum)):
        yield received


def remove_stale_staging(profile: str) -> list[Path]:
    """Remove the staging folders earlier runs of ``profile`` left behind (killed); hold the lock.

    Returns
    -------
    list of Path
        The folders removed.
    """
    own = re.compile(rf"{re.escape(profile)}-{config.RUN_ID_PATTERN}(\.old)?")
    staging_root = config.output_root() / ".staging"
    stale = [p for p in sorted(staging_root.iterdir()) if p.is_dir() and own.fullmatch(p.name)]
    for folder in stale:
        shutil.rmtree(folder)
    return stale


def remove_unfinished_journals(profile: str) -> list[Path]:
    """Remove the temporary copies of ``profile``'s publish journal that killed runs left; hold the lock.

    A run killed while writing its journal (:func:`runlog.replacing`) had swapped nothing yet:
    the temporary file alone is left over.

    Returns
    -------
    list of Path
        The files removed.
    """
    journal = config.publish_journal_path(profile)
    own = re.compile(rf"\.{re.escape(journal.name)}\.[a-z0-9_]{{8}}\.tmp")
    unfinished = [p for p in sorted(journal.parent.iterdir()) if p.is_file() and own.fullmatch(p.name)]
    for path in unfinished:
        path.unlink()
    return unfinished


def close_unfinished_runs(published: Path) -> list[tuple[str, str | None]]:
    """Write a report for every run folder of ``published`` that has none (the run was killed).

    A run killed after publishing gets the published report; any other gets a minimal report
    with status ``interrupted``. Hold the profile's lock.

    Returns
    -------
    list of (str, str or None)
        The id of each run given a report and the status that report holds.
    """
    current = runlog.read_json_if_present(published / "reports" / "run_report.json") or {}
    runs = published / "runs"
    closed = []
    for folder in config.run_folders(runs):
        if (folder / "run_report.json").exists():
            continue
        # The id begins with the start time: the run history shows when the killed run began.
        started = datetime.strptime(folder.name.partition("-")[0], config.RUN_ID_TIME).replace(tzinfo=UTC)
        report = current if current.get("run_id") == folder.name else {
            "run_id": folder.name,
            "profile": published.name,
            "started_at": started.isoformat(timespec="seconds"),
            "status": "interrupted",
            "error": "The run stopped without writing its report (killed, or the machine went down); "
            "it published nothing.",
        }
        runlog.write_json(folder / "run_report.json", report)
        closed.append((folder.name, report.get("status")))
    return closed


def recover_profile(profile: str, published: Path) -> list[str]:
    """Clean up after runs of ``profile`` that were killed; hold the lock. Returns one line per repair."""
    lines = []
    if recover_publish(config.publish_journal_path(profile)):
        lines.append(f"an interrupted publish to {published} was undone; the previous outputs are back")
    lines += [f"removed the staging folder {p} of a killed run" for p in remove_stale_staging(profile)]
    lines += [f"removed the unfinished publish journal {p} of a killed run"
              for p in remove_unfinished_journals(profile)]
    for run_id, status in close_unfinished_runs(published):
        # A run killed once it published is no interrupted run: the outputs in place are its own.
        lines.append(f"run {run_id} had no report: " + ("marked interrupted" if status == "interrupted" else
                     "it was killed once its outputs were published; given the published report"))
    return lines


def check_same_file_system(published: Path, staging_root: Path) -> None:
    """Raise :class:`RunFailed` if ``published`` is on another file system than ``staging_root``.

    A run publishes by renaming its staged folders into ``published``, which cannot cross file
    systems: with ``outputs/<profile>`` a symlink to another disk, every run would fail at its
    very end. Both folders must exist.
    """
    if os.stat(published).st_dev != os.stat(staging_root).st_dev:
        raise RunFailed(
            f"Output folder {published} is on another file system than {staging_root}, where runs stage "
            f"their outputs, so a run cannot publish into it; set FEATUREHEALTH_OUTPUT_ROOT to a folder "
            f"on the file system of {os.path.realpath(published)} instead of linking to it."
        )


class _CopyFailed(Exception):
    """The first error of a staging copy, carried past ``shutil.copytree``'s ``except OSError``.

    Left to itself, copytree goes on copying (onto a full disk, say) and then raises one
    ``shutil.Error`` listing every failure as text, without the errno that tells a full disk
    from a folder that is not writable.
    """

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _copy_or_stop(source: str, target: str, *, follow_symlinks: bool = True) -> str:
    try:
        return shutil.copy2(source, target, follow_symlinks=follow_symlinks)
    except OSError as exc:
        if os.path.islink(source) and not os.path.exists(source):
            # Its "No such file or directory" would read as an output folder that is not writable.
            raise RunFailed(f"{source} is a symbolic link to {os.readlink(source)}, which does not exist; "
                            f"restore its target or remove the link.") from None
        raise _CopyFailed(exc) from exc


def prepare_staging(published: Path, staging: Path) -> None:
    """Make ``staging`` a copy of the published outputs without run history or hand-over files.

    Raises
    ------
    OSError
        The first error of the copy (a full disk, a folder that is not writable), with its errno.
    RunFailed
        If a published entry is a symbolic link whose target does not exist.
    """
    if staging.exists():
        shutil.rmtree(staging)
    if published.is_dir():
        try:
            shutil.copytree(
                published, staging, ignore=shutil.ignore_patterns("runs", "work"), copy_function=_copy_or_stop
            )
        except _CopyFailed as failed:
            raise failed.error from None
    staging.mkdir(parents=True, exist_ok=True)
    # Step records describe one run only. reports/retrain.json is kept on purpose: the model step
    # of the next run reads the last drift advice (model.retrain: auto).
    shutil.rmtree(staging / "reports" / "steps", ignore_errors=True)


def trash_folder(staging: Path) -> Path:
    """Where :func:`publish` moves the old versions of the entries it replaces: ``<staging>.old``."""
    return staging.with_name(staging.name + ".old")


def publish(staging: Path, published: Path, journal: Path) -> None:
    """Move every top-level entry of ``staging`` (but hand-over files) over ``published``, all or nothing.

    Each entry is swapped with two renames on the same file system, so a reader sees either the
    old or the new version of a folder, never a half-written one. The plan is written to
    ``journal`` first: if a swap fails the swapped entries are put back (:func:`undo_publish`),
    and a publish killed half-way, or whose undo failed too (the swap's error is raised and the
    journal kept), is put back by the next run (:func:`recover_publish`). Once complete, the
    published ``work/`` (hand-over files of a notebook run by hand) is removed, as it no longer
    matches the published reports, and so is the write-ahead log of the replaced warehouse. The
    caller removes what is left: ``staging`` (hand-over files) and the old versions in
    ``<staging>.old``.
    """
    published.mkdir(parents=True, exist_ok=True)
    trash = trash_folder(staging)
    trash.mkdir(exist_ok=True)
    entries = sorted(e.name for e in staging.iterdir() if e.name not in ("work", "runs"))
    plan = {"staging": str(staging), "published": str(published), "trash": str(trash), "entries": entries}
    runlog.write_json(journal, plan)
    try:
        for name in entries:
            if os.path.lexists(published / name):
                (published / name).rename(trash / name)
            (staging / name).rename(published / name)
    except BaseException as failure:
        try:
            undo_publish(plan)
        except OSError:
            # The journal stays and the next run finishes the undo; the swap's error is the cause.
            raise failure from None
        journal.unlink()
        raise
    # The publish is complete once the journal is gone.
    journal.unlink()
    # A log that an analyst's read-write connection wrote beside the replaced warehouse after the
    # staging copy would stop DuckDB opening the new one ("WAL does not match database file"). Failing
    # to remove it must not report this complete publish as failed: the next run's rebuild removes it.
    with contextlib.suppress(OSError):
        warehouse.wal_file(published / config.WAREHOUSE_FILE).unlink(missing_ok=True)
    # Hand-over files a notebook run by hand left (01_ingest's work/) describe another ingest than
    # the reports just published: 02_aggregate run by hand would read them with this run's summary.
    shutil.rmtree(published / "work", ignore_errors=True)


def undo_publish(plan: dict[str, Any]) -> None:
    """Put back the entries a :func:`publish` with this ``plan`` had swapped, whatever step it stopped at.

    An entry no longer in staging was moved into the published folder (move it back); an entry in
    the trash is the old version moved aside (restore it). Entries never touched are left alone.
    """
    staging, published, trash = Path(plan["staging"]), Path(plan["published"]), Path(plan["trash"])
    for name in reversed(plan["entries"]):
        if not os.path.lexists(staging / name) and os.path.lexists(published / name):
            (published / name).rename(staging / name)
        if os.path.lexists(trash / name):
            (trash / name).rename(published / name)


def recover_publish(journal: Path) -> bool:
    """Undo the publish ``journal`` records if one was interrupted (process killed); True if there was one.

    Raises
    ------
    RunFailed
        If the journal cannot be read (its folder is not synced, so a machine that went down can
        leave it unreadable): which folders were swapped is unknown then, so nothing is moved and the
        journal is kept for the person who sorts the folders out.
    """
    if not journal.is_file():
        return False
    plan, problem = config.read_publish_journal(journal)
    if plan is None:
        profile = journal.name.removesuffix(".publish.json")
        raise RunFailed(
            f"The journal of an interrupted publish, {journal}, cannot be read ({problem}), so which outputs "
            f"the killed run swapped in is unknown: check {config.output_root() / profile} against the old "
            f"versions in {journal.parent}/{profile}-*.old, move back what belongs there, then delete {journal} "
            f"and run again."
        )
    undo_publish(plan)
    journal.unlink()
    return True


#: The run report lists the artifacts' hashes, so it cannot list its own.
RUN_REPORT = "reports/run_report.json"


def artifact_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative posix path -> hex), sorted; runs and the run report excluded."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (
            path.is_file()
            and relative.parts[0] not in ("runs", "work")
            and not path.name.startswith(".")
            and relative.as_posix() != RUN_REPORT
        ):
            hashes[relative.as_posix()] = runlog.sha256_file(path)
    return hashes


def file_fingerprints(root: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime in ns) of every file under ``root`` by relative posix path.

    A file a step rewrites since (atomically, or in place) has another fingerprint, which tells
    a run's own reports from those the staging copy inherited from the last good run.
    """
    prints = {}
    for path in root.rglob("*"):
        info = path.stat()
        if stat.S_ISREG(info.st_mode):
            prints[path.relative_to(root).as_posix()] = (info.st_ino, info.st_mtime_ns)
    return prints


def changed_files(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> set[str]:
    """Files of ``after`` that are new or have another fingerprint than in ``before``."""
    return {name for name, fingerprint in after.items() if before.get(name) != fingerprint}


def summarise_outputs(root: Path, *, only: set[str] | None = None) -> dict[str, Any]:
    """What the run report quotes from the steps' own reports (None where a report is absent).

    ``only`` (relative paths), if given, are the reports that may be read: a failed run quotes
    only the reports it wrote itself, not those its staging copy inherited.
    """

    def read(relative: str) -> Any:
        return None if only is not None and relative not in only else runlog.read_json_if_present(root / relative)

    quality = read("reports/data_quality.json")
    metrics = read("reports/metrics.json")
    drift = read("reports/data_drift.json")
    card = read("models/risk_model.card.json")
    # Why the model step trained nothing (the data could not train a model yet), if it did not.
    not_trained = (read("reports/steps/03_model.json") or {}).get("not_trained")
    ingest = read("reports/ingest_summary.json")
    return {
        "input_data_hash": (ingest or {}).get("input_data_hash"),
        "rows": None if ingest is None else {k: ingest.get(k) for k in ("rows_in", "rows_valid", "rows_quarantined")},
        # The days read: a daily run, a backfill and a re-run of one day are told apart only by these.
        "window": None
        if ingest is None
        else {"as_of": ingest.get("as_of"), "start": ingest.get("window_start"), "end": ingest.get("window_end"),
              "drop_before": ingest.get("drop_before") or None, "dropped_days": ingest.get("dropped_days")},
        "quality": (quality or {}).get("summary"),
        "model": None
        if card is None and not not_trained
        else {"version": (card or {}).get("version"), "metrics": (metrics or {}).get("model"), "not_trained": not_trained},
        "drift": None
        if drift is None
        else {"summary": drift.get("summary"), "alerts": drift.get("alerts")},
        "retrain": read("reports/retrain.json"),
    }


#: Drift alerts named on the console line before "and N more".
OUTCOME_ALERTS_SHOWN = 3


def encodable_text(text: str, *, encoding: str | None) -> str:
    r"""``text`` with the characters ``encoding`` cannot write as backslash escapes.

    A scheduler's locale need not be UTF-8 (``LANG=en_US.ISO-8859-1``), and standard output then
    takes only its characters: a feature named in another script must not stop a published run
    with a ``UnicodeEncodeError``.

    >>> encodable_text("F006 設定 Réglages", encoding="latin-1")
    'F006 \\u8a2d\\u5b9a Réglages'
    """
    if not encoding:
        return text
    return text.encode(encoding, "backslashreplace").decode(encoding)


#: Flagged features the console's risk line names before "and N more".
OUTCOME_AT_RISK_SHOWN = 3


def _risk_line(ranking: Path) -> str | None:
    """Features per risk bucket on the scored day and, by impact, the flagged ones (medium or high),
    else the one with the highest impact, from ``risk_ranking.csv``.

    The flagged ones, not simply the top of the ranking: impact is risk times users, so a large
    feature at low risk can lead it, and cron mail should name the features to look at.
    """
    import csv

    try:
        with ranking.open(newline="", encoding="utf-8") as handle:
            rows = [{k: display.csv_text(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return "risk: no feature was scored on the latest day"
    buckets = [row.get("risk_bucket") for row in rows]
    flagged = [row for row in rows if row.get("risk_bucket") in ("medium", "high")]  # the ranking is sorted by impact
    try:
        if flagged:
            found = "at risk, by impact: " + display.listed(
                [_risk_feature(row) for row in flagged[:OUTCOME_AT_RISK_SHOWN]], total=len(flagged))
        else:
            found = f"highest impact: {_risk_feature(rows[0])}"
    except (KeyError, TypeError, ValueError):
        return None
    return (f"risk on {rows[0].get('date')}: {buckets.count('high')} high, {buckets.count('medium')} medium "
            f"of {len(rows)} features scored ({found})")


def _risk_feature(row: Mapping[str, Any]) -> str:
    """"F006 Profile medium 0.409": a ranking row's id, name, bucket and risk for the console."""
    probability = f"{float(row['risk_probability']):.3f}"
    # A feature missing from the metadata has its id as name: print it once.
    named = row.get("feature_name") and row.get("feature_name") != row.get("feature_id")
    name = f" {display.visible_text(row['feature_name'], one_line=True)}" if named else ""
    return f"{display.visible_text(row.get('feature_id'), one_line=True)}{name} {row.get('risk_bucket')} {probability}"


def _drift_line(drift: dict[str, Any] | None, advice: dict[str, Any] | None) -> str | None:
    """Drift cells per status, the alerting ones by name, and the retraining advice."""
    drift = drift if isinstance(drift, dict) else {}
    summary = drift.get("summary")
    parts = []
    if isinstance(summary, dict) and summary.get("n_cells") is not None:
        alerts = [display.visible_text(f"{a.get('feature_id')} {a.get('metric')}", one_line=True)
                  for a in drift.get("alerts") or [] if isinstance(a, dict)]
        named = display.listed(alerts[:OUTCOME_ALERTS_SHOWN], total=len(alerts))
        # Without it, "0 alert of 72 cells" reads as all clear when the windows were too short to judge any.
        insufficient = summary.get("n_insufficient")
        parts.append(f"drift: {summary.get('n_alert', 0)} alert, {summary.get('n_warn', 0)} warn of "
                     f"{summary['n_cells']} feature x metric cells" + (f" (alert: {named})" if alerts else "")
                     + (f", {insufficient} with too little data to judge" if insufficient else ""))
    if isinstance(advice, dict):
        reasons = advice.get("reasons") or []
        # A withheld advice says what fired, as retrain.json and the dashboard do: alone, "not advised"
        # beside a quarter of the cells alerting reads as if nothing had.
        parts.append(f"retraining advised: {'; '.join(reasons)}" if advice.get("retrain_recommended")
                     else f"retraining not advised{display.withheld_text(advice).rstrip('.')}")
    return "; ".join(parts) or None


def outcome_lines(root: Path) -> list[str]:
    """What a succeeded run publishes from ``root``, for the console and cron mail: features per
    risk bucket on the scored day, the model version trained and whether it replaced the model in
    use (only when the run trained one), or why it trained none (the data could not train one yet, or
    the model in use was kept), drift alerts and the retraining advice (a report that is missing or
    unreadable gives no line).
    """
    reports = root / "reports"
    lines = [_dropped_line(runlog.read_json_if_present(reports / "ingest_summary.json")),
             _risk_line(reports / "risk_ranking.csv"),
             _model_line(runlog.read_json_if_present(reports / "promotion.json"))
             or _untrained_line(runlog.read_json_if_present(reports / "steps" / "03_model.json")),
             _drift_line(runlog.read_json_if_present(reports / "data_drift.json"),
                         runlog.read_json_if_present(reports / "retrain.json"))]
    return [line for line in lines if line]


#: Dropped days the console's line names before "and N more".
OUTCOME_DROPPED_SHOWN = 3


def _dropped_line(summary: dict[str, Any] | None) -> str | None:
    """The published days ``ingest.drop_before`` removed, if it was set: a drop must not pass unseen."""
    if not isinstance(summary, dict) or not summary.get("drop_before"):
        return None
    days = [str(d) for d in summary.get("dropped_days") or []]
    before = f"published day{'s' if len(days) > 1 else ''} before {summary['drop_before']} (ingest.drop_before)"
    if not days:
        return f"dropped: no {before}"
    return f"dropped: {len(days)} {before}: {display.listed(days[:OUTCOME_DROPPED_SHOWN], total=len(days))}"


def _model_line(promotion: dict[str, Any] | None) -> str | None:
    """The version the run trained and the holdout comparison's verdict (promoted, or kept the model in use), or
    the version ``model.use_version`` put in use."""
    if not isinstance(promotion, dict) or not promotion.get("version"):
        return None  # the run scored with the model in use (no promotion.json) or the report is unreadable
    reason = str(promotion.get("reason") or "").rstrip(".")
    if "by_hand" in promotion:  # model.use_version: put in use, or already in use
        named = f"{promotion['version']} " if promotion["by_hand"] else ""
        return display.visible_text(f"model: {named}{reason} (nothing trained)", one_line=True)
    return display.visible_text(f"model: trained {promotion['version']}; {reason}", one_line=True)


def _untrained_line(step: dict[str, Any] | None) -> str | None:
    """Why the model step trained nothing, if it did not: the data could not train a model yet, and what
    scores instead, or the model in use was kept (``kept``: why, in a few words)."""
    if not isinstance(step, dict):
        return None
    version = step.get("model_version")
    if step.get("kept") and version:
        return display.visible_text(f"model: kept {version} ({str(step['kept']).rstrip('.')})", one_line=True)
    if not step.get("not_trained"):
        return None
    line = display.not_trained_text(str(step["not_trained"]), version=version).rstrip(".")
    return display.visible_text(f"model: {line}", one_line=True)


_THREAD = threading.local()
#: Serialises the progress lines of the run, heartbeat and HTML threads (see _print_while_read).
_PRINT_LOCK = threading.Lock()


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


#: Prefix of a runner process's kernel-socket folder in the temporary directory.
SOCKET_FOLDER_PREFIX = "featurehealth-kernels-"
#: File in that folder naming the process that owns it (:func:`_process_token`).
SOCKET_FOLDER_OWNER = "owner.pid"
#: A folder without an owner file younger than this may be one being created right now.
_UNOWNED_FOLDER_GRACE_S = 24 * 3600
#: Room a kernel's socket paths take under the temporary directory:
#: ``/<prefix><8 characters>/<notebook stem>-<8 characters>/kernel-<port>``.
_KERNEL_SOCKET_ROOM = len(f"/{SOCKET_FOLDER_PREFIX}12345678") + 40


def _process_token(pid: int) -> str:
    """``"<pid> <start time>"`` (start time in clock ticks since boot, from /proc), or ``"<pid>"`` without /proc.

    The start time tells a live owner from another process that later got the same pid.
    """
    try:
        # The command name (field 2) may hold spaces; fields after its closing parenthesis do not.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return f"{pid} {fields[19]}"
    except (OSError, IndexError):
        return str(pid)


def _owner_alive(token: str) -> bool:
    """Whether the process an owner file names (:func:`_process_token`) still runs."""
    parts = token.split()
    if not parts or not parts[0].isdigit():
        return False
    pid = int(parts[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return len(parts) < 2 or _process_token(pid) in (token.strip(), str(pid))


def remove_stale_socket_folders(parent: Path) -> list[Path]:
    """Remove the kernel-socket folders in ``parent`` whose runner process is gone; return them.

    A run killed outright (``kill -9``) cannot remove its folder (sockets and kernel connection
    files) on exit, so each run removes those of dead runs. A live run's folder is never removed:
    one whose owner still runs, or one without an owner named (no owner file, or an empty one)
    younger than a day (a folder being created, or one of a run of a version that wrote none).
    """
    removed = []
    for folder in sorted(parent.glob(f"{SOCKET_FOLDER_PREFIX}*")):
        try:
            if not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
                continue
            owner = folder / SOCKET_FOLDER_OWNER
            token = owner.read_text() if owner.is_file() else ""
            if token.strip():
                if _owner_alive(token):
                    continue
            # No owner named yet: an empty file is one its run is writing right now.
            elif time.time() - folder.stat().st_mtime < _UNOWNED_FOLDER_GRACE_S:
                continue
        except OSError:
            continue  # vanished meanwhile (its owner exited), or not ours to judge
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def make_socket_folder(*, parent: Path | None = None) -> Path:
    """A new private folder (mode 0700) for this process's kernel sockets, its owner recorded.

    The stale folders of killed runs in ``parent`` (by default the temporary directory, or
    ``/tmp`` where socket paths would be too long: :func:`featurehealth.config.socket_parent`)
    are removed first (:func:`remove_stale_socket_folders`).
    """
    import tempfile

    parent = Path(parent or config.socket_parent(Path(tempfile.gettempdir()), room=_KERNEL_SOCKET_ROOM))
    remove_stale_socket_folders(parent)
    folder = Path(tempfile.mkdtemp(prefix=SOCKET_FOLDER_PREFIX, dir=parent))
    # Written aside and renamed, so another run never reads a partial owner.
    (folder / f"{SOCKET_FOLDER_OWNER}.tmp").write_text(_process_token(os.getpid()))
    os.replace(folder / f"{SOCKET_FOLDER_OWNER}.tmp", folder / SOCKET_FOLDER_OWNER)
    return folder


@functools.cache
def _socket_folder() -> Path:
    """This process's kernel-socket folder (:func:`make_socket_folder`), removed when it exits."""
    import atexit

    folder = make_socket_folder()
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def kernel_environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with the output and data roots pinned as absolute paths, for a notebook's kernel.

    A kernel starts in ``notebooks/``, not in the folder ``run_all.sh`` was started from: a
    relative ``FEATUREHEALTH_DATA_ROOT`` (or ``FEATUREHEALTH_OUTPUT_ROOT``) would name another
    folder there, and the simulator would write its telemetry under ``notebooks/``.
    """
    return {
        **base,
        "FEATUREHEALTH_OUTPUT_ROOT": str(config.output_root()),
        "FEATUREHEALTH_DATA_ROOT": str(config.data_root()),
    }


def launch_kernel(notebook: Path) -> Any:
    """Launch a fresh kernel for ``notebook`` in its folder, importing the notebook's modules as it boots.

    The modules are :func:`notebook_imports` and the notebook's :data:`LAZY_IMPORTS`.

    Returns as soon as the process is started (a ``jupyter_client`` AsyncKernelManager), so the
    kernel boots while earlier notebooks run.
    """
    import tempfile

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    # An expression returning None: no output, no name bound, execution count untouched.
    modules = [*notebook_imports(notebook), *LAZY_IMPORTS.get(notebook.name, ())]
    preload = f"__import__('featurehealth.runner').runner.preload_modules({modules!r})"
    # Unix sockets in a folder only this user can open: no TCP port for other local users to reach.
    # One folder per kernel: socket names are numbered per folder, and kernels start side by side.
    sockets = tempfile.mkdtemp(prefix=f"{notebook.stem}-", dir=_socket_folder())
    manager = AsyncKernelManager(
        kernel_name=KERNEL_NAME, transport="ipc", ip=str(Path(sockets) / "kernel"),
        # Beside the sockets (not a tempfile in /tmp), so removing the folder removes it too.
        connection_file=str(Path(sockets) / "kernel.json"),
    )
    try:
        run_sync(manager.start_kernel)(
            cwd=str(notebook.parent),
            env=kernel_environment(os.environ),
            # History in memory, as nbclient sets for the kernels it starts itself.
            extra_arguments=["--HistoryManager.hist_file=:memory:", f"--IPKernelApp.exec_lines={preload}"],
        )
    except BaseException:
        # A signal (or a failure) once its process started: the caller never gets it to stop.
        with contextlib.suppress(Exception):
            stop_kernel(manager)
        raise
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

    class InterruptibleClient(PapermillNotebookClient):
        def papermill_execute_cells(self) -> None:
            try:
                super().papermill_execute_cells()
            except BaseException as stop:
                # A signal, not a cell's error: the cell unwinds before the client kills the kernel.
                if not isinstance(stop, Exception):
                    _cancel_abandoned_tasks(kernel=self.km)
                raise

    class LaunchedKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man: Any, kernel_name: str, *, km: Any, input_path: Any = None, start_timeout: int = 60,
            **options: Any,
        ) -> Any:
            client = InterruptibleClient(
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


class Heartbeat:
    """Prints "still running" every ``interval`` seconds while a step runs, naming its current cell
    and the last line that cell printed.

    ``started`` is the step's start (``time.perf_counter()``); ``cell_started`` is the nbclient
    ``on_cell_start`` hook; ``write`` and ``flush`` make it papermill's ``stdout_file`` and
    ``stderr_file``, which receive the kernel's stream output as it arrives. The lines come from a
    daemon thread, so a quick step prints none.
    """

    def __init__(
        self, step: str, *, progress: Callable[[str], None], started: float, interval: float = HEARTBEAT_SECONDS
    ) -> None:
        self.step, self.progress, self.started, self.interval = step, progress, started, interval
        # (cell, its last printed line), replaced whole: a beat never pairs a new cell with the old one's line.
        self._now = ("", "")
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{step}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopped.set()
        self._thread.join()

    def cell_started(self, cell: Any, cell_index: int, **_: Any) -> None:
        """Remember the cell now running: its number and its first line of code."""
        code = next((line.strip() for line in str(cell.source).splitlines()
                     if line.strip() and not line.lstrip().startswith("#")), "")
        self._now = (f"cell {cell_index + 1}: {code[:60]}{'...' if len(code) > 60 else ''}", "")

    def write(self, text: str) -> int:
        """Remember the last non-blank line of ``text`` (kernel output), cut to 100 characters."""
        # A progress bar redraws its line after a carriage return: the last drawing is the latest.
        line = next((part.strip() for part in reversed(text.replace("\r", "\n").split("\n")) if part.strip()), "")
        if line:
            self._now = (self._now[0], f"{line[:100]}{'...' if len(line) > 100 else ''}")
        return len(text)

    @property
    def cell(self) -> str:
        """The running cell's number and first line of code ("" before the first cell)."""
        return self._now[0]

    @property
    def printed(self) -> str:
        """The running cell's last printed line ("" until it prints)."""
        return self._now[1]

    def flush(self) -> None:
        """Nothing to flush: the line is read at the next beat."""

    def _beat(self) -> None:
        while not self._stopped.wait(self.interval):
            elapsed = time.perf_counter() - self.started
            cell, printed = self._now
            where = "; ".join(filter(None, (cell, printed and f"last printed: {printed}")))
            self.progress(f"  {self.step} still running after {elapsed:.0f}s" + (f" ({where})" if where else ""))


def _execute(
    notebook: Path, executed: Path, parameters: dict[str, Any], *, kernel: Any, heartbeat: Heartbeat,
) -> None:
    import logging

    import papermill

    # The runner checks parameters itself (plan_parameters); papermill's own parser misreads
    # comments holding quotes and would print misleading "unknown parameter" warnings. It also
    # reports a step's error itself, in one line: nbclient's own ("Kernel died while waiting for
    # execute reply.") would add another.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)

    papermill.execute_notebook(
        str(notebook),
        str(executed),
        parameters=parameters,
        engine_name=_register_engine(),
        kernel_name=KERNEL_NAME,
        progress_bar=False,
        km=kernel,
        # The kernel's stream output goes to the heartbeat, which shows its last line, never to the terminal.
        on_cell_start=heartbeat.cell_started,
        stdout_file=heartbeat,
        stderr_file=heartbeat,
    )


def _step_error(exc: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}".strip()
    return f"{type(exc).__name__}: {exc}".strip()


def named_as_published(text: str, *, staging: Path) -> str:
    """``text`` (an error) with the run's ``staging`` folder named as the published folder it copies.

    A library's error about a file the run inherited (a damaged fact table, say) names its
    staging copy, which is removed when the run ends; the published file is the one to look at
    and fix (:func:`config.published_path`).
    """
    return text.replace(str(staging), str(config.published_path(staging)))


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
    RunBusy
        If another run of ``profile`` is in progress (nothing is run).
    RunFailed
        If a notebook fails, the output folder is not writable or publishing fails; the last
        published outputs are in place and the failed run's report (with the reports it wrote)
        is under ``runs/<run_id>/``.
    RunInterrupted
        If a signal stopped the run (see :func:`interrupts_raise`; KeyboardInterrupt becomes
        this too); as for RunFailed, with status ``interrupted``. A signal arriving once the
        run publishes lets it finish, and one arriving once it failed lets it stop as failed
        (:func:`interrupts_deferred`).
    """
    overrides = list(overrides)  # read twice: a generator would give the report none
    params = config.load_run_params(profile, overrides=overrides)
    run_options = params["run"]
    digest = config.params_hash(params)
    notebook_paths = _notebook_paths(notebooks)
    published = config.output_root() / profile
    run_id = unused_run_id(published / "runs", digest)
    staging = config.output_root() / ".staging" / f"{profile}-{run_id}"
    run_dir = published / "runs" / run_id
    # The run's wall time counts from here, beside started_at: the staging copy, stopping the
    # kernels and the checks between steps lie outside the steps' own clocks.
    clock = time.perf_counter()
    report = _new_report(run_id, profile=profile, digest=digest, overrides=overrides, params=params)
    plan = plan_parameters(
        params, notebook_paths, profile=profile, output_dir=str(staging),
        rerun=config.rerun_overrides(config.load_profile(profile), params),
    )

    journal = config.publish_journal_path(profile)
    # Signals held back once the outcome is decided, from the publish or the failure on (see
    # interrupts_deferred), until the run's last line.
    held: list[int] = []
    with contextlib.ExitStack() as decided, profile_lock(profile), ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="html", initializer=_lower_priority
    ) as renderer:
        # Set once staging holds the copy of the last good outputs.
        inherited: dict[str, tuple[int, int]] | None = None
        try:
            _prepare_folders(profile, published=published, staging=staging, run_dir=run_dir, progress=progress)
            inherited = file_fingerprints(staging)
            progress(f"run {run_id}: profile '{profile}', {len(notebook_paths)} notebooks -> {published}")
            run_steps = functools.partial(
                _run_steps, staging=staging, run_dir=run_dir, report=report, progress=progress,
                render=(functools.partial(renderer.submit, _render_or_report, progress=progress)
                        if run_options["html"] else None),
                writes_to=space_needed_under(simulated=(params.get("ingest") or {}).get("source") == "simulated"),
            )
            run_steps([(p, plan[p.name]) for p in notebook_paths])
            advice = runlog.read_json_if_present(staging / "reports" / "retrain.json") or {}
            rerun = _drift_rerun(plan, advice=advice, params=params, report=report)
            if rerun is not None:
                again, announcement = rerun
                # Said now: the retraining's drift step replaces the advice, and with it the reasons.
                progress(announcement)
                run_steps(again, suffix="_retrain")
            _progress_quality(staging, changed_files(inherited, file_fingerprints(staging)), progress)
            _write_succeeded_report(report, staging, started=clock)
            held = decided.enter_context(interrupts_deferred())
            _publish_or_fail(staging, published, journal=journal, profile=profile)
        except BaseException as stop:
            # Its outcome is decided, as once it publishes: a signal now must not cut its report
            # short nor replace its error.
            decided.enter_context(interrupts_deferred())
            _close_stopped_run(stop, report, staging=staging, run_dir=run_dir, inherited=inherited, progress=progress,
                               started=clock)
            error = _stop_error(stop, run_dir=run_dir if run_dir.is_dir() else None)
            if error is None:
                raise  # A bug: its traceback is wanted.
            raise error from None
        finally:
            _leave_staging(report, staging=staging, run_dir=run_dir, journal=journal)
        _close_published_run(published, report=report, run_dir=run_dir, keep_runs=run_options["keep_runs"],
                             progress=progress)
        # The last HTML copies here, not on leaving the executor, so that the closing lines come
        # while signals are still held back: one raised as they print would call a published run interrupted.
        renderer.shutdown(wait=True)
        if held:
            progress(f"{signal.Signals(held[0]).name} arrived while the run was publishing; it finished first")
        progress(f"run {run_id}: succeeded in {report['duration_s']:.1f}s; outputs in {published}")
    return report


def _notebook_paths(notebooks: Iterable[str] | None) -> list[Path]:
    """The paths of the run's notebooks (default the whole pipeline), or RunFailed naming the first missing."""
    notebook_paths = [config.NOTEBOOKS_DIR / name for name in notebooks or config.PIPELINE_NOTEBOOKS]
    missing = [str(p) for p in notebook_paths if not p.is_file()]
    if missing:
        raise RunFailed(f"Notebook {missing[0]} does not exist; restore it from git.")
    return notebook_paths


def _new_report(
    run_id: str, *, profile: str, digest: str, overrides: list[str], params: dict[str, Any]
) -> dict[str, Any]:
    """The report of a run just started, before any step."""
    return {
        "run_id": run_id,
        "profile": profile,
        "params_hash": digest,
        "overrides": overrides,
        "params": params,
        "code_version": code_version(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "running",
        "steps": [],
    }


def _prepare_folders(
    profile: str, *, published: Path, staging: Path, run_dir: Path, progress: Callable[[str], None]
) -> None:
    """Undo what an earlier run left, make the run folder and copy the last good outputs into staging."""
    try:
        for line in recover_profile(profile, published):
            progress(line)
        run_dir.mkdir(parents=True, exist_ok=True)
        check_same_file_system(published, staging.parent)
        prepare_staging(published, staging)
    except OSError as exc:
        raise not_writable(exc) from None


def _drift_rerun(
    plan: dict[str, dict[str, Any]], *, advice: dict[str, Any], params: dict[str, Any], report: dict[str, Any]
) -> tuple[list[tuple[Path, dict[str, Any]]], str] | None:
    """The steps to run again for drift's advice to retrain and the line announcing them (None: no retraining)."""
    if "03_model.ipynb" not in plan or not _retrain_advised(advice, params, params["run"], report):
        return None
    again = retrain_steps(plan, model=params["model"])
    reasons = advice.get("reasons")
    why = f" ({'; '.join(map(str, reasons))})" if isinstance(reasons, list) and reasons else ""
    return again, (f"drift recommends retraining{why}: re-running {' and '.join(p.stem for p, _ in again)} "
                   f"with retrain=always")


def _write_succeeded_report(report: dict[str, Any], staging: Path, *, started: float) -> None:
    """Mark ``report`` succeeded and write it into staging, to be published with the outputs."""
    # The published copy of the report says "succeeded" only once the publish is complete:
    # it is swapped in with the other outputs, or not at all.
    report["status"] = "succeeded"
    _finish_report(report, staging, started=started)
    try:
        runlog.write_json(staging / RUN_REPORT, report)
    except OSError as exc:
        # A disk that fills up after the last step: one sentence, not a traceback.
        raise not_writable(exc) from None


def _publish_or_fail(staging: Path, published: Path, *, journal: Path, profile: str) -> None:
    """Publish ``staging`` as ``published``, or RunFailed saying whether the previous outputs are in place."""
    try:
        publish(staging, published, journal)
    except OSError as exc:
        # A journal left behind is a swap publish could not undo.
        back = (f"putting the previous outputs back failed too; the next run of profile '{profile}' puts them "
                "back" if journal.exists() else "the previous outputs are kept")
        raise RunFailed(f"Publishing to {published} failed: {exc.strerror or exc}: {exc.filename}; {back}.") from None


def _stop_error(stop: BaseException, *, run_dir: Path | None) -> RunFailed | RunInterrupted | None:
    """The error a stopped run raises, naming its run folder (None: a bug, raised as it is)."""
    if isinstance(stop, RunFailed):
        return type(stop)(str(stop), run_dir=run_dir)
    if isinstance(stop, (RunInterrupted, KeyboardInterrupt)):
        return RunInterrupted(getattr(stop, "signum", signal.SIGINT), run_dir=run_dir)
    return None


def _leave_staging(report: dict[str, Any], *, staging: Path, run_dir: Path, journal: Path) -> None:
    """Remove the staging copy, and make sure a stopped run's folder keeps its report."""
    # A publish whose undo failed leaves its journal and folders for the next run to undo.
    if not journal.exists():
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(trash_folder(staging), ignore_errors=True)
    if report["status"] in ("failed", "interrupted") and not (run_dir / "run_report.json").exists():
        # A full disk refused it beside the staging copy, now removed: without it the next
        # run would record this run as killed and lose why it stopped.
        with contextlib.suppress(OSError):
            runlog.write_json(run_dir / "run_report.json", report)


def _close_published_run(
    published: Path, *, report: dict[str, Any], run_dir: Path, keep_runs: int, progress: Callable[[str], None]
) -> None:
    """Show the published outputs' verdict, write the run's report into its folder and prune old run folders."""
    # Only once published: a run whose publish fails keeps the previous outputs, which this verdict is not about.
    for line in outcome_lines(published):
        progress(line)
    try:
        runlog.write_json(run_dir / "run_report.json", report)
    except OSError as exc:
        # The outputs are published: a traceback and exit 1 would say otherwise. The next run
        # gives this run folder the published report (close_unfinished_runs).
        progress(f"run report not written to {run_dir}: {exc.strerror or exc}; "
                 "the next run copies the published one there")
    removed, failed = prune_runs(published / "runs", keep=keep_runs, current=report["run_id"])
    if removed:
        progress(f"removed {display.count_text(len(removed), 'old run folder')} "
                 f"beyond run.keep_runs={keep_runs}")
    if failed:
        progress(f"could not remove {display.count_text(len(failed), 'old run folder')} under {published / 'runs'} "
                 f"(first: {failed[0]}); remove {'it' if len(failed) == 1 else 'them'} by hand")


def _progress_quality(staging: Path, written: set[str], progress: Callable[[str], None]) -> None:
    """Show the data-quality line if the run wrote a quality report (so cron mail shows a FAIL that did not stop it)."""
    if "reports/data_quality.json" in written:
        line = display.quality_lines(runlog.read_json_if_present(staging / "reports" / "data_quality.json"))
        if line:
            progress(line)


def _close_stopped_run(
    stop: BaseException,
    report: dict[str, Any],
    *,
    staging: Path,
    run_dir: Path,
    inherited: dict[str, tuple[int, int]] | None,
    progress: Callable[[str], None],
    started: float,
) -> None:
    """Write the report of a failed or interrupted run, with the reports it wrote, into its run folder.

    It quotes only what the run itself wrote (nothing its staging copy inherited) and lists no
    artifacts, since it published nothing. Writing is best effort: the run's own error matters more.
    ``report`` (the run's own) is completed in place. ``started`` is the run's start
    (``time.perf_counter()``), for its ``duration_s``.
    """
    interrupted = isinstance(stop, (RunInterrupted, KeyboardInterrupt))
    # A run stopped while publishing has shown its quality line already.
    show_quality = not interrupted and report["status"] == "running"
    report["status"] = "interrupted" if interrupted else "failed"
    if isinstance(stop, KeyboardInterrupt):
        report["error"] = "interrupted by SIGINT"
    else:
        report["error"] = str(stop) if isinstance(stop, (RunFailed, RunInterrupted)) else _step_error(stop)
    written: set[str] = set()
    with contextlib.suppress(OSError):
        if inherited is not None:
            written = changed_files(inherited, file_fingerprints(staging)) - {RUN_REPORT}
    if show_quality:
        _progress_quality(staging, written, progress)
    _finish_report(report, staging, written=written, started=started)
    with contextlib.suppress(OSError):
        for relative in sorted(written):
            # The steps' reports (quality, ingest summary...) tell why the run failed.
            if relative.startswith("reports/") and relative.count("/") == 1 and relative.endswith(".json"):
                (run_dir / "reports").mkdir(parents=True, exist_ok=True)
                shutil.copy2(staging / relative, run_dir / relative)
        runlog.write_json(run_dir / "run_report.json", report)


def _retrain_advised(
    advice: dict[str, Any], params: dict[str, Any], run_options: dict[str, Any], report: dict[str, Any]
) -> bool:
    """Whether drift advised retraining (``advice``, the run's ``reports/retrain.json``), the profile lets
    the runner act, and no model was just trained."""
    trained_now = any(s.get("step") == "03_model" and s.get("trained") for s in report["steps"])
    return bool(
        advice.get("retrain_recommended")
        and params["model"]["retrain"] == "auto"
        # Retraining would replace the version put in use by hand in this very run.
        and not params["model"].get("use_version")
        and run_options["retrain_on_drift"]
        and not trained_now
    )


def retrain_steps(
    plan: dict[str, dict[str, Any]], *, model: dict[str, Any]
) -> list[tuple[Path, dict[str, Any]]]:
    """The steps a run executes again when drift advises retraining (``run.retrain_on_drift``).

    ``03_model`` with ``model.retrain`` set to ``always``, then ``04_drift`` if the run has it,
    so the published drift report, baseline and retraining advice describe the model in use
    after the retraining (its training window as reference, its scores), not the model it
    replaced: advice to retrain a model that was just replaced would stay published until the
    next run.

    Parameters
    ----------
    plan : dict
        Notebook file name -> its parameters (:func:`plan_parameters`); must hold ``03_model.ipynb``.
    model : dict
        The run's resolved ``model`` group.

    Returns
    -------
    list of (Path, dict)
        Notebook path and parameters of each step, in order; ``plan`` is not changed.
    """
    retrain = {**plan["03_model.ipynb"], "model": {**model, "retrain": "always"}}
    steps = [(config.NOTEBOOKS_DIR / "03_model.ipynb", retrain)]
    if "04_drift.ipynb" in plan:
        steps.append((config.NOTEBOOKS_DIR / "04_drift.ipynb", dict(plan["04_drift.ipynb"])))
    return steps


def _run_steps(
    steps: list[tuple[Path, dict[str, Any]]],
    *,
    staging: Path,
    run_dir: Path,
    report: dict[str, Any],
    progress: Callable[[str], None],
    render: Callable[[Path], Any] | None,
    suffix: str = "",
    writes_to: Mapping[str, Path],
) -> None:
    """Execute ``steps`` in order, each on its own kernel, launched while earlier steps run.

    ``render`` (None: no HTML) is handed each executed notebook, failed ones included, but for
    a step a full disk stopped; ``writes_to`` (the folders the run writes under,
    :func:`space_needed_under`) are named in its failure (:func:`no_space_failure`).
    Each step's entry is appended to ``report["steps"]`` (the run's own report) as the step starts.
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
                with Heartbeat(step, progress=progress, started=started) as heartbeat:
                    _execute(notebook, executed, parameters, kernel=kernels[index], heartbeat=heartbeat)
            except Exception as exc:  # noqa: BLE001 - every failure becomes one reported line
                entry.update(status="failed", duration_s=round(time.perf_counter() - started, 3))
                entry["error"] = named_as_published(_step_error(exc), staging=staging)
                if is_disk_full(exc):
                    # No room for an HTML copy, and the executed notebook may be cut short: its
                    # rendering would only add a misleading "Notebook does not appear to be JSON".
                    raise RunFailed(no_space_failure(notebook.name, entry["error"], writes_to=writes_to)) from None
                if render and executed.is_file():
                    render(executed)
                raise RunFailed(f"{notebook.name} failed: {entry['error']}") from None
            except BaseException:
                entry.update(status="interrupted", duration_s=round(time.perf_counter() - started, 3))
                _cancel_abandoned_tasks()
                raise
            facts = runlog.read_json_if_present(staging / "reports" / "steps" / f"{notebook.stem}.json") or {}
            entry.update(status="succeeded", duration_s=round(time.perf_counter() - started, 3), **facts)
            if render:
                render(executed)
            rows = ", ".join(f"{k}={v}" for k, v in facts.items() if k.startswith("rows"))
            progress(f"  {step} ok in {entry['duration_s']:.1f}s{' (' + rows + ')' if rows else ''}")
    except BaseException:
        # The run stops, failed or interrupted: a signal arriving now must neither leave kernels
        # running nor turn a failure into an interruption.
        with interrupts_deferred():
            for kernel in kernels:
                stop_kernel(kernel)
        raise
    for kernel in kernels:
        stop_kernel(kernel)


#: Seconds the cell an interrupt stopped the run in has to unwind before its kernel is killed.
INTERRUPT_GRACE_S = 5


def _cancel_abandoned_tasks(*, kernel: Any = None, grace: float = INTERRUPT_GRACE_S, timeout: float = 5) -> None:
    """Cancel the tasks an interrupt left pending on this thread's event loop (the cell being run).

    Left alone, they would resume when the kernels are stopped and print a traceback ("Task
    exception was never retrieved: DeadKernelError") as the process exits. Given the ``kernel``
    running that cell, it first interrupts it (SIGINT: the cell raises KeyboardInterrupt) and
    waits up to ``grace`` seconds for the cell to end: killed at once, the kernel would never run
    the cell's ``with`` blocks, which remove its temporary folders and close its DuckDB session
    and Dask cluster.
    """
    import asyncio

    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    pid = getattr(getattr(kernel, "provisioner", None), "pid", None)
    if pending and pid:
        # The kernel alone, not its process group: the Dask workers it started are closed by the
        # cell (engine.open_engine), and a worker still booting would print a KeyboardInterrupt.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        loop.run_until_complete(asyncio.wait(pending, timeout=grace))
    for task in pending:
        task.cancel()
    if pending:
        done, _ = loop.run_until_complete(asyncio.wait(pending, timeout=timeout))
        for task in done:
            if not task.cancelled():
                task.exception()


def _finish_report(report: dict[str, Any], staging: Path, *, started: float, written: set[str] | None = None) -> None:
    """Complete ``report`` from ``staging``: all of it for a run that publishes, else only ``written``.

    ``duration_s`` is the run's wall time from ``started`` (``time.perf_counter()`` at its start)
    to now, not the sum of its steps' ``duration_s``, which leaves out the recovery of a killed
    run, the staging copy, stopping the kernels and the checks between and after the steps.
    """
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["duration_s"] = round(time.perf_counter() - started, 3)
    report.update(summarise_outputs(staging, only=written))
    report["artifacts"] = artifact_hashes(staging) if written is None else None


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code.

    0 succeeded, 1 (:data:`EXIT_FAILED`) the run failed, 2 (:data:`EXIT_USAGE`) bad usage or
    profile, 3 (:data:`EXIT_QUALITY_FAILED`) the run succeeded and published its outputs but a
    data-quality check failed (one not in ``quality.stop_on_fail``, such as ``missing_days`` for
    a day without rows), 75 (:data:`EXIT_BUSY`) another run of the profile is in progress, 128 +
    the signal number (130 SIGINT, 143 SIGTERM, 129 SIGHUP) interrupted.
    """
    import argparse

    # Nothing a run writes may be changed by every user of the host: under umask 0 a model and its
    # card in models/ could be swapped for a pickle that the next run loads, running its code.
    os.umask(os.umask(0) | stat.S_IWOTH)
    parser = argparse.ArgumentParser(
        prog="run_all.sh",
        description="Run the featurehealth notebooks for one profile and publish outputs/PROFILE/.",
        epilog=(f"profiles: {', '.join(config.available_profiles())}. Exit codes: 0 succeeded, {EXIT_FAILED} failed, "
                f"{EXIT_USAGE} unknown profile or bad --set or parameter value, {EXIT_QUALITY_FAILED} published but a "
                f"data-quality check failed, {EXIT_BUSY} another run of the profile "
                f"is in progress, 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP."),
    )
    parser.add_argument("profile", nargs="?", default="default", help="file stem in params/ (default: default)")
    # The example is a day the default simulation holds (its last, 2026-06-29): a later as-of
    # date is past the input, which the freshness check warns about.
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="GROUP.KEY=VALUE",
        help="override one parameter, e.g. --set ingest.as_of=2026-06-29 (repeatable; VALUE is read as YAML, "
             "so quote text YAML reads otherwise: --set \"ingest.source='no'\")",
    )
    open_closed_standard_streams()
    words = sys.argv[1:] if argv is None else list(argv)
    spaced = spaced_set_item(words)
    if spaced is not None:
        _say_stopped("", config.ProfileError(spaced))
        return EXIT_USAGE
    args = parser.parse_args(words)
    # jsonschema (imported by papermill through nbformat) imports rfc3987_syntax, which compiles a
    # grammar for over a second, only to check "iri" formats that notebook schemas never use;
    # without it jsonschema skips that check. Done here, in the command's own process only.
    sys.modules.setdefault("rfc3987_syntax", None)
    try:
        with interrupts_raise():
            report = run_pipeline(args.profile, overrides=args.overrides, progress=_print_while_read)
    except config.ProfileError as exc:
        _say_stopped("", exc)
        return EXIT_USAGE
    except RunBusy as exc:
        _say_stopped("", exc)
        return EXIT_BUSY
    except RunFailed as exc:
        _say_stopped("FAILED: ", exc, after=_run_folder_note(exc.run_dir))
        return EXIT_FAILED
    except RunInterrupted as exc:
        # "INTERRUPTED: interrupted by SIGTERM" said it twice.
        _say_stopped("INTERRUPTED by ", signal.Signals(exc.signum).name,
                     after=f"; outputs unchanged{_run_folder_note(exc.run_dir)}")
        return 128 + exc.signum
    if (report.get("quality") or {}).get("status") == "fail":
        # A scheduler sees only the exit code: a published day that failed a check is no clean day.
        _print_while_read(
            f"run_all: the outputs are published, but data quality failed (see 'data quality:' in the "
            f"output); exit code {EXIT_QUALITY_FAILED}",
            stream=sys.stderr,
        )
        return EXIT_QUALITY_FAILED
    return 0


def spaced_set_item(words: Sequence[str]) -> str | None:
    """The sentence for a ``--set`` item the shell split at spaces around ``=``, or None.

    ``--set model.n_estimators = 30`` reaches argparse as three words, which it would report as
    "unrecognized arguments: = 30" under a usage line; the sentence shows the one word to write.
    ``--set KEY= WORD`` counts only when WORD is no profile (``--set ingest.source= ci`` is an
    empty value for the ci profile).

    Parameters
    ----------
    words : sequence of str
        The command-line words after the program name.
    """
    for at, word in enumerate(words[:-2]):
        item, following = words[at + 1], words[at + 2]
        if word != "--set" or following.startswith("-"):
            continue
        if "=" not in item and following.startswith("="):
            value = following[1:] or (words[at + 3] if at + 3 < len(words) else "")
            parts = [item, following] + ([value] if following == "=" and value else [])
        elif item.endswith("=") and following not in config.available_profiles():
            value, parts = following, [item, following]
        else:
            continue
        key = item.rstrip("=")
        return (f"--set {' '.join(parts)} has spaces around '=', so the shell passes it as separate words; "
                f"write {config.set_command(f'{key}={value}')} as one word.")
    return None


def open_closed_standard_streams() -> None:
    """Point standard output and error at ``/dev/null`` if the process started with them closed (``>&-``).

    Python makes such a stream None, which the first progress line would fail on; a kernel
    started without it dies as it boots, and the next file opened (the profile's lock) would take
    its descriptor. A closed stream, like a reader gone (:func:`_print_while_read`), only
    silences the lines.
    """
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            if devnull == fd:
                os.set_inheritable(fd, True)  # as a standard stream is: the kernels get it too
            else:
                os.dup2(devnull, fd)
                os.close(devnull)
        setattr(sys, name, open(fd, "w", encoding="utf-8", closefd=False))  # noqa: SIM115 - the process's own stream


def _say_stopped(label: str, exc: BaseException | str, *, after: str = "") -> None:
    """Print run_all's one line on standard error for a run that did not succeed.

    The error may quote an export's column name or value, which can hold a line break: it is
    escaped, so the line stays one line in cron mail.
    """
    _print_while_read(f"run_all: {label}{display.visible_text(exc, one_line=True)}{after}", stream=sys.stderr)


def _print_while_read(line: str, *, stream: Any = None) -> None:
    """Print a line to ``stream`` (standard output by default); once nobody reads it
    (``run_all.sh | head``, or a closed terminal), drop the lines.

    A closed pipe must not fail the run: its outputs, report and exit code are what count. A
    terminal that hung up gives EIO instead of EPIPE; its SIGHUP is held back while the run
    publishes (:func:`interrupts_deferred`), so the run's last lines meet it. One write per line,
    under a lock, since the heartbeat and HTML threads print too.
    """
    stream = stream or sys.stdout
    line = display.visible_text(line)  # messages quote input values: they must not drive the terminal
    line = encodable_text(line, encoding=getattr(stream, "encoding", None))
    try:
        with _PRINT_LOCK:
            stream.write(f"{line}\n")
            stream.flush()
    except OSError as exc:
        if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EIO:
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _run_folder_note(run_dir: Path | None) -> str:
    return f" (run report in {run_dir}/)" if run_dir else ""


def command() -> int:
    """:func:`main` as the command's own process (``run_all.sh``): its exit code stands.

    Once main has its outcome, a signal has nothing left to interrupt, but the interpreter's
    shutdown, with pandas, DuckDB and papermill loaded, takes a tenth of a second or more: a
    scheduler's SIGTERM then ended a published run with 143, "interrupted". So the signals are
    ignored from then on, here rather than in main, which restores them for a caller that goes on.
    """
    code = main()
    for signum in INTERRUPTING_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    return code


if __name__ == "__main__":
    sys.exit(command())
