/**
 * Does the `.onnx` on this phone compute what the server's model computes? Compares the two
 * answers for the same boards: the logits of legal moves and the values must agree to
 * `MATCH_TOLERANCE` (what the server's own export check allows), and illegal moves must be
 * masked to the float32 minimum on both sides, as the exported model masks them.
 */
import { MOVES } from "./boards";

/** Largest absolute difference allowed on a legal-move logit or a value (model_studio.export.PARITY_TOLERANCE). */
export const MATCH_TOLERANCE = 1e-4;
/** The logit of an illegal move: float32's minimum, finite, so JSON carries it exactly. */
export const ILLEGAL_LOGIT = -3.4028234663852886e38;
/** Mismatches listed by name; the rest are counted. */
const LISTED_PROBLEMS = 3;

/** A model's answer for N boards: N rows of 4 logits, N values. */
export interface PolicyOutputs {
  logits: ArrayLike<number>[];
  values: ArrayLike<number>;
}

export interface Comparison {
  ok: boolean;
  /** Largest difference on a legal-move logit (0 when no move was legal anywhere). */
  maxLogitDiff: number;
  maxValueDiff: number;
  /** The larger of the two: the figure to show. */
  maxDiff: number;
  /** What disagreed, for people: the first few by name, then a count. */
  problems: string[];
}

const isIllegalLogit = (logit: number) => Math.fround(logit) === Math.fround(ILLEGAL_LOGIT);

/** Compare the phone's answer with the server's, board by board. */
export function compareOutputs(phone: PolicyOutputs, server: PolicyOutputs, masks: readonly (readonly boolean[])[], tolerance = MATCH_TOLERANCE): Comparison {
  const problems: string[] = [];
  const count = masks.length;
  const sizes = [phone.logits.length, phone.values.length, server.logits.length, server.values.length];
  if (sizes.some((size) => size !== count)) {
    problems.push(`Expected answers for ${count} boards; got logits ${sizes[0]} vs ${sizes[2]}, values ${sizes[1]} vs ${sizes[3]}.`);
    return { ok: false, maxLogitDiff: Number.NaN, maxValueDiff: Number.NaN, maxDiff: Number.NaN, problems };
  }

  let maxLogitDiff = 0;
  let maxValueDiff = 0;
  for (let board = 0; board < count; board++) {
    const [mine, theirs] = [phone.logits[board], server.logits[board]];
    if (mine.length !== MOVES.length || theirs.length !== MOVES.length) {
      problems.push(`Board ${board + 1}: expected ${MOVES.length} logits, got ${mine.length} vs ${theirs.length}.`);
      continue;
    }
    MOVES.forEach((move, index) => {
      const [a, b] = [mine[index], theirs[index]];
      if (!masks[board][index]) {
        if (!isIllegalLogit(a) || !isIllegalLogit(b)) problems.push(`Board ${board + 1}, ${move} is illegal but not masked: ${a} vs ${b}.`);
        return;
      }
      const gap = Math.abs(a - b);
      if (!(gap <= tolerance)) problems.push(`Board ${board + 1}, ${move}: logit ${a} vs ${b}.`); // NaN fails too
      maxLogitDiff = Math.max(maxLogitDiff, Number.isNaN(gap) ? Number.POSITIVE_INFINITY : gap);
    });
    const valueGap = Math.abs(phone.values[board] - server.values[board]);
    if (!(valueGap <= tolerance)) problems.push(`Board ${board + 1}: value ${phone.values[board]} vs ${server.values[board]}.`);
    maxValueDiff = Math.max(maxValueDiff, Number.isNaN(valueGap) ? Number.POSITIVE_INFINITY : valueGap);
  }
  const listed = problems.length > LISTED_PROBLEMS ? [...problems.slice(0, LISTED_PROBLEMS), `…and ${problems.length - LISTED_PROBLEMS} more.`] : problems;
  return { ok: problems.length === 0, maxLogitDiff, maxValueDiff, maxDiff: Math.max(maxLogitDiff, maxValueDiff), problems: listed };
}

/** A difference as people read it: "3.1e-7", "1e-4", "0" for an exact match. */
export function formatDiff(diff: number): string {
  if (diff === 0) return "0";
  if (!Number.isFinite(diff)) return String(diff);
  return diff.toExponential(1).replace(".0e", "e").replace("e+", "e");
}

/** The one-line verdict: what the check proved, or why it failed. */
export function describeComparison(comparison: Comparison, tolerance = MATCH_TOLERANCE): string {
  const bound = formatDiff(tolerance);
  if (comparison.ok) return `Loads in onnxruntime, matches the server to ${bound} (max difference ${formatDiff(comparison.maxDiff)}).`;
  return `Does not match the server to ${bound} (max difference ${formatDiff(comparison.maxDiff)}): ${comparison.problems.join(" ")}`;
}

/** Rows of `width` from a flat tensor's data (onnxruntime returns [N, 4] as one Float32Array). */
export function rowsOf(data: ArrayLike<number>, width: number): number[][] {
  if (width <= 0 || data.length % width !== 0) throw new RangeError(`${data.length} numbers do not make rows of ${width}`);
  const rows: number[][] = [];
  for (let start = 0; start < data.length; start += width) rows.push(Array.from({ length: width }, (_, i) => data[start + i]));
  return rows;
}

/** The run named by an `X-Model-Weights` label ("run <id>, update <n>"), or null for fresh weights. */
export function runOfWeights(label: string | null): string | null {
  const match = /^run (\S+), update \d+$/.exec(label ?? "");
  return match ? match[1] : null;
}
