"""Atomic writers and step records."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from featurehealth import config, runlog


def test_write_json_is_sorted_and_nan_safe(tmp_path: Path) -> None:
    target = runlog.write_json(tmp_path / "a" / "r.json", {"b": np.float64(math.nan), "a": np.int64(3)})
    assert target.read_text() == '{\n  "a": 3,\n  "b": null\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["r.json"]


def test_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    target = runlog.write_json(tmp_path / "r.json", {"ok": 1})
    with pytest.raises(TypeError):
        runlog.write_json(target, {"bad": object()})
    assert runlog.read_json(target) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_write_parquet_round_trips(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    path = runlog.write_parquet(frame, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / "f").write_bytes(b"featurehealth" * 1000)
    assert runlog.sha256_file(tmp_path / "f", chunk_size=7) == hashlib.sha256(b"featurehealth" * 1000).hexdigest()


def test_record_step(tmp_path: Path) -> None:
    paths = config.RunPaths(tmp_path)
    written = runlog.record_step(paths, "01_ingest", rows_in=10, rows_out=9)
    assert written == tmp_path / "reports" / "steps" / "01_ingest.json"
    assert runlog.read_json(written) == {"rows_in": 10, "rows_out": 9}
    with pytest.raises(ValueError, match="non-empty"):
        runlog.record_step(paths, "")


def test_read_json_if_present_is_none_for_a_missing_or_broken_file(tmp_path: Path) -> None:
    assert runlog.read_json_if_present(tmp_path / "missing.json") is None
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    assert runlog.read_json_if_present(tmp_path / "broken.json") is None
    (tmp_path / "binary.json").write_bytes(b'{"a": "\xff"}')  # not UTF-8, so not JSON either
    assert runlog.read_json_if_present(tmp_path / "binary.json") is None
    runlog.write_json(tmp_path / "ok.json", {"a": 1})
    assert runlog.read_json_if_present(tmp_path / "ok.json") == {"a": 1}


def test_written_bytes_reach_the_disk_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Renamed before its data was flushed, a file can read empty after a power cut (delayed
    # allocation): the old file gone, the new one without its bytes.
    events: list[tuple[str, int]] = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.fstat(fd).st_ino)), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", os.stat(a).st_ino)), replace(a, b))[1])
    target = runlog.write_parquet(pd.DataFrame({"x": [1]}), tmp_path / "t.parquet")
    inode = target.stat().st_ino
    assert events[:2] == [("fsync", inode), ("replace", inode)]


@pytest.mark.parametrize(("content", "problem"), [
    (None, "does not exist"),
    ("{\n  \"a\": 1,\n", "is not valid JSON (Expecting property name enclosed in double quotes: line 3, column 1)"),
    (b"\xff{}", "is not UTF-8 text"),
], ids=["missing", "cut", "binary"])
def test_json_problem_says_why_a_json_file_cannot_be_read_in_words(
    tmp_path: Path, content: str | bytes | None, problem: str
) -> None:
    # Messages quoted the exception instead: "(JSONDecodeError: ...)", "(KeyError: 'file_sha256')".
    path = tmp_path / "r.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises((OSError, ValueError)) as failed:
        runlog.read_json(path)
    assert runlog.json_problem(failed.value) == problem
