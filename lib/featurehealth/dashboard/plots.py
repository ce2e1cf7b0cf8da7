"""Figures of the dashboard, with matplotlib alone and without pyplot.

Each builder takes already-loaded frames and returns a :class:`matplotlib.figure.Figure` that
no global figure manager holds, so callbacks can redraw often without leaking memory;
:func:`figure_png` turns it into the PNG the page shows. No seaborn: importing it, with the
scipy.stats and pyplot it loads, took seconds of the Drift tab's first opening and 0.35 s of the
Model tab's (where scikit-learn brings scipy.stats anyway).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

# For its STATUSES. At no cost to a page load: the app imports this while Voila pre-heats the kernel
# (10-30 ms more there, numpy and pandas being loaded already), and the Drift tab imports drift anyway.
from featurehealth import drift

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Colour of each drift status (:data:`featurehealth.drift.STATUSES`, in whose order heatmap and legend
#: draw them). The alert red is dark enough for white numbers at 4.5:1 (WCAG AA), as :func:`text_colour` picks.
STATUS_COLOURS = {"ok": "#66bb6a", "warn": "#ffca28", "alert": "#c62828", "insufficient_data": "#bdbdbd"}
#: Words a heatmap cell writes above its number, so its status never rests on colour alone (ok cells write none).
STATUS_WORDS = {"warn": "warn", "alert": "alert", "insufficient_data": "too little data"}
#: Drift scores a heatmap can print in its cells (report field -> words of the Score list and the
#: title); the KS p-value, which gates every status, first.
DRIFT_SCORES = {
    "ks_pvalue": "KS p-value", "psi": "PSI (population stability index)", "mean_change": "mean change (relative)",
    "wasserstein_norm": "Wasserstein distance (normalised)",
}
#: Fact columns of the drill-down panels, top to bottom (named by
#: :func:`featurehealth.dashboard.views.metric_name`).
DRILLDOWN_METRICS = ("p95_latency", "crash_rate", "avg_feedback", "usage_count")
#: Characters of a metric's name per line on a heatmap column or a drill-down axis.
METRIC_LINE_CHARS = 18
#: Dots per inch of the PNGs the page shows (:func:`figure_png`): one dot, one CSS pixel.
DPI = 90
#: Width (px) the page leaves a figure in the narrowest window the dashboard is made for, 800 px (710 px,
#: less a 15 px scrollbar), and so the width of the figures that fill a row. The page shrinks a wider PNG
#: to it, and its text with it: the drill-down's 990 px made its 7 pt legends 6 px high.
NARROWEST_PAGE_PX = 695
#: Legend text (pt) of the drill-down: 11 px at :data:`DPI`.
LEGEND_PT = 9
#: Legend of a panel's flat limit line where it is not a degradation threshold: the events floor
#: (``degradation.min_usage``) only decides whether a day is judged at all.
ABSOLUTE_LABELS = {"usage_count": "min events for a day to be judged"}
#: Line of an absolute limit, and of those of :data:`ABSOLUTE_LABELS`: the panels share one key, where
#: each name needs a look of its own.
ABSOLUTE_LINE = {"color": "#c62828", "ls": "--", "lw": 1}
FLOOR_LINE = {"color": "#616161", "ls": (0, (8, 3)), "lw": 1}
#: Written on a run's bar when its duration is unknown.
NOT_AVAILABLE_SHORT = "duration not available"
#: Score columns of the test predictions -> their scorer's key in reports/metrics.json (named by
#: :func:`featurehealth.dashboard.views.scorer_name`).
SCORERS = {"probability": "model", "persistence_score": "persistence", "rule_score": "rule"}
#: Line of each scorer on the ROC and PR curves: a dash pattern and sparse markers of its own, so the
#: curves are told apart without their colours (the model solid and thicker).
SCORER_LINES = {
    "model": {"ls": "-", "lw": 2.0, "marker": "o"},
    "persistence": {"ls": "--", "lw": 1.5, "marker": "s"},
    "rule": {"ls": "-.", "lw": 1.5, "marker": "^"},
}


def _metric_text(metric: str, *, chars: int = METRIC_LINE_CHARS) -> str:
    """A metric's name in words (:func:`featurehealth.dashboard.views.metric_name`), broken into lines of
    ``chars``, drawn as written (:func:`featurehealth.display.plain_label`)."""
    import textwrap

    from featurehealth.dashboard.views import metric_name
    from featurehealth.display import plain_label

    # Whole words only: a long one cut in two could split the escape of a "$".
    return "\n".join(textwrap.wrap(plain_label(metric_name(metric)), chars, break_long_words=False))


def _figure(width: float, height: float, *, rows: int = 1, cols: int = 1, **kwargs: Any) -> tuple["Figure", Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    # Without a canvas every text measure (of each tick label, say) renders the whole figure into
    # a new image: quadratic in the rows, 1.8 GB for a heatmap of 100 features.
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def figure_png(fig: "Figure", *, dpi: int = DPI) -> bytes:
    """PNG bytes of ``fig``.

    Raises
    ------
    ValueError
        If ``dpi`` is below 20.
    """
    if dpi < 20:
        raise ValueError(f"dpi must be >= 20, got {dpi!r}.")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def message_figure(text: str) -> "Figure":
    """A small figure that only says ``text`` (for a panel whose data is absent)."""
    from featurehealth.display import plain_label

    fig, axes = _figure(6, 1.2)
    axes[0, 0].axis("off")
    axes[0, 0].text(0.5, 0.5, plain_label(text), ha="center", va="center", wrap=True)
    return fig


def _concise_dates(ax: "Axes") -> None:
    """Short date ticks: "Apr 15" for days, "Feb" for months ("Jan 2026" at a new year), and the
    year, or both years across New Year, in the corner when the ticks do not name it.

    Full ISO dates every two weeks ran into each other on a 9-inch figure (ci's 120 days), and
    matplotlib's concise ticks "Apr 08 15 May 08" beside "2026-Jun" in the corner read as
    "May / 2026-May": which month "08" is, and that the corner is only the last tick's month.
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, num2date

    class YearsInCorner(ConciseDateFormatter):
        years: tuple[int, ...] = ()

        def format_ticks(self, values: Any) -> list[str]:
            self.years = tuple(sorted({num2date(v).year for v in values}))
            return super().format_ticks(values)

        def get_offset(self) -> str:
            # Only where the parent writes one (day ticks; month ticks name the year at January).
            if not super().get_offset() or not self.years:
                return ""
            return "-".join(map(str, dict.fromkeys([self.years[0], self.years[-1]])))

    import numpy as np

    class EvenDays(AutoDateLocator):
        # Day ticks count from each month's first (1, 5, ... 29, then 1): a tick closer to the next
        # than three quarters of the usual step ran into it ("Sep 29Oct 01"); the month's first stays.
        def __call__(self) -> Any:
            ticks = np.asarray(super().__call__())
            if len(ticks) < 3:
                return ticks
            gaps = np.diff(ticks)
            return ticks[np.append(gaps >= 0.75 * np.median(gaps), True)]

    locator = EvenDays()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(YearsInCorner(
        locator, formats=["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%S.%f"],
        zero_formats=["", "%b %Y", "%b %d", "%b %d", "%H:%M", "%H:%M"]))


def _shade_incidents(ax: "Axes", incidents: "pd.DataFrame | None", *, label: bool) -> None:
    import pandas as pd

    if incidents is None:
        return
    for i, row in enumerate(incidents.itertuples(index=False)):
        ax.axvspan(pd.Timestamp(row.start), pd.Timestamp(row.end) + pd.Timedelta(days=1), color="#ef9a9a",
                   alpha=0.35, lw=0, label="known incident" if label and i == 0 else None)


def drilldown_figure(
    series: "pd.DataFrame",
    *,
    thresholds: Mapping[str, Mapping[str, Any]],
    incidents: "pd.DataFrame | None",
    cutoffs: Sequence[float],
    title: str,
) -> "Figure":
    """Time series of one feature with its degradation limits, incidents, degraded days and risk score.

    The degraded days (``is_degraded``: any rule, on any metric) are red bars in a strip of their
    own above the risk panel: marked on every metric panel, they made a healthy latency line look
    degraded on a day its crash rate broke its limit.

    Parameters
    ----------
    series : DataFrame
        :func:`featurehealth.dashboard.views.feature_series` rows.
    thresholds : mapping
        :func:`featurehealth.dashboard.views.threshold_lines` of the same rows.
    incidents : DataFrame or None
        The feature's known incidents (``start``, ``end``), shaded in every panel.
    cutoffs : sequence of float
        Risk bucket cut-offs (medium, high), drawn and named on the risk panel.
    title : str
        Figure title.
    """
    from featurehealth.display import MAX_TITLE_CHARS, plain_label

    import numpy as np
    import pandas as pd

    panels = len(DRILLDOWN_METRICS)
    # No wider than the narrowest page, which would shrink it (and its text) to fit.
    fig, axes = _figure(NARROWEST_PAGE_PX / DPI, 10, rows=panels + 2, sharex=True,
                        gridspec_kw={"height_ratios": [1] * panels + [0.22, 1]})
    dates = series["date"]
    if incidents is not None and len(dates):
        # Only those on the feature's days: one outside them (a new feed beside the simulator's
        # earlier months) stretched the shared axis and was named in a legend with nothing to see.
        starts, ends = pd.to_datetime(incidents["start"]), pd.to_datetime(incidents["end"])
        incidents = incidents[(starts <= dates.max()) & (ends >= dates.min())]
    for ax, column in zip(axes[:panels, 0], DRILLDOWN_METRICS, strict=True):
        _shade_incidents(ax, incidents, label=ax is axes[0, 0])
        # The metric's line is named by its axis, not in the key.
        ax.plot(dates, series[column], color="#1565c0", lw=1.2)
        limits = thresholds.get(column, {})
        if limits.get("absolute") is not None:
            ax.axhline(limits["absolute"], **(FLOOR_LINE if column in ABSOLUTE_LABELS else ABSOLUTE_LINE),
                       label=ABSOLUTE_LABELS.get(column, "absolute limit"))
        if limits.get("relative") is not None:
            # A limit on a day without the feature's data judged nothing: drawn there it read as measured.
            relative = np.where(series.get("has_data", True), np.asarray(limits["relative"], dtype="float64"), np.nan)
            ax.plot(dates, relative, color="#ef6c00", ls=":", lw=1.2, label="relative limit")
        ax.set_ylabel(_metric_text(column))
    _degraded_strip(axes[panels, 0], series, incidents=incidents)
    risk_ax = axes[-1, 0]
    _shade_incidents(risk_ax, incidents, label=False)
    risk = series["risk_probability"] if "risk_probability" in series else None
    if risk is None or risk.isna().all():
        risk_ax.text(0.5, 0.5, "risk score not available for this feature", transform=risk_ax.transAxes, ha="center")
    else:
        risk_ax.plot(dates, risk, color="#6a1b9a", marker=".", lw=1.2, label="risk score")
        first = dates[risk.notna()].min()
        if first - dates.min() >= (dates.max() - dates.min()) / 4:
            # 03_model scores from its test days on (earlier days built the model): say so rather
            # than leave most of the panel blank (a narrower gap has no room for the words).
            risk_ax.text(dates.min() + (first - dates.min()) / 2, 0.5,
                         f"no risk score before {first:%Y-%m-%d}\n(scores start with the model's test days)",
                         ha="center", va="center", fontsize=8, color="#757575",
                         bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})  # over the bucket lines
        from featurehealth.display import number_text

        # Named in the legend: two bare dashed lines did not say which bucket starts where. Written
        # as the ranking writes a risk, so a feature's score and its bucket's start compare.
        for cut, bucket, style in zip(cutoffs, ("medium", "high"), ("--", "-."), strict=False):
            risk_ax.axhline(cut, color="#757575", ls=style, lw=0.8, label=f"{bucket} from {number_text(cut)}")
        risk_ax.set_ylim(0, 1)
    risk_ax.set_ylabel("risk score")
    if len(dates):
        # The feature's days, day-wide bars included; an incident running past them is cut there.
        risk_ax.set_xlim(dates.min(), dates.max() + pd.Timedelta(days=1))
    _concise_dates(risk_ax)  # the panels share the x axis, so its ticks
    fig.suptitle(plain_label(title, max_chars=MAX_TITLE_CHARS))  # a feature's name: drawn as written, never as mathtext
    # One key for the panels, each line style once, above them: a legend right of each panel took a fifth
    # of the width, which the page shrank with the whole figure in a narrow window. Held by the top panel,
    # as a figure legend above the panels ran into the title.
    key = {label: handle for ax in axes[:, 0] for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    if key:
        axes[0, 0].legend(key.values(), key.keys(), loc="lower center", bbox_to_anchor=(0.5, 1.02), ncols=3,
                          fontsize=LEGEND_PT, frameon=False)
    return fig


def _degraded_strip(ax: "Axes", series: "pd.DataFrame", *, incidents: "pd.DataFrame | None") -> None:
    """The feature's degraded days (any rule) as red day-wide bars, or a word when there are none."""
    from matplotlib.dates import date2num

    _shade_incidents(ax, incidents, label=False)
    ax.set(yticks=[], ylim=(0, 1))
    ax.set_ylabel("degraded", rotation=0, ha="right", va="center")
    if "is_degraded" not in series:
        message = "degraded days not available"
    else:
        days = series.loc[series["is_degraded"].fillna(False).astype(bool), "date"]
        message = "" if len(days) else "no degraded day"
    if message:
        ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=8, color="#757575")
        return
    # Day-wide, as the incidents are shaded: from the day's start to the next day's.
    ax.broken_barh([(date2num(day), 1.0) for day in days], (0, 1), color="#c62828",
                   label="feature degraded (any rule)")


