"""Paths and parameter profiles: the one place that knows where things live.

Every path the pipeline reads or writes comes from here, so notebooks run from any folder.
A profile is one YAML file in ``params/``. ``params/default.yaml`` is complete and is the schema:
another profile may say ``extends: default`` and override only what differs; a key that is not in
``default.yaml`` is an error that lists the allowed keys. Dates stay text (``2026-06-30``), as
written; a number YAML 1.1 reads as octal (``010``) or base 60 (``2:30``) is an error.
:func:`load_run_params` also checks the values, so a run stops before its first notebook.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

#: Repository root: ``lib/featurehealth/config.py`` -> two levels up from the package.
REPO_ROOT = Path(__file__).resolve().parents[2]
PARAMS_DIR = REPO_ROOT / "params"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
#: Notebooks of a pipeline run, in order.
PIPELINE_NOTEBOOKS = ("01_ingest.ipynb", "02_aggregate.ipynb", "03_model.ipynb", "04_drift.ipynb")

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
#: A model version id (:func:`featurehealth.registry.model_version`): last training day, data and settings hash.
_MODEL_VERSION = re.compile(r"[0-9]{8}-[0-9a-f]{12}")
#: A run id (UTC start time and parameter hash); a run's staging copy is ``<profile>-<run id>``.
RUN_ID_PATTERN = r"\d{8}T\d{6}Z-[0-9a-f]{8}"
#: The start time's format in a run id (the part before its first "-").
RUN_ID_TIME = "%Y%m%dT%H%M%SZ"
#: The star schema's DuckDB database in an outputs folder (:attr:`RunPaths.warehouse`).
WAREHOUSE_FILE = "featurehealth.duckdb"
#: Longest path of a Unix socket on every system (macOS's sun_path holds 104 bytes with a closing NUL).
MAX_SOCKET_PATH = 103
_MISSING = object()

#: Choices of modules that import numpy, pandas or scipy (registry, drift, simulate take them from
#: here), so that checking a profile stays light.
RETRAIN_MODES = ("auto", "always", "never")
DRIFT_REFERENCES = ("training", "trailing")
DRIFT_METRICS = (
    "usage_count", "active_users", "avg_latency", "p50_latency", "p95_latency", "p99_latency",
    "crash_count", "crash_rate", "avg_feedback", "feedback_count",
)
SIMULATED_FILE_FORMATS = ("parquet", "csv")
#: The simulator separates a feature's episodes by 7 quiet days and a wait (tests/test_simulate.py
#: checks the wait is above its one-day floor here): beyond this rate it could place no more.
SIMULATED_MAX_INCIDENTS_PER_FEATURE_YEAR = 15.0


class ProfileError(ValueError):
    """A parameter profile is missing, unreadable or holds keys the pipeline does not know."""


def output_root() -> Path:
    """Folder holding one sub-folder per profile (``FEATUREHEALTH_OUTPUT_ROOT`` overrides; empty is unset)."""
    # An empty value (``$OUT`` unset in a cron line) would resolve to the current folder.
    return Path(os.environ.get("FEATUREHEALTH_OUTPUT_ROOT") or REPO_ROOT / "outputs").resolve()


def data_root() -> Path:
    """Folder for simulated raw telemetry (``FEATUREHEALTH_DATA_ROOT`` overrides; empty is unset)."""
    return Path(os.environ.get("FEATUREHEALTH_DATA_ROOT") or REPO_ROOT / "data").resolve()


def socket_parent(temp_dir: Path, *, room: int) -> Path:
    """Where kernel sockets ``room`` bytes long under their folder go: ``temp_dir``, or ``/tmp`` if too long there.

    A long ``TMPDIR`` (macOS's ``/var/folders/.../T``, a batch job's) left no kernel able to start
    ("ZMQError: File name too long", :data:`MAX_SOCKET_PATH`). The run's and Voila's socket folders
    are private wherever they are.

    >>> socket_parent(Path("/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T"), room=65)
    PosixPath('/tmp')
    """
    return temp_dir if len(os.fsencode(temp_dir)) + room <= MAX_SOCKET_PATH else Path("/tmp")


def pipeline_order_problem(names: Sequence[str]) -> str | None:
    """Why running the notebooks ``names`` by hand, in this order, in a fresh output folder fails; None if it works.

    Each pipeline notebook reads what the ones before it wrote (:data:`PIPELINE_NOTEBOOKS`), so
    running one needs all those before it, earlier. Other notebooks (the dashboard) are ignored.

    Parameters
    ----------
    names : sequence of str
        Notebook file names in the order they will run, e.g. ``["03_model.ipynb"]``.

    Returns
    -------
    str or None
        One sentence naming the notebooks to run and their order, or None.
    """
    chosen = [name for name in dict.fromkeys(names) if name in PIPELINE_NOTEBOOKS]
    if not chosen:
        return None
    needed = list(PIPELINE_NOTEBOOKS[: max(PIPELINE_NOTEBOOKS.index(name) for name in chosen) + 1])
    if chosen == needed:
        return None
    return (
        f"{', '.join(chosen)}: pipeline notebooks read what the ones before them wrote; "
        f"run {', '.join(needed)} in this order."
    )


@dataclass(frozen=True)
class RunPaths:
    """Where one run of a profile reads and writes.

    ``root`` is the published folder ``outputs/<profile>`` or, during a run, its staging copy.
    Each folder below is checked with :func:`check_not_being_replaced` when asked for, not only when
    the paths are made: a notebook's kernel keeps its paths while a run of the profile starts.
    """

    root: Path

    def _folder(self, name: str) -> Path:
        """``root / name``, once :func:`check_not_being_replaced` let ``root`` be written to."""
        return check_not_being_replaced(self.root) / name

    @property
    def in_run(self) -> bool:
        """Whether ``root`` is a run's staging copy (else a notebook run by hand writes in place)."""
        return published_path(self.root) != self.root

    @property
    def run_id(self) -> str | None:
        """The run's id when ``root`` is its staging copy (``<profile>-<run id>``), else None."""
        found = re.search(rf"-({RUN_ID_PATTERN})$", self.root.name) if self.in_run else None
        return found.group(1) if found else None

    @property
    def models(self) -> Path:
        """Model versions, their cards and the registry (:mod:`featurehealth.registry`)."""
        return self._folder("models")

    @property
    def reports(self) -> Path:
        """JSON and CSV reports of the notebooks (ingest summary, data quality, metrics, drift)."""
        return self._folder("reports")

    @property
    def tables(self) -> Path:
        """Parquet tables of the star schema."""
        return self._folder("tables")

    @property
    def quarantine(self) -> Path:
        """Rows that failed validation, with the reason of each."""
        return self._folder("quarantine")

    @property
    def work(self) -> Path:
        """Hand-over files between notebooks of one run (e.g. validated events)."""
        return self._folder("work")

    @property
    def runs(self) -> Path:
        """One folder per run: its executed notebooks and ``run_report.json``."""
        return self._folder("runs")

    @property
    def warehouse(self) -> Path:
        """Embedded DuckDB database holding the star schema for SQL access."""
        return self._folder(WAREHOUSE_FILE)

    def ensure(self) -> "RunPaths":
        """Create the standard sub-folders and return self.

        Not ``work``: the hand-over files create it as they are written (only 01_ingest writes
        them), so a notebook run by hand leaves no empty ``work/`` in the published outputs.
        """
        for folder in (self.models, self.reports, self.tables, self.quarantine):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def is_model_version(value: Any) -> bool:
    """Whether ``value`` is a model version id as :func:`featurehealth.registry.model_version` makes them."""
    return isinstance(value, str) and _MODEL_VERSION.fullmatch(value) is not None


