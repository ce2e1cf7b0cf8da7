"""The bad-input corpus under tests/bad_inputs/: each file's expected outcome.

Every file ends in one of two ways: a clear :class:`featurehealth.ingest.InputError` naming the
file (file-level problem), or a run in which each row is valid or quarantined with a named
reason and ``rows_in = rows_valid + rows_quarantined`` holds. Never a traceback, never a lost row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from featurehealth import aggregate, engine, ingest, validate, warehouse

CORPUS = Path(__file__).parent / "bad_inputs"
NOW = datetime(2026, 11, 1, tzinfo=UTC)

#: file -> (rows_valid, {reason: rows}) for files that load.
QUARANTINED = {
    "wrong_types.csv": (1, {"invalid_number": 2, "invalid_is_crash": 1}),
    "negative_latency.csv": (1, {"negative_latency": 2}),
    "feedback_0_and_7.csv": (2, {"feedback_out_of_range": 2}),
    "unparseable_timestamps.csv": (1, {"invalid_event_time": 3}),
    "future_timestamps.csv": (1, {"future_event_time": 2}),
    "duplicated_events.csv": (3, {"duplicate_event": 2}),
    "extra_columns.csv": (2, {}),
    "quoted_newlines.csv": (2, {}),
    "bom.csv": (2, {}),
    "nan_null_strings.csv": (3, {"missing_feature_id": 1, "missing_user_id": 1, "missing_latency": 1}),
    "huge_numbers.csv": (1, {"latency_out_of_range": 3, "invalid_number": 1, "feedback_out_of_range": 1}),
    "ragged_rows.csv": (2, {"malformed_line": 2}),
    "semicolon.csv": (1, {"invalid_number": 1}),
    "missing_values.csv": (1, {"missing_event_time": 1, "missing_feature_id": 2, "missing_user_id": 1,
                               "missing_is_crash": 1, "missing_latency": 1}),
    "timestamp_forms.csv": (2, {"invalid_event_time": 1}),
}
#: file -> text the InputError must contain (besides the file's name).
REJECTED = {
    "empty.csv": "is empty (0 bytes); delete it or re-export it",
    "header_only.csv": "holds no rows (a header at most)",
    "missing_required_column.csv": "has no column 'user_id'",
    "non_utf8.csv": "not valid utf-8 (line 3); re-save it as UTF-8",
    "not_parquet.parquet": "cannot be read as Parquet",
    "duplicate_header.csv": "has two columns named 'event_time'",
    "all_rows_invalid.csv": "has 2 rows in the window but none is valid (2 invalid_number)",
}


def test_corpus_is_fully_covered() -> None:
    files = sorted(p.name for p in CORPUS.iterdir())
    assert files == sorted([*QUARANTINED, *REJECTED])
    assert len(files) >= 15


@pytest.mark.parametrize("name", sorted(QUARANTINED))
def test_row_problems_are_quarantined_with_a_reason(name: str, tmp_path: Path) -> None:
    con = warehouse.connect()
    raw = ingest.open_events(con, CORPUS / name, column_map={})
    result = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path, work_dir=tmp_path, now=NOW)
    summary = result.summary
    expected_valid, expected_reasons = QUARANTINED[name]
    assert summary["by_reason"] == expected_reasons
    assert summary["rows_valid"] == expected_valid
    assert summary["rows_in"] == summary["rows_valid"] + summary["rows_quarantined"] == summary["rows_read"]
    assert aggregate.read_window_fact(tmp_path)["usage_count"].sum() == expected_valid
    quarantine = pd.read_parquet(result.quarantine_path)
    assert quarantine["reason"].value_counts().to_dict() == expected_reasons
    assert set(quarantine["source_file"]) <= {name}


def test_specific_values_survive_parsing(tmp_path: Path) -> None:
    con = warehouse.connect()
    raw = ingest.open_events(con, CORPUS / "quoted_newlines.csv", column_map={})
    rows = _clean_rows(con, raw, "user_id, platform")
    assert rows == [("u,2", "web"), ("u1", "ios\nbeta")]
    raw = ingest.open_events(con, CORPUS / "timestamp_forms.csv", column_map={})
    times = _clean_rows(con, raw, "CAST(event_time AS VARCHAR)")
    assert times == [("2026-03-01 00:00:00+00",), ("2026-03-01 08:00:00+00",)]


def _clean_rows(con: object, raw: ingest.RawEvents, columns: str) -> list[tuple]:
    """Rows that pass every rule, as parsed."""
    validate.install_macros(con)
    checked = validate.checked_sql(raw.relation, raw.types, now=NOW, from_text=raw.file_format == "csv")
    return con.sql(f"SELECT {columns} FROM ({checked}) WHERE reason IS NULL ORDER BY ALL").fetchall()


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_file_problems_stop_with_one_sentence(name: str, tmp_path: Path) -> None:
    with pytest.raises(ingest.InputError) as caught:
        con = warehouse.connect()
        raw = ingest.open_events(con, CORPUS / name, column_map={})
        engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path, work_dir=tmp_path, now=NOW)
    message = str(caught.value)
    assert message.startswith(("File " + name, "Input " + name))
    assert REJECTED[name] in message
    assert message.count(". ") == 0 and message.endswith(".") and "\n" not in message
