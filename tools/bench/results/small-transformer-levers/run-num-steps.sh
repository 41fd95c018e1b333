#!/bin/bash
# The template and num_steps 16 instead of 64 (4,096 samples per update: four times the policy
# updates for the same samples and Adam steps) on tuning seeds 0 and 1, in turn, each alone on
# the machine (10 minutes each, then 200 tuning games). Run from the repository root.
out=tools/bench/results/small-transformer-levers
for s in 0 1; do
  .venv/bin/python tools/bench/bench_learn.py --design small-transformer --seeds 1 --seed-base $s --purpose tune --out $out/default-seed$s-beside-num-steps-16.json > $out/default-seed$s-beside-num-steps-16.log 2>&1
  .venv/bin/python tools/bench/bench_learn.py --design small-transformer --seeds 1 --seed-base $s --purpose tune --set num_steps=16 --out $out/num-steps-16-seed$s.json > $out/num-steps-16-seed$s.log 2>&1
done