def check_profile_name(profile: str) -> str:
    """Return ``profile`` if it is a safe file stem, else raise :class:`ProfileError`."""
    if not isinstance(profile, str) or not _PROFILE_NAME.match(profile):
        raise ProfileError(
            f"Profile name {profile!r} is not valid: use letters, digits, '-' or '_' "
            f"(a file params/<name>.yaml)."
        )
    return profile


class OutputsBusy(RuntimeError):
    """A notebook run by hand would write into published outputs a run of their profile is about to replace."""


def profile_lock_path(profile: str) -> Path:
    """The file a run of ``profile`` holds a lock on while it runs and publishes (``runner.profile_lock``)."""
    return output_root() / ".staging" / f"{profile}.lock"


def publish_journal_path(profile: str) -> Path:
    """Journal of a publish of ``profile`` (``runner.publish``): it exists only while entries are being
    swapped, or after a run was killed doing so, until the profile's next run puts the old ones back."""
    return output_root() / ".staging" / f"{profile}.publish.json"


#: Keys of a publish journal (``runner.publish``), all needed to undo it.
PUBLISH_JOURNAL_KEYS = ("staging", "published", "trash", "entries")


def read_publish_journal(journal: Path) -> tuple[dict[str, Any] | None, str]:
    """The plan a publish ``journal`` records, or None and why it cannot be read.

    Its bytes are synced before its rename but its folder is not: a machine that went down
    mid-publish can still leave it missing or unreadable. Read
    by the runner, which undoes the publish, and the dashboard, which says whether it can.

    Returns
    -------
    tuple
        The plan (:data:`PUBLISH_JOURNAL_KEYS`) and ""; or None and the problem (the error, or the keys missing).
    """
    from featurehealth import runlog

    try:
        plan = runlog.read_json(journal)
    except (OSError, ValueError) as exc:
        return None, f"it {runlog.json_problem(exc)}"
    missing = [k for k in PUBLISH_JOURNAL_KEYS if not isinstance(plan, dict) or k not in plan]
    return (None, f"it lacks {', '.join(missing)}") if missing else (plan, "")


def run_in_progress(profile: str) -> bool:
    """Whether a run of ``profile`` holds its lock now.

    The lock is only probed: a shared lock taken and released at once, so that a run starting at
    that moment is not refused, nor two probes refuse each other. No lock file: no run.
    """
    import fcntl

    try:
        handle = open(profile_lock_path(profile), "rb")  # noqa: SIM115 - closed by the with below
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def check_not_being_replaced(root: Path) -> Path:
    """Return ``root``, or raise :class:`OutputsBusy` if it is a profile's published folder that a run of the profile is replacing.

    A run writes into its staging copy and then swaps its folders into ``outputs/<profile>``: what
    a notebook run by hand writes there meanwhile is swapped out and lost. A staging copy (a run's
    own notebooks) or any other folder is never refused.
    """
    if root.parent != output_root() or not _PROFILE_NAME.match(root.name) or not run_in_progress(root.name):
        return root
    raise OutputsBusy(
        f"A run of profile '{root.name}' is in progress and will replace {root} when it publishes, "
        f"losing what this notebook writes there; wait for it to finish, or work on a copy "
        f"(cp -r {root} /tmp/{root.name}-scratch and set output_dir = \"/tmp/{root.name}-scratch\")."
    )


def run_paths(profile: str, *, output_dir: str | os.PathLike[str] | None = None) -> RunPaths:
    """Paths for ``profile``; ``output_dir`` (set by the runner to its staging folder) wins.

    A relative ``output_dir`` is taken from the repository root, as a relative ``ingest.source``
    is: a kernel's working folder depends on where it was started (JupyterLab's is ``notebooks/``).

    Raises
    ------
    ProfileError
        If ``output_dir`` is neither None nor a path (a ``parameters`` cell's ``output_dir = 5``).
    OutputsBusy
        If the folder is a profile's published one (a notebook run by hand) and a run of that
        profile is in progress (:func:`check_not_being_replaced`).
    """
    if output_dir is not None and not isinstance(output_dir, (str, os.PathLike)):
        raise ProfileError(f"output_dir must be a folder path as text (\"/tmp/ci-scratch\"), or \"\" for the "
                           f"profile's published outputs; got {output_dir!r}.")
    if output_dir:
        return RunPaths(check_not_being_replaced((REPO_ROOT / Path(output_dir).expanduser()).resolve()))
    return RunPaths(check_not_being_replaced(output_root() / check_profile_name(profile)))


def published_path(path: str | os.PathLike[str]) -> Path:
    """Where ``path`` lives once published: a run's staging copy
    (``<output root>/.staging/<profile>-<run id>``) or a file in it maps to
    ``<output root>/<profile>/...``, which is what a user can look at or fix; any other path is
    returned as it is.
    """
    path = Path(path)
    staging = output_root() / ".staging"
    try:
        inside = path.resolve().relative_to(staging.resolve())
    except ValueError:
        return path
    copy = re.fullmatch(rf"(.+)-{RUN_ID_PATTERN}", inside.parts[0]) if inside.parts else None
    if copy is None:
        return path
    return output_root() / copy.group(1) / Path(*inside.parts[1:])


def simulated_data_dir(profile: str) -> Path:
    """Folder where the simulator writes raw telemetry for ``profile``."""
    return data_root() / check_profile_name(profile)


def available_profiles() -> list[str]:
    """Names of the profiles in ``params/``, sorted."""
    return sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))


def run_folders(runs: Path) -> list[Path]:
    """The folders of ``runs`` named as run ids, in name (start time) order; none if it is missing.

    Other folders there are a user's own: no run of ours, to be neither marked nor removed.
    """
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir() and re.fullmatch(RUN_ID_PATTERN, p.name))


@functools.cache
def _loader() -> type:
    """A safe YAML loader that keeps date-like scalars (``2026-06-30``, ``2026-13-01``) as strings.

    It is libyaml's where PyYAML has it: a profile then parses in 0.6 ms instead of 10 ms. A key
    written twice in one mapping is an error (YAML requires unique keys), not the last one kept:
    PyYAML would silently drop the first ``model:`` group of a profile that has two. So is a number
    YAML 1.1 reads as octal (``010`` is 8) or base 60 (``2:30`` is 150), not another number.
    """
    import yaml

    safe = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def refuse_unexpected_base(construct: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def construct_number(loader: Any, node: Any) -> Any:
            text = str(node.value)
            digits = text.lstrip("+-").replace("_", "")
            octal = re.fullmatch(r"0[0-9]+", digits)
            if octal or ":" in text:
                meant = f"{text[0] if text[0] in '+-' else ''}{int(digits)}" if octal else ""
                read = f"octal {construct(loader, node)!r}" if octal else f"{construct(loader, node)!r} (base 60)"
                error = yaml.constructor.ConstructorError(
                    problem=f"YAML 1.1 reads {text} as {read} (write {meant + ', or ' if meant else ''}'{text}' for text)",
                    problem_mark=node.start_mark,
                )
                # --set words its own sentence from these (see _override_value_error).
                error.number = (text, read, meant or repr(construct(loader, node)))
                raise error
            return construct(loader, node)

        return construct_number

    class Loader(safe):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    error = yaml.constructor.ConstructorError(
                        problem=f"the key {key!r} appears twice (also at line {seen[key]})",
                        problem_mark=key_node.start_mark,
                    )
                    error.repeated_key = key
                    raise error
                seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

    Loader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in safe.yaml_implicit_resolvers.items()
    }
    for tag, construct in (("int", safe.construct_yaml_int), ("float", safe.construct_yaml_float)):
        Loader.add_constructor(f"tag:yaml.org,2002:{tag}", refuse_unexpected_base(construct))
    return Loader


