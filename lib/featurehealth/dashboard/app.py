"""The ipywidgets application that ``notebooks/dashboard.ipynb`` shows through Voila.

One tab per question a stakeholder asks; a tab is drawn the first time it is selected, so the
page is ready as soon as the Overview tiles are. Each callback redraws only its own Output, by
assigning the Output's ``outputs`` (atomic, and testable without a kernel). Errors in a callback
are shown in the status area at the top, never as a traceback; a missing or corrupt artifact is
a note in its tab.
"""

from __future__ import annotations

import base64
import functools
import html
import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
# Imported with the app, which the notebook imports while Voila pre-heats its kernel: the first
# figure of a page (the Drift tab's heatmap, say) waited 0.5-1 s for matplotlib otherwise.
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
from matplotlib.figure import Figure

from featurehealth import config, earlywarning
from featurehealth.dashboard import data, plots, views

# Debug level: a warning would print its traceback into the page through the kernel's stderr.
LOG = logging.getLogger(__name__)
#: Tab slug (also its CSS class ``fh-tab-<slug>`` and screenshot name) -> title, in page order.
TABS = {
    "overview": "Overview", "ranking": "Risk ranking", "drilldown": "Feature drill-down", "drift": "Drift",
    "model": "Model", "quality": "Data quality", "history": "Run history",
}
#: The drift heatmap draws at most this many features, the most pressing (about 1,095 px high);
#: above this many it starts with the flagged ones only.
MAX_HEATMAP_FEATURES = 25
#: Fact columns the drill-down and drift tabs read.
FACT_COLUMNS = ("feature_id", "date", "feedback_count", *plots.DRILLDOWN_METRICS)
# Selectors start at .fh-app to outrank JupyterLab's rendered-HTML table rules.
_STYLE = (
    "<style>.fh-app table.fh-table{border-collapse:collapse;font-size:12px}"
    ".fh-app table.fh-table th,.fh-app table.fh-table td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}"
    # Values stay on one line; headers wrap when a table is wider than its box (on one line, the early
    # warning's short numbers under long headers ran 1,723 px wide), bottom-aligned with one another.
    ".fh-app table.fh-table td{white-space:nowrap}"
    ".fh-app table.fh-table th{background:#f5f5f5;position:sticky;top:0;vertical-align:bottom}"
    ".fh-app table.fh-table td.fh-wrap{white-space:normal;min-width:24em}.fh-app img.fh-figure{max-width:100%}"
    # A name's raw id, after its words: 6.2:1 on white, readable but quieter than the words.
    ".fh-app .fh-id{color:#616161;font-size:11px}"
    # A ranking's feature names link to their drill-down: #0d47a1 is 8.6:1 on white, and underlined,
    # since its colour alone is only 2.4:1 beside the black text around it (WCAG asks 3:1 or a mark).
    ".fh-app table.fh-table a{color:#0d47a1;text-decoration:underline}"
    # Tabs have a fixed width that cut "Feature drill-down" below ~1000 px: fit the label, wrap the row.
    ".fh-app .lm-TabBar-content{flex-wrap:wrap}.fh-app .lm-TabBar-tab{flex:0 0 auto;min-width:max-content}"
    # The titles of the tabs not open were the widgets' 54 % black on #eeeeee, 4.45:1: #555555 is 6.4:1.
    ".fh-app .lm-TabBar-tab:not(.lm-mod-current) .lm-TabBar-tabLabel{color:#555555}"
    # Below 1280 px the ranking, its why kept 24em wide, and the quality checks scrolled sideways (873 and
    # 1,160 px in the 710 px of an 800 px window): there values wrap too, a sentence keeps 12em, and
    # narrower padding leaves the early warning's ten columns room.
    "@media (max-width:1279px){.fh-app table.fh-table td{white-space:normal}"
    ".fh-app table.fh-table td.fh-wrap{min-width:12em}"
    ".fh-app table.fh-table th,.fh-app table.fh-table td{padding:3px 5px}}"
    # A focused control got only a 1 px #64b5f6 border (2.2:1 on white; WCAG asks 3:1 of a focus
    # indicator): a 2 px outline at 5.7:1 instead. !important, as the widgets' CSS sets outline: none !important.
    ".fh-app select:focus-visible,.fh-app input:focus-visible,.fh-app button:focus-visible,"
    ".fh-app .lm-TabBar-tab:focus-visible,.fh-app .fh-scroll:focus-visible,.fh-app a:focus-visible"
    "{outline:2px solid #1565c0 !important;"
    "outline-offset:1px}"
    # Lists and boxes have a width in pixels (360 px): in a phone's 320 px they ran past the tab's edge, cut.
    # Their margin is outside the width, so 100 % alone left them 2 px too wide, and the tab scrolling.
    ".fh-app .widget-inline-hbox{max-width:calc(100% - 2 * var(--jp-widgets-margin))}"
    # Printed, the page's frame kept the window's size in pixels and clipped the rest (one A4 sheet, cut at
    # the right and after the window's height), and a table's box scrolled: the page flows over the sheets.
    "@media print{:has(.fh-app){position:static !important;width:auto !important;height:auto !important;"
    "overflow:visible !important;contain:none !important;break-inside:auto !important}"
    # Nothing scrolls on paper: a box that would (a table's, the tab's) shows all it holds.
    ".fh-app,.fh-app *{overflow:visible !important}.fh-app .fh-scroll{max-height:none !important}"
    # The early warning's ten columns ran past the tab's edge on A4: the tab's padding leaves them room.
    ".fh-app .widget-tab-contents{padding:4px}"
    ".fh-app img.fh-figure{max-width:100% !important}.fh-app table.fh-table th{position:static}"
    # JupyterLab keeps each output on one sheet: the whole app, then each table, moved on and left blank sheets.
    ".fh-app .jp-OutputArea-child{break-inside:auto}"
    ".fh-app tr,.fh-app img,.fh-app .fh-tile{break-inside:avoid}}</style>"
)


