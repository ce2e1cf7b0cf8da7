"""Tiles, filters and tables of the dashboard (featurehealth.dashboard.views)."""

from __future__ import annotations

import html
from collections import Counter
from datetime import date

import numpy as np
import pandas as pd
import pytest

from featurehealth import config
from featurehealth.dashboard import plots, views
from featurehealth.dashboard.data import NOT_AVAILABLE


@pytest.fixture
def ranking() -> pd.DataFrame:
    return pd.DataFrame({
        "rank": [1, 2, 3], "feature_id": ["F1", "F2", "F3"], "date": ["2026-03-01"] * 3,
        "owner_team": ["core", "search", "core"], "lifecycle_stage": ["ga", "beta", "ga"],
        "tier": ["critical", "standard", "standard"], "risk_probability": [0.9, 0.5, 0.1],
        "risk_bucket": ["high", "medium", "low"], "active_users": [100, 50, 10], "impact": [90.0, 25.0, 1.0],
        "driver_1": ["p95_latency_z", "crash_rate_z", "usage_count_change7"], "driver_1_value": [3.0, 2.0, 0.1],
        "driver_1_contribution": [0.3, 0.2, 0.01], "driver_2": ["a", "b", "c"], "driver_2_value": [1.0, 1.0, 1.0],
        "driver_2_contribution": [0.1, 0.1, 0.0],
    })


def test_tiles_quote_the_artifacts(ranking: pd.DataFrame) -> None:
    runs = pd.DataFrame({"run_id": ["r2", "r1"], "status": ["failed", "succeeded"],
                         "started_at": ["t2", "t1"], "finished_at": ["t2e", "t1e"]})
    tiles = views.overview_tiles(
        ranking=ranking,
        metrics={"early_warning": {"incidents_detected": 3, "n_incidents": 4, "median_lead_days": 2.0,
                                   "chance_share_warned_1d": 0.084}},
        drift={"summary": {"n_alert": 2, "n_cells": 30}},
        quality={"summary": {"status": "warn", "warn": 1, "fail": 0}},
        runs=runs,
    )
    values = {t.label: (t.value, t.tone) for t in tiles}
    assert values == {
        "Features monitored": ("3", "neutral"), "Features at risk": ("2", "bad"),
        "Incidents predicted": ("3 of 4", "ok"), "Drift alerts": ("2", "bad"), "Data quality": ("warn", "warn"),
        "Last run": ("failed", "bad"),
    }
    assert "r2" in tiles[-1].detail and "2026-03-01" in tiles[0].detail
    assert "median 2 days; random flags would warn 8%" in tiles[2].detail


def test_a_feature_without_data_on_the_scored_day_still_counts_as_monitored_and_is_named(
        ranking: pd.DataFrame) -> None:
    # Payments had no event on the last day: the tile read "Features monitored 2", the count of the
    # ranking, and nothing on the Overview said that a feature had gone silent.
    def tile(monitored: list[str] | None) -> views.Tile:
        return views.overview_tiles(ranking=ranking.iloc[1:], metrics=None, drift=None, quality=None, runs=None,
                                    monitored=monitored)[0]

    silent = tile(["F1", "F2", "F3", "F4"])
    assert (silent.value, silent.tone) == ("4", "warn")
    assert silent.detail == "2 scored on 2026-03-01; no data that day: F1, F4"
    every = tile(["F2", "F3"])
    assert (every.value, every.tone, every.detail) == ("2", "neutral", "scored on 2026-03-01")
    assert tile(None).value == "2"  # without the fact table, the ranking's count
    # An empty ranking scored no day for a feature to be silent on (the "Features at risk" tile says so).
    empty = views.monitored_tile(ranking.iloc[:0], ["F1", "F2"])
    assert (empty.value, empty.tone) == ("2", "neutral")
    many = tile([f"G{i:02d}" for i in range(12)] + ["F2", "F3"])
    assert many.detail.endswith("no data that day: G00, G01, G02, G03, G04, G05, G06, G07, G08, G09 and 2 more")


def test_the_monitored_tile_says_since_when_a_silent_feature_has_no_data(ranking: pd.DataFrame) -> None:
    # A feature retired three weeks before read as one silent that day only, like an outage of an hour.
    last_days = {"F1": pd.Timestamp("2026-02-08").date(), "F2": pd.Timestamp("2026-03-01").date(),
                 "F3": pd.Timestamp("2026-03-01").date(), "F4": pd.Timestamp("2026-02-28").date()}
    tile = views.overview_tiles(ranking=ranking.iloc[1:], metrics=None, drift=None, quality=None, runs=None,
                                monitored=last_days)[0]
    assert (tile.value, tile.tone) == ("4", "warn")
    assert tile.detail == "2 scored on 2026-03-01; no data that day: F1 (none since 2026-02-08), F4 (none since 2026-02-28)"


def test_drift_tile_is_no_green_zero_when_cells_had_too_little_data() -> None:
    def tile(summary: dict) -> views.Tile:
        return next(t for t in views.overview_tiles(ranking=None, metrics=None, drift={"summary": summary},
                                                    quality=None, runs=None) if t.label == "Drift alerts")

    none_judged = tile({"n_alert": 0, "n_cells": 72, "n_insufficient": 72})
    assert (none_judged.value, none_judged.tone) == (views.NOT_AVAILABLE, "neutral")
    assert none_judged.detail == "too little data in all 72 feature x metric cells"
    some = tile({"n_alert": 0, "n_cells": 30, "n_insufficient": 10})
    assert (some.value, some.tone) == ("0", "ok")
    assert some.detail == "of 30 feature x metric cells (10 with too little data)"
    assert tile({"n_alert": 1, "n_cells": 30, "n_insufficient": 0}).detail == "of 30 feature x metric cells"


def test_incidents_tile_says_how_many_were_judged_and_why_others_were_not() -> None:
    early = {"incidents_detected": 12, "n_incidents": 58, "n_incidents_not_judged": 6,
             "not_judged": {"window_before_period": 6, "feature_not_scored_whole_window": 0}}
    tile = next(t for t in views.overview_tiles(ranking=None, metrics={"early_warning": early}, drift=None,
                                                quality=None, runs=None) if t.label == "Incidents predicted")
    # "12" alone beside "Features at risk ... in the next 7 days" read as 12 incidents forecast.
    assert tile.value == "12 of 58"
    assert tile.detail.startswith("warned ahead, of 58 judged in the test period "
                                  "(6 more not judged: warning window before it)")
    both = {**early, "n_incidents_not_judged": 7, "not_judged": {"window_before_period": 6,
                                                                 "feature_not_scored_whole_window": 1}}
    assert "(7 more not judged: 6 warning window before it, 1 feature not scored every day)" in (
        views.judged_incidents_text(both))
    assert views.judged_incidents_text({**early, "n_incidents_not_judged": 0}) == "58 judged in the test period"
    # A report without the count says no more than it knows.
    assert views.judged_incidents_text({"n_incidents": 58}) == "58 in the test period"


def test_at_risk_tile_counts_medium_so_a_flagged_feature_is_not_all_clear(ranking: pd.DataFrame) -> None:
    metrics = {"horizon_days": 7}
    medium_only = views.at_risk_tile(ranking.iloc[1:], metrics)
    assert (medium_only.value, medium_only.tone) == ("1", "warn")
    # The scored day, not "today": a run whose as-of date the input does not reach scores an older day.
    assert medium_only.detail == "0 high, 1 medium on 2026-03-01: chance of degrading in the next 7 days"
    undated = views.at_risk_tile(ranking.iloc[1:].drop(columns="date"), metrics)
    assert undated.detail.startswith("0 high, 1 medium on the latest scored day: ")
    calm = views.at_risk_tile(ranking.iloc[2:], None)
    assert (calm.value, calm.tone) == ("0", "ok") and "horizon (not available)" in calm.detail
    assert views.at_risk_tile(ranking.drop(columns="risk_bucket"), metrics).value == NOT_AVAILABLE


def test_risk_caption_quotes_horizon_cutoffs_and_threshold() -> None:
    caption = views.risk_caption({"horizon_days": 7, "operating_threshold": 0.2492}, (0.2492, 0.6246))
    assert "degrades in the next 7 days" in caption
    # the ranking shows a risk of 0.2495 as 0.25 and 0.2493 as 0.249: the cut-offs read the same way
    assert "low below 0.249, medium from 0.249, high from 0.625 (the model alerts from 0.249)" in caption
    assert "impact = risk × active users" in caption
    bare = views.risk_caption(None, ())
    assert "cut-offs not available" in bare and "horizon (not available)" in bare and "alerts from" not in bare


def test_absent_artifacts_read_not_available_never_zero() -> None:
    tiles = views.overview_tiles(ranking=None, metrics=None, drift={}, quality=None, runs=None)
    assert [t.value for t in tiles] == [NOT_AVAILABLE] * 6
    assert {t.tone for t in tiles} == {"neutral"}


def test_filter_choices_show_control_and_bidi_characters_as_escapes() -> None:
    # An owner team from a metadata export: shown raw, the override reversed the option ("Ops<i/>t<i> evil").
    ranking = pd.DataFrame({"owner_team": ["Ops\u202elive <i>t</i>", "core"], "risk_bucket": ["low", "high"]})
    choices = views.filter_choices(ranking, "owner_team")
    assert choices == [(views.ALL, views.ALL), ("Ops\\u202elive <i>t</i>", "Ops\u202elive <i>t</i>"), ("core", "core")]
    chosen = views.filter_ranking(ranking, filters={"owner_team": choices[1][1]})
    assert chosen["owner_team"].tolist() == ["Ops\u202elive <i>t</i>"]
    assert [v for _, v in views.filter_choices(ranking, "risk_bucket")] == views.filter_options(ranking, "risk_bucket")


def test_tile_rejects_unknown_tone() -> None:
    with pytest.raises(ValueError, match="ok, warn, bad, neutral"):
        views.Tile("x", "1", tone="green")


def test_filters_narrow_the_ranking_without_touching_it(ranking: pd.DataFrame) -> None:
    before = ranking.copy()
    assert views.filter_options(ranking, "owner_team") == [views.ALL, "core", "search"]
    assert views.filter_options(ranking, "missing") == [views.ALL]
    # every bucket is offered, low to high, even when no feature is in it today
    assert views.filter_options(ranking.iloc[2:], "risk_bucket") == [views.ALL, "low", "medium", "high"]
    assert views.filter_options(ranking.iloc[2:], "tier") == [views.ALL, "standard"]
    chosen = views.filter_ranking(ranking, filters={"owner_team": "core", "tier": views.ALL, "risk_bucket": "low"})
    assert chosen["feature_id"].tolist() == ["F3"]
    assert len(views.filter_ranking(ranking, filters={c: views.ALL for c in views.FILTER_COLUMNS})) == 3
    pd.testing.assert_frame_equal(ranking, before)



def test_no_match_note_names_the_excluding_filters() -> None:
    note = views.no_match_note({"owner_team": "core", "tier": views.ALL, "risk_bucket": "high"})
    assert "owner team = core" in note and "risk bucket = high" in note and "tier" not in note
    assert f"back to {views.ALL}" in note

def test_filter_on_other_column_is_refused(ranking: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="owner_team, lifecycle_stage, tier, risk_bucket"):
        views.filter_ranking(ranking, filters={"feature_id": "F1"})


def test_html_table_escapes_and_marks_missing_values() -> None:
    frame = pd.DataFrame({"name": ["<script>alert(1)</script>", None], "score": [np.nan, 0.123456]})
    assert "&lt;NA&gt;" not in views.html_table(frame)
    markup = views.html_table(frame, max_rows=1, caption="a & b")
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "\u202e" not in views.html_table(pd.DataFrame({"feature_id": ["F\u202e1"]}), caption="G\u202e")
    assert "\u202e" not in views.status_html("F\u202e1 is healthy")
    assert NOT_AVAILABLE in markup and "a &amp; b" in markup and "first 1 of 2 rows" in markup
    assert "0.123" in views.html_table(frame)
    assert ">1,043<" in views.html_table(pd.DataFrame({"impact": [1042.6]}))
    assert NOT_AVAILABLE not in views.html_table(frame, missing="")
    with pytest.raises(ValueError, match="max_rows"):
        views.html_table(frame, max_rows=0)


def test_html_table_captions_stay_outside_the_scrolling_box() -> None:
    """A wide table scrolls sideways; its caption, centred over the whole table, was cut at the page edge."""
    markup = views.html_table(pd.DataFrame({"x": range(3)}), max_rows=2, caption="what warned means")
    start, end = markup.index("overflow:auto"), markup.index("</table>")
    for text in ("what warned means", "first 2 of 3 rows"):
        assert not start < markup.index(text) < end, text
    assert markup.index("what warned means") < start < end < markup.index("first 2 of 3 rows")


def test_a_table_box_that_scrolls_can_be_reached_by_keyboard() -> None:
    """axe-core: the ranking's scrolling box had nothing focusable, so only a mouse could scroll it (in
    browsers that do not focus scrolling boxes themselves)."""
    markup = views.html_table(pd.DataFrame({"x": range(3)}))
    assert markup.startswith("<div class='fh-scroll' tabindex='0' style='overflow:auto;")