def _yaml_problem(exc: Exception, *, text: str) -> str:
    """A YAML parse error of ``text`` on one line: what is wrong and where (PyYAML's own text spans four)."""
    import yaml

    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        # The reader gives a character offset, which no editor shows.
        line, line_start = text.count("\n", 0, exc.position) + 1, text.rfind("\n", 0, exc.position) + 1
        return (f"unacceptable character #x{exc.character:04x} ({exc.reason}) at line {line}, "
                f"column {exc.position - line_start + 1}")
    return " ".join(str(exc).split())


#: Values a profile file or a ``--set`` value may hold once its YAML aliases are expanded (default.yaml holds
#: about 150). Aliases nested nine deep held 9**10, and the value check that spelled one out hung the run.
MAX_YAML_VALUES = 10_000


def _expands_beyond(value: Any, *, limit: int) -> bool:
    """Whether ``value`` holds more than ``limit`` values, a part an alias shares counted wherever it appears
    (a value holding itself has no end). Stops counting at ``limit``, so it is quick whatever the expansion."""
    pending, count = [value], 0
    while pending:
        item = pending.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, set)):  # the containers a safe YAML loader builds besides dict
            pending.extend(item)
    return False


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ProfileError(
            f"Profile file {path} does not exist; available profiles: "
            f"{', '.join(available_profiles()) or 'none'}."
        )
    text = path.read_text(encoding="utf-8")
    try:
        loaded = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        raise ProfileError(f"Profile file {path} is not valid YAML: {_yaml_problem(exc, text=text)}; fix the file.") from exc
    if _expands_beyond(loaded, limit=MAX_YAML_VALUES):
        raise ProfileError(f"Profile file {path} holds more than {MAX_YAML_VALUES:,} values once its YAML aliases "
                           f"are expanded; write the values out.")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ProfileError(f"Profile file {path} must hold a mapping of parameter groups.")
    return loaded


def _lookup(tree: Any, parts: Sequence[str], missing: Any = None) -> Any:
    """The value at ``parts`` (a dotted key split) in nested mappings, else ``missing``."""
    for part in parts:
        if not isinstance(tree, dict) or part not in tree:
            return missing
        tree = tree[part]
    return tree


def _merge_checked(
    base: dict[str, Any], override: dict[str, Any], *, schema: dict[str, Any], where: str, source: str
) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``; keys are checked against ``schema``.

    A group (a non-empty mapping in ``schema``) is merged key by key and must stay a mapping;
    anything else, free-form mappings included (empty in ``default.yaml``, e.g. ``column_map``),
    is replaced whole.

    Raises
    ------
    ProfileError
        If a key is not in ``schema`` or a group is given a value that is not a mapping.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key not in schema:
            allowed = ", ".join(sorted(schema))
            raise ProfileError(
                f"Unknown parameter '{where}{key}' in {source}; allowed keys here: {allowed}."
            )
        default = schema[key]
        if isinstance(default, dict) and default:
            if not isinstance(value, dict):
                # In a notebook the group is a dict literal; papermill's -p passes a dict as text.
                if source == PARAMETERS_CELL and not where:
                    how = f'write {key} = {{"KEY": VALUE}} (with papermill: -y \'{key}: {{KEY: VALUE}}\')'
                elif source == "--set":
                    how = f"set its keys one by one ({where}{key}.KEY=VALUE)"
                else:
                    # A profile file: --set's dotted syntax is no YAML.
                    how = f"write each key on its own indented line under '{key}:'"
                raise ProfileError(
                    f"Parameter group '{where}{key}' in {source} must be a mapping, not {value!r}; "
                    f"{how}, keys: {', '.join(sorted(default))}."
                )
            merged[key] = _merge_checked(base[key], value, schema=default, where=f"{where}{key}.", source=source)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _parent_profile(parent: Any, *, path: Path) -> str:
    """The profile named by ``extends:`` in the profile file ``path``, checked to exist.

    The error names ``path``, the file to fix, not only the profile looked for.

    Raises
    ------
    ProfileError
        If ``parent`` is not a profile name or names no file in ``params/``.
    """
    available = f"available profiles: {', '.join(available_profiles()) or 'none'}"
    if not isinstance(parent, str) or not _PROFILE_NAME.match(parent):
        raise ProfileError(
            f"{path.name}: extends: {parent!r} is not a profile name; write a profile's name without "
            f".yaml, e.g. extends: default ({available})."
        )
    if not (PARAMS_DIR / f"{parent}.yaml").is_file():
        raise ProfileError(
            f"{path.name}: extends: {parent!r}, but {PARAMS_DIR / f'{parent}.yaml'} does not exist; "
            f"fix the name ({available})."
        )
    return parent


def load_profile(profile: str, *, extended_by: tuple[str, ...] = ()) -> dict[str, Any]:
    """Load ``params/<profile>.yaml`` merged over what it extends, with every key checked.

    Parameters
    ----------
    profile : str
        Profile name, e.g. ``"default"`` or ``"ci"``.
    extended_by : tuple of str
        The profiles being loaded that extend this one, nearest last (to catch a cycle).

    Returns
    -------
    dict
        Parameter groups (``simulate``, ``ingest``, ...), complete: every key of
        ``default.yaml`` is present.

    Raises
    ------
    ProfileError
        If the file is missing or invalid, holds a key ``default.yaml`` does not have, or its
        ``extends`` chain comes back to a profile in it.
    """
    check_profile_name(profile)
    if profile in extended_by:
        chain = " -> ".join(f"{name}.yaml" for name in (*extended_by, profile))
        # Name the profile the chain comes back to, and the cycle's files: the one loaded may only lead to it.
        cycle = extended_by[extended_by.index(profile):]
        which = "it" if len(cycle) == 1 else " or ".join(f"{name}.yaml" for name in cycle)
        raise ProfileError(f"Profile {profile!r} extends itself ({chain}); let {which} extend default.")
    default_path = PARAMS_DIR / "default.yaml"
    schema = _read_yaml(default_path)
    schema.pop("extends", None)
    if profile == "default":
        return schema
    path = PARAMS_DIR / f"{profile}.yaml"
    raw = _read_yaml(path)
    parent = _parent_profile(raw.pop("extends", "default"), path=path)
    # A profile naming itself is a cycle too: load_profile refuses it, as value_source could not end.
    base = load_profile(parent, extended_by=(*extended_by, profile))
    return _merge_checked(base, raw, schema=schema, where="", source=path.name)


