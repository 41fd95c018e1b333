// Checks the shared schema/ folder with the same validator the app uses (Ajv, JSON Schema 2020-12,
// strict): every template against model-architecture.schema.json and every conformance case
// against case.schema.json. The server's `model-studio schema-lint` checks the same files with
// Python's jsonschema; this one catches a schema that only JavaScript's regexes or Ajv's strict
// mode would trip over. Prints one line per problem, then the count; exits 1 on any problem.
// Run: npm run schema-lint
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";

const SCHEMA_DIR = new URL("../../schema/", import.meta.url);
const CHECKS = [
  { folder: "templates", schema: "model-architecture.schema.json" },
  { folder: "cases", schema: "case.schema.json" },
];

const display = (url) => `schema/${fileURLToPath(url).slice(fileURLToPath(SCHEMA_DIR).length)}`;
const readJson = (url) => JSON.parse(readFileSync(url, "utf8"));

const ajv = new Ajv2020({ strict: true, allErrors: true });
const problems = [];
let checked = 0;

for (const { folder, schema } of CHECKS) {
  const validate = ajv.compile(readJson(new URL(schema, SCHEMA_DIR)));
  const folderUrl = new URL(`${folder}/`, SCHEMA_DIR);
  const files = readdirSync(folderUrl).filter((name) => name.endsWith(".json")).sort();
  if (files.length === 0) problems.push(`${display(folderUrl)}: no .json files to check`);
  for (const name of files) {
    const url = new URL(name, folderUrl);
    checked += 1;
    let document;
    try {
      document = readJson(url);
    } catch (error) {
      problems.push(`${display(url)}: not JSON: ${error.message}`);
      continue;
    }
    if (validate(document)) continue;
    for (const error of validate.errors) {
      // Ajv's message names everything but the unexpected property.
      const extra = error.keyword === "additionalProperties" ? `: ${JSON.stringify(error.params.additionalProperty)}` : "";
      problems.push(`${display(url)}: ${error.instancePath || "/"} ${error.message}${extra} (${schema})`);
    }
  }
}

for (const problem of problems) console.log(problem);
console.log(`schema-lint: ${problems.length} problem(s) in ${checked} file(s)`);
process.exitCode = problems.length ? 1 : 0;
