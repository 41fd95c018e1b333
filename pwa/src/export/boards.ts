/**
 * The fixed boards an exported `.onnx` is checked on: the same every time (seeded), shaped as the
 * model's inputs — `board`, 16 cells of exponents (0 empty, 1 → tile 2, 11 → tile 2048), row by
 * row; `action_mask`, one flag per move (up, right, down, left).
 *
 * They are random rather than reachable positions: the check is that two runtimes compute the
 * same function, so what matters is covering every exponent, empty and full boards, and masks
 * with every mix of legal moves, including none.
 */

export const BOARD_CELLS = 16;
export const MAX_EXPONENT = 15;
export const MOVES = ["up", "right", "down", "left"] as const;

/** Boards per check: enough to cover the cases above, few enough to send in one small request. */
export const CHECK_BOARD_COUNT = 8;
export const CHECK_SEED = 2048;
/** Chance that a cell is empty, and that a move is legal, on the random boards. */
const EMPTY_CELL_CHANCE = 0.35;
const LEGAL_MOVE_CHANCE = 0.6;
/** Tiles on the random boards go up to 8192; the first board covers every exponent. */
const TYPICAL_MAX_EXPONENT = 13;

export interface CheckBoards {
  boards: number[][];
  masks: boolean[][];
}

/** mulberry32: a tiny, well-spread 32-bit generator; floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` boards and masks (at least 3): the first holds every exponent 0..15 with every move
 * legal, the last is a game-over board (no legal move), and the rest are random boards with at
 * least one legal move each.
 */
export function checkBoards(count: number = CHECK_BOARD_COUNT, seed: number = CHECK_SEED): CheckBoards {
  if (!Number.isInteger(count) || count < 3) throw new RangeError(`checkBoards needs at least 3 boards, not ${count}`);
  const random = seededRandom(seed);
  const boards: number[][] = [Array.from({ length: BOARD_CELLS }, (_, cell) => cell % (MAX_EXPONENT + 1))];
  const masks: boolean[][] = [MOVES.map(() => true)];
  for (let index = 1; index < count - 1; index++) {
    boards.push(Array.from({ length: BOARD_CELLS }, () => (random() < EMPTY_CELL_CHANCE ? 0 : 1 + Math.floor(random() * TYPICAL_MAX_EXPONENT))));
    const mask = MOVES.map(() => random() < LEGAL_MOVE_CHANCE);
    if (!mask.includes(true)) mask[Math.floor(random() * MOVES.length)] = true;
    masks.push(mask);
  }
  boards.push(Array.from({ length: BOARD_CELLS }, () => 1 + Math.floor(random() * TYPICAL_MAX_EXPONENT)));
  masks.push(MOVES.map(() => false));
  return { boards, masks };
}
