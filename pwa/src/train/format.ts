/** Numbers and times as the Train and Compile panels show them. */
import type { RunBudget, RunStatus } from "../api/types";

const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });

/** 196608 -> "196,608". */
export function formatCount(value: number): string {
  return integer.format(value);
}

/** Axis ticks: 196608 -> "197k", 12500000 -> "12.5M". */
export function formatCompact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${+(value / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toPrecision(3)}k`;
  return `${+value.toPrecision(3)}`;
}

/** 75 -> "1 min 15 s"; under a minute, seconds only. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  if (hours > 0) return `${hours} h ${minutes} min`;
  const rest = whole % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

/** "1 min", "10M steps", "1 min or 1M steps", "until stopped". */
export function formatBudget(budget: RunBudget): string {
  const parts: string[] = [];
  if (budget.max_minutes != null) parts.push(`${+budget.max_minutes.toPrecision(3)} min`);
  if (budget.max_env_steps != null) parts.push(`${formatCompact(budget.max_env_steps)} steps`);
  return parts.length ? parts.join(" or ") : "until stopped";
}

/** A timestamp as a short local date and time: "12 Mar, 14:05". */
export function formatWhen(iso: string, locale?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** The best score a run reached: its summary's maximum, once it has one. */
export function runBestScore(run: RunStatus): number | null {
  return run.summary?.max_score ?? null;
}
