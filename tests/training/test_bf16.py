"""bf16 autocast in training: every template runs under it (the MoE layer included), its outputs
stay close to float32's, the heads and losses stay float32, and small batches keep float32."""

import json

import pytest
import torch

from model_studio.catalogue import SCHEMA_DIR
from model_studio.codegen import build_model
from model_studio.training.ppo import SMALL_BATCH, PPOConfig, PPOTrainer, autocast_bf16, bf16_supported

TEMPLATES = sorted(path.stem for path in (SCHEMA_DIR / "templates").glob("*.json"))
BOARDS = 256

needs_bf16 = pytest.mark.skipif(not bf16_supported(), reason="this CPU has no native bf16 (AVX-512 BF16 or AMX)")


def template(name: str) -> dict:
    return json.loads((SCHEMA_DIR / "templates" / f"{name}.json").read_text())


def boards(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    board = torch.randint(0, 12, (count, 16), generator=generator)
    mask = torch.rand(count, 4, generator=generator) < 0.8
    mask[:, 0] = True  # at least one legal move per board
    return board, mask


@needs_bf16
@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_under_bf16_gives_float32_heads_close_to_float32(name):
    model = build_model(template(name), seed=1).train()
    board, mask = boards(BOARDS)
    with torch.no_grad():
        logits32, value32 = model(board, mask)
        with autocast_bf16(True):
            logits16, value16 = model(board, mask)
    assert logits16.dtype == value16.dtype == torch.float32
    # bf16 keeps 8 significant bits: about 0.4% per rounding, a few roundings deep. A routed MoE
    # layer can also send a token whose two best experts nearly tie to the other one: a few
    # boards may jump, so it gets a 2% allowance of boards off by more than the tolerance.
    probs32, probs16 = logits32.softmax(-1), logits16.softmax(-1)
    off_probs = (probs16 - probs32).abs().amax(-1) > 0.01
    off_values = (value16 - value32).abs() > 0.05 * value32.abs().max() + 0.01
    allowed = 0.02 if any(c["type"] == "moe_layer" for c in template(name)["components"]) else 0.0
    assert off_probs.float().mean() <= allowed and off_values.float().mean() <= allowed
    assert torch.equal(probs16 == 0, probs32 == 0)  # the same moves masked out


@needs_bf16
def test_moe_gradients_under_bf16_are_float32_and_close_to_float32():
    model = build_model(template("moe-router"), seed=2).train()
    board, mask = boards(BOARDS, seed=3)

    def gradients(bf16: bool) -> list[torch.Tensor]:
        model.zero_grad()
        with autocast_bf16(bf16):
            logits, value = model(board, mask)
        (logits.log_softmax(-1)[:, 0].mean() + value.pow(2).mean() + model.latest_lb_loss + model.aux_loss(board)).backward()
        return [parameter.grad.clone() for parameter in model.parameters()]

    full, half = gradients(False), gradients(True)
    assert all(grad.dtype == torch.float32 for grad in half)
    flat_full, flat_half = torch.cat([g.flatten() for g in full]), torch.cat([g.flatten() for g in half])
    cosine = torch.nn.functional.cosine_similarity(flat_full, flat_half, dim=0)
    assert cosine > 0.99


def test_bf16_is_used_only_for_batches_big_enough_and_only_when_asked():
    small = PPOTrainer(build_model(template("tiny-dense")), PPOConfig(num_envs=8, num_steps=4, minibatch_size=SMALL_BATCH, torch_threads=1))
    assert not small.rollout_bf16 and small.update_bf16 == bf16_supported()
    off = PPOTrainer(build_model(template("tiny-dense")), PPOConfig(num_envs=SMALL_BATCH, num_steps=4, minibatch_size=SMALL_BATCH, bf16=False, torch_threads=1))
    assert not off.rollout_bf16 and not off.update_bf16
