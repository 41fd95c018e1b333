import { applyUpdate, postponeUpdate, usePwa } from "./serviceWorker";

/** Offers a waiting new version; nothing reloads until the user taps Update. */
export function UpdatePrompt() {
  const { updateReady, updating } = usePwa();
  if (!updateReady) return null;
  return (
    <div className="update-prompt" role="alertdialog" aria-label="Update available" aria-describedby="update-prompt-text">
      <p id="update-prompt-text">A new version of Model Studio is ready.</p>
      <div className="update-prompt__actions">
        <button type="button" className="button button--quiet" onClick={postponeUpdate} disabled={updating}>
          Later
        </button>
        <button type="button" className="button button--primary" onClick={() => void applyUpdate()} disabled={updating}>
          {updating ? "Saving…" : "Update"}
        </button>
      </div>
    </div>
  );
}