def test_the_ranking_fits_seven_columns_and_keeps_every_value(ranking: pd.DataFrame) -> None:
    """At 1280 px the ranking was about 2,500 px wide, team, stage, tier and each driver in a column of
    its own: why a feature is at risk was off to the right. They are now lines of the feature and
    why cells, which wrap, and the numbers come before the sentences."""
    view = views.ranking_view(ranking.assign(extra=1, feature_name=["Pay", None, "F3"]))
    drawn = [c for c in view.columns if c not in {views.id_column(c) for c in view.columns}]
    assert drawn == ["rank", views.FEATURE_HEADER, "risk probability", "risk bucket", "active users", "impact", "why"]
    feature, why = view[views.FEATURE_HEADER], view["why"]
    assert feature.tolist() == [("Pay", "core · ga · critical"), ("F2", "search · beta · standard"),
                                ("F3", "core · ga · standard")]
    assert view[views.id_column(views.FEATURE_HEADER)].tolist() == [("F1", ""), ("F2", ""), ("F3", "")]
    assert why.iloc[0] == ("p95 latency against usual (z-score)", "a")
    assert view[views.id_column("why")].iloc[0] == ("p95_latency_z", "a")
    markup = views.html_table(view, wrap=("why",))
    assert "<td>Pay <span class='fh-id'>F1</span><br>core · ga · critical</td>" in markup
    assert ("<td class='fh-wrap'>p95 latency against usual (z-score) <span class='fh-id'>p95_latency_z</span>"
            "<br>a</td>") in markup
    assert "<td>F2<br>search · beta · standard</td>" in markup


def test_feature_choices_and_series() -> None:
    fact = pd.DataFrame({"feature_id": ["B", "A", "A"], "date": ["2026-01-02", "2026-01-02", "2026-01-01"], "v": [1, 2, 3]})
    dim = pd.DataFrame({"feature_id": ["A"], "feature_name": ["Login"]})
    assert views.feature_choices(dim, fact) == [("Login (A)", "A"), ("B", "B")]
    # The label shows an odd name visibly; the value stays the id the tables are matched on.
    odd = pd.DataFrame({"feature_id": ["A"], "feature_name": ["Log\u202ein\nX"]})
    assert views.feature_choices(odd, fact)[0] == ("Log\\u202ein\\nX (A)", "A")
    series = views.feature_series(fact, "A")
    assert series["v"].tolist() == [3, 2] and str(series["date"].dtype).startswith("datetime64")
    with pytest.raises(ValueError, match="'C' is not in the fact table"):
        views.feature_series(fact, "C")


def test_feature_series_has_every_day_up_to_the_fact_table_s_last() -> None:
    # A feature paused on Jan 02 and gone after Jan 03 while B goes on: a line drawn over its rows
    # alone joined Jan 01 to Jan 03 as if measured between, and ended as if Jan 03 were the last day.
    fact = pd.DataFrame({"feature_id": ["A", "A", "B", "B"], "usage_count": [5, 7, 1, 1],
                         "date": ["2026-01-01", "2026-01-03", "2026-01-01", "2026-01-05"]})
    series = views.feature_series(fact, "A")
    assert series["date"].tolist() == list(pd.date_range("2026-01-01", "2026-01-05"))
    assert series["has_data"].tolist() == [True, False, True, False, False]
    assert series["usage_count"].isna().tolist() == [False, True, False, True, True]
    assert (series["feature_id"] == "A").all()
    # A feature that starts late (renamed, new) starts on its own first day.
    assert views.feature_series(fact, "B")["date"].min() == pd.Timestamp("2026-01-01")


def test_feature_status_says_since_when_a_feature_has_no_data() -> None:
    # A retired feature's last scores read as "the last 7 days" of the data, three weeks stale.
    series = pd.DataFrame({"date": pd.date_range("2026-06-01", periods=10), "has_data": [True] * 4 + [False] * 6,
                           "risk_probability": [0.1, 0.2, 0.3, 0.4] + [None] * 6,
                           "is_degraded": [True, False, False, False] + [None] * 6})
    assert views.feature_status(series, meta=None, cutoff=None) == (
        "No data since 2026-06-04 (its last day with events, 6 days before the last day, 2026-06-10): not scored "
        "since. Risk score of the last 4 days: Jun 01 0.1, Jun 02 0.2, Jun 03 0.3, Jun 04 0.4. "
        "Last degraded day: 2026-06-01 (9 days before the last day).")
    # A paused feature that is back has data on the last day: nothing to say of its gap.
    back = series.assign(has_data=[True] * 4 + [False] * 5 + [True])
    assert not views.feature_status(back, meta=None, cutoff=None).startswith("No data")
    assert views.drilldown_alt(series, incidents=None, label="Pay (C)").startswith(
        "Pay (C), 2026-06-01 .. 2026-06-10 (no data since 2026-06-04): p95 latency")
    # A fact table without the degraded flag (written before it existed) says so rather than "no degraded day".
    unflagged = views.drilldown_alt(series.drop(columns="is_degraded"), incidents=None, label="Pay (C)")
    assert ", degraded days not available, and the risk score" in unflagged


def test_feature_status_says_one_day_not_1_days() -> None:
    # A feature silent on the last day only, scored once and degraded the day before: "1 days" read as a slip.
    series = pd.DataFrame({"date": pd.date_range("2026-06-01", periods=3), "has_data": [False, True, False],
                           "risk_probability": [None, 0.2, None], "is_degraded": [None, True, None]})
    assert views.feature_status(series, meta=None, cutoff=None) == (
        "No data since 2026-06-02 (its last day with events, 1 day before the last day, 2026-06-03): not scored "
        "since. Risk score of the last day: Jun 02 0.2. Last degraded day: 2026-06-02 (1 day before the last day).")


def test_feature_choices_name_today_s_risk_bucket() -> None:
    """"F042 is at risk" in the cron mail: its option says how much, as the ranking does."""
    fact = pd.DataFrame({"feature_id": ["C", "B", "A"]})
    dim = pd.DataFrame({"feature_id": ["A", "B"], "feature_name": ["Login", "Search"]})
    ranking = pd.DataFrame({"feature_id": ["A", "B"], "risk_bucket": ["high", None]})
    assert views.feature_choices(dim, fact, ranking=ranking) == [
        ("Login (A), high risk", "A"), ("Search (B)", "B"), ("C", "C")]  # no score today: no bucket
    assert views.feature_choices(dim, fact, ranking=ranking.drop(columns="risk_bucket"))[0] == ("Login (A)", "A")
    # A name that is the id itself is said once; an empty bucket (a CSV's blank cell) names none.
    same = pd.DataFrame({"feature_id": ["A", "B"], "feature_name": ["A", "Search"]})
    blank = pd.DataFrame({"feature_id": ["A", "B"], "risk_bucket": ["high", ""]})
    assert views.feature_choices(same, fact, ranking=blank) == [("A, high risk", "A"), ("Search (B)", "B"), ("C", "C")]


def test_feature_choices_say_since_when_a_feature_has_no_data() -> None:
    # A retired feature was listed as any other, its plot ending weeks before the others'.
    fact = pd.DataFrame({"feature_id": ["A", "A", "B"], "date": ["2026-01-01", "2026-01-05", "2026-01-02"]})
    dim = pd.DataFrame({"feature_id": ["A", "B"], "feature_name": ["Login", "Wishlist"]})
    ranking = pd.DataFrame({"feature_id": ["A"], "risk_bucket": ["low"]})
    assert views.feature_choices(dim, fact, ranking=ranking) == [
        ("Login (A), low risk", "A"), ("Wishlist (B), no data since 2026-01-02", "B")]


CHOICES = [("Login (F001), low risk", "F001"), ("Payments (F042), high risk", "F042"),
           ("Pay later (F420)", "F420"), ("Checkout (F0420)", "F0420")]


def test_find_features_by_id_or_part_of_the_label() -> None:
    def found(text: str) -> list[str]:
        return [value for _, value in views.find_features(CHOICES, text)]

    assert found(" f042 ") == ["F042", "F0420"]  # the exact id first, whatever the case
    assert found("F0420") == ["F0420"]
    assert found("pay") == ["F042", "F420"]
    assert found("Checkout (F0420)") == ["F0420"]  # a suggestion picked whole
    assert found("high") == ["F042"]  # the bucket is part of the label
    assert found("zzz") == []
    assert views.find_features(CHOICES, "  ") == CHOICES


def test_feature_search_note_counts_the_matches_or_says_what_to_type() -> None:
    assert views.feature_search_note("", matches=4, total=4) == ""
    assert views.feature_search_note(" F042 ", matches=1, total=1500) == (
        "1 of 1,500 features matches 'F042'; clear the search to list all.")
    assert views.feature_search_note("pay", matches=2, total=4) == (
        "2 of 4 features match 'pay'; clear the search to list all.")
    assert views.feature_search_note("zzz", matches=0, total=4) == (
        "No feature id or name contains 'zzz'; the list still holds all 4 features.")


TAB_SLUGS = ("overview", "ranking", "drilldown", "drift")
FEATURE_IDS = ("F001", "F042", "f042x")


def test_link_target_opens_the_tab_and_feature_a_link_names() -> None:
    def target(query: str) -> tuple:
        return views.link_target(query, tabs=TAB_SLUGS, features=FEATURE_IDS)

    assert target("") == (None, None, "")
    assert target("tab=drift") == ("drift", None, "")
    assert target("?Tab=DRIFT") == ("drift", None, "")  # Voila passes it without "?"; a hand-typed one may have it
    assert target("feature=f042") == ("drilldown", "F042", "")  # case-insensitive, spelled as the fact table does
    assert target("feature=F042X") == ("drilldown", "f042x", "")  # an exact id, never a part of one
    assert target("tab=ranking&feature=F001") == ("ranking", "F001", "")
    assert target("tab=&feature=") == (None, None, "")
    assert target("template=lab&theme=dark") == (None, None, "")  # Voila's own keys
    assert target("tab=drift&tab=drift") == ("drift", None, "")


def test_link_target_says_what_of_a_link_it_cannot_follow() -> None:
    def target(query: str) -> tuple:
        return views.link_target(query, tabs=TAB_SLUGS, features=FEATURE_IDS)

    assert target("tab=drfit") == (None, None, "The link's tab 'drfit' is not a tab of the dashboard: "
                                                "use one of overview, ranking, drilldown, drift.")
    assert target("feature=F999") == ("drilldown", None, (
        "The link's feature 'F999' is not in this profile's fact table: the drill-down shows its first feature; "
        "type an id or part of a name in its Find feature box to look for it."))
    assert target("feature=F04") == ("drilldown", None, target("feature=F999")[2].replace("F999", "F04"))
    assert target("tab=ranking&tab=drift") == ("ranking", None, "The link gives tab more than once: the first, "
                                                                "'ranking', is followed.")
    assert target("feture=F042") == (None, None, "The link's 'feture' is not read: a link gives tab= and "
                                                 "feature= only.")
    tab, feature, note = target("%%%&&=x&tab")
    assert (tab, feature) == (None, None) and note.startswith("The link's '%%%', '' are not read")


def test_link_target_values_reach_the_page_escaped() -> None:
    tab, feature, note = views.link_target("feature=%3Cscript%3Ealert(1)%3C/script%3E&tab=" + "x" * 500,
                                           tabs=TAB_SLUGS, features=FEATURE_IDS)
    assert (tab, feature) == ("drilldown", None) and "<script>" in note
    shown = views.status_html(note, tone="warn")
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "x" * 41 not in note and "x" * 40 + "…" in note  # a long value is cut


def test_feature_link_html_links_back_to_the_same_feature() -> None:
    assert views.feature_link_html("F042", profile="ci", home="ci") == (
        f"<div class='fh-note {views.NO_MATH_CLASS}' style='color:#455a64'>Link to this view: "
        "<a href='?feature=F042'>?feature=F042</a></div>")
    odd = "A&B <i>'"
    shown = views.feature_link_html(odd, profile="ci", home="ci")
    assert "<i>" not in shown and odd not in shown
    query = shown.split("href='")[1].split("'")[0]
    assert views.link_target(query, tabs=TAB_SLUGS, features=(odd,)) == ("drilldown", odd, "")
    assert views.feature_link_html("F042", profile="ci", home="default").endswith(
        "</a> (the link opens profile default: choose ci in Profile there)</div>")


def test_most_pressing_cells_rank_features_by_alerts_then_warnings() -> None:
    statuses = {"A": ["ok", "ok"], "B": ["warn", "ok"], "C": ["ok", "alert"], "D": ["warn", "warn"],
                "E": ["insufficient_data", "ok"]}
    cells = pd.DataFrame([{"feature_id": f, "metric": m, "status": s}
                          for f, pair in statuses.items() for m, s in zip(("m1", "m2"), pair, strict=True)])
    top = views.most_pressing_cells(cells, top=3)
    assert list(dict.fromkeys(top["feature_id"])) == ["C", "D", "B"]
    assert top.loc[top["feature_id"] == "C", "metric"].tolist() == ["m1", "m2"]  # each feature whole, metrics in order
    assert list(dict.fromkeys(views.most_pressing_cells(cells, top=9)["feature_id"])) == ["C", "D", "B", "E", "A"]
    assert len(cells) == 10  # input untouched
    with pytest.raises(ValueError, match="top must be >= 1"):
        views.most_pressing_cells(cells, top=0)


