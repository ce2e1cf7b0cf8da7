"""Start the dashboard with Voila on 127.0.0.1, and drive it in Debian's chromium.

``scripts/serve_dashboard.sh`` runs :func:`main`; the browser test and
``scripts/dashboard_screenshots.py`` use :func:`running_voila` and :func:`local_page`, so the
served command and the browser set-up are written once.

Command line: ``python -m featurehealth.dashboard.serve [PORT]``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from featurehealth import config

if TYPE_CHECKING:
    from playwright.sync_api import Page

HOST = "127.0.0.1"
DEFAULT_PORT = 8866
NOTEBOOK = config.NOTEBOOKS_DIR / "dashboard.ipynb"
#: Debian's chromium (Playwright's own browser downloads are not used).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")
#: Idle seconds after which the kernel of a closed page is shut down.
CULL_IDLE_S = 300
#: Appears once the Overview tiles are drawn: the page's first view.
FIRST_VIEW_SELECTOR = ".fh-tiles"
#: Room Voila's kernel sockets take under its connection folder's parent:
#: ``/voila_XXXXXXXX/kernel-<uuid>-ipc-<1..5>``.
VOILA_SOCKET_ROOM = 65


USAGE = (
    "usage: scripts/serve_dashboard.sh [PORT]   (or python -m featurehealth.dashboard.serve [PORT])\n\n"
    f"Serve the dashboard (notebooks/dashboard.ipynb) with Voila on http://{HOST}:PORT/, no browser opened.\n"
    f"PORT: the first argument, else $PORT (unless empty), else {DEFAULT_PORT}; a busy port is an error.\n"
    "It reads the published outputs under $FEATUREHEALTH_OUTPUT_ROOT (default: outputs/) and never runs the pipeline."
)


def check_port(port: int) -> int:
    """Return ``port`` if it is an integer in 1..65535, else raise ValueError."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an integer in 1..65535, got {port!r}.")
    return port


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``HOST:port`` now (checked before Voila starts, to say so plainly).

    The probe binds as Voila's server does, with ``SO_REUSEADDR``: connections of a dashboard just
    stopped wait in TIME_WAIT for a minute, which Voila binds over; only a listener makes it busy.

    Raises
    ------
    OSError
        If the port cannot be bound for another reason (one below 1024 without the right to, say).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def voila_command(*, port: int, python: str = sys.executable) -> list[str]:
    """Voila serving only the dashboard notebook on ``HOST:port``, no browser, no tracebacks.

    ``port_retries=0`` makes a busy port an error rather than a silent move to another port. A
    pre-heated kernel has started and imported everything before a page is requested; the
    notebook waits for the request before it reads any output, so the page is never stale.
    Kernels of closed pages are culled after ``CULL_IDLE_S`` idle seconds (an open page keeps
    its kernel). Requests must name the host as 127.0.0.1 or localhost: Voila turns Jupyter's Host
    check off (``allow_remote_access``), which lets any web page the user visits read this
    token-less server through a DNS-rebinding name; an empty value (the command line gives text,
    and the text "False" would be true) turns the check back on. Kernels talk to Voila over Unix
    sockets in its private (0700) folder of connection files, as the runner's do: over TCP each
    kernel listened on ports any local user could reach, and logged ipykernel's warning about it.
    That folder is made in ``/tmp`` where socket paths under the temporary directory would be too
    long (:func:`featurehealth.config.socket_parent`).
    """
    sockets = config.socket_parent(Path(tempfile.gettempdir()), room=VOILA_SOCKET_ROOM)
    return [
        python, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--Voila.ip={HOST}",
        f"--port={check_port(port)}", "--Voila.port_retries=0", "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.preheat_kernel=True", "--Voila.tornado_settings=allow_remote_access=",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_S}", "--MappingKernelManager.cull_interval=60",
        "--KernelManager.transport=ipc", f"--Voila.connection_dir_root={sockets}",
    ]


