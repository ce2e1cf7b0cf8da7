"""Data-quality checks: statuses, thresholds and which failures stop the run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from featurehealth import config, engine, ingest, quality, validate, warehouse

PARAMS = config.load_profile("default")["quality"]
PATHS = config.RunPaths(config.output_root() / "ci")  # a notebook run by hand on the published folder


def _counts(
    days: int, *, features: tuple[str, ...] = ("a", "b"), skip: tuple = (), low: dict | None = None
) -> pd.DataFrame:
    rows = [
        {"feature_id": f, "date": date(2026, 1, 1) + timedelta(days=i), "events": (low or {}).get((f, i), 100)}
        for f in features for i in range(days) if (f, i) not in skip
    ]
    return pd.DataFrame(rows)


def _summary(days: int, **changes: object) -> dict:
    summary = {
        "as_of": (date(2026, 1, 1) + timedelta(days=days - 1)).isoformat(),
        "window_start": "2026-01-01",
        "window_end": (date(2026, 1, 1) + timedelta(days=days - 1)).isoformat(),
        "last_event_date": (date(2026, 1, 1) + timedelta(days=days - 1)).isoformat(),
        "rows_in": 10_000,
        "by_reason": {},
        "null_counts": {},
    }
    return {**summary, **changes}


def _by_name(report: dict) -> dict:
    return {c["name"]: c for c in report["checks"]}


@pytest.mark.parametrize(
    ("observed", "below", "expected"),
    [(0.0, False, "pass"), (0.01, False, "warn"), (0.1, False, "fail"), (0.6, True, "pass"), (0.4, True, "warn"),
     (0.05, True, "fail"), (None, False, "not_judged"), (0.5, True, "pass"), (0.1, True, "warn")],
)
def test_grade(observed: float | None, below: bool, expected: str) -> None:
    warn, fail = (0.5, 0.1) if below else (0.01, 0.1)
    assert quality.grade(observed, warn=warn, fail=fail, below=below) == expected


def test_clean_input_passes_every_judged_check() -> None:
    report = quality.run_checks(_summary(30), _counts(30), history=None, known_features=["a", "b"], **PARAMS)
    assert [c["name"] for c in report["checks"]] == list(quality.CHECKS)
    # late_rows has no published day before the window to compare with on a first run
    assert report["summary"] == {"not_judged": 1, "pass": 8, "warn": 0, "fail": 0, "status": "pass", "stopping": [],
                                 "message": ""}
    assert set(report["checks"][0]) == {"name", "status", "observed", "threshold", "rule", "message", "details"}


def test_problems_are_detected() -> None:
    counts = _counts(30, skip=tuple(("b", d) for d in range(18, 22)), low={("a", 25): 5, ("a", 26): 40})
    summary = _summary(30, by_reason={"duplicate_event": 200, "negative_latency": 600},
                       null_counts={"user_id": 500}, last_event_date="2026-01-28")
    checks = _by_name(quality.run_checks(summary, counts, history=None, known_features=["a"], **PARAMS))
    assert checks["missing_days"]["status"] == "warn" and checks["missing_days"]["details"]["missing_feature_days"] == 4
    assert checks["volume_drop"]["status"] == "fail" and checks["volume_drop"]["observed"] == 0.05
    assert checks["volume_drop"]["details"]["below_warn"] == 2
    assert checks["volume_drop"]["message"].startswith("2 feature-days had fewer than 50% of their usual events, the lowest a on")
    assert checks["duplicate_events"]["status"] == "warn"
    assert checks["null_rate"]["status"] == "warn" and checks["null_rate"]["details"]["by_column"]["user_id"] == 0.05
    assert checks["out_of_range"]["status"] == "fail"
    assert checks["freshness"]["status"] == "warn" and checks["freshness"]["observed"] == 2
    assert checks["unknown_features"]["details"]["features"] == ["b"]



def test_null_rate_counts_values_that_cannot_be_read_as_well_as_missing_ones() -> None:
    # A fifth of a feed's rows with US dates were quarantined as invalid_event_time, and data
    # quality still read "pass": null_rate counted only empty values.
    summary = _summary(30, by_reason={"invalid_event_time": 2000}, null_counts={"event_time": 100},
                       unreadable_counts={"event_time": 2000, "latency_ms": 50})
    checks = _by_name(quality.run_checks(summary, _counts(30), history=None, known_features=["a", "b"], **PARAMS))
    assert checks["null_rate"]["status"] == "fail" and checks["null_rate"]["observed"] == 0.21
    assert checks["null_rate"]["details"]["by_column"]["latency_ms"] == 0.005
    assert checks["null_rate"]["message"] == (
        "2,100 of 10,000 input rows (21 %) have no readable event_time (100 missing, 2,000 unreadable), the most of "
        "the required columns; they are quarantined (quarantine/ gives each row's reason and its values as read) "
        "and not counted.")
    # A summary written before unreadable values were counted is judged on its missing ones.
    older = _by_name(quality.run_checks(_summary(30, null_counts={"event_time": 100}), _counts(30), history=None,
                                        known_features=["a", "b"], **PARAMS))
    assert older["null_rate"]["observed"] == 0.01


def test_a_negative_error_count_is_an_impossible_value() -> None:
    # Quarantined as negative_error_count, but no check counted it: a feed of such rows read "pass".
    summary = _summary(30, by_reason={"negative_error_count": 100})
    check = _by_name(quality.run_checks(summary, _counts(30), history=None, known_features=["a", "b"],
                                        **PARAMS))["out_of_range"]
    assert (check["status"], check["observed"], check["details"]["rows"]) == ("warn", 0.01, 100)
    assert "negative_error_count" in check["details"]["reasons"]


def test_null_rate_counts_unreadable_optional_numbers_but_not_missing_ones() -> None:
    # A feedback_score or error_count that is not a number is quarantined as invalid_number, which no
    # check counted; most events carry no feedback, so a missing one counts for nothing.
    summary = _summary(30, null_counts={"user_id": 10},
                       unreadable_counts={"feedback_score": 500, "error_count": 20})
    check = _by_name(quality.run_checks(summary, _counts(30), history=None, known_features=["a", "b"],
                                        **PARAMS))["null_rate"]
    assert (check["status"], check["observed"]) == ("warn", 0.05)
    assert check["details"]["by_column"] == {"event_time": 0.0, "feature_id": 0.0, "user_id": 0.001,
                                             "latency_ms": 0.0, "is_crash": 0.0, "feedback_score": 0.05,
                                             "error_count": 0.002}
    assert check["message"] == (
        "500 of 10,000 input rows (5 %) hold a value of feedback_score that is not a number, the most of the columns "
        "null_rate judges; they are quarantined (quarantine/ gives each row's reason and its values as read) and "
        "not counted.")
    # Optional columns without an unreadable value are not listed: a feed may lack them by design.
    clean = quality.check_null_rate({"user_id": 10}, unreadable_counts={"error_count": 0}, rows_in=10_000,
                                    warn=0.01, fail=0.1)
    assert list(clean["details"]["by_column"]) == list(ingest.REQUIRED_COLUMNS)


def test_null_rate_counts_lines_that_could_not_be_split_in_every_required_column() -> None:
    # CSV lines the reader could not split were quarantined as malformed_line, which no check counted.
    summary = _summary(30, by_reason={"malformed_line": 300}, null_counts={"user_id": 100})
    check = _by_name(quality.run_checks(summary, _counts(30), history=None, known_features=["a", "b"],
                                        **PARAMS))["null_rate"]
    assert (check["status"], check["observed"]) == ("warn", 0.04)
    assert check["details"]["by_column"]["event_time"] == 0.03
    assert check["message"] == (
        "400 of 10,000 input rows (4 %) have no readable user_id (100 missing, 300 on lines the reader could not "
        "split into the header's columns), the most of the required columns; they are quarantined (quarantine/ "
        "gives each row's reason and its values as read) and not counted; for those lines, check the files' "
        "separator and that each line has as many values as the header has columns (a header ending in a "
        "separator names one column more).")
    # Lines alone give every required column the same count: the message names the lines, not a column.
    lines = quality.check_null_rate({}, malformed=300, rows_in=10_000, warn=0.01, fail=0.1)
    assert lines["message"] == (
        "300 of 10,000 input rows (3 %) are lines the reader could not split into the header's columns, so none "
        "of their values was read; they are quarantined as malformed_line (quarantine/ gives each its line as "
        "written) and not counted; check the files' separator and that each line has as many values as the "
        "header has columns (a header ending in a separator names one column more).")


#: One CSV line breaking each rule of validate.RULES, after VALID_LINES (the duplicate repeats the first).
HEADER = "event_time,feature_id,user_id,latency_ms,is_crash,feedback_score,error_count\n"
VALID_LINES = [f"2026-03-01T10:0{i}:00Z,search,u{i},100,false,4,0" for i in range(3)]
BAD_LINES = {
    ("missing_event_time", "event_time"): ",search,u9,100,false,4,0",
    ("invalid_event_time", "event_time"): "03/01/2026 10:09,search,u9,100,false,4,0",
    ("future_event_time", "event_time"): "2099-03-01T10:09:00Z,search,u9,100,false,4,0",
    ("missing_feature_id", "feature_id"): "2026-03-01T10:09:00Z,,u9,100,false,4,0",
    ("missing_user_id", "user_id"): "2026-03-01T10:09:00Z,search,,100,false,4,0",
    ("missing_is_crash", "is_crash"): "2026-03-01T10:09:00Z,search,u9,100,,4,0",
    ("invalid_is_crash", "is_crash"): "2026-03-01T10:09:00Z,search,u9,100,maybe,4,0",
    ("missing_latency", "latency_ms"): "2026-03-01T10:09:00Z,search,u9,,false,4,0",
    ("invalid_number", "latency_ms"): '2026-03-01T10:09:00Z,search,u9,"10,5",false,4,0',
    ("negative_latency", "latency_ms"): "2026-03-01T10:09:00Z,search,u9,-5,false,4,0",
    ("latency_out_of_range", "latency_ms"): "2026-03-01T10:09:00Z,search,u9,700000,false,4,0",
    ("invalid_number", "feedback_score"): '2026-03-01T10:09:00Z,search,u9,100,false,"4,5",0',
    ("feedback_out_of_range", "feedback_score"): "2026-03-01T10:09:00Z,search,u9,100,false,9,0",
    ("invalid_number", "error_count"): "2026-03-01T10:09:00Z,search,u9,100,false,4,many",
    ("negative_error_count", "error_count"): "2026-03-01T10:09:00Z,search,u9,100,false,4,-3",
    ("duplicate_event", None): VALID_LINES[0],
    ("malformed_line", None): "2026-03-01T10:09:00Z,search,u9,100,false,4,0,extra",
}


def _ingested_checks(folder: Path, lines: list[str]) -> tuple[dict, dict]:
    """The ingest summary and the checks by name of one CSV file of ``lines``."""
    folder.mkdir()
    (folder / "events.csv").write_text(HEADER + "\n".join(lines) + "\n")
    con = warehouse.connect()
    raw = ingest.open_events(con, folder / "events.csv", column_map={})
    result = engine.validate_and_aggregate(con, raw, quarantine_dir=folder, work_dir=folder,
                                           now=datetime(2026, 3, 2, tzinfo=UTC))
    report = quality.run_checks(result.summary, result.daily_counts, history=None, known_features=["search"],
                                **PARAMS)
    return result.summary, _by_name(report)


def test_every_quarantine_reason_has_a_sample_line() -> None:
    # A new rule needs a line here, so that the test below proves some check counts it.
    assert list(BAD_LINES) == list(validate.RULES)


@pytest.mark.parametrize(("reason", "field"), list(BAD_LINES))
def test_every_quarantine_reason_is_counted_by_a_check(reason: str, field: str | None, tmp_path: Path) -> None:
    # negative_error_count, invalid_number of an optional column and malformed_line were counted by
    # no check: a feed of such rows read "data quality: pass".
    _clean, clean = _ingested_checks(tmp_path / "clean", VALID_LINES)
    summary, checks = _ingested_checks(tmp_path / "bad", [*VALID_LINES, BAD_LINES[(reason, field)]])
    assert summary["by_reason"] == {reason: 1} and summary["rows_in"] == 4
    counting = [name for name, check in checks.items() if check["observed"] == 0.25 and check["status"] == "fail"]
    assert counting, f"no check counts the row quarantined as {reason}"
    assert all(clean[name]["status"] == "pass" for name in counting)


def test_unknown_features_are_named_with_their_near_match_in_the_metadata() -> None:
    counts = _counts(10, features=("Checkout Flow", "login", "Smart Reply ✨"))
    check = _by_name(quality.run_checks(_summary(10), counts, history=None, known_features=["Checkout Flow", "Login"],
                                        **PARAMS))["unknown_features"]
    assert (check["status"], check["observed"], check["details"]["features"]) == ("warn", 2, ["Smart Reply ✨", "login"])
    assert check["message"] == (
        "2 features with events have no row in the feature metadata: Smart Reply ✨, login (the metadata has "
        "'Login'); add them (or fix their ids) in the metadata file, until then their owner is 'unassigned'."
    )
    known = _by_name(quality.run_checks(_summary(10), counts, history=None,
                                        known_features=["Checkout Flow", "login", "Smart Reply ✨"], **PARAMS))
    assert known["unknown_features"]["status"] == "pass" and known["unknown_features"]["observed"] == 0

def test_history_outside_the_window_gives_baselines() -> None:
    history = _counts(30).rename(columns={"events": "usage_count"})
    window = _counts(31, low={("a", 30): 20})
    window = window[window["date"] == date(2026, 1, 31)]
    summary = _summary(31, window_start="2026-01-31")
    checks = _by_name(quality.run_checks(summary, window, history=history, known_features=["a", "b"], **PARAMS))
    assert checks["volume_drop"]["observed"] == 0.2 and checks["volume_drop"]["details"]["judged_feature_days"] == 2
    assert checks["missing_days"]["details"]["expected_feature_days"] == 2


def test_stop_on_fail_and_enforce() -> None:
    summary = _summary(30, last_event_date="2026-01-20")
    report = quality.run_checks(summary, _counts(20), history=None, known_features=["a", "b"], **PARAMS)
    assert report["summary"]["stopping"] == ["freshness"]
    with pytest.raises(quality.QualityError, match=r"freshness observed 10 days \(fail threshold 3 days\).*quality.stop_on_fail"):
        quality.enforce(report, paths=PATHS)
    relaxed = quality.run_checks(summary, _counts(20), history=None, known_features=["a", "b"],
                                 **{**PARAMS, "stop_on_fail": []})
    quality.enforce(relaxed, paths=PATHS)
    # A backfill whose window ended on 2026-01-20 of a feed that is current: fresh.
    backfill = quality.run_checks({**summary, "latest_input_date": "2026-01-30"}, _counts(20), history=None,
                                  known_features=["a", "b"], **PARAMS)
    assert next(c for c in backfill["checks"] if c["name"] == "freshness")["observed"] == 0
    with pytest.raises(ValueError, match="allowed: missing_days"):
        quality.run_checks(
            summary, _counts(20), history=None, known_features=[], **{**PARAMS, "stop_on_fail": ["speed"]}
        )


def test_a_stop_names_each_count_s_unit_and_an_observed_zero_as_a_value() -> None:
    # A feature's events all gone is volume_drop observed 0.0: a value to name, not a check that saw nothing.
    checks = [{"name": "late_rows", "observed": 5, "threshold": {"fail": 3}, "message": "5 late rows."},
              {"name": "volume_drop", "observed": 0.0, "threshold": {"fail": 0.2}, "message": "Events dropped."}]
    report = {"summary": {"stopping": ["late_rows", "volume_drop"]}, "checks": checks}
    with pytest.raises(quality.QualityError, match=r"^Data quality stopped the run: late_rows observed 5 rows "
                                                   r"\(fail threshold 3 rows\); volume_drop observed 0\.0 "
                                                   r"\(fail threshold 0\.2\); fix the input"):
        quality.enforce(report, paths=PATHS)


def test_a_stop_of_one_day_reads_in_the_singular() -> None:
    # "freshness observed 1 day(s) (fail threshold 1 day(s))": the count was known, the hedge a slip.
    checks = [{"name": "freshness", "observed": 1, "threshold": {"fail": 1}, "message": "Stale."}]
    with pytest.raises(quality.QualityError, match=r"^Data quality stopped the run: freshness observed 1 day "
                                                   r"\(fail threshold 1 day\); fix the input"):
        quality.enforce({"summary": {"stopping": ["freshness"]}, "checks": checks}, paths=PATHS)


def test_messages_of_a_single_day_feature_or_row_read_in_the_singular() -> None:
    # The cron mail read "1 feature-day(s) had fewer than 50% of their usual events".
    fresh = quality.check_freshness(date(2026, 1, 29), as_of=date(2026, 1, 30), warn=1, fail=3)
    assert fresh["message"] == "The latest input day is 2026-01-29, 1 day before the as-of date 2026-01-30."
    drop = quality.run_checks(_summary(30), _counts(30, low={("a", 25): 5}), history=None,
                              known_features=["a", "b"], **PARAMS)
    assert _by_name(drop)["volume_drop"]["message"].startswith(
        "1 feature-day had fewer than 50% of its usual events, the lowest a on 2026-01-26")
    unknown = quality.check_unknown_features(["a", "b"], ["a"], warn=1, fail=5)
    assert unknown["message"] == ("1 feature with events has no row in the feature metadata: b; add it (or fix its "
                                  "id) in the metadata file, until then its owner is 'unassigned'.")
    summary = _summary(30, latest_input_date="2026-01-30", unjudged_days={"2026-01-31": 1})
    late = quality.run_checks(summary, _counts(30), history=None, known_features=["a", "b"], profile="mine", **PARAMS)
    assert _by_name(late)["missing_days"]["message"] == (
        "1 input row dated after the as-of date 2026-01-30 (2026-01-31) was not judged: it is not valid, and with "
        "ingest.as_of empty the as-of date is the latest day with a valid row; "
        "`./run_all.sh mine --set ingest.as_of=2026-01-31 --set ingest.window_start=2026-01-01` judges it and "
        "quarantines it with its reasons."
    )


def test_a_missed_day_before_the_window_is_a_published_gap() -> None:
    # Published up to 2026-01-28; the run of 2026-01-30 skips 2026-01-29.
    history = _counts(28).rename(columns={"events": "usage_count"})
    window = _counts(30)
    window = window[window["date"] == date(2026, 1, 30)]
    summary = _summary(30, window_start="2026-01-30")
    report = quality.run_checks(summary, window, history=history, known_features=["a", "b"], profile="ci", **PARAMS)
    gap = _by_name(report)["published_gap"]
    assert (gap["status"], gap["observed"], gap["details"]["days"]) == ("warn", 1, ["2026-01-29"])
    assert "no data for 2026-01-29" in gap["message"]
    assert ("`./run_all.sh ci --set ingest.as_of=2026-01-30 --set ingest.window_start=2026-01-29 "
            "--set ingest.window_end=2026-01-29`") in gap["message"]
    assert report["summary"]["message"].startswith("published_gap warn: The published fact table has no data")
    # Backfilled: the next daily run sees no gap; an old hole is reported until then (here: a run further on).
    filled = _counts(29).rename(columns={"events": "usage_count"})
    assert _by_name(quality.run_checks(summary, window, history=filled, known_features=["a", "b"],
                                       **PARAMS))["published_gap"]["observed"] == 0
    later = {**summary, "window_start": "2026-01-31", "window_end": "2026-01-31", "as_of": "2026-01-31"}
    holed = pd.concat([history, window.rename(columns={"events": "usage_count"})])
    next_day = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    assert _by_name(quality.run_checks(later, next_day, history=holed, known_features=["a", "b"],
                                       **PARAMS))["published_gap"]["details"]["days"] == ["2026-01-29"]



def test_days_missed_after_the_table_s_last_day_are_a_gap_for_a_backfill_of_an_older_window() -> None:
    # Published up to 2026-01-27, daily runs of 01-28..01-30 missed, then a backfill of 01-05..01-09
    # whose as-of is the input's latest day, 2026-01-30: its outputs would be as of a day the table lacks.
    history = _counts(27).rename(columns={"events": "usage_count"})
    window = _counts(9)[lambda f: f["date"] >= date(2026, 1, 5)]
    summary = _summary(30, window_start="2026-01-05", window_end="2026-01-09", latest_input_date="2026-01-30")
    gap = _by_name(quality.run_checks(summary, window, history=history, known_features=["a", "b"], profile="ci",
                                      **PARAMS))["published_gap"]
    assert (gap["status"], gap["details"]["days"]) == ("fail", ["2026-01-28", "2026-01-29", "2026-01-30"])
    assert gap["message"].endswith("`./run_all.sh ci --set ingest.as_of=2026-01-30 --set ingest.window_start=2026-01-28 "
                                   "--set ingest.window_end=2026-01-30`.")
    # Only as far as the input reaches: an as-of past its latest day is freshness's to judge.
    short = {**summary, "latest_input_date": "2026-01-28"}
    assert _by_name(quality.run_checks(short, window, history=history, known_features=["a", "b"],
                                       **PARAMS))["published_gap"]["details"]["days"] == ["2026-01-28"]


def test_a_day_the_export_lacks_is_named_but_not_a_gap_on_later_runs() -> None:
    # The first run reads 2026-01-01..30; the export has no row on 2026-01-10 (nor on 2026-01-30, its last
    # day, which therefore never enters the fact table either: the input ends on the 29th).
    holed = _counts(30, skip=(("a", 9), ("b", 9), ("a", 29), ("b", 29)))
    first = quality.run_checks(_summary(30, latest_input_date="2026-01-29"), holed, history=None,
                               known_features=["a", "b"], profile="mine", **PARAMS)
    assert _by_name(first)["published_gap"]["details"]["empty_in_input"] == ["2026-01-10"]
    # The next daily run: 2026-01-10 cannot be backfilled, so it is named, not counted; 2026-01-30 (after
    # the input's last day when it was read) is still a hole a backfill may fill.
    history = holed.rename(columns={"events": "usage_count"})
    day = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    summary = _summary(31, window_start="2026-01-31", latest_input_date="2026-01-31")
    gap = _by_name(quality.run_checks(summary, day, history=history, known_features=["a", "b"], previous=first,
                                      profile="mine", **PARAMS))["published_gap"]
    assert (gap["status"], gap["observed"], gap["details"]["days"]) == ("warn", 1, ["2026-01-30"])
    assert gap["message"].endswith("2026-01-10 had no valid event in the input when a run read them (not counted).")
    # Without the previous report (as before) both count; a re-run over 2026-01-10 that finds rows clears it.
    assert _by_name(quality.run_checks(summary, day, history=history, known_features=["a", "b"],
                                       **PARAMS))["published_gap"]["observed"] == 2
    refilled = quality.empty_in_input(first, start=date(2026, 1, 10), end=date(2026, 1, 10), window_empty=[])
    assert refilled == []
    # Only the excused day: the check passes and says why.
    filled = pd.concat([history, _counts(30)[lambda f: f["date"] == date(2026, 1, 30)].rename(
        columns={"events": "usage_count"})])
    excused = _by_name(quality.run_checks(summary, day, history=filled, known_features=["a", "b"], previous=first,
                                          **PARAMS))["published_gap"]
    assert (excused["status"], excused["details"]["empty_in_input"]) == ("pass", ["2026-01-10"])
    assert excused["message"].startswith("The published fact table has no data for 2026-01-10, where the input")


def test_rows_of_the_published_day_before_the_window_that_its_run_missed_are_late_rows() -> None:
    # Published up to 2026-01-30 with 100 events per feature and day; the daily run of 2026-01-31 finds
    # 230 rows dated 2026-01-30 in the input (the next file of an export cut at local midnight holds 25).
    history = _counts(30).rename(columns={"events": "usage_count"})
    day = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    before = {"date": "2026-01-30", "input_rows": 230, "quarantined_rows": 5}
    summary = _summary(31, window_start="2026-01-31", day_before_window=before)
    late = _by_name(quality.run_checks(summary, day, history=history, known_features=["a", "b"], profile="mine",
                                       **PARAMS))["late_rows"]
    assert (late["status"], late["observed"], late["details"]["date"]) == ("warn", 25, "2026-01-30")
    assert late["message"].startswith("The input holds 25 rows dated 2026-01-30 that the published outputs do not count")
    assert late["message"].endswith("`./run_all.sh mine --set ingest.as_of=2026-01-31 --set ingest.window_start=2026-01-30`.")
    # Every row counted (valid or quarantined): pass; no published day before, or an older summary: not judged.
    counted = {**summary, "day_before_window": {**before, "input_rows": 205}}
    assert _by_name(quality.run_checks(counted, day, history=history, known_features=["a", "b"],
                                       **PARAMS))["late_rows"]["observed"] == 0
    for changes in ({"day_before_window": {**before, "date": "2026-02-20"}}, {"day_before_window": None}):
        check = _by_name(quality.run_checks({**summary, **changes}, day, history=history, known_features=["a", "b"],
                                            **PARAMS))["late_rows"]
        assert (check["status"], check["observed"]) == ("not_judged", None)
        assert check["message"].startswith("Not judged: ") and "observed None" not in check["message"]


def test_re_run_and_backfill_commands_repeat_the_run_s_other_settings() -> None:
    # A daily run with --set ingest.source=...: the command it suggests must read the same source, or
    # running it is refused by the source-change check (the late_rows re-run of an own export was).
    history = _counts(30).rename(columns={"events": "usage_count"})
    day = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    before = {"date": "2026-01-30", "input_rows": 230, "quarantined_rows": 5}
    summary = _summary(31, window_start="2026-01-31", day_before_window=before)
    rerun = ["--set ingest.source=/data/export"]
    checks = _by_name(quality.run_checks(summary, day, history=history[history["date"] != date(2026, 1, 20)],
                                         known_features=["a", "b"], profile="mine", rerun=rerun, **PARAMS))
    assert checks["late_rows"]["message"].endswith(
        "`./run_all.sh mine --set ingest.as_of=2026-01-31 --set ingest.window_start=2026-01-30 "
        "--set ingest.source=/data/export`.")
    assert checks["published_gap"]["message"].endswith(
        "--set ingest.window_start=2026-01-20 --set ingest.window_end=2026-01-20 --set ingest.source=/data/export`.")


def test_late_rows_not_judged_says_why_in_one_sentence() -> None:
    # A first run (window from the input's first day) or a day the fact table lacks: a sentence, not
    # "late_rows observed None (pass; ...)".
    history = _counts(30).rename(columns={"events": "usage_count"})
    absent = quality.check_late_rows({"date": "2026-02-20", "input_rows": 9, "quarantined_rows": 0}, history,
                                     as_of=date(2026, 2, 21), profile="mine", warn=1, fail=10)
    assert absent["message"] == ("Not judged: the published fact table has no day 2026-02-20 (the day before "
                                 "the window) to compare the input's rows with.")
    older = quality.check_late_rows(None, history, as_of=date(2026, 2, 21), profile="mine", warn=1, fail=10)
    assert older["message"] == ("Not judged: the ingest summary does not count the input's rows of the day "
                                "before the window (written before that count existed).")
    assert absent["status"] == older["status"] == "not_judged"  # not a pass


def test_a_check_with_nothing_to_judge_is_not_judged_and_leaves_the_status_to_the_others() -> None:
    # The first days of a profile: no feature has a usual volume yet.
    report = quality.run_checks(_summary(5), _counts(5), history=None, known_features=["a", "b"], **PARAMS)
    volume = _by_name(report)["volume_drop"]
    assert volume["status"] == "not_judged" and volume["observed"] is None
    assert volume["message"].startswith("Not judged: no feature-day of the window has ")
    assert report["summary"]["not_judged"] >= 1 and report["summary"]["status"] == "pass"

def test_a_window_past_the_input_says_it_has_no_rows() -> None:
    history = _counts(30).rename(columns={"events": "usage_count"})
    summary = _summary(31, window_start="2026-01-31", latest_input_date="2026-01-30", rows_in=0)
    empty = _counts(1).iloc[:0]
    checks = _by_name(quality.run_checks(summary, empty, history=history, known_features=["a", "b"], **PARAMS))
    missing = checks["missing_days"]
    assert (missing["status"], missing["observed"]) == ("fail", 1.0)
    assert missing["message"].startswith("No rows for 2026-01-31 in the input (latest input day 2026-01-30); re-run ")
    # Without history nothing is expected, yet an empty window still misses everything.
    alone = _by_name(quality.run_checks(summary, empty, history=None, known_features=[], **PARAMS))
    assert alone["missing_days"]["status"] == "fail"
    # A day inside the input with no valid event is told apart.
    holed = _counts(31, skip=(("a", 29), ("b", 29)))
    checks = _by_name(quality.run_checks(_summary(31, latest_input_date="2026-01-31"), holed, history=None,
                                         known_features=["a", "b"], **PARAMS))
    assert checks["missing_days"]["message"].startswith("No valid event on 2026-01-30:")


def test_a_day_of_the_input_without_any_valid_event_warns_below_the_share_threshold() -> None:
    # One daily file of 30 exported as a header only (or all its rows quarantined) is 1/30 of the
    # feature-days, below missing_days_warn: the run said "data quality: pass" and published without the day.
    holed = _counts(30, skip=(("a", 9), ("b", 9)))
    report = quality.run_checks(_summary(30), holed, history=None, known_features=["a", "b"], **PARAMS)
    check = _by_name(report)["missing_days"]
    assert check["observed"] < PARAMS["missing_days_warn"]
    assert (check["status"], report["summary"]["status"]) == ("warn", "warn")
    assert check["message"].startswith("No valid event on 2026-01-10:")
    # A day after the input's latest day keeps its share's status: its rows may simply not be exported yet.
    late = quality.run_checks(_summary(30, last_event_date="2026-01-29"), _counts(29), history=None,
                              known_features=["a", "b"], **PARAMS)
    assert _by_name(late)["missing_days"]["status"] == "pass"


def test_unjudged_rows_after_an_as_of_date_derived_from_the_data_warn_naming_days_and_the_re_run() -> None:
    # The newest export saved with decimal commas fell outside a window ending on the latest valid day:
    # "data quality: pass", fresh, and the dashboard scored the day before.
    summary = _summary(30, latest_input_date="2026-01-30", unjudged_days={"2026-01-31": 230, "2026-02-01": 7})
    report = quality.run_checks(summary, _counts(30), history=None, known_features=["a", "b"], profile="mine",
                                rerun=["--set ingest.source=/data/export"], **PARAMS)
    check = _by_name(report)["missing_days"]
    assert (check["status"], check["observed"], report["summary"]["status"]) == ("warn", 0.0, "warn")
    assert check["message"] == (
        "237 input rows dated after the as-of date 2026-01-30 (2026-01-31..2026-02-01) were not judged: none of "
        "them is valid, and with ingest.as_of empty the as-of date is the latest day with a valid row; "
        "`./run_all.sh mine --set ingest.as_of=2026-02-01 --set ingest.window_start=2026-01-01 "
        "--set ingest.source=/data/export` judges them and quarantines them with their reasons."
    )
    # None (a backfill with ingest.as_of set counts none), or a summary written before they were counted.
    for clean in (_summary(30, unjudged_days={}), _summary(30)):
        passed = quality.run_checks(clean, _counts(30), history=None, known_features=["a", "b"], **PARAMS)
        assert _by_name(passed)["missing_days"]["status"] == "pass"


def test_a_window_past_the_input_names_the_re_run_for_when_its_rows_arrive() -> None:
    # A daily run before the day's export (exit 3) said only "No rows for DAY": nothing on what to do.
    history = _counts(30).rename(columns={"events": "usage_count"})
    summary = _summary(32, window_start="2026-01-31", latest_input_date="2026-01-30", rows_in=0)
    checks = _by_name(quality.run_checks(summary, _counts(1).iloc[:0], history=history, known_features=["a", "b"],
                                         profile="mine", rerun=["--set ingest.source=/data/export"], **PARAMS))
    assert checks["missing_days"]["message"] == (
        "No rows for 2026-01-31..2026-02-01 in the input (latest input day 2026-01-30); re-run once the input has "
        "them: `./run_all.sh mine --set ingest.as_of=2026-02-01 --set ingest.window_start=2026-01-31 "
        "--set ingest.window_end=2026-02-01 --set ingest.source=/data/export`."
    )


def test_a_stray_row_years_before_the_feed_names_its_day_events_and_the_window_start_leaving_it_out() -> None:
    # One row dated 2019 in a 2026 feed started the window there: "No valid event on 2019-05-04..2026-02-28"
    # said nothing of the one row responsible nor of ingest.window_start. The run publishes that day (missing_days
    # does not stop it by default), and a window starting later keeps it: the command drops it too.
    feed = _counts(10).assign(date=lambda f: f["date"] + timedelta(days=59))  # 2026-03-01..10
    stray = pd.DataFrame([{"feature_id": "a", "date": date(2019, 5, 3), "events": 1}])
    summary = _summary(10, window_start="2019-05-03", as_of="2026-03-10", window_end="2026-03-10",
                       last_event_date="2026-03-10")
    report = quality.run_checks(summary, pd.concat([stray, feed], ignore_index=True), history=None,
                                known_features=["a", "b"], profile="mine", **PARAMS)
    message = _by_name(report)["missing_days"]["message"]
    assert message.startswith(
        "The window starts on 2019-05-03 with 1 valid event, 2,494 days before the next day with one, 2026-03-01: "
        "if that day's rows are stray (a wrong date in the export), start the window on 2026-03-01 and drop the day "
        "this run publishes: `./run_all.sh mine --set ingest.as_of=2026-03-10 --set ingest.window_start=2026-03-01 "
        "--set ingest.drop_before=2026-03-01`; remove them from the input too, or a run whose window starts earlier "
        "reads them again. No valid event on 2019-05-04..2026-02-28:")
    # A lost second day of a feed is no stray first day: the gap is shorter than the days after it.
    lost = quality.run_checks(_summary(30), _counts(30, skip=(("a", 1), ("b", 1))), history=None,
                              known_features=["a", "b"], **PARAMS)
    assert _by_name(lost)["missing_days"]["message"].startswith("No valid event on 2026-01-02:")



def test_a_first_day_cut_off_for_as_long_as_the_rest_lasts_is_no_stray_day() -> None:
    # Stray means cut off for longer than the rest of the window lasts: 3 empty days before 3 with events are not.
    skip = tuple((f, i) for f in ("a", "b") for i in (1, 2, 3))
    report = quality.run_checks(_summary(7), _counts(7, skip=skip), history=None, known_features=["a", "b"], **PARAMS)
    assert _by_name(report)["missing_days"]["message"].startswith("No valid event on 2026-01-02..2026-01-04:")

def test_day_lists_merge_consecutive_days() -> None:
    days = [date(2026, 1, d) for d in (1, 2, 3, 5, 7, 9, 11, 13)]
    assert quality._day_list(days) == "2026-01-01..2026-01-03, 2026-01-05, 2026-01-07, 2026-01-09, 2026-01-11 and 1 more"


def test_ids_published_before_unicode_normalisation_are_not_missing_days_but_named_with_the_re_run() -> None:
    # Code before NFC normalisation published an export's decomposed ids as written ("Fe" + U+0301);
    # a daily run now reads them composed (U+00E9), so the old spelling can have no events any more.
    old, new = "Fe\u0301001", "F\u00e9001"
    history = _counts(30, features=(old, "b")).rename(columns={"events": "usage_count"})
    day = _counts(31, features=(new, "b"))[lambda f: f["date"] == date(2026, 1, 31)]
    summary = _summary(31, window_start="2026-01-31")
    check = _by_name(quality.run_checks(summary, day, history=history, known_features=[new, "b"], profile="mine",
                                        rerun=["--set ingest.source=/data/export"], **PARAMS))["missing_days"]
    assert check["details"]["missing_feature_days"] == 0
    assert check["status"] == "warn"  # the published table splits the feature in two until it is re-read
    assert f"holds 1 feature id as written before ids were read in Unicode NFC ({old}: it looks the same as the id " \
           "read now)" in check["message"]
    assert check["message"].endswith("`./run_all.sh mine --set ingest.as_of=2026-01-31 --set ingest.window_start="
                                     "2026-01-01 --set ingest.source=/data/export`.")
    # Once re-read (no old spelling left in the published days) the check passes again.
    reread = history.assign(feature_id=history["feature_id"].replace({old: new}))
    check = _by_name(quality.run_checks(summary, day, history=reread, known_features=[new, "b"], **PARAMS))
    assert check["missing_days"]["status"] == "pass"


def test_a_gap_after_a_backfill_s_as_of_date_is_backfilled_as_of_that_gap() -> None:
    # A backfill of 01-01..01-14 as of 01-14, the table holding 01-15..01-31 but 01-20: a re-run as of
    # 01-14 could not read 01-20. A day once empty in the input and since published is no longer carried.
    published = [date(2026, 1, 15) + timedelta(days=i) for i in range(17) if i != 5]
    gap = quality.check_published_gap(published, start=date(2026, 1, 1), end=date(2026, 1, 14), as_of=date(2026, 1, 14),
                                      profile="ci", warn=1, fail=3, empty=[date(2026, 1, 16)],
                                      latest_input=date(2026, 1, 31))
    assert (gap["details"]["days"], gap["details"]["empty_in_input"]) == (["2026-01-20"], [])
    assert "`./run_all.sh ci --set ingest.as_of=2026-01-20 --set ingest.window_start=2026-01-20 " in gap["message"]


def test_a_gap_of_missed_and_late_delivered_days_names_the_late_ones_and_their_rows() -> None:
    # 01-18 was never run; 01-20 was found empty and its file came since: one backfill, each said for what it is.
    published = [date(2026, 1, 15) + timedelta(days=i) for i in range(17) if i not in (3, 5)]
    gap = quality.check_published_gap(published, start=date(2026, 2, 1), end=date(2026, 2, 1), as_of=date(2026, 2, 1),
                                      profile="ci", warn=1, fail=3, arrived={date(2026, 1, 20): 12})
    assert gap["details"]["days"] == ["2026-01-18", "2026-01-20"]
    assert gap["message"].startswith(
        "The published fact table has no data for 2026-01-18, 2026-01-20 (a missed run?; for 2026-01-20, found "
        "without any valid event, the input now holds 12 rows); backfill with ")


def test_late_rows_of_a_day_the_run_reads_again_are_not_said_of_the_gap() -> None:
    # 01-20 and 02-01 were found empty and their files came since; the window re-reads 02-01.
    published = [date(2026, 1, 15) + timedelta(days=i) for i in range(17) if i != 5]
    gap = quality.check_published_gap(published, start=date(2026, 2, 1), end=date(2026, 2, 1), as_of=date(2026, 2, 1),
                                      profile="ci", warn=1, fail=3, arrived={date(2026, 1, 20): 12, date(2026, 2, 1): 30})
    assert gap["message"].startswith("The published fact table has no data for 2026-01-20, where a run found no valid "
                                     "event and the input now holds 12 rows (a file delivered late?); backfill with ")


def test_input_days_after_the_as_of_date_are_no_published_gap() -> None:
    # A re-run as of 01-14 while the input already reaches 01-20: the outputs stop at 01-14 by design.
    published = [date(2026, 1, 1) + timedelta(days=i) for i in range(10)]
    gap = quality.check_published_gap(published, start=date(2026, 1, 11), end=date(2026, 1, 14),
                                      as_of=date(2026, 1, 14), profile="ci", warn=1, fail=3,
                                      latest_input=date(2026, 1, 20))
    assert (gap["status"], gap["details"]["days"]) == ("pass", [])


def test_volume_drop_at_its_warn_ratio_passes_and_counts_no_day_below_it() -> None:
    low = {("a", 29): 100 * PARAMS["volume_drop_warn"]}
    volume = _by_name(quality.run_checks(_summary(30), _counts(30, low=low), history=None, known_features=["a", "b"],
                                         **PARAMS))["volume_drop"]
    assert (volume["status"], volume["observed"], volume["details"]["below_warn"]) == (
        "pass", PARAMS["volume_drop_warn"], 0)


def test_days_the_input_does_not_reach_are_no_published_gap() -> None:
    # Published up to the input's last day, 2026-01-30; an operator's as-of (and daily window) of 2026-02-03
    # adds nothing to the table, so 01-31..02-02 are not a missed run to backfill (freshness judges them).
    history = _counts(30).rename(columns={"events": "usage_count"})
    empty = _counts(1).iloc[:0]
    ahead = _summary(34, window_start="2026-02-03", latest_input_date="2026-01-30", rows_in=0)
    gap = _by_name(quality.run_checks(ahead, empty, history=history, known_features=["a", "b"], profile="ci",
                                      **PARAMS))["published_gap"]
    assert (gap["status"], gap["details"]["days"]) == ("pass", [])
    assert "backfill" not in gap["message"]
    # An as-of before the input's first day: the days up to the table's first one are no gap either.
    before = {**_summary(1, rows_in=0), "as_of": "2025-12-01", "window_start": "2025-12-01",
              "window_end": "2025-12-01", "latest_input_date": None, "last_event_date": None}
    gap = _by_name(quality.run_checks(before, empty, history=history, known_features=["a", "b"], profile="ci",
                                      **PARAMS))["published_gap"]
    assert (gap["status"], gap["details"]["days"]) == ("pass", [])


def test_a_stop_without_an_observed_value_quotes_the_check_s_sentence() -> None:
    # No dated row up to the as-of date: freshness fails with nothing observed ("observed None" said nothing).
    summary = {**_summary(1, rows_in=0), "as_of": "2025-12-01", "window_start": "2025-12-01",
               "window_end": "2025-12-01", "latest_input_date": None, "last_event_date": None}
    report = quality.run_checks(summary, _counts(1).iloc[:0], history=None, known_features=[], **PARAMS)
    with pytest.raises(quality.QualityError) as stopped:
        quality.enforce(report, paths=PATHS)
    assert "None" not in str(stopped.value)
    assert "no dated row up to the as-of date 2025-12-01" in str(stopped.value)


def test_volume_drop_of_a_window_without_events_says_so() -> None:
    # Thirty published days give every feature a usual volume; the window itself has no event.
    history = _counts(30).rename(columns={"events": "usage_count"})
    summary = _summary(31, window_start="2026-01-31", latest_input_date="2026-01-30", rows_in=0)
    volume = _by_name(quality.run_checks(summary, _counts(1).iloc[:0], history=history, known_features=["a", "b"],
                                         **PARAMS))["volume_drop"]
    assert volume["status"] == "not_judged"
    assert "earlier days" not in volume["message"] and "no event" in volume["message"]


def test_rows_that_arrive_for_a_day_a_run_found_empty_are_late_rows() -> None:
    # The run of 2026-01-30 found no row for that day (the export's file came late) and published nothing
    # for it; the next daily run finds 230 rows dated 2026-01-30 in the input: all of them are late.
    history = _counts(29).rename(columns={"events": "usage_count"})
    empty_run = quality.run_checks(_summary(30, window_start="2026-01-30", latest_input_date="2026-01-31"),
                                   _counts(1).iloc[:0], history=history, known_features=["a", "b"], **PARAMS)
    assert _by_name(empty_run)["published_gap"]["details"]["empty_in_input"] == ["2026-01-30"]
    day = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    before = {"date": "2026-01-30", "input_rows": 230, "quarantined_rows": 4}
    summary = _summary(31, window_start="2026-01-31", day_before_window=before)
    late = _by_name(quality.run_checks(summary, day, history=history, known_features=["a", "b"], previous=empty_run,
                                       profile="mine", **PARAMS))["late_rows"]
    assert (late["status"], late["observed"]) == ("warn", 226)
    assert late["message"].endswith("`./run_all.sh mine --set ingest.as_of=2026-01-31 --set ingest.window_start=2026-01-30`.")
    # Still without a row: nothing late, and the sentence does not claim a published day.
    still = {**summary, "day_before_window": {**before, "input_rows": 4}}
    check = _by_name(quality.run_checks(still, day, history=history, known_features=["a", "b"], previous=empty_run,
                                        **PARAMS))["late_rows"]
    assert (check["status"], check["observed"]) == ("pass", 0)
    assert check["message"].startswith("The day before the window (2026-01-30) still has no valid event")


def test_rows_that_arrive_for_an_older_day_a_run_found_empty_are_a_gap_to_backfill() -> None:
    # A backfill found 2026-01-25 without any row (its file was late) and later runs excused it for good:
    # when the file came, a week later, published_gap passed and nothing said so.
    history = _counts(30)[lambda f: f["date"] != date(2026, 1, 25)].rename(columns={"events": "usage_count"})
    day = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    previous = {"checks": [{"name": "published_gap", "details": {"empty_in_input": ["2026-01-25"]}}]}
    now = {"2026-01-25": {"input_rows": 230, "quarantined_rows": 4}}
    gap = _by_name(quality.run_checks(_summary(31, window_start="2026-01-31", empty_days_now=now), day,
                                      history=history, known_features=["a", "b"], previous=previous, profile="mine",
                                      **PARAMS))["published_gap"]
    assert (gap["status"], gap["details"]["days"], gap["details"]["empty_in_input"]) == ("warn", ["2026-01-25"], [])
    assert gap["message"] == (
        "The published fact table has no data for 2026-01-25, where a run found no valid event and the input now "
        "holds 226 rows (a file delivered late?); backfill with "
        "`./run_all.sh mine --set ingest.as_of=2026-01-31 --set ingest.window_start=2026-01-25 "
        "--set ingest.window_end=2026-01-25`.")
    # Only its quarantined rows again (an export of invalid rows): still excused, as before.
    still = {"2026-01-25": {"input_rows": 4, "quarantined_rows": 4}}
    gap = _by_name(quality.run_checks(_summary(31, window_start="2026-01-31", empty_days_now=still), day,
                                      history=history, known_features=["a", "b"], previous=previous,
                                      **PARAMS))["published_gap"]
    assert (gap["status"], gap["details"]["empty_in_input"]) == ("pass", ["2026-01-25"])


def test_summary_is_the_worst_status_and_only_a_failure_stops() -> None:
    counts = _counts(30, low={("a", 25): 5, ("a", 26): 40, ("b", 27): 30})
    summary = _summary(30, null_counts={"user_id": 500}, last_event_date="2026-01-28")
    report = quality.run_checks(summary, counts, history=None, known_features=["a", "b"], **PARAMS)
    checks = _by_name(report)
    assert checks["freshness"]["status"] == "warn" and "freshness" in PARAMS["stop_on_fail"]
    assert report["summary"]["status"] == "fail" and report["summary"]["stopping"] == []  # volume_drop fails
    assert checks["null_rate"]["observed"] == 0.05  # the worst column's rate, not an average
    volume = checks["volume_drop"]
    assert [w["ratio"] for w in volume["details"]["worst"]] == [0.05, 0.3, 0.4, 1.0, 1.0]
    assert "the lowest a on 2026-01-26 at 5% of its" in volume["message"]


def test_a_feature_is_expected_only_from_its_first_day() -> None:
    counts = pd.concat([_counts(30), _counts(30, features=("c",))[lambda f: f["date"] >= date(2026, 1, 20)]])
    check = _by_name(quality.run_checks(_summary(30), counts, history=None, known_features=["a", "b", "c"],
                                        **PARAMS))["missing_days"]
    assert check["details"]["expected_feature_days"] == 60 + 11 and check["details"]["missing_feature_days"] == 0


def test_published_rows_of_the_window_days_are_replaced_not_counted_again() -> None:
    # The published table holds the window's day from an earlier, partial read (5 events): the
    # run re-reads that day (100 events), so only the new count is judged.
    history = _counts(31, low={("a", 30): 5}).rename(columns={"events": "usage_count"})
    window = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    summary = _summary(31, window_start="2026-01-31")
    checks = _by_name(quality.run_checks(summary, window, history=history, known_features=["a", "b"], **PARAMS))
    assert checks["volume_drop"]["observed"] == 1.0 and checks["volume_drop"]["details"]["judged_feature_days"] == 2


def test_fewer_input_rows_than_published_say_the_day_s_file_changed_since_its_run() -> None:
    """A corrected file re-delivered after its day's run, 214 rows removed and 200 added, read as
    "counts every row the input holds": the published day kept the old file's counts, unflagged."""
    history = _counts(30).rename(columns={"events": "usage_count"})
    day = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    fewer = {"date": "2026-01-30", "input_rows": 150, "quarantined_rows": 0}  # 200 published
    late = _by_name(quality.run_checks(_summary(31, window_start="2026-01-31", day_before_window=fewer), day,
                                       history=history, known_features=["a", "b"], profile="mine",
                                       **PARAMS))["late_rows"]
    assert (late["status"], late["observed"], late["details"]["rows"], late["details"]["withdrawn"]) == (
        "warn", 50, 0, 50)
    assert late["message"] == (
        "The input now holds 50 rows fewer dated 2026-01-30 than the published outputs count (its file was replaced "
        "or cut since that day's run); re-run from that day: "
        "`./run_all.sh mine --set ingest.as_of=2026-01-31 --set ingest.window_start=2026-01-30`.")


