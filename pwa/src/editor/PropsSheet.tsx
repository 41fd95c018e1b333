/**
 * The selected block's props, as a form generated from the catalogue: number inputs with their
 * range, checkboxes for bools, selects for enums. Each field shows where its value comes from
 * (set here, inherited from the design, or the default) and can be reset to the default.
 */
import { useState, type KeyboardEvent } from "react";
import { catalogue, type PropSpec } from "../model/catalogue";
import { findComponent } from "../model/graph";
import type { DesignMeta, Edge, ModelComponent, PropValue } from "../model/types";
import { ExpertUsageList } from "../train/ExpertHeat";
import { BottomSheet } from "../ui/BottomSheet";
import { Icon } from "../ui/icons";
import { showToast } from "../ui/toast";
import { deleteSelection, deleteWire, duplicateBlock, setBlockProp } from "./commands";
import { effectiveProp } from "./flow";
import { select, setConnectFrom, useEditor } from "./store";
import { useValidation } from "./validation";

interface FieldProps {
  component: ModelComponent;
  name: string;
  spec: PropSpec;
  meta: DesignMeta;
}

function sourceText(spec: PropSpec, source: "own" | "meta" | "default", value: PropValue | undefined): string {
  if (source === "meta") return `Inherits the design's ${spec.meta} (${String(value)})`;
  if (source === "default") return `Default (${String(spec.default)})`;
  return spec.meta ? `Set here; the design's ${spec.meta} is not used` : `Set here; default ${String(spec.default)}`;
}

function rangeText(spec: PropSpec): string | null {
  if (spec.type === "int" || spec.type === "float") return `${spec.min} to ${spec.max}`;
  return null;
}

function NumberInput({ component, name, spec, meta }: FieldProps) {
  const { value, source } = effectiveProp(component, name, meta);
  const [draft, setDraft] = useState(source === "own" ? String(value) : "");
  const inputId = `prop-${name}`;

  const commit = () => {
    const text = draft.trim();
    if (text === "") {
      setBlockProp(component.id, name, undefined);
      return;
    }
    const number = Number(text);
    if (!Number.isFinite(number)) {
      showToast(`${name} must be a number.`, "error");
      setDraft(source === "own" ? String(value) : "");
      return;
    }
    // Out-of-range values are kept: the validation banner explains what is wrong with them.
    setBlockProp(component.id, name, number);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "Enter") event.currentTarget.blur();
  };

  return (
    <input
      id={inputId}
      className="field__input"
      type="number"
      inputMode={spec.type === "int" ? "numeric" : "decimal"}
      step={spec.type === "int" ? 1 : "any"}
      min={spec.min}
      max={spec.max}
      placeholder={String(value)}
      value={draft}
      onChange={(event) => setDraft(event.target.value)}
      onBlur={commit}
      onKeyDown={onKeyDown}
      aria-describedby={`${inputId}-doc`}
    />
  );
}

