"""Small, safe file writers shared by every step: atomic JSON/Parquet writes, hashes, step logs.

A step never leaves a half-written artifact: it writes a temporary file beside the target, flushes
it to disk and renames it over the target (``os.replace`` is atomic on one file system).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from featurehealth.config import RunPaths


def _clean_for_json(value: Any) -> Any:
    """Make numpy scalars, NaN and paths JSON-safe (NaN -> null), recursively."""
    if isinstance(value, dict):
        return {str(k): _clean_for_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_for_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    The temporary path does not exist yet when yielded (DuckDB refuses to open an existing empty
    file as a database); whatever the block leaves there is removed on failure.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        yield Path(tmp)
        # Renamed before its bytes reach the disk, the file can read empty after a power cut.
        descriptor = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as sorted, indented JSON (NaN as null), atomically."""
    text = json.dumps(_clean_for_json(obj), sort_keys=True, indent=2, allow_nan=False)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def json_problem(exc: OSError | ValueError) -> str:
    """Why :func:`read_json` failed, as a predicate of the file: "does not exist", "is not valid JSON (...)".

    Messages about a damaged report or card say it in these words, not in Python's
    (``JSONDecodeError: ...``), which a notebook user cannot act on.
    """
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, UnicodeDecodeError):
        return "is not UTF-8 text"
    if isinstance(exc, json.JSONDecodeError):
        return f"is not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})"
    return f"cannot be read ({exc.strerror or exc})" if isinstance(exc, OSError) else f"cannot be read ({exc})"


def read_json_if_present(path: str | os.PathLike[str]) -> Any:
    """:func:`read_json`, or None when the file is missing or not JSON (an optional report)."""
    try:
        return read_json(path)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def write_parquet(frame: "pd.DataFrame", path: str | os.PathLike[str], *, schema: "pa.Schema | None" = None) -> Path:
    """Write ``frame`` to Parquet (zstd, no index) through a temporary file, atomically.

    ``schema`` fixes the columns' Arrow types (default: inferred from the rows, so a column
    without any value would be stored as the type null).
    """
    with replacing(path) as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd", schema=schema)
    return Path(path)


def sha256_file(path: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def record_step(paths: "RunPaths", step: str, **facts: Any) -> Path:
    """Record facts about one notebook step (row counts etc.) for the run report.

    Parameters
    ----------
    paths : RunPaths
        The run's folders.
    step : str
        Notebook stem, e.g. ``"01_ingest"``.
    **facts
        JSON-serialisable facts, conventionally ``rows_in`` and ``rows_out``.

    Returns
    -------
    Path
        The file written, ``reports/steps/<step>.json``.

    Raises
    ------
    ValueError
        If ``step`` is empty.
    """
    if not step:
        raise ValueError("step must be a non-empty notebook stem such as '01_ingest'.")
    return write_json(paths.reports / "steps" / f"{step}.json", facts)