def test_unknown_features_without_metadata_say_to_give_a_metadata_file() -> None:
    # Own telemetry with ingest.metadata_path empty: there is no metadata file to add rows to.
    check = _by_name(quality.run_checks(_summary(10), _counts(10), history=None, known_features=[],
                                        **PARAMS))["unknown_features"]
    assert (check["status"], check["details"]["features"]) == ("warn", ["a", "b"])
    assert "ingest.metadata_path" in check["message"] and "'unassigned'" in check["message"]
    assert "in the metadata file" not in check["message"] and "a, b" in check["message"]


def test_missing_days_names_a_feature_s_missing_days_beside_a_day_without_rows() -> None:
    # Feature b has no event on 01-05..01-28 while a has; 01-30 has no row yet. The message named only
    # 01-30, though b's 24 days are most of the share.
    counts = _counts(29, skip=tuple(("b", i) for i in range(4, 28)))
    check = _by_name(quality.run_checks(_summary(30, latest_input_date="2026-01-29"), counts, history=None,
                                        known_features=["a", "b"], **PARAMS))["missing_days"]
    assert (check["status"], check["details"]["missing_feature_days"]) == ("warn", 26)
    assert check["message"] == (
        "No rows for 2026-01-30 in the input (latest input day 2026-01-29); re-run once the input has them: "
        "`./run_all.sh PROFILE --set ingest.as_of=2026-01-30 --set ingest.window_start=2026-01-30 "
        "--set ingest.window_end=2026-01-30`. Besides those days, 24 of 60 expected feature-days in the window have "
        "no valid event (first: b on 2026-01-05)."
    )


