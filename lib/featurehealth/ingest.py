"""Find and open raw telemetry: CSV or Parquet, one file, a folder or a glob, read with DuckDB.

Nothing here loads the events into pandas: :func:`open_events` defines a DuckDB relation over
the files with the canonical column names of DESIGN.md (after ``column_map``), and the
validation step (:mod:`featurehealth.validate`) works on that relation in SQL.

A file-level problem (missing file, empty or damaged file, a file named ``.tsv`` or compressed other
than with gzip, missing required column, bytes that are not in the expected encoding, an Arrow schema
that cannot be read, no rows at all) raises :class:`InputError` with one sentence naming the
file and the fix, before anything is written.

CSV lines are never lost: every non-empty line after the header becomes a row or a malformed
line (:func:`csv_line_census` counts them and the count is checked after reading). A quote left
open would make the reader swallow the lines after it into one bad record, and a carriage return
outside quotes inside a line would stop it, so a file with such a line is first cut by
:func:`split_records`, where it costs that line only.
"""

from __future__ import annotations

import codecs
import contextlib
import glob
import hashlib
import itertools
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

from featurehealth import config, display, runlog
from featurehealth.warehouse import sql_path, sql_string

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import pandas as pd

    from featurehealth.config import RunPaths
    from featurehealth.validate import Window

#: Canonical telemetry columns and the DuckDB type each has after validation.
CANONICAL_TYPES: dict[str, str] = {
    "event_time": "TIMESTAMPTZ",
    "feature_id": "VARCHAR",
    "user_id": "VARCHAR",
    "latency_ms": "DOUBLE",
    "is_crash": "BOOLEAN",
    "feedback_score": "DOUBLE",
    "platform": "VARCHAR",
    "app_version": "VARCHAR",
    "error_count": "BIGINT",
}
REQUIRED_COLUMNS = ("event_time", "feature_id", "user_id", "latency_ms", "is_crash")
#: Encodings DuckDB's CSV reader decodes without extensions.
ENCODINGS = ("utf-8", "latin-1")
METADATA_COLUMNS = ("feature_id", "feature_name", "owner_team", "lifecycle_stage", "tier", "launch_date")
#: Allowed values of the coded metadata columns (DESIGN.md); their order is the signals' coding.
METADATA_VALUES = {
    "lifecycle_stage": ("experimental", "beta", "ga", "deprecated"),
    "tier": ("standard", "critical"),
}
#: Owner of a feature that its metadata does not assign to a team.
UNASSIGNED_OWNER = "unassigned"
INCIDENT_COLUMNS = ("feature_id", "start", "end", "kind", "severity", "precursor_days")
#: DuckDB view of the raw events of one run, the table naming its files, and the table that
#: holds CSV input as read.
RAW_RELATION = "raw_events"
FILES_TABLE = "source_files"
CSV_TABLE = "raw_csv"
#: Side tables handed from ingest to aggregation, as ``work/<name>.parquet``.
SIDE_TABLES = ("metadata", "incidents")


class InputError(ValueError):
    """A file-level input problem; the message is one sentence naming the file and the fix."""


@dataclass(frozen=True)
class InputLocations:
    """Where one run's inputs are: the events source and the optional side files.

    ``last_day`` is the last day a simulated source covers (None for real telemetry);
    ``identity`` tells sources apart (see :func:`source_identity`).
    """

    events: str
    metadata: Path | None
    incidents: Path | None
    last_day: date | None = None
    identity: str = ""


@dataclass(frozen=True)
class RawEvents:
    """Raw telemetry opened in a DuckDB session.

    ``relation`` has the canonical columns (in the files' own types, or VARCHAR for CSV),
    ``file_id``, an index into ``files``, and ``row_no``, which with ``file_id`` identifies a row
    and follows the files' order; the database also holds table ``source_files``
    (``file_id``, ``source_file``). ``malformed`` lists CSV lines the reader could not split
    into fields (``file_id``, ``line``, ``raw_line``, ``error``). ``layouts`` (Parquet only)
    lets :func:`parquet_relation` read any subset of the files in another session.
    """

    relation: str
    types: dict[str, str]
    files: tuple[str, ...]
    paths: tuple[Path, ...]
    file_format: str
    mapped: dict[str, str]
    extra_columns: tuple[str, ...]
    malformed: "pd.DataFrame"
    layouts: tuple[tuple["Layout", tuple[int, ...]], ...] = ()


def file_format(path: Path) -> str | None:
    """``"csv"`` or ``"parquet"`` from the file name (``.csv``, ``.csv.gz``, ``.parquet``, ``.pq``), else None."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return None


def _absolute(text: str) -> Path:
    # Relative paths in a profile mean "from the repository root", wherever the notebook runs
    # (a kernel starts in notebooks/, run_all.sh anywhere); ".." is folded so messages show the real path.
    path = Path(text).expanduser()
    return path if path.is_absolute() else Path(os.path.normpath(config.REPO_ROOT / path))


def _relative_note(text: str) -> str:
    """A clause telling where a relative ``ingest.source`` was looked for ("" for an absolute one)."""
    if Path(text).expanduser().is_absolute():
        return ""
    return f" (a relative ingest.source is read from the repository root {config.REPO_ROOT}, not the current folder)"


def unreadable_entry(path: Path, *, named: str = "Input", otherwise: str = "remove it from the input") -> str | None:
    """Why ``path``, named like a telemetry file, cannot be read as one; None for a file or a folder.

    A broken link or a named pipe (a socket, a device) in place of a day's export must stop the
    run: skipped, the day would vanish from the input without a word (a run over the window then
    drops its published day), and a reader of a pipe would wait for ever.

    Parameters
    ----------
    path : Path
        The entry.
    named : str, keyword-only
        How the sentence names it (``"The feature metadata file"`` for a side file).
    otherwise : str, keyword-only
        The other fix, after restoring the file: removing an entry of a folder or glob; for a
        path a parameter names (``ingest.source``, a side file), changing that parameter.

    Returns
    -------
    str or None
        One sentence naming ``path``, what it is and the fix.
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        if not path.is_symlink():
            return None  # gone meanwhile: what is left is judged as usual
        return f"{named} {path} is a broken link (to {os.readlink(path)}); restore the file it points to or {otherwise}."
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = "named pipe" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
    return f"{named} {path} is a {kind}, not a file; put the exported file there or {otherwise}."


#: File-name suffixes of compressions the reader does not decompress (it reads gzip, ``.csv.gz``).
OTHER_COMPRESSIONS = ("bz2", "xz", "zst", "zip", "lz4", "snappy", "deflate", "7z", "br")


def unread_export(path: Path, *, then: str = "or remove it from the input") -> str | None:
    """Why a file named like an export is not read: tab-separated text named ``.tsv``, or a CSV or
    Parquet file compressed other than with gzip (:data:`OTHER_COMPRESSIONS`); None for other names.

    In a folder or glob such a file must stop the run: skipped like a README, its day would
    vanish from the input without a word.

    Parameters
    ----------
    path : Path
        The file.
    then : str, keyword-only
        The clause after the fix: for a file of a folder or glob, removing it from the input; for
        the file ``ingest.source`` names, pointing that parameter at the renamed file.

    Returns
    -------
    str or None
        One sentence naming ``path``, what is wrong and the fix.
    """
    name = path.name
    if name.lower().endswith((".tsv", ".tsv.gz")):
        renamed = re.sub(r"(?i)\.tsv(?=(\.gz)?$)", ".csv", name)
        return (f"File {path} is tab-separated text named .tsv, which is not read; rename it to {renamed} (its "
                f"separator is read from the header line), {then}.")
    stem, _, suffix = name.rpartition(".")
    if suffix.lower() not in OTHER_COMPRESSIONS or not file_format(Path(stem)):
        return None
    gzip_too = f" or recompress it with gzip as {stem}.gz" if file_format(Path(stem)) == "csv" else ""
    return f"File {path} is compressed as .{suffix}, which is not read; decompress it to {stem}{gzip_too}, {then}."


def _stop_at_unreadable(entries: Iterable[Path]) -> None:
    """Raise :class:`InputError` for the first of ``entries`` named like telemetry that is no readable file,
    or that is a file named like an export the reader does not take (:func:`unread_export`)."""
    for entry in sorted(entries, key=str):
        problem = unreadable_entry(entry) if file_format(entry) else unread_export(entry) if entry.is_file() else None
        if problem:
            raise InputError(problem)


def _visible_entries(folder: Path) -> list[Path]:
    """Everything under ``folder``, recursively, but hidden entries and what hidden folders hold."""
    return [p for p in folder.rglob("*") if not any(part.startswith(".") for part in p.relative_to(folder).parts)]


def _is_pattern(text: str, target: Path) -> bool:
    """Whether ``ingest.source`` (``text``, at ``target``) is a glob: it has ``*``, ``?`` or ``[`` and
    names no existing entry. A folder named ``exports [2026]`` is that folder, not a pattern matching
    ``exports 2``."""
    return glob.has_magic(text) and not os.path.lexists(target)


def _escape_hint(pattern: Path) -> str:
    """How to write ``pattern`` when a folder it names holds ``*``, ``?`` or ``[`` (``exports [2026]/*.csv``),
    which the glob reads as pattern characters, so it matched nothing; "" otherwise."""
    parts = pattern.parts
    for end in range(len(parts) - 1, 0, -1):  # the deepest existing entry named with pattern characters
        folder = os.path.join(*parts[: end + 1])
        if glob.has_magic(folder) and os.path.lexists(folder):
            written = os.path.join(glob.escape(folder), *parts[end + 1:])
            return f" ({folder} exists, but *, ? and [ in a name are pattern characters: write {written})"
    return ""


