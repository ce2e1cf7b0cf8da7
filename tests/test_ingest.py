"""Source resolution, column mapping and opening raw telemetry with DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from featurehealth import config, engine, ingest, validate, warehouse

HEADER = "event_time,feature_id,user_id,latency_ms,is_crash\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_resolve_sources_file_folder_and_glob(tmp_path: Path) -> None:
    a = _write(tmp_path / "d" / "events_2026-01-01.csv", HEADER)
    b = _write(tmp_path / "d" / "sub" / "events_2026-01-02.csv", HEADER)
    _write(tmp_path / "d" / "README.md", "notes")
    _write(tmp_path / "d" / ".hidden" / "x.csv", HEADER)
    assert ingest.resolve_sources(a) == [a.resolve()]
    assert ingest.resolve_sources(tmp_path / "d") == [a.resolve(), b.resolve()]
    assert ingest.resolve_sources(str(tmp_path / "d" / "**" / "*.csv")) == [a.resolve(), b.resolve()]
    assert ingest.display_names([a, b]) == ["events_2026-01-01.csv", "sub/events_2026-01-02.csv"]
    assert ingest.display_names([b], source=tmp_path / "d") == ["sub/events_2026-01-02.csv"]
    assert ingest.display_names([a], source=a) == ["events_2026-01-01.csv"]


@pytest.mark.parametrize("pattern", ["", "*/*.csv", "**/*.csv", "2026-0*/d*.csv"])
def test_file_names_stay_the_same_when_a_subfolder_is_added(tmp_path: Path, pattern: str) -> None:
    # Names key the published quarantine: a new month's folder must not rename last month's files,
    # or their undated rows would be kept under the old names and added again under the new ones.
    _write(tmp_path / "src" / "2026-03" / "d1.csv", HEADER)
    source = str(tmp_path / "src" / pattern) if pattern else tmp_path / "src"
    before = ingest.display_names(ingest.resolve_sources(source), source=source)
    _write(tmp_path / "src" / "2026-04" / "d1.csv", HEADER)
    after = ingest.display_names(ingest.resolve_sources(source), source=source)
    assert before == ["2026-03/d1.csv"]
    assert after == ["2026-03/d1.csv", "2026-04/d1.csv"]


def test_undated_quarantined_rows_are_not_kept_twice_after_a_subfolder_is_added(tmp_path: Path) -> None:
    _write(tmp_path / "src" / "2026-03" / "d1.csv", HEADER + "2026-03-01T10:00:00Z,a,u,1,0\ngarbage,a,u,1,0\n")
    for _ in range(2):
        con = warehouse.connect()
        raw = ingest.open_events(con, tmp_path / "src", column_map={})
        result = engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path,
                                               now=datetime(2026, 6, 1, tzinfo=UTC))
        _write(tmp_path / "src" / "2026-04" / "d1.csv", HEADER + "2026-04-01T10:00:00Z,a,u,1,0\n")
    quarantine = pd.read_parquet(result.quarantine_path)
    assert quarantine["source_file"].tolist() == ["2026-03/d1.csv"]


def test_resolve_sources_relative_to_repo_root() -> None:
    files = ingest.resolve_sources("tests/bad_inputs/bom.csv")
    assert files == [(config.REPO_ROOT / "tests" / "bad_inputs" / "bom.csv").resolve()]


@pytest.mark.parametrize("source", ["exports/no_such_file.csv", "tests/../exports/no_such_file.csv", "exports/*.parquet"])
def test_a_missing_relative_source_names_the_absolute_path_and_the_repository_root(
    source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import re

    monkeypatch.chdir(tmp_path)  # the current folder plays no part
    expected = str(config.REPO_ROOT / "exports" / Path(source).name)
    with pytest.raises(ingest.InputError, match=rf"{re.escape(expected)}.*relative ingest\.source is read from the repository root"):
        ingest.resolve_sources(source)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nope.csv", "does not exist"),
        (lambda d: str(d / "*.parquet"), "No CSV or Parquet file matches"),
        (lambda d: _write(d / "x.json", "{}"), "neither CSV nor Parquet"),
        (lambda d: (_write(d / "m" / "a.csv", HEADER), _write(d / "m" / "b.parquet", ""))[0].parent,
         "mixes CSV and Parquet"),
        (lambda d: " ", "ingest.source is empty"),
        (lambda d: _write(d / "f" / "notes.txt", "x").parent,
         r"^Folder .*/f holds no \.csv or \.parquet file; point ingest\.source at the telemetry files\.$"),
    ],
)
def test_resolve_sources_errors_name_the_fix(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(ingest.InputError, match=message):
        ingest.resolve_sources(make(tmp_path))


@pytest.mark.parametrize("pattern", ["*.csv", "events_*", "*"])
def test_a_folder_the_glob_matches_is_searched_like_a_folder_source(tmp_path: Path, pattern: str) -> None:
    # A Spark-style export writes a day as a folder named like a file (events_2026-01-02.csv/part-0000.csv):
    # left out by the glob, that day would vanish from the input without a word.
    _write(tmp_path / "d" / "events_2026-01-01.csv", HEADER)
    _write(tmp_path / "d" / "events_2026-01-02.csv" / "part-0000.csv", HEADER)
    _write(tmp_path / "d" / "events_2026-01-02.csv" / "_SUCCESS", "")
    _write(tmp_path / "d" / "events_2026-01-02.csv" / ".part-0000.csv.crc", "")
    source = str(tmp_path / "d" / pattern)
    assert ingest.display_names(ingest.resolve_sources(source), source=source) == [
        "events_2026-01-01.csv", "events_2026-01-02.csv/part-0000.csv"]
    assert ingest.resolve_sources(source) == ingest.resolve_sources(tmp_path / "d")
    # Any other folder stays out, as before: exports/* is no way to read exports/archive/.
    _write(tmp_path / "d" / "archive" / "old.csv", HEADER)
    assert "archive/old.csv" not in ingest.display_names(ingest.resolve_sources(source), source=source)


@pytest.mark.parametrize("glob_pattern", ["", "*.csv"])
def test_a_file_reached_through_a_link_as_well_is_read_once(tmp_path: Path, glob_pattern: str) -> None:
    # latest.csv -> 2026-01-02.csv, as export folders often have: read twice, every event of
    # that day was counted in again and quarantined as a duplicate.
    _write(tmp_path / "d" / "2026-01-01.csv", HEADER)
    _write(tmp_path / "d" / "2026-01-02.csv", HEADER)
    (tmp_path / "d" / "latest.csv").symlink_to("2026-01-02.csv")
    source = str(tmp_path / "d" / glob_pattern) if glob_pattern else tmp_path / "d"
    files = ingest.resolve_sources(source)
    assert ingest.display_names(files, source=source) == ["2026-01-01.csv", "2026-01-02.csv"]


@pytest.mark.parametrize("kind", ["broken link", "named pipe"])
@pytest.mark.parametrize("layout", ["folder", "glob", "file"])
def test_an_input_entry_that_is_not_a_readable_file_stops_the_run_naming_it(
    tmp_path: Path, kind: str, layout: str
) -> None:
    # Skipped, a day's export replaced by a dangling link (or a pipe, which would block a reader)
    # would vanish from the input without a word, and a run over the window would drop its
    # published day from the fact table.
    import os

    _write(tmp_path / "d" / "events_2026-01-01.csv", HEADER)
    bad = tmp_path / "d" / "events_2026-01-02.csv"
    if kind == "broken link":
        bad.symlink_to(tmp_path / "gone" / "events_2026-01-02.csv")
    else:
        os.mkfifo(bad)
    source = {"folder": tmp_path / "d", "glob": str(tmp_path / "d" / "*.csv"), "file": bad}[layout]
    with pytest.raises(ingest.InputError, match=rf"{bad}.* is a {kind}.*; ") as caught:
        ingest.resolve_sources(source)
    # The file ingest.source names cannot be removed "from the input": it is the input.
    assert ("set ingest.source" in str(caught.value)) == (layout == "file")


@pytest.mark.parametrize(("name", "message"), [
    ("events_2026-01-02.tsv", r"is tab-separated text named \.tsv, which is not read; rename it to "
                              r"events_2026-01-02\.csv \(its separator is read from the header line\)"),
    ("events_2026-01-02.tsv.gz", r"is tab-separated text named \.tsv, which is not read; rename it to "
                                 r"events_2026-01-02\.csv\.gz "),
    ("events_2026-01-02.csv.bz2", r"is compressed as \.bz2, which is not read; decompress it to "
                                  r"events_2026-01-02\.csv or recompress it with gzip as events_2026-01-02\.csv\.gz"),
    ("events_2026-01-02.csv.zip", r"is compressed as \.zip, "),
    ("part-0001.snappy.parquet.zst", r"is compressed as \.zst, which is not read; decompress it to "
                                     r"part-0001\.snappy\.parquet[,;]"),
])
@pytest.mark.parametrize("layout", ["folder", "glob", "file"])
def test_an_export_named_tsv_or_compressed_other_than_gzip_is_refused_not_skipped(
    tmp_path: Path, name: str, message: str, layout: str
) -> None:
    # In a folder (or matched by a glob) such a file was skipped like a README: its day vanished from
    # the input, and missing_days only said that day had no row.
    _write(tmp_path / "d" / "events_2026-01-01.csv", HEADER)
    bad = _write(tmp_path / "d" / name, HEADER)
    source = {"folder": tmp_path / "d", "glob": str(tmp_path / "d" / "*"), "file": bad}[layout]
    with pytest.raises(ingest.InputError, match=rf"^File {bad} {message}") as caught:
        ingest.resolve_sources(source)
    assert str(caught.value).endswith("remove it from the input." if layout != "file" else "set ingest.source to the new file.")
    # Other names stay out of the input, as before: notes, Spark's markers, backups.
    bad.unlink()
    for other in ("README.md", "_SUCCESS", "events_2026-01-01.csv.bak", "export.json", "notes.txt.zip"):
        _write(tmp_path / "d" / other, "x")
    assert ingest.display_names(ingest.resolve_sources(tmp_path / "d"), source=tmp_path / "d") == [
        "events_2026-01-01.csv"]



def test_float_text_writes_whole_floats_below_2_53_as_integers_and_others_as_duckdb_does() -> None:
    # From 2**53 on, a float no longer tells its integer apart from the next one.
    con = warehouse.connect()

    def text(value: float) -> tuple[str, str]:
        return con.execute(f"SELECT {ingest.float_text('x')}, CAST(x AS VARCHAR) FROM (SELECT CAST(? AS DOUBLE) AS x)",
                           [value]).fetchone()

    assert [text(v)[0] for v in (101.0, -0.0, -7.0, 2.0**53 - 1)] == ["101", "0", "-7", "9007199254740991"]
    for other in (1.5, 2.0**53, float("nan"), float("inf")):
        assert text(other)[0] == text(other)[1]

def test_map_columns_is_case_insensitive_and_mapping_wins() -> None:
    mapping = ingest.map_columns(
        ["Timestamp", "feature_id", "Feature_Name", "user_id", "latency_ms", "crash_flag", "x"],
        column_map={"timestamp": "event_time", "feature_name": "feature_id", "CRASH_FLAG": "is_crash"},
        file="export.csv",
    )
    assert mapping == {
        "event_time": "Timestamp", "feature_id": "Feature_Name", "user_id": "user_id",
        "latency_ms": "latency_ms", "is_crash": "crash_flag",
    }


def test_column_names_match_whatever_unicode_form_each_file_uses(tmp_path: Path) -> None:
    # As values are (featurehealth.validate): one export writes "fonctionnalité" composed, another
    # (a macOS tool, say) decomposed, and the profile's column_map key either way.
    composed, decomposed = "fonctionnalit\u00e9", "fonctionnalite\u0301"
    for name, value in (("a.csv", composed), ("b.csv", decomposed)):
        _write(tmp_path / "in" / name, f"event_time,{value},user_id,latency_ms,is_crash\n2026-03-01,search,u1,1,0\n")
    for key in (composed, decomposed):
        con = warehouse.connect()
        raw = ingest.open_events(con, tmp_path / "in", column_map={key: "feature_id"})
        assert con.sql(f"SELECT feature_id FROM {raw.relation}").fetchall() == [("search",), ("search",)]


def test_map_columns_rejects_missing_required_and_unknown_target() -> None:
    with pytest.raises(ingest.InputError, match=r"File export.csv has no column 'user_id'.*ingest.column_map"):
        ingest.map_columns(["event_time", "feature_id", "latency_ms", "is_crash"], column_map={}, file="export.csv")
    with pytest.raises(ValueError, match="maps 'a' onto 'feature'; use one of event_time"):
        ingest.map_columns(["a"], column_map={"a": "feature"}, file="export.csv")
    with pytest.raises(ValueError, match="maps both 'a' and 'b' onto 'is_crash'"):
        ingest.map_columns(["a", "b"], column_map={"a": "is_crash", "b": "is_crash"}, file="export.csv")


@pytest.mark.parametrize(
    ("line", "expected"), [("a,b,c", ","), ("a;b;c", ";"), ("a\tb", "\t"), ("a|b", "|"), ("ab", ","), ("a;b,c", ",")]
)
def test_csv_delimiter(line: str, expected: str) -> None:
    assert ingest.csv_delimiter(line) == expected


def test_a_csv_file_with_carriage_returns_only_is_refused_in_one_sentence(tmp_path: Path) -> None:
    # "CSV (Macintosh)" from Excel ends lines with CR alone: one sentence naming the file, no traceback.
    _write(tmp_path / "in" / "good.csv", HEADER + "2026-03-01,a,u,1,0\n")
    (tmp_path / "in" / "mac.csv").write_bytes((HEADER + "2026-03-01,a,u,1,0\n").replace("\n", "\r").encode())
    with pytest.raises(ingest.InputError, match=r"File mac.csv ends its lines with a carriage return alone .*line breaks"):
        ingest.open_events(warehouse.connect(), tmp_path / "in", column_map={})


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
@pytest.mark.parametrize(("mark", "codec"), [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")])
def test_a_utf16_csv_file_is_named_as_such(tmp_path: Path, encoding: str, mark: bytes, codec: str) -> None:
    # Excel's "Unicode text" is UTF-16 with a byte-order mark; latin-1 would read it as spaced-out column names.
    (tmp_path / "u.csv").write_bytes(mark + (HEADER + "2026-03-01,a,u,1,0\n").encode(codec))
    with pytest.raises(ingest.InputError, match=r"File u.csv is UTF-16 text; re-save it as UTF-8"):
        ingest.open_events(warehouse.connect(), tmp_path / "u.csv", column_map={}, encoding=encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_a_gzipped_csv_named_csv_is_named_as_such(tmp_path: Path, encoding: str) -> None:
    # Cloud exports gzip files they name part-0000.csv; only the name .csv.gz has them decompressed.
    import gzip

    (tmp_path / "part-0000.csv").write_bytes(gzip.compress((HEADER + "2026-03-01,a,u,1,0\n").encode()))
    with pytest.raises(ingest.InputError, match=r"^File part-0000\.csv is gzip-compressed but named \.csv; "
                                                r"rename it to part-0000\.csv\.gz\.$"):
        ingest.open_events(warehouse.connect(), tmp_path / "part-0000.csv", column_map={}, encoding=encoding)
    # A name ending in .GZ is a gzip name as .gz is.
    (tmp_path / "PART-0001.CSV.GZ").write_bytes(gzip.compress((HEADER + "2026-03-01,a,u,1,0\n").encode()))
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "PART-0001.CSV.GZ", column_map={}, encoding=encoding)
    assert con.sql(f"SELECT feature_id FROM {raw.relation}").fetchall() == [("a",)]


@pytest.mark.parametrize("separator", [";", ",", "\t"])
def test_excels_separator_line_is_named_not_taken_for_the_header(tmp_path: Path, separator: str) -> None:
    # Excel writes and reads a first line "sep=;" naming the separator; the column names follow it.
    (tmp_path / "x.csv").write_text(
        f"\ufeffsep={separator}\r\n" + HEADER.replace(",", separator) + "2026-03-01;a;u;1;0\n".replace(";", separator))
    with pytest.raises(ingest.InputError, match=rf"^File x\.csv starts with Excel's separator line 'sep={separator}'; "
                                                r"delete that line so that the column names come first\.$"):
        ingest.open_events(warehouse.connect(), tmp_path / "x.csv", column_map={})


@pytest.mark.parametrize("start", ["\n", "  \r\n", "\ufeff", "\ufeff\n"])
def test_a_blank_first_line_is_named_not_read_as_a_column(tmp_path: Path, start: str) -> None:
    # A blank line before the column names (or a file that is a byte-order mark alone) stopped the run with
    # "has no column 'event_time' (it has: column0)", a name the reader made up.
    (tmp_path / "x.csv").write_text(start + HEADER + "2026-03-01,a,u,1,0\n" if "\n" in start else start)
    with pytest.raises(ingest.InputError, match=r"^File x\.csv starts with a blank line instead of its column names; "
                                                r"delete the blank lines before them, or the file if it holds no data\.$"):
        ingest.open_events(warehouse.connect(), tmp_path / "x.csv", column_map={})


def test_open_events_maps_a_users_export_without_code_changes(tmp_path: Path) -> None:
    export = _write(
        tmp_path / "export.csv",
        "timestamp,feature_name,user_id,latency_ms,crash_flag,session_duration\n"
        "2026-03-01,Search,u1,12.5,0,33\n2026-03-02,Login,u2,40,1,12\n",
    )
    con = warehouse.connect()
    raw = ingest.open_events(
        con, export, column_map={"feature_name": "feature_id", "crash_flag": "is_crash", "timestamp": "event_time"}
    )
    assert raw.mapped == {"crash_flag": "is_crash", "feature_name": "feature_id", "timestamp": "event_time"}
    assert raw.extra_columns == ("session_duration",)
    rows = con.sql(f"SELECT event_time, feature_id, is_crash, file_id FROM {raw.relation} ORDER BY 1").fetchall()
    assert rows == [("2026-03-01", "Search", "0", 0), ("2026-03-02", "Login", "1", 0)]
    result = engine.validate_and_aggregate(
        con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert (result.summary["rows_valid"], result.summary["rows_quarantined"]) == (2, 0)


def test_a_column_map_key_that_names_no_column_is_an_error(tmp_path: Path) -> None:
    export = _write(tmp_path / "export.csv", HEADER.rstrip("\n") + ",rating\n2026-03-01,Search,u1,12.5,0,4\n")
    with pytest.raises(ingest.InputError, match="maps 'ratingz', but export.csv has no column of that name"):
        ingest.open_events(warehouse.connect(), export, column_map={"ratingz": "feedback_score"})
    second = _write(tmp_path / "more" / "b.csv", HEADER)
    _write(tmp_path / "more" / "a.csv", HEADER)
    with pytest.raises(ingest.InputError, match="maps 'x' and 'y', but none of the 2 input files has a column of that"):
        ingest.open_events(warehouse.connect(), second.parent, column_map={"x": "feedback_score", "y": "platform"})
    raw = ingest.open_events(warehouse.connect(), export, column_map={" Rating ": "feedback_score"})
    assert raw.mapped == {"rating": "feedback_score"}


def test_an_unmatched_column_map_key_does_not_send_the_user_to_the_profile(tmp_path: Path) -> None:
    # The example in docs/operations.md ("Overriding parameters for one run") sets the entry with
    # --set; the profile has no column_map entry to fix.
    export = _write(tmp_path / "export.csv", HEADER)
    with pytest.raises(ingest.InputError) as raised:
        ingest.open_events(warehouse.connect(), export, column_map={"crash_flag": "is_crash"})
    assert "profile's column_map" not in str(raised.value) and "--set" in str(raised.value)


def test_file_problems_leave_published_outputs_untouched(tmp_path: Path) -> None:
    paths = config.RunPaths(tmp_path / "run").ensure()
    warehouse.write_tables(paths, incidents=pd.DataFrame({"feature_id": ["a"]}))
    before = {p.name: p.read_bytes() for p in paths.root.rglob("*") if p.is_file() and "work" not in p.parts}
    bad = _write(tmp_path / "bad.csv", "event_time,feature_id\n2026-03-01,a\n")
    with pytest.raises(ingest.InputError, match="bad.csv has no column 'user_id'"):
        ingest.open_events(warehouse.connect(), bad, column_map={})
    after = {p.name: p.read_bytes() for p in paths.root.rglob("*") if p.is_file() and "work" not in p.parts}
    assert after == before


def test_open_events_unions_parquet_files_with_different_layouts(tmp_path: Path) -> None:
    times = pa.array(pd.to_datetime(["2026-03-01T10:00:00Z"]), pa.timestamp("us", tz="UTC"))
    first = pa.table(
        {"event_time": times, "feature_id": ["a"], "user_id": ["u1"], "latency_ms": [1.0], "is_crash": [False]}
    )
    second = pa.table({"user_id": ["u2"], "feature_id": ["b"], "event_time": times, "latency_ms": [2.0],
                       "is_crash": [True], "error_count": pa.array([3], pa.int64())})
    (tmp_path / "p").mkdir()
    pq.write_table(first, tmp_path / "p" / "day1.parquet")
    pq.write_table(second, tmp_path / "p" / "day2.parquet")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "p", column_map={})
    assert raw.types["latency_ms"] == "DOUBLE" and raw.types["is_crash"] == "BOOLEAN"
    rows = con.sql(f"SELECT feature_id, user_id, error_count, file_id FROM {raw.relation} ORDER BY 1").fetchall()
    assert rows == [("a", "u1", None, 0), ("b", "u2", 3, 1)]


def test_files_of_one_layout_between_others_keep_their_own_file_ids(tmp_path: Path) -> None:
    # Days 1 and 3 share a layout, day 2 has another: layout groups are not runs of consecutive files.
    times = pa.array(pd.to_datetime(["2026-03-01T10:00:00Z"]), pa.timestamp("us", tz="UTC"))
    (tmp_path / "p").mkdir()
    for day, feature in ((1, "a"), (2, "b"), (3, "c")):
        columns = {"event_time": times, "feature_id": [feature], "user_id": ["u"], "latency_ms": [1.0],
                   "is_crash": [False]}
        if day == 2:
            columns["error_count"] = pa.array([3], pa.int64())
        pq.write_table(pa.table(columns), tmp_path / "p" / f"day{day}.parquet")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "p", column_map={})
    assert [indices for _layout, indices in raw.layouts] == [(0, 2), (1,)]
    assert con.sql(f"SELECT feature_id, file_id FROM {raw.relation} ORDER BY 1").fetchall() == [
        ("a", 0), ("b", 1), ("c", 2)]
    # A subset of the files, as the engine reads a partition of days in another session.
    for ids, expected in (([1], [("b", 1)]), ([0, 2], [("a", 0), ("c", 2)]), ([2], [("c", 2)])):
        relation = ingest.parquet_relation(raw, ids)
        assert con.sql(f"SELECT feature_id, file_id FROM ({relation}) ORDER BY 1").fetchall() == expected



def test_parquet_event_time_as_epoch_numbers_is_refused_in_one_sentence(tmp_path: Path) -> None:
    rows = {"feature_id": ["a"], "user_id": ["u1"], "latency_ms": [1.0], "crash": pa.array([0], pa.int8())}
    (tmp_path / "p").mkdir()
    pq.write_table(pa.table({"ts": pa.array([1772373731000], pa.int64()), **rows}), tmp_path / "p" / "ms.parquet")
    with pytest.raises(ingest.InputError, match=r"^File ms.parquet has event_time in column 'ts' as numbers \(BIGINT, "
                                                r"epoch seconds or milliseconds\?\).*ISO 8601 text"):
        ingest.open_events(warehouse.connect(), tmp_path / "p", column_map={"ts": "event_time", "crash": "is_crash"})
    # A timestamp column, and 0/1 integers for is_crash, are read.
    times = pa.array(pd.to_datetime(["2026-03-01T10:00:00Z"]), pa.timestamp("ms", tz="UTC"))
    pq.write_table(pa.table({"ts": times, **rows}), tmp_path / "p" / "ms.parquet")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "p", column_map={"ts": "event_time", "crash": "is_crash"})
    assert raw.types["event_time"] == "TIMESTAMP WITH TIME ZONE" and raw.types["is_crash"] == "TINYINT"

def test_a_parquet_file_whose_arrow_schema_is_unreadable_is_refused_in_one_sentence(tmp_path: Path) -> None:
    # The units of duration columns live in that schema alone; pyarrow's own error was a traceback.
    table = pa.table({"event_time": pa.array([datetime(2026, 3, 1, 10, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
                      "feature_id": ["a"], "user_id": ["u1"], "latency_ms": [1.0], "is_crash": [False]})
    (tmp_path / "p").mkdir()
    with pq.ParquetWriter(tmp_path / "p" / "day.parquet", table.schema, store_schema=False) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata({"ARROW:schema": "bm90IGEgc2NoZW1h"})
    with pytest.raises(ingest.InputError, match=r"^File day\.parquet carries an Arrow schema .* re-export it\.$"):
        ingest.open_events(warehouse.connect(), tmp_path / "p", column_map={})


def test_a_parquet_latency_stored_as_a_duration_is_read_in_milliseconds_whatever_its_unit(tmp_path: Path) -> None:
    # pandas writes a Timedelta column (end - start) as an Arrow duration, which Parquet keeps as a bare
    # count of its unit: 2 s of duration[s] were read as 2 ms and 250 ms of duration[us] as 250000 ms,
    # both under the 600000 ms cap, so the fact table's latencies were off by 1000 without a word.
    (tmp_path / "p").mkdir()
    latencies = [timedelta(seconds=2), timedelta(milliseconds=250)]
    for name, unit in [("s", "s"), ("ms", "ms"), ("us", "us"), ("ns", "ns")]:
        values = latencies[:1] if unit == "s" else latencies  # 250 ms is no whole number of seconds
        pq.write_table(pa.table({
            "event_time": pa.array([datetime(2026, 3, 1, 10, tzinfo=UTC)] * len(values), pa.timestamp("us", tz="UTC")),
            "feature_id": [name] * len(values), "user_id": ["u1", "u2"][:len(values)],
            "latency_ms": pa.array(values, pa.duration(unit)), "is_crash": [False] * len(values),
        }), tmp_path / "p" / f"{name}.parquet")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "p", column_map={})
    assert raw.types["latency_ms"] == "DOUBLE"
    rows = con.sql(f"SELECT feature_id, latency_ms FROM {raw.relation} ORDER BY ALL").fetchall()
    assert rows == [("ms", 250.0), ("ms", 2000.0), ("ns", 250.0), ("ns", 2000.0), ("s", 2000.0),
                    ("us", 250.0), ("us", 2000.0)]
    # Beside a file of plain numbers (the column then read as text), a duration keeps its unit.
    pq.write_table(pa.table({
        "event_time": pa.array([datetime(2026, 3, 1, 11, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        "feature_id": ["plain"], "user_id": ["u1"], "latency_ms": ["7"], "is_crash": [False],
    }), tmp_path / "p" / "text.parquet")
    raw = ingest.open_events(con, tmp_path / "p", column_map={})
    validate.install_macros(con)
    checked = validate.checked_sql(raw.relation, raw.types, now=datetime(2026, 6, 1, tzinfo=UTC), from_text=False)
    assert con.sql(f"SELECT latency_ms FROM ({checked}) WHERE feature_id = 'us' ORDER BY 1").fetchall() == [
        (250.0,), (2000.0,)]


def test_a_parquet_event_time_stored_as_a_duration_is_refused_in_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    pq.write_table(pa.table({
        "event_time": pa.array([timedelta(seconds=1)], pa.duration("ms")), "feature_id": ["a"], "user_id": ["u1"],
        "latency_ms": [1.0], "is_crash": [False],
    }), tmp_path / "p" / "d.parquet")
    with pytest.raises(ingest.InputError, match=r"^File d.parquet has event_time in column 'event_time' as a duration "
                                                r"\(duration\[ms\]\), not a time; export it as a Parquet timestamp"):
        ingest.open_events(warehouse.connect(), tmp_path / "p", column_map={})


def test_a_parquet_file_with_a_damaged_data_page_is_named_in_one_sentence(tmp_path: Path) -> None:
    # Its footer is sound, so it opens; the damage shows only when its rows are read.
    table = pa.table({
        "event_time": pa.array(pd.date_range("2026-03-01", periods=200, freq="min", tz="UTC"), pa.timestamp("us", tz="UTC")),
        "feature_id": [f"f{i}" for i in range(200)], "user_id": [f"u{i}" for i in range(200)],
        "latency_ms": [float(i) for i in range(200)], "is_crash": [False] * 200,
    })
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "good.parquet")
    pq.write_table(table, tmp_path / "in" / "cut.parquet", compression="snappy")
    data = bytearray((tmp_path / "in" / "cut.parquet").read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    data[4:len(data) - footer - 8] = bytes(len(data) - footer - 12)
    (tmp_path / "in" / "cut.parquet").write_bytes(bytes(data))
    con = warehouse.connect()
    with pytest.raises(ingest.InputError, match=r"^File cut.parquet cannot be read as Parquet .*remove it from ingest.source"):
        raw = ingest.open_events(con, tmp_path / "in", column_map={})
        engine.validate_and_aggregate(con, raw, quarantine_dir=tmp_path / "q", work_dir=tmp_path,
                                      now=datetime(2026, 6, 1, tzinfo=UTC))


def test_of_several_parquet_files_the_one_not_parquet_is_named(tmp_path: Path) -> None:
    # The reader's error on the batch names no file: each is probed, so the first file is not blamed.
    table = pa.table({"event_time": pa.array(pd.to_datetime(["2026-03-01T10:00:00Z"]), pa.timestamp("us", tz="UTC")),
                      "feature_id": ["a"], "user_id": ["u"], "latency_ms": [1.0], "is_crash": [False]})
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "a_good.parquet")
    (tmp_path / "in" / "b_bad.parquet").write_bytes(b"PAR1 not parquet inside PAR1")
    pq.write_table(table, tmp_path / "in" / "c_good.parquet")
    with pytest.raises(ingest.InputError, match=r"^File b_bad.parquet cannot be read as Parquet "):
        ingest.open_events(warehouse.connect(), tmp_path / "in", column_map={})


def test_an_empty_parquet_file_is_not_asked_for_a_header_row(tmp_path: Path) -> None:
    # A 0-byte daily Parquet file was told to be re-exported "with a header row and data", which Parquet has not.
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "e.parquet").write_bytes(b"")
    with pytest.raises(ingest.InputError) as caught:
        ingest.open_events(warehouse.connect(), tmp_path / "in", column_map={})
    assert str(caught.value) == "File e.parquet is empty (0 bytes); delete it or re-export it with its rows."


def test_open_events_rejects_input_without_rows(tmp_path: Path) -> None:
    with pytest.raises(ingest.InputError, match="holds no rows"):
        ingest.open_events(warehouse.connect(), _write(tmp_path / "h.csv", HEADER), column_map={})


def test_open_events_rejects_unknown_encoding(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allowed: utf-8, latin-1"):
        ingest.open_events(warehouse.connect(), tmp_path, column_map={}, encoding="cp1252")


def test_latin1_file_reads_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "2026-03-01,caf\xe9,u1,1,0\n").encode("latin-1"))
    con = warehouse.connect()
    raw = ingest.open_events(con, path, column_map={}, encoding="latin-1")
    assert con.sql(f"SELECT feature_id FROM {raw.relation}").fetchall() == [("caf\u00e9",)]


@pytest.mark.parametrize("letter", ["\u2019", "\u20ac"])  # bytes 0x92 and 0x80, the first Latin-1 leaves unused
@pytest.mark.parametrize("stray_quote", [False, True])
def test_windows1252_file_under_latin1_names_the_file_line_and_the_fix(
    tmp_path: Path, stray_quote: bool, letter: str
) -> None:
    # Excel on Western Windows saves "CSV" in Windows-1252: its curly quote, euro and dash are bytes
    # 0x80-0x9f, which Latin-1 leaves unused and the reader refuses; the file is not damaged.
    good = tmp_path / "in" / "a.csv"
    good.parent.mkdir()
    good.write_bytes((HEADER + "2026-03-01,caf\xe9,u1,1,0\n").encode("latin-1"))
    quote = '"' if stray_quote else ""  # a stray quote has the file read from a re-cut copy
    (tmp_path / "in" / "b.csv").write_bytes(
        (HEADER + f"2026-03-01,{quote}search,u1,1,0\n" + f"2026-03-01,search,u{letter}s,1,0\n").encode("cp1252")
    )
    with pytest.raises(ingest.InputError, match=r"^File b\.csv has bytes 0x80-0x9f \(line 3\), which Latin-1 does not use "
                       r"\(Windows-1252 text, as Excel saves CSV\); re-save it as UTF-8 .*and set ingest\.encoding: utf-8\.$"):
        ingest.open_events(warehouse.connect(), tmp_path / "in", column_map={}, encoding="latin-1")


@pytest.mark.parametrize("stray_quote", [False, True])
def test_a_file_not_in_utf8_names_the_line_of_its_first_undecodable_byte(tmp_path: Path, stray_quote: bool) -> None:
    quote = '"' if stray_quote else ""  # a stray quote has the file re-cut before it is read
    (tmp_path / "b.csv").write_bytes(
        (HEADER + f"2026-03-01,{quote}search,u1,1,0\n" + "2026-03-01,caf\xe9,u2,1,0\n").encode("latin-1"))
    with pytest.raises(ingest.InputError, match=r"^File b\.csv has bytes that are not valid utf-8 \(line 3\); "):
        ingest.open_events(warehouse.connect(), tmp_path / "b.csv", column_map={})


def test_utf8_file_under_latin1_is_refused_instead_of_garbled(tmp_path: Path) -> None:
    # Latin-1 decodes any byte, so UTF-8's "é" (two bytes) would silently become "Ã©", a feature of its own.
    path = tmp_path / "utf8.csv"
    path.write_bytes((HEADER + "2026-03-01,R\u00e9glages,u1,1,0\n").encode("utf-8"))
    with pytest.raises(ingest.InputError, match=r"^File utf8\.csv is UTF-8 text but ingest\.encoding is latin-1, .* "
                                                r"set ingest\.encoding: utf-8"):
        ingest.open_events(warehouse.connect(), path, column_map={}, encoding="latin-1")
    ascii_only = tmp_path / "ascii.csv"
    ascii_only.write_bytes((HEADER + "2026-03-01,search,u1,1,0\n").encode("utf-8"))
    ingest.open_events(warehouse.connect(), ascii_only, column_map={}, encoding="latin-1")  # nothing to garble


def test_utf8_column_names_under_latin1_are_refused_as_utf8_not_as_missing_columns(tmp_path: Path) -> None:
    # The column names are matched before the lines are counted: garbled to "fonctionnalitÃ©", a
    # French export's accented column would be reported as missing from column_map or as a
    # required column, not as the encoding setting to change.
    path = tmp_path / "fr.csv"
    path.write_bytes("horodatage,fonctionnalit\u00e9,user_id,latency_ms,is_crash\n2026-03-01,search,u1,1,0\n".encode())
    for column_map in ({"horodatage": "event_time", "fonctionnalit\u00e9": "feature_id"}, {"horodatage": "event_time"}):
        with pytest.raises(ingest.InputError, match=r"^File fr\.csv is UTF-8 text but ingest\.encoding is latin-1"):
            ingest.open_events(warehouse.connect(), path, column_map=column_map, encoding="latin-1")
    # A Latin-1 header with a Latin-1 body reads as before.
    latin = tmp_path / "latin" / "fr.csv"
    latin.parent.mkdir()
    latin.write_bytes(path.read_bytes().decode().replace("search", "caf\u00e9").encode("latin-1"))
    con = warehouse.connect()
    raw = ingest.open_events(con, latin, column_map={"horodatage": "event_time", "fonctionnalit\u00e9": "feature_id"},
                             encoding="latin-1")
    assert con.sql(f"SELECT feature_id FROM {raw.relation}").fetchall() == [("caf\u00e9",)]


def test_latin1_file_with_its_only_accent_last_is_not_taken_for_utf8(tmp_path: Path) -> None:
    # A lone Latin-1 "é" (0xE9) at the end of a file without a final line break looks like a
    # UTF-8 letter cut short: it is Latin-1.
    con = warehouse.connect()
    last = tmp_path / "last.csv"
    last.write_bytes("user_id,latency_ms,is_crash,event_time,feature_id\nu1,1,0,2026-03-01,caf\xe9".encode("latin-1"))
    raw = ingest.open_events(con, last, column_map={}, encoding="latin-1")
    assert con.sql(f"SELECT feature_id FROM {raw.relation}").fetchall() == [("caf\u00e9",)]


def test_utf8_letters_deep_into_a_file_under_latin1_are_refused(tmp_path: Path, monkeypatch) -> None:
    # A large export may hold its first accented name far from the start (here after 1.5 MB of
    # ASCII): the whole file is judged, not a sample of its start.
    late = tmp_path / "late.csv"
    ascii_rows = HEADER + "2026-03-01,search,u1,1,0\n" * 60_000
    late.write_bytes((ascii_rows + "2026-03-02,R\u00e9glages,u1,1,0\n").encode("utf-8"))
    with pytest.raises(ingest.InputError, match=r"^File late\.csv is UTF-8 text but ingest\.encoding is latin-1"):
        ingest.open_events(warehouse.connect(), late, column_map={}, encoding="latin-1")
    # Block by block, also when a letter's two bytes fall into two blocks.
    monkeypatch.setattr(ingest, "CENSUS_BLOCK", 7)
    small = tmp_path / "small.csv"
    small.write_bytes((HEADER + "2026-03-01,search,u1,1,0\n" * 3 + "2026-03-02,R\u00e9glages,u1,1,0\n").encode("utf-8"))
    with pytest.raises(ingest.InputError, match=r"^File small\.csv is UTF-8 text"):
        ingest.open_events(warehouse.connect(), small, column_map={}, encoding="latin-1")
    mixed = tmp_path / "mixed.csv"  # a Latin-1 letter after the UTF-8 one: not UTF-8 text
    mixed.write_bytes(small.read_bytes() + "2026-03-02,caf\xe9,u1,1,0\n".encode("latin-1"))
    con = warehouse.connect()
    raw = ingest.open_events(con, mixed, column_map={}, encoding="latin-1")
    assert con.sql(f"SELECT count(*) FROM {raw.relation}").fetchall() == [(5,)]


def test_line_census_counts_non_empty_lines_and_open_quotes(tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain.csv", HEADER + "a,b\n\nc,d\n\ne,f")  # empty lines, no final break
    assert ingest.csv_line_census(plain) == (3, False)
    windows = _write(tmp_path / "windows.csv", (HEADER + "a,b\n\nc,d\ne,f\n").replace("\n", "\r\n"))
    assert ingest.csv_line_census(windows) == (3, False)
    quoted = _write(tmp_path / "quoted.csv", HEADER + 'a,"b, c"\nd,"e\nf"\n')
    assert ingest.csv_line_census(quoted) == (3, True)
    # Both CRLF and LF line breaks: the reader refuses such a file, the re-cut copy reads it.
    mixed = _write(tmp_path / "mixed.csv", HEADER + "a,b\r\n\n\r\nc,d\ne,f")
    assert ingest.csv_line_census(mixed) == (3, True)


def test_a_file_mixing_crlf_and_lf_line_breaks_is_read_line_by_line(tmp_path: Path) -> None:
    # Two systems' exports joined into one file; the CSV reader calls it invalid CSV.
    rows = ["2026-03-01T00:00:00,A,u1,10,0\r\n", "2026-03-01T00:00:01,A,u2,10,0\n", "2026-03-01T00:00:02,A,u3\r\n",
            "2026-03-01T00:00:03,A,u4,10,0\r\n"]
    _write(tmp_path / "mixed.csv", HEADER.replace("\n", "\r\n") + "".join(rows))
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "mixed.csv", column_map={})
    assert con.sql(f"SELECT user_id FROM {raw.relation} ORDER BY row_no").fetchall() == [("u1",), ("u2",), ("u4",)]
    assert raw.malformed[["line", "raw_line", "error"]].values.tolist() == [
        [4, "2026-03-01T00:00:02,A,u3", "MISSING COLUMNS"]]


def test_split_records_lets_a_stray_quote_spoil_its_own_line_only() -> None:
    data = (HEADER + 't1,f,u1,1,0\n' + 't2,f,"u2,2,0\n' + 't3,f,u3,3,0\n' + 't4,f,"u\n4",4,0\n'
            + 't5,f,u5,5\n' + 't6,f,"u6,6,0\n').encode()
    split = ingest.split_records(data, encoding="utf-8", delimiter=",", n_fields=5)
    # The stray quotes of lines 3 and 8 do not swallow the lines after them; the quoted value
    # with a line break (lines 5-6) stays one record; line 7 is left for the reader to judge.
    assert split.malformed == [(3, 't2,f,"u2,2,0', "UNQUOTED VALUE"), (8, 't6,f,"u6,6,0', "UNQUOTED VALUE")]
    assert split.text.splitlines()[1:] == ["t1,f,u1,1,0", "t3,f,u3,3,0", 't4,f,"u', '4",4,0', "t5,f,u5,5"]
    assert split.records == 4 and split.original_line(6) == 7


def test_split_copy_lines_map_back_to_the_files_own_lines() -> None:
    # Lines 2, 3 (in a row) and 6 of a file (0-based 1, 2, 5) were left out of the copy.
    split = ingest.SplitCsv("", dropped=[1, 2, 5], records=0, malformed=[])
    kept = [line for line in range(1, 11) if line - 1 not in split.dropped]
    assert split.original_lines(list(range(1, 8))) == kept[:7]
    assert split.original_lines([]) == [] and split.original_line(3) == 5
    assert ingest.SplitCsv("", dropped=[], records=0, malformed=[]).original_lines([1, 4]) == [1, 4]


def test_open_events_accounts_for_every_line_of_many_csv_files(tmp_path: Path) -> None:
    # DuckDB 2.0 dropped the reject of a quote left open at the end of the last of several files.
    for day in range(1, 7):
        rows = "".join(f"2026-01-0{day}T00:00:{i:02d},A,u{i},10,0\n" for i in range(5))
        tail = '"oops,A,u9,10,0\n2026-01-06T01:00:00,A,u99,10,0\n2026-01-06T02:00:00,A,u100,10\n' if day == 6 else ""
        _write(tmp_path / "in" / f"day{day}.csv", HEADER + rows + tail)
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / "in", column_map={})
    assert con.execute(f"SELECT count(*) FROM {raw.relation}").fetchone()[0] == 31
    assert raw.malformed[["file_id", "line", "error"]].values.tolist() == [
        [5, 7, "UNQUOTED VALUE"], [5, 9, "MISSING COLUMNS"],
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("stray_quote", [False, True])
def test_malformed_lines_are_numbered_as_lines_of_the_file(tmp_path: Path, newline: str, stray_quote: bool) -> None:
    """A quoted value with line breaks earlier in the file must not shift a malformed line's number."""
    lines = [HEADER.strip(), '2026-01-01T00:00:00,A,"user', 'one",10,0', '2026-01-01T00:00:01,A,"u', '2",10,0',
             "2026-01-01T00:00:02,A,u3,10", "2026-01-01T00:00:03,A,u4,10,0"]
    if stray_quote:  # a quote left open: the file is re-cut before it is read (split_records)
        lines.insert(1, '2026-01-01T00:00:00,"A,u0,10,0')
    path = tmp_path / "a.csv"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    raw = ingest.open_events(warehouse.connect(), path, column_map={})
    expected = [[lines.index("2026-01-01T00:00:02,A,u3,10") + 1, "MISSING COLUMNS", "2026-01-01T00:00:02,A,u3,10"]]
    if stray_quote:
        expected.insert(0, [2, "UNQUOTED VALUE", '2026-01-01T00:00:00,"A,u0,10,0'])
    assert raw.malformed[["line", "error", "raw_line"]].values.tolist() == expected