def _stopped_counts(silent_days: int, *, features: tuple[str, ...] = ("a", "b", "c")) -> pd.DataFrame:
    """30 days of ``features``; ``c`` sends nothing on the last ``silent_days`` days."""
    return _counts(30, features=features, skip=tuple(("c", i) for i in range(30 - silent_days, 30)))


def test_a_feature_that_stopped_sending_events_is_named_once_and_not_counted_missing() -> None:
    first = quality.run_checks(_summary(30), _stopped_counts(10), history=None, known_features=["a", "b", "c"], **PARAMS)
    check = _by_name(first)["missing_days"]
    # Before: "10 of 90 expected feature-days in the window have no valid event (first: c on 2026-01-21)", on every run.
    assert (check["observed"], check["status"]) == (0.0, "warn")
    assert check["message"] == (
        "c stopped sending events on 2026-01-21 (no event in the 7 days up to 2026-01-30, while other features sent "
        "some); its days since are not counted as missing (if it is retired, mark it deprecated in the metadata to "
        "leave it out of this message)."
    )
    assert check["details"]["stopped_features"] == [
        {"feature_id": "c", "last_event": "2026-01-20", "stopped_on": "2026-01-21", "deprecated": False}]
    assert check["details"]["missing_feature_days"] == 0 and first["summary"]["status"] == "warn"
    # The next run, which the published report tells of the stop, lists it without warning again.
    later = _by_name(quality.run_checks(_summary(30), _stopped_counts(10), history=None, known_features=["a", "b", "c"],
                                        previous=first, **PARAMS))["missing_days"]
    assert later["status"] == "pass"
    # The whole explanation came again on every run after the first, burying anything new.
    assert later["message"] == "Still stopped, as an earlier run reported: c since 2026-01-21."
    assert later["details"]["stopped_features"] == check["details"]["stopped_features"]


