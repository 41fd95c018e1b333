"""Thousands of 2048 boards stepped at once: numpy bitboards and the shared line tables."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from gymnasium import spaces

from model_studio.env import game2048
from model_studio.env.tables import (
    ACTION_DIRECTION,
    ACTION_IS_VERTICAL,
    LINE_CELLS,
    LINE_MAX,
    LINE_MOVABLE,
    LINE_RESULT,
    LINE_SCORE,
    MAX_EXPONENT,
    MOVABLE_TO_MASK,
    NUM_ACTIONS,
    NUM_CELLS,
    NUM_LINES,
    SPAWN_FOUR_PROBABILITY,
    empty_cells_mask,
    encode_board,
    transpose,
)

if sys.byteorder != "little":  # the uint64 <-> uint16 / uint8 views below assume it
    raise ImportError("model_studio.env.vector needs a little-endian machine")

_IS_VERTICAL = np.array(ACTION_IS_VERTICAL)
_TABLE_OFFSET = np.array(ACTION_DIRECTION, np.intp) * NUM_LINES  # start of the direction's row
_RESULT = LINE_RESULT.ravel()
_SCORE = LINE_SCORE.ravel()


def _build_spawn_tables() -> tuple[np.ndarray, np.ndarray]:
    """Index both by the 16-bit empty-cells mask: the number of empty cells, and (at
    ``16 * mask + k``) the index of the k-th empty cell."""
    masks = np.arange(NUM_LINES, dtype=np.uint64)
    bits = [(masks >> np.uint64(cell)) & np.uint64(1) for cell in range(NUM_CELLS)]
    count = sum(bits)
    kth = np.zeros(NUM_LINES * NUM_CELLS, np.uint64)
    for cell in range(NUM_CELLS):
        with_cell = masks[bits[cell] == 1]
        rank = count[with_cell & np.uint64((1 << cell) - 1)]  # empty cells before this one
        kth[with_cell * np.uint64(NUM_CELLS) + rank] = cell
    return count, kth


_EMPTY_COUNT, _KTH_EMPTY = _build_spawn_tables()
_TRANSPOSED_SHIFT = np.array([4 * ((i % 4) * 4 + i // 4) for i in range(NUM_CELLS)], np.uint64)
_FOUR_THRESHOLD = np.uint64(round(SPAWN_FOUR_PROBABILITY * 2**32))  # compared with 32 random bits
_FOUR_THRESHOLD_INT = int(_FOUR_THRESHOLD)
_TRANSPOSED_SHIFT_INT = _TRANSPOSED_SHIFT.tolist()
_LOW32 = np.uint64(0xFFFFFFFF)
# uint32 views of byte tables: one gather per line (or per flags value) instead of one per byte.
_LINE_CELLS32 = LINE_CELLS.view(np.uint32).ravel()
_MASK32 = MOVABLE_TO_MASK.view(np.uint32).ravel()
SMALL_BATCH = 16  # up to this many boards, `step` moves them one by one with Python ints (see `_step_small`)


def move_boards(boards: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``actions`` to uint64 bitboards without spawning; return the new boards and merge scores."""
    vertical = _IS_VERTICAL[actions]
    transposed = transpose(boards)
    source = np.where(vertical, transposed, boards)
    moved, scores = _slide(source, actions)
    return np.where(vertical, transpose(moved), moved), scores


