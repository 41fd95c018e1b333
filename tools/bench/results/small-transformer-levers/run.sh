#!/bin/bash
# The template and a learning rate of 2e-3 on tuning seeds 0 and 1, in turn, each alone on the
# machine (10 minutes each, then 200 tuning games). Run from the repository root.
out=tools/bench/results/small-transformer-levers
for s in 0 1; do
  .venv/bin/python tools/bench/bench_learn.py --design small-transformer --seeds 1 --seed-base $s --purpose tune --out $out/default-seed$s-beside-lr2e-3.json > $out/default-seed$s-beside-lr2e-3.log 2>&1
  .venv/bin/python tools/bench/bench_learn.py --design small-transformer --seeds 1 --seed-base $s --purpose tune --set learning_rate=0.002 --out $out/lr2e-3-seed$s.json > $out/lr2e-3-seed$s.log 2>&1
done