def test_a_deprecated_feature_that_stopped_is_listed_but_not_warned_about() -> None:
    metadata = pd.DataFrame({"feature_id": ["a", "b", "c"], "lifecycle_stage": ["ga", "beta", "deprecated"]})
    assert quality.deprecated_features(metadata) == ["c"] and quality.deprecated_features(None) == []
    check = _by_name(quality.run_checks(_summary(30), _stopped_counts(10), history=None, known_features=["a", "b", "c"],
                                        deprecated_features=quality.deprecated_features(metadata), **PARAMS))["missing_days"]
    assert check["status"] == "pass" and check["message"] == "Every expected feature-day of 2026-01-01..2026-01-30 has events."
    assert check["details"]["stopped_features"][0]["deprecated"] is True


def test_a_gap_shorter_than_stopped_after_days_or_a_whole_feed_stopping_is_missing_days_as_before() -> None:
    short = _by_name(quality.run_checks(_summary(30), _stopped_counts(6), history=None, known_features=["a", "b", "c"],
                                        **PARAMS))["missing_days"]
    assert short["status"] == "warn" and short["details"]["stopped_features"] == []
    assert short["message"] == "6 of 90 expected feature-days in the window have no valid event (first: c on 2026-01-25)."
    longer = _by_name(quality.run_checks(_summary(30), _stopped_counts(6), history=None, known_features=["a", "b", "c"],
                                         **{**PARAMS, "stopped_after_days": 6}))["missing_days"]
    assert [f["feature_id"] for f in longer["details"]["stopped_features"]] == ["c"]  # silent exactly that long
    # Every feature silent: the feed stopped, not a feature (the days without events say so).
    quiet = _counts(20, features=("a", "b"))
    feed = _by_name(quality.run_checks(_summary(30), quiet, history=None, known_features=["a", "b"], **PARAMS))["missing_days"]
    assert feed["details"]["stopped_features"] == [] and feed["observed"] == pytest.approx(20 / 60)
    assert feed["message"].startswith("No valid event on 2026-01-21..2026-01-30")