def test_heatmap_caption_says_the_order_and_how_many_are_left_out() -> None:
    assert views.heatmap_caption(shown=25, total=25, flagged_only=False) == (
        "Features by drift severity (most alert cells, then warn, then too little data; ties by id).")
    caption = views.heatmap_caption(shown=25, total=1500, flagged_only=False)
    assert caption.startswith("Top 25 of 1,500 features by drift severity (most alert cells, then warn, ")
    assert caption.endswith("; every feature is in the Feature list below.")
    assert views.heatmap_caption(shown=25, total=160, flagged_only=True).startswith(
        "Top 25 of 160 features with a warn or alert by drift severity")


def test_bucket_cutoffs_resolve_auto_or_say_nothing() -> None:
    assert views.bucket_cutoffs("auto", {"operating_threshold": 0.2}) == (0.2, 0.6)
    assert views.bucket_cutoffs([0.3, 0.6], None) == (0.3, 0.6)
    assert views.bucket_cutoffs("auto", None) == ()  # no metrics: no lines rather than guessed ones


def test_threshold_lines_follow_the_degradation_rules() -> None:
    degradation = config.load_profile("ci")["degradation"]
    days = pd.date_range("2026-01-01", periods=12)
    series = pd.DataFrame({
        "feature_id": "A", "date": days, "usage_count": [100] * 11 + [10],
        "p95_latency": [1000.0] * 12, "crash_rate": [0.0] * 12, "avg_feedback": [4.0] * 12, "feedback_count": [20] * 12,
    })
    lines = views.threshold_lines(series, degradation=degradation)
    assert lines["p95_latency"]["absolute"] == degradation["p95_latency_abs_ms"]
    relative = lines["p95_latency"]["relative"]
    assert relative.iloc[: degradation["min_baseline_days"]].isna().all()  # too little history
    assert relative.iloc[-1] == pytest.approx(1000.0 * degradation["p95_latency_rel"])
    assert (lines["crash_rate"]["relative"].dropna() == degradation["crash_rate_rel_floor"]).all()
    assert lines["usage_count"] == {"absolute": degradation["min_usage"], "relative": None}


def test_drivers_of_a_feature(ranking: pd.DataFrame) -> None:
    table = views.drivers(ranking, "F2")
    assert table.to_dict("records") == [
        {"signal": "crash_rate_z", "value": 2.0, "contribution": 0.2, "pattern": None},
        {"signal": "b", "value": 1.0, "contribution": 0.1, "pattern": None},
    ]
    assert views.drivers(ranking, "nope").empty
    # A slot no signal filled (it did not raise the score) is no driver, and blank in the ranking.
    fewer = ranking.assign(driver_2=["a", "b", None], driver_2_value=[1.0, 1.0, np.nan])
    assert views.drivers(fewer, "F3")["signal"].tolist() == ["usage_count_change7"]
    assert views.ranking_view(fewer)["why"].tolist() == [("p95 latency against usual (z-score)", "a"),
                                                         ("crash rate against usual (z-score)", "b"),
                                                         ("events, change over 7 days",)]
    assert views.drivers(fewer.assign(driver_1=[None] * 3), "F3").empty


def test_metrics_table_puts_baselines_beside_the_model() -> None:
    table = views.metrics_table({"model": {"pr_auc": 0.5, "recall": 0.4},
                                 "baselines": {"persistence": {"pr_auc": 0.2}, "rule": "broken"}})
    assert table["scorer"].tolist() == ["model", "persistence"]
    assert table.loc[0, "pr_auc"] == 0.5 and np.isnan(table.loc[1, "recall"])


def test_lead_times_only_when_reported() -> None:
    assert views.lead_times({"early_warning": {"lead_times_days": [1, 2.5, "x"]}}) == [1.0, 2.5]
    assert views.lead_times({"model": {}}) is None


def test_drift_cells_and_details() -> None:
    report = {"cells": [{"feature_id": "A", "metric": "crash_rate", "status": "alert", "psi": 0.4}]}
    cells = views.drift_cells(report)
    details = views.cell_details(cells, feature_id="A", metric="crash_rate")
    assert dict(zip(details["field"], details["value"], strict=True))["PSI (population stability index)"] == 0.4
    assert views.cell_details(cells, feature_id="A", metric="usage_count").empty
    assert views.drift_cells({"cells": []}) is None
    assert views.drift_cells({"cells": [{"feature_id": "A"}]}) is None


def test_cell_details_never_show_a_pvalue_of_zero() -> None:
    cells = pd.DataFrame({"feature_id": ["A", "B"], "metric": ["m", "m"], "status": ["alert", "ok"],
                          "ks_pvalue": [0.0, 3e-09], "psi": [0.0, 0.1]})
    for feature in ("A", "B"):
        markup = views.html_table(views.cell_details(cells, feature_id=feature, metric="m"))
        assert "<td>KS p-value</td><td>&lt; 0.000001</td>" in markup
    markup = views.html_table(views.cell_details(cells, feature_id="A", metric="m"))
    assert "<td>PSI (population stability index)</td><td>0</td>" in markup
    assert [views.pvalue_text(v) for v in (0.0, 1e-12, 0.00004, 0.5)] == ["< 0.000001", "< 0.000001", "0.00004", "0.5"]


def test_flagged_cells_and_the_first_one_to_show() -> None:
    cells = pd.DataFrame({"feature_id": ["A", "A", "B", "C"], "metric": ["m1", "m2", "m1", "m1"],
                          "status": ["ok", "warn", "ok", "alert"]})
    assert views.flagged_cells(cells)["feature_id"].tolist() == ["A", "A", "C"]
    assert views.first_flagged_cell(cells) == ("C", "m1")
    assert views.first_flagged_cell(cells.iloc[:3]) == ("A", "m2")
    assert views.first_flagged_cell(cells.iloc[[0, 2]]) == ("A", "m1")


def test_drift_summary_line() -> None:
    report = {"summary": {"n_ok": 5, "n_warn": 1, "n_alert": 2, "drifted_share": 0.25}}
    assert views.drift_summary(report) == ("Feature x metric cells: 5 ok, 1 warn, 2 alert; drifted share 25.0%: the "
                                           "cells in alert among the 8 with enough data (warn cells are not counted)")
    assert views.drift_summary({}) == (f"Feature x metric cells: {NOT_AVAILABLE}; drifted share {NOT_AVAILABLE}: the "
                                       "cells in alert among those with enough data (warn cells are not counted)")


def test_quality_checks_and_quarantine_counts() -> None:
    checks = views.quality_checks({"checks": [
        {"name": "freshness", "status": "warn", "observed": 1, "threshold": {"warn": 1, "fail": 3}, "rule": "r"},
        {"name": "unknown_features", "status": "pass", "observed": 0, "threshold": {"warn": 1, "fail": 1000000}, "rule": "u"},
        "junk",
    ]})
    # "observed 0.000098" or "0.408" said nothing of what was counted: each check says what it measures.
    assert checks.to_dict("records") == [
        {"check": "data freshness", "check (id)": "freshness",
         "measures": "days from the latest input day to the as-of date", "status": "warn",
         "observed": 1, "warn": "1", "fail": "3", "rule": "r"},
        {"check": "features without metadata", "check (id)": "unknown_features",
         "measures": "features with events but no row in the feature metadata",
         "status": "pass", "observed": 0, "warn": "1", "fail": "none", "rule": "u"},
    ]
    from featurehealth import quality

    assert set(views.QUALITY_MEASURES) == set(quality.CHECKS)
    assert views.quality_checks({"checks": [{"name": "new_check"}]})["measures"].tolist() == [""]
    counts = views.quarantine_counts({"by_reason": {"a": 1, "b": 5, "c": "x"}})
    assert counts.to_dict() == {"b": 5, "a": 1}
    assert views.quarantine_counts({"by_reason": None}).empty


def test_quarantine_examples_per_reason() -> None:
    rows = pd.DataFrame({"reason": ["b", "a", "b", "b"], "line": [1, 2, 3, 4], "raw_line": None, "private": 0})
    examples = views.quarantine_examples(rows, per_reason=2)
    assert examples.to_dict("list") == {"reason": ["a", "b", "b"], "line": [2, 1, 3]}
    with pytest.raises(ValueError, match="per_reason"):
        views.quarantine_examples(rows, per_reason=0)


def _accumulated_quarantine() -> pd.DataFrame:
    """An old day's rows, the window day's rows and undated rows of both days' files."""
    return pd.DataFrame({
        "source_file": ["d1.csv", "d1.csv", "d2.csv", "d2.csv"],
        "reason": ["negative_latency", "missing_event_time", "negative_latency", "missing_event_time"],
        "event_date": [date(2026, 1, 1), None, date(2026, 4, 30), None],
        "line": [1, 2, 3, 4],
    })


def test_quarantine_examples_are_the_runs_window() -> None:
    rows = _accumulated_quarantine()
    window = views.window_quarantine(rows, start="2026-04-30", end="2026-04-30")
    # The old day's rows stay out; the undated row of the window day's file is the run's.
    assert window["line"].tolist() == [3, 4]
    assert views.window_quarantine(rows, start=None, end="2026-04-30") is None
    assert views.window_quarantine(rows.drop(columns="event_date"), start="2026-04-30", end="2026-04-30") is None
    # A window whose only quarantined rows are undated (a malformed line in a clean daily file):
    # the summary's window_files say which files the run judged, so they are its examples.
    only_undated = rows.assign(event_date=[date(2026, 1, 1), None, None, None])
    assert views.window_quarantine(only_undated, start="2026-04-30", end="2026-04-30", files=["d2.csv"])[
        "line"].tolist() == [3, 4]
    assert views.window_quarantine(rows, start="2026-04-30", end="2026-04-30", files=[])["line"].tolist() == [3]
    caption = views.quarantine_examples_caption(("2026-04-30", "2026-04-30"), whole=False)
    assert caption.startswith("Examples per reason of the run's window 2026-04-30 .. 2026-04-30")
    assert "whole accumulated quarantine" in views.quarantine_examples_caption((None, None), whole=True)


def test_quarantine_examples_caption_names_the_rule_the_summary_s_era_used() -> None:
    # window_files (newer summaries) lists the files the run judged, holding a quarantined row of
    # the window or not; a summary written before it has the examples of the files holding one.
    window = ("2026-04-30", "2026-04-30")
    judged = views.quarantine_examples_caption(window, whole=False, judged_files=True)
    assert "undated rows of the files the run judged" in judged and "holding one of them" not in judged
    assert "holding one of them" in views.quarantine_examples_caption(window, whole=False)


def test_status_html_escapes_and_checks_tone() -> None:
    assert "&lt;b&gt;" in views.status_html("<b>", tone="bad")
    with pytest.raises(ValueError, match="tone"):
        views.status_html("x", tone="red")
    assert views.tiles_html([views.Tile("<x>", "1")]).count("fh-tile'") == 1


def test_incidents_note_says_when_the_run_had_no_ground_truth() -> None:
    missing = "tables/incidents.parquet is not available: run ./run_all.sh real to produce it."
    no_truth = "Known incidents: no ground-truth incidents for this data."
    assert views.incidents_note(missing, ingest={"incidents_file": None}, metrics=None) == no_truth
    metrics = {"early_warning": {"available": False, "reason": "no ground-truth incidents for this data"}}
    assert views.incidents_note(missing, ingest=None, metrics=metrics) == no_truth
    # The run had an incidents file: the table is missing for another reason, which re-running fixes.
    assert views.incidents_note(missing, ingest={"incidents_file": "incidents.csv"}, metrics=None) == (
        "Known incidents: " + missing)
    assert views.incidents_note(missing, ingest={}, metrics={"early_warning": {"available": True}}) == (
        "Known incidents: " + missing)
    assert views.incidents_note("", ingest={"incidents_file": None}, metrics=None) == ""


def test_drift_rule_caption_quotes_the_reports_thresholds() -> None:
    report = {
        "thresholds": {"psi_warn": 0.1, "psi_alert": 0.25, "mean_change_warn": 0.2, "mean_change_alert": 0.5,
                       "wasserstein_warn": 0.5, "wasserstein_alert": 1.0, "ks_pvalue_warn": 0.05, "ks_pvalue_alert": 0.01},
        "summary": {"windows": {"current": {"days": 14}, "short": {"days": 7}, "persist_days": 3}},
    }
    caption = views.drift_rule_caption(report)
    assert "warn when PSI ≥ 0.1, |mean change| ≥ 0.2 or Wasserstein ≥ 0.5 with KS p-value < 0.05" in caption
    assert "with KS p-value < 0.01, held on 3 daily evaluations and in the last 7 days" in caption
    assert "On 14 daily values PSI is noisy" in caption
    bare = views.drift_rule_caption({})
    assert f"PSI ≥ {NOT_AVAILABLE}" in bare and "held on" not in bare and "0.1" not in bare


def test_captions_and_cells_group_thousands() -> None:
    assert views.quarantine_caption(2281, 450436) == "2,281 of 450,436 rows quarantined"
    assert views.quarantine_caption(0, None) == f"0 of {NOT_AVAILABLE} rows quarantined"
    assert views.quarantine_caption(23, 3808, window=("2026-04-30", "2026-04-30")) == (
        "23 of 3,808 rows of the run's window 2026-04-30 .. 2026-04-30 quarantined")
    assert views.runs_caption(1) == "Last run" and views.runs_caption(3) == "Last 3 runs, newest first"
    table = views.html_table(pd.DataFrame({"n": [450436, 7], "flag": [True, False]}))
    assert ">450,436<" in table and ">7<" in table and ">True<" in table


