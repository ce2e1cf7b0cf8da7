#!/usr/bin/env bash
# Create or refresh the project's Python environment (.venv) from the pinned, hashed lock.
# Idempotent and quick when nothing changed: a stamp records the lock's hash.
# Usage: scripts/setup_env.sh [--with-browser]   (--with-browser also installs Debian's chromium)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STAMP="$VENV/.featurehealth-lock"
UV_VERSION=0.13.8

# Runs starting together on first use (a scheduled run and the tests, say) would install into one
# .venv at the same time: the second waits here, then finds the stamp the first wrote.
mkdir -p "$VENV"
if command -v flock >/dev/null; then
  exec 9>"$VENV/.setup-lock"
  flock 9
fi

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
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --require-hashes -r "$ROOT/requirements.lock"
  "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps -e "$ROOT"
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
