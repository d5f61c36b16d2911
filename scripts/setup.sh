#!/usr/bin/env bash
# One-time (idempotent) set-up: system packages for the browser tests, the virtualenv, the project.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need_apt+=(fonts-wqy-zenhei)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_apt[*]} (Debian packages for the headless-browser tests)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: warning: ${need_apt[*]} missing and not root; browser tests will fail" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.hzwatch-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e ".[test,bench]"
  touch "$stamp"
fi
# Bytecode for the project's own modules, as pip writes it for installed packages: an editable
# install has none, and with PYTHONDONTWRITEBYTECODE set every `hzwatch` start compiled them again
# (about 35 ms of `hzwatch match`'s start-up). A module changed later is compiled in memory as usual.
.venv/bin/python -m compileall -q monitor db scrapers replica >/dev/null