def test_model_versions_newest_first_with_decisions_or_not_available() -> None:
    registry = {"current": "a", "versions": [
        {"version": "a", "training_window": {"start": "2026-01-01", "end": "2026-01-31"}, "pr_auc": 0.51,
         "promoted": True, "promotion_reason": "promoted: no model is in use"},
        {"version": "b", "training_window": {"start": "2026-01-01", "end": "2026-02-28"}, "pr_auc": 0.49}]}
    table = views.model_versions(registry)
    assert list(table.columns) == list(views.VERSION_COLUMNS)
    assert table["version"].tolist() == ["b", "a"] and table["in use"].tolist() == ["", "yes"]
    assert table["promotion when trained"].tolist() == ["not available", "promoted: no model is in use"]
    assert table.loc[1, "training days"] == "2026-01-01 .. 2026-01-31"
    assert views.model_versions_caption(registry) == "Model in use: a; 2 versions kept under models/, newest first"


def test_model_versions_say_a_training_start_its_card_does_not_record_is_not_available() -> None:
    # The registry goes by a card's training end alone: one without its start read "None .. 2026-01-31".
    registry = {"current": "a", "versions": [{"version": "a", "training_window": {"end": "2026-01-31"}}]}
    assert views.model_versions(registry)["training days"].tolist() == ["not available .. 2026-01-31"]


def test_model_versions_show_the_promotion_when_trained_and_apart_a_rollback_by_hand() -> None:
    # After model.use_version the last column showed "put in use by hand ..." as the promotion "when trained".
    registry = {"current": "a", "versions": [
        {"version": "a", "training_window": {"start": "2026-01-01", "end": "2026-01-31"}, "pr_auc": 0.51,
         "promoted": True, "promotion_reason": "promoted: no model is in use",
         "put_in_use_by_hand": {"at": "2026-03-02T08:15:00+00:00", "previous_version": "b", "run_id": "r1"}},
        {"version": "b", "training_window": {"start": "2026-01-01", "end": "2026-02-28"}, "pr_auc": 0.49,
         "promoted": True, "promotion_reason": "promoted: PR-AUC 0.4900 >= 0.4800", "put_in_use_by_hand": None}]}
    table = views.model_versions(registry)
    assert table["promotion when trained"].tolist() == ["promoted: PR-AUC 0.4900 >= 0.4800", "promoted: no model is in use"]
    # A column left blank for every version read as data missing, not as "never".
    assert table["put in use by hand"].tolist() == ["never", "at 2026-03-02 08:15 UTC, replacing b"]
    first = {**registry["versions"][0], "put_in_use_by_hand": {"at": "2026-03-02T08:15:00+00:00", "previous_version": None}}
    assert views.model_versions({"versions": [first]})["put in use by hand"].tolist() == [
        "at 2026-03-02 08:15 UTC, replacing no model"]


def test_model_versions_of_a_registry_written_before_rollbacks_were_listed_say_not_available() -> None:
    # A registry.json of a featurehealth whose model.use_version left its record in the promotion reason
    # read "never" in this column beside "put in use by hand with model.use_version ..." in the other.
    registry = {"current": "a", "versions": [
        {"version": "a", "training_window": {"start": "2026-01-01", "end": "2026-01-31"}, "pr_auc": 0.51,
         "promoted": True, "promotion_reason": "put in use by hand with model.use_version, replacing b."}]}
    assert views.model_versions(registry)["put in use by hand"].tolist() == ["not available"]


def test_model_versions_of_a_registry_without_versions_is_empty() -> None:
    assert views.model_versions({"current": None, "versions": "broken"}).empty
    assert views.model_versions_caption({}) == "Model in use: not available; 0 versions kept under models/, newest first"


VERDICT_METRICS = {
    "horizon_days": 7, "split": {"test_start": "2026-05-02", "test_end": "2026-06-22"},
    "model": {"pr_auc": 0.55, "n_rows": 6240, "base_rate": 0.126},
    "baselines": {"persistence": {"pr_auc": 0.429}, "rule": {"pr_auc": 0.509, "description": "z >= 3"}},
    "comparison": {"pr_auc_minus_persistence_interval": [0.08, 0.16], "pr_auc_minus_rule_interval": [-0.01, 0.09],
                   "no_interval_reason": None},
}


def test_model_verdict_calls_a_gain_over_a_baseline_only_when_its_interval_is_above_zero() -> None:
    assert views.model_verdict(VERDICT_METRICS) == (
        "Test days 2026-05-02 .. 2026-06-22 (6,240 feature-days, 12.6% followed by a degradation). "
        "PR-AUC: model 0.550, persistence 0.429, z-score rule 0.509: ahead of persistence (+0.121, 95% interval "
        "+0.080 .. +0.160); not distinguishable from z-score rule (+0.041, 95% interval -0.010 .. +0.090). "
        "Each difference is the model's PR-AUC minus the baseline's, its interval over resampled runs of 7 test days.")
    behind = {**VERDICT_METRICS, "model": {"pr_auc": 0.46},
              "comparison": {"pr_auc_minus_persistence_interval": [-0.01, 0.07],
                             "pr_auc_minus_rule_interval": [-0.09, -0.02], "no_interval_reason": None}}
    assert ("z-score rule 0.509: not distinguishable from persistence (+0.031, 95% interval -0.010 .. +0.070); "
            "behind z-score rule (-0.049, 95% interval -0.090 .. -0.020).") in views.model_verdict(behind)
    assert views.model_verdict({}) == "Test days not available. PR-AUC: model not available, baselines not available."
    notes = views.metrics_notes(VERDICT_METRICS)
    assert "Brier score: error of the probabilities" in notes and notes.endswith("Baselines: z-score rule = z >= 3.")


def test_a_noise_sized_gain_over_the_baselines_is_not_called_a_win() -> None:
    """A healthy run's chance-degraded test days read "better than every naive baseline (+0.001 over
    persistence)" on PR-AUCs of 0.008 against 0.006: a difference well inside the noise."""
    healthy = {**VERDICT_METRICS, "model": {"pr_auc": 0.008},
               "baselines": {"persistence": {"pr_auc": 0.0065}, "rule": {"pr_auc": 0.005}},
               "comparison": {"pr_auc_minus_persistence_interval": [-0.004, 0.006],
                              "pr_auc_minus_rule_interval": [-0.002, 0.009], "no_interval_reason": None}}
    verdict = views.model_verdict(healthy)
    assert "better" not in verdict and "ahead" not in verdict
    assert ("not distinguishable from persistence (+0.002, 95% interval -0.004 .. +0.006); not distinguishable "
            "from z-score rule (+0.003, 95% interval -0.002 .. +0.009).") in verdict


def test_without_an_interval_the_verdict_says_why_instead_of_judging() -> None:
    few = {**VERDICT_METRICS, "comparison": {
        "pr_auc_minus_persistence_interval": None, "pr_auc_minus_rule_interval": None,
        "no_interval_reason": "only 12 of the 240 labelled test feature-days are positive, fewer than "
                              "model.promote_min_positives (30) for an interval beyond noise"}}
    assert views.model_verdict(few).endswith(
        "z-score rule 0.509; no verdict beside the baselines: only 12 of the 240 labelled test feature-days are "
        "positive, fewer than model.promote_min_positives (30) for an interval beyond noise.")
    # A model trained before the intervals were recorded: its point values alone may be noise.
    older = {key: value for key, value in VERDICT_METRICS.items() if key != "comparison"}
    assert views.model_verdict(older).endswith(
        "z-score rule 0.509; no verdict beside the baselines: this model's reports hold no interval of the "
        "differences (it was trained before they were recorded); retrain it to have them.")


def test_degradation_note_says_the_metrics_were_measured_under_other_rules() -> None:
    one = {"model_version": "v1", "degradation_changed": {"p95_latency_rel": {"trained_with": 1.6, "current": 1.3}}}
    assert views.degradation_note(one) == (
        "These metrics were measured under degradation.p95_latency_rel=1.6, the rule model v1 was trained with; "
        "today's rule is degradation.p95_latency_rel=1.3: retrain to measure them under today's rule.")
    two = {"degradation_changed": {"min_crashes": {"trained_with": 3, "current": 5},
                                   "min_usage": {"trained_with": None, "current": 50}}}
    assert views.degradation_note(two) == (
        "These metrics were measured under degradation.min_crashes=3, degradation.min_usage not set, the rules "
        "the model was trained with; today's rules are degradation.min_crashes=5, "
        "degradation.min_usage=50: retrain to measure them under today's rules.")
    # Same rules, a card that did not record them, or an older metrics.json: nothing to say.
    for metrics in ({"degradation_changed": {}}, {"degradation_changed": None}, {}):
        assert views.degradation_note(metrics) == ""


def test_quality_findings_quote_the_checks_own_words_failures_first() -> None:
    report = {"as_of": "2026-06-29", "summary": {"status": "fail", "warn": 1, "fail": 1}, "checks": [
        {"name": "missing_days", "status": "pass", "message": "Every day has events."},
        {"name": "volume_drop", "status": "warn", "message": "7 feature-days had fewer than 50% of their usual events."},
        {"name": "late_rows", "status": "not_judged", "message": "Not judged: no day before the window."},
        {"name": "freshness", "status": "fail", "observed": 3}, "junk"]}
    assert views.quality_findings(report) == [
        ("bad", "data freshness (fail): observed 3"),
        ("warn", "drop in events (warn): 7 feature-days had fewer than 50% of their usual events."),
        ("neutral", "rows that arrived late: Not judged: no day before the window.")]
    assert views.quality_findings({"checks": [{"name": "x", "status": "pass"}]}) == []
    assert views.quality_caption(report) == "Data-quality checks of the data up to 2026-06-29: fail"
    assert views.quality_caption({}) == "Data-quality checks: not available"
    # a daily run judges its one day, not all the data up to as-of
    daily = {**report, "window": {"start": "2026-06-29", "end": "2026-06-29"}}
    assert views.quality_caption(daily) == "Data-quality checks of the run's window 2026-06-29 .. 2026-06-29: fail"
    tile = views.overview_tiles(ranking=None, metrics=None, drift=None, quality=report, runs=None)[4]
    assert tile.detail == "1 warn (drop in events), 1 fail (data freshness)"


def test_quality_tile_names_the_checks_not_judged() -> None:
    # A first run: late_rows has no published day to compare with; "pass" alone read as all passed.
    report = {"summary": {"status": "pass", "not_judged": 1, "pass": 8, "warn": 0, "fail": 0}, "checks": [
        {"name": "missing_days", "status": "pass"}, {"name": "late_rows", "status": "not_judged"}]}
    tile = views.overview_tiles(ranking=None, metrics=None, drift=None, quality=report, runs=None)[4]
    assert (tile.value, tile.tone) == ("pass", "ok")
    assert tile.detail == "0 warn, 0 fail, 1 not judged (rows that arrived late)"


def test_drift_alerts_text_names_the_features_and_windows() -> None:
    cells = pd.DataFrame({"feature_id": ["F2", "F1", "F2", "F3"], "metric": ["p50", "usage", "p95", "usage"],
                          "status": ["alert", "alert", "alert", "warn"]})
    windows = {"current": {"start": "2026-06-16", "end": "2026-06-29"},
               "reference": {"start": "2026-01-03", "end": "2026-04-24"}}
    assert views.drift_alerts_text(cells, labels={"F1": "Onboarding (F1)"}, windows=windows) == (
        "Drift alerts (days 2026-06-16 .. 2026-06-29 against 2026-01-03 .. 2026-04-24): "
        "Onboarding (F1): usage; F2: p50, p95.")
    assert views.drift_alerts_text(cells.iloc[3:], labels={}, windows=None) == "No drift alert."


def test_drift_alerts_text_says_when_the_reference_has_no_day() -> None:
    # drift.current_days longer than the data: the reference is cut to nothing, its start after its end.
    cells = pd.DataFrame({"feature_id": ["F1"], "metric": ["usage"], "status": ["insufficient_data"]})
    windows = {"current": {"start": "2024-05-31", "end": "2026-04-30", "days": 700},
               "reference": {"start": "2024-05-29", "end": "2024-05-28", "days": 0},
               "note": "data starts 2026-01-01: reference cut to 0 days"}
    assert views.drift_alerts_text(cells, labels={}, windows=windows) == (
        "No drift judged: all 1 feature x metric cells had too little data (days 2024-05-31 .. 2026-04-30 "
        "against no reference day: data starts 2026-01-01: reference cut to 0 days).")


def test_drift_alerts_text_is_no_all_clear_when_no_cell_was_judged() -> None:
    """drift.min_samples above the window's days: every cell insufficient_data read a green 'No drift
    alert' above the heatmap, the all-clear the Overview tile no longer gives."""
    cells = pd.DataFrame({"feature_id": ["F1", "F2"], "metric": ["usage", "usage"],
                          "status": ["insufficient_data", "insufficient_data"]})
    text = views.drift_alerts_text(cells, labels={}, windows=None)
    assert not text.startswith("No drift alert") and "too little data" in text
    assert views.drift_alerts_tone(cells) == "neutral"
    # One judged cell is a verdict: green without alert, red with one.
    judged = cells.assign(status=["ok", "insufficient_data"])
    assert views.drift_alerts_text(judged, labels={}, windows=None) == "No drift alert."
    assert views.drift_alerts_tone(judged) == "ok"
    assert views.drift_alerts_tone(judged.assign(status=["alert", "insufficient_data"])) == "bad"