def html_output(markup: str) -> dict[str, Any]:
    """An nbformat display_data output holding ``markup`` (already escaped HTML), as text MathJax leaves alone."""
    wrapped = f"<div class='{views.NO_MATH_CLASS}'>{markup}</div>"
    return {"output_type": "display_data", "data": {"text/html": wrapped, "text/plain": ""}, "metadata": {}}


def png_output(png: bytes, *, alt: str, scroll: bool = False) -> dict[str, Any]:
    """An nbformat display_data output showing a PNG image with ``alt`` as its alt text.

    HTML, since the page draws an ``image/png`` output as an ``<img>`` without one: a screen
    reader said nothing of the figure. ``alt`` says what it shows, not only which figure it is.
    With ``scroll`` the image keeps its own size in a box that scrolls sideways where the page is
    narrower, focusable as the tables' boxes are (:func:`views.html_table`); else the page shrinks it to fit.
    """
    source = base64.b64encode(png).decode("ascii")
    size = " style='max-width:none'" if scroll else ""
    markup = (f"<img class='fh-figure'{size} src='data:image/png;base64,{source}' "
              f"alt='{html.escape(alt, quote=True)}'>")
    if scroll:
        markup = f"<div class='fh-scroll' tabindex='0' style='overflow-x:auto'>{markup}</div>"
    return {"output_type": "display_data", "data": {"text/html": markup, "text/plain": alt}, "metadata": {}}


def figure_output(fig: Figure, *, alt: str, scroll_if_wide: bool = False) -> dict[str, Any]:
    """A figure as a PNG output with its alt text (the figure is not kept anywhere afterwards); with
    ``scroll_if_wide``, one wider than :data:`plots.NARROWEST_PAGE_PX` scrolls (:func:`png_output`)."""
    wide = fig.get_figwidth() * plots.DPI > plots.NARROWEST_PAGE_PX
    return png_output(plots.figure_png(fig), alt=alt, scroll=scroll_if_wide and wide)


def notes_output(messages: list[str]) -> list[dict[str, Any]]:
    """Warning notes for the distinct non-empty ``messages``, in order (none when all are empty).

    Artifacts missing for one reason (a profile folder removed) give the same sentence each: it is
    shown once.
    """
    return [html_output(views.status_html(m, tone="warn")) for m in dict.fromkeys(messages) if m]


