/** Why a compile or training request did not go through, and, for an invalid design, which blocks. */
import type { Failure } from "./api";

export interface FailureNoticeProps {
  failure: Failure;
  onShowBlock?: (blockId: string) => void;
  /** For a "busy" failure: watch the run that holds the server. */
  onWatch?: (runId: string) => void;
}

export function FailureNotice({ failure, onShowBlock, onWatch }: FailureNoticeProps) {
  return (
    <div className="train-failure" role="alert" data-kind={failure.kind}>
      <p className="train-failure__message">{failure.message}</p>
      {failure.kind === "invalid" && (
        <ul className="train-failure__errors">
          {failure.errors.map((error, index) => (
            <li key={`${error.code}:${error.component ?? ""}:${index}`}>
              {error.component ? (
                onShowBlock ? (
                  <button type="button" className="train-failure__block" onClick={() => onShowBlock(error.component!)}>
                    {error.component}
                  </button>
                ) : (
                  <code className="train-failure__block">{error.component}</code>
                )
              ) : (
                <span className="train-failure__block">design</span>
              )}{" "}
              {error.message}
              {error.hint && <span className="train-failure__hint"> {error.hint}</span>}
            </li>
          ))}
        </ul>
      )}
      {failure.kind === "busy" && onWatch && (
        <button type="button" className="button" onClick={() => onWatch(failure.runId)}>
          Watch run {failure.runId}
        </button>
      )}
    </div>
  );
}
