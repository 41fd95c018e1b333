/** The open design's name, description and design-wide defaults (d_model, n_heads). */
import architectureSchema from "@schema/model-architecture.schema.json";
import { useState, type KeyboardEvent } from "react";
import { renameDesign, setDescription, setMeta } from "../editor/commands";
import { useEditor } from "../editor/store";
import type { DesignMeta, ModelArchitecture } from "../model/types";
import { BottomSheet } from "./BottomSheet";
import { openSheet } from "./sheets";
import { showToast } from "./toast";

const { properties } = architectureSchema.$defs.ModelArchitecture;
const metaSchema = architectureSchema.$defs.DesignMeta.properties;
const META_DOCS: Record<keyof DesignMeta, string> = {
  d_model: "Token width that embeddings inherit; a multiple of 8.",
  n_heads: "Attention heads that transformer layers inherit; must divide the token width.",
};

const blurOnEnter = (event: KeyboardEvent<HTMLInputElement>) => {
  if (event.key === "Enter") event.currentTarget.blur();
};

function MetaField({ design, name }: { design: ModelArchitecture; name: keyof DesignMeta }) {
  const [draft, setDraft] = useState(String(design.meta[name]));
  const commit = () => {
    const value = Number(draft);
    if (!Number.isInteger(value) || value < metaSchema[name].minimum || value > metaSchema[name].maximum) {
      showToast(`${name} must be a whole number from ${metaSchema[name].minimum} to ${metaSchema[name].maximum}.`, "error");
      setDraft(String(design.meta[name]));
      return;
    }
    setMeta(name, value);
  };
  return (
    <div className="field">
      <div className="field__row">
        <label className="field__label" htmlFor={`meta-${name}`}>
          {name}
        </label>
        <input
          id={`meta-${name}`}
          className="field__input"
          type="number"
          inputMode="numeric"
          min={metaSchema[name].minimum}
          max={metaSchema[name].maximum}
          step={1}
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          onBlur={commit}
          onKeyDown={blurOnEnter}
          aria-describedby={`meta-${name}-doc`}
        />
      </div>
      <p className="field__doc" id={`meta-${name}-doc`}>
        {META_DOCS[name]}
      </p>
    </div>
  );
}

function DetailsForm({ design }: { design: ModelArchitecture }) {
  const [name, setName] = useState(design.name);
  const [description, setDescriptionDraft] = useState(design.description);
  return (
    <div className="fields">
      <div className="field">
        <label className="field__label field__label--text" htmlFor="design-name">
          Name
        </label>
        <input
          id="design-name"
          className="field__input field__input--wide"
          value={name}
          maxLength={properties.name.maxLength}
          onChange={(event) => setName(event.target.value)}
          onBlur={() => renameDesign(name.trim() || design.name)}
          onKeyDown={blurOnEnter}
        />
      </div>
      <div className="field">
        <label className="field__label field__label--text" htmlFor="design-description">
          Description
        </label>
        <textarea
          id="design-description"
          className="field__input field__input--wide"
          rows={2}
          value={description}
          maxLength={properties.description.maxLength}
          onChange={(event) => setDescriptionDraft(event.target.value)}
          onBlur={() => setDescription(description)}
        />
      </div>
      <MetaField key={`d_model:${design.meta.d_model}`} design={design} name="d_model" />
      <MetaField key={`n_heads:${design.meta.n_heads}`} design={design} name="n_heads" />
    </div>
  );
}

export function DesignDetailsSheet() {
  const design = useEditor((s) => s.design);
  if (!design) return null;
  return (
    <BottomSheet title="Design details" subtitle={`Id ${design.id}`} onClose={() => openSheet(null)}>
      <DetailsForm key={`${design.id}:${design.name}:${design.description}`} design={design} />
    </BottomSheet>
  );
}
