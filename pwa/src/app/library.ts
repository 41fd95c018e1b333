/**
 * The designs on this device, wired to the editor: opening one, saving edits as they happen,
 * creating, renaming, duplicating, deleting, importing and exporting, and following what other
 * tabs do to the same database.
 *
 * `createLibrary()` makes the library service (see `service.ts`): each `start()` opens its own
 * session (an autosaver, a channel to other tabs, a subscription to the editor) and its `stop()`
 * closes exactly that session, after writing what it still holds. The module-level functions
 * below act through whichever library is running, so the rest of the app needs no handle on it.
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
import { noteSaved } from "../sync/service";
import { showToast } from "../ui/toast";
import type { Service } from "./service";

export interface LibraryState {
  /** False until the database is open and the last design is loaded. */
  ready: boolean;
  designs: DesignSummary[];
  saveState: SaveState;
  /** Whether the browser promised not to evict this app's storage; null when it cannot say. */
  persistent: boolean | null;
}

export const useLibrary = create<LibraryState>()(() => ({ ready: false, designs: [], saveState: "saved", persistent: null }));

export type ImportOutcome = { ok: true; design: ModelArchitecture; renamed: boolean } | { ok: false; reason: string };

export interface LibraryService extends Service {
  /** Open a session and reopen the last design; resolves once it is open. */
  start(): Promise<void>;
  /** Close the session the last start opened, once its edits are written. */
  stop(): Promise<void>;
  /** Write any edits still waiting; resolves once they are stored. */
  flush(): Promise<void>;
  openDesign(id: string): Promise<boolean>;
  createBlankDesign(): Promise<void>;
  createFromTemplate(template: ModelArchitecture): Promise<void>;
  renameStored(id: string, name: string): Promise<void>;
  duplicateStored(id: string): Promise<void>;
  deleteStored(id: string): Promise<void>;
  exportStored(id: string): Promise<void>;
  importDesignFile(file: File): Promise<ImportOutcome>;
  /** Replace a stored design with a copy from elsewhere (the server); the editor follows if it is open. */
  replaceStored(design: ModelArchitecture): Promise<void>;
  /** Store a new design (its id must be free) without opening it. */
  addStored(design: ModelArchitecture): Promise<void>;
}

/** What one start opened; its stop closes exactly this. */
interface Session {
  saver: Autosaver;
  channel: DesignChannel;
  /** Undo the subscriptions (synchronous, so a stopped session schedules nothing more). */
  unsubscribe: () => void;
  /** Reopening the last design; a stop waits for it. */
  loading: Promise<void>;
  stopped: boolean;
}

const currentId = () => useEditor.getState().design?.id;

