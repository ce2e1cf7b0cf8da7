"""Row rules of DESIGN.md in DuckDB SQL: valid events out, bad rows to quarantine with a reason.

Each row of the raw relation (:func:`featurehealth.ingest.open_events`) gets at most one
``reason`` (the first rule it breaks, in :data:`RULES` order); exact duplicates of a valid row
(same values in every canonical column) keep their first copy and quarantine the others as
``duplicate_event``; CSV lines the reader could not split are ``malformed_line``. Rows dated
outside the processed window are not part of the run (``rows_outside_window``; those after an
as-of date taken from the data, none of them valid, are ``unjudged_days``), nor are rows
without a usable date in files holding no row of the window (with daily files, an undated row
belongs to its file's day); every other row is either valid or quarantined, and
``rows_in = rows_valid + rows_quarantined`` is checked on the window's quarantine.

The published quarantine accumulates like the fact table (:func:`merge_quarantine_sql`): a run
replaces the rows dated in its window and the undated rows of the files it judged (re-reading a
file re-judges its undated rows), and keeps every other row.

This module holds the rules as SQL and the bookkeeping of windows and counts; running them over
day partitions (in-process or on Dask) is :mod:`featurehealth.engine`. Every rule depends on one
row only and duplicates share their ``event_time``, so a partition holding whole days judges its
rows exactly as one pass over all files would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurehealth import config, ingest
from featurehealth.warehouse import sql_string


if TYPE_CHECKING:
    import duckdb
    import pandas as pd

LATENCY_MAX_MS = 600_000
FEEDBACK_RANGE = (1.0, 5.0)
#: Strings that mean "no value" in text files, compared case-insensitively after trimming; ``\N`` is
#: the NULL of database dumps (MySQL's INTO OUTFILE, Hive, PostgreSQL's COPY).
NULL_TOKENS = ("", "null", "none", "nan", "na", "n/a", "nat", "\\n")
#: Rule order: (reason, column at fault). A row is quarantined for the first rule it breaks.
RULES: tuple[tuple[str, str | None], ...] = (
    ("missing_event_time", "event_time"),
    ("invalid_event_time", "event_time"),
    ("future_event_time", "event_time"),
    ("missing_feature_id", "feature_id"),
    ("missing_user_id", "user_id"),
    ("missing_is_crash", "is_crash"),
    ("invalid_is_crash", "is_crash"),
    ("missing_latency", "latency_ms"),
    ("invalid_number", "latency_ms"),
    ("negative_latency", "latency_ms"),
    ("latency_out_of_range", "latency_ms"),
    ("invalid_number", "feedback_score"),
    ("feedback_out_of_range", "feedback_score"),
    ("invalid_number", "error_count"),
    ("negative_error_count", "error_count"),
    ("duplicate_event", None),
    ("malformed_line", None),
)
REASONS = tuple(dict.fromkeys(reason for reason, _ in RULES))
#: Reasons that leave a row without a usable date: it belongs to the windows its file is in.
UNDATED_REASONS = ("missing_event_time", "invalid_event_time", "future_event_time", "malformed_line")
#: Reasons counted by the quality check ``out_of_range``.
OUT_OF_RANGE_REASONS = (
    "negative_latency", "latency_out_of_range", "feedback_out_of_range", "future_event_time", "negative_error_count",
)
#: Optional columns whose values are numbers: one given but not read is ``invalid_number``, and the quality
#: check ``null_rate`` counts it (a missing one is no value, as most events carry no feedback).
OPTIONAL_NUMBER_COLUMNS = ("feedback_score", "error_count")
#: Columns whose unreadable values are counted (:func:`counts_sql`, ``unreadable_counts`` of :func:`summarise`).
READ_CHECKED_COLUMNS = (*ingest.REQUIRED_COLUMNS, *OPTIONAL_NUMBER_COLUMNS)
#: ``event_date`` is the row's UTC day, null when it has no usable date (:data:`UNDATED_REASONS`).
QUARANTINE_COLUMNS = ("source_file", "line", "reason", "field", "event_date", *ingest.CANONICAL_TYPES, "raw_line")
QUARANTINE_FILE = "quarantine.parquet"
#: The window's quarantined rows under ``RunPaths.work``, before they join the published quarantine.
WINDOW_QUARANTINE_FILE = "window_quarantine.parquet"
#: Microseconds per day: event days are cut by epoch arithmetic (UTC).
DAY_US = 86_400_000_000
_INTEGER_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
)
#: The characters ``str.strip`` removes (``str.isspace``), which the side files are trimmed of, and so
#: text values: DuckDB's ``trim`` removes spaces only, so an id ending in a tab or no-break space was a
#: feature of its own (its casts read numbers and times padded with ASCII whitespace).
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) \
    + "\u2028\u2029\u202f\u205f\u3000"
_TOKENS = ", ".join(sql_string(t) for t in NULL_TOKENS)
_MACROS = (
    # Text values: trim with a set of characters is 20 times slower than the plain one, so values
    # that start and end in printable ASCII (nearly all) skip it.
    "CREATE OR REPLACE MACRO fh_trim(x) AS CASE WHEN unicode(x) BETWEEN 33 AND 126 "
    f"AND unicode(reverse(x)) BETWEEN 33 AND 126 THEN x ELSE trim(x, {sql_string(WHITESPACE)}) END",
    # Text from CSV: trimmed, null tokens become NULL.
    f"CREATE OR REPLACE MACRO fh_clean(x) AS CASE WHEN lower(trim(x)) IN ({_TOKENS}) THEN NULL ELSE trim(x) END",
    # Typed strings (Parquet) are trimmed as CSV text is (a padded id is the same feature, a blank
    # one is missing), and null tokens cleared; the length test spares lower() on the millions of ordinary ids.
    f"CREATE OR REPLACE MACRO fh_token(x) AS CASE WHEN strlen(x) <= 4 AND lower(x) IN ({_TOKENS}) THEN NULL ELSE x END",
    "CREATE OR REPLACE MACRO fh_bool(x) AS "
    "CASE WHEN lower(x) IN ('true', 't', '1', '1.0', 'yes', 'y') THEN true "
    "WHEN lower(x) IN ('false', 'f', '0', '0.0', 'no', 'n') THEN false END",
    # A zone abbreviation is ambiguous (IST) and read as a zone's rules, not its fixed offset ("PST" in
    # April as -07:00), or not at all (PDT): refused, but UTC and GMT, which mean one offset. An offset
    # after a space, as SQL Server's datetimeoffset and Snowflake write it, is read without the space.
    "CREATE OR REPLACE MACRO fh_time(x) AS CASE WHEN regexp_matches(x, ' [A-Za-z]{2,5}$') "
    "AND upper(right(x, 4)) NOT IN (' UTC', ' GMT') THEN NULL ELSE coalesce(TRY_CAST(x AS TIMESTAMPTZ), "
    r"TRY_CAST(regexp_replace(x, ' ([+-][0-9]{2}(:?[0-9]{2})?)$', '\1') AS TIMESTAMPTZ)) END",
    "CREATE OR REPLACE MACRO fh_int(v) AS CASE WHEN v = floor(v) AND abs(v) < 9.2e18 THEN CAST(v AS BIGINT) END",
)


#: ``event_time`` not read, or at or before the Unix epoch: dates are cut by epoch arithmetic, no
#: product telemetry predates it, and the epoch itself (1970-01-01T00:00:00Z) is the null sentinel of
#: many exports, which would start the window in 1970.
_INVALID_TIME = "event_time IS NULL OR event_time <= TIMESTAMPTZ '1970-01-01 00:00:00+00'"


@dataclass(frozen=True)
class Window:
    """The run's as-of date and the days it (re)processes, inclusive."""

    as_of: date
    start: date
    end: date