def test_a_feature_stopping_after_the_window_s_last_day_is_no_stop_of_that_window() -> None:
    # A backfill of 01-01..01-10 while the table holds later days: c's last event is on the window's last day.
    counts = pd.concat([_counts(30), _counts(10, features=("c",))], ignore_index=True)
    check = quality.check_missing_days(counts, start=date(2026, 1, 1), end=date(2026, 1, 10),
                                       latest_input=date(2026, 1, 30), warn=0.05, fail=0.2, stopped_after_days=7)
    assert (check["status"], check["details"]["stopped_features"]) == ("pass", [])


def test_a_stop_by_hand_names_the_report_written_and_a_run_its_run_folder(tmp_path, monkeypatch) -> None:
    # By hand the message sent the user to runs/<run_id>/, which a notebook run by hand never writes.
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    report = quality.run_checks(_summary(30, last_event_date="2026-01-20"), _counts(20), history=None,
                                known_features=["a", "b"], **PARAMS)
    by_hand = config.RunPaths(tmp_path / "ci")
    with pytest.raises(quality.QualityError) as stopped:
        quality.enforce(report, paths=by_hand)
    assert f"see {by_hand.reports / 'data_quality.json'})" in str(stopped.value)
    assert "runs/<run_id>" not in str(stopped.value)
    in_run = config.RunPaths(tmp_path / ".staging" / "ci-20261129T031059Z-677e389a")
    with pytest.raises(quality.QualityError, match=r"see reports/data_quality\.json in the run's folder runs/<run_id>/\)"):
        quality.enforce(report, paths=in_run)


