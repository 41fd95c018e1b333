// Fails when the built app (dist/) evaluates strings as code: `eval(...)` or `new Function(...)`.
// The server's Content-Security-Policy (backend/model_studio/middleware.py) has no 'unsafe-eval',
// so such code would throw in the browser; this catches it at build time instead (a dependency
// that starts compiling code at run time, or a validator compiled with Ajv at run time again).
// Prints each hit with its file and surroundings; exits 1 on any. Run after `npm run build`:
//   npm run check-no-eval
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
/** `eval(` not as a method (`x.eval(`) or part of a name; `new Function(`. */
const STRING_EVALUATION = /(?<![\w$.])eval\s*\(|\bnew\s+Function\s*\(/g;
const CONTEXT = 60;

function scripts(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return scripts(path);
    return /\.(m?js)$/.test(entry.name) ? [path] : [];
  });
}

let files;
try {
  files = scripts(DIST);
} catch {
  console.error("no dist/ folder: run `npm run build` first");
  process.exit(1);
}
if (files.length === 0) {
  console.error("dist/ holds no scripts: run `npm run build` first");
  process.exit(1);
}

const hits = [];
for (const file of files) {
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(STRING_EVALUATION)) {
    const around = text.slice(Math.max(0, match.index - CONTEXT), match.index + match[0].length + CONTEXT).replaceAll("\n", " ");
    hits.push(`${relative(process.cwd(), file)}: ${match[0]} in …${around}…`);
  }
}
for (const hit of hits) console.error(hit);
console.log(`${files.length} scripts checked, ${hits.length} evaluate strings as code`);
process.exit(hits.length > 0 ? 1 : 0);
