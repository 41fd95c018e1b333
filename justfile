# Model Studio: `just run` serves the app, `just test` runs every test. Both set up first.
# Without `just` installed, `tools/just RECIPE` installs the pinned one and runs the recipe.

set shell := ["bash", "-euo", "pipefail", "-c"]

python := ".venv/bin/python"
host := "127.0.0.1"
port := "8000"

# List the recipes.
default:
    @just --list

# Install what is missing or changed: venv from requirements.lock, npm packages + PWA build, Chromium.
setup *steps:
    tools/setup.sh {{steps}}

# Set up, build the PWA and serve it with the API: `just run 0.0.0.0 8000 --cert F --key F` for the LAN.
run host=host port=port *serve_args: (setup "python" "pwa")
    .venv/bin/model-studio serve --host {{host}} --port {{port}} {{serve_args}}

# Set up and run every test: Python (unit, property, API, end-to-end), the PWA's vitest and schema-lint.
test *pytest_args: setup
    {{python}} -m pytest {{pytest_args}}
    if [ -f pwa/package.json ]; then cd pwa && npm run --silent test && npm run --silent check; fi

# Regenerate requirements.lock and tools/tools.lock after changing a dependency in pyproject.toml
# or tools/tools.in; `just lock --upgrade` moves every pin to the newest release that fits.
lock *args:
    tools/make_lock.sh {{args}}

# Check schema/: generated JSON Schemas, templates and conformance cases.
schema-lint: (setup "python")
    .venv/bin/model-studio schema-lint

# Regenerate schema/*.schema.json, schema/openapi.json, the templates, the conformance cases, and the PWA's generated types and validator.
schema-write: setup
    {{python}} tools/make_templates.py
    {{python}} tools/make_cases.py
    .venv/bin/model-studio schema-lint --write
    cd pwa && npm run --silent gen-api-types && npm run --silent gen-validators

# The benchmarks (all but the 30-minute bench-learn); each prints its figures and goals.
bench: bench-validate bench-env bench-compile bench-pwa bench-train bench-flops bench-server

# Validation time for a 500-block design.
bench-validate: (setup "python")
    {{python}} tools/bench/bench_validate.py

# 2048 env speed: batched board-steps/s at N=1024 and 4096, single-env steps/s.
bench-env: (setup "python")
    {{python}} tools/bench/bench_env.py

# Compile time per template, ONNX export time, onnxruntime vs torch latency per board.
bench-compile: (setup "python")
    {{python}} tools/bench/bench_compile.py

# Initial JS (gzipped) and frame times while panning 200 blocks in the Pixel 7 profile.
bench-pwa: setup
    {{python}} tools/bench/bench_pwa.py

# Env-steps/s while training, at the SB3 peer's settings and ours, vs SB3 in the same run (--no-peer: without it).
bench-train *args: (setup "python")
    {{python}} tools/bench/bench_train.py {{args}}

# Matrix-product GFLOP/s of the dense templates' training against the CPU's own for plain products.
bench-flops: (setup "python")
    {{python}} tools/bench/bench_flops.py

# While a run trains: GET p99 with 50 clients vs idle, SSE lag to 50 subscribers, training speed vs alone.
bench-server: (setup "python")
    {{python}} tools/bench/bench_server.py

# Train the best template 10 minutes per seed (3 seeds), play 200 games each: mean score, reach rates, 95% intervals.
bench-learn *args: (setup "python")
    {{python}} tools/bench/bench_learn.py {{args}}
