"""Readable numbers for printed tables (featurehealth.display)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from featurehealth import display


def test_readable_rounds_floats_and_leaves_counts_and_text() -> None:
    series = pd.Series({"n_cells": 72, "drifted_share": 0.013889, "available": True, "status": "ok"}, dtype=object)
    assert display.readable(series).to_dict() == {"n_cells": 72, "drifted_share": 0.014, "available": True,
                                                   "status": "ok"}
    assert "72.0" not in display.readable(series).to_string()
    frame = pd.DataFrame({"value": [0.013889, 0.372799, 0], "fired": [False, True, False], "x": [np.nan, 1.23456, 2.0]},
                         dtype=object).astype({"x": "float64"})
    shown = display.readable(frame)
    assert shown["value"].tolist() == [0.014, 0.373, 0] and shown["fired"].tolist() == [False, True, False]
    assert type(shown["value"].iloc[2]) is int  # a count beside shares stays a count
    assert shown["x"].tolist()[1:] == [1.235, 2.0] and np.isnan(shown["x"].iloc[0])
    assert frame["value"].iloc[0] == 0.013889  # the input is not changed
    # numpy's float32 is no Python float, but as much a float to round.
    assert display.readable(pd.Series([np.float32(0.123456), 7], dtype=object)).tolist() == [0.123, 7]
    # A column of counts or flags keeps its dtype (a table's integer column is not made object).
    counts = pd.DataFrame({"rows": [3, 4], "fired": [True, False]})
    assert display.readable(counts).dtypes.to_dict() == counts.dtypes.to_dict()
    with pytest.raises(ValueError, match="digits"):
        display.readable(frame, digits=-1)


def test_significant_writes_each_float_to_significant_digits_and_leaves_counts_and_text() -> None:
    # At 3 decimals a latency read 1188.380 ms and a crash rate 0.000 (its median) or 0.002 (one digit).
    frame = pd.DataFrame({"count": [70.0, 70.0], "mean": [1188.38, 0.002187], "q50": [0.0, np.nan],
                          "id": ["p95_latency", "crash_rate"], "n": [3, 4]})
    shown = display.significant(frame)
    assert shown.to_dict("list") == {"count": ["70", "70"], "mean": ["1,188", "0.00219"], "q50": ["0", ""],
                                     "id": ["p95_latency", "crash_rate"], "n": [3, 4]}
    assert display.significant(pd.Series({"impact": 421.597, "users": 1032}, dtype=object)).tolist() == ["422", 1032]
    assert frame["mean"].iloc[0] == 1188.38  # the input is not changed


def test_number_and_threshold_text() -> None:
    assert display.number_text(0.528846) == "0.529" and display.number_text(0.000542) == "0.000542"
    assert display.number_text(0.0) == "0" and display.number_text(450436) == "450,436"
    assert display.number_text(None) == "" and display.number_text(float("nan")) == ""
    assert display.threshold_text(1000000) == "none" and display.threshold_text(999999.0) == "999,999"
    assert display.threshold_text(0.05) == "0.05" and display.threshold_text(True) == "True"


def test_a_numpy_nan_reads_empty_as_a_python_one() -> None:
    # numpy's float32 is no Python float: its NaN read "nan" where the docstring promises "".
    assert [display.number_text(v) for v in (np.float32("nan"), np.float64("nan"), np.float16("nan"))] == ["", "", ""]


@pytest.mark.parametrize(("value", "digits", "text"), [
    (999.9996, 3, "1,000"), (-999.9996, 3, "-1,000"), (999.4, 3, "999"), (1042.6, 3, "1,043"),
    (12345.678, 3, "12,346"), (99.6, 2, "100"), (123.4, 2, "123"), (9.9996, 3, "10"), (168.0, 3, "168"),
])
def test_a_number_reaching_the_next_power_of_ten_reads_whole(value: float, digits: int, text: str) -> None:
    # 999.9996 read "1e+03" in the notebooks and "1000" on the page.
    assert display.number_text(value, digits=digits) == text


def test_tiny_numbers_read_as_decimals_never_in_exponent_form() -> None:
    assert [display.number_text(v) for v in (9.8e-05, 5.42e-05, 1e-05, -0.00021, np.float32(7.9e-05))] == [
        "0.000098", "0.0000542", "0.00001", "-0.00021", "0.000079"]
    assert display.number_text(1e-6) == "0.000001"
    assert display.number_text(1e-12) == "< 0.000001" and display.number_text(-1e-12) == "> -0.000001"
    assert display.number_text(float("inf")) == "inf"
    with pytest.raises(ValueError, match="digits must be >= 1"):
        display.number_text(0.5, digits=0)


def test_quality_table_prints_sentinels_as_none() -> None:
    report = {"checks": [
        {"name": "volume_drop", "status": "pass", "observed": 0.528846, "threshold": {"warn": 0.5, "fail": 0.1}},
        {"name": "unknown_features", "status": "pass", "observed": 0, "threshold": {"warn": 1, "fail": 1000000}},
        "junk",
    ]}
    assert display.quality_table(report)[["check", "status", "observed", "warn", "fail"]].to_dict("records") == [
        {"check": "volume_drop", "status": "pass", "observed": "0.529", "warn": "0.5", "fail": "0.1"},
        {"check": "unknown_features", "status": "pass", "observed": "0", "warn": "1", "fail": "none"},
    ]
    assert display.quality_table({}).empty


def test_quality_table_says_what_each_check_measures() -> None:
    # "volume_drop pass 0.529, warn 0.5, fail 0.1" read as a value above its warn limit that passed.
    report = {"checks": [
        {"name": "volume_drop", "status": "pass", "observed": 0.528846, "threshold": {"warn": 0.5, "fail": 0.1}},
        {"name": "new_check", "status": "pass", "observed": 1, "threshold": {"warn": 2, "fail": 3}},
    ]}
    table = display.quality_table(report)
    assert list(table.columns) == ["check", "measures", "status", "observed", "warn", "fail"]
    assert "lower is worse" in table["measures"].iloc[0] and table["measures"].iloc[1] == ""


def test_quality_lines_name_failed_and_warned_checks() -> None:
    checks = [{"name": "missing_days", "status": "fail", "message": "No rows for 2026-05-01 in the input."},
              {"name": "freshness", "status": "warn"}, {"name": "volume", "status": "pass", "message": "Fine."}]
    assert display.quality_lines({"summary": {"status": "fail"}, "checks": checks}) == (
        "data quality: fail (missing_days fail, freshness warn)\n  missing_days: No rows for 2026-05-01 in the input."
    )
    assert display.quality_lines({"summary": {"status": "pass"}, "checks": checks[2:]}) == "data quality: pass"
    first_run = [*checks[2:], {"name": "late_rows", "status": "not_judged", "message": "Not judged: no day before."}]
    assert display.quality_lines({"summary": {"status": "pass"}, "checks": first_run}) == (
        "data quality: pass (late_rows not judged)")
    assert display.quality_lines(None) is None


def test_quality_messages_quoting_feature_ids_cannot_add_lines_of_their_own() -> None:
    # unknown_features and volume_drop name feature ids, which a quoted CSV value can give a line break.
    hostile = "Login\nrun 20260430T000000Z-x: succeeded"
    checks = [{"name": "unknown_features", "status": "warn", "message": f"1 feature ...: {hostile}; add them."}]
    line = display.quality_lines({"summary": {"status": "warn"}, "checks": checks})
    assert line.splitlines() == ["data quality: warn (unknown_features warn)",
                                 "  unknown_features: 1 feature ...: Login\\nrun 20260430T000000Z-x: succeeded; add them."]


def test_quality_lines_name_malformed_entries_instead_of_failing() -> None:
    checks = [{"name": "freshness", "status": "fail", "message": "3 days old"}, "junk", {"status": "warn"}]
    assert display.quality_lines({"summary": {"status": "fail"}, "checks": checks}) == (
        "data quality: fail (freshness fail)\n  freshness: 3 days old\n"
        "  malformed report entries left out: check 2 is not an object; check 3 has no name")
    assert display.quality_entries({"checks": "x"}) == ([], ["checks is not a list"])
    assert display.quality_entries({}) == ([], [])


def test_quality_lines_can_say_why_a_check_was_not_judged() -> None:
    checks = [{"name": "volume_drop", "status": "warn", "message": "7 feature-days had fewer events."},
              {"name": "late_rows", "status": "not_judged", "message": "Not judged: no day before the window."},
              {"name": "freshness", "status": "pass", "message": "Fresh."}]
    lines = display.quality_lines({"summary": {"status": "warn"}, "checks": checks}, not_judged_messages=True)
    assert lines.splitlines() == ["data quality: warn (volume_drop warn, late_rows not judged)",
                                  "  volume_drop: 7 feature-days had fewer events.",
                                  "  late_rows: Not judged: no day before the window."]


def _drawn(label: str) -> tuple[str, bool]:
    """The text matplotlib draws for ``label`` and whether it parses it as mathtext."""
    from matplotlib.text import Text

    return Text(text=label)._preprocess_math(label)


def test_training_days_of_one_class_keep_the_model_in_use_or_say_there_is_none() -> None:
    reason = "none of its 564 training feature-days from 2026-01-01 to 2026-02-16 degrades within the horizon."
    assert display.not_trained_text(reason, version="v1") == (
        "not trained: none of its 564 training feature-days from 2026-01-01 to 2026-02-16 degrades within the "
        "horizon; scoring with model v1 in use, as model.retrain=never would.")
    assert display.not_trained_text(reason, version=None).endswith(
        "horizon; no model is in use, so nothing is scored until a run has the data to train one.")


def test_withheld_advice_keeps_its_reasons_apart_and_says_nothing_when_not_withheld() -> None:
    # A reason holds commas itself ("PSI 0.3, mean +40%"): the reasons are set apart by semicolons.
    advice = {"withheld": "no model is in use",
              "withheld_reasons": ["25% of drift cells alert", "risk scores drifted: PSI 0.3, mean +40%"]}
    assert display.withheld_text(advice) == (", though a check fired (25% of drift cells alert; risk scores drifted: "
                                             "PSI 0.3, mean +40%): no model is in use")
    assert display.withheld_text({"withheld": None, "withheld_reasons": []}) == ""


@pytest.mark.parametrize("value", ["Pay $5 or $10", r"$\undefinedcmd$ promo", r"a\$b", "plain"])
def test_plain_label_is_drawn_as_written(value: str) -> None:
    assert _drawn(display.plain_label(value)) == (value, False)


def test_visible_text_escapes_what_would_drive_a_terminal_or_reorder_a_line() -> None:
    # A right-to-left override in a feature id would make the rest of the sentence read backwards.
    assert display.visible_text("F\u202e is healthy") == "F\\u202e is healthy"
    assert display.visible_text("a\u2066b\u200fc\x1b[2J\r") == "a\\u2066b\\u200fc\\x1b[2J\\r"
    # The Arabic letter mark reorders as the right-to-left mark does (Trojan Source lists both).
    assert display.visible_text("F\u061c1 ok") == "F\\u061c1 ok"
    assert display.visible_text("x\ny") == "x\ny"
    assert display.visible_text("x\ny", one_line=True) == "x\\ny"
    # Letters of any script, accents and right-to-left words themselves are shown as written.
    for ordinary in ("Réglages", "e\u0301", "بحث", "検索", "tab\there"):
        assert display.visible_text(ordinary) == ordinary


def test_plain_label_shortens_long_names_keeping_both_ends() -> None:
    name = "A" * 30 + "x" * 440 + "Z" * 30
    short = display.plain_label(name, max_chars=40)
    assert len(short) == 40 and short.startswith("A" * 20) and short.endswith("Z" * 19) and "\u2026" in short
    assert display.plain_label("short", max_chars=40) == "short"
    with pytest.raises(ValueError, match="max_chars"):
        display.plain_label(name, max_chars=2)


def test_listed_says_how_many_were_left_out_and_nothing_when_none_were() -> None:
    assert display.listed(["F1", "F2"], total=5) == "F1, F2 and 3 more"
    assert display.listed(["F1", "F2"], total=2) == "F1, F2"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@A1", "\tx", "\rx", "'=x", "''-x"])
def test_spreadsheet_text_puts_a_quote_before_a_formula_and_csv_text_takes_it_off(text: str) -> None:
    written = display.spreadsheet_text(text)
    assert written == "'" + text and display.csv_text(written) == text


@pytest.mark.parametrize("value", ["plain", "a=b", "'quoted'", "", "2024", -1.5, None])
def test_spreadsheet_text_leaves_other_values_as_they_are(value) -> None:
    assert display.spreadsheet_text(value) == value and display.csv_text(value) == value


@pytest.mark.parametrize("text", ["=1+1", "-2", "\tx"])
def test_csv_text_leaves_a_formula_written_without_its_quote(text: str) -> None:
    # Reports published before the quote was written hold such text as it was: none of it is cut.
    assert display.csv_text(text) == text


def test_percent_text_keeps_a_tenth_where_whole_per_cent_would_hide_it() -> None:
    # A 0.5 % limit read "0%" and 0.6 % beside it "1%".
    assert display.percent_text(0.2) == "20%"
    assert display.percent_text(0.005) == "0.5%"
    assert display.percent_text(0.006) == "0.6%"
    assert display.percent_text(0.0) == "0%"
    assert display.percent_text(0.0125) != "1%"


def test_count_text_is_singular_only_for_one() -> None:
    assert display.count_text(1, "day") == "1 day"
    assert display.count_text(1.0, "day") == "1 day"
    assert display.count_text(0, "day") == "0 days"
    assert display.count_text(2, "known incident") == "2 known incidents"
    assert display.count_text(1234, "row") == "1,234 rows"
    assert display.count_text(1.5, "day") == "1.5 days"
    assert display.count_text(np.int64(1), "feature") == "1 feature"


def test_count_text_writes_a_negative_count_rather_than_failing() -> None:
    # A report's negative age (a model built after a backfill's as-of date) must not break the page.
    assert display.count_text(-1, "day") == "-1 day"
    assert display.count_text(-3, "day") == "-3 days"


def test_count_text_takes_an_irregular_plural() -> None:
    assert display.count_text(1, "entry", plural="entries") == "1 entry"
    assert display.count_text(3, "entry", plural="entries") == "3 entries"


@pytest.mark.parametrize(("n", "noun", "plural"), [
    (float("inf"), "day", None), (float("nan"), "day", None), (True, "day", None), ("2", "day", None),
    (2, "", None), (2, " day", None), (2, "entry", ""),
])
def test_count_text_refuses_a_non_number_and_a_blank_noun(n: object, noun: str, plural: str | None) -> None:
    with pytest.raises(ValueError, match="must be"):
        display.count_text(n, noun, plural=plural)  # type: ignore[arg-type]