@pytest.mark.parametrize("stray_quote", [False, True])
def test_malformed_lines_of_a_latin1_file_are_numbered_as_lines_of_the_file(tmp_path: Path, stray_quote: bool) -> None:
    # The reader reports byte positions in the text it decoded to UTF-8, where each accented
    # letter takes two bytes: the file's own lines must be counted in the same text.
    accented = [f"2026-01-01T00:00:0{i},Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e,u{i},10,0" for i in range(5)]
    lines = [HEADER.strip(), *accented, "2026-01-01T00:00:05,A,u5,10", *accented, "2026-01-01T00:00:06,A,u6,10"]
    if stray_quote:  # read through the re-cut copy, written in latin-1 too
        lines.insert(1, '2026-01-01T00:00:00,"A,u0,10,0')
    path = tmp_path / "a.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    raw = ingest.open_events(warehouse.connect(), path, column_map={}, encoding="latin-1")
    short = raw.malformed[raw.malformed["error"] == "MISSING COLUMNS"]
    assert short[["line", "raw_line"]].values.tolist() == [
        [number, line] for number, line in enumerate(lines, start=1) if line.endswith(",10")]


def test_physical_lines_counts_line_breaks_across_blocks() -> None:
    data = b"h\nab\r\ncd\n\nef\r\ngh"
    # LF file positions point at a line's first byte; CRLF ones at the line break before it.
    positions = [2, 5, 10, 13]
    expected = ingest.physical_lines([data], positions)
    assert expected == [2, 3, 5, 6]
    for size in (1, 2, 3, 5):
        blocks = [data[i:i + size] for i in range(0, len(data), size)]
        assert ingest.physical_lines(blocks, positions) == expected
        assert ingest.physical_lines(blocks, positions[::-1]) == expected[::-1]  # any order