def resolve_sources(source: str | os.PathLike[str]) -> list[Path]:
    """The telemetry files named by ``source``: a file, a folder (searched recursively) or a glob
    (a folder it matches that is named like a CSV or Parquet file is searched as a folder is). An
    existing file or folder whose name holds ``*``, ``?`` or ``[`` is read as named, not as a glob.

    Parameters
    ----------
    source : str or path-like
        Relative paths are taken from the repository root (:data:`featurehealth.config.REPO_ROOT`),
        not the current folder; an error about a missing input names the absolute path and says so.

    Returns
    -------
    list of Path
        Absolute paths with links resolved, each file once (a link to a file of the input is
        not read twice), sorted; hidden files and files that are neither CSV nor Parquet in a
        folder are skipped, but for those :func:`unread_export` refuses.

    Raises
    ------
    InputError
        If nothing matches, the path does not exist, a single file is neither CSV nor Parquet,
        CSV and Parquet files are mixed, an entry named like a CSV or Parquet file is a broken
        link or a named pipe (:func:`unreadable_entry`), or a file is named ``.tsv`` or compressed
        other than with gzip (:func:`unread_export`).
    """
    text = str(source).strip()
    if not text:
        raise InputError(
            "ingest.source is empty; set it to a CSV/Parquet file, folder or glob, or to 'simulated'."
        )
    target = _absolute(text)
    if _is_pattern(text, target):
        matched = [Path(p) for p in glob.glob(str(target), recursive=True)]
        # A folder the pattern matches that is named like a telemetry file (a Spark-style day,
        # events_2026-01-02.csv/part-0000.csv) is searched as a folder source is: left out, its
        # day would vanish without a word. Other folders stay out (exports/* leaves exports/archive/).
        exports = [m for m in matched if m.is_dir() and file_format(m)]
        candidates = [*matched, *(p for m in exports for p in _visible_entries(m))]
        _stop_at_unreadable(candidates)
        files = [p for p in candidates if p.is_file() and file_format(p)]
        if not files:
            raise InputError(
                f"No CSV or Parquet file matches {target}{_relative_note(text)}; fix the pattern in ingest.source"
                f"{_escape_hint(target)}."
            )
    elif target.is_dir():
        visible = _visible_entries(target)
        _stop_at_unreadable(visible)
        files = [p for p in visible if p.is_file() and file_format(p)]
        if not files:
            raise InputError(
                f"Folder {target} holds no .csv or .parquet file{_relative_note(text)}; point ingest.source at "
                f"the telemetry files."
            )
    elif target.is_file():
        if problem := unread_export(target, then="and set ingest.source to the new file"):
            raise InputError(problem)
        if file_format(target) is None:
            raise InputError(
                f"File {target} is neither CSV nor Parquet (by its name); export the telemetry as .csv or .parquet."
            )
        files = [target]
    elif problem := unreadable_entry(target, otherwise="set ingest.source to the exported file"):
        raise InputError(problem)
    else:
        raise InputError(
            f"Input {target} does not exist{_relative_note(text)}; set ingest.source to an existing file, "
            f"folder or glob."
        )
    formats = {file_format(p) for p in files}
    if len(formats) > 1:
        raise InputError(
            f"Input {target} mixes CSV and Parquet files; point ingest.source at one format "
            f"(a glob ending in *.parquet, say)."
        )
    # Resolved, each file once: a link to a file of the input (latest.csv) would read its events
    # twice, and a glob with ** can match a file both itself and in a folder it matched.
    return sorted({p.resolve() for p in files}, key=str)


def source_root(source: str | os.PathLike[str]) -> Path:
    """The folder ``source`` names files under: the folder itself, a file's folder, or a glob's fixed part.

    Examples
    --------
    >>> source_root("/exports/2026-*/events_*.csv").as_posix()
    '/exports'
    """
    text = str(source).strip()
    target = _absolute(text)
    if _is_pattern(text, target):
        first_magic = next(i for i, part in enumerate(target.parts) if glob.has_magic(part))
        return Path(*target.parts[:first_magic])
    return target if target.is_dir() else target.parent


def display_names(files: Sequence[Path], *, source: str | os.PathLike[str] | None = None) -> list[str]:
    """Short names of ``files`` for reports and the quarantine's ``source_file`` (posix).

    Parameters
    ----------
    files : sequence of Path
        Absolute paths (:func:`resolve_sources`).
    source : str or path-like, optional
        ``ingest.source``: names are relative to its folder (:func:`source_root`), so they do not
        change when a new subfolder (next month's, say) joins the input; the published quarantine
        keys undated rows by them. Without it, or for files outside it (links), relative to the
        files' common folder.
    """
    if not files:
        return []
    root = source_root(source).resolve() if source is not None else None
    if root is None or not all(p.is_relative_to(root) for p in files):
        root = Path(os.path.commonpath([str(p.parent) for p in files]))
    return [p.relative_to(root).as_posix() for p in files]


def resolve_inputs(
    *,
    source: str,
    metadata_path: str,
    incidents_path: str,
    simulated_dir: str | os.PathLike[str] | None,
    simulation: Mapping[str, object] | None = None,
) -> InputLocations:
    """Where the events, the feature metadata and the incidents of a run are.

    Parameters
    ----------
    source, metadata_path, incidents_path : str
        The ``ingest`` parameters of the same names.
    simulated_dir : path-like or None
        The simulator's output folder; used when ``source`` is ``"simulated"`` (its events,
        and its metadata and incidents unless the paths are set).
    simulation : mapping, optional
        The ``simulate`` parameters (``start_date``, ``n_days``), giving a simulated source's
        last day.

    Returns
    -------
    InputLocations
        ``metadata`` and ``incidents`` are None when no file applies.

    Raises
    ------
    ValueError
        If ``source`` is ``"simulated"`` without ``simulated_dir`` and ``simulation``.
    """
    metadata = _absolute(metadata_path) if metadata_path else None
    incidents = _absolute(incidents_path) if incidents_path else None
    if source != "simulated":
        return InputLocations(events=source, metadata=metadata, incidents=incidents,
                              identity=source_identity(source))
    if simulated_dir is None or simulation is None:
        raise ValueError(
            "ingest.source is 'simulated': pass simulated_dir=config.simulated_data_dir(profile) "
            "and simulation=params['simulate']."
        )
    folder = Path(simulated_dir)
    first = date.fromisoformat(str(simulation["start_date"]))
    return InputLocations(
        events=str(folder / "events"),
        metadata=metadata or folder / "dim_feature_metadata.csv",
        incidents=incidents or folder / "incidents.csv",
        last_day=first + timedelta(days=int(simulation["n_days"]) - 1),
        identity=source_identity(source, simulation=simulation),
    )


def source_identity(source: str, *, simulation: Mapping[str, object] | None = None) -> str:
    """What makes two runs' telemetry the same source, as recorded in the ingest summary.

    Simulated telemetry is the simulator with its ``simulate`` parameters (whatever folder it
    is written to); other telemetry is the absolute path or glob of ``ingest.source``.

    Examples
    --------
    >>> source_identity("simulated", simulation={"seed": 42, "n_days": 30})
    'simulated n_days=30 seed=42'
    """
    if source == "simulated":
        settings = " ".join(f"{key}={value}" for key, value in sorted((simulation or {}).items()))
        return f"simulated {settings}".strip()
    return os.path.normpath(_absolute(str(source).strip()))


def check_same_source(
    window: Window,
    *,
    previous: Mapping[str, object] | None,
    identity: str,
    published_days: Iterable[date],
    published: str | os.PathLike[str],
) -> bool:
    """Refuse a run that would leave days of another source in the published fact table.

    A run replaces the days of its window and keeps the others, so after ``ingest.source`` (or a
    simulated source's parameters) changes, the kept days would come from the old source beside
    the new one's. That is allowed only when the window covers every published day. Meant as the
    ``check_window`` check of :func:`featurehealth.engine.validate_and_aggregate` (bind the
    keywords with :func:`functools.partial`), so a refused run leaves the published quarantine as
    it was.

    Parameters
    ----------
    window : validate.Window
        This run's window (``start``, ``end``).
    previous : mapping or None
        The published ingest summary (None, or one without ``source_identity``, is not checked).
    identity : str
        This run's source identity (``source_identity`` of :func:`input_facts`).
    published_days : iterable of date
        Days of the published fact table.
    published : path-like
        The profile's published folder, named in the message.

    Returns
    -------
    bool
        True when the published outputs came from another source and the run replaces them all.

    Raises
    ------
    InputError
        If the sources differ and published days outside the window would be kept.
    """
    before = (previous or {}).get("source_identity")
    if before is None or before == identity:
        return False
    kept = sorted({day for day in published_days if not window.start <= day <= window.end})
    if not kept:
        return True
    days, those = (f"{kept[0]}", "that day") if len(kept) == 1 else (f"{kept[0]}..{kept[-1]}", "those days")
    raise InputError(
        f"The published outputs in {published} hold {display.count_text(len(kept), 'day')} ({days}) "
        f"outside this run's window {window.start}..{window.end} that were read from "
        f"{_describe_source(str(before), identity)}; "
        f"give the new source a profile of its own, re-run over a window that covers {those}, "
        f"or move {published} away to start the profile afresh."
    )


def _describe_source(before: str, now: str) -> str:
    """"X, and this run reads Y" for the message of :func:`check_same_source`."""
    if before.startswith("simulated") and now.startswith("simulated"):
        old, new = (dict(part.split("=", 1) for part in text.split()[1:]) for text in (before, now))
        changed = ", ".join(f"{key} {old.get(key)} -> {new.get(key)}" for key in sorted(old.keys() | new.keys())
                            if old.get(key) != new.get(key))
        return f"simulated telemetry with other simulate parameters ({changed})"
    return f"{_source_name(before)}, and this run reads {_source_name(now)}"


def _source_name(identity: str) -> str:
    return "simulated telemetry" if identity.startswith("simulated") else identity


def column_key(name: object) -> str:
    """A column name as matched: case-insensitive, surrounding whitespace ignored, in Unicode NFC (as
    text values are: a name written composed in one file or profile and decomposed in another is one)."""
    return unicodedata.normalize("NFC", str(name)).strip().lower()


