#!/usr/bin/env bash
# The main job: set up if needed, then crawl on schedule, match, alert and serve Datasette.
# Extra arguments go to `hzwatch run` (see `hzwatch run --help`).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/hzwatch run "$@"
