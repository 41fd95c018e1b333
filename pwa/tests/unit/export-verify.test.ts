/** The check boards and the phone-vs-server comparison, on hand-made answers with known gaps. */
import { describe, expect, it } from "vitest";
import { BOARD_CELLS, CHECK_BOARD_COUNT, MAX_EXPONENT, MOVES, checkBoards, seededRandom } from "../../src/export/boards";
import { ILLEGAL_LOGIT, MATCH_TOLERANCE, compareOutputs, describeComparison, formatDiff, rowsOf, runOfWeights, type PolicyOutputs } from "../../src/export/verify";

describe("checkBoards", () => {
  it("is the same every time and changes with the seed", () => {
    expect(checkBoards()).toEqual(checkBoards());
    expect(checkBoards(8, 1)).not.toEqual(checkBoards(8, 2));
  });

  it("has model-shaped boards covering every exponent, a full mask and a game-over mask", () => {
    const { boards, masks } = checkBoards();
    expect(boards).toHaveLength(CHECK_BOARD_COUNT);
    expect(masks).toHaveLength(CHECK_BOARD_COUNT);
    for (const board of boards) {
      expect(board).toHaveLength(BOARD_CELLS);
      expect(board.every((cell) => Number.isInteger(cell) && cell >= 0 && cell <= MAX_EXPONENT)).toBe(true);
    }
    expect(new Set(boards[0])).toEqual(new Set(Array.from({ length: MAX_EXPONENT + 1 }, (_, i) => i)));
    expect(masks.every((mask) => mask.length === MOVES.length)).toBe(true);
    expect(masks[0]).toEqual([true, true, true, true]);
    expect(masks.at(-1)).toEqual([false, false, false, false]);
    expect(masks.slice(1, -1).every((mask) => mask.includes(true))).toBe(true);
    expect(boards.slice(1, -1).some((board) => board.includes(0))).toBe(true);
  });

  it("refuses too few boards to hold its cases", () => {
    expect(() => checkBoards(2)).toThrow(RangeError);
  });

  it("draws floats in [0, 1)", () => {
    const random = seededRandom(7);
    const draws = Array.from({ length: 1000 }, random);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(new Set(draws).size).toBeGreaterThan(990);
  });
});

const MASKS = [
  [true, false, true, true],
  [false, false, false, false],
];

/** An answer with illegal moves masked as the exported model masks them. */
function answer(logits: number[][], values: number[]): PolicyOutputs {
  return { logits: logits.map((row, b) => row.map((logit, m) => (MASKS[b][m] ? logit : ILLEGAL_LOGIT))), values };
}

const SERVER = answer(
  [
    [0.5, 0, -1.25, 2],
    [0, 0, 0, 0],
  ],
  [0.3, -0.7],
);

