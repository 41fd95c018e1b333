/** Training events as the server sends them (`contracts.py`), for tests to vary. */
import type { TrainingDone, TrainingUpdate } from "../../../src/api/types";

export function trainingUpdate(update: number, overrides: { episodes?: Partial<TrainingUpdate["episodes"]>; losses?: Partial<TrainingUpdate["losses"]>; expertUsage?: number[][]; runId?: string } = {}): TrainingUpdate {
  return {
    type: "training_update",
    run_id: overrides.runId ?? "run-1",
    update,
    env_steps: update * 16384,
    env_steps_per_s: 8000,
    elapsed_s: update * 2,
    learning_rate: 0.001,
    episodes: { count: 4, mean_score: 500 + update, max_score: 1000 + update, mean_length: 120, max_tile: { "64": 1, "128": 3 }, ...overrides.episodes },
    losses: { policy_loss: -0.01, value_loss: 0.5, entropy: 1.2, approx_kl: 0.01, clip_fraction: 0.1, lb_loss: 0.02, aux_loss: 0.03, ...overrides.losses },
    moe: { expert_usage: overrides.expertUsage ?? [], lb_reward: -0.02 },
  };
}

export function trainingDone(updates: number, status: TrainingDone["status"] = "completed", runId = "run-1"): TrainingDone {
  return {
    type: "done",
    run_id: runId,
    status,
    message: null,
    checkpoint: null,
    updates,
    env_steps: updates * 16384,
    elapsed_s: updates * 2,
    summary: { games: 200, mean_score: 2400, max_score: 6000, mean_length: 300, reach: { "256": 0.9, "512": 0.4 } },
  };
}