def test_open_events_refuses_a_csv_file_whose_lines_are_not_all_accounted_for(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path / "a.csv", HEADER + "2026-01-01T00:00:00,A,u1,10,0\n")
    monkeypatch.setattr(ingest, "csv_line_census", lambda path, **_: (2, False))  # as if the reader lost a line
    with pytest.raises(ingest.InputError, match="a.csv has 2 lines after its header but the CSV reader accounted for 1"):
        ingest.open_events(warehouse.connect(), tmp_path / "a.csv", column_map={})


def test_resolve_inputs_for_simulated_and_own_files(tmp_path: Path) -> None:
    simulation = {"start_date": "2026-01-01", "n_days": 120}
    sim = ingest.resolve_inputs(
        source="simulated", metadata_path="", incidents_path="", simulated_dir=tmp_path, simulation=simulation
    )
    assert sim == ingest.InputLocations(
        str(tmp_path / "events"), tmp_path / "dim_feature_metadata.csv", tmp_path / "incidents.csv", date(2026, 4, 30),
        identity="simulated n_days=120 start_date=2026-01-01",
    )
    own = ingest.resolve_inputs(source="x.csv", metadata_path="m.csv", incidents_path="", simulated_dir=tmp_path)
    assert own.metadata == config.REPO_ROOT / "m.csv" and own.incidents is None and own.last_day is None
    with pytest.raises(ValueError, match="simulated_dir"):
        ingest.resolve_inputs(source="simulated", metadata_path="", incidents_path="", simulated_dir=tmp_path)


