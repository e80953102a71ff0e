"""/api/schema/ (OpenAPI 3.0 generated from the endpoint registry) and the offline Swagger
UI at /api/docs/."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

import httpx
import jsonschema_rs
import msgspec
import pytest
import yaml
from schemathesis.specs.openapi.definitions import OPENAPI_30

from backend.api.lists import ListQuery
from backend.api.openapi import build_document, docs_asset, to_openapi30
from backend.app import all_endpoints


@pytest.fixture(scope="module")
def document(server: Any) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/schema/")  # no credentials: public
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs_in(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs_in(value)]
    return []


def test_schema_is_valid_openapi_30(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.0.")
    validator = jsonschema_rs.Draft4Validator(OPENAPI_30)
    errors = [
        f"{list(e.instance_path)}: {e.message[:200]}" for e in validator.iter_errors(document)
    ]
    assert errors == []
    schemas = document["components"]["schemas"]
    for ref in set(refs_in(document)):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref


def test_schema_documents_every_registered_endpoint(document: dict[str, Any]) -> None:
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    registered = {
        (e.method, re.sub(r"{(\w+):\w+}", r"{\1}", e.path))
        for e in all_endpoints()
        if e.handler is not docs_asset
    }
    assert registered == documented
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    about = document["paths"]["/api/server/about"]["get"]
    assert about["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/About"
    }
    assert {"basicAuth", "sessionAuth", "csrfAuth", "tokenAuth", "accessTokenAuth"} <= set(
        document["components"]["securitySchemes"]
    )


def test_schema_comes_as_yaml_on_request(server: Any, document: dict[str, Any]) -> None:
    response = httpx.get(f"{server.url}/api/schema/?format=yaml")
    assert response.status_code == 200
    assert "yaml" in response.headers["content-type"]
    assert yaml.safe_load(response.text) == document


def test_lists_document_cvat_list_parameters(document: dict[str, Any]) -> None:
    lists = [
        e for e in all_endpoints() if isinstance(e.query, type) and issubclass(e.query, ListQuery)
    ]
    for endpoint in lists:
        path = re.sub(r"{(\w+):\w+}", r"{\1}", endpoint.path)
        operation = document["paths"][path][endpoint.method.lower()]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"page", "page_size", "filter", "search", "sort", "org"} <= names
        assert {f.encode_name for f in msgspec.structs.fields(endpoint.query)} == names


def test_docs_page_is_offline_and_its_assets_are_served(server: Any) -> None:
    page = httpx.get(f"{server.url}/api/docs/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text)  # nothing remote
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) >= 3
    expected_types = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}
    for asset in assets:
        response = httpx.get(f"{server.url}{asset}")
        assert response.status_code == 200, asset
        suffix = asset[asset.rindex(".") :]
        assert response.headers["content-type"].startswith(expected_types[suffix]), asset
    script = httpx.get(f"{server.url}/api/docs/vellum-docs.js").text
    assert '"/api/schema/"' in script and "validatorUrl: null" in script
    assert not re.search(r"https?://", script)


@pytest.mark.parametrize("name", ["nothing.js", "..%2F..%2Fpyproject.toml", "index.j2"])
def test_docs_serve_only_known_assets(server: Any, name: str) -> None:
    assert httpx.get(f"{server.url}/api/docs/{name}").status_code == 404


# ------------------------------------------------------------------ conversion to 3.0


class Inner(msgspec.Struct, frozen=True):
    x: int


class Sample(msgspec.Struct, kw_only=True):
    ref_or_null: Inner | None = None
    text_or_null: str | None = None
    choice_or_null: Literal["a", "b"] | None = None
    pair: tuple[int, float] = (1, 2.0)
    positive: float = msgspec.field(default=1.0)
    blob: bytes = b""
    when: dt.datetime | None = None
    tag: Literal["only"] = "only"


def test_msgspec_schemas_become_openapi_30() -> None:
    (ref,), components = msgspec.json.schema_components(
        [Sample], ref_template="#/components/schemas/{name}"
    )
    props = to_openapi30(components["Sample"])["properties"]
    assert props["ref_or_null"] == {
        "allOf": [{"$ref": "#/components/schemas/Inner"}],
        "default": None,
        "nullable": True,
    }
    assert props["text_or_null"] == {"type": "string", "default": None, "nullable": True}
    assert props["choice_or_null"]["enum"] == ["a", "b", None]
    assert props["pair"]["items"] == {"anyOf": [{"type": "integer"}, {"type": "number"}]}
    assert props["pair"]["minItems"] == props["pair"]["maxItems"] == 2
    assert props["blob"]["format"] == "byte" and "contentEncoding" not in props["blob"]
    assert props["tag"]["enum"] == ["only"]
    bounded = to_openapi30({"type": "number", "exclusiveMinimum": 0})
    assert bounded == {"type": "number", "minimum": 0, "exclusiveMinimum": True}


def test_document_survives_types_msgspec_cannot_describe() -> None:
    class A(msgspec.Struct):
        a: int

    class B(msgspec.Struct):
        b: str

    from backend.api.routing import ApiRouter

    router = ApiRouter("t")

    @router.get("/api/t/{id:int}", response=A | B)
    async def handler(req: Any) -> Any:  # pragma: no cover - never called
        return None

    document = build_document(router.endpoints)
    schema = document["paths"]["/api/t/{id}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    assert schema == {
        "anyOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]
    }
    validator = jsonschema_rs.Draft4Validator(OPENAPI_30)
    assert validator.is_valid(document)
