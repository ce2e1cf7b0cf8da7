"""Feature-day star schema: fact_feature_metrics from valid events, dim_feature_metadata.

The fact table is computed by DuckDB from the valid events, with exact statistics:
percentiles are ``quantile_cont`` (linear interpolation between order statistics, as numpy's
default), active users an exact count of distinct ids, and average latency and feedback are sums in
fixed-point decimals (micro-units) divided once, so a re-run gives identical bits whatever the
thread scheduling. Days are cut at UTC midnight. 01_ingest runs :func:`aggregate_sql` on each day
partition of the valid events (:mod:`featurehealth.engine`) and leaves the window's aggregates in
``work/window_fact.parquet``; a feature-day lies in one partition, so the parts simply stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featurehealth import config, display, ingest, runlog
from featurehealth.validate import DAY_US

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

#: fact_feature_metrics columns and their pandas dtypes (``date`` holds datetime.date): DESIGN.md's,
#: plus three the risk model reads (:func:`aggregate_sql` says what they hold).
FACT_COLUMNS: dict[str, str] = {
    "feature_id": "str",
    "date": "object",
    "usage_count": "int64",
    "active_users": "int64",
    "avg_latency": "float64",
    "p50_latency": "float64",
    "p95_latency": "float64",
    "p99_latency": "float64",
    "crash_count": "int64",
    "crash_rate": "float64",
    "avg_feedback": "float64",
    "feedback_count": "int64",
    "error_rate": "float64",
    "new_version_events": "int64",
    "new_version_crashes": "int64",
    "is_degraded": "bool",
}
FACT_KEY = ("feature_id", "date")
#: The window's aggregates handed from 01_ingest to 02_aggregate, under ``RunPaths.work``.
WINDOW_FACT_FILE = "window_fact.parquet"
DIM_COLUMNS = (*ingest.METADATA_COLUMNS, "in_metadata")
#: Arrow type of each dim column, whatever the rows hold: without a metadata file lifecycle_stage,
#: tier and launch_date are all empty, which pandas would store as the type null.
DIM_ARROW_TYPES = {
    "feature_id": "large_string", "feature_name": "large_string", "owner_team": "large_string",
    "lifecycle_stage": "large_string", "tier": "large_string", "launch_date": "date32", "in_metadata": "bool_",
}
UNASSIGNED_OWNER = ingest.UNASSIGNED_OWNER


def aggregate_sql(relation: str) -> str:
    """SELECT computing fact_feature_metrics (without ``is_degraded``) from an events relation.

    Beyond DESIGN.md's columns it computes ``error_rate`` (errors per event with a known
    ``error_count``; NaN when the input has none) and ``new_version_events`` /
    ``new_version_crashes``: events and crashes on the day's newest app version, the highest
    version (compared as dot-separated numbers) seen that day on any feature, 0 without versions.
    A staged rollout shows there first: a version that crashes a feature does so on a few percent
    of its events days before the full rollout makes it an incident. Surrounding spaces and a
    leading ``v`` or ``V`` are ignored, so ``v5.10.0`` and ``5.10.0`` are one version whose events
    and crashes count together (any other difference makes another version). Versions compare as
    in semantic versioning: first the dot-separated parts before a ``-`` pre-release or ``+`` build
    suffix, each by the number it starts with (a part without one below every number); of equal
    numbers a release (digits and dots only, a build suffix aside) is newer than a pre-release,
    and pre-releases compare by their dot-separated identifiers (numbers by value, below text):
    ``5.10-rc1`` is newer than ``5.9``, ``5.10.0`` than ``5.10.0-rc.1``, ``5.10.0-beta.10`` than
    ``5.10.0-beta.2``. A version without a number, such as ``unknown``, is never the newest: a
    day with only such versions has none (0 events).

    Parameters
    ----------
    relation : str
        Table, table function or parenthesised SELECT with the canonical event columns, e.g.
        :func:`featurehealth.validate.valid_sql` of a partition (what the engine passes) or
        ``read_parquet('events/*.parquet')``. Every event of a day must be in it, since the
        newest version is the day's.

    Returns
    -------
    str
        A SELECT ordered by ``feature_id``, ``date``.
    """
    # Versions are counted per feature-day first, so the version order is parsed and the
    # spellings are merged on a few keys, not every event.
    bare = "regexp_replace(trim({}), '^[vV]', '')"
    return f"""
        WITH feature_days AS ({feature_day_sql(relation)}),
        newest AS (
            SELECT day, arg_max(bare, (
                       numbers,
                       regexp_full_match(core, '[0-9.]+') AND pre = '',
                       list_transform(
                           string_split(pre, '.'),
                           lambda id: (TRY_CAST(id AS BIGINT) IS NULL, coalesce(TRY_CAST(id AS BIGINT), -1), id)
                       ),
                       bare
                   )) AS newest_version
            FROM (
                SELECT day, bare, core, pre, list_transform(
                           string_split(core, '.'),
                           lambda part: coalesce(TRY_CAST(regexp_extract(part, '^[0-9]+') AS BIGINT), -1)
                       ) AS numbers
                FROM (
                    SELECT day, bare, regexp_extract(bare, '^[^+-]*') AS core,
                           regexp_extract(bare, '^[^+-]*-([^+]*)', 1) AS pre
                    FROM (
                        SELECT day, {bare.format('version')} AS bare
                        FROM (SELECT DISTINCT day, unnest(map_keys(versions)) AS version FROM feature_days)
                    )
                )
            )
            WHERE list_max(numbers) >= 0
            GROUP BY day
        )
        SELECT feature_id, CAST(DATE '1970-01-01' + day AS DATE) AS date, usage_count,
               active_users, avg_latency, q[1] AS p50_latency, q[2] AS p95_latency, q[3] AS p99_latency,
               crash_count, crash_count / usage_count AS crash_rate, avg_feedback, feedback_count,
               error_rate,
               CAST(coalesce(list_sum([e.value FOR e IN map_entries(versions)
                                       IF {bare.format('e.key')} = newest_version]), 0) AS BIGINT)
                   AS new_version_events,
               CAST(coalesce(list_sum([e.value FOR e IN map_entries(version_crashes)
                                       IF {bare.format('e.key')} = newest_version]), 0) AS BIGINT)
                   AS new_version_crashes
        FROM feature_days LEFT JOIN newest USING (day)
        ORDER BY feature_id, date"""


def feature_day_sql(relation: str) -> str:
    """SELECT of one row per feature and UTC day of ``relation``: the metrics and version histograms.

    Two parts of :func:`aggregate_sql` read these rows, so DuckDB keeps all of them in memory:
    they hold counts, sums, the three latency percentiles (``q``) and each version's events
    (``versions``) and crashes (``version_crashes``), never a list of every event's values.

    Parameters
    ----------
    relation : str
        Table, table function or parenthesised SELECT with the canonical event columns.

    Returns
    -------
    str
        A SELECT with ``feature_id`` and ``day`` (days since 1970-01-01) as keys.
    """
    # The day comes from epoch arithmetic: casting a TIMESTAMPTZ to DATE goes through the
    # time-zone library and costs more than the rest of the grouping. Distinct users are counted
    # from each group's list of ids: exact, and faster than count(DISTINCT), whose global hash
    # table over (feature, day, user) is the most expensive part of the query.
    return f"""
            SELECT feature_id,
                   CAST(epoch_us(event_time) // {DAY_US} AS INTEGER) AS day,
                   count(*) AS usage_count,
                   CAST(list_unique(list(user_id)) AS BIGINT) AS active_users,
                   CAST(avg(CAST(latency_ms AS DECIMAL(18, 6))) AS DOUBLE) AS avg_latency,
                   quantile_cont(latency_ms, [0.5, 0.95, 0.99]) AS q,
                   count(*) FILTER (WHERE is_crash) AS crash_count,
                   CAST(avg(CAST(feedback_score AS DECIMAL(18, 6))) AS DOUBLE) AS avg_feedback,
                   count(feedback_score) AS feedback_count,
                   CASE WHEN count(error_count) > 0 THEN CAST(sum(error_count) AS DOUBLE) / count(error_count) END
                       AS error_rate,
                   histogram(app_version) AS versions,
                   histogram(app_version) FILTER (WHERE is_crash) AS version_crashes
            FROM {relation}
            GROUP BY ALL"""


def aggregate_events(con: "duckdb.DuckDBPyConnection", relation: str) -> "pd.DataFrame":
    """Feature-day metrics of the events in ``relation`` (see :func:`aggregate_sql`).

    Returns
    -------
    pandas.DataFrame
        The :data:`FACT_COLUMNS` but ``is_degraded``, one row per feature and day with events,
        sorted by ``feature_id``, ``date``; ``avg_feedback`` is NaN on days without feedback.
    """
    return fact_frame(con.sql(aggregate_sql(relation)).to_arrow_table())


def fact_frame(table: "pa.Table") -> "pd.DataFrame":
    """The result of :func:`aggregate_sql` as a frame: the fact columns but ``is_degraded``, in their dtypes."""
    frame = table.to_pandas()
    columns = [c for c in FACT_COLUMNS if c != "is_degraded"]
    return frame[columns].astype({c: FACT_COLUMNS[c] for c in columns if c != "date"})


#: The ingest summary 01_ingest writes under ``reports/`` (rows, window, input hash).
INGEST_SUMMARY_FILE = "ingest_summary.json"


def read_ingest_summary(reports: "Path") -> "dict[str, object]":
    """The ingest summary 01_ingest wrote in ``reports`` (see :data:`INGEST_SUMMARY_FILE`).

    Parameters
    ----------
    reports : Path
        The run folder's ``reports/``.

    Returns
    -------
    dict
        The summary, e.g. ``window_start``, ``window_end`` and ``rows_valid``.

    Raises
    ------
    FileNotFoundError
        If 01_ingest has not run with the same output folder; the message says so.
    """
    path = reports / INGEST_SUMMARY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"Ingest summary {path} does not exist; run notebook 01_ingest first (same output_dir).")
    return runlog.read_json(path)


#: 02_aggregate's step, recorded under ``reports/steps/`` (:func:`runlog.record_step`); its fact
#: ``degradation`` is the group the fact table's ``is_degraded`` was flagged with.
AGGREGATE_STEP = "02_aggregate"


def labels_degradation(reports: "Path") -> "dict[str, Any] | None":
    """The ``degradation`` group 02_aggregate flagged the fact table's ``is_degraded`` with.

    Parameters
    ----------
    reports : Path
        The run folder's ``reports/``.

    Returns
    -------
    dict or None
        The group as 02_aggregate recorded it in its step report, or None when unknown (no
        report, or one written before the step recorded the group).
    """
    record = runlog.read_json_if_present(reports / "steps" / f"{AGGREGATE_STEP}.json")
    recorded = record.get("degradation") if isinstance(record, dict) else None
    return recorded if isinstance(recorded, dict) else None


def check_labels_degradation(
    reports: "Path", *, degradation: "Mapping[str, Any]", set_here: "Mapping[str, Any] | None" = None
) -> None:
    """Raise if the fact table's ``is_degraded`` was flagged with other ``degradation`` values.

    03_model builds its signals with its own ``degradation`` group but learns from the labels
    02_aggregate flagged: set in 03_model's parameters cell alone, a key would change the signals
    and the settings its model card records, not the labels. A key the record lacks (written by
    older code) or a missing record is unknown and passes.

    Parameters
    ----------
    reports : Path
        The run folder's ``reports/``.
    degradation : mapping
        The notebook's resolved ``degradation`` group.
    set_here : mapping, optional
        The keys the notebook's parameters cell set. When none of the differing keys is among
        them, the values come from the profile, and the message says to set the labels' values
        in this cell or to run 01_ingest and 02_aggregate again, rather than to edit
        02_aggregate's cell. None: unknown, the message covers a key set in this cell.

    Raises
    ------
    config.ProfileError
        Naming the keys that differ, and how to make the labels match.
    """
    recorded = labels_degradation(reports) or {}
    differing = [key for key in sorted(recorded) if key in degradation and recorded[key] != degradation[key]]
    if not differing:
        return
    here = ", ".join(f"{key}={degradation[key]!r}" for key in differing)
    there = ", ".join(f"{key}={recorded[key]!r}" for key in differing)
    if set_here is not None and not set(differing) & set(set_here):
        # The values come from the profile: no cell of this notebook is to blame.
        cell = ", ".join(f'"{key}": {recorded[key]!r}' for key in differing)
        raise config.ProfileError(
            f"The fact table's is_degraded labels were flagged by {AGGREGATE_STEP} with degradation {there}, "
            f"not the {here} this notebook takes from its profile ({AGGREGATE_STEP} ran with another value in its "
            f"parameters cell, before the profile changed, or for another profile); set degradation = {{{cell}}} "
            f"in this notebook's parameters cell to learn from those labels, or run 01_ingest and {AGGREGATE_STEP} "
            f"again first ({AGGREGATE_STEP} reads 01_ingest's hand-over files) to flag them with the profile's values."
        )
    raise config.ProfileError(
        f"The fact table's is_degraded labels were flagged by {AGGREGATE_STEP} with degradation "
        f"{there}, not this notebook's {here}; set the same in {AGGREGATE_STEP}'s parameters cell "
        f"too and run {AGGREGATE_STEP} first, or use --set degradation.KEY=VALUE for a whole run."
    )


def read_window_fact(work: "Path") -> "pd.DataFrame":
    """The window's aggregates left by 01_ingest in ``work`` (see :data:`WINDOW_FACT_FILE`).

    Raises
    ------
    FileNotFoundError
        If 01_ingest has not run with the same output folder.
    """
    import pyarrow.parquet as pq

    path = work / WINDOW_FACT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"Window aggregates {path} do not exist; run notebook 01_ingest first (same output_dir).")
    return fact_frame(pq.read_table(path))


def check_valid_count(fact: "pd.DataFrame", *, rows_valid: int) -> None:
    """Check that the aggregates count exactly the rows validation passed.

    Raises
    ------
    RuntimeError
        If ``fact``'s ``usage_count`` does not add up to ``rows_valid`` (a bug, never bad data).
    """
    counted = int(fact["usage_count"].sum())
    if counted != rows_valid:
        raise RuntimeError(
            f"Row accounting failed: the aggregates count {counted} events but ingest passed {rows_valid}; "
            f"re-run 01_ingest with the same output_dir, and report this bug if it persists."
        )


def window_of(summary: "dict[str, object]") -> tuple[date, date]:
    """The processed window (first, last day) recorded in the ingest summary."""
    return date.fromisoformat(str(summary["window_start"])), date.fromisoformat(str(summary["window_end"]))


def as_dates(values: "pd.Series") -> list[date]:
    """datetime.date values from dates, datetimes, Timestamps or ISO strings."""
    import pandas as pd

    return [
        v if isinstance(v, date) and not isinstance(v, datetime) else pd.Timestamp(v).date()
        for v in values
    ]


def drop_days_before(fact: "pd.DataFrame | None", *, day: str) -> "tuple[pd.DataFrame | None, list[str]]":
    """The published fact table without its days before ``day`` (``ingest.drop_before``).

    Runs replace only the days of their window, so a day a bad export published outside every
    later window (a stray row dated years before the feed) stays unless dropped by name.

    Parameters
    ----------
    fact : pandas.DataFrame or None
        The published fact table, if any.
    day : str
        ``YYYY-MM-DD``, or ``""`` to drop nothing.

    Returns
    -------
    tuple
        The table kept (``fact`` itself when nothing is dropped; index 0..n-1 otherwise) and the
        dropped days as sorted ISO dates.
    """
    if fact is None or not day:
        return fact, []
    import pandas as pd

    days = pd.Series(as_dates(fact["date"]), dtype="object", index=fact.index)
    early = days < date.fromisoformat(day)
    if not early.any():
        return fact, []
    return fact[~early].reset_index(drop=True), sorted({d.isoformat() for d in days[early]})


def merge_window(previous: "pd.DataFrame | None", new: "pd.DataFrame", *, start: date, end: date) -> "pd.DataFrame":
    """Replace the days ``start``..``end`` of the previous fact table with ``new``.

    Days outside the window are kept as they were (with any columns a later step added, which
    the new rows lack); days inside it are exactly ``new``'s, so re-running a window never
    duplicates a feature-day and a new day is appended.

    Parameters
    ----------
    previous : pandas.DataFrame or None
        The fact table of the last published run, if any.
    new : pandas.DataFrame
        Aggregates of this run's window.
    start, end : date
        The processed window, inclusive.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``feature_id``, ``date``, index 0..n-1.

    Raises
    ------
    ValueError
        If ``new`` has days outside the window, ``start`` > ``end``, or ``previous`` keeps days
        outside the window but lacks fact columns ``new`` has (an older version built it) or
        breaks :func:`check_fact`'s contract on them (a negative count, say).
    """
    import pandas as pd

    if start > end:
        raise ValueError(f"Window start {start} is after its end {end}.")
    new_days = pd.Series(as_dates(new["date"]), dtype="object")
    outside = new_days[(new_days < start) | (new_days > end)]
    if len(outside):
        raise ValueError(f"New aggregates hold day {outside.iloc[0]}, outside the window {start}..{end}.")
    new = new.assign(date=new_days.to_numpy())
    if previous is None or previous.empty:
        merged = new
    else:
        old_days = pd.Series(as_dates(previous["date"]), dtype="object", index=previous.index)
        kept = previous.assign(date=old_days)[(old_days < start) | (old_days > end)]
        # Kept days would lack columns an older version did not build; a window covering them
        # all replaces the whole table, which is how such a table is rebuilt.
        outdated = [c for c in FACT_COLUMNS if c not in previous.columns and c in new.columns]
        if outdated and len(kept):
            raise ValueError(
                f"The published fact table lacks column(s) {', '.join(outdated)} (built by an older version) "
                f"on days outside the window {start}..{end}; re-run with ingest.window_start and "
                f"ingest.window_end empty to rebuild it from every input day."
            )
        # Kept days are published as they are: a damaged one is the published table's fault, not the run's.
        damaged = _contract_problems(kept) if len(kept) else []
        if damaged:
            raise ValueError(
                f"The published fact table breaks its contract on days outside the window {start}..{end} "
                f"({'; '.join(damaged)}); re-run with ingest.window_start and ingest.window_end empty to rebuild "
                f"it from every input day."
            )
        merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new
    return merged.sort_values(list(FACT_KEY), kind="stable").reset_index(drop=True)


def _contract_problems(fact: "pd.DataFrame") -> list[str]:
    """The broken rules of :func:`check_fact`'s contract on ``fact`` (dates as datetime.date), keys aside."""
    problems = []
    if fact.duplicated(list(FACT_KEY)).any():
        problems.append("a feature-day appears more than once")
    counts = ["usage_count", "active_users", "crash_count", "feedback_count"]
    # A missing value compares False with every bound, so it is named as missing rather than
    # read as out of range (or, for a count, let through).
    for column in [*counts, "crash_rate"]:
        n_missing = int(fact[column].isna().sum())
        if n_missing:
            problems.append(f"{column} is missing on {display.count_text(n_missing, 'row')}")
    for column in counts:
        n_negative = int((fact[column] < 0).sum())
        if n_negative:
            problems.append(f"{column} is negative on {display.count_text(n_negative, 'row')}")
    n_outside = int((fact["crash_rate"].notna() & ~fact["crash_rate"].between(0, 1)).sum())
    if n_outside:
        problems.append(f"crash_rate is outside [0, 1] on {display.count_text(n_outside, 'row')}")
    return problems


def check_fact(frame: "pd.DataFrame") -> "pd.DataFrame":
    """Check a fact table against the contract and return it normalised.

    The contract: every :data:`FACT_COLUMNS` column (risk columns optional), no missing key,
    one row per ``feature_id``/``date``, counts present and non-negative, ``crash_rate`` present
    and in [0, 1].

    Returns
    -------
    pandas.DataFrame
        A copy with ``date`` as datetime.date values, the contract columns first in
        DESIGN.md order, sorted by ``feature_id``, ``date``.

    Raises
    ------
    ValueError
        Listing every broken rule (a missing value by its column and number of rows).
    """
    import pandas as pd

    missing = [c for c in FACT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"fact_feature_metrics lacks column(s) {', '.join(missing)}; expected {', '.join(FACT_COLUMNS)}."
        )
    dates = pd.Series(as_dates(frame["date"].fillna(date(1970, 1, 1))), index=frame.index, dtype="object")
    fact = frame.assign(date=dates)
    missing_key = frame[list(FACT_KEY)].isna().any().any()
    problems = [*(["a feature_id or date is missing"] if missing_key else []), *_contract_problems(fact)]
    if problems:
        raise ValueError(f"fact_feature_metrics breaks its contract: {'; '.join(problems)}.")
    ordered = [*FACT_COLUMNS, *(c for c in fact.columns if c not in FACT_COLUMNS)]
    return fact[ordered].sort_values(list(FACT_KEY), kind="stable").reset_index(drop=True)


def build_dim(metadata: "pd.DataFrame | None", feature_ids: Iterable[str]) -> "pd.DataFrame":
    """dim_feature_metadata: the metadata rows plus features seen only in telemetry.

    Parameters
    ----------
    metadata : pandas.DataFrame or None
        From :func:`featurehealth.ingest.read_metadata`; None when there is no metadata file.
    feature_ids : iterable of str
        Features present in the fact table.

    Returns
    -------
    pandas.DataFrame
        :data:`DIM_COLUMNS`, sorted by ``feature_id``. A feature missing from the metadata has
        ``owner_team`` "unassigned", its id as ``feature_name``, nulls elsewhere and
        ``in_metadata`` False.
    """
    import pandas as pd

    known = (
        metadata[list(ingest.METADATA_COLUMNS)].assign(in_metadata=True)
        if metadata is not None
        else pd.DataFrame({c: pd.Series(dtype="object") for c in DIM_COLUMNS}).astype({"in_metadata": "bool"})
    )
    unknown = sorted(set(feature_ids) - set(known["feature_id"]))
    extra = pd.DataFrame({
        "feature_id": unknown,
        "feature_name": unknown,
        "owner_team": [UNASSIGNED_OWNER] * len(unknown),
        "lifecycle_stage": [None] * len(unknown),
        "tier": [None] * len(unknown),
        "launch_date": [None] * len(unknown),
        "in_metadata": [False] * len(unknown),
    })
    dim = pd.concat([known, extra], ignore_index=True) if len(extra) else known
    return check_dim(dim)


def dim_schema() -> "pa.Schema":
    """Arrow schema dim_feature_metadata is stored with (:data:`DIM_ARROW_TYPES`, in order).

    Returns
    -------
    pyarrow.Schema
        Text, dates and booleans even when a column holds no value.
    """
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, DIM_ARROW_TYPES[name])()) for name in DIM_COLUMNS])


def check_dim(frame: "pd.DataFrame") -> "pd.DataFrame":
    """Check dim_feature_metadata (columns, one row per feature) and return it sorted.

    Raises
    ------
    ValueError
        If a column is missing or a feature_id is missing or repeated.
    """
    missing = [c for c in DIM_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"dim_feature_metadata lacks column(s) {', '.join(missing)}; expected {', '.join(DIM_COLUMNS)}."
        )
    if frame["feature_id"].isna().any() or frame["feature_id"].duplicated().any():
        raise ValueError("dim_feature_metadata breaks its contract: each feature_id must appear exactly once.")
    dim = frame.astype({"feature_id": "str", "in_metadata": "bool"})
    return dim.sort_values("feature_id", kind="stable").reset_index(drop=True)