def _status_codes(cells: "pd.DataFrame") -> "pd.DataFrame":
    # Rows and columns in the cells' order: the caller ranks the features (pivot sorts them by id).
    features, metrics = list(dict.fromkeys(cells["feature_id"])), list(dict.fromkeys(cells["metric"]))
    matrix = cells.pivot(index="feature_id", columns="metric", values="status").loc[features, metrics]
    return matrix.apply(lambda column: column.map({s: i for i, s in enumerate(drift.STATUSES)})).astype("float64")


def check_score(score: str) -> None:
    """Raise ValueError if ``score`` is not one of :data:`DRIFT_SCORES`."""
    if score not in DRIFT_SCORES:
        raise ValueError(f"score must be one of {', '.join(DRIFT_SCORES)}, got {score!r}.")


def score_label(value: float, *, score: str) -> str:
    """A heatmap cell's number: two decimals, or two significant digits for the KS p-value.

    0.004 and 0.0004 must not both read 0.00, and a tiny p-value reads ``< 0.000001`` rather
    than 0 or scientific notation (:func:`featurehealth.dashboard.views.pvalue_text`); a value that
    rounds to zero reads 0.00, not -0.00.

    Raises
    ------
    ValueError
        If ``score`` is not one of :data:`DRIFT_SCORES`.
    """
    check_score(score)
    return _score_text(value, score=score)


