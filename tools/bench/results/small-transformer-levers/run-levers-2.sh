#!/bin/bash
# The runs of the second round of small-transformer levers, in the order they ran, each alone on
# the machine (10 minutes each, then 200 tuning games), at commit c382435 unless said. Run from the
# repository root. The template ran on tuning seeds 0 and 1; each lever on seed 0.
out=tools/bench/results/small-transformer-levers
learn() {  # learn NAME [--set FIELD=VALUE] [--seed-base S]
  local name=$1; shift
  .venv/bin/python tools/bench/bench_learn.py --design small-transformer --seeds 1 --purpose tune "$@" --out $out/$name.json > $out/$name.log 2>&1
}
learn default-seed0-c382435 --seed-base 0
learn num-steps-16-seed0 --seed-base 0 --set num_steps=16
learn default-seed1-c382435 --seed-base 1
learn num-steps-32-seed0 --seed-base 0 --set num_steps=32
learn ent-0.01-seed0 --seed-base 0 --set ent_coef=0.01
learn lambda-0.95-seed0 --seed-base 0 --set gae_lambda=0.95
# A learned attention bias per head for each (row, column) offset between cells: not a catalogue
# prop, so it ran from a scratch worktree of commit c382435 with position-bias.patch applied.
git worktree add --detach /tmp/position-bias c382435 && git -C /tmp/position-bias apply "$PWD/$out/position-bias.patch"
ln -s "$PWD/.venv" /tmp/position-bias/.venv
(cd /tmp/position-bias && PYTHONPATH="$PWD/backend" .venv/bin/python tools/bench/bench_learn.py --design small-transformer --seeds 1 --seed-base 0 --purpose tune --out "$OLDPWD/$out/position-bias-seed0.json" > "$OLDPWD/$out/position-bias-seed0.log" 2>&1)
learn bf16-off-seed0 --seed-base 0 --set bf16=False
# Then, at commit b2ea4e5 (docs and bench-server only since c382435):
learn num-steps-16-lr-5e-4-seed0 --seed-base 0 --set num_steps=16 --set learning_rate=0.0005
learn num-steps-16-ent-0.01-seed0 --seed-base 0 --set num_steps=16 --set ent_coef=0.01
