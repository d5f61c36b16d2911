#!/usr/bin/env bash
# The test suite: set up if needed, then run every test (real servers on 127.0.0.1, headless Chromium).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/pytest "$@"