def test_source_identity_names_the_simulation_or_the_absolute_path(tmp_path: Path) -> None:
    simulation = {"seed": 1, "n_days": 30, "start_date": "2026-01-01"}
    elsewhere = ingest.resolve_inputs(source="simulated", metadata_path="", incidents_path="",
                                      simulated_dir=tmp_path / "other", simulation=simulation)
    assert elsewhere.identity == ingest.source_identity("simulated", simulation=simulation) == "simulated n_days=30 seed=1 start_date=2026-01-01"
    assert ingest.source_identity("simulated", simulation={**simulation, "seed": 2}) != elsewhere.identity
    assert ingest.source_identity("exports/../x.csv") == ingest.source_identity(str(config.REPO_ROOT / "x.csv"))
    assert ingest.source_identity("exports/*.csv") == str(config.REPO_ROOT / "exports" / "*.csv")


def _window(start: str, end: str) -> validate.Window:
    return validate.Window(as_of=date.fromisoformat(end), start=date.fromisoformat(start), end=date.fromisoformat(end))


def test_same_source_or_unknown_previous_source_passes() -> None:
    days = [date(2026, 1, 1), date(2026, 1, 2)]
    for previous in ({"source_identity": "/data/a.csv"}, None, {"source": "/data/b.csv"}):  # the last: an older summary
        assert not ingest.check_same_source(_window("2026-01-02", "2026-01-02"), previous=previous,
                                            identity="/data/a.csv", published_days=days, published="/out/p")


