/**
 * Source code to read on a phone: monospace, numbered lines, scrolled sideways rather than
 * wrapped, and a Copy button. Line numbers are drawn by CSS from `data-line`, so selecting and
 * copying the code by hand never picks them up.
 */
import { useMemo, useRef, useState } from "react";
import { Icon } from "../ui/icons";

export interface CodeViewProps {
  source: string;
  /** The accessible name of the code region, e.g. "Generated source". */
  label: string;
  /** Shown in the copy confirmation, e.g. "three_moe.py". */
  fileName?: string;
}

type CopyState = { kind: "idle" } | { kind: "copied" } | { kind: "manual" };

/** The source's lines; a final newline does not make an empty last line. */
export function sourceLines(source: string): string[] {
  const lines = source.split(/\r\n|\r|\n/);
  if (lines.length > 1 && lines.at(-1) === "") lines.pop();
  return lines;
}

export function CodeView({ source, label, fileName }: CodeViewProps) {
  const lines = useMemo(() => sourceLines(source), [source]);
  const codeRef = useRef<HTMLElement>(null);
  const [copy, setCopy] = useState<CopyState>({ kind: "idle" });

  const selectCode = () => {
    const selection = window.getSelection();
    if (codeRef.current && selection) selection.selectAllChildren(codeRef.current);
  };

  const onCopy = async () => {
    try {
      if (!navigator.clipboard?.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(source);
      setCopy({ kind: "copied" });
    } catch {
      // Plain HTTP on the LAN has no clipboard API, and browsers may refuse: let the user copy.
      selectCode();
      setCopy({ kind: "manual" });
    }
  };

  return (
    <div className="code-view">
      <div className="code-view__bar">
        <span className="code-view__meta">{lines.length.toLocaleString("en")} lines</span>
        <button type="button" className="button button--quiet" onClick={() => void onCopy()} aria-label={`Copy ${label.toLowerCase()}`}>
          <Icon name="copy" /> Copy
        </button>
      </div>
      <p className="code-view__note" role="status">
        {copy.kind === "copied" && `Copied ${fileName ?? "the code"} to the clipboard.`}
        {copy.kind === "manual" && "This browser would not copy here. The code is selected: use your browser's Copy."}
      </p>
      <div className="code-view__scroll" role="region" aria-label={label} tabIndex={0}>
        <pre className="code-view__pre">
          <code ref={codeRef} data-testid="code-view-code">
            {lines.map((line, index) => (
              <span key={index} className="code-view__line" data-line={index + 1}>
                {line}
                {"\n"}
              </span>
            ))}
          </code>
        </pre>
      </div>
    </div>
  );
}