def _score_text(value: float, *, score: str) -> str:
    """:func:`score_label` of a ``score`` already checked (the heatmap checks it once, not per cell)."""
    from featurehealth.dashboard.views import pvalue_text

    return pvalue_text(value, digits=2) if score == "ks_pvalue" else f"{round(value, 2) + 0.0:.2f}"


def _luminance(colour: str) -> float:
    """W3C relative luminance of a matplotlib colour."""
    import numpy as np
    from matplotlib.colors import to_rgb

    rgb = np.asarray(to_rgb(colour))
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two matplotlib colours (1 to 21; text needs 4.5 for level AA)."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour(colour: str) -> str:
    """Dark or white text, whichever contrasts more with ``colour``.

    Seaborn's rule (white below a luminance of 0.408) wrote white on the ok green at 2.4:1.
    """
    return max((".15", "white"), key=lambda text: contrast_ratio(text, colour))


#: Size of the status and score written in each drift heatmap cell (7 pt was too small to read at 90 dpi).
HEATMAP_TEXT_PT = 10
#: Width (in) of a drift heatmap column: "too little data" at :data:`HEATMAP_TEXT_PT` is 88 px, a column 99 px.
#: With the feature ids beside them, the ``default`` profile's six metrics fit :data:`NARROWEST_PAGE_PX`.
HEATMAP_COLUMN_IN = 1.1
#: Characters of a metric's name per line over a heatmap column (:data:`METRIC_LINE_CHARS`' 18 ran
#: "p95 latency (ms)" 110 px wide, into its neighbour's name).
HEATMAP_LINE_CHARS = 12
#: Room (in) beside the columns and the ids' labels: the "feature" axis label and the layout's pads.
HEATMAP_MARGIN_IN = 0.5


