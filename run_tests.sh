#!/usr/bin/env bash
# Run the whole test suite: unit, pipeline (ci profile), notebooks (nbval) and browser tests.
# Sets up .venv (and Debian's chromium) on first use. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$ROOT/scripts/setup_env.sh" --with-browser
cd "$ROOT"
# testpaths (pyproject.toml) are tests/ and notebooks/; --nbval re-runs the notebooks and compares outputs.
exec "$ROOT/.venv/bin/python" -m pytest --nbval -p no:cacheprovider "$@"