def apply_overrides(params: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return ``params`` with ``group.key=value`` overrides applied (values parsed as YAML).

    Used by ``run_all.sh PROFILE --set ingest.as_of=2026-06-30`` for scheduled daily runs and
    backfills without editing the profile. ``group.mapping.name=value`` sets one entry of a
    free-form mapping (``ingest.column_map.crash_flag=is_crash``). Unknown keys raise
    :class:`ProfileError`, and so does an item without ``=`` or a value YAML cannot read or would
    misread (``010``, ``1:30``, ``[1, 2``), with one sentence naming the key and the ``--set`` to write.
    """
    import yaml

    schema = load_profile("default")
    merged = params
    for item in overrides:
        dotted, sep, text = item.partition("=")
        parts = dotted.split(".")
        if not sep or not dotted or any(not part for part in parts):
            raise ProfileError(_override_form_error(item))
        try:
            nested: Any = yaml.load(text, Loader=_loader()) if text else ""
        except yaml.YAMLError as exc:
            raise ProfileError(_override_value_error(dotted, text, exc)) from None
        comment = yaml_comment(text)
        if comment:
            raise ProfileError(f"{set_command(item)}: YAML reads {comment!r} as a comment and drops it; write "
                               f"{set_command(f'{dotted}={_yaml_text(text)}')} to keep it in the value as text.")
        if _expands_beyond(nested, limit=MAX_YAML_VALUES):
            raise ProfileError(f"--set {dotted}: the value holds more than {MAX_YAML_VALUES:,} values once its "
                               f"YAML aliases are expanded; write the value out.")
        mapping = next((i for i in range(1, len(parts) - 1) if _lookup(schema, parts[:i]) == {}), None)
        if mapping is not None:
            # Read as nested keys, the name would replace the whole mapping with a mapping in it.
            name, group = ".".join(parts[mapping:]), ".".join(parts[:mapping])
            raise ProfileError(
                f"--set {item}: the entry name {name!r} holds '.', which --set reads as nesting; write it in a "
                f"profile file under {group} ({parts[mapping - 1]}: {{{name!r}: {text}}})."
            )
        if len(parts) > 1 and _lookup(schema, parts[:-1]) == {}:
            entries = _lookup(merged, parts[:-1])
            nested = {**(entries if isinstance(entries, dict) else {}), parts[-1]: nested}
            parts = parts[:-1]
        for part in reversed(parts):
            nested = {part: nested}
        merged = _merge_checked(merged, nested, schema=schema, where="", source="--set")
    return merged


#: An example for messages about the form of a --set item.
_SET_EXAMPLE = "--set model.n_estimators=30"


def set_command(item: str) -> str:
    """``--set item`` as typed in a shell: bare when no character is special, else in double
    quotes as docs/operations.md ("Overriding parameters for one run") writes
    ``--set "ingest.source='no'"`` (single quotes when the item holds a character double quotes
    would not keep, backslashes before those when it holds both)."""
    if re.fullmatch(r"[\w.,:/+=@%-]+", item):
        return f"--set {item}"
    if not re.search(r'["$`\\!]', item):
        return f'--set "{item}"'
    if "'" not in item:
        return f"--set '{item}'"
    return '--set "' + re.sub(r'(["$`\\])', r"\\\1", item) + '"'


def yaml_comment(text: str) -> str:
    """The first comment in YAML ``text`` (from its ``#`` to the end of its line), or "" if none.

    A comment is a ``#`` at the start or after a space, outside quotes: ``a#b`` and ``'a #b'``
    hold none. ``text`` must be valid YAML.

    >>> yaml_comment("/data/raw #1/events")
    '#1/events'
    """
    import yaml

    end = 0
    # Tokens hold everything YAML reads; between two of them is only space or a comment.
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        between = text[end:token.start_mark.index].strip()
        if between.startswith("#"):
            return between.splitlines()[0]
        end = token.end_mark.index
    return ""


def _yaml_text(text: str) -> str:
    """``text`` as a single-quoted YAML scalar, which YAML reads back as that text."""
    return "'" + text.replace("'", "''") + "'"


def _unclosed(text: str) -> str:
    """What closes the brackets and quote a YAML flow value leaves open (``"[1, 2"`` -> ``"]"``), "" if none.

    Only a value that starts as a flow collection or a quoted scalar is judged: in plain text
    (``a[b``, ``it's``) brackets and quotes are ordinary characters. A quote opens a quoted
    scalar only where one can start (after ``[``, ``{``, ``,``, ``:`` or at the beginning).
    """
    if not text.lstrip().startswith(("[", "{", "'", '"')):
        return ""
    stack: list[str] = []
    quote, previous, i = "", "", 0
    while i < len(text):
        char = text[i]
        if quote == "'":
            if char == "'" and text[i + 1:i + 2] == "'":
                i += 1  # '' is a quote inside single quotes
            elif char == "'":
                quote = ""
        elif quote == '"':
            if char == "\\":
                i += 1
            elif char == '"':
                quote = ""
        elif char in "'\"" and previous in ("", "[", "{", ",", ":"):
            quote = char
        elif char in "[{":
            stack.append("]" if char == "[" else "}")
        elif char in "]}" and stack and stack[-1] == char:
            stack.pop()
        if not char.isspace():
            previous = char if not quote or char in "'\"" else previous
        i += 1
    return quote + "".join(reversed(stack))


def _override_form_error(item: str) -> str:
    """The sentence for a ``--set`` item that is not ``group.key=value``: what to write instead."""
    if "=" not in item:
        spaced = re.fullmatch(r"\s*([\w-]+(?:\.[\w-]+)+)\s*(?::\s*|\s+)(\S.*)", item)
        if spaced:
            return (f"{set_command(item)} has no '=' between the key {spaced[1]} and its value; "
                    f"write {set_command(f'{spaced[1]}={spaced[2]}')}.")
        if re.fullmatch(r"[\w-]+(?:\.[\w-]+)+", item):
            return f"{set_command(item)} has no '=VALUE'; write {set_command(item)}=VALUE, e.g. {_SET_EXAMPLE}."
    return f"{set_command(item)} names no parameter as GROUP.KEY=VALUE; write e.g. {_SET_EXAMPLE}."


def _override_value_error(key: str, text: str, exc: Exception) -> str:
    """The sentence for a ``--set key=text`` whose value YAML cannot read, or would misread: what to write instead."""
    said = set_command(f"{key}={text}")
    as_text = set_command(f"{key}={_yaml_text(text)}")
    number = getattr(exc, "number", None)
    if number is not None:
        written, read, meant = number
        if written == text.strip():
            instead = f"{set_command(f'{key}={meant}')} for the number, or {as_text} for text"
        else:
            instead = f"{meant} for the number, or {_yaml_text(written)} for text"
        return f"{said} is refused, as YAML 1.1 reads {written} as {read}; write {instead}."
    repeated = getattr(exc, "repeated_key", None)
    if repeated is not None:
        # "Quote it" would mislead here: quoted, the value is no mapping at all.
        return f"{said}: the key {repeated!r} appears twice in the value; write each key once."
    missing = _unclosed(text)
    if missing:
        closed = set_command(f"{key}={text}{missing}")
        if missing[0] in "'\"":
            return f"{said}: its quote {missing[0]} is not closed; write {closed}."
        return f"{said}: its {text.lstrip()[0]} is not closed; write {closed}, or {as_text} if it is text."
    mark = getattr(exc, "problem_mark", None)
    where = f" at character {mark.index + 1}" if mark is not None and mark.index < len(text) else ""
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    return f"{said}: the value is not valid YAML ({problem}{where}); fix it, or write {as_text} if it is text."


def _is_number(value: Any) -> bool:
    # NaN (the one value not equal to itself) is no number to set: every comparison with it is
    # false, so as a threshold it turns its rule off.
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def is_iso_day(value: Any) -> bool:
    """Whether ``value`` is text ``YYYY-MM-DD`` naming a real day (``fromisoformat`` alone takes ``20260101``)."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _subset_rule(choices: Sequence[str], *, at_least: int = 0) -> tuple[Callable[[Any], bool], str]:
    # A repeated name is a slip, and one that the drift step cannot compute with.
    return (
        lambda value: (isinstance(value, list) and all(isinstance(v, str) and v in choices for v in value)
                       and len(value) >= at_least and len(set(value)) == len(value)),
        f"a list of {'one or more' if at_least else 'some'} of {', '.join(choices)}, each once",
    )


def _is_whole(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _whole_rule(minimum: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda value: _is_whole(value, minimum), f"a whole number >= {minimum}")


def weeks_rule(*, allow_zero: bool = False) -> tuple[Callable[[Any], bool], str]:
    """Whole weeks, so that drift windows compare the same weekday mix: (test, allowed values as
    text), shared by the up-front check and ``drift.plan_windows``."""
    return (
        lambda value: _is_whole(value, 0) and value % 7 == 0 and (allow_zero or value > 0),
        "0 (off) or a positive multiple of 7 (whole weeks)" if allow_zero else "a positive multiple of 7 (whole weeks)",
    )


def _share_rule(*, one: bool = False) -> tuple[Callable[[Any], bool], str]:
    return (
        lambda value: _is_number(value) and 0 < value and (value <= 1 if one else value < 1),
        "a share in (0, 1]" if one else "a share in (0, 1)",
    )


#: Keys that must be whole numbers of at least 1 (counts and lengths).
_COUNTS = (
    "simulate.n_features", "simulate.n_days", "simulate.events_per_day", "engine.n_workers",
    "engine.threads_per_worker", "engine.partition_days", "degradation.baseline_days", "model.horizon_days",
    "model.n_estimators", "model.min_samples_leaf", "model.min_rows_per_tree", "model.permutation_repeats",
    "model.permutation_max_rows", "model.promote_min_positives", "drift.persist_days", "drift.prediction_min_rows_per_bin",
    "quality.volume_baseline_days", "quality.volume_min_baseline_days", "quality.stopped_after_days",
    "degradation.min_baseline_days",
)
#: Largest seed scikit-learn accepts as ``random_state``.
_MAX_SEED = 2**32 - 1


def _range_rule(*, low: float, high: float | None = None, low_open: bool = False) -> tuple[Callable[[Any], bool], str]:
    """A number from ``low`` (excluded with ``low_open``) up to ``high`` (None: no upper limit)."""
    def test(value: Any) -> bool:
        return _is_number(value) and (value > low if low_open else value >= low) and (high is None or value <= high)

    if high is None:
        return test, f"a number {'>' if low_open else '>='} {low:g}"
    return test, f"a share in {'(' if low_open else '['}{low:g}, {high:g}]"


#: Warn and fail (alert) thresholds that go together: (warn key, fail key, below). An "at or above"
#: check needs warn <= fail, a "below" check (``quality.grade(below=True)``: volume_drop, and the
#: KS p-value a drift alert must undercut) warn >= fail, else the fail level is reached before warn.
_THRESHOLD_PAIRS = (
    *((f"quality.{name}_warn", f"quality.{name}_fail", False) for name in (
        "missing_days", "late_rows", "duplicate_share", "null_rate", "out_of_range", "unknown_features",
    )),
    *((f"quality.{name}_warn_days", f"quality.{name}_fail_days", False) for name in ("published_gap", "freshness")),
    ("quality.volume_drop_warn", "quality.volume_drop_fail", True),
    *((f"drift.{name}_warn", f"drift.{name}_alert", False) for name in ("psi", "mean_change", "wasserstein")),
    ("drift.ks_pvalue_warn", "drift.ks_pvalue_alert", True),
)
#: Settings that must not exceed another: (smaller key, larger key, why).
_ORDERED_PAIRS = (
    ("drift.short_window_days", "drift.current_days", "the short window confirms the end of the current one"),
    ("drift.min_samples", "drift.current_days",
     "a current window holds at most current_days values, so every cell would be insufficient data"),
    # Checked whatever drift.reference says: the training reference falls back on the trailing one.
    ("drift.min_samples", "drift.reference_days",
     "the trailing reference (drift.reference: trailing, and training's fallback without a model's training window) "
     "holds at most reference_days values, so every cell would be insufficient data"),
    ("quality.volume_min_baseline_days", "quality.volume_baseline_days",
     "a baseline cannot need more days than it spans, or no feature-day is ever judged"),
    ("degradation.min_baseline_days", "degradation.baseline_days",
     "a baseline cannot need more days than it spans, or the relative rules never apply"),
)
#: Threshold keys that are shares of rows or feature-days (the volume ratio included).
_SHARES = (
    "quality.volume_drop_warn", "quality.volume_drop_fail", "quality.missing_days_warn", "quality.missing_days_fail",
    "quality.duplicate_share_warn", "quality.duplicate_share_fail", "quality.null_rate_warn", "quality.null_rate_fail",
    "quality.out_of_range_warn", "quality.out_of_range_fail", "drift.drift_share_retrain",
)
#: Threshold keys that count days, rows or features (0 allowed: the check warns or fails at once).
_NON_NEGATIVE_COUNTS = (
    "quality.published_gap_warn_days", "quality.published_gap_fail_days", "quality.late_rows_warn",
    "quality.late_rows_fail", "quality.freshness_warn_days", "quality.freshness_fail_days",
    "quality.unknown_features_warn", "quality.unknown_features_fail", "drift.max_model_age_days",
)


def check_threshold_pair(warn_key: str, warn: Any, fail_key: str, fail: Any, *, below: bool) -> None:
    """Raise ValueError if threshold ``warn`` lies beyond ``fail`` in its check's direction.

    Parameters
    ----------
    warn_key : str
        Dotted key of the warn threshold, for the message.
    warn : number
        Its value (already checked to be a number).
    fail_key : str
        Dotted key of the fail (or alert) threshold, for the message.
    fail : number
        Its value (already checked to be a number).
    below : bool
        Low values are bad (``quality.grade(below=True)``): warn must not be under fail.
    """
    if (warn < fail) if below else (warn > fail):
        relation, rule = ("below", "at or above") if below else ("above", "at or below")
        # The level is the key's last word before a unit: freshness_fail_days is a "fail" threshold.
        level = next(word for word in reversed(fail_key.split("_")) if word in ("fail", "alert"))
        raise ValueError(
            f"{warn_key} {warn!r} is {relation} {fail_key} {fail!r}; set the warn threshold {rule} the "
            f"{level} one, so a value warns before it {level}s."
        )


def check_not_above(small_key: str, small: Any, large_key: str, large: Any, *, why: str) -> None:
    """Raise ValueError if setting ``small`` exceeds ``large`` (both already checked to be numbers)."""
    if small > large:
        raise ValueError(f"{small_key} {small!r} is above {large_key} {large!r}; {why}.")


def check_short_window_samples(short_window_days: int, min_samples: int) -> None:
    """Raise ValueError if a short drift window (0 = off) is too short to hold ``min_samples`` days.

    Such a window is insufficient data on every run, so it never confirms an alert and every
    alert reads warn.
    """
    if 0 < short_window_days < min_samples:
        raise ValueError(
            f"drift.short_window_days {short_window_days!r} is below drift.min_samples {min_samples!r}; a short "
            f"window that can never hold enough days never confirms an alert, so every alert would read warn: "
            f"use a multiple of 7 at least drift.min_samples, or 0 (off)."
        )


def check_drop_before(drop_before: Any, *, window_start: Any) -> None:
    """Refuse an ``ingest.drop_before`` that would drop days the run's own window publishes.

    A window left to start on the input's first day starts on the stray day itself when its row is
    still in the input, so the start must be given.

    Raises
    ------
    ValueError
        If ``drop_before`` is set and ``window_start`` is empty or earlier.
    """
    if not (is_iso_day(drop_before) and isinstance(window_start, str)):
        return  # no drop, or a value its own rule refuses
    if not window_start:
        raise ValueError(f"ingest.drop_before {drop_before} needs ingest.window_start set on or after it, "
                         f"or the window may start on the days it drops")
    if is_iso_day(window_start) and drop_before > window_start:
        raise ValueError(f"ingest.drop_before {drop_before} is after ingest.window_start {window_start}: it would "
                         f"drop days this run publishes; set it on or before the window's first day")


def check_threshold_choice(*, operating_threshold: Any, calibrate: Any, alert_budget: Any) -> None:
    """Raise ValueError if ``model.operating_threshold``, ``calibrate`` and ``alert_budget`` cannot go together.

    ``auto`` is chosen on the calibration days, which only ``calibrate`` sets apart, and an alert
    budget chooses the threshold, so it needs ``auto``.
    """
    auto = operating_threshold == "auto"
    if auto and not calibrate:
        raise ValueError(
            "model.operating_threshold 'auto' is chosen on the calibration days; set model.calibrate: true "
            "or give a number."
        )
    if alert_budget is not None and not auto:
        raise ValueError(
            f"model.alert_budget chooses the threshold, so it needs operating_threshold 'auto'; "
            f"got operating_threshold {operating_threshold!r} (set alert_budget to null to keep it)."
        )


def _one_of_rule(choices: Sequence[str]) -> tuple[Callable[[Any], bool], str]:
    return (lambda value: isinstance(value, str) and value in choices, f"one of {', '.join(choices)}")


@functools.cache
def _value_rules() -> dict[str, tuple[Callable[[Any], bool], str]]:
    """Keys whose allowed values the type of their default does not tell: key -> (test, allowed)."""
    from featurehealth import ingest, quality

    return {
        **{key: _whole_rule(1) for key in _COUNTS},
        **{key: _range_rule(low=0, high=1) for key in _SHARES},
        **{key: _whole_rule(0) for key in _NON_NEGATIVE_COUNTS},
        **{f"drift.{name}_{level}": _range_rule(low=0)
           for name in ("psi", "mean_change", "wasserstein") for level in ("warn", "alert")},
        "drift.prediction_psi_retrain": _range_rule(low=0),
        "drift.retrain_data_growth": (
            lambda value: value is None or (_is_number(value) and value > 0),
            "null (off) or a number > 0, a share of the newest model's training days: 0.5 for 50 % more data",
        ),
        **{f"drift.ks_pvalue_{level}": (_range_rule(low=0, high=1, low_open=True)[0], "a p-value in (0, 1]")
           for level in ("warn", "alert")},
        "drift.reference_days": weeks_rule(),
        "drift.current_days": weeks_rule(),
        "drift.short_window_days": weeks_rule(allow_zero=True),
        # drift.Thresholds: a spread needs two values.
        "drift.min_samples": _whole_rule(2),
        # PSI compares at least two bins (drift.bin_edges).
        "drift.n_bins": _whole_rule(2),
        # The ranges degradation.degradation_rules enforces, checked here so 02_aggregate never stops on them.
        "degradation.min_usage": _range_rule(low=0),
        "degradation.min_feedback": _range_rule(low=0),
        "degradation.min_crashes": _range_rule(low=1),
        "degradation.crash_max_pvalue": (_range_rule(low=0, high=1, low_open=True)[0], "a p-value in (0, 1]"),
        **{f"degradation.{name}": _range_rule(low=0, low_open=True)
           for name in ("p95_latency_rel", "crash_rate_rel", "feedback_rel_drop")},
        # Limits on the metric's own scale: beyond it a rule never fires (crash_rate_abs: 5 meant as
        # 5 %) or fires on every judged day (feedback_abs: 6, p95_latency_abs_ms: 0), without a word.
        "degradation.p95_latency_abs_ms": _range_rule(low=0, low_open=True),
        **{f"degradation.{name}": _range_rule(low=0, high=1) for name in ("crash_rate_abs", "crash_rate_rel_floor")},
        "degradation.feedback_abs": (
            lambda value: _is_number(value) and 1 <= value <= 5, "a number in [1, 5], on the feedback scale"
        ),
        "model.test_share": _share_rule(),
        "model.calibration_share": _share_rule(),
        "model.max_samples": _share_rule(one=True),
        "simulate.start_date": (is_iso_day, "a date YYYY-MM-DD"),
        "ingest.drop_before": (lambda value: value == "" or is_iso_day(value), '"" (none) or a date YYYY-MM-DD'),
        # The ranges simulate.check_parameters enforces, checked here so 01_ingest never stops on them.
        "simulate.seed": _whole_rule(0),
        "simulate.malformed_share": (lambda value: _is_number(value) and 0 <= value < 0.5, "a share in [0, 0.5)"),
        "simulate.incidents_per_feature_year": (
            lambda value: _is_number(value) and 0 <= value <= SIMULATED_MAX_INCIDENTS_PER_FEATURE_YEAR,
            f"a number in [0, {SIMULATED_MAX_INCIDENTS_PER_FEATURE_YEAR:g}]",
        ),
        "simulate.file_format": _one_of_rule(SIMULATED_FILE_FORMATS),
        "ingest.encoding": _one_of_rule(ingest.ENCODINGS),
        "quality.stop_on_fail": _subset_rule(quality.CHECKS),
        "model.operating_threshold": (
            lambda value: value == "auto" or (_is_number(value) and 0 < value < 1), "auto or a probability in (0, 1)"
        ),
        "model.alert_budget": (
            lambda value: value is None or (_is_number(value) and value >= 0),
            "null or a number >= 0 (false alerts per feature-month)",
        ),
        "model.risk_buckets": (
            lambda value: value == "auto" or (
                isinstance(value, list) and len(value) == 2 and all(map(_is_number, value)) and 0 < value[0] < value[1] < 1
            ),
            "auto or two increasing cut-offs in (0, 1), e.g. [0.3, 0.6]",
        ),
        "model.retrain": _one_of_rule(RETRAIN_MODES),
        "run.keep_runs": (lambda value: _is_whole(value, 0), "a whole number >= 0 (0 keeps every run folder)"),
        "model.keep_versions": (lambda value: _is_whole(value, 0), "a whole number >= 0 (0 keeps every model version)"),
        # A folder under models/, named as registry.model_version names them: never a path out of it.
        "model.use_version": (
            lambda value: value is None or is_model_version(value),
            "null or a model version under models/ (models/registry.json lists them), e.g. 20260430-0123456789ab",
        ),
        # joblib's convention: -1 all cores, -2 all but one...; 0 has no meaning and failed 03_model.
        "model.n_jobs": (
            lambda value: _is_whole(value, 1) or (_is_number(value) and _is_whole(-value, 1)),
            "a whole number >= 1, or -1 for all cores (-2 all but one...)",
        ),
        "model.max_depth": (lambda value: value is None or _is_whole(value, 1), "null (no limit) or a whole number >= 1"),
        # What scikit-learn's RandomForestClassifier accepts, which otherwise fails 03_model.
        "model.max_features": (
            lambda value: value is None or value in ("sqrt", "log2") or _is_whole(value, 1)
            or (isinstance(value, float) and 0 < value <= 1),
            "sqrt, log2, null (all signals), a whole number >= 1 or a share in (0, 1]",
        ),
        "model.class_weight": (
            lambda value: value is None or value in ("balanced", "balanced_subsample"),
            "balanced, balanced_subsample or null",
        ),
        "model.random_state": (
            lambda value: _is_whole(value, 0) and value <= _MAX_SEED, f"a whole number in 0..{_MAX_SEED}"
        ),
        "drift.reference": _one_of_rule(DRIFT_REFERENCES),
        "drift.metrics": _subset_rule(DRIFT_METRICS, at_least=1),
    }


def _type_rule(default: Any) -> tuple[Callable[[Any], bool], str] | None:
    """What a value must be, judged from its default in ``default.yaml`` (None: not judged)."""
    if isinstance(default, bool):
        return lambda value: isinstance(value, bool), "true or false"
    if _is_number(default):
        return _is_number, f"a number like the default {default!r}"
    if isinstance(default, list):
        return lambda value: isinstance(value, list), f"a list like the default {default!r}"
    if isinstance(default, str):
        # YAML reads an unquoted no, on or 2026 as a boolean or a number: a folder named "no"
        # would be looked for as "False". An optional text (default "") may also be null: none.
        optional = default == ""
        return lambda value: isinstance(value, str) or (optional and value is None), (
            f"text like the default {default!r}{' or null' if optional else ''}, quoted where YAML would "
            f"read a true/false{'' if optional else ', null'} or number (ingest.source='no')"
        )
    return None


def _leaves(tree: dict[str, Any], where: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{where}{key}.")
        else:
            yield f"{where}{key}", value


def _yaml_number(text: str, accepts: Callable[[Any], bool]) -> str | None:
    """How to write ``text``, a number YAML 1.1 reads as text (``1e9``, ``1.0e9``), so that ``accepts`` takes it; else None.

    YAML 1.1 needs a dot and a signed exponent (``1.0e+9``): without them a value the user meant as
    a number arrives as text, and "use a number" alone does not say why it was refused.
    """
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    for candidate in ([int(number)] if number.is_integer() else []) + [number]:
        if accepts(candidate):
            written = repr(candidate)
            if "e" in written:  # repr's 1e-07 is text to YAML again: give it a dot
                mantissa, exponent = written.split("e")
                written = f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"
            return written
    return None


def _check_value(key: str, value: Any, default: Any) -> None:
    # The window's dates get their own sentence from validate.resolve_window.
    rule = _value_rules().get(key) or (None if key in WINDOW_KEYS else _type_rule(default))
    if rule is not None and not rule[0](value):
        written = _yaml_number(value, rule[0]) if isinstance(value, str) else None
        hint = "" if not written else (
            f"; quoted, it is text: write {written} without quotes" if written == value.strip()
            else f"; YAML reads {value} as text, not a number: write {written}"
        )
        raise ValueError(f"{key} {value!r} is not valid; use {rule[1]}{hint}.")


def check_column_map(column_map: Any) -> dict[str, str]:
    """Return ``ingest.column_map`` if it maps each of the user's column names onto a distinct canonical column.

    Raises
    ------
    ValueError
        If it is not a mapping, names a target that is not in
        :data:`featurehealth.ingest.CANONICAL_TYPES`, or maps two columns onto one target.
    """
    from featurehealth import ingest

    canonical = ", ".join(ingest.CANONICAL_TYPES)
    if not isinstance(column_map, dict):
        raise ValueError(
            f"ingest.column_map {column_map!r} is not a mapping; use {{their_name: canonical_name}} "
            f"with canonical names {canonical}."
        )
    sources: dict[Any, list[str]] = {}
    for theirs, target in column_map.items():
        # Names match whatever their case (ingest.column_key): Event_Time as a key is event_time.
        if isinstance(target, str) and target not in ingest.CANONICAL_TYPES:
            if ingest.column_key(target) in ingest.CANONICAL_TYPES:
                raise ValueError(
                    f"ingest.column_map maps {theirs!r} onto {target!r}; canonical names are written in lower "
                    f"case: write {{{theirs}: {ingest.column_key(target)}}}."
                )
            if ingest.column_key(theirs) in ingest.CANONICAL_TYPES:
                raise ValueError(
                    f"ingest.column_map maps {theirs!r} onto {target!r}, the wrong way round: write "
                    f"{{{target}: {ingest.column_key(theirs)}}}, your column's name first, then one of {canonical}."
                )
        if not isinstance(target, str) or target not in ingest.CANONICAL_TYPES:
            raise ValueError(f"ingest.column_map maps {theirs!r} onto {target!r}; use one of {canonical}.")
        sources.setdefault(target, []).append(str(theirs))
    for target, names in sources.items():
        if len(names) > 1:
            raise ValueError(
                f"ingest.column_map maps both {' and '.join(map(repr, names))} onto {target!r}; "
                f"map one column onto each canonical column."
            )
    return column_map


def _value_checks(params: dict[str, Any], schema: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Callable[[], Any]]]:
    """Each up-front check of ``params``: the keys it reads and a call raising ValueError."""
    from featurehealth import engine, validate

    for key, default in _leaves(schema):
        yield (key,), functools.partial(_check_value, key, _lookup(params, key.split(".")), default)
    # Group checks apply to the groups the schema has (a test's small default.yaml may lack them).
    ingest_keys = schema.get("ingest", {})
    if "column_map" in ingest_keys:
        yield ("ingest.column_map",), functools.partial(check_column_map, params["ingest"]["column_map"])
    if {"as_of", "window_start", "window_end"} <= set(ingest_keys):
        # With the data's range unknown, the window's own order is all that can be checked here.
        window = {key: params["ingest"][key] for key in ("as_of", "window_start", "window_end")}
        yield tuple(f"ingest.{k}" for k in window), functools.partial(
            validate.resolve_window, first_day=date.min, last_day=date.max, **window
        )
    if {"drop_before", "window_start"} <= set(ingest_keys):
        yield ("ingest.drop_before", "ingest.window_start"), functools.partial(
            check_drop_before, params["ingest"]["drop_before"], window_start=params["ingest"]["window_start"]
        )
    pair_checks = [
        *((check_threshold_pair, warn_key, fail_key, {"below": below}) for warn_key, fail_key, below in _THRESHOLD_PAIRS),
        *((check_not_above, small_key, large_key, {"why": why}) for small_key, large_key, why in _ORDERED_PAIRS),
    ]
    for check, first_key, second_key, options in pair_checks:
        if all(_lookup(schema, key.split("."), _MISSING) is not _MISSING for key in (first_key, second_key)):
            yield (first_key, second_key), functools.partial(
                check, first_key, _lookup(params, first_key.split(".")),
                second_key, _lookup(params, second_key.split(".")), **options,
            )
    if {"short_window_days", "min_samples"} <= set(schema.get("drift", {})):
        yield ("drift.short_window_days", "drift.min_samples"), functools.partial(
            check_short_window_samples, params["drift"]["short_window_days"], params["drift"]["min_samples"]
        )
    threshold_keys = ("operating_threshold", "calibrate", "alert_budget")
    if set(threshold_keys) <= set(schema.get("model", {})):
        yield tuple(f"model.{k}" for k in threshold_keys), functools.partial(
            check_threshold_choice, **{k: params["model"][k] for k in threshold_keys}
        )
    if "engine" in schema:
        yield tuple(f"engine.{k}" for k in params["engine"]), functools.partial(engine.check_engine, **params["engine"])


def value_source(key: str, *, profile: str, overrides: Sequence[str]) -> str:
    """Where the value of dotted ``key`` comes from: the last ``--set`` naming it, else the nearest profile file."""
    for item in reversed(overrides):
        dotted = item.partition("=")[0]
        if dotted == key or dotted.startswith(f"{key}.") or key.startswith(f"{dotted}."):
            return f"--set {item}"
    name = profile
    while name != "default":
        raw = _read_yaml(PARAMS_DIR / f"{name}.yaml")
        if _lookup(raw, key.split("."), _MISSING) is not _MISSING:
            return f"{name}.yaml"
        name = raw.get("extends", "default")
    return "default.yaml"


def load_run_params(profile: str, *, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The profile with ``overrides`` applied and every value checked: what a run uses.

    Values are checked with the pipeline modules' own checks where those are light to import,
    else in plain Python (:data:`RETRAIN_MODES` and the like), so a bad value stops a run
    before its first notebook.

    Raises
    ------
    ProfileError
        If a key is unknown or a value is not allowed; the message names the key, the value,
        the allowed values and where the value was set (profile file or ``--set``).
    """
    params = apply_overrides(load_profile(profile), list(overrides))

    def source(keys: tuple[str, ...]) -> str:
        found = dict.fromkeys(value_source(key, profile=profile, overrides=overrides) for key in keys)
        return " and ".join(s for s in found if s != "default.yaml" or len(found) == 1)

    _raise_on_bad_value(params, load_profile("default"), source=source)
    return params


def _raise_on_bad_value(
    params: dict[str, Any], schema: dict[str, Any], *, source: Callable[[tuple[str, ...]], str]
) -> None:
    """Run every check of :func:`_value_checks`; the first failure is a ProfileError saying where the value came from."""
    for keys, check in _value_checks(params, schema):
        try:
            check()
        except ValueError as exc:
            raise ProfileError(f"{str(exc).rstrip('.')} (from {source(keys)}).") from None


#: Keys a re-run or backfill command sets itself (a drop is done once, and another window could refuse it):
#: the run's other differing values are repeated.
WINDOW_KEYS = ("ingest.as_of", "ingest.window_start", "ingest.window_end", "ingest.drop_before")


def _set_value(value: Any) -> str:
    """``value`` as ``--set`` reads it back (YAML): text as is unless YAML would read it otherwise."""
    if isinstance(value, str):
        import yaml

        try:
            plain = yaml.load(value, Loader=_loader()) == value
        except yaml.YAMLError:
            plain = False
        return value if plain and value else json.dumps(value)
    return json.dumps(value)


def rerun_overrides(profile_params: dict[str, Any], run_params: dict[str, Any]) -> list[str]:
    """The ``--set`` arguments that repeat a run's values differing from its profile's, window aside.

    A command the run suggests (``late_rows``'s re-run, ``published_gap``'s backfill) must read
    the same source as the run: given only the new window, a run whose ``ingest.source`` or
    ``simulate`` settings came from ``--set`` would read the profile's source and be refused by
    the source-change check.

    Parameters
    ----------
    profile_params : dict
        The profile's groups (:func:`load_profile`).
    run_params : dict
        The run's groups (some or all of them), resolved.

    Returns
    -------
    list of str
        Shell-quoted ``--set group.key=value`` items in the order of ``run_params``, without
        :data:`WINDOW_KEYS`; one item per changed entry of a mapping such as ``ingest.column_map``.
    """
    import shlex

    items = []
    for group, values in run_params.items():
        profile_values = profile_params.get(group) or {}
        for key, value in values.items():
            dotted, before = f"{group}.{key}", profile_values.get(key, _MISSING)
            if dotted in WINDOW_KEYS or value == before:
                continue
            if isinstance(value, dict) and isinstance(before, dict):
                changed = [(f"{dotted}.{k}", v) for k, v in value.items() if before.get(k, _MISSING) != v]
            else:
                changed = [(dotted, value)]
            items += [f"--set {shlex.quote(f'{name}={_set_value(v)}')}" for name, v in changed]
    return items


def params_hash(params: dict[str, Any]) -> str:
    """Stable sha256 of a parameter mapping (key order does not matter)."""
    blob = json.dumps(params, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


#: Where :func:`resolve_params` says a notebook's own values come from.
PARAMETERS_CELL = "the notebook's parameters cell"


def resolve_params(profile: str, **groups: dict[str, Any]) -> dict[str, Any]:
    """Parameter groups for a notebook: the profile's, with the keys given in ``groups`` set over them.

    The runner injects whole groups; a notebook run by hand has empty groups in its ``parameters``
    cell, or the few keys a user set there (``model = {"n_estimators": 30}``), which change only
    those keys: the group's other keys keep the profile's values. Keys and values are checked as
    a run checks them, so a typo is an error rather than a silently ignored key.

    Parameters
    ----------
    profile : str
        Profile whose ``params/<profile>.yaml`` fills what ``groups`` leave out.
    **groups : dict
        Group name -> the keys to set (empty: all from the profile).

    Returns
    -------
    dict
        Each group of ``groups``, complete.

    Raises
    ------
    ProfileError
        If a group is not in the profiles or not a mapping, a key is not in ``default.yaml`` or a
        value is not allowed; the message names the key and the allowed keys or values.
    """
    loaded = load_profile(profile)
    schema = load_profile("default")
    resolved: dict[str, Any] = {}
    for name, value in groups.items():
        if name not in loaded:
            raise ProfileError(
                f"Parameter group {name!r} is not in the profiles; known groups: {', '.join(sorted(loaded))}."
            )
        # Only a mapping sets keys: a falsy non-mapping (model = "", 0, None) gets the error any
        # non-mapping gets rather than passing for {} (all the profile's values).
        resolved[name] = _merge_checked(loaded, {name: value}, schema=schema, where="", source=PARAMETERS_CELL)[name]
    # The checks of a run (load_run_params), group checks such as ingest.column_map's included.
    _raise_on_bad_value(resolved, {name: schema[name] for name in resolved}, source=lambda _keys: PARAMETERS_CELL)
    return resolved