def map_columns(columns: Sequence[str], *, column_map: Mapping[str, str], file: str) -> dict[str, str]:
    """Which column of one file feeds each canonical column.

    Names match case-insensitively, ignoring surrounding whitespace and Unicode form (NFC). A column named in
    ``column_map`` wins over a column that already has the canonical name.

    Parameters
    ----------
    columns : sequence of str
        The file's column names.
    column_map : mapping
        ``{their_name: canonical_name}``.
    file : str
        File name for error messages.

    Returns
    -------
    dict
        canonical name -> the file's column name, for the canonical columns present.

    Raises
    ------
    ValueError
        If ``column_map`` is not valid (:func:`featurehealth.config.check_column_map`).
    InputError
        If a required column is missing.
    """
    wanted = {column_key(k): v for k, v in config.check_column_map(dict(column_map)).items()}
    found: dict[str, str] = {}
    for name in columns:
        key = column_key(name)
        if key in wanted:
            found[wanted[key]] = name
    for name in columns:
        key = column_key(name)
        if key in CANONICAL_TYPES and key not in wanted and key not in found:
            found[key] = name
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        raise InputError(
            f"File {file} has no column '{missing[0]}' (it has: {', '.join(columns) or 'none'}); add it or map "
            f"your column onto it with ingest.column_map ({{your_name: {missing[0]}}})."
        )
    return {c: found[c] for c in CANONICAL_TYPES if c in found}


#: SQL turning a count of an Arrow duration's unit into milliseconds, by unit.
DURATION_TO_MS = {"s": "* 1000", "ms": "", "us": "/ 1000", "ns": "/ 1000000"}


def duration_unit(duck_type: str) -> str | None:
    """The unit of a column type :func:`parquet_columns` gives an Arrow duration (``DURATION(us)``), else None."""
    match = re.fullmatch(r"DURATION\((s|ms|us|ns)\)", duck_type)
    return match[1] if match else None


def arrow_durations(con: "duckdb.DuckDBPyConnection", paths: Sequence[Path]) -> list[dict[str, str]]:
    """Per Parquet file, its columns that the Arrow schema stored beside them types as durations, with their unit.

    pandas and pyarrow write a Timedelta column as a plain INT64 count of its unit and keep the
    unit in that schema only: DuckDB reads the count, 250 ms of ``duration[us]`` as 250000.
    Each distinct schema is decoded once.

    Raises
    ------
    InputError
        If a file's Arrow schema cannot be decoded (the units of its columns are unknown).
    """
    import base64

    import pyarrow as pa

    listed = "[" + ", ".join(sql_path(p) for p in paths) + "]"
    rows = con.execute(
        f"SELECT file_name, value FROM parquet_kv_metadata({listed}) WHERE key = 'ARROW:schema'"
    ).fetchall()
    decoded: dict[bytes, dict[str, str]] = {}
    by_file: dict[str, dict[str, str]] = {}
    for file_name, value in rows:
        if value not in decoded:
            try:
                schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(value)))
            except (ValueError, pa.ArrowException) as exc:
                # Read without it, a duration column would be a bare count in an unknown unit.
                raise InputError(
                    f"File {Path(file_name).name} carries an Arrow schema in its metadata that cannot be read "
                    f"({exc}), so the units of its columns are unknown; re-export it."
                ) from None
            decoded[value] = {f.name: f.type.unit for f in schema if pa.types.is_duration(f.type)}
        by_file[file_name] = decoded[value]
    return [by_file.get(str(p), {}) for p in paths]


#: DuckDB types of numbers: an ``event_time`` column of such a type holds no time DuckDB reads.
NUMBER_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    "UHUGEINT", "FLOAT", "DOUBLE",
)


def check_event_time_type(duck_type: str, *, column: str, file: str) -> None:
    """Refuse an ``event_time`` column stored as numbers (epoch seconds or milliseconds, say).

    Its unit cannot be told from the values with certainty, so no row of it would have a usable
    time: every one would be quarantined as ``invalid_event_time``.

    Parameters
    ----------
    duck_type : str
        The column's DuckDB type (VARCHAR for CSV input, which the row rules judge).
    column, file : str
        The file's column feeding ``event_time``, and the file, for the message.

    Raises
    ------
    InputError
        If ``duck_type`` is a number type (:data:`NUMBER_TYPES` or DECIMAL) or a duration
        (:func:`duration_unit`).
    """
    if (unit := duration_unit(duck_type)) is not None:
        raise InputError(
            f"File {file} has event_time in column '{column}' as a duration (duration[{unit}]), not a time; export "
            f"it as a Parquet timestamp or as ISO 8601 text such as 2026-03-01T14:02:11Z."
        )
    upper = duck_type.upper()
    if upper in NUMBER_TYPES or upper.startswith("DECIMAL"):
        raise InputError(
            f"File {file} has event_time in column '{column}' as numbers ({duck_type}, epoch seconds or "
            f"milliseconds?), which are not read as times; export it as a Parquet timestamp or as ISO 8601 text "
            f"such as 2026-03-01T14:02:11Z."
        )


#: Columns DuckDB's file readers add that the relation reads, by format: they tell files and rows apart.
READER_COLUMNS = {"csv": ("file_index",), "parquet": ("file_index", "file_row_number")}


def check_reader_columns(columns: Iterable[str], *, fmt: str, file: str) -> None:
    """Refuse a file with a column named like one the reader adds (:data:`READER_COLUMNS` of ``fmt``, in any case).

    DuckDB resolves the name to the file's own column, so its values would say which file and
    row each event is: rows would be charged to other files, or judged duplicates of each other.

    Raises
    ------
    InputError
        Naming the file and the column.
    """
    clash = next((name for name in columns if column_key(name) in READER_COLUMNS[fmt]), None)
    if clash is not None:
        raise InputError(
            f"File {file} has a column named '{clash}', which the reader adds itself; rename or drop that column "
            f"and re-export the file."
        )


def _check_map_keys(column_map: Mapping[str, str], columns: Sequence[Iterable[str]], names: Sequence[str]) -> None:
    """Every ``column_map`` key names a column of at least one file, or InputError says which does not."""
    present = {column_key(c) for file_columns in columns for c in file_columns}
    unmatched = [key for key in column_map if column_key(key) not in present]
    if unmatched:
        where = f"{names[0]} has no" if len(names) == 1 else f"none of the {len(names)} input files has a"
        shown = sorted(present)
        listed = ", ".join(shown[:20]) + (", ..." if len(shown) > 20 else "")
        keys = " and ".join(f"'{key}'" for key in unmatched)
        raise InputError(
            f"ingest.column_map maps {keys}, but {where} column of that name (columns: {listed}); "
            # The entry may come from --set or a notebook's parameters cell, not only the profile.
            f"fix or remove that entry of ingest.column_map where it is set (profile, --set or parameters cell)."
        )


#: Field separators recognised in a CSV header line, most likely first.
DELIMITERS = (",", ";", "\t", "|")


