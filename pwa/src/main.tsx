import "@xyflow/react/dist/base.css";
import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { flushSaves, useLibrary } from "./app/library";
import { registerServiceWorker } from "./pwa/serviceWorker";
import { capturePairFragment } from "./sync/pairing";

// First, before anything renders or logs the address: keep the pairing token, wipe it from the URL.
capturePairFragment();

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");

registerServiceWorker(async () => {
  await flushSaves();
  return useLibrary.getState().saveState === "saved";
});

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
