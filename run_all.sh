#!/usr/bin/env bash
# Run the featurehealth pipeline for one profile: ./run_all.sh [PROFILE]   (default: default)
# Sets up .venv on first use, executes notebooks/01..04 with Papermill, publishes to outputs/PROFILE/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$ROOT/scripts/setup_env.sh"
exec "$ROOT/.venv/bin/python" -m featurehealth.runner "$@"