def csv_delimiter(header: str) -> str:
    """The separator of a CSV header line: the most frequent of :data:`DELIMITERS` (``,`` on ties)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","


def _open_bytes(path: Path) -> IO[bytes]:
    """``path`` opened for reading bytes, decompressed when its name ends in ``.gz``."""
    import gzip

    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


@contextlib.contextmanager
def _whole_gzip(name: str) -> Iterator[None]:
    """Turn the error of reading a damaged gzip file ``name`` (not gzip, or cut short) into the InputError naming it."""
    import gzip
    import zlib

    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(
            f"File {name} is not a whole gzip file ({exc}); re-export it or remove it from ingest.source."
        ) from None


def _codec(encoding: str) -> str:
    """The codec that decodes CSV text in ``encoding``: utf-8-sig drops a byte-order mark."""
    return {"utf-8": "utf-8-sig"}.get(encoding, encoding)


class _Utf8Watch:
    """Judges a file's bytes, block by block, for UTF-8 text with non-ASCII letters.

    Latin-1 text with accented letters is almost never valid UTF-8 (a lone 0xE9 is not), so a
    file whose every non-ASCII byte belongs to a UTF-8 letter is UTF-8 text, which Latin-1 would
    turn into two characters per letter ("Ã©"). The whole file is judged: a new feature's accented
    name may first appear deep into a large export.
    """

    def __init__(self) -> None:
        self._decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
        self._letters = False

    def feed(self, block: bytes, *, final: bool = False) -> None:
        """Judge the next ``block``; ``final`` on the last (a UTF-8 letter cut short there is Latin-1)."""
        if self._decoder is None:
            return
        try:
            self._letters = not self._decoder.decode(block, final=final).isascii() or self._letters
        except UnicodeDecodeError:
            self._decoder = None

    @property
    def utf8_letters(self) -> bool:
        """Whether the bytes fed hold a non-ASCII UTF-8 letter and nothing that is not UTF-8."""
        return self._decoder is not None and self._letters


def _utf8_under_latin1(name: str) -> InputError:
    return InputError(
        f"File {name} is UTF-8 text but ingest.encoding is latin-1, which would garble its accented "
        f"letters (and split a feature such as 'Réglages' in two); set ingest.encoding: utf-8, or re-save "
        f"it as Latin-1 if other files of the input are."
    )


#: Most bytes of a CSV header line read.
HEADER_MAX_BYTES = 1 << 20


def _blocks(path: Path, *, name: str = "") -> Iterator[bytes]:
    """The bytes of a (possibly gzipped) file, :data:`CENSUS_BLOCK` at a time; a damaged gzip file raises
    InputError naming it (``name``, else its file name)."""
    with _whole_gzip(name or path.name), _open_bytes(path) as handle:
        while block := handle.read(CENSUS_BLOCK):
            yield block


#: Bytes Latin-1 leaves unused (C1 controls), which the CSV reader refuses under ``latin-1``: Windows-1252,
#: Excel's "CSV" on Western Windows, puts its curly quotes, euro sign and dashes there.
_LATIN1_UNUSED = re.compile(rb"[\x80-\x9f]")


def _undecodable_line(path: Path, *, encoding: str) -> int | None:
    """The 1-based line of a (possibly gzipped) file's first bytes that are not text in ``encoding``
    (for ``latin-1``, bytes 0x80-0x9f, as the reader judges); None if none."""
    decoder = codecs.getincrementaldecoder(_codec(encoding))()
    lines = 1
    for block in itertools.chain(_blocks(path), [b""]):
        if encoding == "latin-1" and (unused := _LATIN1_UNUSED.search(block)):
            return lines + block.count(b"\n", 0, unused.start())
        try:
            decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            # The decoder's text is the bytes it held back (part of a letter, no line break) and the block.
            return lines + exc.object.count(b"\n", 0, exc.start)
        lines += block.count(b"\n")
    return None


def _utf8_text(path: Path, *, name: str) -> bool:
    """Whether a whole (possibly gzipped) file is UTF-8 text with non-ASCII letters (see :class:`_Utf8Watch`)."""
    watch = _Utf8Watch()
    for block in _blocks(path, name=name):
        watch.feed(block)
    watch.feed(b"", final=True)
    return watch.utf8_letters


def _header_line(path: Path, *, name: str, encoding: str) -> str:
    """First line of a (possibly gzipped) CSV file, decoded; undecodable bytes, UTF-16, gzip under a
    name without ``.gz``, a UTF-8 file under ``latin-1`` whose header has UTF-8 letters, or a damaged
    gzip file raise InputError."""
    with _whole_gzip(name), _open_bytes(path) as handle:
        head = handle.readline(HEADER_MAX_BYTES)
    # gzip's magic number: cloud exports compress files they name part-0000.csv, read as bytes otherwise.
    if head.startswith(b"\x1f\x8b") and not path.name.lower().endswith(".gz"):
        raise InputError(f"File {name} is gzip-compressed but named .csv; rename it to {name}.gz.")
    # Latin-1 decodes any byte: without this, UTF-16 would read as names with a NUL between letters.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"File {name} is UTF-16 text; re-save it as UTF-8 (or Latin-1 with ingest.encoding: latin-1).")
    if encoding == "latin-1":
        # Column names are matched before csv_line_census judges the file: garbled ("fonctionnalitÃ©"),
        # one would be reported missing instead. Only a header with UTF-8 letters costs this extra pass.
        probe = _Utf8Watch()
        probe.feed(head)
        if probe.utf8_letters and _utf8_text(path, name=name):
            raise _utf8_under_latin1(name)
    try:
        return head.decode(_codec(encoding))
    except UnicodeDecodeError:
        raise _undecodable_error(name, encoding, line=1) from None


def csv_header(line: str, *, name: str) -> list[str]:
    """Column names of a CSV header line (separator from :func:`csv_delimiter`).

    Raises
    ------
    InputError
        If two columns share a name.
    """
    import csv

    fields = next(csv.reader([line.rstrip("\r\n")], delimiter=csv_delimiter(line)), [])
    names = [field.strip() or f"column{i}" for i, field in enumerate(fields)]
    seen = {n.lower() for n in names}
    if len(seen) != len(names):
        twice = next(n for n in names if sum(m.lower() == n.lower() for m in names) > 1)
        raise InputError(f"File {name} has two columns named '{twice}'; rename or drop one and re-export it.")
    return names


def _reader(
    fmt: str,
    files: Sequence[Path],
    *,
    encoding: str,
    delimiter: str = ",",
    header: Sequence[str] = (),
    rejects: str | None = None,
) -> str:
    listed = "[" + ", ".join(sql_path(p) for p in files) + "]"
    if fmt == "parquet":
        return f"read_parquet({listed})"
    # Dialect and columns are given, not sniffed: on a ragged file the sniffer fails, or picks
    # another separator or a "header" further down.
    columns = "{" + ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in header) + "}"
    options = (
        f"auto_detect = false, header = true, skip = 0, columns = {columns}, delim = {sql_string(delimiter)}, "
        f"quote = '\"', escape = '\"', encoding = {sql_string(encoding)}"
    )
    if rejects:
        # Lines that do not split into the header's fields are kept (as rejects), not fatal.
        options += f", store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{rejects}_scan'"
    return f"read_csv({listed}, {options})"


def _check_not_empty(path: Path, name: str, *, fmt: str) -> None:
    if path.stat().st_size == 0:
        content = "a header row and data" if fmt == "csv" else "its rows"
        raise InputError(f"File {name} is empty (0 bytes); delete it or re-export it with {content}.")


def csv_columns(path: Path, *, name: str, encoding: str) -> tuple[dict[str, str], str]:
    """Columns of one CSV file (all VARCHAR: the row rules parse values) and its separator.

    Raises
    ------
    InputError
        If the file is empty or a damaged gzip file, its header is not in ``encoding``, is blank or names a
        column twice, it starts with Excel's ``sep=;`` line, or its lines end with a carriage return
        alone (the reader and the line count split at line feeds).
    """
    _check_not_empty(path, name, fmt="csv")
    line = _header_line(path, name=name, encoding=encoding)
    if re.fullmatch(r"sep=.", first := line.rstrip("\r\n"), flags=re.IGNORECASE):
        raise InputError(
            f"File {name} starts with Excel's separator line '{first}'; delete that line so that the column names "
            f"come first."
        )
    if not line.strip():
        # The reader would name the blank header's one field "column0" and report the columns missing.
        raise InputError(
            f"File {name} starts with a blank line instead of its column names; delete the blank lines before "
            f"them, or the file if it holds no data."
        )
    if "\r" in line.rstrip("\n").removesuffix("\r"):
        raise InputError(
            f"File {name} ends its lines with a carriage return alone (an old Mac export); re-export it with "
            f"Windows (CRLF) or Unix (LF) line breaks."
        )
    return {c: "VARCHAR" for c in csv_header(line, name=name)}, csv_delimiter(line)


def parquet_columns(
    con: "duckdb.DuckDBPyConnection", paths: Sequence[Path], names: Sequence[str]
) -> list[dict[str, str]]:
    """Column names and DuckDB types of each Parquet file; an Arrow duration's is ``DURATION(<unit>)``
    (see :func:`arrow_durations`), read in milliseconds by :func:`_group_select`.

    One metadata query covers all files and DuckDB describes each distinct schema once, so a
    year of daily files opens in milliseconds.

    Raises
    ------
    InputError
        If a file is empty or not readable as Parquet.
    """
    import duckdb

    for path, name in zip(paths, names, strict=True):
        _check_not_empty(path, name, fmt="parquet")
    listed = "[" + ", ".join(sql_path(p) for p in paths) + "]"
    try:
        rows = con.execute(
            f"SELECT file_name, name, type, converted_type, logical_type FROM parquet_schema({listed})"
        ).fetchall()
    except duckdb.Error as exc:
        # The batch error does not say which file is broken: find it to name it.
        broken = next((n for p, n in zip(paths, names, strict=True) if not _parquet_readable(con, p)), names[0])
        raise _read_error(broken, "parquet", "utf-8", exc) from None
    signatures: dict[str, list[tuple[object, ...]]] = {str(p): [] for p in paths}
    for file_name, *element in rows:
        signatures[file_name].append(tuple(element))
    described: dict[tuple[tuple[object, ...], ...], dict[str, str]] = {}
    result = []
    for path, name in zip(paths, names, strict=True):
        # The first schema element is the root, not a column.
        signature = tuple(signatures[str(path)][1:])
        if signature not in described:
            try:
                found = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_path(path)})").fetchall()
            except duckdb.Error as exc:
                raise _read_error(name, "parquet", "utf-8", exc) from None
            described[signature] = {row[0]: row[1] for row in found}
        result.append(described[signature])
    # Two files alike but for a duration's unit share a Parquet schema: the unit is marked per file.
    durations = arrow_durations(con, paths)
    return [{name: f"DURATION({units[name]})" if name in units else kind for name, kind in types.items()}
            for types, units in zip(result, durations, strict=True)]


def _parquet_readable(con: "duckdb.DuckDBPyConnection", path: Path, *, whole: bool = False) -> bool:
    """Whether a Parquet file's footer reads, or with ``whole`` every value (hashing every column
    reads every page)."""
    import duckdb

    source = sql_path(path)
    query = (f"SELECT sum(hash(COLUMNS(*))) FROM read_parquet({source})" if whole
             else f"SELECT * FROM parquet_schema({source})")
    try:
        con.execute(query).fetchall()
    except duckdb.Error:
        return False
    return True


def _undecodable_error(name: str, encoding: str, *, line: int | None = None) -> InputError:
    """The one-sentence InputError for a file with bytes that are not text in ``encoding``."""
    where = f" (line {line})" if line else ""
    if encoding == "latin-1":
        return InputError(
            f"File {name} has bytes 0x80-0x9f{where}, which Latin-1 does not use (Windows-1252 text, as Excel "
            f"saves CSV); re-save it as UTF-8 (Excel: CSV UTF-8) and set ingest.encoding: utf-8."
        )
    return InputError(
        f"File {name} has bytes that are not valid {encoding}{where}; re-save it as UTF-8 or set "
        f"ingest.encoding to its encoding ({', '.join(ENCODINGS)})."
    )


def _read_error(name: str, fmt: str, encoding: str, exc: Exception) -> InputError:
    """The one-sentence InputError for a file the reader rejected (``exc`` is the reader's error)."""
    if "unicode" in str(exc).lower():
        return _undecodable_error(name, encoding)
    label = {"csv": "CSV", "parquet": "Parquet"}.get(fmt, fmt)
    return InputError(
        f"File {name} cannot be read as {label} (it is damaged or not {label}); "
        f"re-export it or remove it from ingest.source."
    )


@contextlib.contextmanager
def naming_damaged_files(paths: Sequence[Path], names: Sequence[str], *, fmt: str) -> Iterator[None]:
    """Turn a reader error caused by one of the input files into the InputError naming it.

    A Parquet file whose footer is sound but a data page is not (a copy cut short, a disk
    error) opens fine and fails only when its rows are read. The file is the one the error
    quotes, or else (a Thrift error quotes none) the first Parquet file that cannot be read whole.
    """
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        text = str(exc)
        quoted = next((name for path, name in zip(paths, names, strict=True) if f'"{path}"' in text), None)
        if quoted is None and fmt == "parquet":
            con = duckdb.connect()
            quoted = next((name for path, name in zip(paths, names, strict=True)
                           if not _parquet_readable(con, path, whole=True)), None)
            con.close()
        if quoted is None:
            raise
        raise _read_error(quoted, fmt, "utf-8", exc) from None


#: Bytes of a CSV file counted at a time.
CENSUS_BLOCK = 1 << 26
#: Most lines one record may span: a quoted value with line breaks is short; a stray quote is not.
MAX_RECORD_LINES = 20


def _line_flags(block: bytes | memoryview, *, delimiter: str = ",") -> tuple["np.ndarray", "np.ndarray"]:
    """Per line of ``block`` (split at ``\\n``): is it non-empty, and must it be judged alone (:func:`split_records`).

    A line is judged alone when it holds an odd number of ``"``, or a ``"`` inside a value (between
    two characters that are neither separators, line breaks nor quotes): the reader takes that one
    as text, so the count no longer tells whether a value quoted at another ``"`` of the line runs on;
    or when it holds a carriage return that does not end it, which the reader cannot read outside quotes.
    """
    import numpy as np

    content = np.frombuffer(block, dtype=np.uint8)
    breaks = np.flatnonzero(content == 10)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(content)]))
    carriage = (ends > starts) & (content[np.maximum(ends - 1, 0)] == 13) if len(content) else ends > starts
    filled = ends - carriage > starts
    quotes = np.flatnonzero(content == 34)
    odd = (np.searchsorted(quotes, ends) - np.searchsorted(quotes, starts)) % 2 == 1
    separator = ord(delimiter)
    before = content[np.maximum(quotes - 1, 0)]
    maybe = quotes[(quotes > 0) & (before != separator) & (before != 10) & (before != 34)]  # opens no value
    after = content[np.minimum(maybe + 1, len(content) - 1)]
    inside = maybe[(maybe + 1 < len(content)) & (after != separator) & (after != 10) & (after != 13) & (after != 34)]
    text_quote = np.zeros(len(starts), dtype=bool)
    text_quote[np.searchsorted(breaks, inside)] = True
    returns = np.flatnonzero(content == 13)
    lines_of_returns = np.searchsorted(breaks, returns)
    inner_return = np.zeros(len(starts), dtype=bool)
    inner_return[lines_of_returns[returns != ends[lines_of_returns] - 1]] = True
    return filled, (odd | text_quote | inner_return) & filled


