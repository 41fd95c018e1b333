"""The API so far: health and design validation, with request ids and bounded bodies."""

import json

import pytest
from starlette.testclient import TestClient

from model_studio.app import MAX_BODY_BYTES, create_app
from model_studio.catalogue import SCHEMA_DIR

TEMPLATE = (SCHEMA_DIR / "templates" / "moe-router.json").read_bytes()


@pytest.fixture
def client():
    with TestClient(create_app(static_dir=None)) as client:
        yield client


def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert len(response.headers["x-request-id"]) == 32


def test_request_id_is_echoed_when_sane_and_replaced_when_not(client):
    assert client.get("/api/health", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert client.get("/api/health", headers={"x-request-id": "bad id;drop"}).headers["x-request-id"] != "bad id;drop"


def test_valid_design_answers_200_with_sizes(client):
    response = client.post("/api/designs/moe-router/validate", content=TEMPLATE)
    assert response.status_code == 200
    assert response.json() == {"valid": True, "paramCount": 0.124998, "paramCountExact": 124998, "estimatedMemory": 73, "errors": []}


def test_invalid_design_answers_422_with_the_error_list(client):
    document = json.loads(TEMPLATE)
    document["components"][3]["props"]["top_k"] = 6
    response = client.post("/api/designs/moe-router/validate", json=document)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["code"] == "top_k_exceeds_experts" and error["component"] == "router" and error["hint"]


@pytest.mark.parametrize("body", [b"{not json", b"[]", b"", "\u00ff".encode("latin-1")])
def test_malformed_bodies_are_4xx(client, body):
    assert client.post("/api/designs/x/validate", content=body).status_code == 422


def test_hostile_id_is_400(client):
    assert client.post("/api/designs/..%2F..%2Fetc/validate", content=TEMPLATE).status_code in (400, 404)
    assert client.post("/api/designs/" + "a" * 65 + "/validate", content=TEMPLATE).status_code == 400


def test_huge_body_is_413(client):
    response = client.post("/api/designs/x/validate", content=b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