async function refreshList(): Promise<void> {
  useLibrary.setState({ designs: await listDesigns() });
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The library that is running, for the module-level functions; null between a stop and a start. */
let running: LibraryService | null = null;

export function createLibrary(): LibraryService {
  let session: Session | null = null;
  let stopping: Promise<void> = Promise.resolve();

  const announce = (event: DesignEvent) => session?.channel.announce(event);

  async function onOtherTab(own: Session, event: DesignEvent): Promise<void> {
    if (own.stopped) return;
    await refreshList();
    if (own.stopped || event.id !== currentId()) return;
    if (event.type === "deleted") {
      openInEditor(null);
      showToast("This design was deleted in another tab.");
      return;
    }
    // Local edits not yet saved win: saving them will announce them to the other tab in turn.
    if (useLibrary.getState().saveState !== "saved") return;
    const outcome = await loadDesign(event.id);
    if (!own.stopped && outcome.ok && outcome.design.id === currentId()) replaceFromElsewhere(outcome.design);
  }

  function openSession(): Session {
    // The session's own channel, so a write flushed while it stops is still announced.
    const channel = openDesignChannel((event) => void onOtherTab(own, event));
    const write = async (design: ModelArchitecture) => {
      const updatedAt = await saveDesign(design);
      channel.announce({ type: "saved", id: design.id, updatedAt });
      noteSaved(design.id);
      await refreshList();
    };
    const saver = createAutosaver(write, (saveState, error) => {
      useLibrary.setState({ saveState });
      if (saveState === "failed") showToast(`Could not save: ${errorText(error)}`, "error");
    });
    const stopFlushingWhenHidden = flushWhenHidden(saver);
    const unsubscribeEditor = useEditor.subscribe((state, previous) => {
      if (state.design && state.design !== previous.design && state.lastChange === "edit") saver.schedule(state.design);
    });
    const own: Session = {
      saver,
      channel,
      unsubscribe: () => {
        unsubscribeEditor();
        stopFlushingWhenHidden();
      },
      loading: Promise.resolve(),
      stopped: false,
    };
    return own;
  }

  async function reopenLast(own: Session): Promise<void> {
    void requestPersistentStorage().then((persistent) => useLibrary.setState({ persistent }));
    try {
      await refreshList();
      const last = await lastOpenedId();
      if (own.stopped) return;
      if (last && useLibrary.getState().designs.some((summary) => summary.id === last)) await library.openDesign(last);
    } catch (error) {
      // Storage unavailable (private mode, quota, a broken database): say so, and still let the
      // user start a design rather than wait on "Opening your designs…" for ever.
      if (!own.stopped) showToast(`Could not open the designs on this device: ${errorText(error)}`, "error");
    }
    if (!own.stopped) useLibrary.setState({ ready: true });
  }

  /** Store a new design (its id must be free) and open it. */
  async function createAndOpen(design: ModelArchitecture): Promise<void> {
    await addStored(design);
    await library.openDesign(design.id);
  }

  async function writeStored(design: ModelArchitecture): Promise<void> {
    const updatedAt = await saveDesign(design);
    announce({ type: "saved", id: design.id, updatedAt });
    noteSaved(design.id);
    await refreshList();
  }

  async function addStored(design: ModelArchitecture): Promise<void> {
    if (!(await addDesign(design))) throw new Error(`a design with id "${design.id}" already exists`);
    announce({ type: "saved", id: design.id, updatedAt: Date.now() });
    await refreshList();
  }

  const library: LibraryService = {
    async replaceStored(design) {
      await writeStored(design);
      if (design.id === currentId()) replaceFromElsewhere(design);
    },
    addStored,
    start() {
      if (!session) {
        const own = openSession();
        session = own;
        running = library;
        own.loading = reopenLast(own);
      }
      return session.loading;
    },

    stop() {
      const own = session;
      if (!own) return stopping;
      session = null;
      if (running === library) running = null;
      own.stopped = true;
      own.unsubscribe();
      stopping = (async () => {
        await own.loading.catch(() => undefined); // a failed start still has a session to close
        await own.saver.flush();
        own.channel.close();
      })();
      return stopping;
    },

    flush() {
      return session?.saver.flush() ?? Promise.resolve();
    },

    async openDesign(id) {
      await library.flush();
      const outcome = await loadDesign(id);
      if (!outcome.ok) {
        showToast(`Cannot open this design: ${outcome.reason}`, "error");
        return false;
      }
      openInEditor(outcome.design);
      await rememberOpened(id);
      return true;
    },

    async createBlankDesign() {
      await createAndOpen(blankDesign(await storedIds()));
    },

    async createFromTemplate(template) {
      await createAndOpen(designFromTemplate(template, await storedIds()));
    },

    async renameStored(id, name) {
      if (id === currentId()) {
        renameDesign(name);
        return;
      }
      const outcome = await loadDesign(id);
      if (!outcome.ok) {
        showToast(`Cannot rename this design: ${outcome.reason}`, "error");
        return;
      }
      await writeStored({ ...outcome.design, name });
    },

    async duplicateStored(id) {
      if (id === currentId()) await library.flush();
      const outcome = await loadDesign(id);
      if (!outcome.ok) {
        showToast(`Cannot duplicate this design: ${outcome.reason}`, "error");
        return;
      }
      const copy = duplicateDesign(outcome.design, await storedIds());
      await addDesign(copy);
      announce({ type: "saved", id: copy.id, updatedAt: Date.now() });
      await refreshList();
      showToast(`Saved a copy: ${copy.name}`);
    },

    async deleteStored(id) {
      if (id === currentId()) {
        await library.flush();
        openInEditor(null);
      }
      await deleteDesign(id);
      announce({ type: "deleted", id });
      await refreshList();
    },

    async exportStored(id) {
      if (id === currentId()) await library.flush();
      downloadJson(await loadDocument(id), designFileName({ id }));
    },

    async importDesignFile(file) {
      const { readDesignFile } = await import("../storage/import");
      const outcome = await readDesignFile(file);
      if (!outcome.ok) return outcome;
      const taken = await storedIds();
      const renamed = taken.has(outcome.design.id);
      const design = renamed ? { ...outcome.design, id: uniqueId(outcome.design.id, taken, "-") } : outcome.design;
      await createAndOpen(design);
      return { ok: true, design, renamed };
    },
  };
  return library;
}

// ---- the running library, for the rest of the app ----

/** Used only while no library runs (before start-up): the actions work, without autosave or other tabs. */
let idle: LibraryService | null = null;
const library = (): LibraryService => running ?? (idle ??= createLibrary());

/** Write any edits still waiting; resolves once they are stored. */
export const flushSaves = (): Promise<void> => running?.flush() ?? Promise.resolve();

export const openDesign = (id: string): Promise<boolean> => library().openDesign(id);

export const createBlankDesign = (): Promise<void> => library().createBlankDesign();

export const createFromTemplate = (template: ModelArchitecture): Promise<void> => library().createFromTemplate(template);

export const renameStored = (id: string, name: string): Promise<void> => library().renameStored(id, name);

export const duplicateStored = (id: string): Promise<void> => library().duplicateStored(id);

export const deleteStored = (id: string): Promise<void> => library().deleteStored(id);

/** Download a stored design as it is saved, even one that no longer reads. */
export const exportStored = (id: string): Promise<void> => library().exportStored(id);

/**
 * Import a design file and open it. A file that fails the schema is refused and nothing changes;
 * a design whose id is taken is stored under a new id, so nothing stored is ever overwritten.
 */
export const importDesignFile = (file: File): Promise<ImportOutcome> => library().importDesignFile(file);

export const replaceStored = (design: ModelArchitecture): Promise<void> => library().replaceStored(design);

export const addStored = (design: ModelArchitecture): Promise<void> => library().addStored(design);