def voila_environment(base: Mapping[str, str], *, output_root: Path) -> dict[str, str]:
    """``base`` with the outputs root pinned for the kernels (they start in ``notebooks/``)."""
    return {**base, "FEATUREHEALTH_OUTPUT_ROOT": str(output_root), "MPLBACKEND": "Agg"}


def free_port() -> int:
    """A TCP port on ``HOST`` that is free now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Return once ``HOST:port`` accepts connections.

    Raises
    ------
    TimeoutError
        If it does not within ``timeout`` seconds.
    RuntimeError
        If ``process`` exits first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"The server exited with code {process.returncode} before listening on {port}.")
        with contextlib.suppress(OSError), socket.create_connection((HOST, check_port(port)), timeout=0.5):
            return
        time.sleep(0.2)
    raise TimeoutError(f"Nothing listens on {HOST}:{port} after {timeout:g} s.")


@contextlib.contextmanager
def running_voila(*, port: int, output_root: Path, log_path: Path, timeout: float = 60.0) -> Iterator[str]:
    """Serve the dashboard of ``output_root`` while the block runs; yield its URL.

    The server gets its own process group, which is terminated (then killed) on exit, kernels
    included. Its output goes to ``log_path``.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(voila_command(port=port), env=voila_environment(os.environ, output_root=output_root),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(port, timeout=timeout, process=process)
            yield f"http://{HOST}:{port}/"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def is_local(url: str, *, port: int) -> bool:
    """Whether the page may fetch ``url``: the dashboard server itself or inline data."""
    return url.startswith((f"http://{HOST}:{port}/", "data:", "blob:"))


@contextlib.contextmanager
def local_page(*, port: int, width: int = 1280, height: int = 900) -> Iterator["Page"]:
    """A headless chromium page that may only reach the dashboard server on ``port``, as may any tab it opens.

    Voila's template asks a CDN for icon fonts; those requests are refused so nothing but
    127.0.0.1 is ever contacted. Chromium's own state (crash reports, dconf) goes to a temporary
    home, not the user's.
    """
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="featurehealth-chromium-") as home, sync_playwright() as playwright:
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": f"{home}/config", "XDG_CACHE_HOME": f"{home}/cache"}
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), env=env)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            # On the context, so a tab the page opens (its links open in a new one) is held too.
            page.context.route("**/*", lambda route: route.continue_() if is_local(route.request.url, port=port)
                               else route.abort())
            yield page
        finally:
            browser.close()


def open_dashboard(page: "Page", url: str, *, timeout_s: float = 60.0) -> float:
    """Load the dashboard in ``page``; return the seconds until the Overview tiles showed."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(FIRST_VIEW_SELECTOR, timeout=timeout_s * 1000)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Serve the dashboard on 127.0.0.1 (port from the first argument, else ``$PORT``, else 8866).

    ``-h``/``--help`` prints the usage and returns 0 (it was read as a port and refused).
    """
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    text = args[0] if args else os.environ.get("PORT") or str(DEFAULT_PORT)  # empty is unset
    try:
        port = check_port(int(text))
    except ValueError:
        print(f"serve_dashboard: the port must be an integer in 1..65535, got {text!r}.", file=sys.stderr)
        return 2
    try:
        free = port_is_free(port)
    except OSError as exc:
        print(f"serve_dashboard: cannot listen on {HOST}:{port} ({exc.strerror}); give another port, above 1023 "
              f"unless run as root (scripts/serve_dashboard.sh PORT).", file=sys.stderr)
        return 1
    if not free:
        print(f"serve_dashboard: port {port} on {HOST} is in use; stop what serves it or give another port "
              f"(scripts/serve_dashboard.sh PORT).", file=sys.stderr)
        return 1
    environment = voila_environment(os.environ, output_root=config.output_root())
    print(f"serve_dashboard: http://{HOST}:{port}/ (outputs: {environment['FEATUREHEALTH_OUTPUT_ROOT']}; Ctrl-C stops)",
          flush=True)
    command = voila_command(port=port)
    os.execve(command[0], command, environment)  # replaces this process: Ctrl-C reaches Voila directly


if __name__ == "__main__":
    sys.exit(main())
