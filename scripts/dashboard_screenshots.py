"""Screenshot every tab of the real dashboard page and time its first view.

Starts Voila on a free 127.0.0.1 port against the published outputs (``outputs/`` or
``$FEATUREHEALTH_OUTPUT_ROOT``), loads the page ``--loads`` times in Debian's chromium to time the
first view (Overview tiles drawn), then opens each tab and saves ``docs/screenshots/<tab>.png``:

    .venv/bin/python scripts/dashboard_screenshots.py [--profile ci] [--loads 5] [--pause 10]

Each timed load comes ``--pause`` seconds after the previous one, as a visitor's would: Voila has
then pre-heated the next kernel (started it and imported the package), as it does between visits.

Needs the profile's outputs (``./run_all.sh ci``). Prints the screenshot paths and the median time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from featurehealth import config
from featurehealth.dashboard import data, serve
from featurehealth.dashboard.app import TABS

DOCS = config.REPO_ROOT / "docs" / "screenshots"
# A tab is drawn when each of its Outputs holds an image, a table or a note.
_TAB_DRAWN = """slug => {
  const outs = [...document.querySelectorAll('.fh-tab-' + slug + ' .widget-output')];
  return outs.length > 0 && outs.every(o => o.querySelector('img, table, .fh-note, .fh-tiles'));
}"""


def capture(*, profile: str, loads: int, pause: float, out_dir: Path, logs: Path) -> list[float]:
    """Time ``loads`` page loads ``pause`` s apart, then screenshot each tab; return the load times (s)."""
    port = serve.free_port()
    with serve.running_voila(port=port, output_root=config.output_root(), log_path=logs / "voila.log") as url:
        with serve.local_page(port=port, width=1280, height=900) as page:
            times = []
            for _ in range(loads):
                time.sleep(pause)
                times.append(serve.open_dashboard(page, url))
            chooser = page.locator(".widget-dropdown", has=page.locator("label:text-is('Profile')")).locator("select")
            if chooser.input_value() != profile:
                chooser.select_option(profile)
                page.wait_for_function(_TAB_DRAWN, arg="overview", timeout=60_000)
            for slug, title in TABS.items():
                page.get_by_role("tab", name=title).click()
                page.wait_for_function(_TAB_DRAWN, arg=slug, timeout=60_000)
                path = out_dir / f"{slug}.png"
                app = page.locator(".fh-app")
                # Voila scrolls inside its own container, so grow the window to the whole app.
                bottom = app.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
                page.set_viewport_size({"width": 1280, "height": max(900, int(bottom) + 20)})
                app.screenshot(path=path)
                print(f"saved {path.relative_to(config.REPO_ROOT) if path.is_relative_to(config.REPO_ROOT) else path}")
    return times


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (2 when the profile has no outputs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci", help="profile whose outputs are shown (default: ci)")
    parser.add_argument("--loads", type=int, default=5, help="page loads timed for the first view (default: 5)")
    parser.add_argument("--pause", type=float, default=10.0, help="seconds before each timed load (default: 10)")
    parser.add_argument("--out", type=Path, default=DOCS, help=f"folder for the PNGs (default: {DOCS})")
    args = parser.parse_args(argv)
    if args.profile not in data.published_profiles():
        print(f"dashboard_screenshots: no outputs for profile {args.profile!r} under {config.output_root()}; "
              f"run ./run_all.sh {args.profile} first.", file=sys.stderr)
        return 2
    if args.loads < 1 or args.pause < 0:
        parser.error("--loads must be >= 1 and --pause >= 0")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="featurehealth-screens-") as sandbox:
        # Jupyter, IPython and matplotlib state of the servers stays out of $HOME.
        for variable in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
            os.environ[variable] = str(Path(sandbox) / variable.lower())
        times = capture(profile=args.profile, loads=args.loads, pause=args.pause, out_dir=args.out, logs=Path(sandbox))
    print("time to first view (s): " + ", ".join(f"{t:.2f}" for t in times)
          + f"; median {statistics.median(times):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