def test_another_source_may_only_replace_every_published_day() -> None:
    days = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    previous = {"source_identity": "/data/a.csv"}
    assert ingest.check_same_source(_window("2026-01-01", "2026-01-05"), previous=previous, identity="/data/b.csv",
                                    published_days=days, published="/out/p")  # replaces them all
    with pytest.raises(ingest.InputError, match=r"outputs in /out/p hold 2 days \(2026-01-01..2026-01-02\) outside this run's window "
                                                r"2026-01-03..2026-01-05 that were read from /data/a.csv, and this run "
                                                r"reads /data/b.csv; give the new source a profile of its own"):
        ingest.check_same_source(_window("2026-01-03", "2026-01-05"), previous=previous, identity="/data/b.csv",
                                 published_days=days, published="/out/p")
    # One day kept read "1 day(s) (2026-01-01..2026-01-01)".
    with pytest.raises(ingest.InputError, match=r"outputs in /out/p hold 1 day \(2026-01-01\) outside this run's "
                                                r"window .* that covers that day, "):
        ingest.check_same_source(_window("2026-01-02", "2026-01-05"), previous=previous, identity="/data/b.csv",
                                 published_days=days, published="/out/p")


def test_changed_simulation_names_the_parameters_that_changed() -> None:
    with pytest.raises(ingest.InputError, match=r"other simulate parameters \(n_days 3 -> 1, seed 1 -> 2\)"):
        ingest.check_same_source(_window("2026-01-01", "2026-01-01"), previous={"source_identity": "simulated n_days=3 seed=1"},
                                 identity="simulated n_days=1 seed=2", published_days=[date(2026, 1, 1), date(2026, 1, 3)],
                                 published="/out/p")


