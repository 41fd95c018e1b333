/**
 * The Compile tab: sync the design, compile it on the server, and show what came out: the exact
 * parameter count, the compile config as a readable list, and the generated PyTorch source.
 */
import { useEffect, useRef, useState } from "react";
import type { CompileResult } from "../api/types";
import { Icon } from "../ui/icons";
import { compileDesign, describeFailure, fetchSource, syncFirst, type Failure, type SyncDesign } from "./api";
import { CodeView } from "./CodeView";
import { FailureNotice } from "./FailureNotice";
import { formatCount } from "./format";

export interface CompilePanelProps {
  designId: string;
  /** Pushes the design to the server first; a refusal (e.g. a conflict) stops the compile. */
  sync: SyncDesign;
  /** Called with a block id when the user taps an error naming it (e.g. select and reveal it). */
  onShowBlock?: (blockId: string) => void;
}

type CompileState =
  | { kind: "idle" }
  | { kind: "working"; step: string }
  | { kind: "failed"; failure: Failure }
  | { kind: "compiled"; result: CompileResult; source: string | null; sourceFailure: Failure | null };

/** Nested config values deeper than this show as JSON, so the list stays readable. */
const MAX_CONFIG_DEPTH = 2;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value as one line: scalars as they are, lists of scalars joined, anything else as JSON. */
export function configText(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "number") return Number.isInteger(value) && Math.abs(value) >= 10_000 ? formatCount(value) : String(value);
  if (typeof value === "string" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((item) => !isRecord(item) && !Array.isArray(item))) return value.length ? value.map(configText).join(", ") : "none";
  if (Array.isArray(value) && value.every(isRecord)) {
    return value.map((item) => Object.entries(item).map(([key, inner]) => `${key} ${configText(inner)}`).join(" · ")).join("\n");
  }
  return JSON.stringify(value);
}

export function ConfigList({ config, depth = 0 }: { config: Record<string, unknown>; depth?: number }) {
  return (
    <dl className="config-list" data-testid={depth === 0 ? "compile-config" : undefined}>
      {Object.entries(config).map(([key, value]) => (
        <div key={key} className="config-list__row">
          <dt className="config-list__key">{key}</dt>
          <dd className="config-list__value">
            {isRecord(value) && Object.keys(value).length > 0 && depth < MAX_CONFIG_DEPTH ? <ConfigList config={value} depth={depth + 1} /> : configText(value)}
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function CompilePanel({ designId, sync, onShowBlock }: CompilePanelProps) {
  const [state, setState] = useState<CompileState>({ kind: "idle" });
  const live = useRef(true);
  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);
  // A result belongs to one design: opening another clears it.
  useEffect(() => setState({ kind: "idle" }), [designId]);

  const set = (next: CompileState) => {
    if (live.current) setState(next);
  };

  const compile = async () => {
    set({ kind: "working", step: "Syncing the design…" });
    const refused = await syncFirst(sync, designId);
    if (refused) return set({ kind: "failed", failure: refused });
    set({ kind: "working", step: "Compiling…" });
    let result: CompileResult;
    try {
      result = await compileDesign(designId);
    } catch (error) {
      return set({ kind: "failed", failure: describeFailure(error) });
    }
    set({ kind: "working", step: "Fetching the source…" });
    try {
      set({ kind: "compiled", result, source: await fetchSource(designId), sourceFailure: null });
    } catch (error) {
      set({ kind: "compiled", result, source: null, sourceFailure: describeFailure(error) });
    }
  };

  const working = state.kind === "working";
  return (
    <div className="compile-panel" aria-busy={working}>
      <div className="sheet__actions compile-panel__actions">
        <button type="button" className="button button--primary" onClick={() => void compile()} disabled={working}>
          <Icon name="check" /> {state.kind === "compiled" ? "Compile again" : "Compile"}
        </button>
        <span className="compile-panel__step" role="status">
          {working ? state.step : ""}
        </span>
      </div>
      {state.kind === "idle" && <p className="sheet__empty">Compiling sends the design to the server and turns it into a PyTorch module you can read here.</p>}
      {state.kind === "failed" && <FailureNotice failure={state.failure} onShowBlock={onShowBlock} />}
      {state.kind === "compiled" && (
        <>
          <p className="compile-panel__params" data-testid="param-count">
            <strong>{formatCount(state.result.paramCountExact)}</strong> parameters
          </p>
          <h3 className="sheet__section">Config</h3>
          <ConfigList config={state.result.config} />
          <h3 className="sheet__section">Generated source</h3>
          {state.source !== null ? (
            <CodeView source={state.source} label="Generated source" fileName={`${designId}.py`} />
          ) : (
            state.sourceFailure && <FailureNotice failure={state.sourceFailure} />
          )}
        </>
      )}
    </div>
  );
}