def csv_line_census(path: Path, *, name: str = "", encoding: str = "utf-8", delimiter: str = ",") -> tuple[int, bool]:
    """Non-empty lines after the header of a (possibly gzipped) CSV file, and whether it must be
    re-cut (:func:`split_records`) before the reader sees it.

    The reader skips empty lines and reads every other line as one record, unless a quoted
    value runs on: a line with an odd number of ``"`` is where that starts, or may be one with
    a ``"`` inside a value (see :func:`_line_flags`; ``delimiter`` separates values). Nor can
    it read a file whose lines end in both CRLF and LF (exports of two systems joined), or a
    line holding a carriage return that does not end it (outside quotes), which it calls
    invalid CSV. Each needs the re-cut copy.

    Raises
    ------
    InputError
        If ``encoding`` is ``latin-1`` and the file (file name ``name``) is UTF-8 text with
        accented letters: Latin-1 would garble them. Read anyway, so the whole file is judged.
        Also if the file is a damaged gzip file.
    """
    lines, judged, inner, carry, breaks, crlf_breaks = 0, False, False, b"", 0, 0
    watch = _Utf8Watch() if encoding == "latin-1" else None
    # The empty block at the end counts the last line when the file does not end in a line break.
    for block in itertools.chain(_blocks(path, name=name), [b""]):
        if watch is not None:
            watch.feed(block, final=not block)
        whole = carry + block
        cut = whole.rfind(b"\n") + 1 if block else len(whole)
        ends = whole.count(b"\n", 0, cut)
        # Only a block with a carriage return can hold CRLF line breaks: an LF file pays one fast search.
        returns = whole.count(b"\r", 0, cut) if whole.find(b"\r", 0, cut) >= 0 else 0
        crlf = whole.count(b"\r\n", 0, cut) if returns else 0
        # Carriage returns ending no line; one ending the file's last line (without a line feed) ends it.
        inner = inner or returns - crlf > int(not block and whole.endswith(b"\r"))
        breaks, crlf_breaks = breaks + ends, crlf_breaks + crlf
        plain = all(whole.find(mark, 0, cut) < 0 for mark in (b'"', b"\n\n", b"\n\r\n"))
        if plain and not whole.startswith((b"\n", b"\r")):  # every line break ends a non-empty line
            lines += ends + (0 < cut and whole[cut - 1] != 10)
        else:
            filled, alone = _line_flags(memoryview(whole)[:cut], delimiter=delimiter)
            lines, judged = lines + int(filled.sum()), judged or bool(alone.any())
        carry = whole[cut:]
    if watch is not None and watch.utf8_letters:
        raise _utf8_under_latin1(name or path.name)
    return max(lines - 1, 0), judged or inner or 0 < crlf_breaks < breaks


@dataclass(frozen=True)
class SplitCsv:
    """A CSV file re-cut so that a quote left open spoils its own line only (see :func:`split_records`)."""

    text: str  # the file without its malformed lines, to be read again
    dropped: list[int]  # 0-based indices of the lines left out of ``text``
    records: int  # records in ``text`` after its header
    malformed: list[tuple[int, str, str]]  # (line number, text, error name of the CSV reader)

    def original_line(self, line: int) -> int:
        """The file's own number of line ``line`` (1-based) of ``text``."""
        return self.original_lines([line])[0]

    def original_lines(self, lines: Sequence[int]) -> list[int]:
        """The file's own numbers of ``lines`` (1-based) of ``text``, all at once.

        Line ``t`` (0-based) of ``text`` moves down by the dropped lines before it: those whose
        index minus the dropped lines before them is at most ``t``. One binary search per line,
        so a file with many stray quotes and many other rejects is not numbered in quadratic time.
        """
        import numpy as np

        kept_before = np.asarray(self.dropped, dtype=np.int64) - np.arange(len(self.dropped))
        index = np.asarray(lines, dtype=np.int64) - 1
        return (index + np.searchsorted(kept_before, index, side="right") + 1).tolist()


def _record_fields(record: str, delimiter: str) -> int | None:
    """Fields of one CSV record, or None if its quoting is broken or a carriage return in it is not quoted."""
    import csv

    try:
        fields = next(csv.reader([record], delimiter=delimiter, quotechar='"', strict=True))
    except csv.Error:
        return None
    # Python's reader takes a carriage return ending the record for a line break; the CSV reader stops there.
    return len(fields) if sum(field.count("\r") for field in fields) == record.count("\r") else None


def split_records(data: bytes, *, encoding: str, delimiter: str, n_fields: int) -> SplitCsv:
    """Cut CSV ``data`` into records without letting a stray quote swallow the lines after it.

    A line with an odd number of ``"`` opens a quoted value that runs on: it joins the next
    lines until the quotes balance (at most :data:`MAX_RECORD_LINES` lines) and is a record if
    that gives ``n_fields`` well-quoted fields. Otherwise the line alone is malformed and left
    out, and the lines after it are read as usual: a stray quote costs one line, not the rest
    of the file. A line holding a ``"`` inside a value (see :func:`_line_flags`) or a carriage
    return that does not end it is judged the same way: the CSV reader takes the one for text, so
    that another ``"`` may open a value that runs on, and cannot read the other outside quotes.
    Lines without these problems are kept as they are, for the CSV reader to judge, but for a
    carriage return ending them: ``text`` ends every line in LF.

    Raises
    ------
    UnicodeDecodeError
        If ``data`` is not in ``encoding``.
    """
    lines = data.decode(_codec(encoding)).split("\n")
    filled, alone = _line_flags(data, delimiter=delimiter)
    dropped, malformed, continued, joined_until = [], [], 0, 0
    for start in (int(i) for i in alone.nonzero()[0] if i > 0):
        if start <= joined_until:
            continue
        end, record = start, lines[start].removesuffix("\r")
        while record.count('"') % 2 and end + 1 < len(lines) and end - start + 1 < MAX_RECORD_LINES:
            end += 1
            record += "\n" + lines[end].removesuffix("\r")
        if record.count('"') % 2 == 0 and _record_fields(record, delimiter) == n_fields:
            joined_until, continued = end, continued + int(filled[start + 1:end + 1].sum())
            continue
        record = lines[start].removesuffix("\r")
        fields = _record_fields(record, delimiter)
        error = "UNQUOTED VALUE" if fields is None else "TOO MANY COLUMNS" if fields > n_fields else "MISSING COLUMNS"
        dropped.append(start)
        malformed.append((start + 1, record, error))
    skip = set(dropped)
    text = "\n".join(line.removesuffix("\r") for index, line in enumerate(lines) if index not in skip)
    return SplitCsv(text, dropped, int(filled[1:].sum()) - len(dropped) - continued, malformed)


Layout = tuple[tuple[str, str, str], ...]


def _group_files(
    described: Sequence[tuple[Path, str, dict[str, str], dict[str, str]]],
) -> list[tuple[str, Layout, list[int]]]:
    """Group file indices by identical header (names, order, types) and separator, in file order.

    Returns (separator, layout, indices) per group; a layout lists (canonical, source column,
    type) for the canonical columns present.
    """
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[int]] = {}
    layouts: dict[tuple[str, tuple[tuple[str, str], ...]], Layout] = {}
    for index, (_path, delimiter, types, mapping) in enumerate(described):
        key = (delimiter, tuple(types.items()))
        groups.setdefault(key, []).append(index)
        layouts[key] = tuple((canon, source, types[source]) for canon, source in mapping.items())
    return [(key[0], layouts[key], indices) for key, indices in groups.items()]


def _unified_types(layouts: Sequence[Layout], fmt: str) -> dict[str, str]:
    """One type per canonical column across file layouts (a duration's is DOUBLE); VARCHAR where they disagree."""
    unified: dict[str, str] = {}
    for canon, default in CANONICAL_TYPES.items():
        seen = {"DOUBLE" if duration_unit(t) else t for layout in layouts for c, _s, t in layout if c == canon}
        if not seen:
            seen = {"VARCHAR" if fmt == "csv" else default}
        unified[canon] = seen.pop() if len(seen) == 1 else "VARCHAR"
    return unified


def _file_id_expression(indices: Sequence[int]) -> str:
    """SQL mapping a group's ``file_index`` (0..n-1, in the order given) to global file ids."""
    if list(indices) == list(range(indices[0], indices[0] + len(indices))):
        return f"CAST(file_index AS INTEGER) + {indices[0]}"
    lookup = "[" + ", ".join(str(i) for i in indices) + "]"
    return f"CAST(list_extract({lookup}, CAST(file_index AS INTEGER) + 1) AS INTEGER)"