def test_a_side_file_that_is_a_folder_a_pipe_or_a_broken_link_says_what_it_is(tmp_path: Path) -> None:
    # "does not exist; create it" would be untrue for each; a pipe would also block the reader.
    import os

    (tmp_path / "meta.csv").mkdir()
    with pytest.raises(ingest.InputError, match=r"metadata path .*meta\.csv is a folder"):
        ingest.read_metadata(tmp_path / "meta.csv")
    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(ingest.InputError, match=r"pipe\.csv is a named pipe") as pipe:
        ingest.read_incidents(tmp_path / "pipe.csv")
    (tmp_path / "link.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(ingest.InputError, match=r"link\.csv is a broken link") as link:
        ingest.read_metadata(tmp_path / "link.csv")
    # A side file is no entry of the telemetry input: the sentence names the file it stands for
    # and the parameter to change, not "remove it from the input".
    # It said "set its path in the ingest parameters": the sentence names the one to set.
    for caught, what in ((pipe, "incidents"), (link, "metadata")):
        assert what in str(caught.value) and f"set ingest.{what}_path to the CSV file" in str(caught.value)
        assert "from the input" not in str(caught.value)
    with pytest.raises(ingest.InputError, match=r"is a folder; set ingest\.metadata_path to the CSV file\.$"):
        ingest.read_metadata(tmp_path / "meta.csv")
    with pytest.raises(ingest.InputError, match=r"absent\.csv does not exist; create it or set ingest\.metadata_path\.$"):
        ingest.read_metadata(tmp_path / "absent.csv")


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "is empty; re-export it with a header row."),
    (b"feature_id,start,end\n\xff\xfe,2026-01-01,2026-01-02\n", "is not valid UTF-8; re-save it as UTF-8."),
], ids=["empty", "not-utf8"])
def test_an_empty_or_undecodable_side_file_is_named_with_the_fix(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "side.csv"
    path.write_bytes(content)
    with pytest.raises(ingest.InputError) as caught:
        ingest.read_incidents(path)
    assert str(caught.value) == f"The incidents file {path} {problem}"


def test_read_metadata_normalises_and_keeps_first_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.csv", "Feature_ID,owner_team,lifecycle_stage,launch_date\n"
                  " b ,core, GA ,2026-01-05\na,,,\nb,other,beta,\n,x,,\n")
    meta = ingest.read_metadata(path)
    assert list(meta.columns) == list(ingest.METADATA_COLUMNS)
    assert meta["feature_id"].tolist() == ["a", "b"]
    assert meta["owner_team"].tolist() == ["unassigned", "core"]
    assert meta["feature_name"].tolist() == ["a", "b"]
    assert meta["lifecycle_stage"].tolist() == ["", "ga"]
    assert meta["launch_date"].tolist() == [None, date(2026, 1, 5)]
    for row, message in (("c,t,production,", "lifecycle_stage 'production' on line 3 .* allowed: experimental, beta"),
                         ("c,t,ga,05/01/2026", "launch_date '05/01/2026' on line 3")):
        with pytest.raises(ingest.InputError, match=message):
            ingest.read_metadata(_write(tmp_path / "bad.csv", "feature_id,owner_team,lifecycle_stage,launch_date\n"
                                        "a,t,ga,\n" + row + "\n"))


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_side_files_are_read_with_the_separator_of_their_header(tmp_path: Path, delimiter: str) -> None:
    # The same separators as the events: a semicolon export's metadata is not "a file without feature_id".
    meta = ingest.read_metadata(_write(tmp_path / "m.csv", delimiter.join(["feature_id", "owner_team", "tier"]) + "\n"
                                       + delimiter.join(["a", "core, web", "critical"]) + "\n"))
    assert meta[["feature_id", "owner_team", "tier"]].values.tolist() == [["a", "core, web", "critical"]]
    incidents = ingest.read_incidents(_write(tmp_path / "i.csv", delimiter.join(["feature_id", "start", "end"]) + "\n"
                                             + delimiter.join(["a", "2026-01-01", "2026-01-02"]) + "\n"))
    assert incidents[["feature_id", "start"]].values.tolist() == [["a", date(2026, 1, 1)]]


