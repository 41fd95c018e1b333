"""The files in `schema/`: generating the JSON Schemas from the msgspec types, and linting the rest.

`schema/*.schema.json` (JSON Schema 2020-12) are generated from `contracts.SCHEMA_TYPES`, and
`schema/openapi.json` from the app's route table (the PWA generates `src/api/types.ts` from it);
none is edited by hand. `lint_schema_dir` fails when they drift, when a template is not a valid
design, or when a conformance case is malformed.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import jsonschema
import msgspec

from model_studio.catalogue import SCHEMA_DIR, load_catalogue
from model_studio.contracts import SCHEMA_TYPES, ConformanceCase
from model_studio.validation import validate_design

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TEMPLATES_DIR = SCHEMA_DIR / "templates"
CASES_DIR = SCHEMA_DIR / "cases"


def clean_descriptions(node: Any) -> Any:
    """`node` with every `description` string passed through `inspect.cleandoc`.

    Descriptions come from docstrings, and msgspec releases differ in how they dedent them
    (0.23 keeps the indentation of continuation lines, 0.22 strips it); normalising here keeps
    the committed schemas independent of that cosmetic choice.
    """
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value) if key == "description" and isinstance(value, str) else clean_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [clean_descriptions(item) for item in node]
    return node


def render_schema(name: str, kind: type) -> str:
    generated = clean_descriptions(msgspec.json.schema(kind))
    document = {"$schema": DIALECT, "$id": f"https://model-studio.local/schema/{name}.schema.json", "title": kind.__name__, **generated}
    return json.dumps(document, indent=2) + "\n"


def schema_path(name: str) -> Path:
    return SCHEMA_DIR / f"{name}.schema.json"


def load_schema(name: str) -> dict:
    return json.loads(schema_path(name).read_text())


OPENAPI_PATH = SCHEMA_DIR / "openapi.json"


def render_openapi() -> str:
    """The OpenAPI document the app serves at `/openapi.json`, built from its route table without
    starting it (descriptions normalised as above)."""
    from model_studio.app import EVENT_TYPES, OPERATIONS  # the app pulls in Starlette: only when asked
    from model_studio.openapi import build_spec

    return json.dumps(clean_descriptions(build_spec(OPERATIONS, EVENT_TYPES)), indent=2) + "\n"


def write_schema_files() -> list[Path]:
    for name, kind in SCHEMA_TYPES.items():
        schema_path(name).write_text(render_schema(name, kind))
    OPENAPI_PATH.write_text(render_openapi())
    return [*(schema_path(name) for name in SCHEMA_TYPES), OPENAPI_PATH]


def _schema_problems(instance: object, schema: dict, where: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{where}: {error.json_path}: {error.message}" for error in validator.iter_errors(instance)]


def lint_schema_dir() -> list[str]:
    """Every problem found in `schema/`, as readable lines; empty when all is well."""
    problems = [
        f"{schema_path(name)} is out of date with model_studio.contracts; run `model-studio schema-lint --write`"
        for name, kind in SCHEMA_TYPES.items()
        if not schema_path(name).exists() or schema_path(name).read_text() != render_schema(name, kind)
    ]
    if not OPENAPI_PATH.exists() or OPENAPI_PATH.read_text() != render_openapi():
        problems.append(f"{OPENAPI_PATH} is out of date with model_studio.app; run `model-studio schema-lint --write`")
    catalogue_path = SCHEMA_DIR / "catalogue.json"
    problems += _schema_problems(json.loads(catalogue_path.read_text()), load_schema("catalogue"), str(catalogue_path))

    design_schema = load_schema("model-architecture")
    templates = sorted(TEMPLATES_DIR.glob("*.json"))
    if not templates:
        problems.append(f"{TEMPLATES_DIR}: no templates")
    for path in templates:
        document = json.loads(path.read_text())
        problems += _schema_problems(document, design_schema, str(path))
        result = validate_design(document)
        problems += [f"{path}: {e.code} [{e.component}]: {e.message}" for e in result.errors]
        if document.get("id") != path.stem:
            problems.append(f"{path}: id {document.get('id')!r} differs from the file name")

    case_schema, codes = load_schema("case"), set(load_catalogue().doc.errors)
    for path in sorted(CASES_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        problems += _schema_problems(document, case_schema, str(path))
        case = msgspec.convert(document, type=ConformanceCase)
        problems += [f"{path}: unknown error code {e.code!r}" for e in case.expected.errors if e.code not in codes]
        if case.expected.valid == bool(case.expected.errors):
            problems.append(f"{path}: 'valid' contradicts the expected errors")
    return problems