def test_drift_alerts_text_stays_short_when_many_features_drift() -> None:
    """A drift across hundreds of features (a platform-wide latency regression) named every one of
    them above the heatmap: 22,000 characters for 500 features."""
    ids = [f"F{i:03d}" for i in range(300)]
    cells = pd.DataFrame({"feature_id": ids, "metric": "p95", "status": "alert"})
    text = views.drift_alerts_text(cells, labels={}, windows=None)
    shown = views.DRIFT_ALERTS_NAMED
    assert f"F{shown - 1:03d}: p95" in text and f"F{shown:03d}" not in text
    assert text.endswith(f"and {300 - shown} more features in alert.")
    assert len(text) < 40 * shown
    # Up to the limit every feature is named and nothing is said to be left out.
    assert "more" not in views.drift_alerts_text(cells.head(shown), labels={}, windows=None)


def test_table_numbers_never_use_scientific_notation() -> None:
    markup = views.html_table(pd.DataFrame({"ks_pvalue": [7.9e-05], "observed": [9.8e-05], "mean": [999.9996]}))
    assert ">0.000079<" in markup and ">0.000098<" in markup and "e-05" not in markup
    # One formatter for the page and the notebooks: 999.9996 read "1000" here and "1e+03" there.
    assert ">1,000<" in markup and views.pvalue_text(0.0) == "< 0.000001"


def test_html_table_writes_an_id_column_in_grey_after_its_plain_name() -> None:
    frame = pd.DataFrame({"signal": ["p95 latency, 7-day trend", "mystery"], "signal (id)": ["p95_latency_slope7", "mystery"],
                          "value": [1.5, 2.0]})
    markup = views.html_table(frame)
    assert "<th>signal (id)</th>" not in markup and markup.count("<th>") == 2
    assert "<td>p95 latency, 7-day trend <span class='fh-id'>p95_latency_slope7</span></td>" in markup
    # An id the name already is (a signal without words) is not written twice.
    assert "<td>mystery</td>" in markup


def test_signals_note_reads_the_driver_names() -> None:
    note = views.signals_note(["usage_count_z7", "crash_rate_level", "error_excess_z1", "usage_count_z7", "mystery"])
    assert note == (
        "usage_count_z7: mean of the last 7 days against the feature's usual level (z-score); "
        "crash_rate_level: value of the day; "
        "error_excess_z1: count of the last 1 day above what the usual rate predicts (z-score). "
        "A z-score counts standard deviations from the usual level (0 = usual).")
    assert views.signals_note(["p95_latency_slope7"]) == "p95_latency_slope7: trend over the last 7 days."
    assert views.signals_note(["error_excess_z3"]).startswith("error_excess_z3: count of the last 3 days above")
    assert views.signals_note(["mystery"]) == "" and views.signals_note([]) == ""


def test_signals_note_tells_the_degradation_history_signals_apart() -> None:
    # All three read "recent degraded days of the feature": days_since_degraded 0 beside
    # degraded_today 1 then said the feature had no recent degraded day.
    note = views.signals_note(["degraded_today", "degraded_days_7", "days_since_degraded"])
    assert note == (
        "degraded_today: 1 when the feature was degraded on the scored day, else 0; "
        "degraded_days_7: degraded days among the last 7; "
        "days_since_degraded: days since the feature was last degraded (0 = degraded on the scored day, "
        "28 = not in the last 28 days).")


def test_incidents_tile_is_green_only_well_above_chance() -> None:
    def tone(detected: int, chance: float | None) -> str:
        early = {"incidents_detected": detected, "n_incidents": 10, "chance_share_warned_1d": chance}
        tiles = views.overview_tiles(ranking=None, metrics={"early_warning": early}, drift=None, quality=None, runs=None)
        return next(t.tone for t in tiles if t.label == "Incidents predicted")

    assert tone(6, 0.1) == "ok" and tone(6, None) == "ok"
    assert tone(6, 0.48) == "warn"  # 60 % warned where random flags would warn 48 %
    assert tone(4, 0.05) == "warn"


def test_early_warning_view_keeps_the_readable_columns() -> None:
    table = pd.DataFrame({"n_incidents": [3], "share_warned_1d": [0.5], "median_precursor_days": [4.0]},
                         index=pd.Index(["all"]))
    view = views.early_warning_view(table)
    assert list(view.columns) == ["incidents", "incidents judged", "warned ≥ 1 day ahead"]
    assert view.loc[0, "incidents"] == "all"


def test_early_warning_notes_say_what_each_shown_column_counts() -> None:
    # The table's columns (share_warned_3d below share_warned_1d, chance_share_warned_1d) had no key;
    # the notes follow the table's order.
    note = views.early_warning_notes(["incidents", "n_incidents", "share_warned_1d", "share_warned_3d",
                                      "chance_share_warned_1d", "false_alerts_per_feature_month", "mystery"])
    assert note == (
        "incidents judged: incidents whose warning window lies in the test period, their feature scored on "
        "each of its days; "
        "warned ≥ 1 day ahead: share of the incidents judged warned at least 1 day before they started; "
        "warned ≥ 1 day ahead by chance: the share warned ≥ 1 day ahead that flagging as many feature-days at "
        "random would reach; "
        "warned ≥ 3 days ahead: share of the incidents judged warned at least 3 days before they started; "
        "false alerts per feature-month: alerts (runs of flagged days) with no incident during them or "
        "within the horizon after, per feature and 30 days.")
    assert views.early_warning_notes(["incidents"]) == ""


def test_publish_note_says_the_outputs_may_mix_two_runs() -> None:
    assert "reload the page in a moment" in views.publish_note("publishing", profile="ci")
    assert "killed while publishing" in views.publish_note("interrupted", profile="ci")
    assert views.publish_note(None, profile="ci") == ""


def test_publish_note_refuses_an_unknown_state_and_lists_the_known_ones() -> None:
    # An unknown state read as "not mid-publish": a mistyped one hid the warning.
    with pytest.raises(ValueError, match="state must be None or one of publishing, interrupted, unreadable, got 'Publishing'"):
        views.publish_note("Publishing", profile="ci")


def test_publish_note_of_a_killed_publish_with_an_unreadable_journal_promises_no_repair() -> None:
    note = views.publish_note("unreadable", profile="ci")
    assert "killed while publishing" in note and "cannot be read" in note and "./run_all.sh ci" in note
    assert "puts the previous ones back" not in note


def test_publish_note_of_a_killed_publish_names_the_command_for_its_profile() -> None:
    # A bare ./run_all.sh runs the default profile, which leaves the killed ci publish in place.
    note = views.publish_note("interrupted", profile="ci")
    assert "./run_all.sh ci" in note
    assert "(./run_all.sh)" not in note


def test_unpublished_run_note_names_the_failed_run_and_the_run_shown() -> None:
    runs = pd.DataFrame({"run_id": ["r2", "r1"], "status": ["failed", "succeeded"],
                         "error": ["01_ingest.ipynb failed: ValueError: bad as-of.", ""]})
    note = views.unpublished_run_note(runs, {"run_id": "r1", "finished_at": "2026-03-01T00:01:00+00:00"})
    assert note.startswith("The newest run, r2, failed and published nothing (01_ingest.ipynb failed: ValueError: bad as-of); ")
    assert "runs/r2/" in note and "the earlier run r1, finished 2026-03-01 00:01 UTC" in note
    assert "does not name it" in views.unpublished_run_note(runs, None)
    interrupted = runs.assign(status=["interrupted", "succeeded"], error=[None, ""])
    assert "r2, interrupted and published nothing;" in views.unpublished_run_note(interrupted, {"run_id": "r1"})
    assert views.unpublished_run_note(runs.iloc[1:], {"run_id": "r1"}) == ""
    assert views.unpublished_run_note(None, None) == ""


def test_unpublished_run_note_of_a_profile_never_published_promises_no_earlier_outputs() -> None:
    # A first run that quality stopped: the note told of "an earlier run" whose outputs every tab
    # showed, on a page where every tile read "not available".
    runs = pd.DataFrame({"run_id": ["r1"], "status": ["failed"],
                         "error": ["01_ingest.ipynb failed: QualityError: stop."]})
    note = views.unpublished_run_note(runs, None, ever_published=False)
    assert note.startswith("The newest run, r1, failed and published nothing (01_ingest.ipynb failed: QualityError: "
                           "stop); what it wrote is in runs/r1/.")
    assert "earlier run" not in note and "No run of this profile has published outputs yet" in note


def test_an_empty_ranking_is_no_all_clear_and_has_no_scored_day(ranking: pd.DataFrame) -> None:
    tiles = views.overview_tiles(ranking=ranking.iloc[:0], metrics=None, drift=None, quality=None, runs=None)
    monitored, at_risk = tiles[0], tiles[1]
    assert (monitored.value, monitored.detail) == ("0", "")
    assert (at_risk.value, at_risk.tone) == (NOT_AVAILABLE, "neutral") and "no feature was scored" in at_risk.detail
    assert views.overview_tiles(ranking=ranking, metrics=None, drift=None, quality=None, runs=None)[0].detail == (
        "scored on 2026-03-01")


def test_incidents_tile_without_a_judged_incident_says_why() -> None:
    early = {"available": True, "n_incidents": 0, "incidents_detected": 0, "n_incidents_not_judged": 6,
             "not_judged": {"window_before_period": 6, "feature_not_scored_whole_window": 0}}
    tile = views.overview_tiles(ranking=None, metrics={"early_warning": early}, drift=None, quality=None, runs=None)[2]
    assert tile.label == "Incidents predicted" and tile.value == NOT_AVAILABLE
    assert tile.detail == "no incident to judge: 0 judged in the test period (6 more not judged: warning window before it)"


def test_last_run_tile_reads_a_utc_time_with_the_run_id_after_it() -> None:
    """A raw ISO stamp and the run id side by side read as jargon on the Overview."""
    runs = pd.DataFrame({"run_id": ["20261127T211503Z-ab12"], "status": ["succeeded"],
                         "started_at": ["2026-11-27T21:10:00+00:00"], "finished_at": ["2026-11-27T22:15:03+01:00"]})
    tile = views.overview_tiles(ranking=None, metrics=None, drift=None, quality=None, runs=runs)[-1]
    assert tile.detail == "finished 2026-11-27 21:15 UTC · run 20261127T211503Z-ab12"
    unfinished = runs.assign(finished_at=[None])
    assert views.overview_tiles(ranking=None, metrics=None, drift=None, quality=None, runs=unfinished)[-1].detail == (
        "started 2026-11-27 21:10 UTC · run 20261127T211503Z-ab12")
    assert views.utc_time_text("2026-11-27T21:15:03") == "2026-11-27 21:15 UTC"  # no zone: the runner writes UTC
    assert views.utc_time_text("t2e") == "t2e" and views.utc_time_text(None) == NOT_AVAILABLE


def test_drift_summary_says_the_share_counts_alert_cells_only() -> None:
    report = {"summary": {"n_ok": 655, "n_warn": 58, "n_alert": 7, "n_insufficient": 0, "drifted_share": 0.009722}}
    assert views.drift_summary(report) == (
        "Feature x metric cells: 655 ok, 58 warn, 7 alert, 0 with too little data; drifted share 1.0%: "
        "the cells in alert among the 720 with enough data (warn cells are not counted)")


def test_drift_score_key_names_each_score_and_its_bad_direction() -> None:
    from featurehealth.dashboard import plots

    key = views.DRIFT_SCORE_KEY
    for label in plots.DRIFT_SCORES.values():
        assert label in key
    assert "low is bad" in key and key.count("high is bad") == 2 and "far from 0 is bad" in key


def test_cell_details_name_each_field_in_words_with_its_meaning() -> None:
    cells = pd.DataFrame({"feature_id": ["A"], "metric": ["p95_latency"], "status": ["alert"], "raw_status": ["alert"],
                          "triggered": ["psi,wasserstein"], "n_ref": [112], "n_cur": [14], "ks_stat": [0.61],
                          "mean_change": [-0.226], "mean_ref": [250.0], "mean_cur": [193.5], "extra": ["x"]})
    details = views.cell_details(cells, feature_id="A", metric="p95_latency").set_index("field")
    assert list(details.columns) == ["value", "meaning"]
    assert not any("_" in field for field in details.index if field != "extra")  # no raw report names but unknown ones
    assert details.loc["effect sizes over their limit", "value"] == "PSI, Wasserstein distance"
    assert details.loc["current days", "value"] == 14 and "current window" in details.loc["current days", "meaning"]
    change = details.loc["mean change (relative)"]
    assert change["value"] == -0.226 and "22.6% below the reference mean" in change["meaning"]
    assert "before the persistence rule" in details.loc["status on the last day alone", "meaning"]
    assert details.loc["extra", "value"] == "x" and details.loc["extra", "meaning"] == ""
    assert list(details.index[:3]) == ["feature id", "metric", "status"]  # the known fields first, in a reading order


def test_cell_details_say_days_in_alert_stop_at_the_persistence_days() -> None:
    """default's F005 p99 latency had been at alert for 30 days; its "days in alert" read 3 with "consecutive
    daily evaluations at alert, counting back from the last day", as if it had started 3 days before. The
    drift step evaluates only drift.persist_days days, so the meaning says the count stops there."""
    cells = pd.DataFrame({"feature_id": ["A"], "metric": ["p99_latency"], "status": ["warn"],
                          "raw_status": ["alert"], "days_in_alert": [3]})
    details = views.cell_details(cells, feature_id="A", metric="p99_latency").set_index("field")
    assert details.loc["days in alert", "value"] == 3
    assert details.loc["days in alert", "meaning"] == (
        "consecutive daily evaluations at alert, counting back from the last day; only the last drift.persist_days "
        "days are evaluated, so an alert that lasted longer counts that many")