class Dashboard:
    """Widgets and callbacks of the dashboard for the profiles that have outputs.

    Parameters
    ----------
    profile : str
        Preferred profile; if it has no outputs the first profile that has is shown
        (:func:`data.default_profile`).
    query : str
        The query string of a shared link (``tab=drift``, ``feature=F042``; :meth:`follow_link`).
    """

    def __init__(self, *, profile: str, query: str = "") -> None:
        chosen = data.default_profile(profile)
        #: The profile the page opens on, which a link's query does not name.
        self.home = chosen
        #: The feature a link asks the drill-down to open on (:meth:`follow_link`).
        self.linked: str | None = None
        # Beside the Profile list while 20em fit there; else below it, in the page's width.
        self.status = widgets.HTML(layout=widgets.Layout(min_height="1.5em", flex="1 1 20em"))
        self.status.add_class("fh-status")
        self.profile = widgets.Dropdown(
            options=data.profile_options() if chosen else [], value=chosen,
            description="Profile", layout=widgets.Layout(width="260px"),
        )
        boxes = [widgets.VBox() for _ in TABS]
        for box, slug in zip(boxes, TABS, strict=True):
            box.add_class(f"fh-tab-{slug}")
        self.tabs = widgets.Tab(children=boxes, titles=tuple(TABS.values()))
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[Any, str]] = {}
        self._drawn: set[int] = set()
        self._stamp: tuple[int, int] | None = None
        self.widget = widgets.VBox([
            widgets.HTML(_STYLE),  # the page's title is the notebook's heading
            widgets.HBox([self.profile, self.status], layout=widgets.Layout(flex_flow="row wrap")),
            self.tabs,
        ])
        self.widget.add_class("fh-app")
        if chosen is None:
            self.say(f"No published outputs under {config.output_root()}: run ./run_all.sh ci first.", tone="bad")
            self.tabs.layout.display = "none"
            return
        opened = self.follow_link(query)
        self.tabs.selected_index = opened  # before observing it: the tab is drawn once, below
        self.profile.observe(self.guarded("switching profile", self.on_profile), names="value")
        self.tabs.observe(self.guarded("opening the tab", self.on_tab), names="selected_index")
        self.draw_tab(opened)

    # -- plumbing ---------------------------------------------------------------------------
    def say(self, message: str, *, tone: str = "neutral") -> None:
        """Show ``message`` in the status area ("" clears it)."""
        self.status.value = views.status_html(message, tone=tone) if message else ""

    def guarded(self, action: str, callback: Callable[..., None]) -> Callable[..., None]:
        """``callback`` wrapped so an exception becomes a status message naming ``action``."""

        @functools.wraps(callback)
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                callback(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the page shows the error instead of a traceback
                LOG.debug("dashboard: error while %s", action, exc_info=True)
                self.say(f"Error while {action}: {type(exc).__name__}: {exc}", tone="bad")

        return run

    def load(self, name: str, *, required: tuple[str, ...] = ()) -> tuple[Any, str]:
        """:func:`data.load_artifact` for the selected profile, read once per profile."""
        key = (name, required)
        if key not in self._cache:
            self._cache[key] = data.load_artifact(self.profile.value, name, required=required)
        return self._cache[key]

    def runs(self) -> tuple[Any, str]:
        """Run history of the selected profile, read once per profile."""
        key = ("runs", ())
        if key not in self._cache:
            self._cache[key] = data.run_history(self.profile.value)
        return self._cache[key]

    def params(self) -> tuple[dict[str, Any] | None, str]:
        """The parameters of the published run, or None and why.

        They come from ``reports/run_report.json`` (the run's own values, ``--set`` included).
        A report of an older release, without them, gets ``params/<profile>.yaml`` only where
        that still gives the run's ``params_hash`` (:func:`data.run_params_from_profile`). Else,
        or with no readable report, it is None and why: the limits and cut-offs then read "not
        available" rather than values the run may never have used.
        """
        key = ("params", ())
        if key not in self._cache:
            report, message = self.load("run_report")
            resolved = data.lookup(report, "params")
            if report is None:
                self._cache[key] = None, message.rstrip(".")
            elif isinstance(resolved, dict) and {"model", "degradation"} <= resolved.keys():
                self._cache[key] = resolved, ""
            else:
                self._cache[key] = data.run_params_from_profile(report, self.profile.value)
        return self._cache[key]

    def cutoffs(self) -> tuple[float, ...]:
        """This run's two risk-bucket cut-offs (:func:`views.bucket_cutoffs`), empty when unknown."""
        params, _ = self.params()
        return () if params is None else views.bucket_cutoffs(params["model"]["risk_buckets"], self.load("metrics")[0])

    def risk_note(self) -> dict[str, Any]:
        """The caption saying what risk, bucket and impact mean, with this run's horizon and cut-offs."""
        return html_output(views.status_html(views.risk_caption(self.load("metrics")[0], self.cutoffs())))

    def unpublished_note(self) -> list[dict[str, Any]]:
        """Warnings when the outputs are mid-publish (:func:`views.publish_note`) or the newest run
        published nothing (:func:`views.unpublished_run_note`), else nothing."""
        notes = [views.publish_note(data.publish_state(self.profile.value), profile=self.profile.value),
                 views.unpublished_run_note(self.runs()[0], self.load("run_report")[0],
                                            ever_published=data.published_stamp(self.profile.value) is not None)]
        return [html_output(views.status_html(note, tone="bad")) for note in notes if note]

    def follow_link(self, query: str) -> int:
        """The index of the tab a link's ``query`` opens (:func:`views.link_target`), keeping its feature for
        the drill-down; what of the link cannot be followed is said in the status area."""
        if not query.strip():
            return 0
        fact = self.load("fact", required=FACT_COLUMNS)[0]
        ids = set() if fact is None else set(fact["feature_id"].dropna().astype(str))
        tab, self.linked, note = views.link_target(query, tabs=tuple(TABS), features=ids)
        self.say(note, tone="warn")
        return list(TABS).index(tab) if tab else 0

    def links_here(self) -> bool:
        """Whether a link opens the selected profile: it opens :attr:`home`, where another profile's
        feature may be missing or another one, so only the home profile's tables link to it."""
        return self.profile.value == self.home

    def on_profile(self, _change: dict[str, Any]) -> None:
        """Forget everything read for the previous profile and redraw the open tab."""
        self._cache.clear()
        self._drawn.clear()
        for box in self.tabs.children:
            box.children = ()
        self.say("")
        self.draw_tab(self.tabs.selected_index or 0)

    def on_tab(self, change: dict[str, Any]) -> None:
        """Draw a tab the first time it is opened."""
        self.draw_tab(change["new"])

    def draw_tab(self, index: int) -> None:
        """Fill tab ``index`` (once per profile)."""
        if index in self._drawn:
            return
        stamp = data.published_stamp(self.profile.value)
        if self._drawn and stamp != self._stamp:
            # Tabs are drawn when first opened: this one would show the new run beside the old one.
            self.redraw_published(stamp)
            return
        self._stamp = stamp
        self._drawn.add(index)
        builders = (self.overview, self.ranking, self.drilldown, self.drift, self.model, self.quality, self.history)
        self.tabs.children[index].children = builders[index]()
        after = data.published_stamp(self.profile.value)
        if after != stamp:
            # A run swaps its folders in one at a time: this tab may have read files of both runs.
            self.redraw_published(after)

    def redraw_published(self, stamp: tuple[int, int] | None) -> None:
        """Draw every tab again for outputs published (``stamp``, :func:`data.published_stamp`) since
        the page was drawn, or gone (None), and say so."""
        self.on_profile({})
        self.say("A new run was published since this page was drawn: every tab now shows it." if stamp else
                 f"The published outputs of {self.profile.value} are gone since this page was drawn (removed, "
                 f"or a run is swapping its folders in): every tab now shows what is left.", tone="warn")

    def section(self, action: str, build: Callable[[], list[dict[str, Any]]]) -> widgets.Output:
        """A new Output filled by ``build``; an error becomes a note there and in the status area."""
        out = widgets.Output()
        self.fill(out, action, build)
        return out

    def fill(self, out: widgets.Output, action: str, build: Callable[[], list[dict[str, Any]]], *,
             busy: str = "") -> None:
        """Replace the content of ``out`` with ``build()`` (a list of outputs).

        With ``busy``, that note is shown above the old content while ``build`` runs: a redraw
        can take seconds (a drill-down, a heatmap), and an unchanged figure under a changed
        control read as the new one. The widget update reaches the page at once, the kernel
        sending it while it still computes.
        """
        if busy:
            out.outputs = (html_output(views.status_html(busy)), *out.outputs)
        try:
            out.outputs = tuple(build())
        except Exception as exc:  # noqa: BLE001 - the page shows the error instead of a traceback
            LOG.debug("dashboard: error while %s", action, exc_info=True)
            message = f"Error while {action}: {type(exc).__name__}: {exc}"
            out.outputs = (html_output(views.status_html(message, tone="bad")),)
            self.say(message, tone="bad")

    def feature_finder(
        self, picker: widgets.Dropdown, choices: list[tuple[str, str]], *, action: str,
        redraw: Callable[[dict[str, Any]], None],
    ) -> tuple[widgets.Combobox, widgets.HTML]:
        """A Find box for ``picker`` (a feature Dropdown of ``choices``) and the line shown beside it.

        Typing an id or part of a label (a name, or a risk bucket where the labels name one; Enter
        applies it) narrows the picker to the matches (:func:`views.find_features`) and picks the
        first; empty, or matching nothing (the line says so), it lists every feature again and keeps
        the one shown. ``redraw`` runs once per change of feature, picked or found; an error in it
        is reported as ``action``.
        """
        # The labels are suggested as the user types; anything else typed is matched on Enter.
        # "Find" alone left what it finds to the placeholder, gone once the box holds text.
        search = widgets.Combobox(options=[label for label, _ in choices], placeholder="feature id or part of a name",
                                  description="Find feature", continuous_update=False,
                                  style={"description_width": "initial"}, layout=widgets.Layout(width="300px"))
        search.add_class("fh-feature-search")
        note = widgets.HTML()
        on_pick = self.guarded(action, redraw)

        def find(_change: dict[str, Any]) -> None:
            matches = views.find_features(choices, search.value)
            shown = picker.value
            # Observed, new options (which select their first) drew a feature only to draw another;
            # sent apart, they showed the first feature for a moment.
            picker.unobserve(on_pick, names="value")
            try:
                with picker.hold_sync():
                    picker.options = matches or choices
                    # Nothing found, or the search cleared: every feature is listed and the one shown stays.
                    picker.value = matches[0][1] if matches and search.value.strip() else shown
            finally:
                picker.observe(on_pick, names="value")
            # After the list it describes: set first, it named a list the page did not show yet.
            text = views.feature_search_note(search.value, matches=len(matches), total=len(choices))
            note.value = views.status_html(text, tone="neutral" if matches else "warn") if text else ""
            if picker.value != shown:
                redraw({})

        picker.observe(on_pick, names="value")
        search.observe(self.guarded("finding the feature", find), names="value")
        return search, note

    # -- tabs -------------------------------------------------------------------------------
    def overview(self) -> tuple[widgets.Widget, ...]:
        """Tiles and the five features with the highest impact."""

        def build() -> list[dict[str, Any]]:
            loaded = {name: self.load(name) for name in ("ranking", "metrics", "drift", "quality", "retrain")}
            runs, runs_message = self.runs()
            # The drill-down and Drift tabs read the same fact table from the cache; a missing one is
            # said there, and the tile then counts the ranking.
            fact = self.load("fact", required=FACT_COLUMNS)[0]
            tiles = views.overview_tiles(**{k: v for k, (v, _) in loaded.items()}, runs=runs,
                                         monitored=None if fact is None else views.last_days(fact))
            ranking = loaded["ranking"][0]
            top = [] if ranking is None else [html_output(views.ranking_html(
                ranking.head(5), caption=f"Highest impact on {views.scored_day_text(ranking)} (risk x active users)",
                linked=self.links_here())), self.risk_note()]
            return [*self.unpublished_note(), html_output(views.tiles_html(tiles)), *top,
                    *notes_output([m for _, m in loaded.values()] + [runs_message])]

        return (self.section("drawing the overview", build),)

    def ranking(self) -> tuple[widgets.Widget, ...]:
        """Filters and the impact-ranked table (only the table redraws on a filter change)."""
        ranking, message = self.load("ranking", required=("feature_id", "risk_probability"))
        if ranking is None:
            return (self.section("reading the ranking", lambda: notes_output([message])),)
        filters = {
            column: widgets.Dropdown(options=views.filter_choices(ranking, column), value=views.ALL,
                                     description=column.replace("_", " "), style={"description_width": "initial"},
                                     layout=widgets.Layout(width="230px"))
            for column in views.FILTER_COLUMNS
        }
        # Shown only when the ranking is longer than the table (hundreds of features).
        rows = widgets.Dropdown(options=views.ranking_rows_choices(len(ranking)) or [("all", views.RANKING_ROWS)],
                                description="rows shown", style={"description_width": "initial"},
                                layout=widgets.Layout(width="180px"))
        table = widgets.Output()

        def build() -> list[dict[str, Any]]:
            choice = {c: w.value for c, w in filters.items()}
            chosen = views.filter_ranking(ranking, filters=choice)
            if chosen.empty and len(ranking):
                # An empty table of headers only reads like a broken page: say which filters exclude all.
                return [self.risk_note(), html_output(views.status_html(views.no_match_note(choice), tone="warn"))]
            caption = f"{len(chosen):,} of {len(ranking):,} features, sorted by impact = risk × active users"
            return [self.risk_note(), html_output(views.ranking_html(chosen, caption=caption, max_rows=rows.value,
                                                                    linked=self.links_here()))]

        def redraw(_change: dict[str, Any]) -> None:
            self.fill(table, "filtering the ranking", build)

        controls = [*filters.values(), rows] if len(rows.options) > 1 else list(filters.values())
        for dropdown in controls:
            dropdown.observe(self.guarded("filtering the ranking", redraw), names="value")
        self.fill(table, "filtering the ranking", build)
        return widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")), table

    def drilldown(self) -> tuple[widgets.Widget, ...]:
        """Feature search (:meth:`feature_finder`) and picker, its time series with limits and
        incidents, and the scored day's drivers."""
        fact, message = self.load("fact", required=FACT_COLUMNS)
        if fact is None:
            return (self.section("reading the fact table", lambda: notes_output([message])),)
        dim, _ = self.load("dim")
        ranking, ranking_message = self.load("ranking", required=("feature_id",))
        incidents, incidents_message = self.load("incidents", required=("feature_id", "start", "end"))
        incidents_message = views.incidents_note(
            incidents_message, ingest=self.load("ingest")[0], metrics=self.load("metrics")[0])
        choices = views.feature_choices(dim, fact, ranking=ranking)
        ids = [feature for _, feature in choices]
        top = str(ranking["feature_id"].iloc[0]) if ranking is not None and len(ranking) else None
        # A shared link's feature, else the highest-impact one.
        first = next((f for f in (self.linked, top) if f in ids), ids[0])
        picker = widgets.Dropdown(options=choices, value=first, description="Feature",
                                  layout=widgets.Layout(width="360px"))
        plot, drivers = widgets.Output(), widgets.Output()
        params, reason = self.params()
        params_message = f"Degradation limits and risk buckets {data.NOT_AVAILABLE}: {reason}." if reason else ""

        def build_plot() -> list[dict[str, Any]]:
            series = views.feature_series(fact, picker.value)
            own = None if incidents is None else incidents[incidents["feature_id"].astype(str) == picker.value]
            fig = plots.drilldown_figure(
                series, thresholds={} if params is None else views.threshold_lines(
                    series, degradation=params["degradation"]),
                incidents=own, title=picker.label,
                cutoffs=self.cutoffs(),
            )
            return [figure_output(fig, alt=views.drilldown_alt(series, incidents=own, label=picker.label)),
                    html_output(views.status_html(views.DRILLDOWN_CAPTION)),
                    *notes_output([incidents_message, params_message])]

        def build_drivers() -> list[dict[str, Any]]:
            cutoffs = self.cutoffs()
            rows = None if ranking is None else ranking[ranking["feature_id"].astype(str) == picker.value]
            status = views.feature_status(views.feature_series(fact, picker.value),
                                          meta=None if rows is None or rows.empty else rows.iloc[0].to_dict(),
                                          cutoff=cutoffs[0] if cutoffs else None)
            link = html_output(views.feature_link_html(picker.value, profile=self.profile.value, home=self.home))
            return [link, *([html_output(views.status_html(status))] if status else []), *build_signals()]

        def build_signals() -> list[dict[str, Any]]:
            if ranking is None:
                return notes_output([ranking_message])
            table = views.drivers(ranking, picker.value)
            # The scored day, not "today": the page may be read long after the data's last day.
            day = views.scored_day_text(ranking)
            if table.empty and picker.value in set(ranking["feature_id"].astype(str)):
                return notes_output([f"No signal raised {picker.value}'s score on {day}: it is at or below the "
                                     f"forest's starting value, so nothing drives it up."])
            if table.empty:
                return notes_output([f"No score on {day} for {picker.value}: it has no data on that day."])
            note = views.signals_note(table["signal"].tolist())
            caption = (f"Signals raising the score of {day} most "
                       "(contribution to the forest's raw score, before calibration)")
            return [html_output(views.html_table(views.drivers_view(table), caption=caption)),
                    *([html_output(views.status_html(note))] if note else [])]

        def redraw(_change: dict[str, Any]) -> None:
            self.fill(plot, "drawing the feature", build_plot, busy=f"Drawing {picker.label} …")
            self.fill(drivers, "listing the drivers", build_drivers)

        search, note = self.feature_finder(picker, choices, action="choosing the feature", redraw=redraw)
        redraw({})
        controls = widgets.HBox([search, picker, note], layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        return controls, drivers, plot

    def drift(self) -> tuple[widgets.Widget, ...]:
        """Status heatmap (score selectable) and the details of a chosen cell, its feature found as in
        the drill-down (:meth:`feature_finder`)."""
        report, message = self.load("drift", required=("cells",))
        cells = None if report is None else views.drift_cells(report)
        if cells is None:
            return (self.section("reading the drift report", lambda: notes_output(
                [message or "reports/data_drift.json holds no drift cells."])),)
        features = views.feature_choices(self.load("dim")[0], cells)
        # The KS p-value gates every status: shown first so numbers and colours agree.
        score = widgets.Dropdown(options=[(label, value) for value, label in plots.DRIFT_SCORES.items()],
                                 value="ks_pvalue", description="Score", layout=widgets.Layout(width="360px"))
        # Dozens of features make a tall heatmap: then start with the features that need a look.
        flagged_only = widgets.Checkbox(value=len(features) > MAX_HEATMAP_FEATURES, indent=False,
                                        description="only features with a warn or alert")
        first = views.first_flagged_cell(cells)
        feature = widgets.Dropdown(options=features, value=first[0], description="Feature",
                                   layout=widgets.Layout(width="360px"))
        # Named in words; the values stay the report's, which the cells are looked up by.
        metric = widgets.Dropdown(options=[(views.metric_name(m), m) for m in dict.fromkeys(cells["metric"])],
                                  value=first[1], description="Metric")
        heatmap, details = widgets.Output(), widgets.Output()
        windows = data.lookup(report, "summary.windows")

        def build_heatmap() -> list[dict[str, Any]]:
            shown = views.flagged_cells(cells) if flagged_only.value else cells
            rule = html_output(views.status_html(views.drift_rule_caption(report)))
            if shown.empty:
                return [rule, html_output(views.status_html("No feature has a drift warn or alert.", tone="ok"))]
            top = views.most_pressing_cells(shown, top=MAX_HEATMAP_FEATURES)
            caption = views.heatmap_caption(shown=top["feature_id"].nunique(), total=shown["feature_id"].nunique(),
                                            flagged_only=flagged_only.value)
            # The key first, under the Score list it explains; then how the colours are decided.
            return [html_output(views.status_html(views.DRIFT_SCORE_KEY)), rule,
                    html_output(views.status_html(caption)),
                    # Many metrics draw it wider than an 800 px window: shrunk, its 10 pt text read 6 px at ten.
                    figure_output(plots.drift_heatmap(top, score=score.value),
                                  alt=views.heatmap_alt(top, score=score.value), scroll_if_wide=True)]

        def build_details() -> list[dict[str, Any]]:
            table = views.cell_details(cells, feature_id=feature.value, metric=metric.value)
            shown = [html_output(views.html_table(table, caption=f"{feature.label} x {metric.label}",
                                                  wrap=("meaning",)))]
            fact, fact_message = self.load("fact", required=FACT_COLUMNS)
            if fact is not None and metric.value in fact:
                series = views.feature_series(fact, feature.value)
                shown.append(figure_output(plots.drift_cell_figure(
                    series, metric=metric.value, windows=windows, title=f"{feature.label}: {metric.label}"),
                    alt=views.drift_cell_alt(series, metric=metric.value, label=feature.label)))
            return shown + notes_output([fact_message])

        def redraw_heatmap(_change: dict[str, Any]) -> None:
            self.fill(heatmap, "drawing the heatmap", build_heatmap, busy="Drawing the heatmap …")

        def redraw_details(_change: dict[str, Any]) -> None:
            self.fill(details, "showing the cell", build_details, busy=f"Drawing {feature.label} x {metric.label} …")

        for control in (score, flagged_only):
            control.observe(self.guarded("drawing the heatmap", redraw_heatmap), names="value")
        search, note = self.feature_finder(feature, features, action="choosing the cell", redraw=redraw_details)
        metric.observe(self.guarded("choosing the cell", redraw_details), names="value")

        def build_header() -> list[dict[str, Any]]:
            alerts = views.drift_alerts_text(cells, labels={f: label for label, f in features}, windows=windows)
            advice, advice_message = self.load("retrain")
            retrain = views.retrain_advice(advice)
            return [html_output(views.status_html(views.drift_summary(report))),
                    html_output(views.status_html(alerts, tone=views.drift_alerts_tone(cells))),
                    *([] if retrain is None else [html_output(views.status_html(retrain[0], tone=retrain[1]))]),
                    *notes_output([advice_message])]

        header = self.section("summarising drift", build_header)
        redraw_heatmap({})
        redraw_details({})
        cell = widgets.HBox([search, feature, metric, note],
                            layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        scores = widgets.HBox([score, flagged_only], layout=widgets.Layout(flex_flow="row wrap"))
        return header, scores, heatmap, cell, details

    def model(self) -> tuple[widgets.Widget, ...]:
        """Model versions, metrics beside the baselines, ROC/PR, calibration, importance and lead times,
        or why there is no model, said once."""
        no_model = data.no_model_note(self.profile.value)
        if no_model:
            return (self.section("showing the model", lambda: notes_output([no_model])),)
        metrics, metrics_message = self.load("metrics")
        predictions, predictions_message = self.load("predictions", required=("y_true", "probability"))
        importance, importance_message = self.load("importance", required=("signal", "permutation_importance"))

        def build_versions() -> list[dict[str, Any]]:
            registry, message = self.load("registry", required=("versions",))
            if registry is None:
                return notes_output([message])
            return [html_output(views.html_table(views.model_versions(registry), max_rows=10,
                                                 caption=views.model_versions_caption(registry)))]

        def build_metrics() -> list[dict[str, Any]]:
            if metrics is None:
                return notes_output([metrics_message])
            table = views.metrics_view(views.metrics_table(metrics))
            note = views.degradation_note(metrics)
            return [html_output(views.status_html(views.model_verdict(metrics))),
                    *([html_output(views.status_html(note, tone="warn"))] if note else []),
                    html_output(views.html_table(table, caption="Test-period metrics: model beside naive baselines")),
                    html_output(views.status_html(views.metrics_notes(metrics)))]

        def build_warning() -> list[dict[str, Any]]:
            if metrics is None:
                return []  # the metrics section above already says why
            summary = metrics.get("early_warning")
            if not isinstance(summary, dict) or not summary.get("available"):
                reason = data.lookup(summary, "reason") or "reports/metrics.json has no early_warning section"
                return notes_output([f"Early-warning figures {data.NOT_AVAILABLE}: {reason}."])
            counts = earlywarning.summary_table(summary)
            table = views.early_warning_view(counts)
            # n_incidents counts the judged incidents only: the caption names those left out and why.
            caption = (f"Early warning, incidents: {views.judged_incidents_text(summary)}; "
                       f"warned = flagged 1..horizon days before onset, while not yet degraded")
            shown = [html_output(views.html_table(table, caption=caption)),
                     html_output(views.status_html(views.early_warning_notes(list(counts.columns)))),
                     html_output(views.status_html(earlywarning.rule_at_load_text(summary)))]
            visibility = earlywarning.visibility_table(summary)
            if "not available" not in visibility.index:
                shown.append(html_output(views.html_table(
                    views.visibility_view(visibility), caption="Precursors standing out of ordinary feature-days "
                                                      "(share reaching their 95th / 99th percentile)")))
            return shown

        def build_curves() -> list[dict[str, Any]]:
            if predictions is None:
                return notes_output([predictions_message])
            return [figure_output(plots.curves_figure(predictions), alt=views.CURVES_ALT)]

        def build_calibration() -> list[dict[str, Any]]:
            if predictions is None:
                return []  # the curves section above already says why
            return [figure_output(plots.calibration_figure(predictions), alt=views.CALIBRATION_ALT)]

        def build_importance() -> list[dict[str, Any]]:
            if importance is None:
                return notes_output([importance_message])
            ids = views.signal_ids_note(importance)
            return [figure_output(plots.importance_figure(importance), alt=views.importance_alt(importance)),
                    html_output(views.status_html(views.IMPORTANCE_CAPTION)),
                    *([html_output(views.status_html(ids))] if ids else [])]

        def build_lead_times() -> list[dict[str, Any]]:
            if metrics is None:
                return []  # the metrics section above already says why
            if not data.lookup(metrics, "early_warning.available"):
                return []  # the early-warning section above says why (no ground truth, say)
            days = views.lead_times(metrics)
            if days is None:
                return notes_output([f"Lead-time distribution {data.NOT_AVAILABLE} in reports/metrics.json."])
            if not days:
                judged = views.judged_incidents_text(data.lookup(metrics, "early_warning"))
                return [html_output(views.status_html(
                    f"None of the {judged} was warned ahead, so there is no lead time to show."))]
            return [figure_output(plots.lead_time_figure(days), alt=views.lead_time_alt(days))]

        small = [self.section("drawing the calibration", build_calibration),
                 self.section("drawing the importance", build_importance),
                 self.section("drawing the lead times", build_lead_times)]
        # Output areas stretch to the row, so side-by-side figures need a width (theirs at 90 dpi).
        for out, width in zip(small, ("470px", "560px", "470px"), strict=True):
            out.layout = widgets.Layout(width=width, max_width="100%")
        return (self.section("showing the model versions", build_versions),
                self.section("showing the metrics", build_metrics),
                self.section("showing early warning", build_warning),
                self.section("drawing the curves", build_curves),
                widgets.HBox(small, layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start")))

    def quality(self) -> tuple[widgets.Widget, ...]:
        """Checks table and quarantined rows by reason."""

        def build_checks() -> list[dict[str, Any]]:
            report, message = self.load("quality", required=("checks",))
            if report is None:
                return [*self.unpublished_note(), *notes_output([message])]
            table = views.quality_checks(report)
            findings = [html_output(views.status_html(text, tone=tone)) for tone, text in views.quality_findings(report)]
            return [*self.unpublished_note(), *notes_output([views.quality_malformed_note(report)]), *findings,
                    # Sentences wrap: on one line the rule ran past the table's box at 1280 px.
                    html_output(views.html_table(table, caption=views.quality_caption(report),
                                                 wrap=("measures", "rule")))]

        def build_quarantine() -> list[dict[str, Any]]:
            ingest, message = self.load("ingest", required=("by_reason",))
            if ingest is None:
                return notes_output([message])
            counts = views.quarantine_counts(ingest)
            window = (ingest.get("window_start"), ingest.get("window_end"))
            caption = views.quarantine_caption(int(counts.sum()), data.lookup(ingest, "rows_in"), window=window)
            if counts.empty:
                return [html_output(views.status_html(caption + ": none", tone="ok"))]
            rows, rows_message = self.load("quarantine", required=("reason",))
            examples = []
            if rows is not None:
                # The quarantine accumulates over runs; the counts above are the run's window only.
                judged = ingest.get("window_files")
                own = views.window_quarantine(rows, start=window[0], end=window[1],
                                              files=judged if isinstance(judged, list) else None)
                examples = [html_output(views.html_table(
                    views.quarantine_examples(rows if own is None else own), missing="",
                    caption=views.quarantine_examples_caption(window, whole=own is None,
                                                              judged_files=isinstance(judged, list))))]
            return [html_output(views.status_html(caption)),
                    figure_output(plots.quarantine_figure(counts), alt=views.quarantine_alt(counts)),
                    *examples, *notes_output([rows_message])]

        return (self.section("showing the checks", build_checks),
                self.section("showing the quarantine", build_quarantine))

    def history(self) -> tuple[widgets.Widget, ...]:
        """Recent runs with status, duration and alerts."""
        def build() -> list[dict[str, Any]]:
            runs, message = self.runs()
            if runs is None:
                return notes_output([message])
            # An error wraps (on one line it ran past the box); with none, its column takes no room.
            wrap = ("error",) if runs["error"].astype(bool).any() else ()
            return [html_output(views.html_table(views.runs_view(runs), caption=views.runs_caption(len(runs)), wrap=wrap)),
                    figure_output(plots.run_history_figure(runs), alt=views.run_history_alt(runs)), *notes_output([message])]

        return (self.section("showing the run history", build),)


def build_app(*, profile: str = "ci", query: str = "") -> widgets.VBox:
    """The dashboard's root widget for ``profile``, opened where a link's ``query`` says
    (:meth:`Dashboard.follow_link`); display it as a notebook cell's last value."""
    return Dashboard(profile=profile, query=query).widget
