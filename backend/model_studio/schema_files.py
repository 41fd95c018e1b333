"""Generate `schema/*.schema.json` (JSON Schema 2020-12) from the msgspec types in `contracts`."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from model_studio.catalogue import SCHEMA_DIR
from model_studio.contracts import SCHEMA_TYPES

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def render_schema(name: str, kind: type) -> str:
    generated = msgspec.json.schema(kind)
    document = {"$schema": DIALECT, "$id": f"https://model-studio.local/schema/{name}.schema.json", "title": kind.__name__, **generated}
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def schema_path(name: str) -> Path:
    return SCHEMA_DIR / f"{name}.schema.json"


def write_schema_files() -> list[Path]:
    paths = []
    for name, kind in SCHEMA_TYPES.items():
        schema_path(name).write_text(render_schema(name, kind))
        paths.append(schema_path(name))
    return paths


def check_schema_files() -> list[Path]:
    """The schema files whose content differs from what the types generate."""
    return [
        schema_path(name)
        for name, kind in SCHEMA_TYPES.items()
        if not schema_path(name).exists() or schema_path(name).read_text() != render_schema(name, kind)
    ]
