"""The ipywidgets application of the dashboard (featurehealth.dashboard.app), without a browser.

Outputs are filled by assigning ``Output.outputs``, so what each tab shows can be read here.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import featurehealth
from featurehealth import config
from featurehealth.dashboard import app, data, plots, views


def _write_outputs(root: Path, profile: str) -> None:
    """A small published run: fact, dim, ranking, quality report and one run report.

    The run report is an older release's: no ``params``, only the hash of ``params/<profile>.yaml``
    as it is now (none for a profile params/ does not hold), so the profile gives the run's parameters.
    """
    base = root / profile
    for sub in ("tables", "reports", "runs/20260301T000000Z-0000000e"):
        (base / sub).mkdir(parents=True)
    days = pd.date_range("2026-01-01", periods=20)
    fact = pd.DataFrame([
        {"feature_id": f, "date": d, "usage_count": 300, "active_users": 100 + i, "p95_latency": 1000.0 + 40 * j,
         "crash_rate": 0.01, "avg_feedback": 4.0, "feedback_count": 20, "is_degraded": j > 17,
         "risk_probability": 0.1 * i + 0.01 * j}
        for i, f in enumerate(["A", "B", "C"]) for j, d in enumerate(days)
    ])
    fact.to_parquet(base / "tables" / "fact_feature_metrics.parquet")
    pd.DataFrame({"feature_id": ["A", "B", "C"], "feature_name": ["Login", "Search", "Pay"]}).to_parquet(
        base / "tables" / "dim_feature_metadata.parquet")
    pd.DataFrame({
        "rank": [1, 2, 3], "feature_id": ["C", "B", "A"], "date": "2026-01-20", "owner_team": ["pay", "core", "core"],
        "lifecycle_stage": "ga", "tier": "critical", "risk_probability": [0.9, 0.5, 0.1],
        "risk_bucket": ["high", "medium", "low"], "driver_1": ["p95_latency_z", "crash_rate_z", "usage_count_z"],
        "driver_1_value": [3.0, 2.0, 1.0], "driver_1_contribution": [0.3, 0.2, 0.1],
    }).to_csv(base / "reports" / "risk_ranking.csv", index=False)
    (base / "reports" / "data_quality.json").write_text(json.dumps(
        {"checks": [{"name": "freshness", "status": "pass", "observed": 0}], "summary": {"status": "pass"}}))
    cells = [{"feature_id": f, "metric": m, "status": status, "psi": 0.1}
             for f, status in (("A", "ok"), ("B", "alert"), ("C", "ok")) for m in ("p95_latency", "crash_rate")]
    (base / "reports" / "data_drift.json").write_text(json.dumps({"summary": {"n_alert": 2}, "cells": cells}))
    recorded = ({"params_hash": config.params_hash(config.load_run_params(profile)), "overrides": []}
                if profile in config.available_profiles() else {})
    report = json.dumps({"status": "succeeded", "finished_at": "2026-03-01T00:01:00+00:00", "duration_s": 60.0,
                         **recorded})
    (base / "runs" / "20260301T000000Z-0000000e" / "run_report.json").write_text(report)
    (base / "reports" / "run_report.json").write_text(report)


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    _write_outputs(tmp_path, "ci")
    return tmp_path


def _html(output) -> str:
    return "".join(o["data"].get("text/html", "") for o in output.outputs)


def _png(record: dict) -> str:
    """The base64 PNG of a figure output (:func:`app.png_output`); fails on any other output."""
    found = re.fullmatch(r"<img class='fh-figure' src='data:image/png;base64,([^']+)' alt='[^']+'>",
                         record["data"].get("text/html", ""))
    assert found, f"not a figure: {record['data'].get('text/html', '')[:80]!r}"
    return found.group(1)


def _outputs(dashboard: app.Dashboard, slug: str) -> list:
    box = dashboard.tabs.children[list(app.TABS).index(slug)]
    return [w for w in box.children if hasattr(w, "outputs")]


def _select(dashboard: app.Dashboard, slug: str) -> None:
    dashboard.tabs.selected_index = list(app.TABS).index(slug)


def _drilldown(dashboard: app.Dashboard) -> tuple:
    """``(search, picker, note, drivers, plot)`` of the opened drill-down tab."""
    _select(dashboard, "drilldown")
    controls, drivers, plot = dashboard.tabs.children[list(app.TABS).index("drilldown")].children
    return (*controls.children, drivers, plot)


def test_overview_is_drawn_first_and_other_tabs_lazily(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="default")  # no outputs for it: the first profile with outputs
    assert dashboard.profile.value == "ci" and dashboard.profile.options == (("ci", "ci"),)
    overview = _html(_outputs(dashboard, "overview")[0])
    assert "Features monitored" in overview and ">3<" in overview
    assert "reports/metrics.json is not available" in overview  # the model step's report is absent
    assert all(not box.children for box in dashboard.tabs.children[1:])
    _select(dashboard, "quality")
    assert "freshness" in _html(_outputs(dashboard, "quality")[0])
    assert dashboard.status.value == ""


def test_a_folder_without_a_published_run_is_listed_but_never_opened_first(outputs: Path) -> None:
    for sub in ("tables", "reports", "models"):  # the skeleton a failed hand run of a notebook leaves
        (outputs / "default" / sub).mkdir(parents=True)
    _write_outputs(outputs, "copied")  # published outputs under a name params/ does not hold
    dashboard = app.Dashboard(profile="default")
    assert dashboard.profile.value == "ci"
    assert dashboard.profile.options == (("ci", "ci"), ("copied", "copied"), ("default (no outputs)", "default"))
    dashboard.profile.value = "copied"
    _select(dashboard, "drilldown")
    _, _, plot = dashboard.tabs.children[2].children
    assert _png(plot.outputs[0])
    assert ("Degradation limits and risk buckets not available: reports/run_report.json does not record the run&#x27;s "
            "parameters and there is no params/copied.yaml for these outputs.") in _html(plot)
    assert dashboard.status.value == ""
    dashboard.profile.value = "ci"
    _, _, plot = dashboard.tabs.children[2].children
    assert "Degradation limits" not in _html(plot)


def test_a_filter_redraws_only_the_ranking_table(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    filters, table = dashboard.tabs.children[1].children
    assert "3 of 3 features, sorted by impact = risk × active users" in _html(table)
    # what risk and its buckets mean, from params/ci.yaml (auto buckets) and the absent metrics.json
    assert "risk bucket: cut-offs not available" in _html(table)
    bucket = next(w for w in filters.children if w.description == "risk bucket")
    assert [value for _, value in bucket.options] == ["All", "low", "medium", "high"]
    overview_before = _outputs(dashboard, "overview")[0].outputs
    owner = next(w for w in filters.children if w.description == "owner team")
    owner.value = "core"
    assert "2 of 3 features" in _html(table) and ">pay<" not in _html(table)
    assert _outputs(dashboard, "overview")[0].outputs is overview_before



def test_a_long_ranking_shows_its_first_rows_and_every_row_on_request(outputs: Path) -> None:
    """On 600 features the ranking drew its first 200 rows with no way to see the other 400."""
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    filters, _ = dashboard.tabs.children[1].children
    assert "rows shown" not in [w.description for w in filters.children]  # 3 features fit
    n = views.RANKING_ROWS + 50
    pd.DataFrame({"rank": range(1, n + 1), "feature_id": [f"F{i:03d}" for i in range(n)], "owner_team": "core",
                  "risk_probability": 0.1, "risk_bucket": "low"}).to_csv(
        outputs / "ci" / "reports" / "risk_ranking.csv", index=False)
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    filters, table = dashboard.tabs.children[1].children
    assert _html(table).count("<tr>") == views.RANKING_ROWS + 1
    rows = next(w for w in filters.children if w.description == "rows shown")
    rows.label = "all"
    assert _html(table).count("<tr>") == n + 1 and f"{n} of {n} features" in _html(table)
    assert dashboard.status.value == ""
    pd.DataFrame(columns=["rank", "feature_id", "risk_probability"]).to_csv(  # no feature scored
        outputs / "ci" / "reports" / "risk_ranking.csv", index=False)
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    assert "0 of 0 features" in _html(dashboard.tabs.children[1].children[1]) and dashboard.status.value == ""


def test_filter_options_show_a_bidi_override_as_an_escape_and_still_filter(outputs: Path) -> None:
    ranking_csv = outputs / "ci" / "reports" / "risk_ranking.csv"
    ranking = pd.read_csv(ranking_csv)
    ranking.loc[0, "owner_team"] = "Ops\u202elive"  # would read "Opsevil" in the option, reversed
    ranking.to_csv(ranking_csv, index=False)
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    filters, table = dashboard.tabs.children[1].children
    owner = next(w for w in filters.children if w.description == "owner team")
    assert ("Ops\\u202elive", "Ops\u202elive") in owner.options  # label escaped, value as in the ranking
    owner.value = "Ops\u202elive"
    assert "1 of 3 features" in _html(table)
    assert dashboard.status.value == ""


def test_filters_matching_no_feature_say_so_instead_of_an_empty_table(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    filters, table = dashboard.tabs.children[1].children
    dropdown = {w.description: w for w in filters.children}
    dropdown["owner team"].value = "pay"
    dropdown["risk bucket"].value = "low"  # pay's only feature is high
    shown = _html(table)
    assert "No feature matches owner team = pay and risk bucket = low" in shown
    assert "fh-table" not in shown
    assert dashboard.status.value == ""
    dropdown["risk bucket"].value = "All"
    assert "1 of 3 features" in _html(table)

def test_choosing_a_feature_redraws_its_plot_and_drivers(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")
    _, picker, _, drivers, plot = _drilldown(dashboard)
    assert picker.value == "C"  # the highest-impact feature first
    assert picker.options == (("Login (A), low risk", "A"), ("Search (B), medium risk", "B"), ("Pay (C), high risk", "C"))
    first_png = _png(plot.outputs[0])
    # The scored day, not "today": a page read months after the data ends said "today's score".
    assert "Signals raising the score of 2026-01-20 most" in _html(drivers) and "today" not in _html(drivers)
    assert "p95_latency_z" in _html(drivers)
    assert "p95_latency_z: the day against the feature&#x27;s usual level (z-score)" in _html(drivers)
    picker.value = "A"
    assert _png(plot.outputs[0]) != first_png
    assert "usage_count_z" in _html(drivers)
    assert "Known incidents: tables/incidents.parquet is not available" in _html(plot)
    # Who owns it and how its risk went lately, in words above the drivers.
    picker.value = "C"
    assert "Owner team pay (ga, critical). Risk score of the last 7 days: Jan 14 0.33," in _html(drivers)
    assert "Last degraded day: 2026-01-20 (the last day)." in _html(drivers)


def test_a_link_opens_the_drilldown_on_its_feature_and_gives_the_link_of_the_view(outputs: Path) -> None:
    """A stakeholder was told "open the drill-down tab, type B": ?feature=b opens it on B, and the
    drill-down gives the link of the feature it shows, to copy."""
    _write_outputs(outputs, "copied")
    dashboard = app.Dashboard(profile="ci", query="feature=b")
    assert dashboard.tabs.selected_index == list(app.TABS).index("drilldown")
    assert not dashboard.tabs.children[0].children  # the Overview is drawn when opened, as any tab
    _, picker, _, drivers, _ = _drilldown(dashboard)
    assert picker.value == "B"
    assert "Link to this view: <a href='?feature=B'>?feature=B</a></div>" in _html(drivers)
    picker.value = "A"
    assert "<a href='?feature=A'>" in _html(drivers)
    dashboard.profile.value = "copied"
    _, picker, _, drivers, _ = _drilldown(dashboard)
    assert "(the link opens profile ci: choose copied in Profile there)" in _html(drivers)
    assert dashboard.status.value == ""


def test_ranking_tables_link_each_feature_to_its_drilldown_on_the_page_s_own_profile(outputs: Path) -> None:
    """A stakeholder reading the ranking had to retype a feature's id in the drill-down: its name now links
    there. A link opens the page's default profile, so another profile's tables have none (its feature
    could be missing there, or another one)."""
    _write_outputs(outputs, "copied")
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    for shown in (_html(_outputs(dashboard, "overview")[0]), _html(dashboard.tabs.children[1].children[1])):
        assert "<a href='?feature=A'>" in shown and "<a href='?feature=B'>" in shown
    dashboard.profile.value = "copied"
    _select(dashboard, "overview")
    assert "fh-table" in _html(_outputs(dashboard, "overview")[0])
    assert "<a " not in _html(_outputs(dashboard, "overview")[0])
    _select(dashboard, "ranking")
    assert "<a " not in _html(dashboard.tabs.children[1].children[1])


def test_a_link_naming_what_the_page_lacks_says_so_and_opens_the_rest(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci", query="tab=Drift&feature=<b>Z</b>")
    assert dashboard.tabs.selected_index == list(app.TABS).index("drift")
    assert dashboard.tabs.children[list(app.TABS).index("drift")].children
    assert "The link&#x27;s feature &#x27;&lt;b&gt;Z&lt;/b&gt;&#x27; is not in this profile" in dashboard.status.value
    _, picker, _, _, _ = _drilldown(dashboard)
    assert picker.value == "C"  # its usual first feature
    tab = app.Dashboard(profile="ci", query="tab=nope")
    assert tab.tabs.selected_index == 0 and "use one of overview, ranking, drilldown, drift" in tab.status.value


def test_typing_an_id_or_part_of_a_name_switches_the_drilldown(outputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of features make a long list: "F042 is at risk" in the cron mail is found by typing F042."""
    drawn = []
    real = plots.drilldown_figure
    monkeypatch.setattr(plots, "drilldown_figure", lambda *a, **k: drawn.append(k["title"]) or real(*a, **k))
    dashboard = app.Dashboard(profile="ci")
    search, picker, note, _, plot = _drilldown(dashboard)
    everything = picker.options
    assert search.options == tuple(label for label, _ in everything)  # offered as the user types
    assert drawn == ["Pay (C), high risk"]
    search.value = "sea"
    assert picker.value == "B" and picker.options == (("Search (B), medium risk", "B"),)
    assert drawn[1:] == ["Search (B), medium risk"]  # drawn once, not once per step of the switch
    assert plot.outputs[0]["data"]["text/plain"].startswith("Search (B), medium risk, 2026-01-01 .. 2026-01-20: ")
    assert "1 of 3 features matches &#x27;sea&#x27;; clear the search to list all." in note.value
    search.value = "zzz"  # every feature listed again, the one shown kept
    assert "No feature id or name contains &#x27;zzz&#x27;; the list still holds all 3 features." in note.value
    assert picker.options == everything and picker.value == "B" and dashboard.status.value == ""
    search.value = " a"  # the exact id first, then the labels holding it
    assert picker.value == "A" and [v for _, v in picker.options] == ["A", "B", "C"]
    assert "3 of 3 features match" in note.value
    search.value = "pay"
    search.value = ""
    assert picker.options == everything and picker.value == "C" and note.value == ""
    assert drawn[2:] == ["Login (A), low risk", "Pay (C), high risk"]