def float_text(value: str) -> str:
    """SQL writing a float ``value`` as text, a whole number without a fraction: ``101`` for 101.0.

    pandas stores an integer column with a missing value as floats, so a day's file may hold the
    ids that other days' files (and the metadata) hold as integers: read as ``101.0``, a feature
    would be split in two, and a crash flag of ``-0.0`` would be no flag. Beyond 2**53 a float
    holds no exact integer and is written as DuckDB writes it, as are NaN and infinities (the bound holds
    them out: no comparison with NaN is true).
    """
    return (f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 9007199254740992 "
            f"THEN CAST(CAST({value} AS BIGINT) AS VARCHAR) ELSE CAST({value} AS VARCHAR) END")


def _group_select(
    layout: Layout, reader: str, *, types: Mapping[str, str], indices: Sequence[int]
) -> str:
    """SELECT projecting one group of files onto the canonical columns (absent ones NULL, durations in
    milliseconds, floats read as text by :func:`float_text`) and ``file_id``."""
    sources = {canon: (source, kind) for canon, source, kind in layout}
    parts = []
    for canon, kind in types.items():
        if canon not in sources:
            parts.append(f"CAST(NULL AS {kind}) AS {canon}")
            continue
        source, own = sources[canon]
        value = '"' + source.replace('"', '""') + '"'
        if unit := duration_unit(own):
            value, own = f"CAST({value} AS DOUBLE) {DURATION_TO_MS[unit]}", "DOUBLE"
        if own == kind:
            parts.append(f"{value} AS {canon}")
        elif kind == "VARCHAR" and own in ("FLOAT", "DOUBLE"):
            parts.append(f"{float_text(value)} AS {canon}")
        else:
            parts.append(f"CAST({value} AS {kind}) AS {canon}")
    parts.append(f"{_file_id_expression(indices)} AS file_id")
    if reader.startswith("read_parquet"):
        parts.append("file_row_number AS row_no")
    return f"SELECT {', '.join(parts)} FROM {reader}"


def open_events(
    con: "duckdb.DuckDBPyConnection",
    source: str | os.PathLike[str],
    *,
    column_map: Mapping[str, str],
    encoding: str = "utf-8",
) -> RawEvents:
    """Open the telemetry of ``source`` as a DuckDB relation with canonical column names.

    Parquet stays where it is (a view the later queries scan); CSV is read once, as text, into
    a table so that lines the reader cannot split are captured, not fatal. The objects are
    created in ``con``'s database (not as temporaries) so a later step can reopen them.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Session from :func:`featurehealth.warehouse.connect`, usually on a work database file.
    source : str or path-like
        File, folder or glob (see :func:`resolve_sources`).
    column_map : mapping
        ``ingest.column_map``: ``{their_name: canonical_name}``.
    encoding : str
        Text encoding of CSV files, one of :data:`ENCODINGS`.

    Returns
    -------
    RawEvents

    Raises
    ------
    ValueError
        If ``encoding`` or ``column_map`` is not valid.
    InputError
        For a file-level problem (see the module docstring).
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"ingest.encoding {encoding!r} is not supported; allowed: {', '.join(ENCODINGS)}.")
    paths = resolve_sources(source)
    names = display_names(paths, source=source)
    fmt = file_format(paths[0]) or ""
    if fmt == "parquet":
        columns = [(types, "") for types in parquet_columns(con, paths, names)]
    else:
        columns = [csv_columns(path, name=name, encoding=encoding) for path, name in zip(paths, names, strict=True)]
    _check_map_keys(column_map, [types for types, _delimiter in columns], names)
    described, extras = _described_files(paths, names, columns, fmt=fmt, column_map=column_map)
    groups = _group_files(described)
    unified = _unified_types([layout for _d, layout, _i in groups], fmt)

    con.execute(f"CREATE OR REPLACE TABLE {FILES_TABLE} (file_id INTEGER, source_file VARCHAR)")
    con.executemany(f"INSERT INTO {FILES_TABLE} VALUES (?, ?)", list(enumerate(names)))
    layouts = tuple((layout, tuple(indices)) for _d, layout, indices in groups) if fmt == "parquet" else ()
    malformed: list[pd.DataFrame] = []
    census: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="featurehealth-csv-") as scratch:
        for number, group in enumerate(groups):
            if fmt == "parquet":
                continue
            lines, counted = _load_csv_group(con, number, group, described=described, paths=paths, names=names,
                                             types=unified, fmt=fmt, encoding=encoding, scratch=Path(scratch))
            malformed += lines
            census.update(counted)
    # rowid follows the order of insertion, that is of the files' lines.
    union = (
        _parquet_union(layouts, paths, unified, range(len(paths)))
        if fmt == "parquet"
        else f"SELECT *, rowid AS row_no FROM {CSV_TABLE}"
    )
    con.execute(f"CREATE OR REPLACE VIEW {RAW_RELATION} AS {union}")
    bad_lines = _malformed_lines(malformed)
    if fmt != "parquet":
        _check_census(con, census, bad_lines, names)
    with naming_damaged_files(paths, names, fmt=fmt):
        total = con.execute(f"SELECT count(*) FROM {RAW_RELATION}").fetchall()[0][0]
    if total == 0 and bad_lines.empty:
        where = names[0] if len(names) == 1 else f"{len(names)} files from {source}"
        raise InputError(f"Input {where} holds no rows (a header at most); point ingest.source at files with events.")
    mapped = {src: canon for _p, _n, _t, mapping in described for canon, src in mapping.items() if src != canon}
    return RawEvents(
        relation=RAW_RELATION,
        types=unified,
        files=tuple(names),
        paths=tuple(paths),
        file_format=fmt,
        mapped=dict(sorted(mapped.items())),
        extra_columns=tuple(sorted(extras)),
        malformed=bad_lines,
        layouts=layouts,
    )


def _described_files(
    paths: Sequence[Path], names: Sequence[str], columns: Sequence[tuple[dict[str, str], str]], *, fmt: str,
    column_map: Mapping[str, str],
) -> tuple[list[tuple[Path, str, dict[str, str], dict[str, str]]], set[str]]:
    """Each file's path, delimiter, column types and canonical mapping, checked, and the columns no mapping reads."""
    described = []
    extras: set[str] = set()
    for path, name, (types, delimiter) in zip(paths, names, columns, strict=True):
        check_reader_columns(types, fmt=fmt, file=name)
        mapping = map_columns(list(types), column_map=column_map, file=name)
        check_event_time_type(types[mapping["event_time"]], column=mapping["event_time"], file=name)
        extras.update(c for c in types if c not in mapping.values())
        described.append((path, delimiter, types, mapping))
    return described, extras


def _load_csv_group(
    con: "duckdb.DuckDBPyConnection", number: int, group: tuple[str, Layout, list[int]], *,
    described: Sequence[tuple[Path, str, dict[str, str], dict[str, str]]], paths: Sequence[Path],
    names: Sequence[str], types: Mapping[str, str], fmt: str, encoding: str, scratch: Path,
) -> tuple[list["pd.DataFrame"], dict[int, int]]:
    """Read one group of CSV files sharing a layout into :data:`CSV_TABLE`: their malformed lines and line census."""
    import duckdb

    delimiter, layout, indices = group
    header = list(described[indices[0]][2])
    group_paths, renumbered, census, malformed = _split_where_needed(
        paths, names, indices=indices, scratch=scratch, encoding=encoding, delimiter=delimiter, n_fields=len(header)
    )
    rejects = f"fh_rejects_{number}"
    # The reader adds to reject tables left by an earlier input opened in this session.
    con.execute(f"DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {rejects}_scan")
    reader = _reader(fmt, group_paths, encoding=encoding, delimiter=delimiter, header=header, rejects=rejects)
    select = _group_select(layout, reader, types=types, indices=indices)
    statement = (
        f"CREATE OR REPLACE TABLE {CSV_TABLE} AS {select}" if number == 0
        else f"INSERT INTO {CSV_TABLE} {select}"
    )
    try:
        con.execute(statement)
    except duckdb.Error as exc:
        # Under latin-1 the reader refuses a whole group for bytes it does not decode, naming no file.
        for i in indices if encoding == "latin-1" else []:
            if (line := _undecodable_line(paths[i], encoding=encoding)) is not None:
                raise _undecodable_error(names[i], encoding, line=line) from None
        raise _read_error(names[indices[0]], fmt, encoding, exc) from None
    read = dict(zip(indices, group_paths, strict=True))
    found = _rejects(con, rejects, indices=indices, names=names, read=read, encoding=encoding)
    found = _file_lines(found, read, encoding=encoding)
    return [*malformed, _original_lines(found, renumbered)], census


def _split_where_needed(
    paths: Sequence[Path], names: Sequence[str], *, indices: Sequence[int], scratch: Path, encoding: str,
    delimiter: str, n_fields: int,
) -> tuple[list[Path], dict[int, SplitCsv], dict[int, int], list["pd.DataFrame"]]:
    """The files to read (split copies where needed), the copies' numbering, each file's records, unsplit lines."""
    import pandas as pd

    group_paths: list[Path] = []
    renumbered: dict[int, SplitCsv] = {}
    census: dict[int, int] = {}
    malformed = []
    for i in indices:
        census[i], recut = csv_line_census(paths[i], name=names[i], encoding=encoding, delimiter=delimiter)
        if not recut:
            group_paths.append(paths[i])
            continue
        # A quote left open would swallow the lines after it into one record (and DuckDB
        # 2.0 can drop that record's reject in multi-file reads): judge each line alone.
        # The copy ends every line in LF, which also reads a file of mixed line breaks.
        copy = scratch / f"{i}.csv"
        split = _split_copy(paths[i], names[i], copy, encoding=encoding, delimiter=delimiter, n_fields=n_fields)
        group_paths.append(copy)
        renumbered[i], census[i] = split, split.records + len(split.malformed)
        frame = pd.DataFrame(split.malformed, columns=["line", "raw_line", "error"]).astype({"line": "int64"})
        malformed.append(frame.assign(file_id=i)[["file_id", "line", "raw_line", "error"]])
    return group_paths, renumbered, census, malformed