@dataclass(frozen=True)
class ValidationResult:
    """What :func:`featurehealth.engine.validate_and_aggregate` wrote and counted.

    ``summary`` is the content of ``reports/ingest_summary.json`` (without input hashes);
    ``daily_counts`` has one row per feature and day with valid events (``feature_id``,
    ``date``, ``events``); ``fact_path`` holds the window's feature-day aggregates for
    02_aggregate; ``files_read`` counts the files the partitions read (fewer than the input's
    when pruning skipped some).
    """

    summary: dict[str, Any]
    daily_counts: "pd.DataFrame"
    quarantine_path: Path
    fact_path: Path
    files_read: int


def kind_of(duck_type: str) -> str:
    """The family of a DuckDB type: text, float, number, bool, time or other."""
    upper = duck_type.upper()
    if upper == "VARCHAR":
        return "text"
    if upper in ("FLOAT", "DOUBLE"):
        return "float"
    if upper in _INTEGER_TYPES or upper.startswith("DECIMAL"):
        return "number"
    if upper == "BOOLEAN":
        return "bool"
    if upper.startswith(("TIMESTAMP", "DATE")):
        return "time"
    return "other"


def column_expressions(column: str, duck_type: str, *, from_text: bool) -> dict[str, str]:
    """SQL for one canonical column read as ``duck_type``: typed value, presence, raw text.

    Parameters
    ----------
    column : str
        Canonical column name (a key of :data:`featurehealth.ingest.CANONICAL_TYPES`).
    duck_type : str
        Its DuckDB type in the raw relation.
    from_text : bool
        Values come from a text file (CSV): every value is trimmed and cleared of null tokens
        before it is parsed; typed strings (Parquet) are trimmed and cleared of null tokens too.
        Text columns are trimmed of any :data:`WHITESPACE`, as the side files are.
        Either way text columns (ids, platform, app version) are put in Unicode NFC, so that one
        name written composed in one file and decomposed in another is one key, and a float column
        feeding one is read as :func:`featurehealth.ingest.float_text` writes it (``101`` for 101.0).

    Returns
    -------
    dict
        ``typed`` (the value in the canonical type, NULL when absent or unparseable) and
        ``present`` (the raw value is not empty, a null token or NaN).

    Raises
    ------
    ValueError
        If ``column`` is not canonical.
    """
    if column not in ingest.CANONICAL_TYPES:
        raise ValueError(f"Column {column!r} is not canonical; allowed: {', '.join(ingest.CANONICAL_TYPES)}.")
    target = ingest.CANONICAL_TYPES[column]
    kind = kind_of(duck_type)
    ident = f'"{column}"'
    as_text = {"text": ident, "float": ingest.float_text(ident)}.get(kind, f"CAST({ident} AS VARCHAR)")
    text = f"fh_clean({as_text})"
    if target == "TIMESTAMPTZ":
        typed = f"CAST({ident} AS TIMESTAMPTZ)" if kind == "time" else f"fh_time({text})"
    elif target == "VARCHAR":
        # Text keys in Unicode NFC: "Réglages" composed (U+00E9) or decomposed ("e" + U+0301) is one
        # feature, version or user, as a person reads it. Cheap where it counts: nfc_normalize returns
        # ASCII as is, and DuckDB applies it once per distinct value of a dictionary-encoded column
        # (ids, platforms and versions in Parquet and in the staged CSV). Only non-ASCII values of
        # a column too varied for a dictionary (user ids) are normalised row by row.
        typed = f"nfc_normalize({f'fh_clean(fh_trim({as_text}))' if from_text else f'fh_token(fh_trim({as_text}))'})"
    elif target == "BOOLEAN":
        # Numbers are compared as numbers: as text, a float column's -0.0 would be no flag.
        as_flag = f"CASE WHEN {ident} = 1 THEN true WHEN {ident} = 0 THEN false END"
        typed = {"bool": ident, "number": as_flag, "float": as_flag}.get(kind, f"fh_bool({text})")
    elif target == "DOUBLE":
        typed = {
            "float": f"CASE WHEN isnan({ident}) THEN NULL ELSE CAST({ident} AS DOUBLE) END",
            "number": f"CAST({ident} AS DOUBLE)",
        }.get(kind, f"TRY_CAST({text} AS DOUBLE)")
    else:
        typed = {
            "number": f"TRY_CAST({ident} AS BIGINT)",
            "float": f"fh_int(CAST({ident} AS DOUBLE))",
        }.get(kind, f"fh_int(TRY_CAST({text} AS DOUBLE))")
    if target == "VARCHAR":
        present = f"{typed} IS NOT NULL"
    elif kind == "text":
        present = f"{text} IS NOT NULL"
    elif kind == "float":
        present = f"({ident} IS NOT NULL AND NOT isnan({ident}))"
    else:
        present = f"{ident} IS NOT NULL"
    return {"typed": typed, "present": present}