def drift_heatmap(cells: "pd.DataFrame", *, score: str) -> "Figure":
    """Feature x metric heatmap coloured by drift status, each cell printing ``score`` below its status
    in words unless it is ok (:data:`STATUS_WORDS`).

    Features and metrics are drawn in the order of ``cells`` (see
    :func:`featurehealth.dashboard.views.most_pressing_cells`); a cell the report lacks is left
    blank. Drawn with matplotlib alone: seaborn's heatmap imported seaborn (and scipy.stats) when
    the Drift tab first opened and drew the whole figure once more to decide its labels' angle.

    Raises
    ------
    ValueError
        If ``score`` is not one of :data:`DRIFT_SCORES`.
    """
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from featurehealth.display import MAX_LABEL_CHARS, plain_label

    check_score(score)
    codes = _status_codes(cells)
    values = (cells.pivot(index="feature_id", columns="metric", values=score).loc[codes.index, codes.columns]
              if score in cells else None)
    numbers = (codes.map(lambda _v: "") if values is None
               else values.map(lambda v: "" if v is None or v != v else _score_text(v, score=score)))
    statuses = drift.STATUSES
    words = codes.map(lambda code: "" if code != code else STATUS_WORDS.get(statuses[int(code)], ""))
    labels = np.vectorize(lambda word, number: "\n".join(filter(None, (word, number))), otypes=[object])(
        words.to_numpy(), numbers.to_numpy())
    rows, columns = codes.shape
    # A row holds two lines of HEATMAP_TEXT_PT (status, score) with a margin: 0.4 in at 10 pt. The width is
    # set once the ids' labels are measured; the key above the cells, not beside them, takes none of it.
    fig, axes = _figure(HEATMAP_COLUMN_IN * columns, 2.9 * HEATMAP_TEXT_PT / 72 * rows + 2.1)
    ax = axes[0, 0]
    grid = np.ma.masked_invalid(codes.to_numpy())
    ax.pcolormesh(grid, cmap=ListedColormap([STATUS_COLOURS[s] for s in statuses]), vmin=-0.5,
                  vmax=len(statuses) - 0.5, linewidths=0.5, edgecolor="white")
    ax.set(xlim=(0, columns), ylim=(rows, 0))  # first feature on top
    ax.spines[:].set_visible(False)
    # Feature ids are the export's text: drawn as written, never as mathtext.
    names = [plain_label(i, max_chars=MAX_LABEL_CHARS) for i in codes.index]
    ax.set_xticks(np.arange(columns) + 0.5, [_metric_text(c, chars=HEATMAP_LINE_CHARS) for c in codes.columns])
    ax.set_yticks(np.arange(rows) + 0.5, names, va="center")
    text_colours = [text_colour(STATUS_COLOURS[s]) for s in statuses]
    for (row, column), text in np.ndenumerate(labels):
        if text and grid[row, column] is not np.ma.masked:
            # Inside their cells, so the layout need not measure them (150 texts at 25 features).
            ax.text(column + 0.5, row + 0.5, text, ha="center", va="center", fontsize=HEATMAP_TEXT_PT,
                    color=text_colours[int(grid[row, column])], in_layout=False)
    ax.set_xlabel("metric")
    ax.set_ylabel("feature")
    # One row over the cells, as the drill-down's key: beside them it took 1.2 in of the width. Both on the
    # left, where a heatmap wider than the window (scrolled sideways in its box) shows them whole.
    key = ax.legend(handles=[Patch(color=STATUS_COLOURS[s], label=STATUS_WORDS.get(s, s)) for s in statuses],
                    loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(statuses), frameon=False, fontsize=LEGEND_PT)
    title = fig.suptitle(f"Colour: drift status; number: {DRIFT_SCORES[score]}", x=0.01, ha="left")
    # As wide as the columns (or the key over one or two) and the widest id ask, or the title; no wider.
    renderer = fig.canvas.get_renderer()
    # Measured from their strings: a tick label gets its text only when drawn.
    font = ax.yaxis.get_major_ticks()[0].label1.get_fontproperties()
    widest = max(renderer.get_text_width_height_descent(name, font, ismath=False)[0] for name in names) / fig.dpi
    cells_in = max(HEATMAP_COLUMN_IN * columns, key.get_window_extent(renderer).width / fig.dpi)
    title_in = title.get_window_extent(renderer).width / fig.dpi / 0.98  # it starts 1 % in
    fig.set_figwidth(max(cells_in + widest + HEATMAP_MARGIN_IN, title_in))
    return fig


