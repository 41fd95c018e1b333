"""Prototype: moe-router's blocks over tuple tokens (transformer layer, routed 4-expert MoE top 2, aux head)."""
import sys, time
sys.path.insert(0, "/work/main/backend")
import torch, msgspec
from torch import nn
from model_studio.nn.runtime import GameTransformer, TransformerLayer, ActionOutput, NTupleNetwork, MoELayer, AuxLossHead
from model_studio.training import PPOConfig, play_games
from model_studio.training.ppo import PPOTrainer

n_tuples, d, minutes, seed = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])

class TupleTokens(NTupleNetwork):
    def forward(self, board):
        return self.table(self.indices(board)) + self.bias

class Proto(GameTransformer):
    def __init__(self):
        super().__init__()
        self.embed = TupleTokens(n_tuples, d)
        self.pos = nn.Parameter(torch.randn(n_tuples, d) * 0.02)
        self.layer1 = TransformerLayer(d, 4, 4)
        self.experts = MoELayer(width=d, n_experts=4, ff_mult=2, top_k=2, lb_coef=0.01)
        self.norm = nn.LayerNorm(d)
        self.policy = ActionOutput(in_features=n_tuples * d)
        self.aux = AuxLossHead(in_features=n_tuples * d, target='empty_cells', weight=0.1)
    def forward(self, board, action_mask=None):
        x = self.norm(self.experts(self.layer1(self.embed(board) + self.pos)))
        p = self.policy(x)
        self.aux(x)
        return self.policy_and_value([p], action_mask)

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
        print(f"{t:6.0f} s {trainer.env_steps/1e6:6.2f} M  {trainer.env_steps/t:6.0f}/s score {ev.episodes.mean_score}  ent {ev.losses.entropy:.3f}", flush=True)
model.eval()
s = play_games(model, 200, greedy=False, seed=67890)
print("EVAL", msgspec.json.encode(s).decode(), flush=True)