def test_share_checks_say_in_words_how_many_rows_and_what_became_of_them() -> None:
    # They read "duplicate_events observed 0.00105 (warn; ...)": no unit, no consequence.
    nulls = quality.check_null_rate({"feature_id": 3, "event_time": 12}, rows_in=10_000, warn=0.01, fail=0.1)
    assert nulls["message"] == "12 of 10,000 input rows (0.12 %) have no event_time, the most of the required columns."
    clean = quality.check_null_rate({}, rows_in=10_000, warn=0.01, fail=0.1)
    assert clean["message"] == "None of the 10,000 input rows lacks a required value or holds an unreadable one."
    report = quality.run_checks(_summary(30), _counts(30), history=None, known_features=["a", "b"], **PARAMS)
    checks = _by_name(report)
    assert checks["duplicate_events"]["message"].endswith("repeat a valid row exactly; the copies are quarantined "
                                                          "as duplicate_event and not counted.")
    assert " input rows (" in checks["out_of_range"]["message"]
    assert "observed" not in checks["duplicate_events"]["message"] + checks["out_of_range"]["message"]


def test_duplicates_concentrated_in_a_repeated_file_name_it_and_the_file_it_repeats() -> None:
    # A day delivered twice said "4,088 of 8,200 input rows (49.9 %) repeat a valid row exactly" and no more:
    # the operator had to search the quarantine for the file to remove.
    resend = {"file": "events_2026-03-25_resend.csv", "repeats": "events_2026-03-25.csv", "rows": 4_080}
    summary = _summary(30, rows_in=8_200, by_reason={"duplicate_event": 4_088},
                       repeated_files=[resend, {"file": "b.csv", "repeats": "a.csv", "rows": 2}])
    check = _by_name(quality.run_checks(summary, _counts(30), history=None, known_features=["a", "b"],
                                        **PARAMS))["duplicate_events"]
    assert check["status"] == "fail"
    assert check["message"] == (
        "4,088 of 8,200 input rows (49.9 %) repeat a valid row exactly, 4,080 of them in "
        "events_2026-03-25_resend.csv repeating rows of events_2026-03-25.csv (if it is a second delivery, "
        "remove it from the input and re-run its days); the copies are quarantined as duplicate_event and "
        "not counted.")
    assert check["details"]["repeated_files"] == summary["repeated_files"]
    two = quality.check_duplicate_events(
        10, rows_in=1_000, warn=0.001, fail=0.01,
        repeated_files=[{"file": "x2.csv", "repeats": "x.csv", "rows": 4},
                        {"file": "y2.csv", "repeats": "y.csv", "rows": 3}])
    assert "4 of them in x2.csv repeating rows of x.csv and 3 in y2.csv repeating rows of y.csv (if they are " \
           "second deliveries, remove them from the input" in two["message"]


