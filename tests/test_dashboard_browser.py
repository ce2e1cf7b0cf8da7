"""The Voila dashboard in a real browser (Debian's chromium through Playwright) on the ci outputs.

Voila serves notebooks/dashboard.ipynb on a free 127.0.0.1 port against the outputs of the
session's ci run; the page may contact nothing else. Screenshots of each step are saved in the
test's temporary folder (their paths are printed).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from featurehealth.dashboard import serve

pytestmark = pytest.mark.browser

#: Generous bound for one page load on a loaded CI machine; the 5 s target is measured by
#: scripts/dashboard_screenshots.py (median of several loads).
FIRST_VIEW_LIMIT_S = 20.0


def _serve(root: Path, logs: Path) -> Iterator[dict]:
    port = serve.free_port()
    with serve.running_voila(port=port, output_root=root, log_path=logs / "voila.log") as url:
        yield {"url": url, "port": port, "root": root}


@pytest.fixture(scope="module")
def dashboard(ci_run: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Voila serving the session's ci outputs."""
    yield from _serve(Path(ci_run["output_root"]), tmp_path_factory.mktemp("voila"))


@pytest.fixture(scope="module")
def damaged(ci_run: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Voila serving a copy of the ci outputs with a corrupt metrics.json and no drift report."""
    root = tmp_path_factory.mktemp("damaged") / "outputs"
    shutil.copytree(Path(ci_run["output_root"]) / "ci", root / "ci", ignore=shutil.ignore_patterns(".*"))
    (root / "ci" / "reports" / "metrics.json").write_text("{not json", encoding="utf-8")
    (root / "ci" / "reports" / "data_drift.json").unlink()
    yield from _serve(root, tmp_path_factory.mktemp("voila-damaged"))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"dashboard screenshots in {folder}")
    return folder


def _open_tab(page, title: str) -> None:
    page.get_by_role("tab", name=title).click()


def _dropdown(page, tab: str, label: str):
    return page.locator(f".fh-tab-{tab} .widget-dropdown", has=page.locator(f"label:text-is('{label}')")).locator("select")


def _status(page) -> str:
    return page.locator(".fh-status").inner_text()


def test_first_view_shows_tiles_from_the_run(dashboard: dict, shots: Path) -> None:
    ranking = pd.read_csv(dashboard["root"] / "ci" / "reports" / "risk_ranking.csv")
    with serve.local_page(port=dashboard["port"]) as page:
        seconds = serve.open_dashboard(page, dashboard["url"])
        print(f"time to first view: {seconds:.2f} s")
        tiles = page.locator(".fh-tile")
        assert tiles.count() == 6
        monitored = tiles.filter(has_text="Features monitored").locator(".fh-tile-value").inner_text()
        assert monitored == str(len(ranking))
        assert "Traceback" not in page.content()
        page.screenshot(path=shots / "overview.png", full_page=True)
    assert seconds < FIRST_VIEW_LIMIT_S


def test_filter_changes_the_ranking_table(dashboard: dict, shots: Path) -> None:
    ranking = pd.read_csv(dashboard["root"] / "ci" / "reports" / "risk_ranking.csv")
    team = ranking["owner_team"].value_counts().index[-1]  # the smallest team: filtering must drop rows
    assert (ranking["owner_team"] == team).sum() < len(ranking)
    with serve.local_page(port=dashboard["port"]) as page:
        serve.open_dashboard(page, dashboard["url"])
        _open_tab(page, "Risk ranking")
        rows = page.locator(".fh-tab-ranking table.fh-table tbody tr")
        rows.first.wait_for()
        assert rows.count() == len(ranking)
        _dropdown(page, "ranking", "owner team").select_option(label=team)
        page.wait_for_function(
            "n => document.querySelectorAll('.fh-tab-ranking table.fh-table tbody tr').length === n",
            arg=int((ranking["owner_team"] == team).sum()), timeout=15_000,
        )
        header = [c.strip() for c in page.locator(".fh-tab-ranking table.fh-table thead th").all_inner_texts()]
        teams = {r.locator("td").nth(header.index("owner_team")).inner_text() for r in rows.all()}
        assert teams == {team}
        page.screenshot(path=shots / "ranking_filtered.png", full_page=True)
        assert _status(page) == ""


def test_choosing_another_feature_redraws_the_plot(dashboard: dict, shots: Path) -> None:
    with serve.local_page(port=dashboard["port"]) as page:
        serve.open_dashboard(page, dashboard["url"])
        _open_tab(page, "Feature drill-down")
        image = page.locator(".fh-tab-drilldown .widget-output img").first
        image.wait_for(timeout=30_000)
        before = image.get_attribute("src")
        picker = _dropdown(page, "drilldown", "Feature")
        options = picker.locator("option").all_inner_texts()
        current = picker.evaluate("s => s.options[s.selectedIndex].text")
        other = next(o for o in options if o != current)
        picker.select_option(label=other)
        page.wait_for_function(
            "before => { const img = document.querySelector('.fh-tab-drilldown .widget-output img');"
            " return img !== null && img.getAttribute('src') !== before; }",
            arg=before, timeout=30_000,
        )
        assert picker.evaluate("s => s.options[s.selectedIndex].text") == other
        page.screenshot(path=shots / "drilldown_changed.png", full_page=True)
        assert _status(page) == ""


def test_damaged_artifacts_give_messages_not_tracebacks(damaged: dict, shots: Path) -> None:
    with serve.local_page(port=damaged["port"]) as page:
        serve.open_dashboard(page, damaged["url"])
        drift_tile = page.locator(".fh-tile").filter(has_text="Drift alerts").locator(".fh-tile-value")
        assert drift_tile.inner_text() == "not available"
        _open_tab(page, "Model")
        page.locator(".fh-tab-model").get_by_text("reports/metrics.json could not be read").first.wait_for(timeout=30_000)
        _open_tab(page, "Drift")
        page.locator(".fh-tab-drift").get_by_text("reports/data_drift.json is not available").wait_for(timeout=30_000)
        page.screenshot(path=shots / "damaged_drift.png", full_page=True)
        _open_tab(page, "Risk ranking")
        page.locator(".fh-tab-ranking table.fh-table").wait_for(timeout=30_000)
        assert "Traceback" not in page.content()