def test_cell_details_give_a_cell_with_too_little_data_its_status_in_the_heatmaps_words() -> None:
    # The heatmap and its legend said "too little data" while the details below read "insufficient_data"
    # for status, status on the last day alone and status in the short window.
    cells = pd.DataFrame({"feature_id": ["A"], "metric": ["p95_latency"], "status": ["insufficient_data"],
                          "raw_status": ["insufficient_data"], "short_status": ["warn"]})
    details = views.cell_details(cells, feature_id="A", metric="p95_latency").set_index("field")["value"]
    assert details["status"] == details["status on the last day alone"] == plots.STATUS_WORDS["insufficient_data"]
    assert details["status in the short window"] == "warn"


def test_one_name_for_the_z_score_baseline_in_table_verdict_and_notes() -> None:
    metrics = {"model": {"pr_auc": 0.55}, "baselines": {"persistence": {"pr_auc": 0.43},
                                                       "rule": {"pr_auc": 0.51, "description": "z >= 3"}}}
    assert views.metrics_table(metrics)["scorer"].tolist() == ["model", "persistence", "z-score rule"]
    assert "z-score rule 0.510; no verdict beside the baselines" in views.model_verdict(metrics)
    assert views.metrics_notes(metrics).endswith("Baselines: z-score rule = z >= 3.")
    assert views.scorer_name("rule") == "z-score rule" and views.scorer_name("new") == "new"


def test_a_ranking_longer_than_its_table_offers_every_row(ranking: pd.DataFrame) -> None:
    """On 600 features the table drew the first 200 rows, "first 200 of 600 rows", and nothing on the
    page reached the other 400: a feature ranked 201st could be neither seen nor searched for."""
    long = pd.concat([ranking] * 100, ignore_index=True).assign(rank=lambda f: f.index + 1)
    assert views.ranking_rows_choices(len(ranking)) == []  # a table that fits gets no control
    assert views.ranking_rows_choices(views.RANKING_ROWS) == []
    assert views.ranking_rows_choices(len(long)) == [(f"first {views.RANKING_ROWS}", views.RANKING_ROWS), ("all", 300)]
    first = views.ranking_html(long, caption="")
    assert first.count("<tr>") == views.RANKING_ROWS + 1
    assert f"first {views.RANKING_ROWS} of 300 rows; choose rows shown: all, above the table, to list every one" in first
    every = views.ranking_html(long, caption="", max_rows=len(long))
    assert every.count("<tr>") == 301 and "first" not in every


def test_ranking_headers_are_words_and_the_caption_explains_the_drivers(ranking: pd.DataFrame) -> None:
    shown = views.ranking_view(ranking)
    assert not any("_" in column for column in shown.columns)
    assert {"risk probability", "risk bucket", "active users", "why"} <= set(shown.columns)
    caption = views.risk_caption({"horizon_days": 7}, (0.3, 0.6))
    assert "risk probability: the model's chance" in caption and "risk bucket: low below 0.3" in caption
    assert "why: the signals that raised the score most, strongest first, one a line" in caption


def test_drilldown_caption_says_the_strip_is_any_rule_and_the_panels_show_which() -> None:
    assert "degraded (any rule)" in views.DRILLDOWN_CAPTION and "its own limit" in views.DRILLDOWN_CAPTION


def test_importance_caption_says_a_bar_crossing_zero_is_no_effect() -> None:
    assert "shuffled" in views.IMPORTANCE_CAPTION and "indistinguishable from no effect" in views.IMPORTANCE_CAPTION


def test_run_history_reads_in_words_with_utc_times_and_a_running_run_has_no_finish() -> None:
    runs = pd.DataFrame({"run_id": ["b", "a"], "started_at": ["2026-11-27T21:14:20+00:00", "2026-11-26T21:14:20+00:00"],
                         "finished_at": [None, "2026-11-26T21:15:25+00:00"]})
    shown = views.runs_view(runs.assign(days=["2026-03-16", "2026-03-14 (as of 2026-03-16)"]))
    assert shown.columns.tolist() == ["run id", "started", "finished", "days read"]
    assert shown["started"].tolist() == ["2026-11-27 21:14 UTC", "2026-11-26 21:14 UTC"]
    assert shown["finished"].tolist() == ["", "2026-11-26 21:15 UTC"]
    assert runs["started_at"].iloc[0] == "2026-11-27T21:14:20+00:00"  # the figure reads the input unchanged



@pytest.mark.parametrize("tone", views.TONES)
def test_notes_of_every_tone_reach_aa_contrast_on_the_white_page(tone: str) -> None:
    """The amber of warn notes (#b26a00) read 4.24:1 on white, below the 4.5:1 WCAG AA asks of text."""
    import re

    colour = re.search(r"color:(#[0-9a-f]{6})", views.status_html("x", tone=tone)).group(1)
    assert plots.contrast_ratio(colour, "#ffffff") >= 4.5


def test_tiles_say_their_tone_without_colour() -> None:
    """A red "Drift alerts 1" and a green "Data quality pass" differed by background colour alone,
    which red-green colour-blind readers cannot tell apart: each judged tile now carries a mark
    naming its tone, a neutral one none."""
    marks = {tone: views.tiles_html([views.Tile("Drift alerts", "1", tone=tone)]) for tone in views.TONES}
    assert "fh-tile-mark" not in marks["neutral"]
    named = {tone: marks[tone].split("aria-label='")[1].split("'")[0] for tone in ("ok", "warn", "bad")}
    assert named == {"ok": "fine", "warn": "worth a look", "bad": "needs attention"}
    shown = {tone: marks[tone].split("fh-tile-mark")[1].split("</span>")[0][-1] for tone in ("ok", "warn", "bad")}
    assert len(set(shown.values())) == 3


def test_tiles_keep_their_edges_in_forced_colours() -> None:
    """With forced colours (Windows high contrast) the browser drops the tiles' backgrounds, their only
    edge: the six tiles ran together as loose text. A transparent border, drawn in the system's colour
    there, keeps each one a card (and shows nothing otherwise)."""
    tile = views.tiles_html([views.Tile("Drift alerts", "1", tone="bad")])
    assert "border:1px solid transparent" in tile.split("class='fh-tile'")[1].split(">")[0]


def test_long_text_columns_wrap_instead_of_running_off_the_box() -> None:
    """The drift details' meaning column ran past the table box at 1280 px wide ("feedback 1 t"),
    its sentences readable only by scrolling sideways: named columns now wrap."""
    table = views.html_table(pd.DataFrame({"field": ["a"], "meaning": ["a long sentence"]}), wrap=("meaning",))
    assert "<td>a</td><td class='fh-wrap'>a long sentence</td>" in table
    with pytest.raises(ValueError, match="no column 'means'"):
        views.html_table(pd.DataFrame({"meaning": ["x"]}), wrap=("means",))


def test_heatmap_alt_names_each_status_a_colour_shows() -> None:
    cells = pd.DataFrame({"feature_id": ["A", "A", "B", "B"], "metric": ["m1", "m2", "m1", "m2"],
                          "status": ["ok", "alert", "warn", "insufficient_data"], "psi": [0.01, 0.5, 0.2, None]})
    alt = views.heatmap_alt(cells, score="psi")
    assert alt == ("Drift status of 2 features by 2 metrics, each cell printing its PSI (population stability index). "
                   "alert: A m2 (0.50); warn: B m1 (0.20); too little data: B m2; every other cell ok.")
    many = pd.DataFrame({"feature_id": [f"F{i}" for i in range(15)], "metric": "m", "status": "alert", "psi": 1.0})
    assert views.heatmap_alt(many, score="psi").endswith("F9 m (1.00) and 5 more.")


def test_heatmap_alt_refuses_an_unknown_score_and_lists_the_known_ones() -> None:
    # It raised a bare KeyError 'PSI' (after the cells were described), unlike drift_heatmap.
    cells = pd.DataFrame({"feature_id": ["A"], "metric": ["m1"], "status": ["ok"], "psi": [0.01]})
    with pytest.raises(ValueError, match="score must be one of ks_pvalue, psi, mean_change, wasserstein_norm, got 'PSI'"):
        views.heatmap_alt(cells, score="PSI")


def test_figure_alt_texts_say_what_the_figures_show() -> None:
    importance = pd.DataFrame({"signal": ["a", "b", "c"], "permutation_importance": [0.01, 0.05, float("nan")]})
    assert views.importance_alt(importance, top=2) == (
        "Drop in PR-AUC when each signal is shuffled, top 2: b 0.05, a 0.01.")
    # A calm test period leaves every permutation importance missing (the impurity alone ranks them).
    assert views.importance_alt(importance.assign(permutation_importance=float("nan"))) == (
        "Signal importance not available: no test day is followed by a degraded day within the horizon.")
    named = pd.DataFrame({"signal": ["p95_latency_slope7", "mystery", "crash_rate_z"],
                          "permutation_importance": [0.05, 0.03, 0.01]})
    assert views.importance_alt(named, top=2) == (
        "Drop in PR-AUC when each signal is shuffled, top 2: p95 latency, 7-day trend 0.05, mystery 0.03.")
    # The figure names them in words: the ids, for engineers, beneath it (those without words need none).
    assert views.signal_ids_note(named) == ("Signal ids, largest drop first: p95 latency, 7-day trend = "
                                            "p95_latency_slope7; crash rate against usual (z-score) = crash_rate_z.")
    assert views.signal_ids_note(importance) == ""
    assert views.quarantine_alt(pd.Series({"bad_latency": 5, "duplicate_event": 2})) == (
        "Quarantined rows by reason: bad_latency 5, duplicate_event 2.")
    assert views.lead_time_alt([1.0, 4.0, 4.5]) == (
        "Lead times of the 3 incidents warned ahead, in days before their start: 1, 4, 4.5.")
    runs = pd.DataFrame({"run_id": ["r2", "r1"], "status": ["failed", "succeeded"], "duration_s": [None, 4.0],
                         "started_at": [None, "2026-03-01T10:20:30+00:00"]})
    assert views.run_history_alt(runs) == (
        "Durations of the last 2 runs, oldest first: 2026-03-01 10:20 UTC succeeded 4 s; r2 failed, "
        "duration not available.")
    series = pd.DataFrame({"date": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
                           "is_degraded": [False, True, True]})
    incidents = pd.DataFrame({"start": ["2026-01-02"], "end": ["2026-01-03"]})
    assert views.drilldown_alt(series, incidents=incidents, label="Pay (C)") == (
        "Pay (C), 2026-01-01 .. 2026-01-03: p95 latency, crash rate, average feedback and events per day against "
        "their limits, 2 degraded days, 1 known incident, and the risk score with its bucket cut-offs.")


def test_raw_names_read_as_words_and_a_new_one_readably() -> None:
    """Stakeholders read report fields as written ("p95_latency", "share_warned_1d"): each kind of
    name now has its words in one mapping, and a name it lacks loses its underscores, never fails."""
    from featurehealth import validate

    assert views.plain_name("p95_latency", words=views.METRIC_NAMES) == "p95 latency (ms)"
    assert views.plain_name("brand_new_metric", words=views.METRIC_NAMES) == "brand new metric"
    assert views.plain_name(7, words={}) == "7"
    assert views.metric_name("avg_feedback") == "average feedback rating (1-5)"
    assert set(views.METRIC_NAMES) == set(config.DRIFT_METRICS)
    assert set(views.QUARANTINE_REASONS) == set(validate.REASONS)
    for words in (views.METRIC_NAMES, views.MODEL_METRICS, views.QUARANTINE_REASONS, views.INPUT_FIELDS,
                  views.QUARANTINE_COLUMNS, views.INCIDENT_KINDS, views.VISIBILITY_HEADERS):
        assert not any("_" in word for word in words.values()), words


def test_drift_texts_name_metrics_in_words() -> None:
    cells = pd.DataFrame({"feature_id": ["A", "A", "B"], "metric": ["p95_latency", "avg_feedback", "new_metric"],
                          "status": ["alert", "ok", "alert"], "psi": [0.5, 0.1, 0.3]})
    assert views.drift_alerts_text(cells, labels={}, windows=None) == (
        "Drift alerts: A: p95 latency (ms); B: new metric.")
    assert views.heatmap_alt(cells, score="psi").endswith(
        "alert: A p95 latency (ms) (0.50), B new metric (0.30); every other cell ok.")
    details = views.cell_details(cells, feature_id="A", metric="avg_feedback").set_index("field")
    assert details.loc["metric", "value"] == "average feedback rating (1-5)"
    assert details.loc["PSI (population stability index)", "value"] == 0.1  # the numbers as reported
    series = pd.DataFrame({"date": pd.to_datetime(["2026-01-01", "2026-01-02"])})
    assert views.drift_cell_alt(series, metric="p95_latency", label="Pay (C)").startswith(
        "Pay (C): p95 latency (ms) per day, 2026-01-01 .. 2026-01-02")
    # A count already per day is not said twice ("events per day per day").
    assert views.drift_cell_alt(series, metric="usage_count", label="Pay (C)").startswith(
        "Pay (C): events per day, 2026-01-01 .. 2026-01-02")


