"""Row rules, quarantine, duplicates, windows and row accounting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurehealth import aggregate, engine, ingest, runlog, validate, warehouse

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ROWS = (
    "event_time,feature_id,user_id,latency_ms,is_crash,feedback_score\n"
    "2026-03-01T10:00:00Z,search,u1,10,0,\n"
    "2026-03-01T10:00:00Z,search,u1,10,0,\n"       # duplicate of the row above
    "2026-03-01T11:00:00Z,search,u2,-1,0,\n"       # negative_latency
    "2026-03-02T09:00:00Z,login,u1,20,yes,4\n"
    "2026-03-02T09:30:00Z,login,u3,20,1,9\n"       # feedback_out_of_range
    "2026-03-03T09:00:00Z,login,u4,30,0,\n"
    "2030-01-01T00:00:00Z,login,u5,30,0,\n"        # future_event_time
    "garbage,login,u6,30,0,\n"                     # invalid_event_time
)


def _validate(tmp_path: Path, text: str = ROWS, **window: str) -> tuple[validate.ValidationResult, object]:
    source = tmp_path / "in" / "events.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(text, encoding="utf-8")
    con = warehouse.connect()
    raw = ingest.open_events(con, source, column_map={})
    result = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW, **window)
    return result, con


DAILY_HEADER = "event_time,feature_id,user_id,latency_ms,is_crash\n"


def _daily_files(folder: Path, rows_of_day: str) -> None:
    """events_2026-03-01.csv and events_2026-03-02.csv under ``folder``: ``rows_of_day`` with ``{day}`` filled in."""
    folder.mkdir(parents=True, exist_ok=True)
    for day in ("01", "02"):
        (folder / f"events_2026-03-{day}.csv").write_text(DAILY_HEADER + rows_of_day.format(day=day))


def _clean_rows(con: object, raw: ingest.RawEvents, columns: str) -> list[tuple]:
    """Rows that pass every rule (duplicates included), as parsed."""
    checked = validate.checked_sql(raw.relation, raw.types, now=NOW, from_text=raw.file_format == "csv")
    return con.sql(f"SELECT DISTINCT {columns} FROM ({checked}) WHERE reason IS NULL ORDER BY ALL").fetchall()


def test_rows_are_valid_or_quarantined_with_a_reason(tmp_path: Path) -> None:
    result, con = _validate(tmp_path)
    summary = result.summary
    assert (summary["rows_in"], summary["rows_valid"], summary["rows_quarantined"]) == (8, 3, 5)
    assert summary["by_reason"] == {
        "invalid_event_time": 1, "future_event_time": 1, "negative_latency": 1,
        "feedback_out_of_range": 1, "duplicate_event": 1,
    }
    quarantine = pd.read_parquet(result.quarantine_path)
    assert list(quarantine.columns) == list(validate.QUARANTINE_COLUMNS)
    assert sorted(quarantine["reason"]) == sorted(["invalid_event_time", "future_event_time", "negative_latency",
                                                   "feedback_out_of_range", "duplicate_event"])
    negative = quarantine[quarantine["reason"] == "negative_latency"].iloc[0]
    assert (negative["field"], negative["latency_ms"], negative["source_file"]) == ("latency_ms", "-1", "events.csv")
    fact = aggregate.read_window_fact(tmp_path)
    assert fact[["feature_id", "usage_count", "crash_count"]].values.tolist() == [
        ["login", 1, 1], ["login", 1, 0], ["search", 1, 0]]


def test_a_window_without_one_valid_row_stops_with_the_reasons(tmp_path: Path) -> None:
    # A semicolon export with decimal commas read as ... every latency is "10,5": not a number.
    text = "event_time,feature_id,user_id,latency_ms,is_crash\n" + "".join(
        f'2026-03-01T10:0{i}:00Z,search,u{i},"10,5",0\n' for i in range(3)
    )
    with pytest.raises(ingest.InputError, match=r"Input events.csv has 3 rows in the window but none is valid \(3 invalid_number\)"):
        _validate(tmp_path, text)
    validate.check_some_valid({"rows_in": 0, "rows_valid": 0, "by_reason": {}}, mapped={}, files=["a"])  # no rows: no verdict


@pytest.mark.parametrize("window", [{}, {"as_of": "2026-03-01", "window_start": "2026-03-01"}])
def test_input_without_one_usable_event_time_names_a_value_and_the_format(tmp_path: Path, window: dict) -> None:
    # Epoch milliseconds in CSV: setting the window (as the old message advised) cannot help.
    text = "event_time,feature_id,user_id,latency_ms,is_crash\n" + "".join(
        f"177232323058{i},search,u{i},10,0\n" for i in range(3))
    with pytest.raises(ingest.InputError, match=r"No row of events.csv has a usable event_time \(3 invalid_event_time, "
                                                r"e.g. '1772323230580' in events.csv\).*ISO 8601"):
        _validate(tmp_path, text, **window)


def test_a_window_whose_rows_all_lack_a_usable_time_suggests_the_time_format(tmp_path: Path) -> None:
    # One file of the export has day-first dates: its window has no valid row.
    _daily_files(tmp_path / "in", "2026-03-{day}T10:00:00Z,search,u1,10,0\n")
    (tmp_path / "in" / "events_2026-03-03.csv").write_text(DAILY_HEADER + "03/03/2026 10:00,search,u1,10,0\n")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "in", column_map={})
    with pytest.raises(ingest.InputError, match=r"none is valid \(1 invalid_event_time\); export event_time as ISO 8601"):
        engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW,
                                      as_of="2026-03-03", window_start="2026-03-03")


def test_a_time_zone_abbreviation_is_invalid_not_read_with_another_offset(tmp_path: Path) -> None:
    # "PST" is -08:00 but the reader took it as Los Angeles time (-07:00 in April) and refused "PDT":
    # an export's winter rows were read, its summer rows quarantined, some an hour off. UTC and GMT
    # mean one offset, and a zone's name (America/Los_Angeles) its rules.
    text = "event_time,feature_id,user_id,latency_ms,is_crash\n" + "".join(
        f"{value},search,u{i},10,0\n" for i, value in enumerate([
            "2026-04-01 23:30:00 PST", "2026-04-01 23:30:00 PDT", "2026-04-01 23:30:00 CET",
            "2026-04-01 23:30:00 UTC", "2026-04-01 23:30:00 gmt", "2026-04-01 23:30:00 America/Los_Angeles",
        ]))
    result, con = _validate(tmp_path, text)
    assert result.summary["by_reason"] == {"invalid_event_time": 3}
    fact = aggregate.read_window_fact(tmp_path)
    assert fact[["date", "usage_count"]].astype(str).values.tolist() == [["2026-04-01", "2"], ["2026-04-02", "1"]]


def test_an_offset_after_a_space_as_sql_server_and_snowflake_write_it_is_read(tmp_path: Path) -> None:
    # SQL Server's datetimeoffset and Snowflake's default output put a space before the offset: every
    # row of such an export was quarantined as invalid_event_time.
    text = "event_time,feature_id,user_id,latency_ms,is_crash\n" + "".join(
        f"{value},search,u{i},10,0\n" for i, value in enumerate([
            "2026-04-01 23:30:00.0000000 -07:00", "2026-04-01 23:30:00.000 -0700", "2026-04-01 20:30:00 +02",
            "2026-04-01 20:30:00 -07:00 PDT", "2026-04-01 23:30:00 - 07:00",
        ]))
    result, con = _validate(tmp_path, text)
    assert result.summary["by_reason"] == {"invalid_event_time": 2}
    fact = aggregate.read_window_fact(tmp_path)
    assert fact[["date", "usage_count"]].astype(str).values.tolist() == [["2026-04-01", "1"], ["2026-04-02", "2"]]


def test_as_of_and_window_default_to_the_data(tmp_path: Path) -> None:
    result, _ = _validate(tmp_path)
    assert (result.summary["as_of"], result.summary["window_start"], result.summary["window_end"]) == (
        "2026-03-03", "2026-03-01", "2026-03-03")
    assert result.daily_counts.to_dict("records") == [
        {"feature_id": "login", "date": date(2026, 3, 2), "events": 1},
        {"feature_id": "login", "date": date(2026, 3, 3), "events": 1},
        {"feature_id": "search", "date": date(2026, 3, 1), "events": 1},
    ]


def test_rows_outside_the_window_are_counted_apart(tmp_path: Path) -> None:
    result, con = _validate(tmp_path, window_start="2026-03-02", window_end="2026-03-02", as_of="2026-03-03")
    summary = result.summary
    # 3 rows dated 2026-03-01 and 1 dated 2026-03-03 are outside; undated/future rows are always in.
    assert (summary["rows_read"], summary["rows_outside_window"], summary["rows_in"]) == (8, 4, 4)
    # The window ends before the as-of date; the feed itself has the as-of day (freshness judges that).
    assert (summary["last_event_date"], summary["latest_input_date"]) == ("2026-03-02", "2026-03-03")
    assert summary["rows_in"] == summary["rows_valid"] + summary["rows_quarantined"]
    assert aggregate.read_window_fact(tmp_path)["usage_count"].sum() == summary["rows_valid"]


def test_undated_rows_belong_to_their_files_window(tmp_path: Path) -> None:
    _daily_files(tmp_path / "daily", "2026-03-{day}T10:00:00Z,a,u,1,0\nnot-a-time,a,u,1,0\n2099-01-01,a,u,1,0\n")
    (tmp_path / "daily" / "undatable.csv").write_text(DAILY_HEADER + ",a,u,1,0\n")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "daily", column_map={})
    result = engine.validate_and_aggregate(
        con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW, window_start="2026-03-02")
    summary = result.summary
    assert summary["by_reason"] == {"missing_event_time": 1, "invalid_event_time": 1, "future_event_time": 1}
    assert (summary["rows_in"], summary["rows_outside_window"]) == (4, 3)
    quarantine = pd.read_parquet(result.quarantine_path)
    assert sorted(quarantine["source_file"]) == ["events_2026-03-02.csv"] * 2 + ["undatable.csv"]


def _quarantine(*rows: tuple[str, str | None, str]) -> pd.DataFrame:
    """Quarantine rows (source_file, event_date or None, reason); the other columns empty."""
    frame = pd.DataFrame([dict.fromkeys(validate.QUARANTINE_COLUMNS)] * len(rows)).astype("object")
    frame[["source_file", "event_date", "reason"]] = pd.DataFrame(rows, dtype="object").to_numpy()
    return frame.assign(event_date=pd.to_datetime(frame["event_date"]).dt.date, line=pd.Series(dtype="Int64"))


def _merged(previous: pd.DataFrame, window: pd.DataFrame, *, files: list[str]) -> list[tuple]:
    con = warehouse.connect()
    con.register("previous", previous)
    con.register("window_rows", window)
    query = validate.merge_quarantine_sql(
        "previous", "window_rows", start=date(2026, 3, 2), end=date(2026, 3, 3), files=files)
    return con.sql(f"SELECT source_file, CAST(event_date AS VARCHAR), reason FROM ({query})").fetchall()


def test_merge_quarantine_replaces_what_the_window_rejudged_and_keeps_the_rest() -> None:
    previous = _quarantine(
        ("d1.csv", "2026-03-01", "negative_latency"),      # before the window: kept
        ("d2.csv", "2026-03-02", "negative_latency"),      # in the window: replaced
        ("d2.csv", None, "invalid_event_time"),            # undated, its file re-read: replaced
        ("d1.csv", None, "invalid_event_time"),            # undated, its file not read: kept
        ("d4.csv", "2026-03-04", "duplicate_event"),       # after the window: kept
    )
    window = _quarantine(("d2.csv", "2026-03-02", "missing_user_id"), ("d2.csv", None, "malformed_line"))
    assert _merged(previous, window, files=["d2.csv", "d3.csv"]) == [
        ("d1.csv", None, "invalid_event_time"),
        ("d1.csv", "2026-03-01", "negative_latency"),
        ("d2.csv", None, "malformed_line"),
        ("d2.csv", "2026-03-02", "missing_user_id"),
        ("d4.csv", "2026-03-04", "duplicate_event"),
    ]
    # A window that judged no file's undated rows keeps them all.
    assert ("d2.csv", None, "invalid_event_time") in _merged(previous, window.iloc[:0], files=[])


def test_quarantine_without_event_date_gets_it_from_event_time() -> None:
    old = _quarantine(("a.csv", None, "negative_latency"), ("a.csv", None, "future_event_time")).drop(
        columns="event_date").assign(event_time=" 2026-03-01T23:30:00Z", line=[1, 2])
    con = warehouse.connect()
    con.register("old", old)
    query = validate.published_quarantine_sql("old", list(old.columns))
    assert con.sql(f"SELECT reason, CAST(event_date AS VARCHAR) FROM ({query}) ORDER BY 1").fetchall() == [
        ("future_event_time", None), ("negative_latency", "2026-03-01")]


def test_later_windows_add_to_the_published_quarantine(tmp_path: Path) -> None:
    _daily_files(tmp_path / "daily", "2026-03-{day}T10:00:00Z,a,u,1,0\n2026-03-{day}T11:00:00Z,a,u,-1,0\nbad,a,u,1,0\n")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "daily", column_map={})

    def run(day: str) -> pd.DataFrame:
        result = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW,
                                               as_of=day, window_start=day)
        assert result.summary["rows_quarantined"] == 2
        return pd.read_parquet(result.quarantine_path)

    run("2026-03-01")
    run("2026-03-02")
    rerun = run("2026-03-02")
    assert sorted(zip(rerun["source_file"], rerun["reason"], strict=True)) == [
        ("events_2026-03-01.csv", "invalid_event_time"), ("events_2026-03-01.csv", "negative_latency"),
        ("events_2026-03-02.csv", "invalid_event_time"), ("events_2026-03-02.csv", "negative_latency"),
    ]


def test_duplicates_keep_the_first_copy(tmp_path: Path) -> None:
    text = "event_time,feature_id,user_id,latency_ms,is_crash\n" + "2026-03-01,a,u,1.0,0\n2026-03-01,a,u,1,false\n" * 2
    result, con = _validate(tmp_path, text)
    # "1.0"/"1" and "0"/"false" parse to equal values: four copies of one event.
    assert result.summary["by_reason"] == {"duplicate_event": 3}
    assert aggregate.read_window_fact(tmp_path)["usage_count"].tolist() == [1]


def test_copies_of_another_files_rows_are_counted_by_the_file_holding_them(tmp_path: Path) -> None:
    # A day delivered twice under another name: the run said how many copies, not where they were.
    rows = "".join(f"2026-03-25T10:0{i}:00Z,search,u{i},10,0\n" for i in range(3))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "events_2026-03-25.csv").write_text(DAILY_HEADER + rows + rows.splitlines(keepends=True)[0])
    (folder / "events_2026-03-25_resend.csv").write_text(DAILY_HEADER + rows)
    (folder / "events_2026-03-26.csv").write_text(DAILY_HEADER + "2026-03-26T10:00:00Z,search,u1,10,0\n")
    con = warehouse.connect()
    raw = ingest.open_events(con, folder, column_map={})
    result = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW)
    assert result.summary["by_reason"] == {"duplicate_event": 4}
    # The copy within the first file repeats no other file's row.
    assert result.summary["repeated_files"] == [
        {"file": "events_2026-03-25_resend.csv", "repeats": "events_2026-03-25.csv", "rows": 3}]



def test_repeated_files_list_the_file_holding_most_copies_first() -> None:
    repeated = pd.DataFrame({"file_id": [1, 2, 2], "first_file": [0, 0, 0], "day": [1, 1, 2], "n": [1, 2, 1]})
    assert validate.repeated_files(repeated, files=["a.csv", "b.csv", "c.csv"]) == [
        {"file": "c.csv", "repeats": "a.csv", "rows": 3}, {"file": "b.csv", "repeats": "a.csv", "rows": 1}]

def test_parquet_typed_columns(tmp_path: Path) -> None:
    table = pa.table({
        "event_time": pa.array(pd.to_datetime(["2026-03-01T23:30:00Z"] * 4), pa.timestamp("us", tz="UTC")),
        "feature_id": ["a", "", "a", "null"],
        "user_id": ["u1", "u2", "u3", "u4"],
        "latency_ms": [1.0, 2.0, float("nan"), 4.0],
        "is_crash": pa.array([0, 1, 0, 2], pa.int64()),
        "feedback_score": [float("nan"), 3.0, None, None],
    })
    (tmp_path / "p").mkdir()
    pq.write_table(table, tmp_path / "p" / "e.parquet")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "p", column_map={})
    result = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW)
    assert result.summary["by_reason"] == {"missing_feature_id": 2, "missing_latency": 1}
    rows = _clean_rows(con, raw, "feature_id, is_crash, feedback_score, CAST(event_time AS VARCHAR)")
    assert rows == [("a", False, None, "2026-03-01 23:30:00+00")]


def _validate_parquet(tmp_path: Path, rows: dict[str, list], *, is_crash: list[bool], work_dir: Path):
    """Validate four events, one a minute from 10:00 on 2026-03-01, given as a Parquet file (quarantine in tmp_path/pq)."""
    table = pa.table({
        "event_time": pa.array(pd.to_datetime([f"2026-03-01T10:0{i}:00Z" for i in range(4)]), pa.timestamp("us", tz="UTC")),
        **rows, "latency_ms": [1.0] * 4, "is_crash": is_crash,
    })
    (tmp_path / "p").mkdir()
    pq.write_table(table, tmp_path / "p" / "e.parquet")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "p", column_map={})
    return engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "pq", work_dir=work_dir, now=NOW)


@pytest.mark.parametrize("rows", [
    # An id padded with spaces is the same feature, and a blank one is missing, whatever the format.
    {"feature_id": ["a", " a ", "   ", "b"], "user_id": ["u1", "u1 ", "u2", " "]},
    # A tab or no-break space around an id made a feature of its own ("a\t", even "\t" alone), while the
    # metadata, trimmed by str.strip, named it "a": its events never joined their metadata.
    {"feature_id": ["a", "a\t", "\t", "\u00a0a"], "user_id": ["u1", "u1\t", "u2", "\u3000"]},
], ids=["spaces", "any-whitespace"])
def test_ids_are_trimmed_of_any_whitespace_as_the_side_files_are_whatever_the_format(
    tmp_path: Path, rows: dict[str, list[str]],
) -> None:
    csv_text = "event_time,feature_id,user_id,latency_ms,is_crash\n" + "".join(
        f'2026-03-01T10:0{i}:00Z,"{f}","{u}",1,0\n' for i, (f, u) in enumerate(zip(*rows.values(), strict=True))
    )
    csv_result, _ = _validate(tmp_path / "csv", csv_text)
    result = _validate_parquet(tmp_path, rows, is_crash=[False] * 4, work_dir=tmp_path)
    assert result.summary["by_reason"] == csv_result.summary["by_reason"] == {"missing_feature_id": 1, "missing_user_id": 1}
    for folder in (tmp_path, tmp_path / "csv"):
        fact = aggregate.read_window_fact(folder)
        assert fact[["feature_id", "usage_count", "active_users"]].values.tolist() == [["a", 2, 1]]


def test_whitespace_is_every_character_python_strips() -> None:
    assert set(validate.WHITESPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}


def test_database_dumps_null_marker_is_no_value(tmp_path: Path) -> None:
    # MySQL's SELECT ... INTO OUTFILE, Hive and PostgreSQL's COPY write \N for NULL: the events without
    # feedback (most of them) are not invalid numbers, and a \N id is missing, as "null" is.
    text = (
        "event_time,feature_id,user_id,latency_ms,is_crash,feedback_score,error_count\n"
        "2026-03-01T10:00:00Z,search,u1,10,0,\\N,\\N\n"
        "2026-03-01T10:01:00Z,search,u2,10,0,4,0\n"
        "2026-03-01T10:02:00Z,\\N,u3,10,0,\\N,1\n"
    )
    result, _con = _validate(tmp_path, text)
    assert result.summary["by_reason"] == {"missing_feature_id": 1}
    fact = aggregate.read_window_fact(tmp_path)
    assert fact[["feature_id", "usage_count", "feedback_count"]].values.tolist() == [["search", 2, 1]]


def test_unreadable_values_of_required_columns_are_counted_beside_missing_ones(tmp_path: Path) -> None:
    # An export with US dates or decimal commas in part of its rows lost them to quarantine under
    # "data quality: pass": null_rate counted only empty values, and no check counted unreadable ones.
    text = (
        "event_time,feature_id,user_id,latency_ms,is_crash\n"
        "2026-03-01T10:00:00Z,search,u1,10,0\n"
        "03/01/2026 10:01:00,search,u2,10,0\n"
        '2026-03-01T10:02:00Z,search,u3,"10,5",0\n'
        "2026-03-01T10:03:00Z,search,u4,10,maybe\n"
        ",search,u5,10,0\n"
    )
    result, _con = _validate(tmp_path, text)
    assert result.summary["null_counts"] == {"event_time": 1, "feature_id": 0, "user_id": 0, "latency_ms": 0, "is_crash": 0}
    assert result.summary["unreadable_counts"] == {
        "event_time": 1, "feature_id": 0, "user_id": 0, "latency_ms": 1, "is_crash": 1,
    }


def test_unreadable_optional_numbers_are_counted_and_missing_ones_are_not(tmp_path: Path) -> None:
    # A feedback_score or error_count that is not a number was quarantined as invalid_number and
    # counted by no data-quality check; an empty one is an event without feedback, by design.
    text = (
        "event_time,feature_id,user_id,latency_ms,is_crash,feedback_score,error_count\n"
        "2026-03-01T10:00:00Z,search,u1,10,0,,\n"
        '2026-03-01T10:01:00Z,search,u2,10,0,"4,5",0\n'
        "2026-03-01T10:02:00Z,search,u3,10,0,4,many\n"
        "2026-03-01T10:03:00Z,,u4,10,0,n/a,one\n"
    )
    result, _con = _validate(tmp_path, text)
    assert result.summary["by_reason"] == {"missing_feature_id": 1, "invalid_number": 2}
    assert result.summary["unreadable_counts"] == {
        "event_time": 0, "feature_id": 0, "user_id": 0, "latency_ms": 0, "is_crash": 0,
        "feedback_score": 1, "error_count": 2,
    }


def test_a_date_before_1970_is_counted_as_an_unreadable_event_time(tmp_path: Path) -> None:
    # Quarantined as invalid_event_time ("unreadable event time") like a US date, but null_rate did not
    # count it: a feed of zero epochs written as New York time without an offset passed data quality.
    text = (
        "event_time,feature_id,user_id,latency_ms,is_crash\n"
        "2026-03-01T10:00:00Z,search,u1,10,0\n"
        "1969-12-31 19:00:00,search,u2,10,0\n"
        "1969-12-31T23:59:59Z,search,u3,10,0\n"
        "03/01/2026 10:01:00,search,u4,10,0\n"
    )
    result, _con = _validate(tmp_path, text)
    assert result.summary["by_reason"] == {"invalid_event_time": 3}
    assert result.summary["unreadable_counts"]["event_time"] == 3


@pytest.mark.parametrize("sentinel", ["1970-01-01T00:00:00Z", "1970-01-01", "1970-01-01 01:00:00+01:00"])
def test_the_zero_epoch_null_sentinel_is_an_unreadable_event_time(tmp_path: Path, sentinel: str) -> None:
    # An export writing a missing time as epoch 0 had the row accepted: the window started in 1970 and
    # missing_days failed for 56 years of days.
    text = (
        "event_time,feature_id,user_id,latency_ms,is_crash\n"
        "2026-03-01T10:00:00Z,search,u1,10,0\n"
        f"{sentinel},search,u2,10,0\n"
    )
    result, _con = _validate(tmp_path, text)
    assert result.summary["by_reason"] == {"invalid_event_time": 1}
    assert result.summary["unreadable_counts"]["event_time"] == 1
    assert result.summary["window_start"] == "2026-03-01"


def _newest_day_unread(folder: Path, newest: str) -> None:
    """Daily files of 2026-03-01 and 02 (2 valid rows each) and ``newest``, the rows of 2026-03-03."""
    _daily_files(folder, "2026-03-{day}T10:00:00Z,search,u1,10,0\n2026-03-{day}T11:00:00Z,search,u2,10,0\n")
    (folder / "events_2026-03-03.csv").write_text(DAILY_HEADER + newest)


@pytest.mark.parametrize(("newest", "unjudged"), [
    # Saved with decimal commas: every row of the day is invalid.
    ('2026-03-03T10:00:00Z,search,u1,"10,5",0\n2026-03-03T11:00:00Z,search,u2,"10,5",0\n', 2),
    # Day-first dates, but one row places the file on the day: its undated rows go with it.
    ('2026-03-03T10:00:00Z,search,u1,"10,5",0\n03/03/2026 11:00,search,u2,10,0\n03/03/2026 12:00,search,u3,10,0\n', 3),
])
def test_rows_after_an_as_of_date_derived_from_the_data_are_counted_as_unjudged(
    tmp_path: Path, newest: str, unjudged: int
) -> None:
    # Without ingest.as_of the as-of date is the latest day with a valid row: a newest export none of
    # whose rows is valid fell outside the window, counted only in rows_outside_window, and data quality passed.
    _newest_day_unread(tmp_path / "in", newest)
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "in", column_map={})
    summary = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW).summary
    assert (summary["as_of"], summary["rows_outside_window"]) == ("2026-03-02", unjudged)
    assert summary["unjudged_days"] == {"2026-03-03": unjudged}


def test_a_backfill_with_as_of_set_leaves_later_days_unjudged_on_purpose(tmp_path: Path) -> None:
    _newest_day_unread(tmp_path / "in", '2026-03-03T10:00:00Z,search,u1,"10,5",0\n')
    (tmp_path / "in" / "events_2026-03-04.csv").write_text(DAILY_HEADER + "2026-03-04T10:00:00Z,search,u1,10,0\n")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "in", column_map={})
    summary = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW,
                                            as_of="2026-03-02", window_start="2026-03-01").summary
    assert (summary["rows_outside_window"], summary["unjudged_days"]) == (2, {})
    # Far-future dates are quarantined as future_event_time: they neither move the as-of date nor go unjudged.
    (tmp_path / "in" / "events_2026-03-04.csv").write_text(DAILY_HEADER + "2099-01-01T00:00:00Z,search,u1,10,0\n")
    raw = ingest.open_events(con, tmp_path / "in", column_map={})
    summary = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q2", work_dir=tmp_path,
                                            now=NOW).summary
    assert (summary["as_of"], summary["by_reason"]) == ("2026-03-02", {"future_event_time": 1})
    assert summary["unjudged_days"] == {"2026-03-03": 1}


def test_quarantine_bytes_are_reproducible(tmp_path: Path) -> None:
    first, _ = _validate(tmp_path / "one")
    second, _ = _validate(tmp_path / "two")
    assert runlog.sha256_file(first.quarantine_path) == runlog.sha256_file(second.quarantine_path)


def test_resolve_window_rules() -> None:
    window = validate.resolve_window(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31), window_start="2026-01-10")
    assert window == validate.Window(as_of=date(2026, 1, 31), start=date(2026, 1, 10), end=date(2026, 1, 31))
    with pytest.raises(ValueError, match="after the as-of date"):
        validate.resolve_window(
            first_day=None, last_day=None, as_of="2026-01-05", window_start="2026-01-01", window_end="2026-01-06"
        )
    with pytest.raises(ValueError, match="is not a date"):
        validate.resolve_window(first_day=None, last_day=None, as_of="5/1/2026")
    with pytest.raises(ValueError, match="as_of 2025-06-01 is before the input's first day 2026-01-01"):
        validate.resolve_window(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31), as_of="2025-06-01")
    with pytest.raises(ValueError, match="window_start 2026-01-10 is after ingest.window_end 2025-12-01"):
        validate.resolve_window(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31), window_start="2026-01-10",
                                window_end="2025-12-01")
    # Without a dated row, setting the window cannot help (check_some_dated says so too): no advice to set it.
    with pytest.raises(ValueError, match=r"no as-of date; fix event_time \(or ingest.column_map\): setting the window "
                                         r"cannot help"):
        validate.resolve_window(first_day=None, last_day=None)


def test_a_window_after_the_input_s_latest_day_names_where_the_as_of_date_came_from() -> None:
    # Only the window was set: the as-of date is the input's latest day, which "swap the dates" does not explain.
    with pytest.raises(ValueError) as past:
        validate.resolve_window(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31), window_start="2026-02-02")
    assert "the input's latest day with a valid row" in str(past.value) and "ingest.as_of is empty" in str(past.value)
    assert "swap" not in str(past.value)
    with pytest.raises(ValueError) as end:
        validate.resolve_window(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31), window_start="2026-01-31",
                                window_end="2026-02-02")
    assert "the input's latest day with a valid row" in str(end.value) and "ingest.as_of is empty" in str(end.value)
    # A set as-of date keeps the short sentence.
    with pytest.raises(ValueError, match=r"is after the as-of date 2026-01-20; swap or fix the dates\.$"):
        validate.resolve_window(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31), as_of="2026-01-20",
                                window_start="2026-01-25")


def test_a_window_ending_before_the_input_s_first_day_names_where_its_start_came_from() -> None:
    # Only the end was set: the start is the input's first day, and "swap the dates" would name a
    # window_start the operator never set.
    for as_of in ("", "2026-01-20"):
        with pytest.raises(ValueError) as before:
            validate.resolve_window(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31), as_of=as_of,
                                    window_end="2025-12-01")
        assert str(before.value) == (
            "ingest.window_end 2025-12-01 is before the input's first day 2026-01-01, where the window starts as "
            "ingest.window_start is empty; end the window on or after that day."
        )


def test_reference_time_is_the_simulated_end_or_the_clock() -> None:
    end_of_day = datetime(2026, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)
    assert validate.reference_time(last_day=date(2026, 3, 5), now=NOW) == end_of_day
    assert validate.reference_time(last_day=None, now=NOW) == NOW
    with pytest.raises(ValueError, match="timezone-aware"):
        validate.reference_time(last_day=None, now=datetime(2026, 1, 1))


def test_events_after_the_as_of_day_are_outside_the_window_not_errors(tmp_path: Path) -> None:
    source = tmp_path / "e.csv"
    source.write_text(
        "event_time,feature_id,user_id,latency_ms,is_crash\n2026-03-01T23:59:59Z,a,u,1,0\n"
        "2026-03-02T00:00:00Z,a,u,1,0\n2026-03-03T00:00:00Z,a,u,1,0\n",
        encoding="utf-8",
    )
    con = warehouse.connect()
    raw = ingest.open_events(con, source, column_map={})
    now = validate.reference_time(last_day=date(2026, 3, 2), now=NOW)
    result = engine.validate_and_aggregate(
        con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=now, as_of="2026-03-01")
    summary = result.summary
    assert summary["by_reason"] == {"future_event_time": 1}
    assert (summary["rows_valid"], summary["rows_outside_window"]) == (1, 1)


def test_column_expressions_reject_unknown_column_and_naive_now() -> None:
    with pytest.raises(ValueError, match="allowed: event_time"):
        validate.column_expressions("latency", "VARCHAR", from_text=True)
    with pytest.raises(ValueError, match="timezone-aware"):
        validate.checked_sql("raw_events", {"event_time": "VARCHAR"}, now=datetime(2026, 1, 1), from_text=True)


@pytest.mark.parametrize("value", [0, False, None, 20260630, "20260630", "2026-W26-1", [], {}])
def test_a_window_date_that_is_not_text_yyyy_mm_dd_is_an_error_not_the_latest_day(value: object) -> None:
    with pytest.raises(ValueError, match=r"^ingest\.as_of .* is not a date; use YYYY-MM-DD or \"\"\.$"):
        validate.resolve_window(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31), as_of=value)  # type: ignore[arg-type]
    assert validate.parse_day("", name="as_of") is None
    assert validate.parse_day("2026-01-05", name="as_of") == date(2026, 1, 5)


NFC, NFD = "R\u00e9glages", "Re\u0301glages"  # one name, composed and decomposed: equal once normalised


def _nfc_rows() -> dict[str, list[str]]:
    """Four events of one feature spelt both ways (ids, platform and version too), and a different feature."""
    return {
        "feature_id": [NFC, NFD, f" {NFD} ", "Reglages"],
        "user_id": ["Zo\u00e9", "Zoe\u0301", "u2", "u3"],
        "platform": ["i\u00d6S", "iO\u0308S", "i\u00d6S", "web"],
        "app_version": ["1.0-\u00e9", "1.0-e\u0301", "1.0-e\u0301", "1.0"],
    }


def test_nfc_and_nfd_spellings_are_one_feature_in_csv_and_parquet_and_quarantine_keeps_them_as_read(
    tmp_path: Path,
) -> None:
    rows = _nfc_rows()
    events = list(zip(*rows.values(), strict=True))
    csv_text = "event_time,feature_id,user_id,platform,app_version,latency_ms,is_crash\n" + "".join(
        f'2026-03-01T10:0{i}:00Z,"{f}",{u},{p},{v},1,{int(i == 1)}\n' for i, (f, u, p, v) in enumerate(events)
    ) + f"2026-03-01T10:09:00Z,{NFD},u9,web,1.0,-5,0\n"  # negative latency: quarantined as written
    csv_result, csv_con = _validate(tmp_path / "csv", csv_text)
    _validate_parquet(tmp_path, rows, is_crash=[False, True, False, False], work_dir=tmp_path / "p_work")
    for fact in (aggregate.read_window_fact(tmp_path / "csv"), aggregate.read_window_fact(tmp_path / "p_work")):
        # Two features, not three: the composed, decomposed and padded spellings of Réglages are one,
        # and "Reglages" without the accent stays another.
        assert fact[["feature_id", "usage_count", "active_users", "crash_count"]].values.tolist() == [
            ["Reglages", 1, 1, 0], [NFC, 3, 2, 1],
        ]
    # What the user must fix in the export is shown as read, not as normalised.
    quarantined = pd.read_parquet(csv_result.quarantine_path)
    assert quarantined["feature_id"].tolist() == [NFD] and quarantined["reason"].tolist() == ["negative_latency"]


def test_app_versions_and_platforms_are_compared_normalised(tmp_path: Path) -> None:
    rows = _nfc_rows()
    events = list(zip(*rows.values(), strict=True))
    text = "event_time,feature_id,user_id,platform,app_version,latency_ms,is_crash\n" + "".join(
        f"2026-03-01T10:0{i}:00Z,a,{u},{p},{v},1,0\n" for i, (_f, u, p, v) in enumerate(events)
    )
    _result, con = _validate(tmp_path, text)
    raw = ingest.open_events(con, tmp_path / "in" / "events.csv", column_map={})
    # The new-version crash signals count events per app version: one version, not two.
    assert sorted(_clean_rows(con, raw, "platform, app_version")) == sorted([("web", "1.0"), ("i\u00d6S", "1.0-\u00e9")])


def test_input_whose_lines_do_not_split_into_the_header_s_columns_says_so(tmp_path: Path) -> None:
    # A header ending in a separator names one column more than each line holds: every line is
    # malformed, and the time format is not what to fix.
    text = "event_time,feature_id,user_id,latency_ms,is_crash,\n" + "".join(
        f"2026-03-01T10:0{i}:00Z,search,u{i},10,0\n" for i in range(3))
    with pytest.raises(ingest.InputError, match=r"No row of events.csv has a usable event_time \(3 malformed_line\), "
                                                r"so .*; check the files' separator and that each line has as many "
                                                r"values as the header has columns") as caught:
        _validate(tmp_path, text)
    assert "ISO 8601" not in str(caught.value)


def test_a_parquet_float_is_crash_of_negative_zero_is_no_crash(tmp_path: Path) -> None:
    times = [datetime(2026, 3, 1, 10, i, tzinfo=UTC) for i in range(3)]
    pq.write_table(pa.table({"event_time": times, "feature_id": ["a"] * 3, "user_id": ["u1", "u2", "u3"],
                             "latency_ms": [1.0, 2.0, 3.0], "is_crash": [1.0, 0.0, -0.0]}), tmp_path / "e.parquet")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "e.parquet", column_map={})
    validate.install_macros(con)
    assert _clean_rows(con, raw, "user_id, is_crash") == [("u1", True), ("u2", False), ("u3", False)]


def test_parquet_ids_held_as_floats_read_as_the_whole_numbers_they_are(tmp_path: Path) -> None:
    # pandas stores an integer id column with one missing value as float64: that day's file said 101.0,
    # read as the feature "101.0" beside the "101" of the other days (and of the metadata), split in two.
    times = [datetime(2026, 3, day, 10, tzinfo=UTC) for day in (1, 1, 2, 2, 2)]
    (tmp_path / "p").mkdir()
    pq.write_table(pa.table({"event_time": times[:2], "feature_id": pa.array([101, 102], pa.int64()),
                             "user_id": pa.array([7, 8], pa.int64()), "latency_ms": [1.0, 2.0],
                             "is_crash": [True, False]}), tmp_path / "p" / "d1.parquet")
    pq.write_table(pa.table({"event_time": times[2:], "feature_id": [101.0, None, 103.0],
                             "user_id": pa.array([7.0, 8.0, 9.5], pa.float32()), "latency_ms": [3.0, 4.0, 5.0],
                             "is_crash": [-0.0, 1.0, 0.0]}), tmp_path / "p" / "d2.parquet")
    second_day = [("101", "7", False), ("103", "9.5", False)]
    # Files of both types (the columns read as text), and the floats alone.
    for source, expected in [(tmp_path / "p", [("101", "7", True), ("102", "8", False), *second_day]),
                             (tmp_path / "p" / "d2.parquet", second_day)]:
        con = warehouse.connect()
        raw = ingest.open_events(con, source, column_map={})
        validate.install_macros(con)
        assert sorted(_clean_rows(con, raw, "feature_id, user_id, is_crash")) == sorted(expected)


def test_each_file_s_rows_count_its_malformed_lines_as_rows_read_does(tmp_path: Path) -> None:
    text = "event_time,feature_id,user_id,latency_ms,is_crash\n2026-03-01T10:00:00Z,a,u1,1,0\nshort,line\n"
    result, _ = _validate(tmp_path, text)
    assert result.summary["files"] == [{"name": "events.csv", "rows": 2}]
    assert sum(f["rows"] for f in result.summary["files"]) == result.summary["rows_read"]


def test_parquet_ids_stored_as_bytes_are_read_as_their_text(tmp_path: Path) -> None:
    # A BLOB is none of the families a cleaning rule knows: it is cast to text, not refused.
    assert validate.kind_of("BLOB") == "other"
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({
        "event_time": pa.array(pd.date_range("2026-03-01T10:00:00Z", periods=3, freq="min"), pa.timestamp("us", tz="UTC")),
        "feature_id": ["f"] * 3, "user_id": pa.array([b"u1", b"u2", b"u1"], pa.binary()),
        "latency_ms": [1.0] * 3, "is_crash": [False] * 3,
    }), tmp_path / "in" / "e.parquet")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "in", column_map={})
    result = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=NOW)
    assert result.summary["rows_valid"] == 3
    assert aggregate.read_window_fact(tmp_path)[["usage_count", "active_users"]].values.tolist() == [[3, 2]]
