"""Data-quality checks of one ingest run -> ``reports/data_quality.json``.

Each check reports its name, status (pass, warn, fail, or not_judged when there is nothing to
compare yet), observed value, thresholds, the rule comparing them and a one-sentence
``message``; the summary's ``message`` joins those of the checks that failed or warned, failures
first, and its ``status`` is the worst of the judged checks. For "above" checks a value at or above the warn (fail) threshold warns
(fails); for "below" checks (volume ratio) a value under the threshold does. Which failures stop
the run is the profile's ``quality.stop_on_fail``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from featurehealth import aggregate, degradation, display, ingest, validate

if TYPE_CHECKING:
    import pandas as pd

    from featurehealth.config import RunPaths

CHECKS = (
    "missing_days", "published_gap", "late_rows", "volume_drop", "duplicate_events", "null_rate", "out_of_range", "freshness",
    "unknown_features",
)
#: A check's status, from best to worst; ``not_judged``: nothing to compare yet (a first run, say),
#: which neither passes nor fails and leaves the run's status to the judged checks.
NOT_JUDGED = "not_judged"
STATUSES = (NOT_JUDGED, "pass", "warn", "fail")
_WORST_SHOWN = 5
#: Days named in a message before "and N more".
_DAYS_SHOWN = 5


class QualityError(ValueError):
    """A check listed in ``quality.stop_on_fail`` failed; the message names it and the fix."""


def grade(observed: float | None, *, warn: float, fail: float, below: bool = False) -> str:
    """Status of an observed value: ``"fail"``, ``"warn"`` or ``"pass"`` (None: ``"not_judged"``).

    Parameters
    ----------
    observed : float or None
    warn, fail : float
        Thresholds; reached (``>=``) by "above" checks, undercut (``<``) with ``below``.
    below : bool
        Low values are bad (e.g. a volume ratio).
    """
    if observed is None:
        return NOT_JUDGED
    if below:
        return "fail" if observed < fail else "warn" if observed < warn else "pass"
    return "fail" if observed >= fail else "warn" if observed >= warn else "pass"


def _check(
    name: str, observed: Any, *, warn: float, fail: float, below: bool = False, message: str = "", **details: Any
) -> dict[str, Any]:
    rule = "below" if below else "at or above"
    status = grade(observed, warn=warn, fail=fail, below=below)
    shown = round(observed, 6) if isinstance(observed, float) else observed
    return {
        "name": name,
        "status": status,
        "observed": shown,
        "threshold": {"warn": warn, "fail": fail},
        "rule": f"warn {rule} warn, fail {rule} fail",
        "message": message or (f"{name}: not judged, nothing to compare yet." if observed is None else
                               f"{name} observed {shown} ({status}; warn {rule} {warn}, fail {rule} {fail})."),
        "details": details,
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _day_list(days: Sequence[date]) -> str:
    """Sorted days as text, runs of consecutive days as ``first..last``, at most :data:`_DAYS_SHOWN` items."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return display.listed([f"{a}" if a == b else f"{a}..{b}" for a, b in runs[:_DAYS_SHOWN]], total=len(runs))


def stopped_features(counts: "pd.DataFrame", *, after_days: int) -> dict[str, date]:
    """Features without any event on the last ``after_days`` days that some feature has events on.

    Parameters
    ----------
    counts : pandas.DataFrame
        Feature-days with events (``feature_id``, ``date``), history included.
    after_days : int
        Days of silence, counted back from the latest day with any event, that make a feature
        stopped; a shorter gap is not a stop.

    Returns
    -------
    dict
        Feature id -> its last day with events, sorted by that day then id. A feed that stops
        as a whole stops no feature: the latest day is then its last.

    Raises
    ------
    ValueError
        If ``after_days`` < 1.
    """
    if after_days < 1:
        raise ValueError(f"after_days must be >= 1, got {after_days}.")
    if not len(counts):
        return {}
    last = counts.groupby("feature_id")["date"].max()
    cut = max(counts["date"]) - timedelta(days=after_days)
    quiet = last[last <= cut]
    return dict(sorted(quiet.items(), key=lambda item: (item[1], str(item[0]))))


def deprecated_features(metadata: "pd.DataFrame | None") -> list[str]:
    """Ids the feature metadata marks ``deprecated`` (retired: not expected to send events), sorted."""
    if metadata is None:
        return []
    return sorted(map(str, metadata.loc[metadata["lifecycle_stage"] == "deprecated", "feature_id"]))


def _previously_stopped(previous: Mapping[str, Any] | None) -> set[str]:
    """Feature ids the published report's ``missing_days`` listed as stopped (none before it listed any)."""
    checks = (previous or {}).get("checks") or []
    listed = next((c.get("details", {}).get("stopped_features", []) for c in checks
                   if isinstance(c, Mapping) and c.get("name") == "missing_days"), [])
    return {str(f.get("feature_id")) for f in listed if isinstance(f, Mapping)}


