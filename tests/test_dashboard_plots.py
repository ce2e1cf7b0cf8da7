"""Figures of the dashboard (featurehealth.dashboard.plots)."""

from __future__ import annotations

from itertools import pairwise

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

from featurehealth import display, drift
from featurehealth.dashboard import plots


@pytest.fixture
def series() -> pd.DataFrame:
    days = pd.date_range("2026-01-01", periods=10)
    return pd.DataFrame({
        "date": days, "p95_latency": np.linspace(900, 1900, 10), "crash_rate": 0.01, "avg_feedback": 4.0,
        "usage_count": 200, "is_degraded": [False] * 8 + [True, True], "risk_probability": np.linspace(0.1, 0.8, 10),
    })


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_png_bytes_and_dpi_check(series: pd.DataFrame) -> None:
    png = plots.figure_png(plots.message_figure("nothing here"))
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="dpi"):
        plots.figure_png(plots.message_figure("x"), dpi=5)


def test_drilldown_draws_limits_incidents_degraded_days_and_risk(series: pd.DataFrame) -> None:
    incidents = pd.DataFrame({"start": ["2026-01-08"], "end": ["2026-01-09"]})
    thresholds = {"p95_latency": {"absolute": 1500.0, "relative": pd.Series(np.full(10, 1800.0))}}
    fig = plots.drilldown_figure(series, thresholds=thresholds, incidents=incidents, cutoffs=[0.3, 0.6], title="Login")
    axes = fig.axes
    assert len(axes) == len(plots.DRILLDOWN_METRICS) + 2  # the metrics, the degraded days' strip, the risk
    labels = [line.get_label() for line in axes[0].lines]
    assert {"absolute limit", "relative limit"} <= set(labels)
    assert all(len(ax.patches) == 1 for ax in axes)  # the incident is shaded in every panel
    assert [line.get_label() for line in axes[-1].lines] == ["risk score", "medium from 0.3", "high from 0.6"]
    assert [t.get_text() for t in axes[0].get_legend().get_texts()][-2:] == ["medium from 0.3", "high from 0.6"]
    assert fig._suptitle.get_text() == "Login"


def test_drilldown_spans_the_published_days_not_incidents_outside_them(series: pd.DataFrame) -> None:
    # A new feed's first weeks beside the simulator's incidents of the months before: the axis
    # stretched to them, leaving the feature's days squeezed into its last third.
    incidents = pd.DataFrame({"start": ["2025-10-01", "2026-01-09"], "end": ["2025-10-05", "2026-01-12"]})
    fig = plots.drilldown_figure(series, thresholds={}, incidents=incidents, cutoffs=[0.3, 0.6], title="x")
    low, high = fig.axes[-1].get_xlim()
    assert (low, high) == (mdates.date2num(pd.Timestamp("2026-01-01")), mdates.date2num(pd.Timestamp("2026-01-11")))
    assert len(fig.axes[0].patches) == 1  # the incident outside is not drawn, nor named in the legend
    only_outside = plots.drilldown_figure(series, thresholds={}, incidents=incidents.iloc[:1], cutoffs=[0.3, 0.6],
                                          title="x")
    assert "known incident" not in [t.get_text() for t in only_outside.axes[0].get_legend().get_texts()]


def test_drilldown_breaks_its_lines_over_days_without_data_and_runs_to_the_last_day(series: pd.DataFrame) -> None:
    # Paused on days 3..5 and gone after day 7, while other features go on to Jan 12.
    from featurehealth.dashboard import views

    fact = series.drop(index=[3, 4, 5, 8, 9]).assign(feature_id="A")
    fact = pd.concat([fact, fact.iloc[:1].assign(feature_id="B", date=pd.Timestamp("2026-01-12"))])
    rows = views.feature_series(fact, "A")
    thresholds = {"p95_latency": {"absolute": 1500.0, "relative": pd.Series(np.full(len(rows), 1800.0))}}
    fig = plots.drilldown_figure(rows, thresholds=thresholds, incidents=None, cutoffs=[0.3, 0.6], title="x")
    for ax in (fig.axes[0], fig.axes[-1]):
        drawn = np.asarray(ax.lines[0].get_ydata(), dtype="float64")
        assert np.isnan(drawn[3:6]).all() and np.isnan(drawn[8:]).all() and not np.isnan(drawn[:3]).any()
    relative = next(line for line in fig.axes[0].lines if line.get_label() == "relative limit")
    assert np.isnan(np.asarray(relative.get_ydata(), dtype="float64")[3:6]).all()  # no limit where nothing was judged
    assert fig.axes[-1].get_xlim()[1] == mdates.date2num(pd.Timestamp("2026-01-13"))


def test_drilldown_without_scores_says_so(series: pd.DataFrame) -> None:
    fig = plots.drilldown_figure(series.assign(risk_probability=np.nan), thresholds={}, incidents=None,
                                 cutoffs=[0.3, 0.6], title="x")
    assert "risk score not available for this feature" in _texts(fig)