def test_bad_side_file_rows_are_counted_in_the_singular_for_one(tmp_path: Path) -> None:
    # "(1 row(s) in all)" and "has 1 row(s) with no feature_id ...; fix them or remove those rows".
    meta = "feature_id,tier\na,gold\nb,critical\n"
    with pytest.raises(ingest.InputError, match=r"tier 'gold' on line 2 \(1 row in all\); allowed"):
        ingest.read_metadata(_write(tmp_path / "m.csv", meta))
    with pytest.raises(ingest.InputError, match=r"tier 'gold' on line 2 \(2 rows in all\); allowed"):
        ingest.read_metadata(_write(tmp_path / "m.csv", meta + "c,silver\n"))
    incidents = "feature_id,start,end\n,2026-01-01,2026-01-02\n"
    with pytest.raises(ingest.InputError, match=r"has 1 row with no feature_id, first on line 2 "
                                                r"\(2026-01-01 to 2026-01-02\); fix it or remove that row\.$"):
        ingest.read_incidents(_write(tmp_path / "i.csv", incidents))
    with pytest.raises(ingest.InputError, match=r"has 2 rows with no feature_id, .*; fix them or remove those rows\.$"):
        ingest.read_incidents(_write(tmp_path / "i.csv", incidents + ",2026-01-03,2026-01-04\n"))


def test_read_metadata_and_incidents_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ingest.InputError, match="does not exist"):
        ingest.read_metadata(tmp_path / "none.csv")
    with pytest.raises(ingest.InputError, match="has no column 'feature_id'"):
        ingest.read_metadata(_write(tmp_path / "m.csv", "name\nx\n"))
    with pytest.raises(ingest.InputError, match="has no column 'end'"):
        ingest.read_incidents(_write(tmp_path / "i.csv", "feature_id,start\na,2026-01-01\n"))


def test_read_incidents_parses_dates_and_refuses_bad_rows(tmp_path: Path) -> None:
    header = "feature_id,start,end,kind,severity,precursor_days\n"
    path = _write(tmp_path / "i.csv", header + "b,2026-02-01,2026-02-03,latency,0.5,3\na,2026-01-01,2026-01-01,crash,1,\n")
    incidents = ingest.read_incidents(path)
    assert incidents.to_dict("records")[1] == {
        "feature_id": "b", "start": date(2026, 2, 1), "end": date(2026, 2, 3), "kind": "latency",
        "severity": 0.5, "precursor_days": 3.0,
    }
    for row, problem in (("a,03/15/2026,2026-03-16,crash,1,2", "a start that is not a YYYY-MM-DD date, first on line 3"),
                         ("a,2026-02-30,2026-03-01,crash,1,2", "a start that is not"),
                         ("a,2026-04-10,2026-04-05,crash,1,2", "an end before its start"),
                         (",2026-04-10,2026-04-12,crash,1,2", "no feature_id")):
        bad = _write(tmp_path / "bad.csv", header + "b,2026-02-01,2026-02-03,latency,0.5,3\n" + row + "\n")
        with pytest.raises(ingest.InputError, match=problem):
            ingest.read_incidents(bad)


def test_input_fingerprint_follows_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", HEADER)
    before = ingest.input_fingerprint([path], ["a.csv"])
    assert ingest.input_fingerprint([path], ["a.csv"]) == before
    _write(path, HEADER + "2026-01-01,a,u,1,0\n")
    assert ingest.input_fingerprint([path], ["a.csv"]) != before


def test_side_tables_round_trip_and_none_removes(tmp_path: Path) -> None:
    paths = config.RunPaths(tmp_path).ensure()
    ingest.write_side_tables(paths, metadata=pd.DataFrame({"feature_id": ["a"]}), incidents=None)
    tables = ingest.read_side_tables(paths)
    assert tables["metadata"]["feature_id"].tolist() == ["a"] and tables["incidents"] is None
    ingest.write_side_tables(paths, metadata=None)
    assert ingest.read_side_tables(paths)["metadata"] is None
    with pytest.raises(ValueError, match="allowed: metadata, incidents"):
        ingest.write_side_tables(paths, events=pd.DataFrame())


def test_side_files_normalise_text_to_nfc_so_they_join_the_events(tmp_path: Path) -> None:
    # Events ids are NFC after validation; a metadata or incidents file exported in NFD must join them.
    nfc, nfd = "R\u00e9glages", "Re\u0301glages"
    meta = ingest.read_metadata(_write(tmp_path / "m.csv", "feature_id,feature_name,owner_team\n"
                                       f"{nfd},{nfd},\u00e9quipe\n{nfc},dup,x\nReglages,,y\n"))
    assert meta[["feature_id", "feature_name", "owner_team"]].values.tolist() == [
        ["Reglages", "Reglages", "y"], [nfc, nfc, "\u00e9quipe"],  # one Réglages (the first row), Reglages apart
    ]
    incidents = ingest.read_incidents(_write(tmp_path / "i.csv", f"feature_id,start,end\n{nfd},2026-01-01,2026-01-02\n"))
    assert incidents["feature_id"].tolist() == [nfc]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("folder", ["in", "in [1]", "in?"])
def test_a_file_or_folder_named_with_glob_characters_is_read_once_as_named(tmp_path: Path, fmt: str, folder: str) -> None:
    # DuckDB reads each path it is given as a pattern: "d*.csv" also read d1.csv, so its events
    # were read twice and the row accounting stopped the run asking for a bug report.
    names = {"d1": "a", "d*": "b", "d?": "c"}
    for stem, feature in names.items():
        text = HEADER + f"2026-03-01T10:00:00Z,{feature},u,1,0\n"
        if fmt == "csv":
            _write(tmp_path / folder / f"{stem}.csv", text)
        else:
            (tmp_path / folder).mkdir(exist_ok=True)
            pq.write_table(pa.Table.from_pandas(pd.read_csv(pd.io.common.StringIO(text), dtype=str)),
                           tmp_path / folder / f"{stem}.parquet")
    # A sibling folder the path would match as a pattern must not be read either.
    _write(tmp_path / "in1" / f"d1.{fmt}", "not read")
    con = warehouse.connect()
    raw = ingest.open_events(con, tmp_path / folder, column_map={})
    rows = con.sql(f"SELECT feature_id, file_id FROM {raw.relation} ORDER BY file_id").fetchall()
    assert sorted(rows) == sorted((names[Path(name).stem], i) for i, name in enumerate(raw.files))


def test_a_file_duckdb_cannot_name_says_to_rename_it_rather_than_that_it_is_damaged(tmp_path: Path) -> None:
    # In a path holding [ DuckDB takes a backslash for a folder separator, found no file, and the
    # run said "File d1.csv cannot be read as CSV (it is damaged or not CSV)".
    _write(tmp_path / "exports [2026] \\ eu" / "d1.csv", HEADER + "2026-03-01T10:00:00Z,a,u,1,0\n")
    with pytest.raises(ValueError, match=r"exports \[2026\] \\ eu/d1\.csv cannot be read: .* rename the file or folder"):
        ingest.open_events(warehouse.connect(), tmp_path / "exports [2026] \\ eu", column_map={})


def test_a_glob_under_a_folder_named_with_brackets_says_how_to_write_it(tmp_path: Path) -> None:
    """exports [2026]/*.csv: the folder's [2026] is a character class, so the glob matched nothing
    and the user, who named an existing folder, was told only to "fix the pattern"."""
    _write(tmp_path / "exports [2026]" / "d1.csv", HEADER + "2026-03-01T10:00:00Z,a,u,1,0\n")
    with pytest.raises(ingest.InputError) as caught:
        ingest.resolve_sources(tmp_path / "exports [2026]" / "*.csv")
    message = str(caught.value)
    assert "exports [[]2026]" in message and "[" in message
    # The spelling the message gives does read the folder.
    written = str(tmp_path / "exports [[]2026]" / "*.csv")
    assert ingest.resolve_sources(written) == [(tmp_path / "exports [2026]" / "d1.csv").resolve()]


def test_a_second_input_opened_in_one_session_gets_only_its_own_malformed_lines(tmp_path: Path) -> None:
    # The reader keeps its rejects in session tables: another file's lines must not be counted again.
    _write(tmp_path / "a.csv", HEADER + "2026-01-01T00:00:00,A,u1,10,0\nshort,line\n")
    _write(tmp_path / "b.csv", HEADER + "2026-01-01T00:00:00,B,u1,10,0\n2026-01-01T00:00:01,B,u2,10,0\n")
    con = warehouse.connect()
    assert len(ingest.open_events(con, tmp_path / "a.csv", column_map={}).malformed) == 1
    raw = ingest.open_events(con, tmp_path / "b.csv", column_map={})
    assert raw.malformed.empty
    assert con.sql(f"SELECT count(*) FROM {raw.relation}").fetchall() == [(2,)]