describe("compareOutputs", () => {
  it("passes equal answers with the float32 minimum on illegal moves, read from a Float32Array", () => {
    const phone: PolicyOutputs = { logits: SERVER.logits.map((row) => Float32Array.from(row)), values: Float32Array.from(SERVER.values) };
    const result = compareOutputs(phone, SERVER, MASKS);
    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([]);
    // float32 rounding of 0.3 and -0.7 is the only difference
    expect(result.maxDiff).toBeGreaterThan(0);
    expect(result.maxDiff).toBeLessThan(1e-7);
  });

  it("passes gaps within the tolerance and reports the largest", () => {
    const phone = answer(
      [
        [0.5 + 6e-5, 0, -1.25, 2],
        [0, 0, 0, 0],
      ],
      [0.3, -0.7 - 9e-5],
    );
    const result = compareOutputs(phone, SERVER, MASKS);
    expect(result.ok).toBe(true);
    expect(result.maxLogitDiff).toBeCloseTo(6e-5, 12);
    expect(result.maxValueDiff).toBeCloseTo(9e-5, 12);
    expect(result.maxDiff).toBeCloseTo(9e-5, 12);
  });

  it("fails a legal logit or a value off by more than the tolerance, naming board and move", () => {
    const phone = answer(
      [
        [0.5, 0, -1.25 + 2 * MATCH_TOLERANCE, 2],
        [0, 0, 0, 0],
      ],
      [0.3, -0.7 + 0.01],
    );
    const result = compareOutputs(phone, SERVER, MASKS);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(["Board 1, down: logit -1.2498 vs -1.25.", "Board 2: value -0.69 vs -0.7."]);
    expect(result.maxDiff).toBeCloseTo(0.01, 12);
  });

  it("ignores illegal moves' differences only while both sides mask them", () => {
    const unmasked = { ...SERVER, logits: [SERVER.logits[0], [0, 0, 0, -1e30]] };
    const result = compareOutputs(unmasked, SERVER, MASKS);
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(4);
    expect(result.problems[0]).toBe("Board 2, up is illegal but not masked: 0 vs -3.4028234663852886e+38.");
  });

  it("fails NaN, which compares as nothing", () => {
    const phone = answer(
      [
        [Number.NaN, 0, -1.25, 2],
        [0, 0, 0, 0],
      ],
      [0.3, Number.NaN],
    );
    const result = compareOutputs(phone, SERVER, MASKS);
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(2);
    expect(result.maxDiff).toBe(Number.POSITIVE_INFINITY);
  });

  it("fails answers of the wrong size without reading past them", () => {
    const short = { logits: [SERVER.logits[0]], values: [0.3] };
    expect(compareOutputs(short, SERVER, MASKS)).toMatchObject({ ok: false, problems: ["Expected answers for 2 boards; got logits 1 vs 2, values 1 vs 2."] });
    const narrow = { logits: [[0.5, 0, -1.25], SERVER.logits[1]], values: SERVER.values };
    expect(compareOutputs(narrow, SERVER, MASKS).problems).toEqual(["Board 1: expected 4 logits, got 3 vs 4."]);
  });

  it("lists the first three problems and counts the rest", () => {
    const masks = [[true, true, true, true]];
    const result = compareOutputs({ logits: [[1, 1, 1, 1]], values: [1] }, { logits: [[0, 0, 0, 0]], values: [0] }, masks);
    expect(result.problems).toEqual(["Board 1, up: logit 1 vs 0.", "Board 1, right: logit 1 vs 0.", "Board 1, down: logit 1 vs 0.", "…and 2 more."]);
  });
});

describe("describeComparison", () => {
  it("says what the check proved, with the largest difference", () => {
    const verdict = describeComparison({ ok: true, maxLogitDiff: 3.14e-7, maxValueDiff: 1e-8, maxDiff: 3.14e-7, problems: [] });
    expect(verdict).toBe("Loads in onnxruntime, matches the server to 1e-4 (max difference 3.1e-7).");
    expect(describeComparison({ ok: true, maxLogitDiff: 0, maxValueDiff: 0, maxDiff: 0, problems: [] })).toContain("(max difference 0)");
  });

  it("says why it failed", () => {
    const verdict = describeComparison({ ok: false, maxLogitDiff: 0.02, maxValueDiff: 0, maxDiff: 0.02, problems: ["Board 1, up: logit 1 vs 0.98."] });
    expect(verdict).toBe("Does not match the server to 1e-4 (max difference 2e-2): Board 1, up: logit 1 vs 0.98.");
  });

  it("formats differences compactly", () => {
    expect([formatDiff(1e-4), formatDiff(2.5e-6), formatDiff(12), formatDiff(Number.POSITIVE_INFINITY)]).toEqual(["1e-4", "2.5e-6", "1.2e1", "Infinity"]);
  });
});

describe("rowsOf", () => {
  it("cuts a flat tensor into rows", () => {
    expect(rowsOf(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 4)).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(() => rowsOf([1, 2, 3], 4)).toThrow(RangeError);
  });
});

describe("runOfWeights", () => {
  it("reads the run out of X-Model-Weights", () => {
    expect(runOfWeights("run 20260101-abc_1, update 4")).toBe("20260101-abc_1");
    expect(runOfWeights("fresh, seed 0")).toBeNull();
    expect(runOfWeights(null)).toBeNull();
  });
});
