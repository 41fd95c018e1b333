/**
 * What the app knows about training runs: per run, its events in order, the chart series derived
 * from them, the latest MoE expert usage (by canvas block), how it ended, and the stream's state.
 * Each design shows one run at a time (`shownByDesign`): the one the Train panel charts and the
 * canvas heat map colours.
 *
 * A record's `events` and `series` arrays are append-only and grow in place (a long run has
 * 100,000 updates); each event replaces the record itself and bumps `revision`, so selectors and
 * the chart see the change without any array being copied.
 */
import { create } from "zustand";
import type { TrainingDone, TrainingUpdate } from "../api/types";
import { usageByBlock, type MoeLayerBlock } from "./layers";
import { appendUpdate, emptySeries, type MetricSeries } from "./series";
import { followRun, type FollowOptions, type RunEvent, type RunFollower, type StreamState } from "./stream";

export interface RunRecord {
  runId: string;
  /** The design the run trains; null until known. */
  designId: string | null;
  /** Every event received, in `seq` order, each once. */
  events: RunEvent[];
  lastSeq: number;
  series: MetricSeries;
  /** Grows by one with every event; what changes when the in-place arrays do. */
  revision: number;
  latestUpdate: TrainingUpdate | null;
  /** The latest update's usage per MoE layer, in forward order; null before the first update. */
  expertUsage: number[][] | null;
  /** The design's MoE blocks in forward order, as the run's layers map onto them. */
  layers: MoeLayerBlock[];
  /** `expertUsage` by MoE block id; blocks the mapping cannot vouch for are absent. */
  usageByBlock: Record<string, readonly number[]>;
  done: TrainingDone | null;
  stream: StreamState | null;
  /** Stop was asked for; the run checkpoints and then sends `done`. */
  stopping: boolean;
}

interface RunsState {
  runs: Record<string, RunRecord>;
  /** Design id -> the run its Train panel and heat map show. */
  shownByDesign: Record<string, string>;
}

export const useRuns = create<RunsState>()(() => ({ runs: {}, shownByDesign: {} }));

const followers = new Map<string, RunFollower>();

function newRecord(runId: string, designId: string | null, layers: MoeLayerBlock[]): RunRecord {
  return {
    runId,
    designId,
    events: [],
    lastSeq: 0,
    series: emptySeries(),
    revision: 0,
    latestUpdate: null,
    expertUsage: null,
    layers,
    usageByBlock: {},
    done: null,
    stream: null,
    stopping: false,
  };
}

function updateRecord(runId: string, change: (record: RunRecord) => RunRecord | null): void {
  useRuns.setState((state) => {
    const record = state.runs[runId];
    const next = record && change(record);
    return next && next !== record ? { runs: { ...state.runs, [runId]: next } } : state;
  });
}

/** Add one event to a run. An event at or before the last one is dropped, so a replay can never double it. */
export function recordEvent(runId: string, event: RunEvent): void {
  updateRecord(runId, (record) => {
    if (event.seq <= record.lastSeq) return null;
    record.events.push(event);
    const next: RunRecord = { ...record, lastSeq: event.seq, revision: record.revision + 1 };
    if (event.type === "training_update") {
      appendUpdate(record.series, event.data);
      next.latestUpdate = event.data;
      next.expertUsage = event.data.moe.expert_usage;
      next.usageByBlock = usageByBlock(record.layers, event.data.moe.expert_usage);
    } else {
      next.done = event.data;
      next.stopping = false;
    }
    return next;
  });
}

export interface WatchOptions {
  designId: string | null;
  /** The design's MoE blocks in forward order (`moeLayerBlocks`), for the heat map. */
  layers?: MoeLayerBlock[];
  /** Show this run for its design: in the Train panel and on the canvas. Default true. */
  show?: boolean;
  /** For tests: passed to `followRun`. */
  follow?: Pick<FollowOptions, "fetcher" | "wake" | "initialDelayMs" | "stallTimeoutMs">;
}

/**
 * Follow a run's events into the store: from its start the first time (the server replays a
 * finished run, then ends), or from the last event held when it was followed before and did not
 * finish. A run already being followed, or already done, is only shown.
 */
export function watchRun(runId: string, { designId, layers, show = true, follow }: WatchOptions): void {
  useRuns.setState((state) => {
    const existing = state.runs[runId];
    const record = existing
      ? { ...existing, designId: existing.designId ?? designId, layers: layers ?? existing.layers, usageByBlock: layers && existing.expertUsage ? usageByBlock(layers, existing.expertUsage) : existing.usageByBlock }
      : newRecord(runId, designId, layers ?? []);
    const shownByDesign = show && designId ? { ...state.shownByDesign, [designId]: runId } : state.shownByDesign;
    return { runs: { ...state.runs, [runId]: record }, shownByDesign };
  });
  const record = useRuns.getState().runs[runId];
  if (followers.has(runId) || record.done) return;
  let follower: RunFollower | null = null;
  // A follower that was replaced still reports its end: only the current one sets the state.
  const isCurrent = () => follower === null || followers.get(runId) === follower;
  follower = followRun(runId, {
    ...follow,
    lastEventId: record.lastSeq,
    onEvent: (event) => recordEvent(runId, event),
    onState: (stream) => {
      if (isCurrent()) updateRecord(runId, (current) => ({ ...current, stream }));
    },
  });
  followers.set(runId, follower);
  const started = follower;
  void started.finished.then(() => {
    if (followers.get(runId) === started) followers.delete(runId);
  });
}

/** Stop following a run (the run itself keeps training); it can be watched again later. */
export function unwatchRun(runId: string): void {
  followers.get(runId)?.stop();
  followers.delete(runId);
}

/** Stop following every run: for tests, and when the app shuts down. */
export function unwatchAll(): void {
  for (const runId of [...followers.keys()]) unwatchRun(runId);
}

export function isFollowing(runId: string): boolean {
  return followers.has(runId);
}

export function markStopping(runId: string, stopping: boolean): void {
  updateRecord(runId, (record) => (record.done ? null : { ...record, stopping }));
}

/** Show no run for a design (its heat map goes away). */
export function hideRun(designId: string): void {
  useRuns.setState((state) => {
    if (!(designId in state.shownByDesign)) return state;
    const shownByDesign = { ...state.shownByDesign };
    delete shownByDesign[designId];
    return { shownByDesign };
  });
}

/** Forget every run: for tests. */
export function resetRuns(): void {
  unwatchAll();
  useRuns.setState({ runs: {}, shownByDesign: {} });
}

export function shownRun(state: RunsState, designId: string | null | undefined): RunRecord | null {
  if (!designId) return null;
  const runId = state.shownByDesign[designId];
  return (runId && state.runs[runId]) || null;
}

/** The hook the canvas uses: a block's expert usage in the design's shown run, or undefined. */
export function useExpertUsage(designId: string | null | undefined, blockId: string): readonly number[] | undefined {
  return useRuns((state) => shownRun(state, designId)?.usageByBlock[blockId]);
}

/** Where a run stands, in one word for the UI. */
export type RunPhase = "connecting" | "live" | "reconnecting" | "stopping" | TrainingDone["status"] | "ended" | "failed";

export function runPhase(record: RunRecord): RunPhase {
  if (record.done) return record.done.status;
  const stream = record.stream;
  if (stream?.phase === "ended") return stream.end.reason === "failed" ? "failed" : "ended";
  if (record.stopping) return "stopping";
  if (stream?.phase === "live") return "live";
  if (stream?.phase === "waiting") return "reconnecting";
  return "connecting";
}
