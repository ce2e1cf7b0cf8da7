"""Read a run's published artifacts for the dashboard, safely.

Every loader returns ``(value, message)``: the value (None when unusable) and a sentence for the
page ("" when all is well). A missing or corrupt file is a message, never an exception, so the
page always renders. Paths are built only from a known artifact name and a profile that has an
outputs folder, and must resolve inside :func:`featurehealth.config.output_root`: nothing taken
from the URL or the UI is used as a path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurehealth import config, display

if TYPE_CHECKING:
    import pandas as pd

#: Artifact name -> path relative to ``outputs/<profile>/``.
ARTIFACTS = {
    "fact": "tables/fact_feature_metrics.parquet",
    "dim": "tables/dim_feature_metadata.parquet",
    "incidents": "tables/incidents.parquet",
    "ranking": "reports/risk_ranking.csv",
    "metrics": "reports/metrics.json",
    "predictions": "reports/test_predictions.parquet",
    "importance": "reports/feature_importance.csv",
    "quality": "reports/data_quality.json",
    "ingest": "reports/ingest_summary.json",
    "quarantine": "quarantine/quarantine.parquet",
    "drift": "reports/data_drift.json",
    "retrain": "reports/retrain.json",
    "run_report": "reports/run_report.json",
    "registry": "models/registry.json",
}
#: Artifacts of the model in use: when the published metrics.json records that there is none (training
#: days of one class), each is not available for its reason, not for want of a run.
MODEL_ARTIFACTS = ("metrics", "ranking", "predictions", "importance", "registry")
#: Columns of the CSV reports that hold the input's text (ids, metadata), read as text whatever they look like.
CSV_TEXT_COLUMNS = ("feature_id", "feature_name", "owner_team", "tier", "lifecycle_stage")
#: Shown wherever a figure is absent, instead of any stand-in value.
NOT_AVAILABLE = "not available"


#: Written by ``./run_all.sh`` when it publishes a run: a folder without it holds no published run.
PUBLISHED_MARK = "reports/run_report.json"
#: Appended to a profile's name in the picker when its folder holds no published run.
NO_OUTPUTS = "(no outputs)"


def _is_published(folder: Path) -> bool:
    return (folder / PUBLISHED_MARK).is_file()


def _valid_name(name: str) -> bool:
    try:
        config.check_profile_name(name)
    except config.ProfileError:
        return False
    return True


def profiles_with_outputs() -> list[str]:
    """Profiles that have an outputs folder, sorted.

    Those of ``params/`` with a folder (published or not), and any other ``outputs/<name>/``
    with a valid name that holds a published run (outputs copied under another name).
    """
    root = config.output_root()
    known = set(config.available_profiles())
    folders = (p for p in root.iterdir() if p.is_dir()) if root.is_dir() else ()
    names = {
        p.name for p in folders
        if _valid_name(p.name) and (p.name in known or _is_published(p))
    }
    return sorted(names)


def published_profiles() -> list[str]:
    """Profiles of :func:`profiles_with_outputs` whose folder holds a published run, sorted."""
    root = config.output_root()
    return [p for p in profiles_with_outputs() if _is_published(root / p)]


def profile_options() -> list[tuple[str, str]]:
    """``(label, profile)`` for the picker: published profiles first, then the others marked
    :data:`NO_OUTPUTS` (a folder left by a failed hand run, say)."""
    published = published_profiles()
    others = [p for p in profiles_with_outputs() if p not in published]
    return [(p, p) for p in published] + [(f"{p} {NO_OUTPUTS}", p) for p in others]


def _records_a_run(profile: str) -> bool:
    return bool(config.run_folders(config.output_root() / profile / "runs"))


def default_profile(preferred: str) -> str | None:
    """``preferred`` if it has a published run, else the first profile that has one.

    Without any published run, ``preferred`` or else the first profile whose ``runs/`` records a
    run (a first run that failed publishes nothing, and its run report says why); None if none.
    """
    published = published_profiles()
    if published:
        return preferred if preferred in published else published[0]
    recorded = [p for p in profiles_with_outputs() if _records_a_run(p)]
    return preferred if preferred in recorded else next(iter(recorded), None)


def _inside(path: Path, root: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(f"Path {resolved} is outside the outputs folder {root}.")
    return resolved


def profile_root(profile: str) -> Path:
    """Published folder of ``profile``, checked to lie inside the outputs root.

    Raises
    ------
    ValueError
        If ``profile`` is not one of :func:`profiles_with_outputs` (the allowed values are listed).
    """
    allowed = profiles_with_outputs()
    if profile not in allowed:
        # A folder removed while the page is open lands here too: say how to bring it back.
        # Outputs copied under a name params/ does not hold cannot be run again under it.
        remedy = f" (run ./run_all.sh {profile} to publish them)" if profile in config.available_profiles() else ""
        raise ValueError(f"Profile {profile!r} has no outputs{remedy}; allowed: {', '.join(allowed) or 'none'}.")
    root = config.output_root()
    return _inside(root / config.check_profile_name(profile), root)


def artifact_path(profile: str, name: str) -> Path:
    """Path of artifact ``name`` (a key of :data:`ARTIFACTS`) of ``profile``.

    Raises
    ------
    ValueError
        If ``name`` is not a known artifact or ``profile`` has no outputs.
    """
    if name not in ARTIFACTS:
        raise ValueError(f"Unknown artifact {name!r}; allowed: {', '.join(ARTIFACTS)}.")
    return _inside(profile_root(profile) / ARTIFACTS[name], config.output_root())


FORMAT_NAMES = {".json": "JSON", ".csv": "CSV", ".parquet": "Parquet", ".png": "PNG"}


def unreadable_because(path: Path, exc: BaseException) -> str:
    """Why ``path`` could not be read, in a reader's words (a stakeholder cannot act on ``JSONDecodeError``)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON, line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"not a readable {FORMAT_NAMES.get(path.suffix, path.suffix.lstrip('.'))} file"