def _slide(source: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slide the four 16-bit lines of each ``source`` board for its action (a transposed board for up/down)."""
    # np.repeat, then a same-shape add, beats broadcasting the offset over the length-4 axis.
    index = np.repeat(_TABLE_OFFSET[actions], 4).reshape(-1, 4) + source.view(np.uint16).reshape(-1, 4)
    scores = np.take(_SCORE, index).astype(np.int64)
    total = scores[:, 0] + scores[:, 1] + scores[:, 2] + scores[:, 3]  # several times faster than sum(axis=1)
    return np.take(_RESULT, index).view(np.uint64).ravel(), total


class BatchedGame2048:
    """``num_envs`` games of 2048 stepped together, with automatic reset.

    The rules, spaces and rewards are those of
    :class:`~model_studio.env.game2048.Game2048Env` (actions 0 = up, 1 = right,
    2 = down, 3 = left; observations are the 16 row-major tile exponents; the
    reward is the merge score; a move that does not change its board gives 0, no
    spawn, and the game goes on). Boards are ``uint64`` bitboards moved with the
    line tables of :mod:`model_studio.env.tables`, so one call steps every board
    with a few dozen numpy operations.

    ## Automatic reset
    A board with no move left after a step is terminated: ``step`` returns the
    reward of that last move and ``terminated=True``, but the observation and
    action mask of a *new* game already started on that board. The finished
    game's final score, length and largest tile are in ``info["final_score"]``,
    ``info["final_length"]`` and ``info["final_max_tile"]`` (0 where not
    terminated). Bootstrapping from the returned observation of a terminated
    board is therefore wrong; treat the step as the episode's last.

    ## Information
    ``step`` returns ``info`` with (``N = num_envs``):

    - ``"action_mask"``: ``(N, 4)`` bool, legal moves of the returned observations
      (also :meth:`action_mask`); never all False, as finished boards restart;
    - ``"final_score"``, ``"final_length"``, ``"final_max_tile"``: ``(N,)`` int64;
      episode length counts every step, invalid moves included.

    ## Arguments
    ``num_envs``: number of boards. ``seed``: seed of the ``numpy.random.Generator``
    that draws all spawns; the same seed and actions give the same games.

    ## Example
    >>> envs = BatchedGame2048(4096, seed=0)
    >>> obs = envs.reset()
    >>> mask = envs.action_mask()
    >>> actions = (np.random.default_rng(0).random(mask.shape) * mask).argmax(axis=1)
    >>> obs, reward, terminated, info = envs.step(actions)
    """

    def __init__(self, num_envs: int, seed: int | None = None) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be positive, got {num_envs}")
        self.num_envs = num_envs
        self.single_observation_space = spaces.Box(0, MAX_EXPONENT, (NUM_CELLS,), np.int8)
        self.single_action_space = spaces.Discrete(NUM_ACTIONS)
        self._rng = np.random.default_rng(seed)
        self._boards = np.zeros(num_envs, np.uint64)
        self._transposed = np.zeros(num_envs, np.uint64)  # kept alongside: up/down and masks read columns
        self._mask = np.zeros((num_envs, NUM_ACTIONS), bool)
        self._score = np.zeros(num_envs, np.int64)
        self._length = np.zeros(num_envs, np.int64)
        self._started = False

    @property
    def boards(self) -> np.ndarray:
        """A copy of the current bitboards, ``(N,)`` uint64 (layout in :mod:`model_studio.env.tables`)."""
        return self._boards.copy()

    @property
    def episode_score(self) -> np.ndarray:
        """A copy of each board's score so far in its current game, ``(N,)`` int64."""
        return self._score.copy()

    @property
    def episode_length(self) -> np.ndarray:
        """A copy of each board's number of steps so far in its current game, ``(N,)`` int64."""
        return self._length.copy()

    def action_mask(self) -> np.ndarray:
        """Legal moves of the current boards, ``(N, 4)`` bool: True where the move changes the board."""
        return self._mask.copy()

    def reset(self, seed: int | None = None, boards: np.ndarray | None = None) -> np.ndarray:
        """Start new games on every board and return the observations, ``(N, 16)`` int8.

        ``seed`` reseeds the generator. ``boards`` optionally gives the starting
        positions as ``(N, 16)`` row-major exponents instead of two spawned tiles.
        """
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if boards is None:
            self._start_games(np.ones(self.num_envs, bool))
        else:
            exponents = np.asarray(boards)
            if exponents.shape != (self.num_envs, NUM_CELLS):
                raise ValueError(f"boards must have shape {(self.num_envs, NUM_CELLS)}, got {exponents.shape}")
            self._boards = np.array([encode_board(row) for row in exponents.tolist()], np.uint64)
            self._transposed = transpose(self._boards)
            self._score[:] = 0
            self._length[:] = 0
            self._mask = self._legal_moves(self._boards, self._transposed)[0]
        self._started = True
        return self._observe()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Play one move on every board; return ``(obs, reward, terminated, info)``.

        ``actions``: ``(N,)`` ints in 0..3. ``obs``: ``(N, 16)`` int8; ``reward``:
        ``(N,)`` float32; ``terminated``: ``(N,)`` bool. See the class docstring for
        the automatic reset and ``info``.
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions, np.intp)
        problem = f"actions must be {self.num_envs} ints in 0..{NUM_ACTIONS - 1}"
        if actions.shape != (self.num_envs,):
            raise ValueError(problem)
        listed = actions.tolist() if self.num_envs <= SMALL_BATCH else None
        low, high = (min(listed), max(listed)) if listed is not None else (actions.min(), actions.max())
        if low < 0 or high >= NUM_ACTIONS:
            raise ValueError(problem)
        if listed is not None:
            scores, self._mask, terminated, any_terminated = self._step_small(listed)
        else:
            vertical = _IS_VERTICAL[actions]
            source = np.where(vertical, self._transposed, self._boards)
            moved, scores = _slide(source, actions)
            changed = moved != source
            moved_transposed = transpose(moved)
            self._boards = np.where(vertical, moved_transposed, moved)
            self._transposed = np.where(vertical, moved, moved_transposed)
            self._spawn(self._boards, self._transposed, changed)
            self._mask, terminated = self._legal_moves(self._boards, self._transposed)
            any_terminated = terminated.any()
        self._score += scores
        self._length += 1

        final_score = np.zeros(self.num_envs, np.int64)
        final_length = np.zeros(self.num_envs, np.int64)
        final_max_tile = np.zeros(self.num_envs, np.int64)
        if any_terminated:
            final_score[terminated] = self._score[terminated]
            final_length[terminated] = self._length[terminated]
            final_max_tile[terminated] = 1 << self._max_exponents(self._boards[terminated])
            self._start_games(terminated)
        info = {
            "action_mask": self._mask.copy(),
            "final_score": final_score,
            "final_length": final_length,
            "final_max_tile": final_max_tile,
        }
        return self._observe(), scores.astype(np.float32), terminated, info

    def _step_small(self, actions: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Move, spawn and find the legal moves like the numpy path, board by board with the scalar
        env's Python-int functions: for a handful of boards, the fixed cost of a few dozen numpy
        calls is most of a step. It draws the same 64-bit values as `_spawn` and maps them to the
        same cells and tiles, so both paths give identical games. Returns the merge scores, the
        action mask, whether each board has no legal move, and whether any has none."""
        bits = self._rng.bit_generator.random_raw(self.num_envs).tolist()
        boards, transposed = self._boards.tolist(), self._transposed.tolist()
        movable = game2048.MOVABLE_FLAGS
        scores, flags = [], []
        for i, action in enumerate(actions):
            vertical = ACTION_IS_VERTICAL[action]
            source = transposed[i] if vertical else boards[i]
            moved, score = game2048.slide_lines(source, action)
            scores.append(score)
            if moved != source:  # a spawn; an unchanged board's random draw is spent unused, as in `_spawn`
                moved_transposed = transpose(moved)
                board, columns = (moved_transposed, moved) if vertical else (moved, moved_transposed)
                cells = game2048.empty_cells(empty_cells_mask(board))
                cell = cells[((bits[i] & 0xFFFFFFFF) * len(cells)) >> 32]
                exponent = 2 if bits[i] >> 32 < _FOUR_THRESHOLD_INT else 1
                boards[i] = board = board | exponent << 4 * cell
                transposed[i] = columns = columns | exponent << _TRANSPOSED_SHIFT_INT[cell]
            else:
                board, columns = boards[i], transposed[i]
            rows = movable[board & 0xFFFF] | movable[board >> 16 & 0xFFFF] | movable[board >> 32 & 0xFFFF] | movable[board >> 48]
            cols = movable[columns & 0xFFFF] | movable[columns >> 16 & 0xFFFF] | movable[columns >> 32 & 0xFFFF] | movable[columns >> 48]
            flags.append(rows | cols << 2)
        self._boards = np.array(boards, np.uint64)
        self._transposed = np.array(transposed, np.uint64)
        flag_array = np.array(flags, np.intp)
        mask = _MASK32[flag_array].view(bool).reshape(-1, NUM_ACTIONS)
        return np.array(scores, np.int64), mask, flag_array == 0, 0 in flags

    def _start_games(self, where: np.ndarray) -> None:
        """Start new games, with two spawned tiles, on the boards selected by the bool array ``where``."""
        count = int(np.count_nonzero(where))
        boards, transposed = np.zeros(count, np.uint64), np.zeros(count, np.uint64)
        everyone = np.ones(count, bool)
        self._spawn(boards, transposed, everyone)
        self._spawn(boards, transposed, everyone)
        self._boards[where] = boards
        self._transposed[where] = transposed
        self._score[where] = 0
        self._length[where] = 0
        self._mask[where] = self._legal_moves(boards, transposed)[0]

    def _spawn(self, boards: np.ndarray, transposed: np.ndarray, where: np.ndarray) -> None:
        """Spawn a tile in a uniformly chosen empty cell of the boards selected by ``where``, in place.

        One 64-bit draw per board: the low 32 bits pick the cell, the high 32 bits the tile.
        Every selected board must have an empty cell (true after any move that changed it).
        """
        empty = empty_cells_mask(boards)
        bits = self._rng.bit_generator.random_raw(len(boards))
        kth = ((bits & _LOW32) * _EMPTY_COUNT[empty]) >> np.uint64(32)
        cell = _KTH_EMPTY[(empty << np.uint64(4)) | kth]
        exponent = np.where(bits >> np.uint64(32) < _FOUR_THRESHOLD, np.uint64(2), np.uint64(1)) * where
        boards |= exponent << (cell << np.uint64(2))
        transposed |= exponent << _TRANSPOSED_SHIFT[cell]

    @staticmethod
    def _legal_moves(boards: np.ndarray, transposed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``(N, 4)`` action mask and whether each board has no legal move."""
        # OR the LINE_MOVABLE bytes of a board's 4 lines by viewing them as one uint32.
        rows = LINE_MOVABLE[boards.view(np.uint16)].view(np.uint32)
        cols = LINE_MOVABLE[transposed.view(np.uint16)].view(np.uint32)
        flags = rows | cols << 2
        flags |= flags >> 16
        flags |= flags >> 8
        flags &= 0xF
        return _MASK32[flags].view(bool).reshape(-1, NUM_ACTIONS), flags == 0

    @staticmethod
    def _max_exponents(boards: np.ndarray) -> np.ndarray:
        return LINE_MAX[boards.view(np.uint16).reshape(-1, 4)].max(axis=1).astype(np.int64)

    def _observe(self) -> np.ndarray:
        return _LINE_CELLS32[self._boards.view(np.uint16)].view(np.int8).reshape(self.num_envs, NUM_CELLS)