def _rule_conditions(now: datetime) -> list[tuple[str, str | None, str]]:
    """(reason, field, SQL condition over the typed/present columns) in :data:`RULES` order."""
    cutoff = sql_string(now.astimezone(UTC).isoformat())
    low, high = FEEDBACK_RANGE
    conditions = {
        ("missing_event_time", "event_time"): "NOT has_event_time",
        ("invalid_event_time", "event_time"): _INVALID_TIME,
        ("future_event_time", "event_time"): f"event_time > CAST({cutoff} AS TIMESTAMPTZ)",
        ("missing_feature_id", "feature_id"): "NOT has_feature_id",
        ("missing_user_id", "user_id"): "NOT has_user_id",
        ("missing_is_crash", "is_crash"): "NOT has_is_crash",
        ("invalid_is_crash", "is_crash"): "is_crash IS NULL",
        ("missing_latency", "latency_ms"): "NOT has_latency_ms",
        ("invalid_number", "latency_ms"): "latency_ms IS NULL",
        ("negative_latency", "latency_ms"): "latency_ms < 0",
        ("latency_out_of_range", "latency_ms"): f"latency_ms > {LATENCY_MAX_MS}",
        ("invalid_number", "feedback_score"): "has_feedback_score AND feedback_score IS NULL",
        ("feedback_out_of_range", "feedback_score"): f"feedback_score < {low} OR feedback_score > {high}",
        ("invalid_number", "error_count"): "has_error_count AND error_count IS NULL",
        ("negative_error_count", "error_count"): "error_count < 0",
    }
    return [(reason, field, conditions[(reason, field)]) for reason, field in RULES if (reason, field) in conditions]