def test_the_find_note_comes_after_the_feature_list_it_describes(outputs: Path) -> None:
    # The note was set first: the page said "the list still holds all 3 features" while the list still
    # held the last search's one match, then showed the first feature for a moment (a browser test
    # reading the list on the note's cue saw "Login (A)" under a heavy load).
    dashboard = app.Dashboard(profile="ci")
    search, picker, note, _, _ = _drilldown(dashboard)
    everything = picker.options
    search.value = "sea"
    seen = []
    note.observe(lambda _: seen.append((picker.options, picker.value)), names="value")
    search.value = "zzz"
    assert seen == [(everything, "B")]


def test_drilldown_says_when_no_signal_raised_a_score(outputs: Path) -> None:
    ranking_path = outputs / "ci" / "reports" / "risk_ranking.csv"
    ranking = pd.read_csv(ranking_path)
    ranking.loc[ranking["feature_id"] == "C", ["driver_1", "driver_1_value", "driver_1_contribution"]] = None
    ranking.to_csv(ranking_path, index=False)
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drilldown")
    _, drivers, _ = dashboard.tabs.children[2].children
    shown = _html(drivers)
    assert "No signal raised C&#x27;s score on 2026-01-20" in shown and "no data on that day" not in shown


def test_drilldown_says_no_ground_truth_when_the_run_had_no_incidents(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "ingest_summary.json").write_text(json.dumps({"incidents_file": None}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drilldown")
    _, _, plot = dashboard.tabs.children[2].children
    assert "Known incidents: no ground-truth incidents for this data." in _html(plot)
    assert "incidents.parquet" not in _html(plot)


def test_drilldown_caption_says_what_the_degraded_strip_marks(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")
    *_, plot = _drilldown(dashboard)
    assert html.escape(app.views.DRILLDOWN_CAPTION) in _html(plot)


def test_drift_starts_on_an_alert_and_the_toggle_redraws_only_the_heatmap(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drift")
    header, controls, heatmap, cell, details = dashboard.tabs.children[3].children
    assert "Drift alerts: Search (B): p95 latency (ms), crash rate." in _html(header)
    score, flagged_only = controls.children
    _, feature, metric, _ = cell.children
    assert (feature.value, metric.value) == ("B", "p95_latency") and not flagged_only.value
    assert feature.options == (("Login (A)", "A"), ("Search (B)", "B"), ("Pay (C)", "C"))
    # The number shown by default is the KS p-value that gates the colour, and the caption says how.
    assert score.value == "ks_pvalue" and "decided by the KS test together with an effect size" in _html(heatmap)
    # The Metric list names the metrics in words; its values stay the report's.
    assert metric.options == (("p95 latency (ms)", "p95_latency"), ("crash rate", "crash_rate"))
    assert "Search (B) x p95 latency (ms)" in _html(details) and _png(details.outputs[1])
    before, details_before = heatmap.outputs, details.outputs
    flagged_only.value = True
    assert heatmap.outputs != before and details.outputs is details_before
    metric.value = "crash_rate"
    assert "Search (B) x crash rate" in _html(details)


def test_a_heatmap_wider_than_an_800_px_window_scrolls_at_its_size(
    outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An 800 px window shrank a heatmap of many metrics to its 710 px (to 48 % at 10 metrics, its cell text
    6 px high): one wider than the page is shown at its own size in a box the arrow keys scroll, as the
    tables are; one that fits is the usual figure."""
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drift")
    heatmap = dashboard.tabs.children[3].children[2]
    assert "fh-scroll" not in _html(heatmap) and _png(heatmap.outputs[-1])
    monkeypatch.setattr(plots, "HEATMAP_COLUMN_IN", 5.0)  # two metrics as wide as ten
    dashboard.tabs.children[3].children[1].children[0].value = "psi"  # the Score list redraws it
    shown = heatmap.outputs[-1]["data"]["text/html"]
    assert shown.startswith("<div class='fh-scroll' tabindex='0' style='overflow-x:auto'>"
                            "<img class='fh-figure' style='max-width:none' src='data:image/png;base64,")
    assert shown.endswith("</div>") and "alt='" in shown


def test_drift_tab_and_overview_say_whether_to_retrain(outputs: Path) -> None:
    """The console's drift line gives the advice; the page showed only alerts in red."""
    checks = {"drifted_share": {"value": 0.3, "threshold": 0.2, "fired": True},
              "model_age_days": {"value": 3, "threshold": 30, "fired": False}}
    (outputs / "ci" / "reports" / "retrain.json").write_text(json.dumps(
        {"retrain_recommended": True, "reasons": ["30% of drift cells alert (limit 20%)"], "withheld": None,
         "withheld_reasons": [], "checks": checks}))
    dashboard = app.Dashboard(profile="ci")
    assert "retraining advised" in _html(_outputs(dashboard, "overview")[0])
    _select(dashboard, "drift")
    header = dashboard.tabs.children[3].children[0]
    assert "Retraining advised: 30% of drift cells alert (limit 20%)." in _html(header)
    # Without the report the tab says why there is no advice, rather than nothing.
    (outputs / "ci" / "reports" / "retrain.json").unlink()
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drift")
    assert "reports/retrain.json" in _html(dashboard.tabs.children[3].children[0])


def test_drift_tab_words_its_scores_and_the_cell_s_fields(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drift")
    _, controls, heatmap, _, details = dashboard.tabs.children[3].children
    score, _ = controls.children
    assert score.options == tuple((label, value) for value, label in plots.DRIFT_SCORES.items())
    assert score.value == "ks_pvalue" and score.label == "KS p-value"
    assert html.escape(app.views.DRIFT_SCORE_KEY) in _html(heatmap)
    assert "<th>meaning</th>" in _html(details) and "<td>PSI (population stability index)</td>" in _html(details)


def test_typing_an_id_or_part_of_a_name_picks_the_drift_cell_s_feature(outputs: Path) -> None:
    """The Drift tab's feature list is as long as the drill-down's: it finds a feature the same way."""
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drift")
    _, _, heatmap, cell, details = dashboard.tabs.children[3].children
    search, feature, metric, note = cell.children
    everything, shown_heatmap = feature.options, heatmap.outputs
    assert search.options == tuple(label for label, _ in everything)
    search.value = "pay"
    assert feature.value == "C" and feature.options == (("Pay (C)", "C"),)
    assert "Pay (C) x p95 latency (ms)" in _html(details) and heatmap.outputs is shown_heatmap
    assert "1 of 3 features matches &#x27;pay&#x27;; clear the search to list all." in note.value
    search.value = "zzz"  # one line, every feature listed again, the cell shown kept
    assert "No feature id or name contains &#x27;zzz&#x27;; the list still holds all 3 features." in note.value
    assert feature.options == everything and feature.value == "C" and "Pay (C) x p95 latency (ms)" in _html(details)
    metric.value = "crash_rate"
    search.value = ""
    assert feature.options == everything and note.value == "" and "Pay (C) x crash rate" in _html(details)
    assert dashboard.status.value == ""


def _imported_after_opening(tab: str) -> list[str]:
    """Lines a fresh interpreter prints on drawing ``tab``: whether matplotlib came with the app, then
    the status ("drawn" without an error) and which of seaborn, scipy.stats and pyplot it imported."""
    code = ("import sys; from featurehealth.dashboard import app; print('matplotlib.figure' in sys.modules); "
            f"d = app.Dashboard(profile='ci'); d.draw_tab(list(app.TABS).index({tab!r})); "
            "print(d.status.value or 'drawn', [m for m in ('seaborn', 'scipy.stats', 'matplotlib.pyplot') if m in sys.modules])")
    env = {**os.environ, "PYTHONPATH": str(Path(featurehealth.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split("\n")[:2]


def test_opening_the_drift_tab_imports_neither_seaborn_nor_scipy_stats(outputs: Path) -> None:
    """Importing them (seaborn for the heatmap, scipy.stats through featurehealth.drift for the row
    order) was most of the 3-4 s the tab took to open on a fresh page; neither is needed to draw it.
    matplotlib, which it needs, comes with the app, so while Voila pre-heats the kernel."""
    assert _imported_after_opening("drift") == ["True", "drawn []"]


def test_opening_the_model_tab_draws_every_figure_without_seaborn(outputs: Path) -> None:
    """The lead-time chart was the last seaborn figure: opening the Model tab imported seaborn and
    pyplot (0.35 s) for one histogram. scikit-learn, which the curves need, still brings scipy.stats."""
    _write_model_reports(outputs / "ci" / "reports")
    first, drawn = _imported_after_opening("model")
    assert first == "True" and drawn.startswith("drawn [") and "seaborn" not in drawn and "pyplot" not in drawn


def _write_model_reports(reports: Path) -> None:
    """Metrics with early warning and lead times, test predictions and signal importance: every Model figure."""
    summary = {"available": True, "n_incidents": 3, "incidents_detected": 2, "share_warned_1d": 0.67,
               "lead_times_days": [2, 3], "by_kind": {}}
    (reports / "metrics.json").write_text(json.dumps({
        "model": {"pr_auc": 0.5}, "baselines": {"rule": {"pr_auc": 0.4, "description": "z >= 3"}},
        "early_warning": summary}))
    pd.DataFrame({"y_true": [0.0, 1.0, 0.0, 1.0] * 5, "probability": [0.1, 0.8, 0.3, 0.6] * 5,
                  "rule_score": [0.2, 0.5, 0.4, 0.7] * 5}).to_parquet(reports / "test_predictions.parquet")
    pd.DataFrame({"signal": ["p95_latency_z", "crash_rate_z"], "permutation_importance": [0.05, -0.001],
                  "permutation_std": [0.01, 0.004]}).to_csv(reports / "feature_importance.csv", index=False)


def test_model_tab_names_the_z_score_baseline_once_and_explains_importance(outputs: Path) -> None:
    _write_model_reports(outputs / "ci" / "reports")
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "model")
    box = dashboard.tabs.children[list(app.TABS).index("model")]
    small = [w for row in box.children if not hasattr(row, "outputs") for w in row.children]
    page = "".join(_html(o) for o in [*_outputs(dashboard, "model"), *small])
    assert "<td>z-score rule</td>" in page and "<td>rule</td>" not in page
    assert "z-score rule 0.400" in page and "Baselines: z-score rule = z &gt;= 3." in page
    assert html.escape(app.views.IMPORTANCE_CAPTION) in page
    assert "p95 latency against usual (z-score) = p95_latency_z" in page
    assert all(_png(o.outputs[0]) for o in small) and dashboard.status.value == ""


def test_many_features_draw_the_most_pressing_first_and_say_how_many_are_left_out(
        outputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = []
    real = plots.drift_heatmap
    monkeypatch.setattr(plots, "drift_heatmap", lambda cells, **k: drawn.append(list(dict.fromkeys(cells["feature_id"])))
                        or real(cells, **k))
    monkeypatch.setattr(app, "MAX_HEATMAP_FEATURES", 2)
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drift")
    _, controls, heatmap, _, _ = dashboard.tabs.children[3].children
    _, flagged_only = controls.children
    assert flagged_only.value and drawn == [["B"]]  # more features than rows: the flagged ones first
    assert "Top " not in _html(heatmap) and "Features by drift severity" in _html(heatmap)
    flagged_only.value = False
    assert drawn[1] == ["B", "A"]  # B in alert, then the first of the quiet ones by id
    assert "Top 2 of 3 features by drift severity" in _html(heatmap)


def test_a_redraw_says_drawing_while_it_works(outputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A figure takes a second or more to draw: meanwhile its area says so above the old one."""
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "drift")
    _, controls, heatmap, _, _ = dashboard.tabs.children[3].children
    _, picker, _, _, plot = _drilldown(dashboard)
    seen = {}
    heatmap_figure, drilldown_figure = plots.drift_heatmap, plots.drilldown_figure

    def slow_heatmap(*args, **kwargs):
        seen["heatmap"] = _html(heatmap)
        return heatmap_figure(*args, **kwargs)

    def slow_drilldown(*args, **kwargs):
        seen["drilldown"] = _html(plot)
        return drilldown_figure(*args, **kwargs)

    monkeypatch.setattr(plots, "drift_heatmap", slow_heatmap)
    monkeypatch.setattr(plots, "drilldown_figure", slow_drilldown)
    controls.children[1].value = True
    picker.value = "A"
    assert "Drawing the heatmap" in seen["heatmap"] and "Drawing Login (A)" in seen["drilldown"]
    assert "Drawing" not in _html(heatmap) + _html(plot)
    assert _png(plot.outputs[0]) and dashboard.status.value == ""


def test_a_failing_callback_reports_in_the_status_area(outputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dashboard = app.Dashboard(profile="ci")
    _, picker, _, _, plot = _drilldown(dashboard)

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(plots, "drilldown_figure", broken)
    picker.value = "B"
    assert "Error while drawing the feature: RuntimeError: boom" in dashboard.status.value
    assert "RuntimeError: boom" in _html(plot) and "Traceback" not in _html(plot)


def test_missing_and_corrupt_artifacts_become_notes(outputs: Path) -> None:
    (outputs / "ci" / "tables" / "fact_feature_metrics.parquet").write_bytes(b"garbage")
    (outputs / "ci" / "reports" / "data_drift.json").unlink()
    dashboard = app.Dashboard(profile="ci")
    for slug, expected in [
        ("drilldown", "tables/fact_feature_metrics.parquet could not be read"),
        ("drift", "reports/data_drift.json is not available"),
        ("model", "reports/test_predictions.parquet is not available"),
        ("history", "Last run"),
    ]:
        _select(dashboard, slug)
        assert expected in "".join(_html(o) for o in _outputs(dashboard, slug)), slug
    assert dashboard.status.value == ""


def test_switching_profile_rereads_its_outputs(outputs: Path) -> None:
    _write_outputs(outputs, "year")
    ranking = outputs / "year" / "reports" / "risk_ranking.csv"
    pd.read_csv(ranking).head(1).to_csv(ranking, index=False)
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    dashboard.profile.value = "year"
    assert not dashboard.tabs.children[0].children  # drawn again only when reopened
    assert "1 of 1 features" in _html(dashboard.tabs.children[1].children[1])


def test_without_any_outputs_the_page_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    (tmp_path / "ci" / "reports").mkdir(parents=True)  # a skeleton is no published run
    dashboard = app.Dashboard(profile="ci")
    assert "run ./run_all.sh ci first" in dashboard.status.value
    assert dashboard.tabs.layout.display == "none"


def test_a_first_run_that_failed_is_named_rather_than_asked_for(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A first run that data quality stopped published nothing: the page hid its tabs and said
    "run ./run_all.sh ci first" to the user who just had. It now shows the profile's Overview
    naming the failed run and its error, and the Run history."""
    monkeypatch.setenv("FEATUREHEALTH_OUTPUT_ROOT", str(tmp_path))
    run = tmp_path / "ci" / "runs" / "20260301T000000Z-0000000e"
    run.mkdir(parents=True)
    (run / "run_report.json").write_text(json.dumps({
        "status": "failed", "started_at": "2026-03-01T00:00:00+00:00", "finished_at": "2026-03-01T00:00:09+00:00",
        "error": "01_ingest.ipynb failed: QualityError: Data quality stopped the run."}))
    dashboard = app.Dashboard(profile="ci")
    assert dashboard.tabs.layout.display != "none"
    assert dashboard.profile.value == "ci" and dashboard.profile.options == ((f"ci {data.NO_OUTPUTS}", "ci"),)
    overview = _html(_outputs(dashboard, "overview")[0])
    assert "20260301T000000Z-0000000e, failed and published nothing (01_ingest.ipynb failed: QualityError" in overview
    assert "No run of this profile has published outputs yet" in overview and "earlier run" not in overview
    _select(dashboard, "history")
    assert "Data quality stopped the run" in _html(_outputs(dashboard, "history")[0])
    assert dashboard.status.value == ""


def test_a_run_error_wraps_within_the_page_and_no_error_takes_no_room(outputs: Path) -> None:
    """On one line a failed run's error ran past the run history's box at 1280 px."""
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "history")
    assert "fh-wrap" not in _html(_outputs(dashboard, "history")[0])  # its error column is empty
    run = outputs / "ci" / "runs" / "20260302T000000Z-0000000f"
    run.mkdir()
    (run / "run_report.json").write_text(json.dumps({"status": "failed", "error": "03_model failed: ValueError: no."}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "history")
    assert "<td class='fh-wrap'>03_model failed: ValueError: no.</td>" in _html(_outputs(dashboard, "history")[0])


def test_the_ranking_s_drivers_are_lines_of_one_why_column_after_the_numbers(outputs: Path) -> None:
    """At 1280 px the ranking was about 2,500 px wide: team, stage, tier and each driver had a column of
    their own, so a stakeholder scrolled sideways to see why a feature is at risk. The Overview's top
    five had the same columns."""
    dashboard = app.Dashboard(profile="ci")
    overview = _html(_outputs(dashboard, "overview")[0])
    _select(dashboard, "ranking")
    _, table = dashboard.tabs.children[1].children
    for shown in (overview, _html(table)):
        assert re.findall(r"<th>(.*?)</th>", shown) == [
            "rank", "feature (team · stage · tier)", "risk probability", "risk bucket", "why"]
        assert "<td><a href='?feature=C'>C</a><br>pay · ga · critical</td>" in shown
        assert ("<td class='fh-wrap'>p95 latency against usual (z-score) <span class='fh-id'>p95_latency_z</span>"
                "</td>") in shown


def test_output_records_are_nbformat_display_data() -> None:
    # An image/png output is drawn as an <img> without alt text, so a screen reader said nothing of
    # the figure: it is an <img> in HTML carrying its alt text.
    record = app.png_output(b"\x89PNG", alt="a <b> 'chart'")
    assert record["output_type"] == "display_data"
    assert record["data"]["text/html"] == ("<img class='fh-figure' src='data:image/png;base64,iVBORw==' "
                                           "alt='a &lt;b&gt; &#x27;chart&#x27;'>")
    assert _png(record) == "iVBORw==" and record["data"]["text/plain"] == "a <b> 'chart'"
    assert app.notes_output(["", "missing"]) == [app.html_output(app.views.status_html("missing", tone="warn"))]
    assert isinstance(app.build_app(profile="ci"), app.widgets.VBox)


def _early_warning_sections(outputs: Path, **summaries: dict) -> dict[str, str]:
    """The Model tab's early-warning section (HTML) drawn from each early-warning summary, by name."""
    shown = {}
    for name, early in summaries.items():
        (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps({"early_warning": early}))
        dashboard = app.Dashboard(profile="ci")
        _select(dashboard, "model")
        shown[name] = _html(_outputs(dashboard, "model")[2])
    return shown


def test_model_tab_shows_precursor_visibility_only_when_reported(outputs: Path) -> None:
    summary = {"available": True, "n_incidents": 2, "incidents_detected": 1, "share_warned_1d": 0.5,
               "lead_times_days": [2], "by_kind": {}}
    visible = {"available": True, "quantiles": [0.95, 0.99], "by_kind": {
        "latency_creep": {"evidence": "latency_evidence", "n_with_precursor": 2, "visible_q95": 1.0, "visible_q99": 0.5}}}
    shown = _early_warning_sections(outputs, without=summary, visible={**summary, "precursor_visibility": visible})
    assert "Early warning, incidents: 2 in the test period" in shown["without"] and "Precursors standing out" not in shown["without"]
    assert "warned ≥ 1 day ahead: share of the incidents judged warned at least 1 day before" in shown["without"]
    assert "<th>incidents judged</th>" in shown["without"] and "<th>n_incidents</th>" not in shown["without"]
    assert "Precursors standing out" in shown["visible"] and "latency_evidence" in shown["visible"]
    assert "<td>latency creep</td>" in shown["visible"] and "<th>incident kind</th>" in shown["visible"]


def test_model_tab_sets_the_model_warnings_beside_the_z_score_rule_at_the_same_alert_load(outputs: Path) -> None:
    summary = {"available": True, "n_incidents": 58, "incidents_detected": 11, "share_warned_1d": 0.19,
               "false_alerts_per_feature_month": 0.089, "lead_times_days": [2], "by_kind": {}}
    rule = {"threshold": 0.83, "incidents_detected": 7, "share_warned_1d": 0.12, "share_warned_3d": 0.05,
            "median_lead_days": 1.0, "false_alerts_per_feature_month": 0.335, "flagged_share_not_degraded": 0.0125,
            "by_kind": {"latency_creep": 5}}
    shown = _early_warning_sections(outputs, old_model=summary, new_model={**summary, "rule_at_model_load": rule})
    assert ("At the model&#x27;s alert load (1.2% of healthy feature-days flagged) the z-score rule warns of 7 of 58 "
            "incidents a day or more ahead, with 0.34 false alerts per feature-month (the model: 11, 0.089)"
            in shown["new_model"])
    assert "persistence flags only days already degraded, so it warns of none" in shown["new_model"]
    assert "the z-score rule at the model&#x27;s alert load: not available" in shown["old_model"].lower()


def test_model_tab_says_which_incidents_the_early_warning_judges(outputs: Path) -> None:
    summary = {"available": True, "n_incidents": 2, "incidents_detected": 0, "share_warned_1d": 0.0,
               "lead_times_days": [], "by_kind": {}, "n_incidents_not_judged": 1,
               "not_judged": {"window_before_period": 1, "feature_not_scored_whole_window": 0}}
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps({"early_warning": summary}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "model")
    box = dashboard.tabs.children[list(app.TABS).index("model")]
    small = [w for row in box.children if not hasattr(row, "outputs") for w in row.children]  # lead times
    shown = "".join(_html(o) for o in [*_outputs(dashboard, "model"), *small])
    judged = "2 judged in the test period (1 more not judged: warning window before it)"
    assert f"Early warning, incidents: {judged};" in shown and f"None of the {judged} was warned ahead" in shown


def test_model_tab_without_metrics_says_so_once(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")  # no metrics.json, no test predictions
    _select(dashboard, "model")
    shown = [_html(o) for o in _outputs(dashboard, "model")]
    shown += [_html(o) for o in dashboard.tabs.children[list(app.TABS).index("model")].children[-1].children]
    page = "".join(shown)
    assert page.count("reports/metrics.json") == 1 and page.count("reports/test_predictions.parquet") == 1
    assert "Early-warning figures" not in page and "Lead-time distribution" not in page
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps({"model": {"pr_auc": 0.5}}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "model")
    page = "".join(_html(o) for o in _outputs(dashboard, "model"))
    assert "Early-warning figures not available: reports/metrics.json has no early_warning section." in page
    # the metrics say in words whether the model beats a naive rule, and what the columns mean
    assert "PR-AUC: model 0.500, baselines not available." in page and "Brier score: error of the probabilities" in page
    assert "<th>PR-AUC</th>" in page and "<th>base rate</th>" in page and "<th>pr_auc</th>" not in page


def test_without_a_model_every_tab_says_not_available_and_why_without_a_number(outputs: Path) -> None:
    # Training days of one class (a healthy platform): no model, no ranking, risk columns null.
    reports = outputs / "ci" / "reports"
    (reports / "metrics.json").write_text(json.dumps({"available": False, "reason": "none of its 564 training "
                                                      "feature-days degrades within the horizon."}))
    (reports / "risk_ranking.csv").unlink()
    fact_path = outputs / "ci" / "tables" / "fact_feature_metrics.parquet"
    pd.read_parquet(fact_path).assign(risk_probability=float("nan")).to_parquet(fact_path)
    why = "The risk model is not available: no model was trained, as none of its 564 training feature-days degrades"
    dashboard = app.Dashboard(profile="ci")
    for slug in ("overview", "ranking", "drilldown", "model"):
        _select(dashboard, slug)
        box = dashboard.tabs.children[list(app.TABS).index(slug)]
        page = html.unescape("".join(_html(o) for o in _outputs(dashboard, slug)) + "".join(
            _html(o) for w in box.children for o in getattr(w, "children", ()) if hasattr(o, "outputs")))
        assert page.count(why) == 1, slug
        assert not {"risk_ranking.csv", "metrics.json", "registry.json", "Error"} & set(re.findall(r"[\w.]+", page)), slug
    overview = html.unescape(_html(_outputs(dashboard, "overview")[0]))
    assert "Features at risk" in overview and "PR-AUC" not in overview
    assert dashboard.status.value == ""


def test_model_tab_says_when_the_metrics_were_measured_under_other_degradation_rules(outputs: Path) -> None:
    changed = {"p95_latency_rel": {"trained_with": 1.6, "current": 1.3}}
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps(
        {"model": {"pr_auc": 0.5}, "model_version": "v1", "degradation_changed": changed}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "model")
    page = "".join(_html(o) for o in _outputs(dashboard, "model"))
    assert ("These metrics were measured under degradation.p95_latency_rel=1.6, the rule model v1 was trained "
            "with; today&#x27;s rule is degradation.p95_latency_rel=1.3") in page
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps(
        {"model": {"pr_auc": 0.5}, "model_version": "v1", "degradation_changed": {}}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "model")
    assert "measured under" not in "".join(_html(o) for o in _outputs(dashboard, "model"))


def test_quarantine_examples_come_from_the_runs_window(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "ingest_summary.json").write_text(json.dumps(
        {"rows_in": 3808, "by_reason": {"negative_latency": 1}, "window_start": "2026-04-30",
         "window_end": "2026-04-30"}))
    folder = outputs / "ci" / "quarantine"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"source_file": ["d1.csv", "d2.csv"], "reason": ["negative_latency"] * 2, "line": [11, 22],
                  "event_date": [date(2026, 1, 1), date(2026, 4, 30)], "latency_ms": ["-5", "-7"]},
                 ).to_parquet(folder / "quarantine.parquet")
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "quality")
    shown = _html(_outputs(dashboard, "quality")[1])
    assert "Examples per reason of the run&#x27;s window 2026-04-30 .. 2026-04-30" in shown
    assert "<td>-7</td>" in shown and "<td>-5</td>" not in shown  # not the row from January
    assert "<th>source file</th>" in shown and "<th>latency (ms)</th>" in shown and "<td>negative latency</td>" in shown


def test_quarantine_caption_groups_thousands(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "ingest_summary.json").write_text(json.dumps(
        {"rows_in": 450436, "by_reason": {"duplicate_event": 2000, "negative_latency": 281}}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "quality")
    assert "2,281 of 450,436 rows quarantined" in _html(_outputs(dashboard, "quality")[1])


def test_model_tab_lists_the_versions_with_the_one_in_use(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")  # no models/registry.json yet
    _select(dashboard, "model")
    assert "models/registry.json is not available" in _html(_outputs(dashboard, "model")[0])
    (outputs / "ci" / "models").mkdir()
    (outputs / "ci" / "models" / "registry.json").write_text(json.dumps({"current": "v1", "versions": [
        {"version": "v1", "training_window": {"start": "2026-01-01", "end": "2026-02-01"}, "pr_auc": 0.5,
         "promoted": True, "promotion_reason": "promoted: no model is in use"},
        {"version": "v2", "training_window": {"start": "2026-01-01", "end": "2026-02-08"}, "pr_auc": 0.4,
         "promoted": False, "promotion_reason": "kept the model in use: its PR-AUC 0.5 beats 0.4"}]}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "model")
    page = _html(_outputs(dashboard, "model")[0])
    assert "Model in use: v1; 2 versions kept under models/, newest first" in page
    assert page.index("<td>v2</td>") < page.index("<td>v1</td>") and "kept the model in use" in page


def test_overview_and_ranking_say_what_risk_and_buckets_mean(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps(
        {"horizon_days": 7, "operating_threshold": 0.3}))
    dashboard = app.Dashboard(profile="ci")
    overview = _html(_outputs(dashboard, "overview")[0])
    assert "Features at risk" in overview and "1 high, 1 medium on 2026-01-20" in overview
    assert "Highest impact on 2026-01-20 (risk x active users)" in overview
    _select(dashboard, "ranking")
    _, table = dashboard.tabs.children[1].children
    # params/ci.yaml has auto buckets: medium from the operating threshold, high halfway to 1
    assert "degrades in the next 7 days; risk bucket: low below 0.3, medium from 0.3, high from 0.65" in _html(table)


def test_risk_caption_uses_the_run_s_own_bucket_cut_offs(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps({"horizon_days": 7, "operating_threshold": 0.3}))
    report_path = outputs / "ci" / "reports" / "run_report.json"
    report = json.loads(report_path.read_text())
    params = {"model": {"risk_buckets": [0.2, 0.5]}, "degradation": {}}
    report_path.write_text(json.dumps({**report, "params": params}))  # as run with --set model.risk_buckets=[0.2,0.5]
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "ranking")
    _, table = dashboard.tabs.children[1].children
    assert "risk bucket: low below 0.2, medium from 0.2, high from 0.5" in _html(table)
    # The drill-down's line reads its risk against the same medium cut-off.
    *_, drivers, _ = _drilldown(dashboard)
    assert " (medium from 0.2): " in _html(drivers)


def test_a_report_without_params_uses_the_profile_only_while_it_gives_the_run_s_hash(
    outputs: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps({"horizon_days": 7, "operating_threshold": 0.3}))
    assert app.Dashboard(profile="ci").params() == (config.load_profile("ci"), "")
    params_dir = tmp_path_factory.mktemp("params")
    shutil.copy(config.PARAMS_DIR / "default.yaml", params_dir)
    (params_dir / "ci.yaml").write_text("extends: default\nmodel:\n  risk_buckets: [0.2, 0.5]\n")  # edited since
    monkeypatch.setattr(config, "PARAMS_DIR", params_dir)
    dashboard = app.Dashboard(profile="ci")
    reason = ("reports/run_report.json does not record the run's parameters and params/ci.yaml (or a profile it "
              "extends) has changed since that run; re-run ./run_all.sh ci to record them")
    assert dashboard.params() == (None, reason) and dashboard.cutoffs() == ()
    _select(dashboard, "ranking")
    _, table = dashboard.tabs.children[1].children
    assert "risk bucket: cut-offs not available (the model alerts from 0.3)" in _html(table)
    _select(dashboard, "drilldown")
    _, _, plot = dashboard.tabs.children[2].children
    assert _png(plot.outputs[0])
    assert f"Degradation limits and risk buckets not available: {html.escape(reason)}." in _html(plot)
    assert dashboard.status.value == ""


def test_a_report_without_params_or_their_hash_gives_no_cut_offs(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps({"horizon_days": 7, "operating_threshold": 0.3}))
    (outputs / "ci" / "reports" / "run_report.json").write_text(json.dumps({"status": "succeeded"}))
    dashboard = app.Dashboard(profile="ci")
    assert dashboard.params()[0] is None and dashboard.cutoffs() == ()
    assert "re-run ./run_all.sh ci to record them" in dashboard.params()[1]
    assert "risk bucket: cut-offs not available" in _html(_outputs(dashboard, "overview")[0])


def test_a_failed_newest_run_is_named_above_the_outputs_it_did_not_replace(outputs: Path) -> None:
    published = json.loads((outputs / "ci" / "reports" / "run_report.json").read_text())
    (outputs / "ci" / "reports" / "run_report.json").write_text(json.dumps({**published, "run_id": "20260301T000000Z-0000000e"}))
    failed = outputs / "ci" / "runs" / "20260302T000000Z-0000000f"
    failed.mkdir()
    (failed / "run_report.json").write_text(json.dumps(
        {"status": "failed", "error": "01_ingest.ipynb failed: ValueError: no rows.", "duration_s": 3.0}))
    dashboard = app.Dashboard(profile="ci")
    overview = _html(_outputs(dashboard, "overview")[0])
    assert "The newest run, 20260302T000000Z-0000000f, failed and published nothing (01_ingest.ipynb failed" in overview
    assert "outputs of the earlier run 20260301T000000Z-0000000e, finished 2026-03-01 00:01 UTC" in overview
    _select(dashboard, "quality")
    assert "The newest run, 20260302T000000Z-0000000f, failed" in _html(_outputs(dashboard, "quality")[0])
    (failed / "run_report.json").write_text(json.dumps({"status": "succeeded"}))
    dashboard = app.Dashboard(profile="ci")
    assert "published nothing" not in _html(_outputs(dashboard, "overview")[0])


def test_a_corrupt_run_report_gives_no_limits_rather_than_the_profile_s(outputs: Path) -> None:
    (outputs / "ci" / "reports" / "run_report.json").write_text('{"status": "succ')
    dashboard = app.Dashboard(profile="ci")
    assert dashboard.params()[0] is None and dashboard.cutoffs() == ()
    _select(dashboard, "drilldown")
    _, _, plot = dashboard.tabs.children[2].children
    assert ("Degradation limits and risk buckets not available: reports/run_report.json could not be read "
            "(not valid JSON, line 1, column 12); re-run ./run_all.sh ci.") in _html(plot)
    assert dashboard.status.value == ""


def test_a_profile_folder_removed_while_the_page_is_open_is_said_once_with_its_remedy(outputs: Path) -> None:
    _write_outputs(outputs, "default")
    dashboard = app.Dashboard(profile="default")
    shutil.rmtree(outputs / "default")
    dashboard.profile.value = "ci"
    dashboard.profile.value = "default"  # still offered: the picker was filled when the page opened
    overview = _html(_outputs(dashboard, "overview")[0])
    assert overview.count("has no outputs") == 1
    assert "run ./run_all.sh default" in overview
    assert app.notes_output(["gone", "", "gone", "other"]) == app.notes_output(["gone", "other"])


def test_model_tab_without_ground_truth_gives_the_reason_not_a_missing_report(outputs: Path) -> None:
    # Own telemetry without an incidents file: metrics.json says why early warning is not
    # available; the lead times must not read as if the report were damaged.
    early = {"available": False, "reason": "no ground-truth incidents for this data"}
    (outputs / "ci" / "reports" / "metrics.json").write_text(json.dumps({"model": {"pr_auc": 0.5}, "early_warning": early}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "model")
    box = dashboard.tabs.children[list(app.TABS).index("model")]
    small = [w for row in box.children if not hasattr(row, "outputs") for w in row.children]
    page = "".join(_html(o) for o in [*_outputs(dashboard, "model"), *small])
    assert page.count("no ground-truth incidents for this data") == 1
    assert "in reports/metrics.json" not in page


def test_overview_warns_while_a_killed_publish_left_two_runs_mixed(outputs: Path) -> None:
    journal = config.publish_journal_path("ci")
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text('{"staging": "s", "published": "p", "trash": "t", "entries": ["reports"]}')
    overview = _html(_outputs(app.Dashboard(profile="ci"), "overview")[0])
    assert "A run was killed while publishing its outputs" in overview


def test_a_run_published_while_the_page_is_open_is_not_mixed_into_tabs_drawn_before_it(outputs: Path) -> None:
    # Tabs are drawn when first opened: after a publish, a tab opened then showed the new run
    # beside tabs still showing the old one, without a word.
    dashboard = app.Dashboard(profile="ci")
    assert ">3<" in _html(_outputs(dashboard, "overview")[0])
    ranking = outputs / "ci" / "reports" / "risk_ranking.csv"
    pd.read_csv(ranking).head(1).to_csv(ranking, index=False)
    report = outputs / "ci" / "reports" / "run_report.json"
    report.write_text(report.read_text().replace("2026-03-01T00:01", "2026-03-02T00:01"))
    _select(dashboard, "ranking")
    assert "1 of 1 features" in _html(dashboard.tabs.children[1].children[1])
    assert not dashboard.tabs.children[0].children  # the old overview is gone, drawn again when reopened
    assert "A new run was published" in dashboard.status.value
    _select(dashboard, "overview")
    assert ">1<" in _html(_outputs(dashboard, "overview")[0])


def test_a_run_published_while_a_tab_reads_its_files_has_the_tab_drawn_again(
    outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run swaps its folders in one at a time: a tab reading while it did showed reports/ of one
    # run beside models/ and tables/ of the other, without a word.
    dashboard = app.Dashboard(profile="ci")
    report = outputs / "ci" / "reports" / "run_report.json"
    ranking = outputs / "ci" / "reports" / "risk_ranking.csv"
    read, published = data.load_artifact, []

    def published_meanwhile(profile: str, name: str, **kwargs: object) -> tuple[object, str]:
        loaded = read(profile, name, **kwargs)
        if name == "ranking" and not published:
            published.append(name)
            pd.read_csv(ranking).head(1).to_csv(ranking, index=False)
            report.write_text(report.read_text().replace("2026-03-01T00:01", "2026-03-02T00:01"))
        return loaded

    monkeypatch.setattr(data, "load_artifact", published_meanwhile)
    _select(dashboard, "ranking")
    assert "1 of 1 features" in _html(dashboard.tabs.children[1].children[1])
    assert "A new run was published" in dashboard.status.value


def test_outputs_removed_while_the_page_is_open_are_not_announced_as_a_new_run(outputs: Path) -> None:
    # The next tab opened said "A new run was published since this page was drawn" of a profile
    # whose folder was gone, each tab reading "Profile 'copy' has no outputs (run ./run_all.sh copy ...)"
    # though no params/copy.yaml exists for ./run_all.sh to run.
    shutil.copytree(outputs / "ci", outputs / "copy")
    dashboard = app.Dashboard(profile="copy")
    assert dashboard.profile.value == "copy"
    shutil.rmtree(outputs / "copy")
    _select(dashboard, "ranking")
    assert "A new run was published" not in dashboard.status.value
    assert "The published outputs of copy are gone since this page was drawn" in dashboard.status.value
    ranking = _html(dashboard.tabs.children[1].children[0])
    assert "Profile &#x27;copy&#x27; has no outputs; allowed: ci." in ranking and "run_all.sh copy" not in ranking


def test_figures_say_what_they_show_and_controls_what_they_do(outputs: Path) -> None:
    """Alt texts read "drift heatmap" or "quarantine": a reader without sight learnt which figure
    it was, never what it shows. The Find box was labelled "Find" alone, its placeholder (gone
    once typed in) saying what it finds."""
    dashboard = app.Dashboard(profile="ci")
    search, *_ = _drilldown(dashboard)
    assert search.description == "Find feature"
    _select(dashboard, "drift")
    _, _, heatmap, cell, details = dashboard.tabs.children[3].children
    assert cell.children[0].description == "Find feature"
    figure = next(o for o in heatmap.outputs if "fh-figure" in o["data"]["text/html"])
    assert figure["data"]["text/plain"] == ("Drift status of 3 features by 2 metrics, each cell printing its KS p-value. "
                                            "alert: B p95 latency (ms), B crash rate; every other cell ok.")
    assert "<td class='fh-wrap'>the heatmap&#x27;s colour: after the persistence rule</td>" in _html(details)
    assert details.outputs[1]["data"]["text/plain"].startswith("Search (B): p95 latency (ms) per day")


def test_focused_controls_get_an_outline_of_enough_contrast() -> None:
    """A focused list or text box got only the widgets' 1 px #64b5f6 border (2.2:1 on white), below the
    3:1 WCAG asks of a focus indicator; the widgets' own CSS sets outline: none !important."""
    found = re.search(r"([^{}]*:focus-visible[^{}]*)\{([^}]*)\}", app._STYLE)
    assert found, "no :focus-visible rule in the page's style"
    selectors, rule = found.groups()
    for element in ("select", "input", "button", ".lm-TabBar-tab"):
        assert f".fh-app {element}:focus-visible" in selectors
    width, colour = re.search(r"outline:(\d+)px solid (#[0-9a-f]{6}) !important", rule).groups()
    assert int(width) >= 2
    for background in ("#ffffff", "#eeeeee"):  # the page, the tab bar
        assert plots.contrast_ratio(colour, background) >= 3
    assert plots.contrast_ratio("#64b5f6", "#ffffff") < 3  # what the widgets' border gave


def test_table_headers_wrap_and_cells_stay_on_one_line() -> None:
    """Headers stayed on one line too: the Model tab's early-warning table, short numbers under headers
    such as "warned ≥ 1 day ahead by chance", was 1,723 px wide, past its box at 1280 px."""
    rules = [([s.strip() for s in selectors.split(",")], body)
             for selectors, body in re.findall(r"([^{}<>]+)\{([^}]*)\}", app._STYLE)]

    def declared(selector: str) -> str:
        return ";".join(body for selectors, body in rules if selector in selectors)

    assert "white-space:nowrap" in declared(".fh-app table.fh-table td")
    assert "white-space" not in declared(".fh-app table.fh-table th")


def test_a_malformed_quality_report_is_a_warning_on_its_tab(outputs: Path) -> None:
    """A hand-edited report: an entry that is no object, one without a name; the tab shows the rest."""
    (outputs / "ci" / "reports" / "data_quality.json").write_text(json.dumps({"summary": {"status": "warn"}, "checks": [
        {"name": "volume_drop", "status": "warn", "observed": 0.4, "message": "fewer events"}, "junk",
        {"status": "fail", "message": "who am I"}]}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "quality")
    shown = _html(_outputs(dashboard, "quality")[0])
    assert "malformed entries, left out of this tab: check 2 is not an object; check 3 has no name" in shown
    assert "drop in events (warn): fewer events" in shown and "<span class='fh-id'>volume_drop</span>" in shown
    assert "who am I" not in shown and "Error" not in shown and dashboard.status.value == ""


def test_the_quality_checks_sentences_wrap_within_the_page(outputs: Path) -> None:
    """The measures and rule columns stayed on one line: at 1280 px the rule ran past the table's box."""
    (outputs / "ci" / "reports" / "data_quality.json").write_text(json.dumps({"summary": {"status": "pass"}, "checks": [
        {"name": "freshness", "status": "pass", "observed": 0, "threshold": {"warn": 1, "fail": 3},
         "rule": "warn at or above warn, fail at or above fail"}]}))
    dashboard = app.Dashboard(profile="ci")
    _select(dashboard, "quality")
    shown = _html(_outputs(dashboard, "quality")[0])
    assert "<td class='fh-wrap'>days from the latest input day to the as-of date</td>" in shown
    assert "<td class='fh-wrap'>warn at or above warn, fail at or above fail</td>" in shown


def test_the_drivers_read_in_words_with_their_ids(outputs: Path) -> None:
    *_, drivers, _ = _drilldown(app.Dashboard(profile="ci"))
    shown = _html(drivers)
    assert "<td>p95 latency against usual (z-score) <span class='fh-id'>p95_latency_z</span></td>" in shown


class _TextOutsideNoMath(HTMLParser):
    """Collects the text nodes holding ``$`` or ``\\(`` that no element of class ``mathjax_ignore`` encloses."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[bool] = []
        self.exposed: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in ("br", "img", "input", "meta", "link"):  # void elements have no end tag
            self.open.append("mathjax_ignore" in (dict(attrs).get("class") or "").split())

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("br", "img", "input", "meta", "link") and self.open:
            self.open.pop()

    def handle_data(self, text: str) -> None:
        if ("$" in text or "\\(" in text) and not any(self.open):
            self.exposed.append(text)


def _widgets(widget) -> list:
    return [widget, *(w for child in getattr(widget, "children", ()) for w in _widgets(child))]


def test_names_from_an_export_are_never_typeset_as_math(outputs: Path) -> None:
    """The page loads MathJax, which typeset every $...$ and \\(...\\) it found in the HTML it was
    given: "Plan $5 to $10" read "Plan 5to10" in italics, and "Tax $\\frac$" as a yellow TeX error.
    Every HTML the app shows now sits in an element of class mathjax_ignore, which MathJax skips."""
    dim = pd.DataFrame({"feature_id": ["A", "B", "C"], "feature_name": ["Plan $5 to $10", "Tax $\\frac$", "\\(x\\)"]})
    dim.to_parquet(outputs / "ci" / "tables" / "dim_feature_metadata.parquet")
    dashboard = app.Dashboard(profile="ci")
    for slug in app.TABS:
        _select(dashboard, slug)
    search, *_ = _drilldown(dashboard)
    search.value = "$5 to $"  # typed text is echoed in the note below the box
    markup = [o["data"].get("text/html", "") for w in _widgets(dashboard.widget) for o in getattr(w, "outputs", ())]
    markup += [w.value for w in _widgets(dashboard.widget) if isinstance(w, app.widgets.HTML)]
    assert any("Plan $5 to $10" in m for m in markup)
    parser = _TextOutsideNoMath()
    for m in markup:
        parser.open = []
        parser.feed(m)
    assert parser.exposed == []


def _css_rules(style: str) -> list[tuple[list[str], str]]:
    """``(selectors, declarations)`` of each rule of ``style``, those inside an at-rule included."""
    return [([s.strip() for s in selectors.split(",")], body)
            for selectors, body in re.findall(r"([^{}<>]+)\{([^{}]*)\}", re.sub(r"@media[^{]*\{", "", style))]


def _media_block(style: str, query: str) -> str:
    """The rules inside ``@media <query>{...}`` of ``style`` ("" if it has none)."""
    start = style.find(f"@media {query}{{")
    if start < 0:
        return ""
    depth, begin = 0, style.index("{", start)
    for at in range(begin, len(style)):
        depth += {"{": 1, "}": -1}.get(style[at], 0)
        if depth == 0:
            return style[begin + 1:at]
    raise AssertionError(f"@media {query} is not closed")


def test_every_row_of_controls_wraps_and_no_control_is_wider_than_the_page(outputs: Path) -> None:
    """In a phone's 320 px the Drift tab's Score list (360 px) ran past the tab's edge, cut without its arrow,
    and the "only features with a warn or alert" box beside it was hidden altogether; the drill-down's Feature
    list was cut too, and a status message beside the Profile list read one word a line."""
    dashboard = app.Dashboard(profile="ci")
    for slug in app.TABS:
        _select(dashboard, slug)
    rows = [w for w in _widgets(dashboard.widget) if isinstance(w, app.widgets.HBox)]
    assert len(rows) >= 4  # profile and status, ranking filters, drill-down finder, drift score, drift cell
    assert [w.layout.flex_flow for w in rows] == ["row wrap"] * len(rows)
    # A fixed width is a most: a list or box is never wider than the tab it sits in.
    assert any("max-width:calc(100% - " in body for selectors, body in _css_rules(app._STYLE)
               if ".fh-app .widget-inline-hbox" in selectors)


def test_the_page_prints_whole_on_paper() -> None:
    """Printed (A4), the Overview was one page cut at the right (the Drift alerts tile, the why column) and the
    Risk ranking stopped at its 11th row: the page's frame is as wide and high as the window, in pixels, and
    clips what is beyond; the tables' boxes were 70 % of a sheet high and scrolled. Then each output, kept on one
    sheet by JupyterLab, moved whole to the next: a sheet with the heading alone, then the tiles and a blank half."""
    printed = _media_block(app._STYLE, "print")
    rules = _css_rules(printed)

    def declared(selector: str) -> str:
        return ";".join(body for selectors, body in rules if selector in selectors)

    frame = declared(":has(.fh-app)")  # every element the app sits in, the page's frame included
    for value in ("position:static", "width:auto", "height:auto", "overflow:visible", "contain:none", "break-inside:auto"):
        assert f"{value} !important" in frame, value
    assert "break-inside:auto" in declared(".fh-app .jp-OutputArea-child")  # JupyterLab's avoid-page left blank sheets
    assert "overflow:visible !important" in declared(".fh-app *")  # a table's box, the tab's
    assert "max-height:none !important" in declared(".fh-app .fh-scroll")
    assert "max-width:100% !important" in declared(".fh-app img.fh-figure")  # a wide heatmap too
    assert "break-inside:avoid" in declared(".fh-app tr") and "break-inside:avoid" in declared(".fh-app img")


def test_an_error_in_a_callback_is_a_status_line_naming_the_action(outputs: Path) -> None:
    dashboard = app.Dashboard(profile="ci")

    def broken() -> None:
        raise RuntimeError("the report moved")

    dashboard.guarded("opening the tab", broken)()  # the widget's callback: no traceback escapes it
    assert "Error while opening the tab: RuntimeError: the report moved" in dashboard.status.value