def _malformed_lines(malformed: Sequence["pd.DataFrame"]) -> "pd.DataFrame":
    """The input's malformed lines (``file_id``, ``line``, ``raw_line``, ``error``) in file and line order."""
    import pandas as pd

    if not malformed:
        return pd.DataFrame({"file_id": pd.Series(dtype="int64"), "line": pd.Series(dtype="int64"),
                             "raw_line": pd.Series(dtype="str"), "error": pd.Series(dtype="str")})
    return (pd.concat(malformed, ignore_index=True)
            .astype({"file_id": "int64", "line": "int64"})
            .sort_values(["file_id", "line"], kind="stable", ignore_index=True))


def _parquet_union(
    layouts: Sequence[tuple[Layout, tuple[int, ...]]],
    paths: Sequence[Path],
    types: Mapping[str, str],
    file_ids: Iterable[int],
) -> str:
    """UNION ALL of one SELECT per layout over the files ``file_ids`` that have it."""
    wanted = set(file_ids)
    selects = []
    for layout, indices in layouts:
        chosen = [i for i in indices if i in wanted]
        if chosen:
            reader = _reader("parquet", [paths[i] for i in chosen], encoding="utf-8")
            selects.append(_group_select(layout, reader, types=types, indices=chosen))
    return " UNION ALL ".join(selects)


def parquet_relation(raw: RawEvents, file_ids: Iterable[int]) -> str:
    """SQL over the raw events of some Parquet files of ``raw``, runnable in any DuckDB session.

    The columns, ``file_id`` and ``row_no`` are those of ``raw.relation``, so a worker process
    can validate a subset of the files without the session that opened them.

    Raises
    ------
    ValueError
        If ``raw`` is not Parquet or ``file_ids`` selects no file.
    """
    if raw.file_format != "parquet":
        raise ValueError(f"parquet_relation needs Parquet input; this input is {raw.file_format}.")
    union = _parquet_union(raw.layouts, raw.paths, raw.types, file_ids)
    if not union:
        raise ValueError("parquet_relation needs at least one file id of the input.")
    return union


@dataclass(frozen=True)
class FooterStats:
    """What a Parquet footer says about one file's event times (microseconds since 1970, UTC)."""

    rows: int
    nulls: int
    low_us: int
    high_us: int


def epoch_us(value: object) -> int | None:
    """Microseconds since 1970 (UTC) of a footer statistic: a date, a datetime (naive = UTC)."""
    from datetime import UTC, datetime

    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days * 86_400_000_000
    return None


def footer_stats(path: Path, column: str) -> FooterStats | None:
    """Row count, null count and min/max of ``column`` from a Parquet footer, without reading data.

    Returns
    -------
    FooterStats or None
        None when the column is not a timestamp or date, or a row group lacks statistics.
    """
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if column not in names:
        return None
    index = names.index(column)
    if meta.schema.column(index).logical_type.type not in ("TIMESTAMP", "DATE"):
        return None
    nulls, lows, highs = 0, [], []
    for group in range(meta.num_row_groups):
        chunk = meta.row_group(group).column(index)
        stats = chunk.statistics
        if stats is None or not stats.has_null_count:
            return None
        nulls += stats.null_count
        if stats.has_min_max:
            lows.append(epoch_us(stats.min))
            highs.append(epoch_us(stats.max))
        elif stats.null_count != chunk.num_values:
            return None
    if not lows or None in lows or None in highs:
        return None
    return FooterStats(rows=meta.num_rows, nulls=nulls, low_us=min(lows), high_us=max(highs))


def event_time_column(raw: RawEvents, file_id: int) -> tuple[str, str] | None:
    """The file's own column feeding ``event_time`` and its DuckDB type (None for CSV input)."""
    for layout, indices in raw.layouts:
        if file_id in indices:
            return next((source, kind) for canon, source, kind in layout if canon == "event_time")
    return None


def _rejects(
    con: "duckdb.DuckDBPyConnection",
    table: str,
    *,
    indices: Sequence[int],
    names: Sequence[str],
    read: Mapping[int, Path],
    encoding: str,
) -> "pd.DataFrame":
    """Lines of one CSV group that did not split into fields; undecodable bytes raise InputError.

    ``read`` maps the group's file ids to the files the reader read (a re-cut copy or the file).
    """
    frame = con.execute(
        f"""SELECT DISTINCT CAST(file_id AS INTEGER) AS file_index, CAST(line AS BIGINT) AS line,
                   CAST(line_byte_position AS BIGINT) AS byte_position, csv_line AS raw_line, error_type AS error
            FROM {table} ORDER BY file_index, line, error"""
    ).df()
    frame["file_id"] = [indices[i] for i in frame["file_index"]]
    undecodable = frame["error"].str.contains("ENCODING")
    # The reader also reports an encoding error where an accented letter follows a closing quote:
    # only bytes that do not decode are one.
    for file_id in frame.loc[undecodable, "file_id"].unique():
        line = _undecodable_line(read[int(file_id)], encoding=encoding)
        if line is not None:
            raise _undecodable_error(names[int(file_id)], encoding, line=line)
    # One line can be reported once per missing field, and as an encoding error; keep one row per line.
    frame = frame.assign(spurious=undecodable).sort_values(["file_id", "line", "spurious"], kind="stable")
    frame = frame.drop_duplicates(["file_id", "line"], keep="first")
    # In a CRLF file DuckDB's line starts with the "\n" of the line before.
    frame = frame.assign(raw_line=frame["raw_line"].str.lstrip("\r\n"))
    return frame[["file_id", "line", "byte_position", "raw_line", "error"]].reset_index(drop=True)


def physical_lines(blocks: Iterable[bytes], positions: Sequence[int]) -> list[int]:
    """1-based numbers of the lines that CSV rejects' ``line_byte_position`` point at, in text read block by block.

    DuckDB's own ``line`` counts records, so a quoted value with line breaks earlier in the file
    shifts it; the byte position does not. In a CRLF file the position is the ``\\n`` ending the
    line before, so it is moved onto the line it reports. ``blocks`` are the text DuckDB parsed,
    in order and none empty (see :func:`_parsed_blocks`): only one is held at a time, whatever
    the file's size.
    """
    import numpy as np

    wanted = np.asarray(positions, dtype=np.int64)
    order = np.argsort(wanted, kind="stable")
    ordered = wanted[order]
    lines = np.empty(len(wanted), dtype=np.int64)
    offset, seen, done, last = 0, 0, 0, -1  # bytes and line breaks before the block, positions numbered, its last byte
    for block in blocks:
        view = np.frombuffer(block, dtype=np.uint8)
        breaks = np.flatnonzero(view == 10)
        upto = int(np.searchsorted(ordered, offset + len(view), side="left"))
        local = ordered[done:upto] - offset
        before = np.where(local > 0, view[np.maximum(local - 1, 0)], last)  # the byte before each position
        crlf = (view[local] == 10) & (before == 13)
        lines[order[done:upto]] = seen + np.searchsorted(breaks, local, side="left") + crlf + 1
        offset, seen, done, last = offset + len(view), seen + len(breaks), upto, int(view[-1])
    lines[order[done:]] = seen + 1  # past the end: the last line
    return lines.tolist()


def _parsed_blocks(path: Path, *, encoding: str) -> Iterator[bytes]:
    """The (possibly gzipped) file as DuckDB parses it, block by block: ``latin-1`` text re-encoded in UTF-8,
    where an accented letter takes two bytes (its rejects' byte positions count those)."""
    for block in _blocks(path):
        yield block.decode("latin-1").encode("utf-8") if encoding == "latin-1" else block


def _file_lines(rejects: "pd.DataFrame", read: Mapping[int, Path], *, encoding: str) -> "pd.DataFrame":
    """``rejects`` numbered by the lines of the files the reader read (``read``: file id -> path)."""
    if rejects.empty:
        return rejects.drop(columns="byte_position")
    lines = rejects["line"].to_numpy(copy=True)
    for file_id in rejects["file_id"].unique():
        rows = (rejects["file_id"] == file_id).to_numpy()
        blocks = _parsed_blocks(read[int(file_id)], encoding=encoding)
        lines[rows] = physical_lines(blocks, rejects.loc[rows, "byte_position"].tolist())
    return rejects.assign(line=lines).drop(columns="byte_position")


def _split_copy(path: Path, name: str, copy: Path, *, encoding: str, delimiter: str, n_fields: int) -> SplitCsv:
    """Write the records of one CSV file, cut by :func:`split_records`, to ``copy``."""
    with _open_bytes(path) as handle:
        data = handle.read()
    try:
        split = split_records(data, encoding=encoding, delimiter=delimiter, n_fields=n_fields)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _undecodable_error(name, encoding, line=line) from None
    copy.write_text(split.text, encoding=encoding)
    return split


def _original_lines(rejects: "pd.DataFrame", renumbered: Mapping[int, SplitCsv]) -> "pd.DataFrame":
    """``rejects`` with the line numbers of split copies mapped back to their files' own lines."""
    if rejects.empty or not renumbered:
        return rejects
    lines = rejects["line"].to_numpy(copy=True)
    for file_id, split in renumbered.items():
        rows = (rejects["file_id"] == file_id).to_numpy()
        lines[rows] = split.original_lines(lines[rows].tolist())
    return rejects.assign(line=lines)


def _check_census(
    con: "duckdb.DuckDBPyConnection", census: Mapping[int, int], malformed: "pd.DataFrame", names: Sequence[str]
) -> None:
    """Every non-empty line of every CSV file is a row or a malformed line, or InputError names the file."""
    rows = dict(con.execute(f"SELECT file_id, count(*) FROM {CSV_TABLE} GROUP BY file_id").fetchall())
    rejected = malformed.groupby("file_id").size()
    for file_id, lines in sorted(census.items()):
        accounted = rows.get(file_id, 0) + int(rejected.get(file_id, 0))
        if accounted != lines:
            raise InputError(
                f"File {names[file_id]} has {lines} lines after its header but the CSV reader accounted for "
                f"{accounted}; check its quotes and line breaks (or re-export it) so that no line is lost."
            )


