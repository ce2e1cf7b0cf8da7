#!/usr/bin/env bash
# Run the featurehealth pipeline for one profile: ./run_all.sh [PROFILE]   (default: default)
# Sets up .venv on first use, executes notebooks/01..04 with Papermill, publishes to outputs/PROFILE/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# uv exits 2 on its errors, which a scheduler would read as run_all's "bad usage": a setup that
# fails is a failed run (1); one stopped by a signal keeps its 128 + signal number.
"$ROOT/scripts/setup_env.sh" || {
  status=$?
  [ "$status" -gt 128 ] && exit "$status"
  echo "run_all: FAILED: scripts/setup_env.sh could not set up .venv (exit status $status, see above); fix what it reports and run again." >&2
  exit 1
}
exec "$ROOT/.venv/bin/python" -m featurehealth.runner "$@"
