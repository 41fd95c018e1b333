/**
 * Colours for the MoE heat map. An expert's colour says how its share of tokens compares with an
 * even split: dark for an idle expert, the ramp's middle for exactly its fair share (1/n), bright
 * yellow for twice that or more. The ramp is viridis, which is perceptually uniform and reads for
 * colour-blind users.
 */

/** Viridis sampled at nine even stops, as sRGB. */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** An expert with this many times its fair share, or more, gets the top of the ramp. */
export const HOT_SHARE_MULTIPLE = 2;

/** Where `fraction` of the tokens falls on the ramp, 0 to 1, for a layer of `nExperts`. */
export function heatLevel(fraction: number, nExperts: number): number {
  if (!Number.isFinite(fraction) || !(nExperts >= 1)) return 0;
  return Math.min(1, Math.max(0, (fraction * nExperts) / HOT_SHARE_MULTIPLE));
}

/** The ramp's colour at `level` (0 to 1), as `rgb(r, g, b)`. */
export function rampColour(level: number): string {
  const position = Math.min(1, Math.max(0, Number.isFinite(level) ? level : 0)) * (VIRIDIS.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(VIRIDIS.length - 1, lower + 1);
  const t = position - lower;
  const [r, g, b] = VIRIDIS[lower].map((channel, i) => Math.round(channel + (VIRIDIS[upper][i] - channel) * t));
  return `rgb(${r}, ${g}, ${b})`;
}

export function heatColour(fraction: number, nExperts: number): string {
  return rampColour(heatLevel(fraction, nExperts));
}

/** "31%"; under 1% shows one decimal so an almost idle expert does not read as 0. */
export function percent(fraction: number): string {
  if (!Number.isFinite(fraction)) return "–";
  const value = fraction * 100;
  return value > 0 && value < 1 ? `${value.toFixed(1)}%` : `${Math.round(value)}%`;
}

/** "expert 1: 31%, expert 2: 9%, ...", numbered from 1 as people count. */
export function usageSummary(usage: readonly number[]): string {
  return usage.map((fraction, index) => `expert ${index + 1}: ${percent(fraction)}`).join(", ");
}
