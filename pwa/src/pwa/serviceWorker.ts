/**
 * Service worker registration with a user-driven update: when a new version is waiting, the app
 * says so and updates only when the user taps Update, after every edit is saved. A version
 * activated from another tab reloads this one only once its edits are saved too.
 */
import { registerSW } from "virtual:pwa-register";
import { create } from "zustand";
import { showToast } from "../ui/toast";

export interface PwaState {
  /** A new version is installed and waiting for the user to update. */
  updateReady: boolean;
  updating: boolean;
}

export const usePwa = create<PwaState>()(() => ({ updateReady: false, updating: false }));

/** Saves every pending edit; resolves to whether everything is now stored. */
export type SaveAll = () => Promise<boolean>;

let activateWaiting: (() => Promise<void>) | null = null;
let saveAll: SaveAll = async () => true;

async function reloadOnceSaved(): Promise<void> {
  if (await saveAll()) {
    window.location.reload();
    return;
  }
  usePwa.setState({ updating: false });
  showToast("The update is ready, but your latest edits are not saved yet. Reopen the app once they are.", "error");
}

export function registerServiceWorker(save: SaveAll): void {
  if (!("serviceWorker" in navigator)) return;
  saveAll = save;
  const update = registerSW({
    immediate: true,
    onNeedRefresh: () => usePwa.setState({ updateReady: true }),
    onOfflineReady: () => showToast("Model Studio is ready to work offline."),
    onNeedReload: () => void reloadOnceSaved(),
    onRegisterError: (error: unknown) => console.error("service worker registration failed", error),
  });
  activateWaiting = () => update(true);
}

/** Save, then let the waiting version take over (the page reloads once it controls it). */
export async function applyUpdate(): Promise<void> {
  usePwa.setState({ updating: true });
  if (!(await saveAll())) {
    usePwa.setState({ updating: false });
    showToast("Your latest edits could not be saved, so the app was not updated.", "error");
    return;
  }
  await activateWaiting?.();
}

export function postponeUpdate(): void {
  usePwa.setState({ updateReady: false });
}