def test_drift_heatmap_prints_the_chosen_score() -> None:
    cells = pd.DataFrame({"feature_id": ["A", "A", "B", "B"], "metric": ["m1", "m2", "m1", "m2"],
                          "status": ["ok", "alert", "warn", "insufficient_data"], "psi": [0.01, 0.5, 0.2, None],
                          "ks_pvalue": [0.8, 0.004, 0.0004, None]})
    fig = plots.drift_heatmap(cells, score="psi")
    assert sorted(t for t in _texts(fig) if t) == ["0.01", "alert\n0.50", "too little data", "warn\n0.20"]
    # p-values keep two significant digits, so a small one never reads 0.00
    assert sorted(t for t in _texts(plots.drift_heatmap(cells, score="ks_pvalue")) if t) == [
        "0.8", "alert\n0.004", "too little data", "warn\n0.0004"]
    # in the Score list's own words
    assert fig.get_suptitle() == "Colour: drift status; number: PSI (population stability index)"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["ok", "warn", "alert", "too little data"]
    with pytest.raises(ValueError, match="ks_pvalue, psi, mean_change, wasserstein_norm"):
        plots.drift_heatmap(cells, score="status")


def test_drift_heatmap_rows_follow_the_cells_order() -> None:
    """The caller orders the features (most pressing first); the heatmap must not re-sort them by id."""
    cells = pd.DataFrame({"feature_id": ["F2", "F2", "F10", "F10", "F1", "F1"], "metric": ["m1", "m2"] * 3,
                          "status": ["alert", "ok", "warn", "ok", "ok", "ok"], "psi": 0.1})
    fig = plots.drift_heatmap(cells, score="psi")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["F2", "F10", "F1"]


def test_drift_heatmap_prints_tiny_pvalues_as_plain_text() -> None:
    cells = pd.DataFrame({"feature_id": ["A", "A", "B"], "metric": ["m1", "m2", "m1"],
                          "status": ["alert", "alert", "warn"], "ks_pvalue": [7e-12, 0.0, 4e-05]})
    # 0 is what a p-value below the report's old rounding became; no test gives exactly 0.
    texts = sorted(t for t in _texts(plots.drift_heatmap(cells, score="ks_pvalue")) if t)
    assert texts == ["alert\n< 0.000001", "alert\n< 0.000001", "warn\n0.00004"]


def test_drift_heatmap_writes_ids_across_and_numbers_readable_on_each_colour() -> None:
    """Short ids stood on end (seaborn kept them vertical unless they overlapped), and each number
    must contrast with its cell: white on red, dark on green, amber and grey; a cell the report
    lacks stays blank."""
    from matplotlib.colors import to_hex

    cells = pd.DataFrame({"feature_id": ["A", "A", "B", "B", "C"], "metric": ["m1", "m2", "m1", "m2", "m1"],
                          "status": ["ok", "alert", "warn", "insufficient_data", "ok"],
                          "psi": [0.01, 0.5, 0.2, 0.3, 0.4]})
    fig = plots.drift_heatmap(cells, score="psi")
    plots.figure_png(fig)
    ax = fig.axes[0]
    assert [(t.get_text(), t.get_rotation()) for t in ax.get_yticklabels()] == [("A", 0), ("B", 0), ("C", 0)]
    colours = {t.get_text(): to_hex(t.get_color()) for t in ax.texts}
    assert colours == {"0.01": "#262626", "alert\n0.50": "#ffffff", "warn\n0.20": "#262626",
                       "too little data\n0.30": "#262626", "0.40": "#262626"}


def _full_heatmap_cells(metrics: list[str]) -> pd.DataFrame:
    """Drift cells of the most features the Drift tab draws, each status in turn, two KS p-value texts."""
    from featurehealth.dashboard.app import MAX_HEATMAP_FEATURES

    statuses = ["insufficient_data", "alert", "warn", "ok"]
    return pd.DataFrame([{"feature_id": f"F{i:03d}", "metric": m, "status": statuses[(i + j) % 4],
                          "ks_pvalue": 1e-9 if i % 2 else 0.0123}
                         for i in range(MAX_HEATMAP_FEATURES) for j, m in enumerate(metrics)])


