/**
 * The designs on this device, wired to the editor: opening one, saving edits as they happen,
 * creating, renaming, duplicating, deleting, importing and exporting, and following what other
 * tabs do to the same database.
 */
import { create } from "zustand";
import { blankDesign, designFromTemplate, duplicateDesign } from "../model/designs";
import { uniqueId } from "../model/ids";
import type { ModelArchitecture } from "../model/types";
import { renameDesign } from "../editor/commands";
import { openInEditor, replaceFromElsewhere, useEditor } from "../editor/store";
import { createAutosaver, flushWhenHidden, type Autosaver, type SaveState } from "../storage/autosave";
import { openDesignChannel, type DesignChannel, type DesignEvent } from "../storage/channel";
import {
  addDesign,
  deleteDesign,
  lastOpenedId,
  listDesigns,
  loadDesign,
  loadDocument,
  rememberOpened,
  saveDesign,
  storedIds,
  type DesignSummary,
} from "../storage/designs";
import { designFileName, downloadJson } from "../storage/files";
import { requestPersistentStorage } from "../storage/persistence";
import { showToast } from "../ui/toast";

export interface LibraryState {
  /** False until the database is open and the last design is loaded. */
  ready: boolean;
  designs: DesignSummary[];
  saveState: SaveState;
  /** Whether the browser promised not to evict this app's storage; null when it cannot say. */
  persistent: boolean | null;
}

export const useLibrary = create<LibraryState>()(() => ({ ready: false, designs: [], saveState: "saved", persistent: null }));

let autosaver: Autosaver | null = null;
let channel: DesignChannel | null = null;

const currentId = () => useEditor.getState().design?.id;

async function refreshList(): Promise<void> {
  useLibrary.setState({ designs: await listDesigns() });
}

async function write(design: ModelArchitecture): Promise<void> {
  const updatedAt = await saveDesign(design);
  channel?.announce({ type: "saved", id: design.id, updatedAt });
  await refreshList();
}

async function onOtherTab(event: DesignEvent): Promise<void> {
  await refreshList();
  if (event.id !== currentId()) return;
  if (event.type === "deleted") {
    openInEditor(null);
    showToast("This design was deleted in another tab.");
    return;
  }
  // Local edits not yet saved win: saving them will announce them to the other tab in turn.
  if (useLibrary.getState().saveState !== "saved") return;
  const outcome = await loadDesign(event.id);
  if (outcome.ok && outcome.design.id === currentId()) replaceFromElsewhere(outcome.design);
}

/** Write any edits still waiting; resolves once they are stored. */
export function flushSaves(): Promise<void> {
  return autosaver?.flush() ?? Promise.resolve();
}

/** Open the database, reopen the last design, and start saving edits. Returns a stop function. */
export async function startLibrary(): Promise<() => Promise<void>> {
  const saver = createAutosaver(write, (saveState, error) => {
    useLibrary.setState({ saveState });
    if (saveState === "failed") showToast(`Could not save: ${error instanceof Error ? error.message : String(error)}`, "error");
  });
  autosaver = saver;
  const stopFlushingWhenHidden = flushWhenHidden(saver);
  channel = openDesignChannel((event) => void onOtherTab(event));
  const unsubscribe = useEditor.subscribe((state, previous) => {
    if (state.design && state.design !== previous.design && state.lastChange === "edit") saver.schedule(state.design);
  });

  void requestPersistentStorage().then((persistent) => useLibrary.setState({ persistent }));
  await refreshList();
  const last = await lastOpenedId();
  if (last && useLibrary.getState().designs.some((summary) => summary.id === last)) await openDesign(last);
  useLibrary.setState({ ready: true });

  return async () => {
    unsubscribe();
    stopFlushingWhenHidden();
    await saver.flush();
    channel?.close();
    autosaver = null;
    channel = null;
  };
}

export async function openDesign(id: string): Promise<boolean> {
  await flushSaves();
  const outcome = await loadDesign(id);
  if (!outcome.ok) {
    showToast(`Cannot open this design: ${outcome.reason}`, "error");
    return false;
  }
  openInEditor(outcome.design);
  await rememberOpened(id);
  return true;
}

/** Store a new design (its id must be free) and open it. */
async function createAndOpen(design: ModelArchitecture): Promise<void> {
  if (!(await addDesign(design))) throw new Error(`a design with id "${design.id}" already exists`);
  channel?.announce({ type: "saved", id: design.id, updatedAt: Date.now() });
  await refreshList();
  await openDesign(design.id);
}

export async function createBlankDesign(): Promise<void> {
  await createAndOpen(blankDesign(await storedIds()));
}

export async function createFromTemplate(template: ModelArchitecture): Promise<void> {
  await createAndOpen(designFromTemplate(template, await storedIds()));
}

export async function renameStored(id: string, name: string): Promise<void> {
  if (id === currentId()) {
    renameDesign(name);
    return;
  }
  const outcome = await loadDesign(id);
  if (!outcome.ok) {
    showToast(`Cannot rename this design: ${outcome.reason}`, "error");
    return;
  }
  await write({ ...outcome.design, name });
}

export async function duplicateStored(id: string): Promise<void> {
  if (id === currentId()) await flushSaves();
  const outcome = await loadDesign(id);
  if (!outcome.ok) {
    showToast(`Cannot duplicate this design: ${outcome.reason}`, "error");
    return;
  }
  const copy = duplicateDesign(outcome.design, await storedIds());
  await addDesign(copy);
  channel?.announce({ type: "saved", id: copy.id, updatedAt: Date.now() });
  await refreshList();
  showToast(`Saved a copy: ${copy.name}`);
}

export async function deleteStored(id: string): Promise<void> {
  if (id === currentId()) {
    await flushSaves();
    openInEditor(null);
  }
  await deleteDesign(id);
  channel?.announce({ type: "deleted", id });
  await refreshList();
}

/** Download a stored design as it is saved, even one that no longer reads. */
export async function exportStored(id: string): Promise<void> {
  if (id === currentId()) await flushSaves();
  downloadJson(await loadDocument(id), designFileName({ id }));
}

export type ImportOutcome = { ok: true; design: ModelArchitecture; renamed: boolean } | { ok: false; reason: string };

/**
 * Import a design file and open it. A file that fails the schema is refused and nothing changes;
 * a design whose id is taken is stored under a new id, so nothing stored is ever overwritten.
 */
export async function importDesignFile(file: File): Promise<ImportOutcome> {
  const { readDesignFile } = await import("../storage/import");
  const outcome = await readDesignFile(file);
  if (!outcome.ok) return outcome;
  const taken = await storedIds();
  const renamed = taken.has(outcome.design.id);
  const design = renamed ? { ...outcome.design, id: uniqueId(outcome.design.id, taken, "-") } : outcome.design;
  await createAndOpen(design);
  return { ok: true, design, renamed };
}
