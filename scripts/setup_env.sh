#!/usr/bin/env bash
# Create or refresh the project's Python environment (.venv) from the pinned, hashed lock.
# Idempotent and quick when nothing changed: a stamp records the lock's hash.
# Usage: scripts/setup_env.sh [--with-browser]   (--with-browser also installs Debian's chromium)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STAMP="$VENV/.featurehealth-lock"
UV_VERSION=0.13.8
# Under umask 0 any user of the host could change the code that every run, test and dashboard
# imports (runs remove the same bit for what they write, in featurehealth.runner.main).
umask o-w

# Runs starting together on first use (a scheduled run and the tests, say) would install into one
# .venv at the same time: the second waits here, then finds the stamp the first wrote.
mkdir -p "$VENV"
if command -v flock >/dev/null; then
  exec 9>"$VENV/.setup-lock"
  flock 9
fi

# Python 3.11 and 3.12 read .pth files in the locale's encoding (and setuptools writes them so):
# under LC_ALL=C (cron) a checkout path with a non-ASCII letter (/data/équipe/fh) in the editable
# install's .pth stops every start of Python. The same folder relative to site-packages is ASCII.
relative_editable_path() {
  for pth in "$VENV"/lib/python3*/site-packages/*.pth; do
    if [ -f "$pth" ] && [ "$(cat "$pth")" -ef "$ROOT/lib" ]; then echo ../../../../lib > "$pth"; fi
  done
}

# This script is part of the stamp, so a change in how the environment is built rebuilds it.
want=$(cat "$ROOT/requirements.lock" "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  PY=${PYTHON:-python3}
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: Python 3.11 or newer is needed as '$PY' (set PYTHON=/path/to/python3.11)." >&2
    exit 1
  fi
  echo "setup: creating .venv from requirements.lock (one-time, about a minute)..."
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  relative_editable_path  # as an older setup left it, before the first start of .venv's Python
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --require-hashes -r "$ROOT/requirements.lock"
  # In a UTF-8 locale: under LC_ALL=C setuptools cannot write a non-ASCII path into the .pth at all.
  LC_ALL=C.UTF-8 "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps -e "$ROOT"
  relative_editable_path
  # A .venv set up before under umask 0 keeps files that all users may write.
  chmod -R o-w "$VENV"
  # uv leaves bytecode to the first import, and where PYTHONDONTWRITEBYTECODE is set (CI,
  # containers) no import ever writes it: every notebook kernel would recompile pandas,
  # scikit-learn... from source, seconds per notebook.
  "$VENV/bin/python" -m compileall -q -j 0 "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  echo "$want" > "$STAMP"
  echo "setup: environment ready."
fi

if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian's chromium for the browser tests..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium fonts-liberation fonts-dejavu-core >/dev/null
  else
    echo "setup: the browser tests need /usr/bin/chromium; install it with 'sudo apt-get install chromium'." >&2
    exit 1
  fi
fi