def test_drift_heatmap_cell_text_is_10_pt_inside_its_cell_at_a_reasonable_size() -> None:
    """7 pt was too small to read; at 10 pt two lines must still fit a row at the 25-feature cap."""
    import io

    from PIL import Image

    fig = plots.drift_heatmap(_full_heatmap_cells(
        ["usage_count", "p95_latency", "crash_rate", "avg_feedback", "p99_latency", "active_users"]), score="ks_pvalue")
    png = plots.figure_png(fig)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    assert {t.get_fontsize() for t in ax.texts} == {10.0} and "too little data\n< 0.000001" in _texts(fig)
    for text in ax.texts:
        x, y = text.get_position()
        (x0, y0), (x1, y1) = ax.transData.transform([[x - 0.5, y + 0.5], [x + 0.5, y - 0.5]])
        box = text.get_window_extent(renderer)
        assert x0 <= box.x0 and box.x1 <= x1 and y0 <= box.y0 and box.y1 <= y1, text.get_text()
    width, height = Image.open(io.BytesIO(png)).size
    # 670 x 1095 px at 90 dpi (1017 x 1068 with its key beside it; at 7 pt: 882 px high, 162 KB).
    assert width < 1100 and height < 1100 and len(png) < 400_000


def test_drift_cell_shades_both_windows(series: pd.DataFrame) -> None:
    windows = {"reference": {"start": "2026-01-01", "end": "2026-01-05"}, "current": {"start": "2026-01-06", "end": "2026-01-10"}}
    fig = plots.drift_cell_figure(series, metric="crash_rate", windows=windows, title="A")
    assert len(fig.axes[0].patches) == 2
    assert len(plots.drift_cell_figure(series, metric="crash_rate", windows=None, title="A").axes[0].patches) == 0


def test_drift_cell_leaves_a_reference_of_no_day_unshaded(series: pd.DataFrame) -> None:
    # A reference of 0 days ends the day before it starts: shading it drew a sliver labelled
    # "reference window" in the legend, as if a reference had been compared.
    windows = {"reference": {"start": "2026-01-05", "end": "2026-01-04", "days": 0},
               "current": {"start": "2026-01-06", "end": "2026-01-10", "days": 5}}
    fig = plots.drift_cell_figure(series, metric="crash_rate", windows=windows, title="A")
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert len(fig.axes[0].patches) == 1 and "reference window" not in labels


@pytest.fixture
def predictions() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    y = (rng.random(200) < 0.3).astype(float)
    return pd.DataFrame({"y_true": np.r_[y, np.nan], "probability": np.r_[np.clip(0.5 * y + 0.5 * rng.random(200), 0, 1), 0.5],
                         "persistence_score": np.r_[y * (rng.random(200) < 0.5), 0.0]})


def test_curves_show_model_and_the_baselines_present(predictions: pd.DataFrame) -> None:
    fig = plots.curves_figure(predictions)
    roc, pr = fig.axes
    assert [line.get_label() for line in roc.lines[:2]] == ["model", "persistence"]
    assert "base rate" in [line.get_label() for line in pr.lines]



def test_curves_without_a_positive_test_day_say_not_available(predictions: pd.DataFrame) -> None:
    calm = predictions.assign(y_true=predictions["y_true"].where(predictions["y_true"].isna(), 0.0))
    roc, pr = plots.curves_figure(calm).axes
    assert not roc.lines and not pr.lines
    assert all(ax.texts[0].get_text().startswith("not available: no test day") for ax in (roc, pr))
    importance = pd.DataFrame({"signal": ["a", "b"], "impurity_importance": [0.6, 0.4],
                               "permutation_importance": np.nan, "permutation_std": np.nan})
    ax = plots.importance_figure(importance).axes[0]
    assert not ax.patches and ax.texts[0].get_text().startswith("permutation importance not available")

def test_calibration_checks_bins(predictions: pd.DataFrame) -> None:
    assert [line.get_label() for line in plots.calibration_figure(predictions, n_bins=5).axes[0].lines] == [
        "perfect", "model (bins of 40 feature-days)"]
    with pytest.raises(ValueError, match="n_bins"):
        plots.calibration_figure(predictions, n_bins=1)


def test_calibration_bins_are_scikit_learn_s_quantile_bins_with_their_sizes() -> None:
    from sklearn.calibration import calibration_curve

    y = np.array([0, 0, 0, 1, 0, 1, 1, 0, 1, 1])
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.9])
    bins = plots.calibration_bins(y, p, n_bins=4)
    observed, predicted = calibration_curve(y, p, n_bins=4, strategy="quantile")
    assert np.allclose(bins["observed"], observed) and np.allclose(bins["predicted"], predicted)
    # The quartile edges are 0.1, 0.1, 0.25, 0.675, 0.9: the four tied 0.1s fill the first bin alone.
    assert bins["n"].tolist() == [4, 1, 2, 3]


def test_calibration_shows_the_bin_sizes_and_where_the_predictions_lie(predictions: pd.DataFrame) -> None:
    curve, strip = plots.calibration_figure(predictions).axes
    assert curve.lines[1].get_label() == "model (bins of 20 feature-days)"
    assert sum(bar.get_height() for bar in strip.patches) == predictions["y_true"].notna().sum()
    tied = predictions.assign(probability=predictions["probability"].where(predictions.index >= 30, 0.05))
    sizes = plots.calibration_bins(tied["y_true"].dropna().to_numpy(), tied["probability"][:200].to_numpy(), n_bins=10)["n"]
    assert sizes.min() < sizes.max()
    label = f"model (bins of {sizes.min()} to {sizes.max()} feature-days)"
    assert plots.calibration_figure(tied).axes[0].lines[1].get_label() == label


