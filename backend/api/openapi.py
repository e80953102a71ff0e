"""The OpenAPI 3.0 document of this API, generated from the endpoint registry and its msgspec
types (never written by hand), served at /api/schema/, and an offline Swagger UI at
/api/docs/ whose assets come from the installed swagger_ui_bundle package.

msgspec writes JSON Schema 2020-12; OpenAPI 3.0 (what Swagger UI 4 and most generators read)
spells some of it differently, so `to_openapi30` rewrites those keywords: null in a union
becomes `nullable`, `const` an enum, tuples (`prefixItems`) an array of any of their item
types, numeric `exclusiveMinimum` the boolean form, `$ref` siblings an `allOf`."""

from __future__ import annotations

import functools
import importlib
import re
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import msgspec
import structlog
from starlette.responses import HTMLResponse, Response

from backend.api.errors import not_found
from backend.api.routing import ApiRequest, ApiRouter, Endpoint

log = structlog.get_logger(__name__)

router = ApiRouter("schema")

OPENAPI_VERSION = "3.0.3"
REF = "#/components/schemas/{name}"
_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?}")
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    "str": {"type": "string"},
}
# Keywords an OpenAPI 3.0 Schema Object may hold (besides x- extensions).
_SCHEMA_KEYWORDS = frozenset(
    "title multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength "
    "pattern maxItems minItems uniqueItems maxProperties minProperties required enum type "
    "allOf oneOf anyOf not items properties additionalProperties description format default "
    "nullable discriminator readOnly writeOnly example deprecated $ref".split()
)

SECURITY_SCHEMES: dict[str, Any] = {
    "basicAuth": {"type": "http", "scheme": "basic"},
    "sessionAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": "The session cookie set by POST /api/auth/login.",
    },
    "csrfAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": "The value of the csrftoken cookie; required with a session on "
        "unsafe methods.",
    },
    "tokenAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Legacy token authentication: 'Token <key>' (the key from login).",
    },
    "accessTokenAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal access token: 'Bearer <token>'.",
    },
}
_AUTHENTICATED: list[dict[str, list[str]]] = [
    {"basicAuth": []},
    {"sessionAuth": [], "csrfAuth": []},
    {"tokenAuth": []},
    {"accessTokenAuth": []},
]

_DETAIL = {"$ref": REF.format(name="ErrorDetail")}
_ERROR_COMPONENTS: dict[str, Any] = {
    "ErrorDetail": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationErrors": {
        "type": "object",
        "description": 'Messages by field ({"field": ["message"]}) or a detail message.',
        "additionalProperties": {},
    },
}


# ------------------------------------------------------------------ JSON Schema -> OAS 3.0


