import { fileURLToPath, URL } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";
import { VitePWA } from "vite-plugin-pwa";

/** The repo's shared schema folder: catalogue, JSON Schemas, templates and conformance cases. */
const SCHEMA_DIR = fileURLToPath(new URL("../schema", import.meta.url));
const THEME_COLOUR = "#1b1f2a";
const BACKGROUND_COLOUR = "#10131a";

export default defineConfig({
  resolve: {
    alias: { "@schema": SCHEMA_DIR },
  },
  server: {
    fs: { allow: [".", SCHEMA_DIR] },
  },
  worker: { format: "es" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
  },
  plugins: [
    react(),
    VitePWA({
      registerType: "prompt",
      injectRegister: false,
      manifest: {
        id: "/",
        name: "Model Studio",
        short_name: "Studio",
        description: "Design, validate and train neural networks that play 2048 - on your phone, offline.",
        start_url: "/",
        scope: "/",
        display: "standalone",
        orientation: "portrait",
        theme_color: THEME_COLOUR,
        background_color: BACKGROUND_COLOUR,
        icons: [
          { src: "icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
          { src: "icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
          { src: "icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      workbox: {
        // The wasm is onnxruntime-web's, for checking an export on the phone: precached, so the
        // check also works offline (about 3.7 MB gzipped, once per install).
        globPatterns: ["**/*.{js,css,html,svg,png,webmanifest,wasm}"],
        maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
        navigateFallback: "index.html",
        navigateFallbackDenylist: [/^\/api\//],
        cleanupOutdatedCaches: true,
        runtimeCaching: [],
      },
    }),
  ],
  test: {
    // `vitest run` runs both: pure code in Node, and code that needs a DOM or IndexedDB (hooks,
    // sheets, storage) in happy-dom with fake-indexeddb. `--project unit` or `--project dom` picks one.
    projects: [
      { extends: true, test: { name: "unit", include: ["tests/unit/**/*.test.ts"], environment: "node" } },
      {
        extends: true,
        test: { name: "dom", include: ["tests/dom/**/*.test.{ts,tsx}"], environment: "happy-dom", setupFiles: ["tests/dom/setup.ts"] },
      },
    ],
  },
});
