/**
 * followRun against a REAL server, opt-in: it trains one PPO update (about 10 s), so it is not
 * part of the default run. Start a server and point the test at it:
 *
 *   .venv/bin/model-studio serve --port 8765 --data-dir "$(mktemp -d)" --token <16+ chars> --static-dir "$(mktemp -d)"
 *   MODEL_STUDIO_TEST_URL=http://127.0.0.1:8765 MODEL_STUDIO_TEST_TOKEN=<token> npx vitest run tests/unit/stream-live.test.ts
 */
import moeRouter from "@schema/templates/moe-router.json";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiJson, configureApi } from "../../src/api/client";
import type { TrainAccepted } from "../../src/api/types";
import type { ModelArchitecture } from "../../src/model/types";
import { moeLayerBlocks, usageByBlock } from "../../src/train/layers";
import { seriesOf } from "../../src/train/series";
import { followRun, type RunEvent } from "../../src/train/stream";

const url = process.env.MODEL_STUDIO_TEST_URL;
const token = process.env.MODEL_STUDIO_TEST_TOKEN;

async function follow(runId: string, lastEventId = 0) {
  const events: RunEvent[] = [];
  const end = await followRun(runId, { lastEventId, onEvent: (event) => events.push(event), wake: () => () => {} }).finished;
  return { events, end };
}

describe.skipIf(!url || !token)("followRun against a real server", () => {
  let undo: () => void;
  let runId: string;
  const design = { ...(moeRouter as ModelArchitecture), id: `live-${Date.now().toString(36)}` };

  beforeAll(async () => {
    undo = configureApi({ baseUrl: url!, getToken: async () => token! });
    await apiJson(`/api/designs/${design.id}`, { method: "PUT", json: design, headers: { "If-None-Match": "*" } });
    runId = (await apiJson<TrainAccepted>(`/api/designs/${design.id}/train`, { method: "POST", json: { max_env_steps: 1 } })).run_id;
  });
  afterAll(() => undo?.());

  it("follows the run live to done, then replays it identically, and resumes after an id", async () => {
    const live = await follow(runId);
    expect(live.end.reason).toBe("done");
    expect(live.events.map((event) => event.type)).toEqual(["training_update", "done"]);
    expect(live.events.map((event) => event.seq)).toEqual([1, 2]);
    const update = live.events[0].type === "training_update" ? live.events[0].data : null;
    expect(update?.moe.expert_usage).toHaveLength(1);
    // The server's layer 0 is the template's one MoE block, with its 4 experts.
    expect(Object.keys(usageByBlock(moeLayerBlocks(design), update!.moe.expert_usage))).toEqual(["experts"]);
    expect(seriesOf([update!]).steps).toEqual([update!.env_steps]);

    const replay = await follow(runId);
    expect(replay.events).toEqual(live.events);
    const resumed = await follow(runId, 1);
    expect(resumed.events.map((event) => event.seq)).toEqual([2]);
    const after = await follow(runId, 2);
    expect(after).toEqual({ events: [], end: { reason: "finished", lastEventId: 2 } });
  }, 120_000);
});