def to_openapi30(schema: Any) -> Any:
    """A msgspec (JSON Schema 2020-12) schema as an OpenAPI 3.0 Schema Object."""
    if isinstance(schema, list):
        return [to_openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs", "mapping") or key == "patternProperties":
            out[key] = {k: to_openapi30(v) for k, v in value.items()}
        elif key in ("default", "enum", "example", "discriminator"):
            out[key] = value
        else:
            out[key] = to_openapi30(value)
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out:
        examples = out.pop("examples")
        if isinstance(examples, list) and examples:
            out["example"] = examples[0]
    if "contentEncoding" in out:
        out.pop("contentEncoding")
        out.setdefault("format", "byte")
    out.pop("contentMediaType", None)
    if "prefixItems" in out:
        items = out.pop("prefixItems")
        distinct = [s for i, s in enumerate(items) if s not in items[:i]]
        tail = out.get("items")
        if isinstance(tail, dict) and tail not in distinct:
            distinct.append(tail)
        out["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
    if out.get("items") is False or out.get("items") is True:
        out["items"] = {}
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[inclusive] = value
            out[bound] = True
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        if len(types) == 1:
            out["type"] = types[0]
        else:
            out.pop("type")
            out = {**out, "anyOf": [{"type": t} for t in types]} if types else out
    if out.get("type") == "null":
        out.pop("type")
        out["nullable"] = True
        out["enum"] = [None]
    for union in ("anyOf", "oneOf"):
        if union in out:
            out = _nullable_union(out, union)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    if out.get("type") == "array" and "items" not in out:
        out["items"] = {}
    if out.get("required") == []:
        out.pop("required")  # 3.0: a required list is never empty
    return {k: v for k, v in out.items() if k in _SCHEMA_KEYWORDS or k.startswith("x-")}


def _nullable_union(schema: dict[str, Any], union: str) -> dict[str, Any]:
    members = schema[union]
    rest = [m for m in members if not _is_null(m)]
    if len(rest) == len(members):
        return schema
    out = {k: v for k, v in schema.items() if k != union}
    if not rest:
        return {**out, "nullable": True, "enum": [None]}
    if len(rest) > 1:
        return {**out, union: rest, "nullable": True}
    (only,) = rest
    if "$ref" in only:
        return {"allOf": [only], **out, "nullable": True}
    merged = {**only, **out, "nullable": True}
    if isinstance(merged.get("enum"), list) and None not in merged["enum"]:
        merged["enum"] = [*merged["enum"], None]
    return merged


def _is_null(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    return schema.get("type") == "null" or (
        schema.get("nullable") is True and schema.get("enum") == [None]
    )


# ------------------------------------------------------------------ document


def _types_of(endpoints: Iterable[Endpoint]) -> list[Any]:
    found: list[Any] = []
    for endpoint in endpoints:
        for kind in (endpoint.query, endpoint.body, endpoint.response):
            if kind is not None and kind not in found:
                found.append(kind)
    return found


class _Schemas:
    """The schema of each type (by equality: `A | B` is rebuilt at each use) and the
    components they refer to."""

    def __init__(self, types: list[Any]) -> None:
        self.pairs: list[tuple[Any, Any]] = []
        self.components: dict[str, Any] = {}
        try:
            refs, components = msgspec.json.schema_components(types, ref_template=REF)
        except (TypeError, ValueError):
            for kind in types:  # find the one msgspec cannot describe; degrade only it
                self.pairs.append((kind, self._describe(kind)))
        else:
            self.pairs = list(zip(types, refs, strict=True))
            self.components = dict(components)

    def __getitem__(self, kind: Any) -> Any:
        for known, schema in self.pairs:
            if known is kind or known == kind:
                return schema
        raise KeyError(kind)

    def _describe(self, kind: Any) -> Any:
        try:
            (ref,), components = msgspec.json.schema_components([kind], ref_template=REF)
        except (TypeError, ValueError) as exc:
            return self._degrade(kind, exc)
        self.components.update(components)
        return ref

    def _degrade(self, kind: Any, exc: Exception) -> Any:
        """msgspec refuses some types it can encode (a union of untagged Structs): a union
        becomes anyOf its members, a generic its origin over Any, anything else `{}`."""
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        log.warning("type described loosely in the OpenAPI schema", type=repr(kind), error=str(exc))
        if origin in (typing.Union, types.UnionType):
            return {"anyOf": [self._describe(arg) for arg in args]}
        if origin is not None and args:
            try:
                loose = origin[tuple(Any for _ in args)]
                (ref,), components = msgspec.json.schema_components([loose], ref_template=REF)
            except (TypeError, ValueError):
                return {}
            self.components.update(components)
            return ref
        return {}


def _path_and_parameters(path: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for name, converter in _PATH_PARAM.findall(path):
        schema = _CONVERTER_SCHEMAS.get(converter or "str", {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PATH_PARAM.sub(r"{\1}", path), parameters


def _query_parameters(schema: Any, components: dict[str, Any]) -> list[dict[str, Any]]:
    """One parameter per field of the query Struct (its component's properties)."""
    target = schema
    if isinstance(schema, dict) and "$ref" in schema:
        target = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    properties = target.get("properties", {}) if isinstance(target, dict) else {}
    required = set(target.get("required", ())) if isinstance(target, dict) else set()
    parameters = []
    for name, prop in properties.items():
        prop = to_openapi30(prop)
        # A query parameter is absent or a string: never null.
        prop.pop("nullable", None)
        if prop.get("default", 0) is None:
            prop.pop("default")
        if isinstance(prop.get("enum"), list):
            prop["enum"] = [v for v in prop["enum"] if v is not None]
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        description = prop.pop("description", None)
        if description:
            parameter["description"] = description
        parameter["schema"] = prop
        parameters.append(parameter)
    return parameters


def _error_responses(endpoint: Endpoint, has_path_params: bool) -> dict[str, Any]:
    def detail(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": _DETAIL}}}

    responses: dict[str, Any] = {
        "400": {
            "description": "Invalid input: messages by field.",
            "content": {
                "application/json": {"schema": {"$ref": REF.format(name="ValidationErrors")}}
            },
        }
    }
    if endpoint.auth:
        responses["401"] = detail("Not authenticated.")
        responses["403"] = detail("Not allowed.")
    if has_path_params or endpoint.query is not None:
        responses["404"] = detail("Not found (or a page past the end of a list).")
    if endpoint.method in ("POST", "PUT", "PATCH", "DELETE"):
        responses["409"] = detail("Changed concurrently; retry.")
    responses["503"] = detail("The server is catching up; retry after Retry-After seconds.")
    for status, description in endpoint.extra_responses.items():
        responses[str(status)] = {"description": description}
    return responses


def _operation(
    endpoint: Endpoint, schemas: _Schemas, components: dict[str, Any], operation_id: str
) -> tuple[str, dict[str, Any]]:
    path, parameters = _path_and_parameters(endpoint.path)
    if endpoint.query is not None:
        parameters += _query_parameters(schemas[endpoint.query], components)
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [endpoint.tag] if endpoint.tag else [],
        "summary": endpoint.summary or endpoint.handler.__name__.replace("_", " "),
    }
    description = (endpoint.handler.__doc__ or "").strip()
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        body_schema = to_openapi30(schemas[endpoint.body])
        operation["requestBody"] = {
            "required": _body_required(body_schema, components),
            "content": {"application/json": {"schema": body_schema}},
        }
    status = str(endpoint.status)
    success: dict[str, Any] = {"description": endpoint.summary or "Success."}
    if endpoint.response is not None and endpoint.status != 204:
        success["content"] = {
            "application/json": {"schema": to_openapi30(schemas[endpoint.response])}
        }
    responses = {status: success}
    if endpoint.response is None and endpoint.status == 200:
        responses.setdefault("204", {"description": "No content."})
    responses.update(_error_responses(endpoint, "{" in endpoint.path))
    responses[status] = success
    operation["responses"] = responses
    operation["security"] = _AUTHENTICATED if endpoint.auth else [{}, *_AUTHENTICATED]
    return path, operation


def _body_required(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """An empty body counts as {} here, so it is optional when {} is a valid body."""
    target = schema
    if "$ref" in schema:
        target = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return bool(target.get("required")) or bool(target.get("type") not in ("object", None))


def build_document(endpoints: list[Endpoint], version: str = "2.80.0") -> dict[str, Any]:
    """The OpenAPI 3.0 document of `endpoints`."""
    documented = [e for e in endpoints if e.handler is not docs_asset]
    schemas = _Schemas(_types_of(documented))
    raw_components = schemas.components
    components = {name: to_openapi30(schema) for name, schema in raw_components.items()}
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for endpoint in documented:
        operation_id = endpoint.operation_id
        suffix = 2
        while operation_id in used_ids:  # two handlers of one tag with one name
            operation_id, suffix = f"{endpoint.operation_id}_{suffix}", suffix + 1
        used_ids.add(operation_id)
        path, operation = _operation(endpoint, schemas, raw_components, operation_id)
        paths.setdefault(path, {})[endpoint.method.lower()] = operation
    tags = sorted({e.tag for e in documented if e.tag})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Vellum (CVAT REST API)",
            "version": version,
            "description": "Event-sourced, realtime collaborative annotation server speaking "
            "the CVAT REST API. Generated from the server's endpoint registry.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**components, **_ERROR_COMPONENTS},
            "securitySchemes": SECURITY_SCHEMES,
        },
        "security": _AUTHENTICATED,
        "tags": [{"name": tag} for tag in tags],
    }


@functools.cache
def _document_json() -> bytes:
    from backend.api.server import CVAT_COMPATIBLE_VERSION
    from backend.app import all_endpoints

    return msgspec.json.encode(build_document(all_endpoints(), CVAT_COMPATIBLE_VERSION))


class SchemaQuery(msgspec.Struct, kw_only=True):
    format: Literal["json", "yaml", "openapi", "openapi-json"] | None = None
    lang: str | None = None  # CVAT's schema view takes it; the schema is English only


@router.get("/api/schema/", auth=False, query=SchemaQuery, summary="This API's OpenAPI 3 schema")
async def retrieve_schema(req: ApiRequest) -> Response:
    """The OpenAPI 3.0 document (`?format=yaml` for YAML: the same JSON, which is YAML)."""
    if req.query is not None and req.query.format == "yaml":
        return Response(_document_json(), media_type="application/yaml")
    return Response(_document_json(), media_type="application/json")


# ------------------------------------------------------------------ Swagger UI


def _assets_dir() -> Path:
    bundle = importlib.import_module("swagger_ui_bundle")  # the package has no type hints
    return Path(bundle.swagger_ui_path)


_ASSET_TYPES = {
    "swagger-ui.css": "text/css",
    "swagger-ui.css.map": "application/json",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-bundle.js.map": "application/json",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}

DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Vellum API</title>
    <link rel="stylesheet" type="text/css" href="/api/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png" sizes="32x32">
    <style>body { margin: 0; }</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/api/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/api/docs/vellum-docs.js" charset="UTF-8"></script>
  </body>
</html>
"""

# The online validator badge would send the schema elsewhere: validatorUrl null keeps the
# page offline. "Try it out" with a session needs the CSRF header on unsafe methods.
DOCS_SCRIPT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/schema/",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (request) {
      var match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
      if (match) { request.headers["X-CSRFToken"] = decodeURIComponent(match[1]); }
      return request;
    }
  });
};
"""


@router.get("/api/docs/", auth=False, summary="Swagger UI for this API (offline)")
async def docs_page(req: ApiRequest) -> Response:
    return HTMLResponse(DOCS_PAGE)


@router.get("/api/docs/{asset}", auth=False, summary="A Swagger UI asset")
async def docs_asset(req: ApiRequest) -> Response:
    name = str(req.path["asset"])
    if name == "vellum-docs.js":
        return Response(DOCS_SCRIPT, media_type="text/javascript")
    media_type = _ASSET_TYPES.get(name)
    if media_type is None:  # only the listed files: no path ever reaches the disk unchecked
        raise not_found()
    content = await _read_asset(name)
    return Response(content, media_type=media_type, headers={"Cache-Control": "max-age=86400"})


@functools.cache
def _asset_bytes(name: str) -> bytes:
    return (_assets_dir() / name).read_bytes()


async def _read_asset(name: str) -> bytes:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(_asset_bytes, name)