def test_importance_keeps_the_top_signals() -> None:
    table = pd.DataFrame({"signal": list("abcd"), "permutation_importance": [0.1, 0.4, 0.2, 0.3], "permutation_std": 0.01})
    ax = plots.importance_figure(table, top=2).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["d", "b"]
    with pytest.raises(ValueError, match="top"):
        plots.importance_figure(table, top=0)


def test_importance_names_the_signals_in_words_without_overlap() -> None:
    signals = ["new_version_share_z3", "p95_latency_slope7", "feedback_rule_noise_week", "mystery_signal"]
    table = pd.DataFrame({"signal": signals, "permutation_importance": [0.4, 0.3, 0.2, 0.1], "permutation_std": 0.01})
    fig = plots.importance_figure(table)
    plots.figure_png(fig)
    labels = fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in labels] == [
        "mystery_signal", "chance the feedback rule fires from\nnoise within a week", "p95 latency, 7-day trend",
        "newest app version's share of events,\n3-day mean against usual (z-score)"]
    boxes = [t.get_window_extent(fig.canvas.get_renderer()) for t in labels]
    assert all(lower.y1 <= upper.y0 for lower, upper in pairwise(boxes))


def test_small_bar_charts() -> None:
    assert len(plots.lead_time_figure([1, 2, 2, 5]).axes[0].patches) >= 3
    counts = pd.Series({"bad_latency": 5, "duplicate_event": 2})
    assert [t.get_text() for t in plots.quarantine_figure(counts).axes[0].get_yticklabels()] == ["duplicate_event", "bad_latency"]
    runs = pd.DataFrame({"run_id": ["r2", "r1"], "status": ["failed", "succeeded"], "duration_s": [None, 4.0],
                         "started_at": [None, "2026-03-01T10:20:30+00:00"]})
    ax = plots.run_history_figure(runs).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-03-01 10:20", "r2"]
    assert "UTC" in ax.get_xlabel()
    bars = ax.patches
    assert [b.get_height() for b in bars] == [4.0, 0.0]
    assert bars[1].get_facecolor()[0] > bars[1].get_facecolor()[1]  # the failed run is red
    assert [(t.get_text(), t.get_position()[0]) for t in ax.texts] == [("duration not available", 1)]


def test_a_single_run_is_drawn_as_a_bar_not_a_slab() -> None:
    runs = pd.DataFrame({"run_id": ["r1"], "status": ["succeeded"], "started_at": ["2026-03-01T10:20:00+00:00"],
                         "duration_s": [4.0]})
    ax = plots.run_history_figure(runs).axes[0]
    left, right = ax.get_xlim()
    assert ax.patches[0].get_width() / (right - left) <= 1 / plots.RUN_HISTORY_SLOTS
    many = pd.concat([runs] * (plots.RUN_HISTORY_SLOTS + 5), ignore_index=True)
    assert plots.run_history_figure(many).axes[0].get_xlim()[1] == plots.RUN_HISTORY_SLOTS + 4.5


def test_the_events_floor_is_not_labelled_a_degradation_limit(series: pd.DataFrame) -> None:
    thresholds = {"usage_count": {"absolute": 50, "relative": None}, "p95_latency": {"absolute": 1500.0, "relative": None}}
    fig = plots.drilldown_figure(series, thresholds=thresholds, incidents=None, cutoffs=[0.3, 0.6], title="x")
    usage = fig.axes[list(plots.DRILLDOWN_METRICS).index("usage_count")]
    assert "absolute limit" not in [line.get_label() for line in usage.lines]
    assert "min events for a day to be judged" in [line.get_label() for line in usage.lines]
    assert "absolute limit" in [line.get_label() for line in fig.axes[0].lines]


def _drawn(text) -> tuple[str, bool]:
    """What matplotlib draws for a Text artist and whether it parses it as mathtext."""
    return text._preprocess_math(text.get_text())


def test_feature_names_with_dollars_are_drawn_as_written(series: pd.DataFrame) -> None:
    """Names come from other teams' exports: a ``$`` is text, never mathtext that fails the figure."""
    name = r"$\undefinedcmd$ promo"
    fig = plots.drilldown_figure(series, thresholds={}, incidents=None, cutoffs=[0.3, 0.6], title=name)
    plots.figure_png(fig)
    assert _drawn(fig._suptitle) == (name, False)
    fig = plots.drift_cell_figure(series, metric="crash_rate", windows=None, title=name)
    plots.figure_png(fig)
    assert _drawn(fig.axes[0].title) == (name, False)
    cells = pd.DataFrame({"feature_id": [name, "Pay $5 or $10"], "metric": ["m1", "m1"], "status": ["ok", "warn"],
                          "psi": [0.01, 0.2]})
    fig = plots.drift_heatmap(cells, score="psi")
    plots.figure_png(fig)
    assert sorted(_drawn(t) for t in fig.axes[0].get_yticklabels()) == [(name, False), ("Pay $5 or $10", False)]


