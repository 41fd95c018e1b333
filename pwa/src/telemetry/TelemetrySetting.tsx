/** The telemetry off switch: a labelled toggle. Off stops recording and deletes what is stored. */
import { useEffect, useId, useState } from "react";
import { useStore } from "zustand";
import { telemetry as appTelemetry, type TelemetryRecorder } from "./track";

export function TelemetrySetting({ recorder = appTelemetry }: { recorder?: TelemetryRecorder }) {
  const { enabled, loaded, stored } = useStore(recorder.state);
  const [failure, setFailure] = useState<string | null>(null);
  const id = useId();

  useEffect(() => {
    void recorder.refresh().catch((error: unknown) => setFailure(`Telemetry storage is unavailable: ${String(error)}`));
  }, [recorder]);

  const toggle = (on: boolean) => {
    setFailure(null);
    recorder.setEnabled(on).catch((error: unknown) => setFailure(`Could not change the setting: ${error instanceof Error ? error.message : String(error)}`));
  };

  return (
    <div className="field telemetry-setting">
      <div className="field__row">
        <label className="field__label field__label--text" htmlFor={`${id}-toggle`}>
          Usage statistics
        </label>
        <input
          id={`${id}-toggle`}
          className="field__checkbox"
          type="checkbox"
          role="switch"
          checked={enabled}
          disabled={!loaded}
          aria-describedby={`${id}-doc`}
          onChange={(event) => toggle(event.target.checked)}
        />
      </div>
      <p className="field__doc" id={`${id}-doc`}>
        {enabled
          ? `Events such as "compile took 0.4 s" are kept on this device and sent only to your paired server. ${stored === 1 ? "1 event waits" : `${stored} events wait`} to be sent.`
          : "Off: nothing is recorded, and nothing is stored or sent."}
      </p>
      {failure && (
        <p className="telemetry-setting__failure" role="alert">
          {failure}
        </p>
      )}
    </div>
  );
}