def _read(path: Path) -> Any:
    import pandas as pd

    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    if path.suffix == ".csv":
        # Text from the input stays as written: feature ids such as "0012" must match the Parquet
        # tables, a column of team codes "0042" or of names like "2024" is not numbers, and only an
        # empty field is missing (an owner team "NA", North America, or a name "None" is text).
        frame = pd.read_csv(path, dtype=dict.fromkeys(CSV_TEXT_COLUMNS, str), keep_default_na=False, na_values=[""])
        text = frame.select_dtypes(exclude=["number", "bool"]).columns
        return frame.assign(**{str(c): frame[c].map(display.csv_text) for c in text})
    return pd.read_parquet(path)


def _problem(value: Any, *, required: tuple[str, ...]) -> str:
    """Why a parsed artifact cannot be used ("" if it can)."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        missing = [c for c in required if c not in value.columns]
        return f"lacks column(s) {', '.join(missing)}" if missing else ""
    if not isinstance(value, dict):
        return "does not hold a JSON object"
    missing = [k for k in required if k not in value]
    return f"lacks key(s) {', '.join(missing)}" if missing else ""


def no_model_note(profile: str) -> str:
    """Why there is no risk model, when the published ``reports/metrics.json`` records none
    (``available`` false and its ``reason``), else ""."""
    try:
        metrics = _read(artifact_path(profile, "metrics"))
    except (OSError, ValueError):
        return ""
    if not isinstance(metrics, dict) or metrics.get("available") is not False:
        return ""
    return f"The risk model is {NOT_AVAILABLE}: no model was trained, as {metrics.get('reason') or 'its reason was not recorded'}"


def load_artifact(profile: str, name: str, *, required: tuple[str, ...] = ()) -> tuple[Any, str]:
    """Read one artifact: a DataFrame (Parquet, CSV) or a dict (JSON).

    Parameters
    ----------
    profile : str
        A profile with outputs.
    name : str
        Key of :data:`ARTIFACTS`.
    required : tuple of str
        Columns (tables) or top-level keys (JSON) without which the artifact is unusable.

    Returns
    -------
    tuple
        ``(value, "")``, or ``(None, message)`` when the file is missing, unreadable or lacks
        something required, or is one of :data:`MODEL_ARTIFACTS` and there is no model (:func:`no_model_note`).
    """
    relative = ARTIFACTS.get(name, name)
    try:
        path = artifact_path(profile, name)
    except ValueError as exc:
        return None, str(exc)
    no_model = no_model_note(profile) if name in MODEL_ARTIFACTS else ""
    if no_model:
        return None, no_model
    if not path.is_file():
        return None, f"{relative} is {NOT_AVAILABLE}: run ./run_all.sh {profile} to produce it."
    try:
        value = _read(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes a message, never a traceback
        return None, f"{relative} could not be read ({unreadable_because(path, exc)}); re-run ./run_all.sh {profile}."
    problem = _problem(value, required=required)
    if problem:
        return None, f"{relative} {problem}; re-run ./run_all.sh {profile}."
    return value, ""


def published_stamp(profile: str) -> tuple[int, int] | None:
    """What changes when a run publishes ``profile``'s outputs: the inode and modification time of
    its ``reports/run_report.json`` (None without one, or without the profile's folder)."""
    try:
        stat = artifact_path(profile, "run_report").stat()
    except (OSError, ValueError):
        return None
    return stat.st_ino, stat.st_mtime_ns


def lookup(mapping: Any, dotted: str) -> Any:
    """Value at ``dotted`` (``"model.pr_auc"``) in nested dicts, None wherever a level is absent."""
    value = mapping
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def run_params_from_profile(report: Any, profile: str) -> tuple[dict[str, Any] | None, str]:
    """The parameters of a run whose report does not record them, from ``params/<profile>.yaml``.

    Reports of older releases hold only ``params_hash`` and the ``--set`` overrides (``overrides``;
    a report without them is of a release before ``--set``, so of a run without any). The profile
    with those overrides gives the run's parameters only if it resolves to that hash: edited since,
    it would show limits and cut-offs the run never used.

    Parameters
    ----------
    report : dict or None
        ``reports/run_report.json``.
    profile : str
        The profile the outputs are published under.

    Returns
    -------
    tuple
        ``(params, "")``, or ``(None, reason)`` when the report has no hash, the profile is
        missing or invalid, or it resolves to another hash.
    """
    lead, source = "reports/run_report.json does not record the run's parameters", f"params/{profile}.yaml"
    unchecked = f"{lead} and {source} cannot be checked against them"
    remedy = f"; re-run ./run_all.sh {profile} to record them"
    recorded, overrides = lookup(report, "params_hash"), lookup(report, "overrides")
    if profile not in config.available_profiles():
        return None, f"{lead} and there is no {source} for these outputs"
    if not isinstance(recorded, str) or not recorded:
        return None, (f"reports/run_report.json records neither the run's parameters nor their hash, "
                      f"so {source} cannot be checked against them{remedy}")
    overrides = [] if overrides is None else overrides
    if not isinstance(overrides, list) or not all(isinstance(item, str) for item in overrides):
        return None, f"{unchecked} (its overrides are not a list of text){remedy}"
    try:
        params = config.load_run_params(profile, overrides=overrides)
    except config.ProfileError as exc:
        return None, f"{unchecked} ({str(exc).rstrip('.')}){remedy}"
    if config.params_hash(params) != recorded:
        return None, f"{lead} and {source} (or a profile it extends) has changed since that run{remedy}"
    return params, ""


#: Columns of :func:`run_history`, newest run first.
RUN_COLUMNS = (
    "run_id", "status", "days", "started_at", "finished_at", "duration_s", "drift_alerts", "quality", "error",
)


def run_days(window: Any) -> str | None:
    """The days a run read, from its report's ``window`` (``as_of``, ``start``, ``end``).

    ``"2026-03-16"`` for a daily run, ``"2026-03-14 (as of 2026-03-16)"`` for a backfill of one
    day, ``"2026-01-01 .. 2026-03-01"`` for a run over all the input; None when the report does not
    record them (a run stopped before it read any, or one of an older release).
    """
    days = [lookup(window, key) for key in ("start", "end", "as_of")]
    if not all(isinstance(day, str) and day for day in days):
        return None
    start, end, as_of = days
    read = start if start == end else f"{start} .. {end}"
    return read if as_of == end else f"{read} (as of {as_of})"


def _run_row(report: dict[str, Any]) -> dict[str, Any]:
    alerts = lookup(report, "drift.alerts")
    return {
        "run_id": report.get("run_id"),
        "status": report.get("status"),
        "days": run_days(report.get("window")),
        "started_at": report.get("started_at"),
        "finished_at": report.get("finished_at"),
        "duration_s": report.get("duration_s"),
        "drift_alerts": len(alerts) if isinstance(alerts, list) else None,
        "quality": lookup(report, "quality.status"),
        "error": report.get("error") or "",  # blank, not "not available": no error was reported
    }


#: What :func:`publish_state` returns for outputs that are mid-swap (None: they are not).
PUBLISH_STATES = ("publishing", "interrupted", "unreadable")


def publish_state(profile: str) -> str | None:
    """Whether ``profile``'s outputs are mid-swap: ``"publishing"`` (a run is swapping its folders
    in), ``"interrupted"`` (a run was killed doing so: until its next run puts the previous folders
    back, some are of each run), ``"unreadable"`` (killed, and its journal cannot be read: the next
    run stops, naming the folders to sort out by hand), or None."""
    journal = config.publish_journal_path(profile)
    if not journal.is_file():
        return None
    if config.run_in_progress(profile):
        return "publishing"
    return "interrupted" if config.read_publish_journal(journal)[0] is not None else "unreadable"


def run_history(profile: str, *, limit: int = 20) -> tuple["pd.DataFrame | None", str]:
    """The ``limit`` most recent readable runs of ``profile`` (``runs/<run_id>/run_report.json``).

    Returns
    -------
    tuple
        A frame with :data:`RUN_COLUMNS` (newest first) and a message naming the run folders met
        on the way without a report yet (a run in progress) and those whose report is unreadable;
        ``(None, message)`` when no run has a readable report (or ``profile`` has no outputs).

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    """
    import pandas as pd

    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit!r}.")
    try:
        runs = profile_root(profile) / "runs"
    except ValueError as exc:
        return None, str(exc)
    # A folder not named as a run is the user's own (the runner leaves those alone too), never a run in progress.
    folders = config.run_folders(runs)[::-1]
    rows, unreadable, pending = [], [], []
    for folder in folders:
        if len(rows) == limit:
            break
        if not (folder / "run_report.json").exists():
            # The runner writes a run's report when it ends: until then the run is in progress.
            pending.append(folder.name)
            continue
        try:
            report = json.loads((folder / "run_report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            unreadable.append(folder.name)
            continue
        if isinstance(report, dict):
            rows.append(_run_row({"run_id": folder.name, **report}))
        else:
            unreadable.append(folder.name)
    message = " ".join(
        ([f"Run(s) without a report yet (still running, or stopped before writing it): {', '.join(pending)}."]
         if pending else [])
        + ([f"Run report(s) not readable: {', '.join(unreadable)}."] if unreadable else [])
    )
    if not rows:
        return None, message or f"No runs recorded under runs/ yet: run ./run_all.sh {profile}."
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS)), message
