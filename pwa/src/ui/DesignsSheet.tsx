/**
 * The designs on this device, and the ways to start one: from an imported `.json` file, blank,
 * or from a template. Each stored design can be opened, renamed, duplicated, exported or
 * deleted. The footer says where designs live and whether the browser keeps them.
 */
import { useRef, useState, type ChangeEvent, type FormEvent } from "react";
import {
  createBlankDesign,
  createFromTemplate,
  deleteStored,
  duplicateStored,
  exportStored,
  importDesignFile,
  openDesign,
  renameStored,
  useLibrary,
} from "../app/library";
import { useEditor } from "../editor/store";
import { catalogue } from "../model/catalogue";
import { TEMPLATES } from "../model/templates";
import type { DesignSummary } from "../storage/designs";
import { BottomSheet } from "./BottomSheet";
import { Icon } from "./icons";
import { openSheet } from "./sheets";
import { showToast } from "./toast";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

function ago(timestamp: number, now: number): string {
  const elapsed = now - timestamp;
  if (elapsed < MINUTE_MS) return "just now";
  if (elapsed < HOUR_MS) return relative.format(-Math.floor(elapsed / MINUTE_MS), "minute");
  if (elapsed < DAY_MS) return relative.format(-Math.floor(elapsed / HOUR_MS), "hour");
  return new Date(timestamp).toLocaleDateString();
}

/** Run a library action and close the sheet; failures become a toast rather than a lost promise. */
function run(action: () => Promise<unknown>, close = true) {
  action().then(
    () => close && openSheet(null),
    (error: unknown) => showToast(error instanceof Error ? error.message : String(error), "error"),
  );
}

function RenameForm({ summary, onDone }: { summary: DesignSummary; onDone: () => void }) {
  const [name, setName] = useState(summary.name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (trimmed && trimmed !== summary.name) run(() => renameStored(summary.id, trimmed), false);
    onDone();
  };
  return (
    <form className="design-row design-row--editing" onSubmit={submit}>
      <input
        className="field__input field__input--wide"
        value={name}
        maxLength={catalogue.limits.max_name_length}
        onChange={(event) => setName(event.target.value)}
        aria-label={`New name for ${summary.name}`}
        autoFocus
      />
      <button type="submit" className="button button--primary">
        Save
      </button>
      <button type="button" className="button button--quiet" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

function DesignRow({ summary, open, now }: { summary: DesignSummary; open: boolean; now: number }) {
  const [mode, setMode] = useState<"idle" | "renaming" | "confirming">("idle");
  if (mode === "renaming") return <RenameForm summary={summary} onDone={() => setMode("idle")} />;
  if (mode === "confirming") {
    return (
      <div className="design-row design-row--confirm" role="group" aria-label={`Delete ${summary.name}?`}>
        <span className="design-row__question">Delete “{summary.name}” from this device?</span>
        <button type="button" className="button button--danger" onClick={() => run(() => deleteStored(summary.id), false)}>
          Delete
        </button>
        <button type="button" className="button button--quiet" onClick={() => setMode("idle")}>
          Keep
        </button>
      </div>
    );
  }
  return (
    <div className={open ? "design-row design-row--open" : "design-row"}>
      <button type="button" className="design-row__open" onClick={() => run(() => openDesign(summary.id))} aria-label={`Open ${summary.name}`}>
        <span className="design-row__name">{summary.name}</span>
        <span className="design-row__meta">
          {summary.blocks} block{summary.blocks === 1 ? "" : "s"} · {ago(summary.updatedAt, now)}
          {open && " · open"}
        </span>
      </button>
      <button type="button" className="icon-button" onClick={() => setMode("renaming")} aria-label={`Rename ${summary.name}`}>
        <Icon name="pencil" />
      </button>
      <button type="button" className="icon-button" onClick={() => run(() => duplicateStored(summary.id), false)} aria-label={`Duplicate ${summary.name}`}>
        <Icon name="copy" />
      </button>
      <button type="button" className="icon-button" onClick={() => run(() => exportStored(summary.id), false)} aria-label={`Export ${summary.name}`}>
        <Icon name="download" />
      </button>
      <button type="button" className="icon-button icon-button--danger" onClick={() => setMode("confirming")} aria-label={`Delete ${summary.name}`}>
        <Icon name="trash" />
      </button>
    </div>
  );
}

function ImportButton() {
  const input = useRef<HTMLInputElement>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = ""; // the same file can be picked again after a fix
    if (!file) return;
    const outcome = await importDesignFile(file);
    if (!outcome.ok) {
      setRefusal(`${file.name} was not imported: ${outcome.reason}`);
      return;
    }
    setRefusal(null);
    openSheet(null);
    showToast(outcome.renamed ? `Imported as ${outcome.design.id}; a design with its id was already here.` : `Imported ${outcome.design.name}.`);
  };
  return (
    <>
      <button type="button" className="button" onClick={() => input.current?.click()}>
        <Icon name="upload" /> Import .json
      </button>
      <input
        ref={input}
        type="file"
        accept=".json,application/json"
        className="visually-hidden"
        tabIndex={-1}
        aria-label="Design file to import"
        onChange={(event) => void onFile(event)}
      />
      {refusal && (
        <p className="import-refusal" role="alert">
          {refusal}
        </p>
      )}
    </>
  );
}

function StorageNote() {
  const persistent = useLibrary((s) => s.persistent);
  const answer = persistent === null ? "unknown" : persistent ? "yes" : "no";
  return (
    <p className="storage-note">
      Stored on this device (IndexedDB), persistent: {answer}.{" "}
      {persistent === false && "The browser may clear designs when space runs low: export the ones you keep. "}
      Canvas by React Flow.
    </p>
  );
}

export function DesignsSheet() {
  const designs = useLibrary((s) => s.designs);
  const openId = useEditor((s) => s.design?.id);
  const now = Date.now();
  return (
    <BottomSheet title="Designs" size="tall" onClose={() => openSheet(null)}>
      <h3 className="sheet__section">On this device</h3>
      {designs.length === 0 ? (
        <p className="sheet__empty">No designs yet. Start one below, or import a file.</p>
      ) : (
        <ul className="design-list">
          {designs.map((summary) => (
            <li key={summary.id}>
              <DesignRow summary={summary} open={summary.id === openId} now={now} />
            </li>
          ))}
        </ul>
      )}
      <div className="sheet__actions">
        <ImportButton />
      </div>
      <h3 className="sheet__section">New design</h3>
      <ul className="template-list">
        <li>
          <button type="button" className="template" onClick={() => run(createBlankDesign)} aria-label="New blank design">
            <span className="template__name">Blank</span>
            <span className="template__doc">Just the board input and the action output.</span>
          </button>
        </li>
        {TEMPLATES.map((template) => (
          <li key={template.id}>
            <button type="button" className="template" onClick={() => run(() => createFromTemplate(template))} aria-label={`New from template ${template.name}`}>
              <span className="template__name">{template.name}</span>
              <span className="template__doc">{template.description}</span>
            </button>
          </li>
        ))}
      </ul>
      <StorageNote />
    </BottomSheet>
  );
}
