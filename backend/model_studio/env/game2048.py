"""Single-board 2048 as a Gymnasium environment, on a Python-int bitboard."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from model_studio.env.tables import (
    ACTION_DIRECTION,
    ACTION_IS_VERTICAL,
    LINE_CELLS,
    LINE_MASK,
    LINE_MAX,
    LINE_MOVABLE,
    LINE_RESULT,
    LINE_SCORE,
    MAX_EXPONENT,
    MOVABLE_TO_MASK,
    NUM_ACTIONS,
    NUM_CELLS,
    SPAWN_FOUR_PROBABILITY,
    decode_board,
    empty_cells_mask,
    encode_board,
    transpose,
)

# Plain lists and bytes: indexing them with an int is several times faster than indexing numpy.
_RESULT = [LINE_RESULT[direction].tolist() for direction in ACTION_DIRECTION]
_SCORE = [LINE_SCORE[direction].tolist() for direction in ACTION_DIRECTION]
MOVABLE_FLAGS = LINE_MOVABLE.tolist()  # as Python ints, for the per-board paths here and in vector.py
_MAX_TILE = np.where(LINE_MAX > 0, 1 << LINE_MAX.astype(np.int64), 0).tolist()
_MASKS = MOVABLE_TO_MASK.astype(np.int8)
_LINE_CELLS = [cells.tobytes() for cells in LINE_CELLS]  # concatenated, they are the observation
_TRANSPOSED_CELL = [(i % 4) * 4 + i // 4 for i in range(NUM_CELLS)]
_UNIFORM_BATCH = 1024  # uniforms drawn per np_random call: one call per spawn would dominate a step


@functools.cache
def empty_cells(mask: int) -> tuple[int, ...]:
    """The indices of the set bits of a 16-bit empty-cells mask."""
    return tuple(i for i in range(NUM_CELLS) if mask >> i & 1)


def slide_lines(source: int, action: int) -> tuple[int, int]:
    """Slide the four lines of ``source`` (the board, or its transpose for up/down) for ``action``."""
    result, score = _RESULT[action], _SCORE[action]
    l0, l1, l2, l3 = source & LINE_MASK, source >> 16 & LINE_MASK, source >> 32 & LINE_MASK, source >> 48
    moved = result[l0] | result[l1] << 16 | result[l2] << 32 | result[l3] << 48
    return moved, score[l0] + score[l1] + score[l2] + score[l3]


def move(board: int, action: int) -> tuple[int, int]:
    """Apply ``action`` to a bitboard without spawning; return the new bitboard and the merge score."""
    if ACTION_IS_VERTICAL[action]:
        moved, score = slide_lines(transpose(board), action)
        return transpose(moved), score
    return slide_lines(board, action)


class Game2048Env(gym.Env[np.ndarray, np.int64]):
    """The sliding-tile game 2048 on a 4x4 board.

    ## Description
    Each move slides every tile as far as possible in one direction; two equal
    tiles that meet merge into their sum, and a tile merges at most once per move
    (``[2, 2, 2, 2]`` left gives ``[4, 4, 0, 0]``, ``[2, 2, 4, 0]`` left gives
    ``[4, 4, 0, 0]``). After every move that changes the board, a 2 (probability
    0.9) or a 4 (0.1) appears in a uniformly chosen empty cell. Tiles are stored
    in 4 bits, so the largest tile is 32768 and two 32768 tiles do not merge.

    ## Action Space
    ``Discrete(4)``: 0 = up, 1 = right, 2 = down, 3 = left (``ACTIONS``).

    ## Observation Space
    ``Box(0, 15, (16,), int8)``: the 16 cells in row-major order, each the tile's
    exponent (0 = empty, ``k`` = tile ``2**k``).

    ## Rewards
    The merge score of the move, as in the original game: the sum of the values
    of the tiles created by merges (merging two 8s gives 16). A move that does not
    change the board gives 0.

    ## Starting State
    An empty board with two spawned tiles, or the board passed as
    ``reset(options={"board": exponents})`` (16 row-major exponents). Spawns
    come from ``np_random``, so ``reset(seed=...)`` makes episodes reproducible.

    ## Episode End
    Terminates when no move changes the board. A move that does not change the
    board (an invalid move) is not an error and does not end the episode: the
    board stays as it is, no tile spawns and the reward is 0. The environment
    never truncates; wrap it in ``TimeLimit`` (``gymnasium.make(...,
    max_episode_steps=n)``) to bound episode length.

    ## Information
    ``reset`` and ``step`` return ``info`` with:

    - ``"action_mask"``: ``int8`` array of 4, 1 where the action changes the board;
    - ``"score"``: the episode's cumulative reward so far (``int``);
    - ``"max_tile"``: the largest tile on the board (``int``, e.g. 2048).

    ## Arguments
    ``render_mode``: ``None`` or ``"ansi"`` (``render()`` returns the board as text).

    ## Example
    >>> import gymnasium as gym
    >>> import model_studio.env  # registers the environment
    >>> env = gym.make("ModelStudio/Game2048-v0")
    >>> obs, info = env.reset(seed=0)
    >>> action = int(np.flatnonzero(info["action_mask"])[0])
    >>> obs, reward, terminated, truncated, info = env.step(action)
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # fps is unused by "ansi"; Gymnasium expects it

    def __init__(self, render_mode: str | None = None) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"unsupported render_mode {render_mode!r}")
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0, MAX_EXPONENT, (NUM_CELLS,), np.int8)
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self._board = 0  # bitboard, layout in model_studio.env.tables
        self._transposed = 0  # kept alongside, so that up/down and the mask need no transpose
        self._score = 0
        self._uniforms: list[float] = []

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._uniforms = []  # drawn from the previous generator
        board: Sequence[int] | None = (options or {}).get("board")
        self._board = encode_board(board) if board is not None else 0
        self._transposed = transpose(self._board)
        if board is None:
            self._spawn()
            self._spawn()
        self._score = 0
        observation, info, _ = self._observe()
        return observation, info

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = int(action)
        if not 0 <= action < NUM_ACTIONS:
            raise ValueError(f"action must be in 0..{NUM_ACTIONS - 1}, got {action}")
        vertical = ACTION_IS_VERTICAL[action]
        source = self._transposed if vertical else self._board
        moved, reward = slide_lines(source, action)
        if moved != source:
            if vertical:
                self._board, self._transposed = transpose(moved), moved
            else:
                self._board, self._transposed = moved, transpose(moved)
            self._spawn()
            self._score += reward
        observation, info, terminated = self._observe()
        return observation, float(reward), terminated, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        tiles = [1 << e if e else 0 for e in decode_board(self._board)]
        width = max(len(str(t)) for t in tiles)
        rows = (" ".join(f"{t or '.':>{width}}" for t in tiles[r : r + 4]) for r in range(0, NUM_CELLS, 4))
        return "\n".join(rows) + f"\nscore {self._score}\n"

    def _spawn(self) -> None:
        if len(self._uniforms) < 2:
            self._uniforms = self.np_random.random(_UNIFORM_BATCH).tolist()
        uniforms = self._uniforms
        cells = empty_cells(empty_cells_mask(self._board))
        cell = cells[int(uniforms.pop() * len(cells))]
        exponent = 2 if uniforms.pop() < SPAWN_FOUR_PROBABILITY else 1
        self._board |= exponent << 4 * cell
        self._transposed |= exponent << 4 * _TRANSPOSED_CELL[cell]

    def _observe(self) -> tuple[np.ndarray, dict[str, Any], bool]:
        """Return the observation, the info and whether no move is left."""
        board, transposed = self._board, self._transposed
        r0, r1, r2, r3 = board & LINE_MASK, board >> 16 & LINE_MASK, board >> 32 & LINE_MASK, board >> 48
        c0, c1, c2, c3 = (
            transposed & LINE_MASK,
            transposed >> 16 & LINE_MASK,
            transposed >> 32 & LINE_MASK,
            transposed >> 48,
        )
        cells = _LINE_CELLS
        observation = np.frombuffer(bytearray(cells[r0] + cells[r1] + cells[r2] + cells[r3]), np.int8)
        movable = MOVABLE_FLAGS
        flags = movable[r0] | movable[r1] | movable[r2] | movable[r3]
        flags |= (movable[c0] | movable[c1] | movable[c2] | movable[c3]) << 2
        info = {
            "action_mask": _MASKS[flags].copy(),
            "score": self._score,
            "max_tile": max(_MAX_TILE[r0], _MAX_TILE[r1], _MAX_TILE[r2], _MAX_TILE[r3]),
        }
        return observation, info, flags == 0
