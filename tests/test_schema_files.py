"""schema/*.schema.json are generated from the msgspec types and must not drift from them."""

import json

import jsonschema
import pytest

from model_studio.catalogue import SCHEMA_DIR
from model_studio.contracts import SCHEMA_TYPES
from model_studio.schema_files import OPENAPI_PATH, lint_schema_dir, load_schema, render_openapi, render_schema, schema_path
from model_studio.validation import DesignDecodeError, decode_design


@pytest.mark.parametrize("name", SCHEMA_TYPES)
def test_committed_schema_equals_generated(name):
    assert schema_path(name).read_text() == render_schema(name, SCHEMA_TYPES[name]), "run `model-studio schema-lint --write`"


def test_committed_openapi_equals_the_served_spec(tmp_path):
    """schema/openapi.json, which the PWA generates src/api/types.ts from, is what the app serves."""
    from model_studio.app import create_app
    from model_studio.schema_files import clean_descriptions
    from model_studio.services import ServerSettings

    assert OPENAPI_PATH.read_text() == render_openapi(), "run `model-studio schema-lint --write`"
    committed = json.loads(OPENAPI_PATH.read_text())
    assert committed == clean_descriptions(create_app(ServerSettings(data_dir=tmp_path, token="t")).state.openapi)
    assert {"ModelArchitecture", "DesignRecord", "Problem", "TrainingUpdate", "TrainingDone"} <= set(committed["components"]["schemas"])


def test_schema_files_are_2020_12_schemas():
    for name in SCHEMA_TYPES:
        schema = load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_lint_finds_no_problems():
    assert lint_schema_dir() == []


def _documents():
    for path in sorted((SCHEMA_DIR / "cases").glob("*.json")):
        yield path.stem, json.loads(path.read_text())["design"]
    for path in sorted((SCHEMA_DIR / "templates").glob("*.json")):
        yield path.stem, json.loads(path.read_text())


@pytest.mark.parametrize(("name", "document"), list(_documents()))
def test_json_schema_and_msgspec_accept_the_same_documents(name, document):
    """What the PWA's Ajv accepts (the JSON Schema) is exactly what the server's msgspec decodes."""
    schema_ok = jsonschema.Draft202012Validator(load_schema("model-architecture")).is_valid(document)
    try:
        decode_design(document)
        msgspec_ok = True
    except DesignDecodeError:
        msgspec_ok = False
    assert schema_ok == msgspec_ok


def test_catalogue_matches_its_schema():
    catalogue = json.loads((SCHEMA_DIR / "catalogue.json").read_text())
    jsonschema.validate(catalogue, load_schema("catalogue"))


def test_docstring_indentation_never_reaches_a_schema():
    """msgspec releases differ in how they dedent docstrings; the rendered schema must not."""
    import msgspec

    class Indented(msgspec.Struct):
        """First line.
        Second line, indented in the source.

            A deeper line keeps its relative indent."""

        x: int

    description = json.loads(render_schema("indented", Indented))["$defs"]["Indented"]["description"]
    assert description == "First line.\nSecond line, indented in the source.\n\n    A deeper line keeps its relative indent."
