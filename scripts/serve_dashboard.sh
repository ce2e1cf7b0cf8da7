#!/usr/bin/env bash
# Serve the stakeholder dashboard (notebooks/dashboard.ipynb) with Voila on 127.0.0.1 only.
# Usage: scripts/serve_dashboard.sh [PORT]   (or PORT=... in the environment; default 8866)
# Sets up .venv on first use. Reads outputs/<profile>/ as published by ./run_all.sh; never runs it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup_env.sh"
exec "$ROOT/.venv/bin/python" -m featurehealth.dashboard.serve "$@"