def drift_cell_figure(
    series: "pd.DataFrame", *, metric: str, windows: Mapping[str, Any] | None, title: str
) -> "Figure":
    """One feature's ``metric`` over time, named in words, with the drift reference and current windows shaded."""
    import pandas as pd

    from featurehealth.dashboard.views import metric_name
    from featurehealth.display import MAX_TITLE_CHARS, plain_label

    fig, axes = _figure(NARROWEST_PAGE_PX / DPI, 2.8)  # as the drill-down: never shrunk with its text
    ax = axes[0, 0]
    words = plain_label(metric_name(metric))
    ax.plot(series["date"], series[metric], color="#1565c0", lw=1.2, label=words)
    for name, colour in (("reference", "#90caf9"), ("current", "#ffcc80")):
        window = (windows or {}).get(name)
        if not (isinstance(window, dict) and window.get("start") and window.get("end")):
            continue
        start, end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
        # A window of no day (a reference before the data starts) ends before it begins: nothing to shade.
        if end >= start:
            ax.axvspan(start, end + pd.Timedelta(days=1), color=colour, alpha=0.4, lw=0, label=f"{name} window")
    ax.set_ylabel(words)
    _concise_dates(ax)
    # Outside the axes, as in the drill-down: inside, the line crossed its words and it hid the first days.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_title(plain_label(title, max_chars=MAX_TITLE_CHARS))  # names a feature: drawn as written, never as mathtext
    return fig