# Half of the copies in one file is not most of them.
@pytest.mark.parametrize("repeated", [None, [], [{"file": "b.csv", "repeats": "a.csv", "rows": 3}],
                                      [{"file": "b.csv", "repeats": "a.csv", "rows": 6}]])
def test_background_duplicates_spread_over_files_keep_the_plain_message(repeated: list | None) -> None:
    check = quality.check_duplicate_events(12, rows_in=10_000, warn=0.001, fail=0.01, repeated_files=repeated)
    assert check["message"] == ("12 of 10,000 input rows (0.12 %) repeat a valid row exactly; the copies are "
                                "quarantined as duplicate_event and not counted.")


@pytest.mark.parametrize("after_days", [0, -1])
def test_stopped_features_refuses_a_silence_shorter_than_a_day(after_days: int) -> None:
    # 0 days named a feature with events on the latest day stopped.
    counts = pd.DataFrame({"feature_id": ["F1", "F2"], "date": [date(2026, 3, 1), date(2026, 3, 2)]})
    with pytest.raises(ValueError, match=f"after_days must be >= 1, got {after_days}"):
        quality.stopped_features(counts, after_days=after_days)


def test_a_published_stray_day_before_days_the_input_lacks_is_named_with_the_drop_that_removes_it() -> None:
    # After a stray row published 2019-05-03, every later run said "no data for 2019-05-04..2026-02-28 ...
    # (not counted; re-run those days if the export now has them)", the way out (ingest.drop_before) unsaid.
    stray = pd.DataFrame([{"feature_id": "a", "date": date(2019, 5, 3), "usage_count": 1}])
    feed = _counts(10).assign(date=lambda f: f["date"] + timedelta(days=59)).rename(columns={"events": "usage_count"})
    first = {"checks": [{"name": "published_gap", "details": {
        "empty_in_input": [d.isoformat() for d in pd.date_range("2019-05-04", "2026-02-28").date]}}]}
    today = _counts(1).assign(date=date(2026, 3, 11))
    summary = _summary(1, as_of="2026-03-11", window_start="2026-03-11", window_end="2026-03-11",
                       last_event_date="2026-03-11")
    gap = _by_name(quality.run_checks(summary, today, history=pd.concat([stray, feed], ignore_index=True),
                                      known_features=["a", "b"], previous=first, profile="mine",
                                      **PARAMS))["published_gap"]
    assert gap["status"] == "pass"
    assert gap["message"] == (
        "The published fact table has no data for 2019-05-04..2026-02-28, where the input had no valid event when a "
        "run read them (not counted; re-run those days if the export now has them). If the published days before "
        "2019-05-04 are stray (a wrong date in the export), drop them: `./run_all.sh mine --set ingest.as_of=2026-03-11 "
        "--set ingest.window_start=2026-03-11 --set ingest.drop_before=2026-03-01`.")
    # The run that drops them forgets the empty days before the drop too: no later run carries them.
    dropped = _by_name(quality.run_checks({**summary, "drop_before": "2026-03-01"}, today, history=feed,
                                          known_features=["a", "b"], previous=first, **PARAMS))["published_gap"]
    assert (dropped["status"], dropped["details"]["empty_in_input"]) == ("pass", [])
    # A lost export's day amid the feed is no sign of stray days before it: no drop is suggested.
    lost = _by_name(quality.run_checks(summary, today, history=feed[feed["date"] != date(2026, 3, 5)],
                                       known_features=["a", "b"], previous={"checks": [{"name": "published_gap",
                                       "details": {"empty_in_input": ["2026-03-05"]}}]}, **PARAMS))["published_gap"]
    assert lost["status"] == "pass" and "drop" not in lost["message"]