def check_missing_days(
    counts: "pd.DataFrame",
    *,
    start: date,
    end: date,
    latest_input: date | None,
    warn: float,
    fail: float,
    stopped_after_days: int,
    deprecated: Iterable[str] = (),
    previously_stopped: Iterable[str] = (),
    as_of: date | None = None,
    profile: str = "",
    rerun: Sequence[str] = (),
    unjudged: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Share of expected feature-days in the window without any valid event.

    A feature is expected on each window day from its first day with events (in ``counts``,
    which may include earlier history) to ``end``; a window without any event and no feature
    seen before misses everything (1.0). The message names the window days without any valid
    event, saying which lie after ``latest_input`` (the latest input day up to the as-of date):
    those have no row in the input yet, and the message gives their re-run; then how many
    expected feature-days lack events on the other days, and the first of them. A day up to
    ``latest_input`` without any valid event warns (at least), whatever its share. When such days cut
    the window's first day off from the rest for longer than the rest lasts (a stray row dated years
    before the feed, which starts a window taken from the data), the message first names that day,
    its valid events and the re-run starting the window on the next day with events.

    A feature that stopped sending events (none on the last ``stopped_after_days`` days with
    events, :func:`stopped_features`) is no longer expected after its last day with events, so
    it does not count as missing day after day: the message names it, "F stopped sending events
    on DAY" (the first day without), and ``details.stopped_features`` lists it. The check warns
    (at least) on the run that first finds it stopped; later ones (those whose
    ``previously_stopped``, the published report's list, holds it) neither warn nor explain it
    again, but say "Still stopped, as an earlier run reported: F since DAY". A feature of ``deprecated``
    (retired in the metadata) that stopped is listed too, but neither named nor warned about.
    Shorter gaps count as missing as before.

    A feature id of the history that is not in Unicode NFC was published by code that kept ids
    as written: ids are now read in NFC, so that spelling can have no event any more and is not
    expected. The table then holds such a feature under two ids until its days are re-read, so
    the check warns (at least) and its message names them and the re-run from the history's
    first day. ``as_of``, ``profile`` and ``rerun`` make these commands as in :func:`check_published_gap`.

    ``unjudged`` (the summary's ``unjudged_days``: ISO day -> rows) are the input's days after an
    as-of date taken from the data, the latest day with a valid row: their rows, none valid (the
    newest export saved with decimal commas, say), were not judged. The check warns (at least), and
    its message names how many rows, their days and the run that judges them: this run's window
    extended to the last of them (a window of those days alone, without a valid row, stops).
    """
    import unicodedata

    # Ids are read in NFC (validate.column_expressions): an id in another form is an old spelling.
    stale = sorted(f for f in counts["feature_id"].unique()
                   if isinstance(f, str) and not unicodedata.is_normalized("NFC", f))
    first_day = min(counts["date"]) if len(counts) else start
    counts = counts[~counts["feature_id"].isin(stale)]
    stopped = stopped_features(counts, after_days=stopped_after_days)
    # Only stops the window would otherwise count day after day are named.
    stopped = {f: last for f, last in stopped.items() if last < end}
    expected, missing = _expected_feature_days(counts, start=start, end=end, stopped=stopped)
    with_events = set(counts.loc[counts["date"].between(start, end), "date"])
    empty = [d for d in _days(start, end) if d not in with_events]
    share = _share(len(missing), len(expected)) if expected else float(bool(empty))
    not_yet = [d for d in empty if latest_input is None or d > latest_input]
    no_valid = [d for d in empty if d not in not_yet]
    rerun_from = functools.partial(_rerun_command, profile, as_of=as_of or end, rerun=rerun)
    sentences = [
        *_not_yet_sentences(not_yet, latest_input=latest_input, rerun_from=rerun_from),
        *_stray_sentences(_stray_first_day(counts, start=start, end=end),
                          window_end=None if end == (as_of or end) else end, rerun_from=rerun_from),
    ]
    if no_valid:
        sentences.append(f"No valid event on {_day_list(no_valid)}: the input has no row there or only "
                         f"quarantined ones.")
    # A feature missing on days other features have events is named too, or a day without rows hides it.
    scattered = [(f, d) for f, d in missing if d not in empty]
    if scattered:
        first_f, first_d = scattered[0]
        besides = "Besides those days, " if sentences else ""
        sentences.append(f"{besides}{len(scattered)} of {len(expected)} expected feature-days in the window have no "
                         f"valid event (first: {first_f} on {first_d}).")
    after = {date.fromisoformat(d): int(n) for d, n in (unjudged or {}).items()}
    retired, reported = set(map(str, deprecated)), set(map(str, previously_stopped))
    named = [(f, last + timedelta(days=1)) for f, last in stopped.items() if str(f) not in retired]
    newly_stopped = [(f, day) for f, day in named if str(f) not in reported]
    sentences += [
        *_unjudged_sentences(after, as_of=as_of or end, start=start, rerun_from=rerun_from),
        *_stopped_sentences(newly_stopped, [(f, day) for f, day in named if str(f) in reported],
                            counts=counts, after_days=stopped_after_days),
        *_old_spelling_sentences(stale, first_day=first_day, rerun_from=rerun_from),
    ]
    check = _check(
        "missing_days", share, warn=warn, fail=fail,
        message=" ".join(sentences) or f"Every expected feature-day of {start}..{end} has events.",
        expected_feature_days=len(expected), missing_feature_days=len(missing),
        days_without_events=[d.isoformat() for d in empty],
        examples=[{"feature_id": f, "date": d.isoformat()} for f, d in missing[:_WORST_SHOWN]],
        old_spellings=stale[:50],
        stopped_features=[{"feature_id": f, "last_event": last.isoformat(),
                           "stopped_on": (last + timedelta(days=1)).isoformat(), "deprecated": str(f) in retired}
                          for f, last in stopped.items()],
    )
    # A day of the input without any valid event is a lost export or a broken feed, however small its share.
    return {**check, "status": "warn"} if (stale or newly_stopped or no_valid or after) and check["status"] == "pass" \
        else check


def _expected_feature_days(
    counts: "pd.DataFrame", *, start: date, end: date, stopped: Mapping[str, date]
) -> tuple[list[tuple[str, date]], list[tuple[str, date]]]:
    """The expected feature-days (each feature from its first day to its stop or ``end``) and those without events."""
    first_seen = counts.groupby("feature_id")["date"].min()
    present = set(zip(counts["feature_id"], counts["date"], strict=True))
    expected = [(f, d) for f, first in first_seen.items()
                for d in _days(max(first, start), min(end, stopped.get(f, end)))]
    return expected, sorted(key for key in expected if key not in present)


def _not_yet_sentences(
    not_yet: Sequence[date], *, latest_input: date | None, rerun_from: Callable[..., str]
) -> list[str]:
    """The sentence naming the window days after the latest input day, with their re-run (none: no such day)."""
    if not not_yet:
        return []
    latest = f"latest input day {latest_input}" if latest_input else "no dated input row up to the as-of date"
    return [f"No rows for {_day_list(not_yet)} in the input ({latest}); re-run once the input has them: "
            f"{rerun_from(window_start=not_yet[0], window_end=not_yet[-1])}."]


def _stray_sentences(
    stray: tuple[date, int, date] | None, *, window_end: date | None, rerun_from: Callable[..., str]
) -> list[str]:
    """The sentence naming a stray first day (:func:`_stray_first_day`) and the re-run without it."""
    if not stray:
        return []
    day, events, following = stray
    command = rerun_from(window_start=following, window_end=window_end, drop_before=following)
    return [
        f"The window starts on {day} with {display.count_text(events, 'valid event')}, "
        f"{(following - day).days:,} days before the next day with one, {following}: if that day's rows are "
        f"stray (a wrong date in the export), start the window on {following} and drop the day this run "
        f"publishes: {command}; "
        f"remove them from the input too, or a run whose window starts earlier reads them again."
    ]


def _unjudged_sentences(
    after: Mapping[date, int], *, as_of: date, start: date, rerun_from: Callable[..., str]
) -> list[str]:
    """The sentence naming the input rows after the as-of date that were not judged, and the run that judges them."""
    if not after:
        return []
    # Outside the window, so no share counts them: without this sentence the run passed.
    late_rows = sum(after.values())
    were, none_is, them, their = ("was", "it is not", "it", "its") if late_rows == 1 else (
        "were", "none of them is", "them", "their")
    return [
        f"{display.count_text(late_rows, 'input row')} dated after the as-of date {as_of} "
        f"({_day_list(list(after))}) {were} not judged: {none_is} valid, and with ingest.as_of empty the "
        f"as-of date is the latest day with a valid row; "
        f"{rerun_from(as_of=max(after), window_start=start)} judges {them} and "
        f"quarantines {them} with {their} reasons."
    ]


def _stopped_sentences(
    newly: Sequence[tuple[str, date]], still: Sequence[tuple[str, date]], *, counts: "pd.DataFrame", after_days: int
) -> list[str]:
    """The sentences naming features found stopped by this run (``newly``) and, briefly, those reported before."""
    sentences = []
    if newly:
        shown = [f"{f} on {day}" for f, day in newly[:_WORST_SHOWN]]
        shown[0] = shown[0].replace(" on ", " stopped sending events on ", 1)
        its, it = ("its", "it") if len(newly) == 1 else ("their", "one")
        sentences.append(
            f"{display.listed(shown, total=len(newly))} (no event in the {display.count_text(after_days, 'day')} up to "
            f"{max(counts['date'])}, while other features sent some); {its} days since are not counted as missing "
            f"(if {it} is retired, mark it deprecated in the metadata to leave it out of this message)."
        )
    # An earlier run explained the stop: repeating the whole sentence every day would bury news.
    if still:
        shown_still = display.listed([f"{f} since {day}" for f, day in still[:_WORST_SHOWN]], total=len(still))
        sentences.append(f"Still stopped, as an earlier run reported: {shown_still}.")
    return sentences


def _old_spelling_sentences(stale: Sequence[str], *, first_day: date, rerun_from: Callable[..., str]) -> list[str]:
    """The sentence naming feature ids published before ids were read in NFC, and the re-run that merges them."""
    if not stale:
        return []
    look = "it looks the same as the id" if len(stale) == 1 else "they look the same as the ids"
    return [
        f"The published fact table holds {display.count_text(len(stale), 'feature id')} as written before ids "
        f"were read in Unicode NFC ({display.listed(stale[:_WORST_SHOWN], total=len(stale))}: {look} read now), so "
        f"each such feature is split in two (not counted as missing) until its days are re-read with "
        f"{rerun_from(window_start=first_day)}."
    ]


def _stray_first_day(counts: "pd.DataFrame", *, start: date, end: date) -> tuple[date, int, date] | None:
    """The window's first day, its valid events and the next day with some, when days without any valid
    event cut that day off from the rest of the window for longer than the rest lasts (a stray row
    dated years before the feed, say); else None."""
    window = counts[counts["date"].between(start, end)]
    later = window.loc[window["date"] > start, "date"]
    first = window.loc[window["date"] == start, "events"]
    if not len(later) or not len(first):
        return None
    following = min(later)
    if (following - start).days - 1 <= (end - following).days + 1:
        return None
    return start, int(first.sum()), following


def empty_in_input(
    previous: Mapping[str, Any] | None, *, start: date, end: date, window_empty: Iterable[date]
) -> list[date]:
    """Days a run read and found without any valid event: this window's, and those kept by earlier runs.

    A day the export itself lacks is judged by ``missing_days`` of the run whose window holds
    it; later runs keep it out of ``published_gap``'s count, since no backfill can fill it. The
    list goes from run to run in ``published_gap``'s ``details.empty_in_input``.

    Parameters
    ----------
    previous : mapping or None
        The published ``reports/data_quality.json`` (None, or one written before the list was
        kept: nothing is carried).
    start, end : date
        The run's window: its days are judged again, so earlier verdicts on them are dropped.
    window_empty : iterable of date
        Window days without a valid event although the input reaches past them (days after the
        latest input day are not judged: their rows may still arrive).

    Returns
    -------
    list of date
        Sorted, without duplicates.
    """
    kept = {d for d in carried_empty_days(previous) if not start <= d <= end}
    return sorted(kept | set(window_empty))


def carried_empty_days(previous: Mapping[str, Any] | None) -> list[date]:
    """The days earlier runs found without any valid event, as the published ``reports/data_quality.json``
    carries them (``published_gap``'s ``details.empty_in_input``; none in a report written before it)."""
    checks = (previous or {}).get("checks") or []
    carried = next((c.get("details", {}).get("empty_in_input", []) for c in checks
                    if isinstance(c, Mapping) and c.get("name") == "published_gap"), [])
    return [date.fromisoformat(str(text)) for text in carried]


def late_arrivals(counts: Mapping[str, Mapping[str, Any]] | None) -> dict[date, int]:
    """Rows the input now holds, beyond the quarantined ones, of days earlier runs found without any valid event.

    Parameters
    ----------
    counts : mapping or None
        The ingest summary's ``empty_days_now``: ISO day -> ``input_rows`` and ``quarantined_rows``
        (None: a summary written before it existed).

    Returns
    -------
    dict
        Day -> rows, only days whose rows outnumber their quarantined ones (a file delivered late).
    """
    rows = {date.fromisoformat(day): int(c["input_rows"]) - int(c["quarantined_rows"]) for day, c in (counts or {}).items()}
    return {day: n for day, n in sorted(rows.items()) if n > 0}


def _rerun_command(
    profile: str, *, as_of: Any, window_start: Any, window_end: Any = None, drop_before: Any = None,
    rerun: Sequence[str] = (),
) -> str:
    """The backticked ``./run_all.sh`` that re-reads ``window_start``..``window_end`` (to as-of when
    None) as of ``as_of``, dropping the published days before ``drop_before`` (none when None),
    repeating the run's other ``--set`` items (``rerun``)."""
    end = "" if window_end is None else f" --set ingest.window_end={window_end}"
    drop = "" if drop_before is None else f" --set ingest.drop_before={drop_before}"
    others = "".join(f" {item}" for item in rerun)
    return (f"`./run_all.sh {profile or 'PROFILE'} --set ingest.as_of={as_of} "
            f"--set ingest.window_start={window_start}{end}{drop}{others}`")


def _stray_days_end(excused: Sequence[date], *, held: set[date], start: date) -> date | None:
    """The day after the first run of ``excused`` days, when that run lies before the window and is longer
    than the days ``held`` after it (the days before it look stray, as in :func:`_stray_first_day`); else None."""
    last, empty = excused[0], set(excused)
    while last + timedelta(days=1) in empty:
        last += timedelta(days=1)
    after = last + timedelta(days=1)
    if after > start or (after - excused[0]).days <= (max(held) - after).days + 1:
        return None
    return after


def check_published_gap(
    published: Iterable[date],
    *,
    start: date,
    end: date,
    as_of: date,
    profile: str,
    warn: float,
    fail: float,
    empty: Iterable[date] = (),
    rerun: Sequence[str] = (),
    latest_input: date | None = None,
    window_days: Iterable[date] | None = None,
    arrived: Mapping[date, int] | None = None,
) -> dict[str, Any]:
    """Days without data that the fact table will hold between its first and last day, outside the
    window, and after its last day up to the as-of date the input reaches.

    A missed daily run leaves such a hole (``missing_days`` only judges the window); it is
    reported on every run until a backfill fills it. The days after the table's last day count
    too: a backfill of an older window after missed daily runs gets the input's latest day as
    as-of, and would otherwise publish outputs as of that day from a table that stops before it.
    A hole that a run read and found without
    any valid event in the input (``empty``, see :func:`empty_in_input`) is named but not
    counted: the backfill command cannot fill it, and counting it would fail every later run.

    Parameters
    ----------
    published : iterable of date
        Days of the previous fact table outside the window (the run keeps them).
    start, end, as_of : date
        The run's window and as-of date (the backfill command's as-of covers the hole).
    profile : str
        Named in the backfill command.
    warn, fail : float
        Thresholds on the number of days missing (:func:`grade`).
    empty : iterable of date
        Days found without a valid event by the runs that read them; those still without data
        are kept in ``details.empty_in_input``.
    rerun : sequence of str
        The run's other ``--set`` items (:func:`featurehealth.config.rerun_overrides`), which
        the backfill command repeats so that it reads the same source.
    latest_input : date, optional
        The input's latest day; the days up to as-of count only as far as it (None: none count).
    window_days : iterable of date, optional
        The window's days with a valid event, which the table will hold (None: every window day).
        A window the input does not reach (an as-of date past its latest day, or before its first)
        adds no day, so the days between it and the table are no missed run to backfill.
    arrived : mapping of date to int, optional
        Rows the input now holds of days a run found without any valid event (:func:`late_arrivals`,
        left out of ``empty``): counted as missing, since a backfill now fills them.
    """
    days = set(published)
    holes = []
    if days:
        held = days | set(_days(start, end) if window_days is None else window_days)
        reached = [min(as_of, latest_input)] if latest_input is not None else []
        span = _days(min(held), max([*held, *reached]))
        holes = [d for d in span if d not in days and not start <= d <= end]
    known_empty = sorted(set(empty) - days)
    gaps = [d for d in holes if d not in known_empty]
    excused = [d for d in holes if d in known_empty]
    message = f"The published fact table has no day missing around the window {start}..{end}."
    if excused:
        message = (f"The published fact table has no data for {_day_list(excused)}, where the input had no valid "
                   f"event when a run read them (not counted; re-run those days if the export now has them).")
        after = _stray_days_end(excused, held=held, start=start)
        if after:
            command = _rerun_command(profile, as_of=as_of, window_start=start, window_end=None if end == as_of else end,
                                     drop_before=after, rerun=rerun)
            message += (f" If the published days before {excused[0]} are stray (a wrong date in the export), drop "
                        f"them: {command}.")
    late = {d: n for d, n in (arrived or {}).items() if d in gaps}
    if gaps:
        rows = f"the input now holds {display.count_text(sum(late.values()), 'row')}"
        if not late:
            why = " (a missed run?)"
        elif len(late) == len(gaps):
            why = f", where a run found no valid event and {rows} (a file delivered late?)"
        else:
            why = f" (a missed run?; for {_day_list(sorted(late))}, found without any valid event, {rows})"
        message = (
            f"The published fact table has no data for {_day_list(gaps)}{why}; backfill with "
            f"{_rerun_command(profile, as_of=max(as_of, gaps[-1]), window_start=gaps[0], window_end=gaps[-1], rerun=rerun)}."
        ) + (f" {_day_list(excused)} had no valid event in the input when a run read them (not counted)."
             if excused else "")
    return _check("published_gap", len(gaps), warn=warn, fail=fail, message=message,
                  days=[d.isoformat() for d in gaps], empty_in_input=[d.isoformat() for d in known_empty])


def check_late_rows(
    day_before: Mapping[str, Any] | None,
    published: "pd.DataFrame | None",
    *,
    as_of: date,
    profile: str,
    warn: float,
    fail: float,
    rerun: Sequence[str] = (),
    empty: Iterable[date] = (),
) -> dict[str, Any]:
    """Rows dated on the published day before the window that its run did not see, or that left the input since.

    The published fact table and quarantine of that day account for the rows its run read
    (valid events, and quarantined ones, duplicates included). The input holding more rows of
    that day now means they arrived later, e.g. in the next day's file of an export cut at local
    midnight: this run's window does not count them, so the message gives the re-run. Fewer
    rows (``withdrawn``) mean the day's file was replaced or cut since: the published day still
    counts the old one, and the same re-run corrects it. Only counts are compared: a file
    replaced by one with as many rows is not noticed.

    Parameters
    ----------
    day_before : mapping or None
        The summary's ``day_before_window`` (``date``, ``input_rows``, ``quarantined_rows``);
        None (a summary written before it existed) is not judged, nor is a day the published fact
        table lacks (a first run, or a gap); the message says which.
    published : pandas.DataFrame or None
        The previous fact table's rows (``date`` as :class:`datetime.date`, ``usage_count``);
        those of the window may be left out.
    as_of : date
        The run's as-of date, for the re-run command.
    profile : str
        Named in the re-run command.
    warn, fail : float
        Thresholds on the number of late rows (:func:`grade`).
    rerun : sequence of str
        The run's other ``--set`` items, repeated by the re-run command (see
        :func:`check_published_gap`).
    empty : iterable of date
        Days a run read and found without any valid event (:func:`empty_in_input`): the table
        lacks such a day, yet its run counted the input's rows (none valid), so rows of it in the
        input now arrived late, e.g. a day's file delivered after its run.
    """
    late, withdrawn, day = None, None, None
    if day_before is not None:
        day = date.fromisoformat(str(day_before["date"]))
        on_day = [] if published is None else published.loc[published["date"] == day, "usage_count"]
        if not len(on_day) and day in set(empty):
            late, withdrawn = max(int(day_before["input_rows"]) - int(day_before["quarantined_rows"]), 0), 0
        elif len(on_day):
            difference = int(day_before["input_rows"]) - int(on_day.sum()) - int(day_before["quarantined_rows"])
            late, withdrawn = max(difference, 0), max(-difference, 0)
    if day_before is None:
        message = ("Not judged: the ingest summary does not count the input's rows of the day before the window "
                   "(written before that count existed).")
    elif late is None:
        message = (f"Not judged: the published fact table has no day {day} (the day before the window) to compare "
                   f"the input's rows with.")
    elif not len(on_day):
        message = f"The day before the window ({day}) still has no valid event in the input, as when a run read it."
    else:
        message = f"The published day before the window ({day}) counts every row the input holds for it."
    command = _rerun_command(profile, as_of=as_of, window_start=day, rerun=rerun)
    if late:
        message = (
            f"The input holds {display.count_text(late, 'row')} dated {day} that the published outputs do not count (they arrived after "
            f"that day's run, e.g. in a file cut at local midnight); re-run from that day: {command}."
        )
    if withdrawn:
        message = (
            f"The input now holds {display.count_text(withdrawn, 'row')} fewer dated {day} than the published outputs count (its file "
            f"was replaced or cut since that day's run); re-run from that day: {command}."
        )
    return _check("late_rows", None if late is None else late + withdrawn, warn=warn, fail=fail, message=message,
                  date=None if day is None else day.isoformat(), rows=late, withdrawn=withdrawn)


def check_volume_drop(
    counts: "pd.DataFrame",
    *,
    start: date,
    end: date,
    baseline_days: int,
    min_baseline_days: int,
    warn: float,
    fail: float,
    as_of: date,
    profile: str = "",
    rerun: Sequence[str] = (),
) -> dict[str, Any]:
    """Lowest ratio of a window feature-day's events to the feature's trailing median; a warning gives the
    re-run of the lowest day as of ``as_of`` (with the run's other ``--set`` items, ``rerun``), for an
    export that was incomplete."""
    baseline = degradation.trailing_statistic(counts, "events", days=baseline_days, min_periods=min_baseline_days)
    ratio = counts["events"] / baseline
    judged = counts.assign(ratio=ratio)[ratio.notna() & counts["date"].between(start, end)]
    worst = judged.sort_values(["ratio", "feature_id", "date"], kind="stable").head(_WORST_SHOWN)
    observed = float(judged["ratio"].min()) if len(judged) else None
    below_warn = int((judged["ratio"] < warn).sum())
    in_window = counts["date"].between(start, end).any()
    # A window without any event has no feature-day to judge, whatever the history (missing_days says why).
    message = "" if len(judged) else (
        f"Not judged: no feature-day of the window has {display.count_text(min_baseline_days, 'earlier day')} to give its usual volume yet."
        if in_window else f"Not judged: the window {start}..{end} has no event to compare with the usual volume."
    )
    if below_warn:
        first = worst.iloc[0]
        message = (
            f"{display.count_text(below_warn, 'feature-day')} had fewer than {warn:.0%} of "
            f"{'its' if below_warn == 1 else 'their'} usual events, the lowest "
            f"{first['feature_id']} on {first['date']:%Y-%m-%d} at {first['ratio']:.0%} of its {baseline_days}-day median."
        )
        day = first["date"]
        command = _rerun_command(profile, as_of=as_of, window_start=day, window_end=None if day == as_of else day,
                                 rerun=rerun)
        # The count alone cannot tell a partial export from users really leaving: say what each asks for.
        message += (f" A real drop in use needs nothing; if a day's export was incomplete, re-run that day once the "
                    f"input holds all of it, for the lowest: {command} (details.worst in reports/data_quality.json "
                    f"lists the lowest feature-days).")
    return _check(
        "volume_drop", observed, warn=warn, fail=fail, below=True, message=message,
        judged_feature_days=len(judged), below_warn=below_warn,
        worst=[
            {"feature_id": r.feature_id, "date": r.date.isoformat(), "ratio": round(r.ratio, 4)}
            for r in worst.itertuples()
        ],
    )


def check_null_rate(
    null_counts: Mapping[str, int], *, unreadable_counts: Mapping[str, int] | None = None, malformed: int = 0,
    rows_in: int, warn: float, fail: float,
) -> dict[str, Any]:
    """Highest share of missing or unreadable values of a column among the rows in.

    A required column counts its missing values, its ``unreadable_counts`` (values given but not of
    the column's type, a US date or a decimal comma, or an ``event_time`` at or before the Unix epoch; a summary
    written before they were counted has none) and the ``malformed`` CSV lines, which have no
    readable value at all. A column of :data:`featurehealth.validate.OPTIONAL_NUMBER_COLUMNS`
    counts its unreadable values only (most events carry no feedback), and is listed in
    ``details.by_column`` when it has some.
    """
    missing = {c: int(null_counts.get(c, 0)) for c in ingest.REQUIRED_COLUMNS}
    unreadable = {c: int((unreadable_counts or {}).get(c, 0))
                  for c in (*ingest.REQUIRED_COLUMNS, *validate.OPTIONAL_NUMBER_COLUMNS)}
    counts = {c: missing[c] + unreadable[c] + malformed for c in ingest.REQUIRED_COLUMNS} | {
        c: unreadable[c] for c in validate.OPTIONAL_NUMBER_COLUMNS if unreadable[c]}
    rates = {c: _share(n, rows_in) for c, n in counts.items()}
    worst = max(rates, key=rates.get)
    share = _rows_share(counts[worst], rows_in)
    kept = "they are quarantined (quarantine/ gives each row's reason and its values as read) and not counted"
    if not counts[worst]:
        message = f"None of the {rows_in:,} input rows lacks a required value or holds an unreadable one."
    elif worst in validate.OPTIONAL_NUMBER_COLUMNS:
        message = (f"{share} hold a value of {worst} that is not a number, the most of the columns null_rate judges; "
                   f"{kept}.")
    elif counts[worst] == malformed:
        # Every required column counts these lines alike: naming one column would point at the wrong fix.
        message = (f"{share} are lines the reader could not split into the header's columns, so none of their values "
                   f"was read; they are quarantined as malformed_line (quarantine/ gives each its line as written) "
                   f"and not counted; {validate.MALFORMED_FIX}.")
    elif not unreadable[worst] and not malformed:
        message = f"{share} have no {worst}, the most of the required columns."
    else:
        parts = ", ".join(f"{n:,} {what}" for n, what in (
            (missing[worst], "missing"), (unreadable[worst], "unreadable"),
            (malformed, "on lines the reader could not split into the header's columns")) if n)
        fix = f"; for those lines, {validate.MALFORMED_FIX}" if malformed else ""
        message = f"{share} have no readable {worst} ({parts}), the most of the required columns; {kept}{fix}."
    return _check("null_rate", rates[worst], warn=warn, fail=fail,
                  by_column={c: round(r, 6) for c, r in rates.items()}, message=message)


#: Files named by ``duplicate_events`` at most: more than that is no longer one delivery to remove.
_REPEATED_NAMED = 3


def check_duplicate_events(
    duplicates: int, *, rows_in: int, repeated_files: Sequence[Mapping[str, Any]] | None, warn: float, fail: float
) -> dict[str, Any]:
    """Share of the input rows that are extra copies of a valid row.

    ``repeated_files`` (the summary's, :func:`featurehealth.validate.repeated_files`) lists the files
    holding the most copies of another file's rows, most first. When at most
    :data:`_REPEATED_NAMED` of them hold more than half of the copies (a file delivered twice under
    another name), the message names them, each with its count and the file it repeats, so the
    operator knows which file to remove; copies spread over files keep the plain sentence.
    ``details.repeated_files`` keeps the list.
    """
    listed = list(repeated_files or [])
    held = [sum(int(p["rows"]) for p in listed[:n]) for n in range(1, min(len(listed), _REPEATED_NAMED) + 1)]
    # The fewest files holding most of the copies.
    named = listed[:next((n for n, rows in enumerate(held, start=1) if 2 * rows > duplicates), 0)]
    where = ""
    if named:
        parts = [f"{int(p['rows']):,} in {p['file']} repeating rows of {p['repeats']}" for p in named]
        parts[0] = parts[0].replace(" in ", " of them in ", 1)
        advice = ("if it is a second delivery, remove it from the input and re-run its days" if len(named) == 1
                  else "if they are second deliveries, remove them from the input and re-run their days")
        joined = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
        where = f", {joined} ({advice})"
    return _check("duplicate_events", _share(duplicates, rows_in), warn=warn, fail=fail, duplicates=duplicates,
                  repeated_files=listed,
                  message=(f"{_rows_share(duplicates, rows_in)} repeat a valid row exactly{where}; the copies are "
                           f"quarantined as duplicate_event and not counted."))


def _rows_share(rows: int, rows_in: int) -> str:
    """``rows`` of ``rows_in`` input rows in words, with their share as a percentage."""
    return f"{rows:,} of {rows_in:,} input rows ({display.number_text(100 * _share(rows, rows_in))} %)"


def check_freshness(last_event: date | None, *, as_of: date, warn: float, fail: float) -> dict[str, Any]:
    """Days between the as-of date and the latest input day (``fail`` when there is none).

    The latest input day is the summary's ``latest_input_date``: the feed's freshness, so a
    backfill of an old window on current input is fresh.
    """
    lag = (as_of - last_event).days if last_event else None
    message = (f"The latest input day is {last_event}, {display.count_text(lag, 'day')} before the as-of date "
               f"{as_of}." if lag is not None
               else f"The input has no dated row up to the as-of date {as_of}.")
    check = _check("freshness", lag, warn=warn, fail=fail, message=message, as_of=as_of.isoformat(),
                   latest_event=last_event.isoformat() if last_event else None)
    if lag is None:
        check["status"] = "fail"
    return check


def check_unknown_features(
    features: Iterable[str], known: Iterable[str], *, warn: float, fail: float
) -> dict[str, Any]:
    """Number of features with events but no row in the feature metadata.

    The message names them (at most :data:`_WORST_SHOWN`), each with the metadata id it matches
    but for case and surrounding spaces, if any: ids are compared exactly, so ``login`` in the
    telemetry is not ``Login`` in the metadata. Without any metadata row (``ingest.metadata_path``
    empty, as for telemetry of one's own) the message says to give a metadata file instead.
    """
    listed = [str(k) for k in known]
    unknown = sorted(set(map(str, features)) - set(listed))
    near = {_id_key(k): k for k in listed}
    named = [f"{f} (the metadata has {near[_id_key(f)]!r})" if _id_key(f) in near else f
             for f in unknown[:_WORST_SHOWN]]
    them, has, its = (("it (or fix its id)", "has", "its") if len(unknown) == 1
                      else ("them (or fix their ids)", "have", "their"))
    # Without metadata there is no file to add rows to: say where to give one.
    remedy = (f"add {them} in the metadata file" if listed else
              "no metadata lists any feature: give a CSV of feature_id, feature_name, owner_team, lifecycle_stage, "
              "tier and launch_date in ingest.metadata_path")
    message = (f"{display.count_text(len(unknown), 'feature')} with events {has} no row in the feature metadata: "
               f"{display.listed(named, total=len(unknown))}; {remedy}, until then {its} owner is 'unassigned'."
               if unknown else "")
    return _check("unknown_features", len(unknown), warn=warn, fail=fail, message=message, features=unknown[:50])


def _id_key(feature_id: str) -> str:
    """A feature id as a person reads it: case and surrounding spaces ignored."""
    return feature_id.strip().casefold()


def run_checks(
    summary: Mapping[str, Any],
    daily_counts: "pd.DataFrame",
    *,
    history: "pd.DataFrame | None",
    known_features: Iterable[str],
    volume_drop_warn: float,
    volume_drop_fail: float,
    volume_baseline_days: int,
    volume_min_baseline_days: int,
    missing_days_warn: float,
    missing_days_fail: float,
    stopped_after_days: int,
    published_gap_warn_days: float,
    published_gap_fail_days: float,
    late_rows_warn: float,
    late_rows_fail: float,
    duplicate_share_warn: float,
    duplicate_share_fail: float,
    null_rate_warn: float,
    null_rate_fail: float,
    out_of_range_warn: float,
    out_of_range_fail: float,
    freshness_warn_days: float,
    freshness_fail_days: float,
    unknown_features_warn: float,
    unknown_features_fail: float,
    stop_on_fail: Sequence[str],
    profile: str = "",
    previous: Mapping[str, Any] | None = None,
    rerun: Sequence[str] = (),
    deprecated_features: Iterable[str] = (),
) -> dict[str, Any]:
    """All quality checks of a run (keyword names = the ``quality`` group, and ``profile``).

    Parameters
    ----------
    summary : mapping
        The ingest summary (:class:`featurehealth.validate.ValidationResult`); its optional
        ``drop_before`` (``ingest.drop_before``) ends the days without events carried from run to run,
        and its optional ``empty_days_now`` (:func:`late_arrivals`) turns those whose rows came since into
        ``published_gap``'s missing days.
    daily_counts : pandas.DataFrame
        Valid events per ``feature_id`` and ``date`` in the window (column ``events``).
    history : pandas.DataFrame or None
        The previous fact table (``feature_id``, ``date``, ``usage_count``); its days outside
        the window give volume baselines and first-seen days.
    known_features : iterable of str
        Feature ids of the metadata.
    profile : str
        The run's profile, named in the backfill command of ``published_gap``.
    previous : mapping, optional
        The published ``reports/data_quality.json`` of the last run: the days earlier runs found
        without any valid event, which ``published_gap`` names but does not count, and the
        features ``missing_days`` found stopped, which it no longer warns about.
    rerun : sequence of str
        The run's ``--set`` items besides its window (:func:`featurehealth.config.rerun_overrides`),
        repeated by the commands of ``published_gap``, ``late_rows`` and ``volume_drop``.
    deprecated_features : iterable of str
        Ids the metadata marks deprecated (:func:`deprecated_features`): when they stop sending
        events, ``missing_days`` does not warn.

    Returns
    -------
    dict
        ``checks`` (one dict per :data:`CHECKS` entry, in that order) and ``summary``
        (counts per status of :data:`STATUSES`, ``status`` the worst of the judged checks, "pass"
        when none is, ``stopping`` the failed checks that stop the run,
        ``message`` the messages of the checks that failed, then of those that warned).

    Raises
    ------
    ValueError
        If ``stop_on_fail`` names an unknown check.
    """
    unknown = [c for c in stop_on_fail if c not in CHECKS]
    if unknown:
        raise ValueError(f"quality.stop_on_fail names {', '.join(map(repr, unknown))}; allowed: {', '.join(CHECKS)}.")
    start, end = date.fromisoformat(summary["window_start"]), date.fromisoformat(summary["window_end"])
    as_of = date.fromisoformat(summary["as_of"])
    counts, past = _with_history(daily_counts, history, start=start, end=end)
    rows_in = int(summary["rows_in"])
    by_reason = summary["by_reason"]
    # Older summaries lack latest_input_date; their window's last valid day is the nearest figure.
    last_event = summary.get("latest_input_date") or summary.get("last_event_date")
    latest_input = date.fromisoformat(last_event) if last_event else None
    missing = check_missing_days(counts, start=start, end=end, latest_input=latest_input,
                                 warn=missing_days_warn, fail=missing_days_fail,
                                 stopped_after_days=stopped_after_days, deprecated=deprecated_features,
                                 previously_stopped=_previously_stopped(previous), as_of=as_of, profile=profile,
                                 rerun=rerun, unjudged=summary.get("unjudged_days"))
    empty, arrived = _excused_empty_days(summary, previous, missing=missing, start=start, end=end,
                                         latest_input=latest_input)
    checks = [
        missing,
        check_published_gap([] if past is None else list(past["date"]), start=start, end=end, as_of=as_of,
                            profile=profile, warn=published_gap_warn_days, fail=published_gap_fail_days,
                            empty=[d for d in empty if d not in arrived], rerun=rerun, latest_input=latest_input,
                            window_days=set(daily_counts.loc[daily_counts["date"].between(start, end), "date"]),
                            arrived=arrived),
        check_late_rows(summary.get("day_before_window"), past, as_of=as_of, profile=profile,
                        warn=late_rows_warn, fail=late_rows_fail, rerun=rerun, empty=empty),
        check_volume_drop(
            counts, start=start, end=end, baseline_days=volume_baseline_days,
            min_baseline_days=volume_min_baseline_days, warn=volume_drop_warn, fail=volume_drop_fail,
            as_of=as_of, profile=profile, rerun=rerun,
        ),
        check_duplicate_events(int(by_reason.get("duplicate_event", 0)), rows_in=rows_in,
                               repeated_files=summary.get("repeated_files"),
                               warn=duplicate_share_warn, fail=duplicate_share_fail),
        check_null_rate(summary["null_counts"], unreadable_counts=summary.get("unreadable_counts"),
                        malformed=int(by_reason.get("malformed_line", 0)), rows_in=rows_in,
                        warn=null_rate_warn, fail=null_rate_fail),
        _check_out_of_range(by_reason, rows_in=rows_in, warn=out_of_range_warn, fail=out_of_range_fail),
        check_freshness(latest_input, as_of=as_of, warn=freshness_warn_days, fail=freshness_fail_days),
        check_unknown_features(daily_counts["feature_id"], known_features,
                               warn=unknown_features_warn, fail=unknown_features_fail),
    ]
    return {
        "as_of": summary["as_of"],
        "window": {"start": summary["window_start"], "end": summary["window_end"]},
        "checks": checks,
        "summary": _checks_summary(checks, stop_on_fail=stop_on_fail),
    }


def _with_history(
    daily_counts: "pd.DataFrame", history: "pd.DataFrame | None", *, start: date, end: date
) -> tuple["pd.DataFrame", "pd.DataFrame | None"]:
    """The window's counts joined by the history's days outside it, sorted, and those days (None: no history)."""
    import pandas as pd

    counts = daily_counts
    past = None
    if history is not None and len(history):
        past = history.assign(date=aggregate.as_dates(history["date"]))
        past = past[(past["date"] < start) | (past["date"] > end)]
        counts = pd.concat(
            [past[["feature_id", "date"]].assign(events=past["usage_count"].to_numpy()), daily_counts],
            ignore_index=True,
        )
    return counts.sort_values(["feature_id", "date"], kind="stable").reset_index(drop=True), past


def _excused_empty_days(
    summary: Mapping[str, Any], previous: Mapping[str, Any] | None, *, missing: Mapping[str, Any], start: date,
    end: date, latest_input: date | None,
) -> tuple[list[date], dict[date, int]]:
    """The days found without any valid event, not to count as gaps, and those of them whose rows came since."""
    read_empty = [d for d in map(date.fromisoformat, missing["details"]["days_without_events"])
                  if latest_input is not None and d <= latest_input]
    # Days before ingest.drop_before left the table for good: none is a hole to excuse any more.
    drop_before = date.fromisoformat(summary["drop_before"]) if summary.get("drop_before") else date.min
    empty = [d for d in empty_in_input(previous, start=start, end=end, window_empty=read_empty) if d >= drop_before]
    # A day excused as empty whose file came later (after a backfill over it, say) is a gap again.
    arrived = {d: n for d, n in late_arrivals(summary.get("empty_days_now")).items() if d in empty}
    return empty, arrived


def _check_out_of_range(by_reason: Mapping[str, Any], *, rows_in: int, warn: float, fail: float) -> dict[str, Any]:
    """Share of input rows quarantined for a value outside its allowed range."""
    out_of_range = sum(int(by_reason.get(r, 0)) for r in validate.OUT_OF_RANGE_REASONS)
    return _check("out_of_range", _share(out_of_range, rows_in), warn=warn, fail=fail,
                  rows=out_of_range, reasons=list(validate.OUT_OF_RANGE_REASONS),
                  message=(f"{_rows_share(out_of_range, rows_in)} hold a value outside its allowed range; they are "
                           f"quarantined (quarantine/ gives each row's reason) and not counted."))


def _checks_summary(checks: Sequence[Mapping[str, Any]], *, stop_on_fail: Sequence[str]) -> dict[str, Any]:
    """Counts per status, the worst judged status, the failed checks that stop the run and the flagged messages."""
    tally = {s: sum(c["status"] == s for c in checks) for s in STATUSES}
    worst = next((s for s in reversed(STATUSES) if tally[s] and s != NOT_JUDGED), "pass")
    stopping = [c["name"] for c in checks if c["status"] == "fail" and c["name"] in stop_on_fail]
    flagged = [f"{c['name']} {s}: {c['message']}" for s in ("fail", "warn") for c in checks if c["status"] == s]
    return {**tally, "status": worst, "stopping": stopping, "message": " ".join(flagged)}


#: Units of the checks that count things; the others observe a share or a ratio, which needs none.
_COUNTED_IN = {"published_gap": "day", "freshness": "day", "late_rows": "row", "unknown_features": "feature"}


def _stop_reason(check: Mapping[str, Any]) -> str:
    """What a stopping check saw: its value and fail threshold, or its sentence when it observed nothing."""
    if check["observed"] is None:
        # e.g. freshness with no dated row up to the as-of date: "observed None" would say nothing.
        message = str(check["message"]).rstrip(".")
        return f"{check['name']} failed: {message[:1].lower()}{message[1:]}"
    observed, fail = check["observed"], check["threshold"]["fail"]
    unit = _COUNTED_IN.get(check["name"])
    if unit:
        observed, fail = display.count_text(observed, unit), display.count_text(fail, unit)
    return f"{check['name']} observed {observed} (fail threshold {fail})"


def enforce(report: Mapping[str, Any], *, paths: RunPaths) -> None:
    """Stop the run when a check of ``quality.stop_on_fail`` failed.

    ``paths`` are the notebook's: in a run (a staging copy) the report is kept in the run's folder,
    by hand it stays where it was written.

    Raises
    ------
    QualityError
        One sentence naming the failed check(s), what was observed, the report and the fix.
    """
    stopping = report["summary"]["stopping"]
    if not stopping:
        return
    failed = [c for c in report["checks"] if c["name"] in stopping]
    observed = "; ".join(_stop_reason(c) for c in failed)
    where = ("reports/data_quality.json in the run's folder runs/<run_id>/" if paths.in_run
             else str(paths.reports / "data_quality.json"))
    raise QualityError(
        f"Data quality stopped the run: {observed}; fix the input (see {where}) or remove the check from "
        f"quality.stop_on_fail."
    )