function Field(props: FieldProps) {
  const { component, name, spec, meta } = props;
  const { value, source } = effectiveProp(component, name, meta);
  const inputId = `prop-${name}`;
  const range = rangeText(spec);

  let control;
  if (spec.type === "bool") {
    control = (
      <input
        id={inputId}
        className="field__checkbox"
        type="checkbox"
        checked={value === true}
        onChange={(event) => setBlockProp(component.id, name, event.target.checked)}
        aria-describedby={`${inputId}-doc`}
      />
    );
  } else if (spec.type === "enum") {
    control = (
      <select
        id={inputId}
        className="field__input"
        value={String(value)}
        onChange={(event) => setBlockProp(component.id, name, event.target.value)}
        aria-describedby={`${inputId}-doc`}
      >
        {(spec.choices ?? []).map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </select>
    );
  } else {
    // Keyed by the stored value, so an undo or a reset refreshes what the input shows.
    control = <NumberInput key={`${component.id}:${String(component.props[name])}`} {...props} />;
  }

  return (
    <div className={`field field--${spec.type}`}>
      <div className="field__row">
        <label className="field__label" htmlFor={inputId}>
          {name}
        </label>
        {control}
        <button
          type="button"
          className="icon-button icon-button--small"
          onClick={() => setBlockProp(component.id, name, undefined)}
          disabled={source !== "own"}
          aria-label={`Reset ${name} to default`}
        >
          <Icon name="reset" />
        </button>
      </div>
      <p className="field__doc" id={`${inputId}-doc`}>
        {spec.doc} <span className={`field__source field__source--${source}`}>{sourceText(spec, source, value)}</span>
        {range && <span className="field__range"> · range {range}</span>}
      </p>
    </div>
  );
}

function BlockErrors({ id }: { id: string }) {
  const errors = useValidation((s) => s.result?.errors);
  const mine = errors?.filter((error) => error.component === id) ?? [];
  if (mine.length === 0) return null;
  return (
    <ul className="block-errors" aria-label={`Problems with ${id}`}>
      {mine.map((error, index) => (
        <li key={index}>
          {error.message}
          {error.hint && <span className="block-errors__hint"> {error.hint}</span>}
        </li>
      ))}
    </ul>
  );
}

/** The block's wires, each removable: stacked blocks leave too little wire on screen to tap. */
function BlockWires({ id, edges }: { id: string; edges: readonly Edge[] }) {
  const mine = edges.filter(([source, target]) => source === id || target === id);
  if (mine.length === 0) return null;
  return (
    <>
      <h3 className="sheet__section">Wires</h3>
      <ul className="wire-list">
        {mine.map(([source, target]) => (
          <li key={`${source}->${target}`} className="wire-list__item">
            <span>{source === id ? `to ${target}` : `from ${source}`}</span>
            <button type="button" className="icon-button icon-button--small" onClick={() => deleteWire([source, target])} aria-label={`Delete wire from ${source} to ${target}`}>
              <Icon name="close" />
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

export function PropsSheet({ id }: { id: string }) {
  const design = useEditor((s) => s.design);
  const component = design && findComponent(design, id);
  if (!design || !component) return null;
  const block = catalogue.blocks.get(component.type);
  const label = block?.spec.label ?? component.type;

  return (
    <BottomSheet title={`${label} ${component.id}`} subtitle={block?.spec.doc ?? `"${component.type}" is not a block type this app knows.`} onClose={() => select(null)}>
      <BlockErrors id={component.id} />
      {component.type === "moe_layer" && <ExpertUsageList designId={design.id} blockId={component.id} />}
      {block && block.props.size > 0 ? (
        <div className="fields">
          {[...block.props].map(([name, spec]) => (
            <Field key={name} component={component} name={name} spec={spec} meta={design.meta} />
          ))}
        </div>
      ) : (
        <p className="sheet__empty">This block has no settings.</p>
      )}
      <BlockWires id={component.id} edges={design.edges} />
      <div className="sheet__actions">
        {block?.spec.output && (
          <button type="button" className="button" onClick={() => setConnectFrom(component.id)}>
            <Icon name="plus" /> Wire from here
          </button>
        )}
        <button type="button" className="button" onClick={() => duplicateBlock(component.id)}>
          <Icon name="copy" /> Duplicate
        </button>
        <button type="button" className="button button--danger" onClick={deleteSelection}>
          <Icon name="trash" /> Delete
        </button>
      </div>
    </BottomSheet>
  );
}

export function WireSheet({ edge }: { edge: [string, string] }) {
  return (
    <BottomSheet title="Wire" subtitle={`${edge[0]} → ${edge[1]}`} onClose={() => select(null)}>
      <div className="sheet__actions">
        <button type="button" className="button button--danger" onClick={deleteSelection}>
          <Icon name="trash" /> Delete wire
        </button>
      </div>
    </BottomSheet>
  );
}