def curves_figure(predictions: "pd.DataFrame") -> "Figure":
    """ROC and precision-recall curves of the model and of each baseline score present, each scorer in
    its own line style and markers (:data:`SCORER_LINES`) as well as colour.

    Without both classes among the labelled rows (own telemetry with no degraded day ahead on
    the test days) the curves are undefined: each panel says "not available" instead.
    """
    from sklearn.metrics import precision_recall_curve, roc_curve

    from featurehealth.dashboard.views import scorer_name

    labelled = predictions[predictions["y_true"].notna()]
    y = labelled["y_true"].to_numpy(dtype=int)
    fig, axes = _figure(NARROWEST_PAGE_PX / DPI, 4, cols=2)  # as the drill-down: never shrunk with its text
    roc_ax, pr_ax = axes[0]
    if labelled["y_true"].nunique() < 2:
        for ax, title in ((roc_ax, "ROC (test period)"), (pr_ax, "Precision-recall (test period)")):
            ax.text(0.5, 0.5, "not available: no test day is followed\nby a degraded day within the horizon",
                    transform=ax.transAxes, ha="center", va="center")
            ax.set(title=title, xticks=[], yticks=[])
        return fig
    for column, key in SCORERS.items():
        if column not in labelled:
            continue
        name = scorer_name(key)
        score = labelled[column].to_numpy(dtype=float)
        fpr, tpr, _ = roc_curve(y, score)
        precision, recall, _ = precision_recall_curve(y, score)
        # markevery as a share of the line's length: a few markers however many thresholds.
        line = {**SCORER_LINES.get(key, {}), "markevery": 0.1, "markersize": 5, "fillstyle": "none"}
        roc_ax.plot(fpr, tpr, label=name, **line)
        pr_ax.step(recall, precision, where="post", label=name, **line)
    roc_ax.plot([0, 1], [0, 1], color="#9e9e9e", ls=":", lw=1)
    pr_ax.axhline(y.mean(), color="#9e9e9e", ls=":", lw=1, label="base rate")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test period)")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test period)")
    for ax in (roc_ax, pr_ax):
        ax.legend(fontsize=8, frameon=False)
    return fig


#: Equal-width bins over [0, 1] of the histogram of predictions under the calibration curve.
CALIBRATION_HISTOGRAM_BINS = 20


