"""Prototype: a transformer over tuple tokens (each 4-cell tuple's pattern looked up in its own table
as one d_model token), trained 10 minutes with PPOTrainer, evaluated like bench_learn --purpose tune."""
import sys, time, json
sys.path.insert(0, "/work/main/backend")
import torch
from torch import nn
from model_studio.nn.runtime import GameTransformer, TransformerLayer, ActionOutput, NTupleNetwork
from model_studio.training import PPOConfig, play_games
from model_studio.training.ppo import PPOTrainer

n_tuples, d, layers, minutes, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
ff = int(sys.argv[6]) if len(sys.argv) > 6 else 4

class TupleTokens(NTupleNetwork):
    def forward(self, board):
        return self.table(self.indices(board)) + self.bias  # (B, n, d)

class Proto(GameTransformer):
    def __init__(self):
        super().__init__()
        self.embed = TupleTokens(n_tuples, d)
        self.pos = nn.Parameter(torch.randn(n_tuples, d) * 0.02)
        self.layers = nn.ModuleList(TransformerLayer(d, 4, ff) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.policy = ActionOutput(in_features=n_tuples * d)
    def forward(self, board, action_mask=None):
        x = self.embed(board) + self.pos
        for layer in self.layers:
            x = layer(x)
        return self.policy_and_value([self.policy(self.norm(x))], action_mask)

torch.manual_seed(seed)
model = Proto()
print("params", sum(p.numel() for p in model.parameters()), flush=True)
trainer = PPOTrainer(model, PPOConfig(seed=seed))
print("epochs", trainer.config.update_epochs, flush=True)
budget = minutes * 60
start = time.perf_counter(); last = start
while (t := time.perf_counter() - start) < budget:
    ev = trainer.update(progress=t / budget)
    if time.perf_counter() - last > 30:
        last = time.perf_counter()
        e = ev.episodes
        print(f"{t:6.0f} s {trainer.env_steps/1e6:6.2f} M  {trainer.env_steps/t:6.0f}/s score {e.mean_score}  ent {ev.losses.entropy:.3f}", flush=True)
model.eval()
s = play_games(model, 200, greedy=False, seed=67890)
import msgspec; print("EVAL", msgspec.json.encode(s).decode(), flush=True)
