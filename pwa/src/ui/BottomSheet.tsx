/**
 * A panel that slides up from the bottom, above the toolbar, leaving the top of the canvas in
 * view. It is non-modal: the canvas stays usable behind it.
 */
import type { ReactNode } from "react";
import { Icon } from "./icons";

export interface BottomSheetProps {
  title: string;
  /** A line under the title. */
  subtitle?: ReactNode;
  onClose: () => void;
  /** "tall" for lists that deserve most of the screen. */
  size?: "compact" | "tall";
  children: ReactNode;
}

export function BottomSheet({ title, subtitle, onClose, size = "compact", children }: BottomSheetProps) {
  return (
    <section className={`sheet sheet--${size}`} role="dialog" aria-modal="false" aria-label={title}>
      <header className="sheet__header">
        <div className="sheet__titles">
          <h2 className="sheet__title">{title}</h2>
          {subtitle && <p className="sheet__subtitle">{subtitle}</p>}
        </div>
        <button type="button" className="icon-button" onClick={onClose} aria-label={`Close ${title}`}>
          <Icon name="close" />
        </button>
      </header>
      <div className="sheet__body">{children}</div>
    </section>
  );
}
