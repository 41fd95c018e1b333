"""The PPO pieces against values worked out by hand."""

import math

import numpy as np
import pytest
import torch

from model_studio.training.ppo import (
    LossTerms,
    PPOConfig,
    RunningReturnScale,
    combined_loss,
    compute_gae,
    episode_stats,
    masked_entropy,
    masked_log_probs,
    ppo_loss_terms,
    sample_masked,
)


def test_gae_stops_at_a_terminal_step_and_bootstraps_otherwise():
    # Board 0: gamma = lambda = 0.5; the move at t=1 ended its game.
    #   t=2: delta = 3 + 0.5*2 - 1.5 = 2.5                      A = 2.5
    #   t=1: delta = 2 + 0 (terminal) - 1.0 = 1.0               A = 1.0 (nothing after a terminal)
    #   t=0: delta = 1 + 0.5*1.0 - 0.5 = 1.0                    A = 1.0 + 0.25*1.0 = 1.25
    # Board 1: no terminal, so with gamma = lambda = 1 the advantage is the reward-to-go plus the
    # bootstrapped value, minus V: A = [1+1+1+10, 1+1+10, 1+10] - 0.
    rewards = torch.tensor([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
    values = torch.tensor([[0.5, 0.0], [1.0, 0.0], [1.5, 0.0]])
    terminated = torch.tensor([[False, False], [True, False], [False, False]])
    next_value = torch.tensor([2.0, 10.0])

    advantages, returns = compute_gae(rewards[:, :1], values[:, :1], terminated[:, :1], next_value[:1], 0.5, 0.5)
    assert advantages.squeeze(1).tolist() == [1.25, 1.0, 2.5]
    assert returns.squeeze(1).tolist() == [1.75, 2.0, 4.0]

    advantages, _ = compute_gae(rewards[:, 1:], values[:, 1:], terminated[:, 1:], next_value[1:], 1.0, 1.0)
    assert advantages.squeeze(1).tolist() == [13.0, 12.0, 11.0]


def test_gae_with_lambda_zero_is_the_one_step_td_error():
    rewards, values = torch.tensor([[1.0], [1.0]]), torch.tensor([[2.0], [3.0]])
    advantages, _ = compute_gae(rewards, values, torch.zeros(2, 1, dtype=torch.bool), torch.tensor([4.0]), 0.9, 0.0)
    assert advantages.squeeze(1).tolist() == pytest.approx([1 + 0.9 * 3 - 2, 1 + 0.9 * 4 - 3])


def test_masking_gives_illegal_moves_zero_probability_and_no_entropy():
    logits = torch.zeros(2, 4, requires_grad=True)
    mask = torch.tensor([[True, True, False, False], [True, False, False, False]])
    log_probs = masked_log_probs(logits, mask)
    probabilities = log_probs.exp()
    assert probabilities.tolist() == [[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    entropy = masked_entropy(log_probs, mask)
    assert entropy.tolist() == pytest.approx([math.log(2), 0.0])
    entropy.sum().backward()
    assert torch.isfinite(logits.grad).all()
    # Sampling never picks a masked move.
    draws = torch.multinomial(probabilities, 1000, replacement=True, generator=torch.Generator().manual_seed(0))
    assert set(draws[0].tolist()) == {0, 1} and set(draws[1].tolist()) == {0}


def test_masking_accepts_logits_the_model_already_masked():
    mask = torch.tensor([[False, True, True, True]])
    logits = torch.tensor([[torch.finfo(torch.float32).min, 1.0, 1.0, 1.0]])
    log_probs = masked_log_probs(logits, mask)
    assert log_probs.exp().tolist()[0] == pytest.approx([0.0, 1 / 3, 1 / 3, 1 / 3])
    assert masked_entropy(log_probs, mask).item() == pytest.approx(math.log(3))


def test_clipped_policy_loss_value_loss_kl_and_clip_fraction():
    # Ratios 2.0, 0.5 and 1.1 with advantages 1, -1, 2 and clip 0.2:
    #   sample 0: max(-1*2.0, -1*1.2) = -1.2   (clipped: a good move is not pushed past 1.2)
    #   sample 1: max(+1*0.5, +1*0.8) = +0.8   (clipped: a bad move is not pushed below 0.8)
    #   sample 2: max(-2*1.1, -2*1.1) = -2.2   (inside the range)
    new = torch.log(torch.tensor([0.5, 0.2, 0.55]))
    old = torch.log(torch.tensor([0.25, 0.4, 0.5]))
    terms = ppo_loss_terms(new, old, torch.tensor([1.0, -1.0, 2.0]), torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 2.0, 5.0]), 0.2)
    assert terms.policy.item() == pytest.approx((-1.2 + 0.8 - 2.2) / 3)
    assert terms.value.item() == pytest.approx(0.5 * (1 + 0 + 4) / 3)
    kl = ((1 - math.log(2)) + (-0.5 + math.log(2)) + (0.1 - math.log(1.1))) / 3
    assert terms.approx_kl.item() == pytest.approx(kl, rel=1e-5)
    assert terms.clip_fraction.item() == pytest.approx(2 / 3)


def test_clipped_samples_give_no_policy_gradient():
    new = torch.log(torch.tensor([0.5, 0.55])).requires_grad_()
    terms = ppo_loss_terms(new, torch.log(torch.tensor([0.25, 0.5])), torch.tensor([1.0, 1.0]), torch.zeros(2), torch.zeros(2), 0.2)
    terms.policy.backward()
    # d/d(log p) of -A * ratio / 2 is -A * ratio / 2 where unclipped; zero where clipped.
    assert new.grad.tolist() == pytest.approx([0.0, -1.1 / 2])


def test_combined_loss_weights_each_term():
    terms = LossTerms(policy=torch.tensor(1.0), value=torch.tensor(2.0), approx_kl=torch.tensor(0.0), clip_fraction=torch.tensor(0.0))
    config = PPOConfig(vf_coef=0.5, ent_coef=0.1)
    loss = combined_loss(terms, entropy=torch.tensor(3.0), lb_loss=torch.tensor(0.25), aux_loss=torch.tensor(0.125), config=config)
    assert loss.item() == pytest.approx(1.0 + 0.5 * 2.0 - 0.1 * 3.0 + 0.25 + 0.125)


def test_running_return_scale_divides_by_the_return_std():
    scale = RunningReturnScale(num_envs=2, gamma=0.5)
    # Step 1: returns [2, 4]: batch mean 3, var 1; with the prior's negligible count, var = 1.
    assert scale(np.array([2.0, 4.0]), np.array([False, True])) == pytest.approx([2.0, 4.0])
    # Board 1's game ended, so its return restarts: returns [0.5*2 + 2, 0 + 2] = [3, 2], batch
    # mean 2.5, var 0.25; merged over 4 samples: mean 2.75, var (2*1 + 2*0.25 + 0.25*2*2/4) / 4.
    scaled = scale(np.array([2.0, 2.0]), np.array([False, False]))
    assert scale.mean == pytest.approx(2.75)
    assert scale.var == pytest.approx(0.6875)
    assert scaled == pytest.approx([2.0 / math.sqrt(0.6875)] * 2)
    restored = RunningReturnScale(num_envs=2, gamma=0.5)
    restored.load_state(scale.state())
    assert restored.state() == scale.state()


def test_episode_stats_counts_and_tiles():
    stats = episode_stats(np.array([100, 300]), np.array([10, 30]), np.array([64, 128]))
    assert (stats.count, stats.mean_score, stats.max_score, stats.mean_length) == (2, 200.0, 300, 20.0)
    assert stats.max_tile == {"64": 1, "128": 1}
    empty = episode_stats(np.zeros(0), np.zeros(0), np.zeros(0))
    assert (empty.count, empty.mean_score, empty.max_tile) == (0, None, {})


def test_config_rejects_nonsense_and_round_trips():
    with pytest.raises(ValueError):
        PPOConfig(num_envs=0)
    with pytest.raises(ValueError):
        PPOConfig(gamma=1.5)
    with pytest.raises(ValueError, match="num_envs must be at most 4,096"):
        PPOConfig(num_envs=10**9)
    with pytest.raises(ValueError, match="at most 1,048,576 samples per update"):
        PPOConfig(num_envs=4096, num_steps=257)
    with pytest.raises(ValueError, match="minibatch_size must be at most 16,384"):
        PPOConfig(minibatch_size=16385)
    assert PPOConfig(num_envs=4096, num_steps=256, minibatch_size=16384).batch_size == 1 << 20
    for name in ("learning_rate", "gamma", "ent_coef", "target_kl"):
        with pytest.raises(ValueError, match=f"{name} must be a finite number"):
            PPOConfig(**{name: math.nan})
    config = PPOConfig(seed=3, gamma=0.99)
    assert PPOConfig.from_dict({**config.to_dict(), "retired_field": 1}) == config


def test_default_minibatch_is_the_catalogue_memory_minibatch():
    from model_studio.catalogue import load_catalogue

    assert PPOConfig().minibatch_size == load_catalogue().doc.memory.minibatch == 512


def test_sample_masked_is_multinomial_with_the_same_draws():
    generator, reference = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    for batch in (1, 8, 256, 8, 1):
        logits = torch.randn(batch, 4, generator=torch.Generator().manual_seed(batch))
        mask = torch.rand(batch, 4, generator=torch.Generator().manual_seed(batch + 1)) < 0.6
        mask[:, 2] = True
        probabilities = masked_log_probs(logits, mask).exp()
        for _ in range(50):
            expected = torch.multinomial(probabilities, 1, generator=reference).squeeze(1)
            actions = sample_masked(probabilities, generator)
            assert torch.equal(actions, expected)
            assert mask.gather(1, actions[:, None]).all()


def test_gae_matches_the_step_by_step_recursion():
    def reference(rewards, values, terminated, next_value, gamma, gae_lambda):
        advantages, last = torch.zeros_like(rewards), torch.zeros_like(next_value)
        for t in reversed(range(rewards.shape[0])):
            following = next_value if t == rewards.shape[0] - 1 else values[t + 1]
            alive = 1.0 - terminated[t].to(rewards.dtype)
            last = rewards[t] + gamma * following * alive - values[t] + gamma * gae_lambda * alive * last
            advantages[t] = last
        return advantages, advantages + values

    generator = torch.Generator().manual_seed(0)
    for steps, envs in ((1, 3), (7, 5), (64, 16)):
        rewards, values = torch.randn(steps, envs, generator=generator), torch.randn(steps, envs, generator=generator)
        terminated = torch.rand(steps, envs, generator=generator) < 0.2
        next_value = torch.randn(envs, generator=generator)
        for expected, got in zip(reference(rewards, values, terminated, next_value, 0.99, 0.9), compute_gae(rewards, values, terminated, next_value, 0.99, 0.9)):
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