def checked_sql(relation: str, types: Mapping[str, str], *, now: datetime, from_text: bool) -> str:
    """SELECT over ``relation``: typed columns, ``has_*``, ``src_*`` (as read), ``reason``, ``field``, ``day``.

    Parameters
    ----------
    relation : str
        The raw relation (canonical columns, ``file_id`` and ``row_no``).
    types : mapping
        Canonical column -> its DuckDB type in ``relation``.
    now : datetime
        Events later than this instant are ``future_event_time``.
    from_text : bool
        The relation was read from CSV (see :func:`column_expressions`).

    Returns
    -------
    str
        A SELECT statement; ``day`` is days since 1970-01-01 (UTC) of ``event_time``, NULL
        when the row has no usable date (see :data:`UNDATED_REASONS`).

    Raises
    ------
    ValueError
        If ``now`` is not timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, like datetime.now(UTC).")
    parts = []
    for column, duck_type in types.items():
        sql = column_expressions(column, duck_type, from_text=from_text)
        parts += [f"{sql['typed']} AS {column}", f"{sql['present']} AS has_{column}", f'"{column}" AS src_{column}']
    rules = _rule_conditions(now)
    reason = " ".join(f"WHEN {cond} THEN '{name}'" for name, _f, cond in rules)
    field = " ".join(f"WHEN {cond} THEN '{f}'" for _n, f, cond in rules)
    return (
        f"SELECT *, CASE {reason} END AS reason, CASE {field} END AS field, {_day_expression(now)} AS day "
        f"FROM (SELECT {', '.join(parts)}, file_id, row_no FROM {relation})"
    )


def _day_expression(now: datetime) -> str:
    """SQL for the day number of ``event_time``, NULL when an event-time rule leaves the row undated."""
    undated = " OR ".join(f"({cond})" for _r, field, cond in _rule_conditions(now) if field == "event_time")
    return f"CASE WHEN {undated} THEN NULL ELSE CAST(epoch_us(event_time) // {DAY_US} AS INTEGER) END"


def reference_time(*, last_day: date | None, now: datetime) -> datetime:
    """The source's present: events after it are ``future_event_time``.

    Events after the run's as-of date but not after the present are not errors, only outside
    the processed window (a replay as of an earlier day ignores them).

    Parameters
    ----------
    last_day : date or None
        The last day a simulated source covers: its present is the end of that day (the
        simulator's injected future timestamps lie after it, not after the wall clock).
    now : datetime
        The wall clock (timezone-aware): the present of real telemetry.

    Returns
    -------
    datetime
        Timezone-aware; the last microsecond of ``last_day`` when given.

    Raises
    ------
    ValueError
        If ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, like datetime.now(UTC).")
    if last_day is None:
        return now
    return datetime.combine(last_day + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1)


def parse_day(text: str, *, name: str) -> date | None:
    """The date an ``ingest`` window key names: None for ``""``, else a ``YYYY-MM-DD`` day.

    Raises
    ------
    ValueError
        If ``text`` is anything else: YAML reads ``--set ingest.as_of=0`` (or ``false``, ``null``)
        as a number or flag, which must not silently mean "the latest day", and Python's
        ``date.fromisoformat`` would also take ``20260630`` or ``2026-W26-1``.
    """
    if text == "" and isinstance(text, str):
        return None
    if config.is_iso_day(text):
        return date.fromisoformat(text)
    raise ValueError(f"ingest.{name} {text!r} is not a date; use YYYY-MM-DD or \"\".")


def resolve_window(
    *, first_day: date | None, last_day: date | None, as_of: str = "", window_start: str = "", window_end: str = ""
) -> Window:
    """The run's as-of date and processed days from the profile and the data's date range.

    Parameters
    ----------
    first_day, last_day : date or None
        Earliest and latest day of the input's valid rows, or of its dated rows when none is valid
        (:func:`first_and_last`).
    as_of, window_start, window_end : str
        ``ingest`` parameters, ``YYYY-MM-DD`` or ``""``: as-of defaults to ``last_day``, the
        window to [``first_day``, as-of].

    Raises
    ------
    ValueError
        If a date does not parse, the window is empty or ends after as-of, or no date can be
        derived because no row has a usable ``event_time``.
    """
    as_of_day = parse_day(as_of, name="as_of") or last_day
    start = parse_day(window_start, name="window_start") or first_day
    if as_of_day is None or start is None:
        raise ValueError(
            "No event has a usable event_time, so the run has no as-of date; fix event_time "
            "(or ingest.column_map): setting the window cannot help, as every row would be quarantined."
        )
    end = parse_day(window_end, name="window_end") or as_of_day
    # An as-of date the operator did not set comes from the data: say so, or "swap the dates" puzzles.
    as_of_text = (f"the as-of date {as_of_day}" if as_of
                  else f"the input's latest day with a valid row, {as_of_day} (the as-of date, as ingest.as_of is empty)")
    if end > as_of_day:
        raise ValueError(f"ingest.window_end {end} is after {as_of_text}; end the window on or before it.")
    if start > end and not (window_start or window_end):
        raise ValueError(
            f"ingest.as_of {as_of_day} is before the input's first day {first_day}; set an as-of date the input covers."
        )
    if start > end and not (window_end or as_of):
        raise ValueError(f"ingest.window_start {start} is after {as_of_text}; the input has no rows of the window "
                         f"yet: start it on or before that day, or wait for the input.")
    # A start the operator did not set comes from the data: "swap the dates" would name an empty key.
    if start > end and not window_start:
        raise ValueError(f"ingest.window_end {end} is before the input's first day {start}, where the window starts "
                         f"as ingest.window_start is empty; end the window on or after that day.")
    if start > end:
        source = f"ingest.window_end {end}" if window_end else as_of_text
        raise ValueError(f"ingest.window_start {start} is after {source}; swap or fix the dates.")
    return Window(as_of=as_of_day, start=start, end=end)


def day_number(day: date) -> int:
    """Days since 1970-01-01: how the validation SQL numbers an event's UTC day (``day`` column)."""
    return (day - date(1970, 1, 1)).days


def install_macros(con: "duckdb.DuckDBPyConnection") -> None:
    """Create the SQL macros the rule expressions call in ``con``."""
    for statement in _MACROS:
        con.execute(statement)


def dated_day_sql(relation: str, types: Mapping[str, str], *, now: datetime, from_text: bool) -> str:
    """SELECT ``file_id``, ``day`` over ``relation``: the day of a row with a usable date, else NULL.

    Only ``event_time`` is read, so on Parquet this scans one column; it decides the same rules
    as :func:`checked_sql` (missing, invalid or future event time leave a row undated).
    """
    sql = column_expressions("event_time", types["event_time"], from_text=from_text)
    return (
        f"SELECT file_id, {_day_expression(now)} AS day "
        f"FROM (SELECT file_id, {sql['typed']} AS event_time, {sql['present']} AS has_event_time FROM {relation})"
    )


def _in_list(values: Sequence[int]) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def partition_rows_sql(checked: str, *, lo: int, hi: int, owned: Sequence[int]) -> str:
    """Rows of one partition from a :func:`checked_sql` SELECT: dated rows of days ``lo``..``hi``
    and the undated rows of the files ``owned``."""
    return f"SELECT * FROM ({checked}) WHERE day BETWEEN {lo} AND {hi} OR (day IS NULL AND file_id IN ({_in_list(owned)}))"


#: Columns a partition keeps of each row (:func:`partition_rows_sql`) for counting and aggregating.
KEPT_COLUMNS = (
    *ingest.CANONICAL_TYPES, "reason", "day", "file_id", "row_no",
    *(f"has_{c}" for c in READ_CHECKED_COLUMNS),
)


def counts_sql(table: str) -> str:
    """Rows of ``table`` by file, day, reason and (valid rows only) feature, with the missing and the
    unreadable values (given, but not of the column's type, or an ``event_time`` at or before the
    Unix epoch: those the ``invalid_*`` rules quarantine) of each required column, and the unreadable
    values of each :data:`OPTIONAL_NUMBER_COLUMNS` column."""
    invalid = {c: f"{c} IS NULL" for c in READ_CHECKED_COLUMNS} | {"event_time": _INVALID_TIME}
    nulls = ", ".join(
        [f"count(*) FILTER (WHERE NOT has_{c}) AS null_{c}" for c in ingest.REQUIRED_COLUMNS]
        + [f"count(*) FILTER (WHERE has_{c} AND ({invalid[c]})) AS unreadable_{c}" for c in READ_CHECKED_COLUMNS]
    )
    return (
        f"SELECT file_id, day, reason, CASE WHEN reason IS NULL THEN feature_id END AS feature_id, "
        f"count(*) AS rows, {nulls} FROM {table} GROUP BY ALL"
    )


def _typed_columns() -> str:
    return ", ".join(ingest.CANONICAL_TYPES)


def _raw_text() -> str:
    """The row's values as read, as text; applied after filtering, as casting every row is costly."""
    return ", ".join(f"CAST(src_{c} AS VARCHAR) AS {c}" for c in ingest.CANONICAL_TYPES)


def duplicates_sql(table: str) -> str:
    """Extra copies (all but the first in file order) of the valid rows of ``table`` that occur twice or more.

    Copies share their ``event_time``: repeated instants (one cheap key) pick the candidates, and
    partitioning those by every value finds the true copies. ``first_file`` is the ``file_id`` of
    the first copy, the row a copy repeats.
    """
    typed = _typed_columns()
    return f"""
        SELECT file_id, row_no, feature_id, day, first_file FROM (
            SELECT *, row_number() OVER copies AS copy, first_value(file_id) OVER copies AS first_file
            FROM {table}
            WHERE reason IS NULL AND event_time IN (
                SELECT event_time FROM {table} WHERE reason IS NULL GROUP BY 1 HAVING count(*) > 1)
            WINDOW copies AS (PARTITION BY {typed} ORDER BY file_id, row_no)
        ) WHERE copy > 1"""


def repeated_sql(duplicates: str) -> str:
    """Extra copies of :func:`duplicates_sql` that repeat another file's row, by ``file_id``, ``first_file``
    and ``day`` (``n``): a file delivered twice under another name, which copies within a file are not."""
    return f"SELECT file_id, first_file, day, count(*) AS n FROM {duplicates} WHERE file_id <> first_file GROUP BY ALL"


#: File pairs listed in the summary's ``repeated_files``.
_REPEATED_SHOWN = 5


def repeated_files(repeated: "pd.DataFrame", *, files: Sequence[str]) -> list[dict[str, Any]]:
    """The files holding the most copies of another file's rows (:func:`repeated_sql`), most first.

    Returns
    -------
    list of dict
        At most five ``file`` (holding the copies), ``repeats`` (the file they repeat) and ``rows``;
        ties by name.
    """
    pairs = repeated.groupby(["file_id", "first_file"])["n"].sum()
    listed = sorted(((files[int(f)], files[int(o)], int(n)) for (f, o), n in pairs.items()),
                    key=lambda pair: (-pair[2], pair[0], pair[1]))
    return [{"file": f, "repeats": o, "rows": n} for f, o, n in listed[:_REPEATED_SHOWN]]


def valid_sql(table: str, duplicates: str) -> str:
    """The valid events of ``table``: rule-clean rows but the extra copies listed in ``duplicates``."""
    return (
        f"(SELECT {_typed_columns()} FROM {table} ANTI JOIN (SELECT file_id, row_no FROM {duplicates}) "
        f"USING (file_id, row_no) WHERE reason IS NULL)"
    )


def quarantine_rows_sql(rows: str, duplicates: str) -> str:
    """Quarantined rows of a partition (values as read, as text) with their ``day``.

    ``rows`` is the partition's :func:`partition_rows_sql` (it has the values as read);
    ``duplicates`` lists the extra copies, which are valid by the rules.
    """
    return f"""
        SELECT file_id, NULL::BIGINT AS line, coalesce(reason, 'duplicate_event') AS reason, field, {_raw_text()},
               NULL::VARCHAR AS raw_line, day
        FROM ({rows})
        WHERE reason IS NOT NULL OR (file_id, row_no) IN (SELECT (file_id, row_no) FROM {duplicates})"""


def first_and_last(counts: "pd.DataFrame", index: "pd.DataFrame") -> tuple[date | None, date | None]:
    """Earliest and latest day of the valid rows (of all dated rows when none is valid).

    ``counts`` comes from :func:`counts_sql`, ``index`` from :func:`dated_day_sql` (``day`` NULL
    when undated).
    """
    valid = counts.loc[counts["reason"].isna(), "day"]
    days = valid if not valid.empty else index["day"].dropna()
    if days.empty:
        return None, None
    return day_from_number(days.min()), day_from_number(days.max())


def day_from_number(day: float) -> date:
    """The date of a day number (:func:`day_number`'s inverse)."""
    return date(1970, 1, 1) + timedelta(days=int(day))


def files_in_window(index: "pd.DataFrame", *, n_files: int, lo: int, hi: int) -> list[int]:
    """Ids of the files whose undated rows belong to the window ``lo``..``hi`` (day numbers).

    A file belongs when one of its dated rows falls in the window, or when it has no dated row
    at all (nothing places it elsewhere, so it is never skipped). ``index`` has ``file_id`` and
    ``day`` (NULL for undated rows).
    """
    dated = index[index["day"].notna()]
    inside = set(dated.loc[dated["day"].between(lo, hi), "file_id"].astype(int))
    placed_elsewhere = set(dated["file_id"].astype(int)) - inside
    return [i for i in range(n_files) if i not in placed_elsewhere]


def in_scope(frame: "pd.DataFrame", *, files: Sequence[int], lo: int, hi: int) -> "pd.Series":
    """Which rows (``file_id``, ``day``; NaN day: undated) belong to the run of the window ``lo``..``hi``."""
    return (frame["day"].isna() & frame["file_id"].isin(files)) | frame["day"].between(lo, hi)


def quarantine_sql(rows: str, malformed: str) -> str:
    """The window's quarantine SELECT: partitions' ``rows`` in scope plus ``malformed`` lines, named by file,
    sorted by every column for reproducible bytes."""
    nothing = ", ".join(f"NULL AS {c}" for c in ingest.CANONICAL_TYPES)
    columns = ", ".join(f"q.{c}" for c in ingest.CANONICAL_TYPES)
    union = f"""
        SELECT file_id, line, reason, field, day, {_typed_columns()}, raw_line FROM {rows}
        UNION ALL
        SELECT CAST(file_id AS INTEGER), CAST(line AS BIGINT), 'malformed_line', NULL, NULL, {nothing}, raw_line
        FROM {malformed}"""
    return f"""SELECT s.source_file, q.line, q.reason, q.field, CAST(DATE '1970-01-01' + q.day AS DATE) AS event_date,
                      {columns}, q.raw_line
               FROM ({union}) AS q JOIN {ingest.FILES_TABLE} AS s USING (file_id) ORDER BY ALL"""


def published_quarantine_sql(relation: str, columns: Sequence[str]) -> str:
    """SELECT of a published quarantine with its ``columns``, as :data:`QUARANTINE_COLUMNS`.

    A file written before ``event_date`` existed gets it from its ``event_time`` text (the row's
    UTC day, in a UTC session), null for the reasons that leave a row undated.
    """
    if "event_date" in columns:
        return f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM {relation}"
    undated = ", ".join(sql_string(r) for r in UNDATED_REASONS)
    derived = (
        f"CASE WHEN reason IN ({undated}) THEN NULL "
        f"ELSE CAST(TRY_CAST(trim(event_time) AS TIMESTAMPTZ) AS DATE) END AS event_date"
    )
    return f"SELECT {', '.join(derived if c == 'event_date' else c for c in QUARANTINE_COLUMNS)} FROM {relation}"


def merge_quarantine_sql(previous: str, window: str, *, start: date, end: date, files: Sequence[str]) -> str:
    """The published quarantine after a run: ``window``'s rows replace the rows of ``previous`` it re-judged.

    A previous row is replaced when it is dated in ``start``..``end``, or when it is undated and
    its ``source_file`` is in ``files`` (those whose undated rows the run judged, see
    :func:`files_in_window`); every other row is kept. So re-running a window never duplicates a
    row, and a run never drops the rows of days or files it did not read.

    Parameters
    ----------
    previous, window : str
        Relations with :data:`QUARANTINE_COLUMNS` (see :func:`published_quarantine_sql`).
    start, end : date
        The processed window, inclusive.
    files : sequence of str
        ``source_file`` names whose undated rows the run judged.

    Returns
    -------
    str
        A SELECT sorted by every column, for reproducible bytes.
    """
    columns = ", ".join(QUARANTINE_COLUMNS)
    judged = f"source_file IN ({', '.join(sql_string(f) for f in files)})" if files else "false"
    return f"""
        SELECT {columns} FROM {previous}
        WHERE CASE WHEN event_date IS NULL THEN NOT ({judged})
                   ELSE event_date NOT BETWEEN DATE '{start.isoformat()}' AND DATE '{end.isoformat()}' END
        UNION ALL
        SELECT {columns} FROM {window}
        ORDER BY ALL"""


def daily_counts(scoped: "pd.DataFrame", duplicates: "pd.DataFrame") -> "pd.DataFrame":
    """Valid events per feature and day: the rule-clean rows minus quarantined duplicates."""
    import pandas as pd

    clean = scoped[scoped["reason"].isna()].groupby(["feature_id", "day"], as_index=False)["rows"].sum()
    merged = clean.merge(duplicates, on=["feature_id", "day"], how="left")
    events = merged["rows"] - merged["n"].fillna(0).astype("int64")
    frame = pd.DataFrame({
        "feature_id": merged["feature_id"].astype("str"),
        "date": [day_from_number(d) for d in merged["day"]],
        "events": events.astype("int64"),
    })
    return frame[frame["events"] > 0].sort_values(["feature_id", "date"], kind="stable").reset_index(drop=True)


#: The fix for rows whose ``event_time`` is not read (docs/telemetry.md, "Your own telemetry").
EVENT_TIME_FIX = (
    "export event_time as ISO 8601 text (2026-03-01T14:02:11Z, 2026-03-01T16:02:11+02:00 or 2026-03-01) or as a "
    "Parquet timestamp, or map the right column onto it with ingest.column_map"
)
#: The fix for CSV lines the reader could not split into the header's columns.
MALFORMED_FIX = (
    "check the files' separator and that each line has as many values as the header has columns (a header "
    "ending in a separator names one column more)"
)


def _top_reasons(by_reason: Mapping[str, int]) -> list[tuple[str, int]]:
    """The three most frequent reasons, most frequent first (ties by name)."""
    return sorted(((r, n) for r, n in by_reason.items() if n), key=lambda item: (-item[1], item[0]))[:3]


def check_some_valid(summary: Mapping[str, Any], *, mapped: Mapping[str, str], files: Sequence[str]) -> None:
    """Refuse a run in which rows came in but none is valid: the input is misread, not bad.

    Raises
    ------
    ingest.InputError
        Naming the most frequent reasons and the mapped columns, when ``rows_valid`` is 0 of
        ``rows_in`` > 0; the fix suggested follows the most frequent reason.
    """
    if summary["rows_valid"] or not summary["rows_in"]:
        return
    reasons = _top_reasons(summary["by_reason"])
    listed = ", ".join(f"{count:,} {reason}" for reason, count in reasons)
    columns = "; mapped columns: " + ", ".join(f"{src} -> {canon}" for src, canon in mapped.items()) if mapped else ""
    where = files[0] if len(files) == 1 else f"of {len(files)} files"
    fix = (
        EVENT_TIME_FIX if reasons and reasons[0][0] in UNDATED_REASONS[:2]
        else "check ingest.column_map and the files' separator and number format (a decimal comma is not read as a number)"
    )
    raise ingest.InputError(
        f"Input {where} has {summary['rows_in']:,} rows in the window but none is valid ({listed}{columns}); {fix}."
    )


def check_some_dated(
    index: "pd.DataFrame",
    counts: "pd.DataFrame",
    *,
    malformed: int,
    example: tuple[str, str] | None,
    files: Sequence[str],
) -> None:
    """Refuse input in which no row has a usable ``event_time``: it has no day to process.

    Setting the window cannot help (every row would be quarantined), so the message names the
    reasons, a value as read and how event times must be written (or, when most lines did not
    split into the header's columns, how lines must be).

    Parameters
    ----------
    index : pandas.DataFrame
        Every input row by ``file_id`` and ``day`` (NULL when undated).
    counts : pandas.DataFrame
        Rows of the files read by ``reason`` (:func:`counts_sql`).
    malformed : int
        CSV lines the reader could not split.
    example : (file, value) or None
        One ``event_time`` as read that was not usable, and its file.
    files : sequence of str
        The input's file names.

    Raises
    ------
    ingest.InputError
        When no row of ``index`` has a day.
    """
    if index["day"].notna().any():
        return
    by_reason = counts.groupby("reason")["rows"].sum().to_dict() | {"malformed_line": malformed}
    reasons = _top_reasons(by_reason)
    listed = ", ".join(f"{count:,} {reason}" for reason, count in reasons) or "no rows"
    shown = f", e.g. '{example[1][:40]}' in {example[0]}" if example else ""
    where = files[0] if len(files) == 1 else f"{len(files)} files"
    fix = MALFORMED_FIX if reasons and reasons[0][0] == "malformed_line" else EVENT_TIME_FIX
    raise ingest.InputError(
        f"No row of {where} has a usable event_time ({listed}{shown}), so the run has no day to process; {fix}."
    )


def day_before_window(index: "pd.DataFrame", quarantined: "pd.DataFrame", *, window: Window) -> dict[str, Any]:
    """The input's dated rows and the published quarantine's rows on the day before the window.

    A daily run publishes its day from the rows the input holds then; rows of that day that
    arrive later (in the next day's file of an export cut at local midnight, say) are outside
    the next run's window. Comparing these counts with the published fact table (the data-quality
    check ``late_rows``) finds them.

    Parameters
    ----------
    index : pandas.DataFrame
        Every input row by ``file_id`` and ``day`` (:func:`featurehealth.engine.file_index`,
        exact for the day before the window).
    quarantined : pandas.DataFrame
        The published quarantine after this run, as ``event_date``, ``rows``.
    window : Window
        The run's window.

    Returns
    -------
    dict
        ``date`` (ISO), ``input_rows`` and ``quarantined_rows``.
    """
    day = window.start - timedelta(days=1)
    return {"date": day.isoformat(), **day_rows(index, quarantined, day=day)}


def day_rows(index: "pd.DataFrame", quarantined: "pd.DataFrame", *, day: date) -> dict[str, int]:
    """``input_rows`` dated ``day`` in ``index`` (exact only for a day whose files were scanned, see
    :func:`featurehealth.engine.file_index`) and ``quarantined_rows`` of it in ``quarantined``
    (``event_date``, ``rows``)."""
    import pandas as pd

    dated = pd.to_datetime(quarantined["event_date"]).dt.date == day
    return {
        "input_rows": int(index.loc[index["day"] == day_number(day), "rows"].sum()),
        "quarantined_rows": int(quarantined.loc[dated.to_numpy(), "rows"].sum()),
    }


def unjudged_days(
    index: "pd.DataFrame", malformed: "pd.DataFrame", *, files: Sequence[int], as_of: date
) -> dict[str, int]:
    """Input rows of the days after ``as_of`` by day (ISO), when the as-of date comes from the data.

    That as-of date is the latest day with a valid row, so the days after it hold rows none of which
    is valid (the newest export saved with decimal commas, say), which the run does not judge. A day
    counts its dated rows, and the undated rows and ``malformed`` lines of the files it places
    outside the run (not in ``files``, :func:`files_in_window`), with their first day after ``as_of``.
    ``index`` has ``file_id``, ``day`` (NaN: undated) and ``rows`` for every input row.
    """
    after = index[index["day"] > day_number(as_of)]
    first_after = after.groupby("file_id")["day"].min()
    outside = first_after[~first_after.index.isin(list(files))]
    undated = index[index["day"].isna()].groupby("file_id")["rows"].sum()
    lines = malformed.groupby("file_id").size()
    by_day = after.groupby("day")["rows"].sum().add(
        (undated.reindex(outside.index, fill_value=0) + lines.reindex(outside.index, fill_value=0))
        .groupby(outside).sum(), fill_value=0)
    return {day_from_number(day).isoformat(): int(rows) for day, rows in by_day.sort_index().items()}


def summarise(
    index: "pd.DataFrame",
    scoped: "pd.DataFrame",
    duplicates: "pd.DataFrame",
    *,
    malformed: int,
    unread: int,
    raw: "ingest.RawEvents",
    window: Window,
    unjudged: Mapping[str, int],
    repeated: "pd.DataFrame",
) -> dict[str, Any]:
    """Counts for ``reports/ingest_summary.json``.

    ``index`` holds every input row (``file_id``, ``day``, ``rows``), ``scoped`` the counts of
    the window's rows (:func:`counts_sql`), ``duplicates`` extra copies by feature and day (``n``);
    ``malformed`` counts unsplittable lines in scope, ``unread`` all of them. ``last_event_date``
    is the window's latest valid day; ``latest_input_date`` the latest day any input row is dated,
    up to the as-of date (what data-quality freshness judges); ``files`` each file's rows, its
    malformed lines included, as ``rows_read`` counts them; ``unjudged_days`` is ``unjudged``
    (:func:`unjudged_days`, empty when ``ingest.as_of`` is set: a backfill leaves later days out
    on purpose), part of ``rows_outside_window``. ``unreadable_counts`` has every required column, and
    each of :data:`OPTIONAL_NUMBER_COLUMNS` that holds an unreadable value. ``repeated_files`` names the
    files holding the most of the ``repeated`` copies, those of another file's rows (:func:`repeated_files`).
    """
    by_reason = scoped.dropna(subset=["reason"]).groupby("reason")["rows"].sum().to_dict()
    if len(duplicates):
        by_reason["duplicate_event"] = int(duplicates["n"].sum())
    if malformed:
        by_reason["malformed_line"] = malformed
    rows_quarantined = int(sum(by_reason.values()))
    rows_valid = int(scoped.loc[scoped["reason"].isna(), "rows"].sum()) - by_reason.get("duplicate_event", 0)
    rows_read = int(index["rows"].sum()) + unread
    rows_in = int(scoped["rows"].sum()) + malformed
    per_file = index.groupby("file_id")["rows"].sum().add(raw.malformed.groupby("file_id").size(), fill_value=0)
    valid_days = scoped.loc[scoped["reason"].isna(), "day"]
    input_days = index["day"].dropna()
    input_days = input_days[input_days <= day_number(window.as_of)]
    # An optional column may be absent by design: it is named only when it holds a value that is not read.
    unreadable = {c: int(scoped[f"unreadable_{c}"].sum()) for c in READ_CHECKED_COLUMNS}
    return {
        "file_format": raw.file_format,
        "files": [{"name": name, "rows": int(per_file.get(i, 0))} for i, name in enumerate(raw.files)],
        "columns_mapped": raw.mapped,
        "extra_columns": list(raw.extra_columns),
        "as_of": window.as_of.isoformat(),
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "first_event_date": day_from_number(valid_days.min()).isoformat() if len(valid_days) else None,
        "last_event_date": day_from_number(valid_days.max()).isoformat() if len(valid_days) else None,
        # The feed's freshness, wherever the window lies: a backfill of old days on current input is fresh.
        "latest_input_date": day_from_number(input_days.max()).isoformat() if len(input_days) else None,
        "rows_read": rows_read,
        "rows_outside_window": rows_read - rows_in,
        "unjudged_days": dict(unjudged),
        "rows_in": rows_in,
        "rows_valid": rows_valid,
        "rows_quarantined": rows_quarantined,
        "by_reason": {r: int(by_reason[r]) for r in REASONS if by_reason.get(r)},
        "null_counts": {c: int(scoped[f"null_{c}"].sum()) for c in ingest.REQUIRED_COLUMNS},
        "unreadable_counts": {c: n for c, n in unreadable.items() if n or c in ingest.REQUIRED_COLUMNS},
        "repeated_files": repeated_files(repeated, files=raw.files),
    }
