/** The training budgets the Train panel offers: wall-clock minutes or board moves. */
import type { TrainRequest } from "../api/types";

export interface BudgetChoice {
  key: string;
  label: string;
  request: TrainRequest;
}

export const BUDGETS: readonly BudgetChoice[] = [
  { key: "1min", label: "1 min", request: { max_minutes: 1 } },
  { key: "5min", label: "5 min", request: { max_minutes: 5 } },
  { key: "10min", label: "10 min", request: { max_minutes: 10 } },
  { key: "30min", label: "30 min", request: { max_minutes: 30 } },
  { key: "1M", label: "1M steps", request: { max_env_steps: 1_000_000 } },
  { key: "10M", label: "10M steps", request: { max_env_steps: 10_000_000 } },
];

/** Five minutes: long enough to see the score climb, short enough to try again. */
export const DEFAULT_BUDGET = "5min";

export function budgetByKey(key: string): BudgetChoice {
  return BUDGETS.find((budget) => budget.key === key) ?? BUDGETS.find((budget) => budget.key === DEFAULT_BUDGET)!;
}