def test_volume_drop_says_what_to_run_when_the_day_s_export_was_incomplete() -> None:
    # The warning named the day and stopped there: whoever read it did not know whether to act, nor how.
    low = {("a", 10): 40, ("b", 29): 45}
    volume = _by_name(quality.run_checks(_summary(30), _counts(30, low=low), history=None, known_features=["a", "b"],
                                         profile="ci", rerun=("--set ingest.source=/data/x",), **PARAMS))["volume_drop"]
    assert volume["status"] == "warn"
    assert volume["message"].endswith(
        "the lowest a on 2026-01-11 at 40% of its 28-day median. A real drop in use needs nothing; if a day's export "
        "was incomplete, re-run that day once the input holds all of it, for the lowest: `./run_all.sh ci --set "
        "ingest.as_of=2026-01-30 --set ingest.window_start=2026-01-11 --set ingest.window_end=2026-01-11 "
        "--set ingest.source=/data/x` (details.worst in reports/data_quality.json lists the lowest feature-days).")
    # The lowest on the as-of day itself: the re-run's window ends there without saying so.
    latest = _by_name(quality.run_checks(_summary(30), _counts(30, low={("b", 29): 40}), history=None,
                                         known_features=["a", "b"], profile="ci", **PARAMS))["volume_drop"]
    assert "--set ingest.window_start=2026-01-30` (details.worst" in latest["message"]


def test_quality_messages_with_a_count_of_one_say_it_in_the_singular() -> None:
    history = _counts(30).rename(columns={"events": "usage_count"})
    day = _counts(31)[lambda f: f["date"] == date(2026, 1, 31)]
    before = {"date": "2026-01-30", "input_rows": 206, "quarantined_rows": 5}
    summary = _summary(31, window_start="2026-01-31", day_before_window=before)
    late = _by_name(quality.run_checks(summary, day, history=history, known_features=["a", "b"], **PARAMS))["late_rows"]
    assert late["message"].startswith("The input holds 1 row dated 2026-01-30 that the published outputs do not count")
    fewer = {**summary, "day_before_window": {**before, "input_rows": 204}}
    withdrawn = _by_name(quality.run_checks(fewer, day, history=history, known_features=["a", "b"], **PARAMS))["late_rows"]
    assert withdrawn["message"].startswith("The input now holds 1 row fewer dated 2026-01-30")
    stopped = _by_name(quality.run_checks(_summary(30), _stopped_counts(1), history=None, known_features=["a", "b", "c"],
                                          **{**PARAMS, "stopped_after_days": 1}))["missing_days"]
    assert "(no event in the 1 day up to 2026-01-30," in stopped["message"]