def test_a_very_long_feature_name_leaves_the_heatmap_readable() -> None:
    """One 500-character name must not squeeze the heatmap away (its layout gave up and cut every label)."""
    import warnings

    ids = ["L" * 500, "short"]
    cells = pd.DataFrame({"feature_id": [i for i in ids for _ in range(2)], "metric": ["m1", "m2"] * 2,
                          "status": ["ok"] * 4, "psi": [0.5] * 4})
    fig = plots.drift_heatmap(cells, score="psi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied" is a UserWarning
        plots.figure_png(fig)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "short" in labels and max(len(t) for t in labels) <= display.MAX_LABEL_CHARS
    # A title naming it keeps both ends (the metric of a drift cell is the end).
    fig = plots.drift_cell_figure(pd.DataFrame({"date": pd.date_range("2026-01-01", periods=3), "m1": [1, 2, 3]}),
                                  metric="m1", windows=None, title="L" * 500 + ": m1")
    title = fig.axes[0].get_title()
    assert len(title) <= display.MAX_TITLE_CHARS and title.endswith(": m1")


def _rendered(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_drift_cell_legend_never_covers_the_series(series: pd.DataFrame) -> None:
    """Inside the axes the legend's words were crossed by the line and hid the first days."""
    windows = {"reference": {"start": "2026-01-01", "end": "2026-01-05"}, "current": {"start": "2026-01-08", "end": "2026-01-10"}}
    fig = plots.drift_cell_figure(series, metric="p95_latency", windows=windows, title="Login: p95_latency")
    renderer = _rendered(fig)
    ax = fig.axes[0]
    legend, plotted = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["p95 latency (ms)", "reference window", "current window"]
    assert legend.x0 >= plotted.x1 or legend.y0 >= plotted.y1  # beside or above the plotting area


@pytest.mark.parametrize(("start", "days"), [("2026-01-01", 10), ("2026-01-01", 60), ("2026-01-01", 120),
                                           ("2026-09-01", 40), ("2026-04-10", 21)])
def test_date_labels_keep_apart(start: str, days: int) -> None:
    """Full dates (2026-04-01 2026-04-15) ran into each other on the ci profile's 120 days, and day
    ticks counted from each month's first ran "Sep 29" into "Oct 01" on a new feed's first weeks."""
    span = pd.DataFrame({"date": pd.date_range(start, periods=days), "p95_latency": 900.0,
                         "crash_rate": 0.01, "avg_feedback": 4.0, "usage_count": 200, "risk_probability": 0.2})
    figures = [(plots.drilldown_figure(span, thresholds={}, incidents=None, cutoffs=[0.3, 0.6], title="x"), -1),
               (plots.drift_cell_figure(span, metric="crash_rate", windows=None, title="x"), 0)]
    for fig, axis in figures:
        fig.set_dpi(90)  # as figure_png writes them
        renderer = _rendered(fig)
        boxes = [t.get_window_extent(renderer) for t in fig.axes[axis].get_xticklabels() if t.get_text()]
        assert len(boxes) >= 3
        assert min(right.x0 - left.x1 for left, right in pairwise(boxes)) >= 10


def test_lead_time_counts_read_as_whole_incidents() -> None:
    """With one incident per lead time the axis read 0.2, 0.4 ... incidents."""
    fig = plots.lead_time_figure([1, 4, 5])
    _rendered(fig)
    ticks = fig.axes[0].get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)


def test_risk_panel_says_why_its_first_days_are_empty(series: pd.DataFrame) -> None:
    """Only the model's test days on are scored: the empty start of the panel is explained, not blank."""
    later = series.assign(risk_probability=[np.nan] * 5 + [0.2] * 5)
    fig = plots.drilldown_figure(later, thresholds={}, incidents=None, cutoffs=[0.3, 0.6], title="x")
    assert any("no risk score before 2026-01-06" in t for t in _texts(fig))
    fig = plots.drilldown_figure(series, thresholds={}, incidents=None, cutoffs=[0.3, 0.6], title="x")
    assert not any("no risk score" in t for t in _texts(fig))


def test_drift_heatmap_renders_once_however_many_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seaborn measures every tick label: on a figure without a canvas each measure rendered the whole
    figure anew, so 100 features took 1.8 GB and 500 were killed for lack of memory."""
    from matplotlib.backends import backend_agg

    created = []
    real_init = backend_agg.RendererAgg.__init__

    def counting_init(self, *args, **kwargs):
        created.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(backend_agg.RendererAgg, "__init__", counting_init)
    ids = [f"F{i:03d}" for i in range(40)]
    cells = pd.DataFrame({"feature_id": [i for i in ids for _ in range(2)], "metric": ["m1", "m2"] * 40,
                          "status": ["ok", "warn"] * 40, "psi": [0.5] * 80})
    plots.figure_png(plots.drift_heatmap(cells, score="psi"))
    assert len(created) < 5  # one renderer for the figure and one for the PNG, not one per label


def test_degraded_days_are_marked_once_for_the_feature_not_on_each_metric(series: pd.DataFrame) -> None:
    """A red dot on every panel made a healthy latency line look degraded: the days are marked in one
    strip of their own, named for what they are."""
    fig = plots.drilldown_figure(series, thresholds={}, incidents=None, cutoffs=[0.3, 0.6], title="Login")
    *metric_axes, strip, _risk = fig.axes
    for ax in metric_axes:
        assert not ax.collections  # nothing but the metric's line and limits
        assert "degraded" not in " ".join(ax.get_legend_handles_labels()[1])
    assert strip.get_legend_handles_labels()[1] == ["feature degraded (any rule)"]
    (bars,) = strip.collections
    starts = sorted(round(path.vertices[:, 0].min()) for path in bars.get_paths())
    from matplotlib.dates import date2num
    assert starts == [round(date2num(pd.Timestamp(d))) for d in ("2026-01-09", "2026-01-10")]
    calm = plots.drilldown_figure(series.assign(is_degraded=False), thresholds={}, incidents=None, cutoffs=[],
                                  title="x")
    assert not calm.axes[-2].collections and "no degraded day" in _texts(calm)


@pytest.mark.parametrize(("start", "days", "offset"), [("2026-04-20", 30, "2026"), ("2026-05-01", 20, "2026"),
                                                       ("2026-04-01", 60, "2026"), ("2025-12-10", 45, "2025-2026")])
def test_day_ticks_name_their_month_and_the_offset_only_the_year(start: str, days: int, offset: str) -> None:
    """Ticks "Apr 08 15 22 May 08" beside the offset "2026-Jun" read as "May / 2026-May": a day's
    tick now names its month, and the corner only the year (both years across New Year)."""
    import re

    span = pd.DataFrame({"date": pd.date_range(start, periods=days), "p95_latency": 900.0, "crash_rate": 0.01,
                         "avg_feedback": 4.0, "usage_count": 200, "risk_probability": 0.2})
    for fig, axis in ((plots.drift_cell_figure(span, metric="crash_rate", windows=None, title="x"), 0),
                      (plots.drilldown_figure(span, thresholds={}, incidents=None, cutoffs=[], title="x"), -1)):
        _rendered(fig)
        ax = fig.axes[axis]
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert labels and all(re.fullmatch(r"[A-Z][a-z]{2} \d{2}", label) for label in labels), labels
        assert ax.xaxis.get_offset_text().get_text() == offset


def test_month_ticks_name_the_year_at_january() -> None:
    span = pd.DataFrame({"date": pd.date_range("2025-11-01", periods=240), "crash_rate": 0.01})
    fig = plots.drift_cell_figure(span, metric="crash_rate", windows=None, title="x")
    _rendered(fig)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert "Jan 2026" in labels and "Dec" in labels and fig.axes[0].xaxis.get_offset_text().get_text() == ""


def test_curves_name_the_z_score_baseline_as_the_metrics_table_does(predictions: pd.DataFrame) -> None:
    from featurehealth.dashboard import views

    scored = predictions.assign(rule_score=predictions["probability"] * 0.9)
    labels = [line.get_label() for line in plots.curves_figure(scored).axes[0].lines]
    assert views.scorer_name("rule") in labels and "model" in labels


def test_lead_times_are_drawn_without_seaborn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rest of the dashboard dropped seaborn (importing it cost each tab's first opening); the
    lead-time bars count incidents per whole day, as its discrete histogram did."""
    import sys

    monkeypatch.setitem(sys.modules, "seaborn", None)  # importing it now fails
    ax = plots.lead_time_figure([1, 2, 2, 5.0]).axes[0]
    bars = {round(p.get_x() + p.get_width() / 2): p.get_height() for p in ax.patches}
    assert bars == {1: 1, 2: 2, 5: 1}
    assert ax.get_xlabel() == "lead time (days before incident start)" and ax.get_ylabel() == "incidents"



@pytest.mark.parametrize("status", drift.STATUSES)
def test_heatmap_numbers_reach_aa_contrast_on_their_cell(status: str) -> None:
    """White on the alert red (#e53935) read 4.23:1, below the 4.5:1 WCAG AA asks of text."""
    colour = plots.STATUS_COLOURS[status]
    assert plots.contrast_ratio(plots.text_colour(colour), colour) >= 4.5


def test_drift_heatmap_writes_each_flagged_status_in_its_cell() -> None:
    """Green ok beside red alert was the only sign of a cell's status, which red-green colour-blind
    readers cannot tell apart: a cell not ok now names its status above its number."""
    cells = pd.DataFrame({"feature_id": ["A", "A", "B", "B"], "metric": ["m1", "m2", "m1", "m2"],
                          "status": ["ok", "alert", "warn", "insufficient_data"], "psi": [0.01, 0.5, 0.2, None]})
    assert sorted(_texts(plots.drift_heatmap(cells, score="psi"))) == [
        "0.01", "alert\n0.50", "too little data", "warn\n0.20"]


def test_run_history_marks_failed_runs_beyond_their_colour() -> None:
    runs = pd.DataFrame({"run_id": ["r2", "r1"], "status": ["failed", "succeeded"], "duration_s": [3.0, 4.0],
                         "started_at": [None, "2026-03-01T10:20:30+00:00"]})
    ax = plots.run_history_figure(runs).axes[0]
    assert [b.get_hatch() for b in ax.patches] == [None, "//"]
    assert "hatched" in ax.get_title()


def test_contrast_ratio_is_wcag_s() -> None:
    assert plots.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert plots.contrast_ratio("#ffffff", "#767676") == pytest.approx(4.54, abs=0.01)


def test_metrics_are_named_in_words_on_the_drift_figures(series: pd.DataFrame) -> None:
    from featurehealth.dashboard import views

    cells = pd.DataFrame({"feature_id": ["A", "A"], "metric": ["avg_feedback", "new_metric"], "status": ["ok", "alert"],
                          "psi": [0.1, 0.4]})
    fig = plots.drift_heatmap(cells, score="psi")
    plots.figure_png(fig)
    assert [t.get_text().replace("\n", " ") for t in fig.axes[0].get_xticklabels()] == [
        "average feedback rating (1-5)", "new metric"]
    ax = plots.drift_cell_figure(series, metric="p95_latency", windows=None, title="A").axes[0]
    assert ax.get_ylabel() == "p95 latency (ms)" and ax.get_legend().get_texts()[0].get_text() == "p95 latency (ms)"
    drilldown = plots.drilldown_figure(series, thresholds={}, incidents=None, cutoffs=(), title="A")
    assert [ax.get_ylabel().replace("\n", " ") for ax in drilldown.axes[:len(plots.DRILLDOWN_METRICS)]] == [
        views.metric_name(m) for m in plots.DRILLDOWN_METRICS]


def test_curves_tell_the_scorers_apart_without_colour(predictions: pd.DataFrame) -> None:
    """Model, persistence and z-score rule differed by colour alone: each now has its own line style."""
    fig = plots.curves_figure(predictions.assign(rule_score=predictions["probability"] * 0.9))
    for ax in fig.axes:
        scorers = [line for line in ax.lines if line.get_label() in ("model", "persistence", "z-score rule")]
        assert len(scorers) == 3
        assert len({(line.get_linestyle(), line.get_marker()) for line in scorers}) == 3
        legend = {text.get_text() for text in ax.get_legend().get_texts()}
        assert {"model", "persistence", "z-score rule"} <= legend


@pytest.mark.parametrize(("value", "score", "text"), [
    (-0.0004, "mean_change", "0.00"), (-0.0, "psi", "0.00"), (-0.006, "mean_change", "-0.01"), (0.254, "psi", "0.25"),
])
def test_score_label_never_reads_minus_zero(value: float, score: str, text: str) -> None:
    # A mean change of -0.0004 rounds to zero: "-0.00" reads as a change that is not there.
    assert plots.score_label(value, score=score) == text


def test_drift_heatmap_takes_its_statuses_from_the_drift_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """The heatmap kept its own copy of drift.STATUSES: one source, so a status the report gains is drawn."""
    monkeypatch.setattr(drift, "STATUSES", ("alert", "warn", "ok", "insufficient_data"))
    cells = pd.DataFrame({"feature_id": ["A", "A"], "metric": ["m1", "m2"], "status": ["ok", "alert"], "psi": [0.1, 0.4]})
    legend = plots.drift_heatmap(cells, score="psi").axes[0].get_legend().get_texts()
    assert [t.get_text() for t in legend] == ["alert", "warn", "ok", "too little data"]


def test_drift_heatmap_checks_its_score_once_not_per_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    checked = []
    monkeypatch.setattr(plots, "check_score", lambda score: checked.append(score))
    cells = pd.DataFrame({"feature_id": ["A", "A", "B", "B"], "metric": ["m1", "m2", "m1", "m2"],
                          "status": ["ok", "alert", "warn", "ok"], "psi": [0.1, 0.4, 0.2, 0.0]})
    plots.drift_heatmap(cells, score="psi")
    assert checked == ["psi"]


def test_score_label_refuses_an_unknown_score() -> None:
    # Any other name than ks_pvalue printed two decimals, so a mistyped "ks_p_value" turned 0.0004 into 0.00.
    with pytest.raises(ValueError, match="score must be one of ks_pvalue, psi, mean_change, wasserstein_norm, got 'ks_p_value'"):
        plots.score_label(0.0004, score="ks_p_value")


def test_drilldown_legend_is_readable_in_an_800_px_window(series: pd.DataFrame) -> None:
    """At 800 px the 990 px drill-down was shrunk to the page's 710 px, its 7 pt legends (one per panel,
    right of it) 6 px high on screen. Drawn no wider than the page there, with one key of 9 pt above
    the panels, its words are 11 px at every window width, without the kernel knowing the width."""
    thresholds = {"p95_latency": {"absolute": 1500.0, "relative": pd.Series(np.full(10, 1800.0))},
                  "usage_count": {"absolute": 50, "relative": None}}
    incidents = pd.DataFrame({"start": ["2026-01-08"], "end": ["2026-01-09"]})
    fig = plots.drilldown_figure(series, thresholds=thresholds, incidents=incidents, cutoffs=[0.3, 0.6], title="x")
    dpi = plots.DPI
    shown = min(1.0, plots.NARROWEST_PAGE_PX / (fig.get_figwidth() * dpi))
    key = fig.axes[0].get_legend()  # the one key, above the top panel
    assert all(ax.get_legend() is None for ax in fig.axes[1:])
    assert key.get_window_extent(_rendered(fig)).y0 >= fig.axes[0].get_window_extent().y1
    assert min(t.get_fontsize() for t in key.get_texts()) * dpi / 72 * shown >= 11
    assert [t.get_text() for t in key.get_texts()] == [
        "known incident", "absolute limit", "relative limit", "min events for a day to be judged",
        "feature degraded (any rule)", "risk score", "medium from 0.3", "high from 0.6"]
    lines = [(h.get_color(), str(h.get_linestyle())) for h in key.legend_handles if hasattr(h, "get_linestyle")
             and hasattr(h, "get_color")]
    assert len(set(lines)) == len(lines)  # one key for every panel: no two names share a look


def test_one_column_figures_are_not_shrunk_in_an_800_px_window(series: pd.DataFrame, predictions: pd.DataFrame) -> None:
    """The drift cell (810 px) and the ROC and precision-recall curves (900 px) were shrunk to the page at
    800 px, their 8 pt legends 8 px high; drawn no wider than the page there, their text keeps its size."""
    runs = pd.DataFrame({"run_id": ["r1"], "status": ["succeeded"], "duration_s": [4.0],
                         "started_at": ["2026-03-01T10:20:30+00:00"]})
    figures = {"drift cell": plots.drift_cell_figure(series, metric="p95_latency", windows=None, title="x"),
               "curves": plots.curves_figure(predictions), "run history (720 px)": plots.run_history_figure(runs)}
    for name, fig in figures.items():
        assert fig.get_figwidth() * plots.DPI <= plots.NARROWEST_PAGE_PX, name
        assert len(plots.figure_png(fig)) > 0


def test_drift_heatmap_of_six_metrics_fits_an_800_px_window_its_text_whole() -> None:
    """At 1.3 in a metric and 3.5 in more, the default's six metrics drew 1,017 px, which an 800 px window
    shrank to 70 %: cell text 8.7 px, key 7 px. Now 695 px or less, each cell's text inside its cell, the
    metric names apart and the key at the drill-down's size."""
    fig = plots.drift_heatmap(_full_heatmap_cells(
        ["p50_latency", "p95_latency", "p99_latency", "crash_rate", "avg_feedback", "usage_count"]), score="ks_pvalue")
    plots.figure_png(fig)
    assert fig.get_figwidth() * plots.DPI <= plots.NARROWEST_PAGE_PX
    ax, renderer = fig.axes[0], fig.canvas.get_renderer()
    for text in ax.texts:
        x, _ = text.get_position()
        left, right = ax.transData.transform([[x - 0.5, 0], [x + 0.5, 0]])[:, 0]
        box = text.get_window_extent(renderer)
        assert left <= box.x0 and box.x1 <= right, text.get_text()
    names = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
    assert all(a.x1 < b.x0 for a, b in pairwise(names))
    key = ax.get_legend()
    assert {t.get_fontsize() for t in key.get_texts()} == {plots.LEGEND_PT}
    # Above the cells, under the title: read before the 25 rows, not beside them.
    assert key.get_window_extent(renderer).y0 >= ax.get_window_extent(renderer).y1
    assert fig.get_suptitle().startswith("Colour: drift status")