def _numbered_records(handle: IO[str], *, delimiter: str) -> list[tuple[int, list[str]]]:
    """The non-empty CSV records of ``handle``, each with the number of the line it starts on.

    Raises
    ------
    csv.Error
        If the text is not CSV the reader can split.
    """
    import csv

    reader = csv.reader(handle, delimiter=delimiter)
    records, line = [], 1
    for record in reader:
        if record:
            records.append((line, record))
        line = reader.line_num + 1
    return records


def _read_small_csv(
    path: Path, *, what: str, key: str, required: Sequence[str], columns: Sequence[str]
) -> "pd.DataFrame":
    """A small side file (metadata, incidents) as strings (trimmed, NFC), with file-level errors as InputError.

    The errors name the file as ``what`` and the parameter ``key`` that sets its path.

    Its separator is found from its header line as the events' is (:func:`csv_delimiter`). The
    frame's index is the line each row starts on; a row with fewer values than the header has
    empty ones, and one ending in empty values past the header's columns (a separator ending
    every line) is cut to them.
    """
    import csv

    import pandas as pd

    if path.is_dir():
        raise InputError(f"The {what} path {path} is a folder; set {key} to the CSV file.")
    if problem := unreadable_entry(path, named=f"The {what} file", otherwise=f"set {key} to the CSV file"):
        raise InputError(problem)
    if not path.is_file():
        raise InputError(f"The {what} file {path} does not exist; create it or set {key}.")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            # The separators of the events files: a semicolon export's side files use it too.
            delimiter = csv_delimiter(handle.readline())
            handle.seek(0)
            records = _numbered_records(handle, delimiter=delimiter)
    except UnicodeDecodeError:
        raise InputError(f"The {what} file {path} is not valid UTF-8; re-save it as UTF-8.") from None
    except csv.Error as exc:
        raise InputError(f"The {what} file {path} cannot be read as CSV ({exc}); re-export it.") from None
    if not records:
        raise InputError(f"The {what} file {path} is empty; re-export it with a header row.")
    (_line, header), rows = records[0], records[1:]
    width = len(header)
    for line, row in rows:
        if any(value.strip() for value in row[width:]):
            raise InputError(
                f"The {what} file {path} has {len(row)} values on line {line} but {width} columns in its header; "
                f"remove the extra values or name their columns in the header."
            )
    frame = pd.DataFrame([(row + [""] * width)[:width] for _line, row in rows], index=[line for line, _row in rows],
                         columns=[name.strip().lower() for name in header], dtype=str)
    frame = frame.loc[:, ~frame.columns.duplicated()]  # a name given twice: the first column counts
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"The {what} file {path} has no column '{missing[0]}' (it has: {', '.join(frame.columns)}); add it."
        )
    # Trimmed and in Unicode NFC, as the events' text is (featurehealth.validate), so ids join them.
    frame = frame.apply(lambda s: s.str.strip().str.normalize("NFC"))
    for column in columns:
        if column not in frame.columns:
            frame[column] = ""
    return frame


def read_metadata(path: str | os.PathLike[str]) -> "pd.DataFrame":
    """Feature metadata (dim_feature_metadata) from a CSV file.

    Parameters
    ----------
    path : path-like
        CSV with at least ``feature_id``; absent optional columns become empty strings.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`METADATA_COLUMNS` as strings (trimmed, in Unicode NFC as the events' ids)
        but ``launch_date`` (dates, None when empty); an empty ``owner_team`` is "unassigned" and an empty ``feature_name`` the id;
        ``lifecycle_stage`` and ``tier`` lower-cased. One row per feature (the first wins), sorted
        by ``feature_id``; rows without an id are dropped.

    Raises
    ------
    InputError
        If the file is missing, unreadable or lacks ``feature_id``, or a row has more values than
        the header has columns, a lifecycle stage or tier outside :data:`METADATA_VALUES` or a
        launch date that is not YYYY-MM-DD.
    """
    import pandas as pd

    frame = _read_small_csv(
        Path(path), what="feature metadata", key="ingest.metadata_path", required=["feature_id"], columns=METADATA_COLUMNS
    )
    frame = frame.assign(**{column: frame[column].str.strip().str.lower() for column in METADATA_VALUES})
    launch = pd.to_datetime(frame["launch_date"].str.strip(), errors="coerce", format="%Y-%m-%d")
    problems = {
        column: ~frame[column].isin(("", *allowed)) for column, allowed in METADATA_VALUES.items()
    } | {"launch_date": launch.isna() & (frame["launch_date"].str.strip() != "")}
    for column, rows in problems.items():
        if rows.any():
            first = int(rows.to_numpy().argmax())
            allowed = ", ".join(METADATA_VALUES.get(column, ("a YYYY-MM-DD date",)))
            raise InputError(
                f"The feature metadata file {path} has {column} '{frame[column].iloc[first]}' "
                f"on line {frame.index[first]} "
                f"({display.count_text(int(rows.sum()), 'row')} in all); allowed: {allowed} or empty."
            )
    frame = frame.assign(
        launch_date=[d.date() if pd.notna(d) else None for d in launch],
        owner_team=frame["owner_team"].mask(frame["owner_team"].str.strip() == "", UNASSIGNED_OWNER),
        feature_name=frame["feature_name"].mask(frame["feature_name"].str.strip() == "", frame["feature_id"]),
    )
    frame = frame[frame["feature_id"] != ""].drop_duplicates("feature_id", keep="first")
    return frame[list(METADATA_COLUMNS)].sort_values("feature_id", kind="stable").reset_index(drop=True)


def read_incidents(path: str | os.PathLike[str]) -> "pd.DataFrame":
    """Ground-truth incidents (feature_id, start, end, kind, severity, precursor_days) from a CSV file.

    Returns
    -------
    pandas.DataFrame
        ``start``/``end`` as dates, ``severity``/``precursor_days`` numeric where they parse,
        sorted by ``feature_id``, ``start``.

    Raises
    ------
    InputError
        If the file is missing, unreadable or lacks ``feature_id``, ``start`` or ``end``, or a
        row has more values than the header has columns, no feature, a date that is not
        YYYY-MM-DD or ends before it starts: ground truth
        that is silently cut or guessed would make every lead-time figure wrong.
    """
    import pandas as pd

    frame = _read_small_csv(
        Path(path), what="incidents", key="ingest.incidents_path", required=["feature_id", "start", "end"],
        columns=INCIDENT_COLUMNS,
    )
    start = pd.to_datetime(frame["start"].str.strip(), errors="coerce", format="%Y-%m-%d")
    end = pd.to_datetime(frame["end"].str.strip(), errors="coerce", format="%Y-%m-%d")
    problems = {
        "no feature_id": (frame["feature_id"] == "").to_numpy(),
        "a start that is not a YYYY-MM-DD date": start.isna().to_numpy(),
        "an end that is not a YYYY-MM-DD date": end.isna().to_numpy(),
        "an end before its start": (end < start).to_numpy(),
    }
    for problem, rows in problems.items():
        if rows.any():
            first, bad = int(rows.argmax()), int(rows.sum())
            fix = "fix it or remove that row" if bad == 1 else "fix them or remove those rows"
            raise InputError(
                f"The incidents file {path} has {display.count_text(bad, 'row')} with {problem}, "
                f"first on line {frame.index[first]} "
                f"({frame['start'].iloc[first]} to {frame['end'].iloc[first]}); {fix}."
            )
    frame = frame.assign(
        start=[d.date() for d in start],
        end=[d.date() for d in end],
        severity=pd.to_numeric(frame["severity"], errors="coerce"),
        precursor_days=pd.to_numeric(frame["precursor_days"], errors="coerce"),
    )
    return frame[list(INCIDENT_COLUMNS)].sort_values(["feature_id", "start"], kind="stable").reset_index(drop=True)


def input_fingerprint(paths: Sequence[Path], names: Sequence[str]) -> str:
    """sha256 over the names and byte hashes of the input files: equal inputs, equal fingerprint."""
    digest = hashlib.sha256()
    for path, name in sorted(zip(paths, names, strict=True), key=lambda item: item[1]):
        digest.update(f"{name}\t{runlog.sha256_file(path)}\n".encode())
    return digest.hexdigest()


def input_facts(raw: RawEvents, inputs: InputLocations) -> dict[str, object]:
    """Where the run's inputs came from, for the ingest summary: source, side files, fingerprint.

    ``input_data_hash`` covers the bytes of every events file and of the side files used, so
    two runs on the same inputs report the same hash.
    """
    side = [p for p in (inputs.metadata, inputs.incidents) if p is not None and p.is_file()]
    names = [*raw.files, *(p.name for p in side)]
    return {
        "source": inputs.events,
        "source_identity": inputs.identity,
        "metadata_file": inputs.metadata.name if inputs.metadata else None,
        "incidents_file": inputs.incidents.name if inputs.incidents else None,
        "input_data_hash": input_fingerprint([*raw.paths, *side], names),
    }


def write_side_tables(paths: "RunPaths", **tables: "pd.DataFrame | None") -> list[Path]:
    """Hand the metadata and incidents to the aggregation step as ``work/<name>.parquet``.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    **tables : pandas.DataFrame or None
        ``metadata`` and/or ``incidents``; None removes a stale hand-over file.

    Raises
    ------
    ValueError
        If a name is not one of :data:`SIDE_TABLES`.
    """
    unknown = sorted(set(tables) - set(SIDE_TABLES))
    if unknown:
        raise ValueError(f"Unknown side table(s) {', '.join(unknown)}; allowed: {', '.join(SIDE_TABLES)}.")
    written = []
    for name, frame in sorted(tables.items()):
        target = paths.work / f"{name}.parquet"
        if frame is None:
            target.unlink(missing_ok=True)
        else:
            written.append(runlog.write_parquet(frame, target))
    return written


def read_side_tables(paths: "RunPaths") -> dict[str, "pd.DataFrame | None"]:
    """The side tables handed over by :func:`write_side_tables` (None where absent)."""
    import pandas as pd

    files = {name: paths.work / f"{name}.parquet" for name in SIDE_TABLES}
    return {name: pd.read_parquet(path) if path.is_file() else None for name, path in files.items()}