def calibration_bins(y_true: "np.ndarray", probability: "np.ndarray", *, n_bins: int) -> "pd.DataFrame":
    """Quantile bins of a reliability diagram, as scikit-learn's ``calibration_curve`` cuts them, with their sizes.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin: mean ``predicted`` probability, ``observed`` share of positives
        and ``n`` rows (tied probabilities merge bins, so sizes differ).
    """
    import numpy as np
    import pandas as pd

    # calibration_curve returns no counts; its binning is repeated here to have them.
    edges = np.percentile(probability, np.linspace(0, 100, n_bins + 1))
    ids = np.searchsorted(edges[1:-1], probability)
    n = np.bincount(ids, minlength=n_bins)
    kept = n > 0
    return pd.DataFrame({
        "predicted": np.bincount(ids, weights=probability, minlength=n_bins)[kept] / n[kept],
        "observed": np.bincount(ids, weights=y_true, minlength=n_bins)[kept] / n[kept],
        "n": n[kept],
    })


def calibration_figure(predictions: "pd.DataFrame", *, n_bins: int = 10) -> "Figure":
    """Reliability diagram of the model's probability (quantile bins, their sizes in the legend) above a
    histogram of the predictions, which shows how many feature-days each stretch of the curve rests on.

    Raises
    ------
    ValueError
        If ``n_bins`` is below 2.
    """
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins!r}.")
    labelled = predictions[predictions["y_true"].notna()]
    probability = labelled["probability"].to_numpy(dtype=float)
    bins = calibration_bins(labelled["y_true"].to_numpy(dtype=int), probability, n_bins=n_bins)
    smallest, largest = int(bins["n"].min()), int(bins["n"].max())
    sizes = f"{smallest}" if smallest == largest else f"{smallest} to {largest}"
    fig, axes = _figure(5, 5, rows=2, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax, strip = axes[0, 0], axes[1, 0]
    ax.plot([0, 1], [0, 1], color="#9e9e9e", ls=":", lw=1, label="perfect")
    ax.plot(bins["predicted"], bins["observed"], marker="o", color="#6a1b9a",
            label=f"model (bins of {sizes} feature-days)")
    ax.set(ylabel="observed share degraded", title="Calibration (test period)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=8, frameon=False)
    strip.hist(probability, bins=CALIBRATION_HISTOGRAM_BINS, range=(0, 1), color="#b39ddb")
    strip.set(xlabel="predicted probability", ylabel="feature-days")
    return fig


#: Characters per line of a signal's name beside its importance bar (wrapped at spaces).
IMPORTANCE_LABEL_CHARS = 38


def importance_figure(importance: "pd.DataFrame", *, top: int = 15) -> "Figure":
    """The ``top`` signals by permutation importance (with its spread) as horizontal bars, each named
    in words (:func:`featurehealth.dashboard.views.signal_name`; the ids are in
    :func:`featurehealth.dashboard.views.signal_ids_note`).

    When no signal has one (no test day followed by a degraded day), the panel says so.

    Raises
    ------
    ValueError
        If ``top`` is below 1.
    """
    if top < 1:
        raise ValueError(f"top must be >= 1, got {top!r}.")
    if importance["permutation_importance"].isna().all():
        fig, axes = _figure(6, 1.6)
        axes[0, 0].text(0.5, 0.5, "permutation importance not available: no test day is followed\n"
                        "by a degraded day within the horizon", transform=axes[0, 0].transAxes, ha="center", va="center")
        axes[0, 0].set(title="Signals", xticks=[], yticks=[])
        return fig
    import textwrap

    from featurehealth.dashboard.views import signal_name
    from featurehealth.display import plain_label

    shown = importance.sort_values("permutation_importance", ascending=False).head(top).iloc[::-1]
    # In words, wrapped: "newest app version's share of events, 3-day mean ..." on one line took half the width.
    labels = [textwrap.fill(plain_label(signal_name(s)), IMPORTANCE_LABEL_CHARS) for s in shown["signal"]]
    # Rows are evenly spaced: each as high as the name of most lines (8 pt lines, 0.135 in).
    lines = max(label.count("\n") + 1 for label in labels)
    fig, axes = _figure(6, (0.135 * lines + 0.06) * len(shown) + 1.2)
    ax = axes[0, 0]
    spread = shown["permutation_std"] if "permutation_std" in shown else None
    ax.barh(range(len(shown)), shown["permutation_importance"], xerr=spread, color="#42a5f5")
    ax.set_yticks(range(len(shown)), labels, fontsize=8)
    ax.set(xlabel="drop in PR-AUC when shuffled", title=f"Top {len(shown)} signals")
    return fig


def lead_time_figure(days: Sequence[float]) -> "Figure":
    """Histogram of early-warning lead times (days from first warning to incident start): one bar per
    lead time, as high as the incidents warned that long ahead."""
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    fig, axes = _figure(5, 3)
    ax = axes[0, 0]
    lead, count = np.unique(np.asarray(days, dtype=float), return_counts=True)
    ax.bar(lead, count, width=1.0, color="#26a69a", edgecolor="white")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole days
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of incidents: never 0.2 of one
    ax.set(xlabel="lead time (days before incident start)", ylabel="incidents", title="Lead-time distribution")
    return fig


#: PNG files of a model version's held-out figures (see :func:`model_report_figures`).
MODEL_FIGURES = ("model_curves.png", "model_calibration.png", "lead_times.png")


def model_report_figures(predictions: "pd.DataFrame", early_warning: Mapping[str, Any]) -> dict[str, "Figure"]:
    """The held-out figures of a model version, by file name from :data:`MODEL_FIGURES`.

    Curves and calibration always; the lead-time histogram only when the early-warning figures
    are available (ground truth was given).
    """
    figures = {"model_curves.png": curves_figure(predictions), "model_calibration.png": calibration_figure(predictions)}
    if early_warning.get("available"):
        figures["lead_times.png"] = lead_time_figure(early_warning["lead_times_days"])
    return figures


def quarantine_figure(counts: "pd.Series") -> "Figure":
    """Quarantined rows by reason, as horizontal bars."""
    fig, axes = _figure(6, 0.35 * len(counts) + 1.2)
    ax = axes[0, 0]
    ordered = counts.iloc[::-1]
    ax.barh(ordered.index, ordered.to_numpy(), color="#8d6e63")
    ax.set(xlabel="rows quarantined", title="Quarantined rows by reason")
    return fig


#: Bar slots the run history figure keeps at least, so one or two runs draw as bars of the usual width.
RUN_HISTORY_SLOTS = 10


def run_history_figure(runs: "pd.DataFrame") -> "Figure":
    """Duration of recent runs (oldest left), coloured by status, the runs that did not succeed also
    hatched (red and green alone look alike to red-green colour-blind readers); an unknown duration
    is written, not drawn as 0."""
    ordered = runs.iloc[::-1]
    succeeded = (ordered["status"] == "succeeded").tolist()
    fig, axes = _figure(NARROWEST_PAGE_PX / DPI, 2.8)  # as the drill-down: never shrunk with its text
    ax = axes[0, 0]
    durations = ordered["duration_s"].astype("float64")
    bars = ax.bar(range(len(ordered)), durations.fillna(0.0),
                  color=["#66bb6a" if ok else "#e53935" for ok in succeeded], edgecolor="white")
    for bar, ok in zip(bars, succeeded, strict=True):
        bar.set_hatch(None if ok else "//")
    # A run killed before writing its report has no duration: say so, an empty bar reads "0 s".
    for x in (i for i, unknown in enumerate(durations.isna()) if unknown):
        ax.text(x, 0, NOT_AVAILABLE_SHORT, ha="center", va="bottom", rotation=90, fontsize=7, color="#555")
    labels = [started[:16].replace("T", " ") if isinstance(started, str) else str(run_id)
              for started, run_id in zip(ordered["started_at"], ordered["run_id"], strict=True)]
    ax.set_xticks(range(len(ordered)), labels, rotation=30, ha="right", fontsize=7)
    # Room for at least RUN_HISTORY_SLOTS bars: the first run alone would fill the axis as one slab.
    ax.set_xlim(-0.5, max(len(ordered), RUN_HISTORY_SLOTS) - 0.5)
    # Run reports store start times in UTC; unlabelled, a reader elsewhere takes them for local time.
    ax.set(xlabel="started (UTC)", ylabel="duration (s)",
           title="Recent runs (green: succeeded; red, hatched: failed or interrupted)")
    return fig
