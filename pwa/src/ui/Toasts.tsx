import { dismissToast, useToast } from "./toast";

/** The live region that shows the current toast; tap it to dismiss. */
export function Toasts() {
  const toast = useToast((s) => s.toast);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toast && (
        <button key={toast.id} type="button" className={`toast toast--${toast.tone}`} onClick={dismissToast}>
          {toast.message}
        </button>
      )}
    </div>
  );
}
