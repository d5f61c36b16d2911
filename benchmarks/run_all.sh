#!/usr/bin/env bash
# Run every benchmark in one go and print all figures (see benchmarks/README.md).
# Usage: bash benchmarks/run_all.sh [--quick]   (--quick: smaller sizes, for a smoke run)
# Each benchmark runs even if an earlier one fails; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

failed=()
run() {  # run NAME CMD...: print a header, run, record failure
  local name=$1; shift
  echo
  echo "=== $name: $*"
  local t0=$SECONDS
  if "$@"; then
    echo "--- $name done in $((SECONDS - t0)) s"
  else
    echo "--- $name FAILED (exit $?) after $((SECONDS - t0)) s"
    failed+=("$name")
  fi
}

echo "hzwatch benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $($PY -c 'import sys; print(sys.version.split()[0])'), SQLite $($PY -c 'import sqlite3; print(sqlite3.sqlite_version)')"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

if [[ $QUICK == 1 ]]; then
  run crawl   $PY benchmarks/bench_crawl.py --articles 300 --publish 5 --repeat 1
else
  run crawl   $PY benchmarks/bench_crawl.py --articles 2000 --publish 10 --repeat 2
fi
if [[ $QUICK == 1 ]]; then
  run soak    $PY benchmarks/soak.py --minutes 2.5 --every 20 --articles 8
else
  run soak    $PY benchmarks/soak.py --minutes 30 --every 60 --articles 40
fi
# The other stages' benchmarks, when present (each prints its own figures).
for name in matcher extract search; do
  script=benchmarks/bench_$name.py
  args=()
  if [[ $QUICK == 1 ]]; then
    case $name in
      matcher) args=(--count 1000) ;;
      search)  args=(--articles 20000) ;;
    esac
  fi
  if [[ -f $script ]]; then
    run "$name" $PY "$script" "${args[@]}"
  else
    echo; echo "=== $name: $script not present, skipped"
  fi
done

echo
if (( ${#failed[@]} )); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all benchmarks ran"