def test_model_tables_are_headed_in_words_with_the_same_numbers() -> None:
    metrics = {"model": {"pr_auc": 0.5, "base_rate": 0.1}, "baselines": {"rule": {"pr_auc": 0.4}}}
    table = views.metrics_table(metrics)
    shown = views.metrics_view(table)
    assert shown.columns.tolist() == ["scorer", "PR-AUC", "ROC-AUC", "precision", "recall", "F1", "Brier score",
                                      "base rate", "share flagged"]
    assert shown["PR-AUC"].tolist() == [0.5, 0.4] and shown.loc[0, "base rate"] == 0.1
    assert table.columns[1] == "pr_auc"  # 03_model's table keeps the report's names
    notes = views.metrics_notes(metrics)
    assert notes.startswith("PR-AUC: how well") and "base rate = guessing" in notes and "_" not in notes


def test_early_warning_table_reads_in_words() -> None:
    table = pd.DataFrame({"n_incidents": [3, 2, 1], "share_warned_1d": [0.5, 0.5, 1.0], "median_precursor_days": 4.0},
                         index=pd.Index(["all", "latency_creep", "new_kind"]))
    view = views.early_warning_view(table)
    assert view.columns.tolist() == ["incidents", "incidents judged", "warned ≥ 1 day ahead"]
    assert view["incidents"].tolist() == ["all", "latency creep", "new kind"]
    assert view["warned ≥ 1 day ahead"].tolist() == [0.5, 0.5, 1.0]
    visibility = pd.DataFrame({"evidence": ["latency_evidence"], "n_with_precursor": [2], "visible_q95": [1.0],
                               "visible_q99": [0.5]}, index=pd.Index(["crash_spike_rollout"], name="kind"))
    shown = views.visibility_view(visibility)
    assert shown.columns.tolist() == ["incident kind", "evidence signal", "incidents with early signs",
                                      "share reaching the 95th percentile", "share reaching the 99th percentile"]
    assert shown.iloc[0].tolist() == ["crash spike after a rollout", "latency_evidence", 2, 1.0, 0.5]


def test_data_quality_names_statuses_reasons_and_columns_in_words() -> None:
    checks = views.quality_checks({"checks": [{"name": "late_rows", "status": "not_judged"},
                                              {"name": "freshness", "status": "pass"}]})
    assert checks["status"].tolist() == ["not judged", "pass"]
    counts = views.quarantine_counts({"by_reason": {"negative_latency": 2, "duplicate_event": 5, "odd_reason": 1}})
    assert counts.to_dict() == {"duplicate event": 5, "negative latency": 2, "odd reason": 1}
    rows = pd.DataFrame({"reason": ["negative_latency", "malformed_line"], "field": ["latency_ms", None],
                         "source_file": ["d1.csv", "d1.csv"], "line": [3, 4], "latency_ms": ["-5", None],
                         "raw_line": ["x", "y"]})
    examples = views.quarantine_examples(rows)
    assert examples.columns.tolist() == ["reason", "field at fault", "source file", "line", "latency (ms)",
                                         "line as read"]
    assert examples.fillna("-").to_dict("list") == {
        "reason": ["malformed line", "negative latency"], "field at fault": ["-", "latency (ms)"],
        "source file": ["d1.csv"] * 2, "line": [4, 3], "latency (ms)": ["-", "-5"], "line as read": ["y", "x"]}


def _every_signal() -> list[str]:
    """Every signal featurehealth.signals builds: a fact with the optional columns, and metadata."""
    from featurehealth import signals

    days = pd.date_range("2026-01-01", periods=40, freq="D")
    rng = np.random.default_rng(1)
    fact = pd.DataFrame({
        "feature_id": "F1", "date": days, "usage_count": rng.integers(200, 300, 40), "active_users": 100,
        "avg_latency": 200.0, "p50_latency": 150.0, "p95_latency": rng.normal(400, 20, 40), "p99_latency": 600.0,
        "crash_count": 2, "crash_rate": 0.008, "avg_feedback": rng.normal(4, 0.1, 40), "feedback_count": 10,
        "error_rate": 0.05, "new_version_events": 20, "new_version_crashes": 1, "is_degraded": False,
    })
    metadata = pd.DataFrame({"feature_id": ["F1"], "lifecycle_stage": ["ga"], "tier": ["critical"],
                             "launch_date": [date(2025, 12, 1)]})
    built = signals.build_signals(fact, metadata, degradation=config.load_profile("default")["degradation"])
    return signals.signal_columns(built)


def test_every_signal_the_model_can_use_has_a_plain_name() -> None:
    names = _every_signal()
    assert len(names) > 70 and {"feature_age_days", "crash_limit_over_rate", "new_version_crash_ratio7"} <= set(names)
    plain = {s: views.signal_name(s) for s in names}
    # The guard a new signal meets first: its message says where its words go.
    unnamed = [s for s, words in plain.items() if words == s or "_" in words]
    assert unnamed == [], (f"signals {unnamed} have no words: add their subject to SIGNAL_SUBJECTS or their ending "
                           f"to SIGNAL_ENDINGS in lib/featurehealth/dashboard/views.py")
    # Two signals reading alike would make the drivers ambiguous.
    counts = Counter(plain.values())
    alike = sorted(s for s, words in plain.items() if counts[words] > 1)
    assert alike == [], f"signals {alike} read alike; give each its own words in lib/featurehealth/dashboard/views.py"
    assert plain["p95_latency_slope7"] == "p95 latency, 7-day trend"
    assert plain["crash_excess_z3"] == "crash count above expected, last 3 days (z-score)"
    assert plain["error_excess_z1"] == "error count above expected, last 1 day (z-score)"


def test_a_signal_without_words_reads_as_its_id() -> None:
    # An unknown subject with a known ending, and an id with no known ending at all.
    assert views.signal_name("mystery_z7") == "mystery_z7" and views.signal_name("mystery") == "mystery"
    assert views.signal_name("latency_p95_z28") == "latency_p95_z28"


def test_drivers_read_in_words_with_their_ids_beside(ranking: pd.DataFrame) -> None:
    shown = views.drivers_view(views.drivers(ranking, "F1"))
    assert shown.columns.tolist() == ["signal", "signal (id)", "value", "contribution"]
    assert shown[["signal", "signal (id)"]].values.tolist() == [
        ["p95 latency against usual (z-score)", "p95_latency_z"], ["a", "a"]]
    view = views.ranking_view(ranking)
    assert view[["why", "why (id)"]].iloc[2].tolist() == [("events, change over 7 days", "c"),
                                                          ("usage_count_change7", "c")]
    markup = views.html_table(view)
    assert "<th>why (id)</th>" not in markup and "<span class='fh-id'>usage_count_change7</span>" in markup


def test_every_quality_check_has_plain_words() -> None:
    from featurehealth import quality

    assert set(views.QUALITY_CHECKS) == set(quality.CHECKS)
    assert all("_" not in words for words in views.QUALITY_CHECKS.values())
    assert views.check_name("new_check") == "new_check"


def test_malformed_quality_entries_are_named_not_fatal() -> None:
    report = {"summary": {"status": "warn", "warn": 1}, "checks": [
        {"name": "volume_drop", "status": "warn", "message": "fewer events"}, 7, None,
        {"status": "fail", "message": "no name"}, {"name": "", "status": "fail"}, ["x"]]}
    note = views.quality_malformed_note(report)
    assert note.startswith("reports/data_quality.json holds malformed entries, left out of this tab: check 2 is not "
                           "an object; check 3 is not an object; check 4 has no name; check 5 has no name; "
                           "check 6 is not an object.")
    assert views.quality_checks(report)["check (id)"].tolist() == ["volume_drop"]
    assert views.quality_findings(report) == [("warn", "drop in events (warn): fewer events")]
    tile = views.overview_tiles(ranking=None, metrics=None, drift=None, quality=report, runs=None)[4]
    assert tile.detail == "1 warn (drop in events)"
    assert "checks is not a list" in views.quality_malformed_note({"checks": {"name": "freshness"}})
    assert views.quality_malformed_note({"checks": [{"name": "freshness", "status": "pass"}]}) == ""


def _advice(*, share: float | None = 0.01, psi: float | None = 0.013, age: int | None = 0, **changes: object) -> dict:
    checks = {
        "drifted_share": {"value": share, "threshold": 0.2, "fired": False},
        "prediction_psi": {"value": psi, "threshold": 0.25, "fired": False, "psi_expected_by_chance": 0.009,
                           "pvalue": 0.29, "pvalue_threshold": 0.01, "mean_change": -0.121,
                           "mean_change_threshold": 0.5, "wasserstein_norm": 0.0855, "wasserstein_threshold": 1.0},
        "model_age_days": {"value": age, "threshold": 30, "fired": False},
    }
    return {"retrain_recommended": False, "reasons": [], "withheld": None, "withheld_reasons": [], "checks": checks,
            **changes}


def test_retrain_advice_says_whether_to_retrain_and_each_check_against_its_limit() -> None:
    # The console's drift line says "retraining not advised"; the page, with 7 alerts in red, said nothing.
    advice = _advice()
    advice["checks"] = dict(sorted(advice["checks"].items()))  # as the report stores them: keys sorted
    text, tone = views.retrain_advice(advice)
    assert tone == "ok"
    assert text == (
        "Retraining not advised: 1.0% of feature x metric cells in alert (advised from 20%); the risk scores moved "
        "by PSI 0.013 (0.009 by chance alone; advised from 0.25 with p-value below 0.01: here 0.29, and |mean "
        "change| from 50% or Wasserstein from 1: here -12.1% and 0.09); 0 days of "
        "data since the newest model was built (advised after 30). Alerts in fewer than 20% of the cells are "
        "leads on their features, not on the model.")
    text, tone = views.retrain_advice(_advice(share=None, psi=None, age=None))
    assert "cells in alert: not available" in text and "risk scores: not available" in text
    assert "model's age: not available" in text


def test_retrain_advice_words_the_effect_the_risk_scores_need_too() -> None:
    """PSI 0.357 with p 0.036 read "advised from 0.25 with p-value below 0.05: here 0.036" under "Retraining
    not advised": both limits met on the page, yet no advice, since the scores' mean moved 0.2% and their
    Wasserstein 0.29, below the limits retrain.json also holds. The sentence names that condition too."""
    advice = _advice(psi=0.357)
    advice["checks"]["prediction_psi"].update(pvalue=0.036, pvalue_threshold=0.05, mean_change=0.0016,
                                              wasserstein_norm=0.29277)
    text, _ = views.retrain_advice(advice)
    assert ("the risk scores moved by PSI 0.357 (0.009 by chance alone; advised from 0.25 with p-value below "
            "0.05: here 0.036, and |mean change| from 50% or Wasserstein from 1: here +0.2% and 0.29)") in text
    # Without a judged p-value the report holds no mean change or Wasserstein: the limits alone.
    advice["checks"]["prediction_psi"].update(pvalue=None, mean_change=None, wasserstein_norm=None)
    assert ("advised from 0.25 with p-value below 0.05, and |mean change| from 50% or Wasserstein from 1)"
            in views.retrain_advice(advice)[0])
    # A report written before that condition existed advised on PSI and p-value alone: no condition is added.
    older = _advice()
    for key in ("mean_change", "mean_change_threshold", "wasserstein_norm", "wasserstein_threshold"):
        del older["checks"]["prediction_psi"][key]
    assert "advised from 0.25 with p-value below 0.01: here 0.29);" in views.retrain_advice(older)[0]


def test_retrain_advice_calls_alerts_leads_only_when_there_are_alerts() -> None:
    # With no cell judged (or none in alert) there is nothing for "alerts ... are leads" to describe.
    assert "leads on their features" not in views.retrain_advice(_advice(share=None))[0]
    assert "leads on their features" not in views.retrain_advice(_advice(share=0.0))[0]
    assert "leads on their features" in views.retrain_advice(_advice(share=0.01))[0]


def test_retrain_advice_shows_a_limit_below_one_percent() -> None:
    advice = _advice(share=0.004)
    advice["checks"]["drifted_share"]["threshold"] = 0.005
    text, _ = views.retrain_advice(advice)
    assert "0.4% of feature x metric cells in alert (advised from 0.5%)" in text
    assert "Alerts in fewer than 0.5% of the cells" in text


def test_retrain_advice_names_the_reasons_or_why_it_was_withheld() -> None:
    advised = _advice(retrain_recommended=True, reasons=["25% of drift cells alert (limit 20%)"])
    text, tone = views.retrain_advice(advised)
    assert tone == "bad"
    assert text.startswith("Retraining advised: 25% of drift cells alert (limit 20%).")
    assert "model.retrain" in text
    withheld = _advice(withheld="no model is in use", withheld_reasons=["25% of drift cells alert (limit 20%)"])
    text, tone = views.retrain_advice(withheld)
    assert tone == "neutral"
    assert text == ("Retraining not advised, though a check fired (25% of drift cells alert (limit 20%)): "
                    "no model is in use.")
    assert views.retrain_advice(None) is None
    assert views.retrain_advice({"checks": "?"}) is None  # a report edited by hand: no line rather than a guess


def test_drift_tile_says_whether_retraining_is_advised() -> None:
    def tile(advice: dict | None) -> views.Tile:
        return next(t for t in views.overview_tiles(ranking=None, metrics=None, drift={"summary": {
            "n_alert": 7, "n_cells": 720, "n_insufficient": 0}}, quality=None, runs=None, retrain=advice)
            if t.label == "Drift alerts")

    assert tile(_advice()).detail == "of 720 feature x metric cells; retraining not advised"
    assert tile(_advice(retrain_recommended=True, reasons=["x"])).detail == (
        "of 720 feature x metric cells; retraining advised")
    assert tile(None).detail == "of 720 feature x metric cells"


