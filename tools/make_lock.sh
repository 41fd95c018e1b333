#!/usr/bin/env bash
# Regenerates the lock files with pip-tools (installed by tools/just from tools/tools.lock):
#   requirements.lock     every package set-up installs into .venv, from pyproject.toml's
#                         dependencies and dev extra, torch held to constraints.txt;
#   tools/tools.lock      the set-up tools themselves, from tools/tools.in.
# Pins that already satisfy pyproject.toml are kept; pass --upgrade (or --upgrade-package NAME)
# to move them. Index and find-links settings come from pip's own configuration and are left out
# of the files, so the locks name no machine's paths.
set -euo pipefail
cd "$(dirname "$0")/.."
compile=(.setup/tools/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links)
"${compile[@]}" --extra dev --all-build-deps --constraint constraints.txt --output-file requirements.lock "$@" pyproject.toml
"${compile[@]}" --output-file tools/tools.lock "$@" tools/tools.in
