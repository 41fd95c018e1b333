"""The rules of 2048, written once, as lookup tables over 16-bit board lines.

Bitboard layout, shared by :class:`~model_studio.env.game2048.Game2048Env` and
:class:`~model_studio.env.vector.BatchedGame2048`: a board is a 64-bit unsigned
integer; cell ``i`` (row-major, ``i = 4 * row + col``) holds the tile exponent in
bits ``4i .. 4i+3`` (0 = empty, ``k`` = tile ``2**k``). Row ``r`` is therefore the
16-bit *line* at bits ``16r .. 16r+15`` with column 0 in its lowest nibble, and
column ``c`` is row ``c`` of the transposed board.

Every move slides the four lines of a board - rows for left/right, columns for
up/down - either toward nibble 0 (left, up) or toward nibble 3 (right, down).
:func:`slide_line` is the only implementation of the merge rules; the tables
below hold its result for all 65536 lines. :func:`transpose` and
:func:`empty_cells_mask` use only integer operators, so they work on a Python
``int`` and on a ``numpy.uint64`` array alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

ACTIONS = ("up", "right", "down", "left")
"""Action names, indexed by action number."""
UP, RIGHT, DOWN, LEFT = range(4)
NUM_ACTIONS = len(ACTIONS)

NUM_CELLS = 16
MAX_EXPONENT = 15
"""Four bits per cell: the largest tile is 2**15 = 32768, and two of them do not merge."""
SPAWN_FOUR_PROBABILITY = 0.1
"""A spawned tile is a 4 with this probability, else a 2."""

NUM_LINES = 1 << 16
LINE_MASK = 0xFFFF
TOWARD_LOW, TOWARD_HIGH = 0, 1
"""Slide directions along a line: toward nibble 0 (left, up) or nibble 3 (right, down)."""

ACTION_IS_VERTICAL = (True, False, True, False)
ACTION_DIRECTION = (TOWARD_LOW, TOWARD_HIGH, TOWARD_HIGH, TOWARD_LOW)


def slide_line(cells: Sequence[int]) -> tuple[tuple[int, ...], int]:
    """Slide one line of exponents toward index 0, merging equal neighbours.

    A tile merges at most once per move and pairs form from the leading end, so
    ``[1, 1, 1, 1]`` becomes ``[2, 2, 0, 0]`` and ``[1, 1, 2, 0]`` becomes
    ``[2, 2, 0, 0]``. Returns the new cells and the score: the sum of the values
    of the merged tiles.
    """
    tiles = [c for c in cells if c]
    out: list[int] = []
    score = 0
    i = 0
    while i < len(tiles):
        if i + 1 < len(tiles) and tiles[i] == tiles[i + 1] and tiles[i] < MAX_EXPONENT:
            out.append(tiles[i] + 1)
            score += 1 << (tiles[i] + 1)
            i += 2
        else:
            out.append(tiles[i])
            i += 1
    return tuple(out + [0] * (len(cells) - len(out))), score


def _build_toward_low() -> tuple[np.ndarray, np.ndarray]:
    result = np.empty(NUM_LINES, np.uint16)
    score = np.empty(NUM_LINES, np.uint32)
    for line in range(NUM_LINES):
        cells, score[line] = slide_line((line & 15, line >> 4 & 15, line >> 8 & 15, line >> 12))
        result[line] = cells[0] | cells[1] << 4 | cells[2] << 8 | cells[3] << 12
    return result, score


def _reverse_nibbles(lines: np.ndarray) -> np.ndarray:
    return (lines & 0xF) << 12 | (lines & 0xF0) << 4 | (lines & 0xF00) >> 4 | lines >> 12


_ALL_LINES = np.arange(NUM_LINES, dtype=np.uint16)
_REVERSED = _reverse_nibbles(_ALL_LINES)
_low_result, _low_score = _build_toward_low()

LINE_RESULT = np.stack([_low_result, _reverse_nibbles(_low_result[_REVERSED])])
"""``LINE_RESULT[direction, line]``: the line after sliding it (uint16, shape (2, 65536)).

Toward nibble 3 is toward nibble 0 on the nibble-reversed line."""
LINE_SCORE = np.stack([_low_score, _low_score[_REVERSED]])
"""``LINE_SCORE[direction, line]``: the merge score of that slide (uint32)."""
_moves_low, _moves_high = LINE_RESULT != _ALL_LINES
LINE_MOVABLE = (_moves_low | _moves_high << 1).astype(np.uint8)
"""``LINE_MOVABLE[line]``: bit 0 set if sliding toward nibble 0 changes the line, bit 1 toward nibble 3."""
LINE_CELLS = np.stack([_ALL_LINES >> shift & 0xF for shift in (0, 4, 8, 12)], axis=1).astype(np.int8)
"""``LINE_CELLS[line]``: the line's four exponents, nibble 0 first (int8, shape (65536, 4))."""
LINE_MAX = LINE_CELLS.max(axis=1)
"""``LINE_MAX[line]``: the largest exponent in the line (int8)."""
MOVABLE_TO_MASK = np.array(
    [[cols & 1, rows & 2, cols & 2, rows & 1] for cols in range(4) for rows in range(4)], dtype=bool
)
"""``MOVABLE_TO_MASK[rows | cols << 2]``: the action mask (up, right, down, left) of a board
whose rows OR together to the ``LINE_MOVABLE`` bits ``rows`` and whose columns to ``cols``."""

Board = TypeVar("Board", int, np.ndarray)


def transpose(board: Board) -> Board:
    """Transpose a bitboard (or an array of them): cell (r, c) goes to (c, r)."""
    a1 = board & 0xF0F00F0FF0F00F0F
    a2 = board & 0x0000F0F00000F0F0
    a3 = board & 0x0F0F00000F0F0000
    a = a1 | a2 << 12 | a3 >> 12
    b1 = a & 0xFF00FF0000FF00FF
    b2 = a & 0x00FF00FF00000000
    b3 = a & 0x00000000FF00FF00
    return b1 | b2 >> 24 | b3 << 24


def empty_cells_mask(board: Board) -> Board:
    """Return a 16-bit mask (or an array of them) whose bit ``i`` is set where cell ``i`` is empty."""
    occupied = board | board >> 1
    occupied |= occupied >> 2
    empty = ~occupied & 0x1111111111111111  # bit 4i set where cell i is empty
    empty = (empty | empty >> 3) & 0x0303030303030303
    empty = (empty | empty >> 6) & 0x000F000F000F000F
    empty = (empty | empty >> 12) & 0x000000FF000000FF
    return (empty | empty >> 24) & 0xFFFF


def encode_board(exponents: Sequence[int]) -> int:
    """Pack 16 row-major exponents (each 0..15) into a bitboard."""
    if len(exponents) != NUM_CELLS or not all(0 <= int(e) <= MAX_EXPONENT for e in exponents):
        raise ValueError(f"a board is {NUM_CELLS} exponents in 0..{MAX_EXPONENT}, got {list(exponents)}")
    board = 0
    for i, exponent in enumerate(exponents):
        board |= int(exponent) << (4 * i)
    return board


def decode_board(board: int) -> list[int]:
    """Unpack a bitboard into its 16 row-major exponents."""
    return [board >> (4 * i) & 0xF for i in range(NUM_CELLS)]
