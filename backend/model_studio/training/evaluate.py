"""How well a policy plays: batched evaluation games, score summaries and their table."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from model_studio.contracts import REACH_TILES, ScoreSummary, TrainingUpdate
from model_studio.env.vector import BatchedGame2048
from model_studio.training.ppo import masked_log_probs

MAX_BOARDS = 1024  # boards per batch of evaluation games: big batches, bounded memory
SUMMARY_MIN_GAMES = 200  # a training summary covers at least this many of the latest games


def score_summary(scores: np.ndarray, lengths: np.ndarray, max_tiles: np.ndarray) -> ScoreSummary:
    """Summarise finished games given as parallel arrays."""
    if len(scores) == 0:
        return ScoreSummary(games=0, mean_score=None, max_score=None, mean_length=None, reach={})
    return ScoreSummary(
        games=len(scores),
        mean_score=float(np.mean(scores)),
        max_score=int(np.max(scores)),
        mean_length=float(np.mean(lengths)),
        reach={str(tile): float(np.mean(max_tiles >= tile)) for tile in REACH_TILES},
    )


def summary_of_updates(updates: Iterable[TrainingUpdate], min_games: int = SUMMARY_MIN_GAMES) -> ScoreSummary:
    """Summarise the games of the latest whole updates that together hold at least `min_games`
    games (all of them if fewer), from the updates' episode statistics alone."""
    chosen, games = [], 0
    for event in reversed(list(updates)):
        if games >= min_games:
            break
        if event.episodes.count:
            chosen.append(event.episodes)
            games += event.episodes.count
    if not games:
        return score_summary(np.zeros(0), np.zeros(0), np.zeros(0))
    tiles: dict[int, int] = {}
    for episodes in chosen:
        for tile, count in episodes.max_tile.items():
            tiles[int(tile)] = tiles.get(int(tile), 0) + count
    return ScoreSummary(
        games=games,
        mean_score=sum(e.mean_score * e.count for e in chosen) / games,
        max_score=max(e.max_score for e in chosen),
        mean_length=sum(e.mean_length * e.count for e in chosen) / games,
        reach={str(reach): sum(n for tile, n in tiles.items() if tile >= reach) / games for reach in REACH_TILES},
    )


@torch.inference_mode()
def play_games(model: nn.Module, games: int, greedy: bool = False, seed: int = 0) -> ScoreSummary:
    """Play `games` games, up to `MAX_BOARDS` at once, each board exactly one game (so short games
    are not over-represented). Moves are sampled from the policy, or its most likely legal move
    with `greedy`."""
    if games < 1:
        raise ValueError("games must be at least 1")
    generator = torch.Generator().manual_seed(seed)
    scores, lengths, tiles = [], [], []
    for batch, first in enumerate(range(0, games, MAX_BOARDS)):
        boards = min(MAX_BOARDS, games - first)
        envs = BatchedGame2048(boards, seed=[seed, batch])
        observations, masks = envs.reset(), envs.action_mask()
        playing = np.ones(boards, bool)
        while playing.any():
            rows = np.flatnonzero(playing)
            logits, _ = model(torch.from_numpy(observations[rows]).long(), torch.from_numpy(masks[rows]))
            log_probs = masked_log_probs(logits, torch.from_numpy(masks[rows]))
            chosen = log_probs.argmax(1) if greedy else torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(1)
            actions = masks.argmax(1)  # finished boards play any legal move; their games are not counted
            actions[rows] = chosen.numpy()
            observations, _, done, info = envs.step(actions)
            masks = info["action_mask"]
            ended = done & playing
            scores.append(info["final_score"][ended])
            lengths.append(info["final_length"][ended])
            tiles.append(info["final_max_tile"][ended])
            playing &= ~done
    return score_summary(np.concatenate(scores), np.concatenate(lengths), np.concatenate(tiles))


def format_summary(summary: ScoreSummary, checkpoint: str | None = None) -> str:
    """The table that `model-studio train` and `eval` print."""
    def number(value: float | None, digits: int = 0) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    rows = [
        ("games", f"{summary.games:,}"),
        ("mean score", number(summary.mean_score)),
        ("max score", number(summary.max_score)),
        ("mean length", number(summary.mean_length)),
    ]
    rows += [(f"reached {tile}", f"{summary.reach[str(tile)]:.1%}" if summary.reach else "-") for tile in REACH_TILES]
    if checkpoint is not None:
        rows.append(("checkpoint", checkpoint))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)