@pytest.mark.parametrize("damage", ["not gzip", "cut short"])
def test_a_damaged_gzip_file_is_named_in_one_sentence(tmp_path: Path, damage: str) -> None:
    import gzip

    packed = gzip.compress((HEADER + "2026-01-01T00:00:00,A,u1,10,0\n" * 5000).encode())
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv.gz").write_bytes(b"not gzip at all" if damage == "not gzip" else packed[: len(packed) // 2])
    (tmp_path / "in" / "b.csv.gz").write_bytes(packed)
    with pytest.raises(ingest.InputError, match=r"^File a\.csv\.gz is not a whole gzip file \(.*\); re-export it or "
                                                r"remove it from ingest\.source\.$"):
        ingest.open_events(warehouse.connect(), tmp_path / "in", column_map={})


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_carriage_return_inside_an_unquoted_value_costs_its_own_line(tmp_path: Path, newline: str) -> None:
    # The reader stops at such a line ("invalid state"), so it took the whole file down with it;
    # quoted, a carriage return is text like any other.
    lines = [HEADER.strip(), "2026-01-01T00:00:00,A,u1,10,0", "2026-01-01T00:00:01,A,u\r2,10,0",
             '2026-01-01T00:00:02,A,"u\r3",10,0', "2026-01-01T00:00:03,A,u4,10,0"]
    path = tmp_path / "a.csv"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    assert ingest.csv_line_census(path) == (4, True)
    con = warehouse.connect()
    raw = ingest.open_events(con, path, column_map={})
    assert con.sql(f"SELECT user_id FROM {raw.relation} ORDER BY row_no").fetchall() == [("u1",), ("u\r3",), ("u4",)]
    assert raw.malformed[["line", "raw_line"]].values.tolist() == [[3, "2026-01-01T00:00:01,A,u\r2,10,0"]]


def test_a_quote_inside_an_unquoted_value_costs_its_own_line(tmp_path: Path) -> None:
    # Line 3's quotes balance, but the first is text (5" screen) and the second opens a quoted
    # value that never closes: the reader swallowed the lines after it, and the run stopped.
    lines = [HEADER.strip(), "2026-01-01T00:00:00,A,u1,10,0", '2026-01-01T00:00:01,5" screen,"u2,10,0',
             "2026-01-01T00:00:02,A,u3,10,0", '2026-01-01T00:00:03,A,u"4"x,10,0', "2026-01-01T00:00:04,A,u5,10,0"]
    path = _write(tmp_path / "a.csv", "\n".join(lines) + "\n")
    assert ingest.csv_line_census(path) == (5, True)
    con = warehouse.connect()
    raw = ingest.open_events(con, path, column_map={})
    assert con.sql(f"SELECT user_id FROM {raw.relation} ORDER BY row_no").fetchall() == [
        ("u1",), ("u3",), ('u"4"x',), ("u5",)]
    assert raw.malformed[["line", "raw_line"]].values.tolist() == [[3, lines[2]]]


@pytest.mark.parametrize("line", ['2026-01-01T00:00:01,""\u00e9t\u00e9,u2,10,0', '""\u00e9'])
def test_a_badly_quoted_line_of_a_utf8_file_is_not_called_undecodable(tmp_path: Path, line: str) -> None:
    # The reader also reports an encoding error when an accented letter follows a closing quote.
    lines = [HEADER.strip(), "2026-01-01T00:00:00,A,u1,10,0", line, "2026-01-01T00:00:02,A,u3,10,0"]
    path = _write(tmp_path / "a.csv", "\n".join(lines) + "\n")
    raw = ingest.open_events(warehouse.connect(), path, column_map={})
    assert raw.malformed[["line", "raw_line"]].values.tolist() == [[3, line]]
    assert "ENCODING" not in raw.malformed["error"].iloc[0]



def test_side_files_whose_lines_end_in_a_separator_keep_their_columns(tmp_path: Path) -> None:
    # Many exports end each line with a separator: the values must stay under their own columns
    # (the reader once took the first as the row's label, so owner teams became feature ids).
    meta = ingest.read_metadata(_write(tmp_path / "m.csv", "feature_id,owner_team\nsearch,core,\nlogin,web,\n"))
    assert meta[["feature_id", "owner_team"]].values.tolist() == [["login", "web"], ["search", "core"]]
    incidents = ingest.read_incidents(_write(tmp_path / "i.csv", "feature_id;start;end;\na;2026-01-01;2026-01-02;\n"))
    assert incidents[["feature_id", "start", "end"]].values.tolist() == [["a", date(2026, 1, 1), date(2026, 1, 2)]]


@pytest.mark.parametrize("rows", ["search,core,extra\nlogin,web\n", "search,core\n\nlogin,web,extra\n"])
def test_a_side_file_row_with_more_values_than_columns_is_named_by_its_line(tmp_path: Path, rows: str) -> None:
    path = _write(tmp_path / "m.csv", "feature_id,owner_team\n" + rows)
    line = 2 if rows.startswith("search,core,extra") else 4
    with pytest.raises(ingest.InputError, match=rf"^The feature metadata file {path} has 3 values on line {line} but "
                                                rf"2 columns in its header; .*\.$") as caught:
        ingest.read_metadata(path)
    assert "\n" not in str(caught.value)


def test_side_file_problems_are_named_by_the_line_of_the_file(tmp_path: Path) -> None:
    # Empty lines and quoted values with line breaks come before the bad row.
    meta = _write(tmp_path / "m.csv", 'feature_id,feature_name,lifecycle_stage\na,"A\nand more",ga\n\nb,B,production\n')
    with pytest.raises(ingest.InputError, match="lifecycle_stage 'production' on line 5 "):
        ingest.read_metadata(meta)
    incidents = _write(tmp_path / "i.csv", "feature_id,start,end\n\na,2026-01-05,2026-01-01\n")
    with pytest.raises(ingest.InputError, match="an end before its start, first on line 3 "):
        ingest.read_incidents(incidents)


@pytest.mark.parametrize(("fmt", "column"),
                         [("csv", "file_index"), ("parquet", "File_Index"), ("parquet", "file_row_number")])
def test_a_column_named_like_one_the_reader_adds_is_refused_naming_it(tmp_path: Path, fmt: str, column: str) -> None:
    # The file's own column would stand in for the reader's, which tells files and rows apart:
    # rows were charged to the wrong file (and left out) without a word.
    for day in (1, 2):
        rows = {"event_time": [datetime(2026, 3, day, 10, tzinfo=UTC)] * 2, "feature_id": ["a", "a"],
                "user_id": ["u1", "u2"], "latency_ms": [1.0, 2.0], "is_crash": [False, False], column: [0, 0]}
        target = tmp_path / "in" / f"d{day}.{fmt}"
        target.parent.mkdir(exist_ok=True)
        pd.DataFrame(rows).to_csv(target, index=False) if fmt == "csv" else pq.write_table(pa.table(rows), target)
    with pytest.raises(ingest.InputError, match=rf"^File d1\.{fmt} has a column named '{column}', which the reader "
                                                rf"adds itself; rename or drop that column and re-export the file\.$"):
        ingest.open_events(warehouse.connect(), tmp_path / "in", column_map={})


def test_a_csv_column_named_file_row_number_is_an_extra_column_like_any_other(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", "file_row_number," + HEADER + "7,2026-03-01T10:00:00Z,a,u1,1,0\n")
    raw = ingest.open_events(warehouse.connect(), tmp_path / "a.csv", column_map={})
    assert raw.extra_columns == ("file_row_number",)


def test_footer_stats_read_a_date_column_and_skip_row_groups_without_a_value(tmp_path: Path) -> None:
    day_us = 86_400_000_000
    dated = tmp_path / "dated.parquet"
    pq.write_table(pa.table({"event_time": pa.array([date(2026, 3, 1), None, date(2026, 3, 3)], pa.date32())}), dated)
    stats = ingest.footer_stats(dated, "event_time")
    first = (date(2026, 3, 1) - date(1970, 1, 1)).days
    assert (stats.rows, stats.nulls, stats.low_us, stats.high_us) == (3, 1, first * day_us, (first + 2) * day_us)
    # A row group of nulls has no min or max: the other groups give the range, its nulls still count.
    times = pa.array([None, None, datetime(2026, 3, 2, 12)], pa.timestamp("us"))
    grouped = tmp_path / "grouped.parquet"
    pq.write_table(pa.table({"event_time": times}), grouped, row_group_size=2)
    stats = ingest.footer_stats(grouped, "event_time")
    assert (stats.rows, stats.nulls, stats.low_us) == (3, 2, (first + 1) * day_us + 12 * 3_600_000_000)
    # No value at all: no range to judge the file by.
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"event_time": pa.array([None, None], pa.timestamp("us"))}), empty)
    assert ingest.footer_stats(empty, "event_time") is None
