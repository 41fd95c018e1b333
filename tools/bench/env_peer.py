"""The env peers of bench_env.py: other 2048 packages' Gymnasium envs, stepped with uniformly
random actions (they have no action masks) by the same loop that times ours (envtiming.py).

Runs only inside the peer venv that tools/bench/peers.py installs (`peers.ENV`: pinned
gym-2048-extended and gymnasium-2048, no torch); it imports nothing from the project.
bench_env.py calls it; by hand:
    .setup/peers/env/bin/python tools/bench/env_peer.py --out /tmp/env-peers.json
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json

import envtiming

PEERS = (  # (PyPI package, module, class)
    ("gym-2048-extended", "gym_2048", "Base2048Env"),
    ("gymnasium-2048", "gymnasium_2048.envs", "TwentyFortyEightEnv"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the peer 2048 envs with uniformly random actions.")
    parser.add_argument("--windows", type=int, default=envtiming.WINDOWS)
    parser.add_argument("--window-s", type=float, default=envtiming.WINDOW_S)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    measured = []
    for package, module, name in PEERS:
        env = getattr(importlib.import_module(module), name)()
        best, median = envtiming.rate(envtiming.single_window(env, legal_only=False, window_s=args.window_s), args.windows)
        measured.append({"package": package, "version": importlib.metadata.version(package), "env": f"{module}.{name}",
                         "steps_per_s": {"best": best, "median": median}})
    with open(args.out, "w") as file:
        json.dump({"peers": measured}, file)


if __name__ == "__main__":
    main()
