/** A row of tabs over one panel: the ARIA tab pattern, sized for thumbs. */
import type { ReactNode } from "react";

export interface TabsProps<K extends string> {
  label: string;
  tabs: readonly { key: K; text: string }[];
  selected: K;
  onSelect: (key: K) => void;
  children: ReactNode;
}

export function Tabs<K extends string>({ label, tabs, selected, onSelect, children }: TabsProps<K>) {
  const id = label.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return (
    <div className="tabs">
      <div className="tabs__list" role="tablist" aria-label={label}>
        {tabs.map(({ key, text }) => (
          <button
            key={key}
            type="button"
            role="tab"
            id={`${id}-tab-${key}`}
            aria-selected={selected === key}
            aria-controls={`${id}-panel`}
            className="tabs__tab"
            onClick={() => onSelect(key)}
          >
            {text}
          </button>
        ))}
      </div>
      <div id={`${id}-panel`} role="tabpanel" aria-labelledby={`${id}-tab-${selected}`}>
        {children}
      </div>
    </div>
  );
}
