"""Single-board 2048 as a Gymnasium environment, on a Python-int bitboard."""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from model_studio.env.tables import (
    ACTION_DIRECTION,
    ACTION_IS_VERTICAL,
    ACTIONS,
    LINE_MASK,
    LINE_MAX,
    LINE_MOVABLE,
    LINE_RESULT,
    LINE_SCORE,
    MAX_EXPONENT,
    MOVABLE_TO_MASK,
    NUM_CELLS,
    SPAWN_FOUR_PROBABILITY,
    decode_board,
    empty_cells_mask,
    encode_board,
    transpose,
)

# Python lists: indexing them with an int is several times faster than indexing numpy arrays.
_RESULT = [LINE_RESULT[d].tolist() for d in ACTION_DIRECTION]
_SCORE = [LINE_SCORE[d].tolist() for d in ACTION_DIRECTION]
_MOVABLE = LINE_MOVABLE.tolist()
_MAX = LINE_MAX.tolist()
_MASKS = MOVABLE_TO_MASK.astype(np.int8)
_LINE_BYTES = LINE_MAX.dtype.type  # placeholder replaced below
_ROW_CELLS = np.stack([np.arange(1 << 16) >> s & 0xF for s in (0, 4, 8, 12)], axis=1).astype(np.int8).tobytes()
_TRANSPOSED_CELL = [(i % 4) * 4 + i // 4 for i in range(NUM_CELLS)]
_UNIFORM_BATCH = 1024  # uniforms drawn per call to np_random: one call per step would dominate the step time


@functools.cache
def _empty_cells(mask: int) -> tuple[int, ...]:
    return tuple(i for i in range(NUM_CELLS) if mask >> i & 1)


def move(board: int, action: int) -> tuple[int, int]:
    """Apply ``action`` to ``board`` without spawning; return the new board and the merge score."""
    vertical = ACTION_IS_VERTICAL[action]
    source = transpose(board) if vertical else board
    result, score = _RESULT[action], _SCORE[action]
    lines = [source >> shift & LINE_MASK for shift in (0, 16, 32, 48)]
    moved = sum(result[line] << shift for line, shift in zip(lines, (0, 16, 32, 48)))
    return (transpose(moved) if vertical else moved), sum(score[line] for line in lines)
