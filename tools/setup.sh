#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: the Python venv (from requirements.lock), the PWA's npm
# packages and build, and Debian's Chromium for the browser tests. Each step is skipped when
# the inputs it depends on have not changed since it last succeeded (hashes in .setup/).
#   tools/setup.sh [python] [pwa] [browser]   (no arguments: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .setup

fingerprint() { find "$@" -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum | sha256sum | cut -c1-64; }
# This machine's pip configuration names local wheel folders that may not exist; say nothing of them.
pip_quietly() { "$@" 2> >(grep -v "^WARNING: Location 'file:.* is ignored" >&2); }
fresh() { [ -f ".setup/$1" ] && [ "$(cat ".setup/$1")" = "$2" ]; }

setup_python() {
  # The venv holds exactly requirements.lock (hash-checked) plus this package, editable; when the
  # lock changes it is rebuilt from scratch, so no package lingers from an older lock.
  local want; want=$(fingerprint requirements.lock pyproject.toml)
  if [ -x .venv/bin/python ] && fresh python "$want"; then return; fi
  echo "setup: python venv from requirements.lock"
  python3 -m venv --clear .venv
  pip_quietly .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
  pip_quietly .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > .setup/python
}

setup_pwa() {
  [ -f pwa/package.json ] || return 0
  local deps; deps=$(fingerprint pwa/package.json pwa/package-lock.json)
  if [ ! -d pwa/node_modules ] || ! fresh npm "$deps"; then
    echo "setup: npm ci"
    (cd pwa && npm ci --no-audit --no-fund --loglevel=error)
    echo "$deps" > .setup/npm
  fi
  local sources; sources=$(fingerprint pwa/src pwa/public pwa/index.html pwa/vite.config.ts pwa/tsconfig*.json pwa/package-lock.json schema)
  if [ -f pwa/dist/index.html ] && fresh pwa-build "$sources"; then return; fi
  echo "setup: building the PWA"
  (cd pwa && npm run --silent build)
  echo "$sources" > .setup/pwa-build
}

setup_browser() {
  command -v chromium >/dev/null && return 0
  echo "setup: installing Debian's chromium for the browser tests"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run 'sudo apt-get install -y chromium' (needs root)" >&2
    return 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(python pwa browser)
for step in "${steps[@]}"; do "setup_$step"; done