def test_feature_status_gives_owner_recent_risk_and_last_degraded_day() -> None:
    # Who owns it and since when its risk rose were only in the ranking and a chart's last few pixels.
    series = pd.DataFrame({
        "date": pd.date_range("2026-06-01", periods=10),
        "risk_probability": [None, 0.05, 0.06, 0.05, 0.07, 0.09, 0.30, 0.24, 0.33, 0.53],
        "is_degraded": [True, False, False, False, False, False, False, False, False, False],
    })
    row = {"owner_team": "Platform", "lifecycle_stage": "beta", "tier": "standard"}
    assert views.feature_status(series, meta=row, cutoff=0.249) == (
        "Owner team Platform (beta, standard). Risk score of the last 7 days: Jun 04 0.05, Jun 05 0.07, "
        "Jun 06 0.09, Jun 07 0.3, Jun 08 0.24, Jun 09 0.33, Jun 10 0.53 (medium from 0.249): at or "
        "above it since Jun 09, first on Jun 07. Last degraded day: 2026-06-01 (9 days before the last day).")
    calm = series.assign(risk_probability=0.05, is_degraded=False)
    assert views.feature_status(calm, meta=None, cutoff=0.249) == (
        "Risk score of the last 7 days: Jun 04 0.05, Jun 05 0.05, Jun 06 0.05, Jun 07 0.05, Jun 08 0.05, "
        "Jun 09 0.05, Jun 10 0.05 (medium from 0.249): below it on each. No degraded day.")
    dipped = series.assign(risk_probability=[None] * 6 + [0.3, 0.3, 0.3, 0.1])
    assert "(medium from 0.249): at or above it on 3 of them, last on Jun 09." in views.feature_status(
        dipped, meta=None, cutoff=0.249)
    assert "Jun 10 0.1 (medium from 0.249): below it on each." not in views.feature_status(
        dipped, meta=None, cutoff=0.249)
    high = series.assign(risk_probability=0.7)
    assert "at or above it on each." in views.feature_status(high, meta=None, cutoff=0.249)
    today = series.assign(is_degraded=[False] * 9 + [True])
    assert views.feature_status(today.drop(columns="risk_probability"), meta={}, cutoff=None) == (
        "Last degraded day: 2026-06-10 (the last day).")


def test_feature_status_reads_the_cutoff_and_missing_values_as_the_ranking_does() -> None:
    # A score at the cut-off is in the medium bucket (model.risk_bucket), so at or above it.
    series = pd.DataFrame({"date": pd.date_range("2026-06-01", periods=4), "risk_probability": [0.1, 0.1, 0.25, 0.3]})
    assert views.feature_status(series, meta=None, cutoff=0.25).endswith(
        "(medium from 0.25): at or above it since Jun 03.")
    # The ranking CSV reads an empty owner or tier as NaN, and an unscored day has no risk: none is printed.
    gaps = series.assign(risk_probability=[0.1, 0.1, None, 0.3])
    meta = {"owner_team": "pay", "lifecycle_stage": "ga", "tier": float("nan")}
    assert views.feature_status(gaps, meta=meta, cutoff=None) == (
        "Owner team pay (ga). Risk score of the last 3 days: Jun 01 0.1, Jun 02 0.1, Jun 04 0.3.")
    assert views.feature_status(gaps, meta={"owner_team": float("nan")}, cutoff=None).startswith("Risk score")
    # A feature without days has no degraded day to deny.
    assert views.feature_status(pd.DataFrame({"date": [], "is_degraded": []}), meta=None, cutoff=None) == ""


def test_drift_tile_without_a_verdict_in_the_advice_says_nothing_of_it() -> None:
    tiles = views.overview_tiles(ranking=None, metrics=None, drift={"summary": {"n_alert": 0, "n_cells": 9}},
                                 quality=None, runs=None, retrain={"checks": {}})
    assert next(t for t in tiles if t.label == "Drift alerts").detail == "of 9 feature x metric cells"


def test_status_html_is_text_mathjax_leaves_alone() -> None:
    # Status and note widgets show it outside any output, where html_output's wrapper is not.
    assert f"class='fh-note {views.NO_MATH_CLASS}'" in views.status_html("Plan $5 to $10")


def test_feature_status_leaves_out_what_it_lacks() -> None:
    # Without a model the risk column is null on every day: no "last 0 days" sentence.
    unscored = pd.DataFrame({"date": pd.date_range("2026-06-01", periods=3), "risk_probability": [None] * 3})
    assert views.feature_status(unscored, meta={"owner_team": "pay"}, cutoff=0.25) == "Owner team pay."
    # A day whose degradation is unknown is no degraded day.
    unknown = unscored.drop(columns="risk_probability").assign(is_degraded=[True, float("nan"), False])
    assert views.feature_status(unknown, meta=None, cutoff=None) == (
        "Last degraded day: 2026-06-01 (2 days before the last day).")


def test_retrain_advice_words_the_data_added_since_the_newest_model_against_its_share() -> None:
    growth = {"value": 0.30303, "threshold": 0.5, "fired": False, "training_days": 33, "model_age_days": 10}
    checks = _advice(age=10)["checks"]
    text, _ = views.retrain_advice(_advice(checks={**checks, "data_growth": growth}))
    assert text.endswith("10 days of data since the newest model was built (advised after 30); 30.3% more data "
                         "than the 33 days it was trained on (advised from 50%). Alerts in fewer than 20% of the "
                         "cells are leads on their features, not on the model.")
    off = _advice(checks={**checks, "data_growth": {**growth, "threshold": None}})
    assert "the 33 days it was trained on (check off: drift.retrain_data_growth is null)" in views.retrain_advice(off)[0]
    unknown = {"value": None, "threshold": 0.5, "fired": False, "training_days": None, "model_age_days": 10}
    text, _ = views.retrain_advice(_advice(checks={**checks, "data_growth": unknown}))
    assert "; data added since the newest model's training: not available." in text


def test_retrain_advice_words_the_checks_a_report_holds() -> None:
    checks = {k: v for k, v in _advice()["checks"].items() if k != "prediction_psi"}
    text, _ = views.retrain_advice(_advice(checks=checks))
    assert text.startswith("Retraining not advised: 1.0% of feature x metric cells in alert (advised from 20%); 0 days")


def test_the_strongest_warning_pattern_says_which_pattern(ranking: pd.DataFrame) -> None:
    """worst_shift_z read "strongest warning pattern" in the ranking and the drill-down: a stakeholder could
    not tell latency from crashes or feedback. The ranking's strongest_pattern names it; a ranking written
    before that column, or a day without any pattern's evidence, keeps the words it had."""
    named = ranking.assign(driver_1=["worst_shift_z", "crash_rate_z", "worst_shift_z"],
                           strongest_pattern=["latency_evidence", "crash_evidence", None])
    why = views.ranking_view(named)
    assert why["why"].iloc[0] == ("strongest warning pattern: latency", "a")
    assert why["why"].iloc[1][0] == "crash rate against usual (z-score)"  # not worst_shift_z: no pattern named
    assert why["why"].iloc[2][0] == "strongest warning pattern"
    assert why[views.id_column("why")].iloc[0] == ("worst_shift_z", "a")
    shown = views.drivers_view(views.drivers(named, "F1"))
    assert shown[["signal", "signal (id)"]].values.tolist() == [
        ["strongest warning pattern: latency", "worst_shift_z"], ["a", "a"]]
    older = named.drop(columns="strongest_pattern")
    assert views.ranking_view(older)["why"].iloc[0][0] == "strongest warning pattern"
    assert views.drivers_view(views.drivers(older, "F1"))["signal"].iloc[0] == "strongest warning pattern"


def test_retrain_advice_words_the_library_versions_the_model_in_use_was_saved_with() -> None:
    # The Drift tab said nothing of a model in use pickled under other libraries than the run's.
    checks = _advice(age=10, share=0.0)["checks"]

    def words(check: dict) -> str:
        return views.retrain_advice(_advice(checks={**checks, "library_versions": check}))[0]

    assert words({"value": "none changed", "threshold": None, "fired": False}).endswith(
        "(advised after 30); the model in use was saved under this environment's library versions.")
    assert words({"value": None, "threshold": None, "fired": False, "note": "not available"}).endswith(
        "; the library versions of the model in use: not available.")
    kept = {"value": "scikit-learn 1.8.0 (now 1.9.0)", "threshold": None, "fired": False,
            "note": "newer version 20260601-abc, saved with these libraries, is not in use (refused by the holdout "
                    "comparison or set aside by hand)"}
    assert words(kept).endswith(
        "; the model in use was saved with scikit-learn 1.8.0 (now 1.9.0), but newer version 20260601-abc, saved with "
        "these libraries, is not in use (refused by the holdout comparison or set aside by hand).")
    advised = {"retrain_recommended": True, "reasons": ["model in use saved with scikit-learn 1.8.0 (now 1.9.0)"]}
    assert views.retrain_advice(_advice(**advised))[0].startswith(
        "Retraining advised: model in use saved with scikit-learn 1.8.0 (now 1.9.0).")


def test_texts_with_a_count_of_one_say_it_in_the_singular() -> None:
    # "0 days of data since the newest model was built" the day after a retraining read "1 days".
    assert "; 1 day of data since the newest model was built (advised after 30)." in views.retrain_advice(
        _advice(age=1))[0]
    tiles = views.overview_tiles(ranking=None, metrics={"horizon_days": 1, "early_warning": {
        "incidents_detected": 1, "n_incidents": 2, "median_lead_days": 1.0}}, drift=None, quality=None, runs=None)
    assert "; median 1 day" in tiles[2].detail
    assert "degrades in the next 1 day" in views.risk_caption({"horizon_days": 1}, ())
    caption = views.drift_rule_caption({"summary": {"windows": {"current": {"days": 14}, "persist_days": 1}}})
    assert ", held on 1 daily evaluation." in caption


def test_odd_counts_in_reports_are_shown_not_failing_the_page() -> None:
    # A backfill whose as-of date is before the newest model's build day stores a negative age.
    assert "; -3 days of data since the newest model was built" in views.retrain_advice(_advice(age=-3))[0]
    tiles = views.overview_tiles(ranking=None, metrics={"early_warning": {
        "incidents_detected": 1, "n_incidents": 2, "median_lead_days": float("nan")}}, drift=None, quality=None, runs=None)
    assert "median" not in tiles[2].detail


def test_html_table_links_a_column_to_the_view_of_its_id() -> None:
    """A stakeholder reading the ranking saw a feature but had to type its id in the drill-down to
    open it: a column given in ``links`` now links each line that has an id to ``?<key>=<id>``."""
    frame = pd.DataFrame({"feature": [("Pay", "core"), ("F2", "search")], "feature (id)": [("F1", ""), ("F2", "")],
                          "impact": [3.0, 2.0]})
    markup = views.html_table(frame, links={"feature": "feature"})
    assert "<td><a href='?feature=F1'>Pay</a> <span class='fh-id'>F1</span><br>core</td>" in markup
    assert "<td><a href='?feature=F2'>F2</a><br>search</td>" in markup  # a name that is its id, not written twice
    assert "<td>3</td>" in markup and markup.count("<a ") == 2  # other cells and the details line stay text
    # A column without ids links its own values.
    assert "<td><a href='?tab=drift'>drift</a></td>" in views.html_table(pd.DataFrame({"t": ["drift"]}),
                                                                       links={"t": "tab"})


def test_html_table_links_nothing_unless_asked(ranking: pd.DataFrame) -> None:
    assert "<a " not in views.html_table(views.ranking_view(ranking))
    assert "<a " not in views.ranking_html(ranking, caption="", linked=False)


def test_html_table_link_of_an_odd_id_is_quoted_and_escaped() -> None:
    """Raw HTML from the data never reaches the page: the href is URL-quoted then escaped, the text escaped."""
    odd = "A&B <i>'"
    frame = pd.DataFrame({"feature": ["Odd <b>name</b>"], "feature (id)": [odd]})
    markup = views.html_table(frame, links={"feature": "feature"})
    assert "<i>" not in markup and "<b>" not in markup and odd not in markup
    assert ">Odd &lt;b&gt;name&lt;/b&gt;</a>" in markup
    query = html.unescape(markup.split("href='")[1].split("'")[0])
    assert views.link_target(query, tabs=TAB_SLUGS, features=(odd,)) == ("drilldown", odd, "")


def test_html_table_refuses_a_link_it_cannot_make() -> None:
    frame = pd.DataFrame({"feature": ["F1"]})
    with pytest.raises(ValueError, match="no column 'name'"):
        views.html_table(frame, links={"name": "feature"})
    with pytest.raises(ValueError, match="'profile'.*: use one of tab, feature"):
        views.html_table(frame, links={"feature": "profile"})


def test_ranking_tables_link_each_feature_to_its_drilldown(ranking: pd.DataFrame) -> None:
    markup = views.ranking_html(ranking.assign(feature_name=["Pay", None, "F3"]), caption="")
    assert "<td><a href='?feature=F1'>Pay</a> <span class='fh-id'>F1</span><br>core · ga · critical</td>" in markup
    assert markup.count("<a href='?feature=") == 3
