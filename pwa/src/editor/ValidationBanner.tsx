/**
 * The floating validation banner (green when the design is valid, red with its first three
 * errors when not; tapping an error shows its block; red with a reload button when the
 * validation worker has failed) and the parameter and memory overlay.
 */
import { useReactFlow } from "@xyflow/react";
import { useState } from "react";
import { findComponent } from "../model/graph";
import type { DesignError, ValidationResult } from "../model/types";
import { Icon } from "../ui/icons";
import type { BlockNode } from "./flow";
import { select, useEditor } from "./store";
import { useValidation } from "./validation";
import { centreOnBlock } from "./viewport";

/** Errors listed in the banner; the rest are counted. */
export const BANNER_ERRORS = 3;

const numberFormat = new Intl.NumberFormat("en-US");

function ErrorRow({ error }: { error: DesignError }) {
  const flow = useReactFlow<BlockNode>();
  const text = error.hint ? `${error.message} ${error.hint}` : error.message;
  const target = error.component;
  if (!target) {
    return (
      <li className="banner__error">
        <span className="banner__text">{text}</span>
      </li>
    );
  }

  const show = () => {
    const component = findComponent(useEditor.getState().design!, target);
    if (!component) return;
    select({ kind: "block", id: target });
    void centreOnBlock(flow, component.position);
  };
  return (
    <li>
      <button type="button" className="banner__error banner__error--link" onClick={show} aria-label={`Show ${target}: ${error.message}`}>
        <span className="banner__text">{text}</span>
      </button>
    </li>
  );
}

/** Shown once the worker has failed: the last result would be stale, so none is shown. */
function StoppedBanner({ reason, onReload }: { reason: string; onReload?: () => void }) {
  return (
    <section className="banner banner--invalid" aria-label="Validation" role="alert">
      <div className="banner__title">
        <Icon name="alert" />
        <span className="banner__count">Validation stopped: reload the app</span>
        {onReload && (
          <button type="button" className="button button--primary" onClick={onReload}>
            Reload
          </button>
        )}
      </div>
      <p className="banner__more">{reason}</p>
    </section>
  );
}

/** `onReload` reloads the app (after saving); without it the banner only says to reload. */
export function ValidationBanner({ onReload }: { onReload?: () => void }) {
  const result = useValidation((s) => s.result);
  const failure = useValidation((s) => s.failure);
  // Folded, the banner is one line, leaving the canvas its room.
  const [folded, setFolded] = useState(false);
  if (failure) return <StoppedBanner reason={failure} onReload={onReload} />;
  if (!result) return null;
  if (result.valid) {
    return (
      <section className="banner banner--valid" aria-label="Validation" aria-live="polite">
        <Icon name="check" /> <span>Valid design</span>
      </section>
    );
  }
  const more = result.errors.length - BANNER_ERRORS;
  return (
    <section className="banner banner--invalid" aria-label="Validation" aria-live="polite">
      <button type="button" className="banner__title" onClick={() => setFolded(!folded)} aria-expanded={!folded} aria-controls="banner-errors">
        <Icon name="alert" />
        <span className="banner__count">
          {result.errors.length} problem{result.errors.length === 1 ? "" : "s"}
        </span>
        <span className="banner__fold">{folded ? "Show" : "Hide"}</span>
      </button>
      {!folded && (
        <>
          <ul className="banner__errors" id="banner-errors">
            {result.errors.slice(0, BANNER_ERRORS).map((error, index) => (
              <ErrorRow key={`${index}:${error.code}:${error.component}`} error={error} />
            ))}
          </ul>
          {more > 0 && <p className="banner__more">and {more} more</p>}
        </>
      )}
    </section>
  );
}

/**
 * What the memory estimate covers, in a sentence: the design's own share (model, optimizer,
 * activations) and the training process's baseline on top, which the estimate leaves out.
 */
export function memoryExplanation({ estimatedMemory, memoryBreakdown }: Pick<ValidationResult, "estimatedMemory" | "memoryBreakdown">): string {
  const { weightsAndOptimizer, activations, runtimeBaseline } = memoryBreakdown;
  const mib = (value: number) => `${numberFormat.format(value)} MiB`;
  return (
    `Training this design needs about ${mib(estimatedMemory)}: ${mib(weightsAndOptimizer)} for the model's weights, ` +
    `their gradients and the optimizer's state, and ${mib(activations)} for one minibatch's activations (each rounded up). ` +
    `The training process itself (Python, torch, the game) takes about ${mib(runtimeBaseline)} more.`
  );
}

export function StatsOverlay() {
  const result = useValidation((s) => s.result);
  if (!result) return null;
  const explanation = memoryExplanation(result);
  return (
    <output className="stats" aria-label="Model size">
      <span>{numberFormat.format(result.paramCountExact)} params</span>
      {/* Compact for a phone; screen readers get the sentence instead, and a pointer its title. */}
      <span className="stats__memory" title={explanation} aria-hidden="true">
        ≈ {numberFormat.format(result.estimatedMemory)} MiB to train <span className="stats__note">(model, optimizer, activations)</span>
      </span>
      <span className="stats__note" aria-hidden="true">
        + ~{numberFormat.format(result.memoryBreakdown.runtimeBaseline)} MiB runtime
      </span>
      <span className="visually-hidden">{explanation}</span>
    </output>
  );
}
