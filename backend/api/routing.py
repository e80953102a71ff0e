"""Declarative endpoints: each handler is registered with its body, query and response
types, so one registry builds both the Starlette routes and the OpenAPI schema.

Handlers are thin: `async def handler(req: ApiRequest) -> Struct | dict | list | Response`.
Every path answers with and without a trailing slash (CVAT clients use both and must not
be redirected)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.api.errors import NOT_AUTHENTICATED, ApiError, from_msgspec
from backend.api.json_text import NUL_MESSAGE, refuse_unstorable
from backend.api.responses import json_response

if TYPE_CHECKING:
    from backend.bootstrap import Container
    from backend.iam.principal import User

Handler = Callable[["ApiRequest"], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    body: type | None = None
    query: type | None = None
    response: Any = None  # a type for the schema; None = no JSON body documented
    status: int = 200
    auth: bool = True
    summary: str = ""
    tag: str = ""
    raw_body: bool = False  # the handler reads the request itself (uploads, multipart)
    extra_responses: dict[int, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return f"{self.tag}_{self.handler.__name__}".strip("_")


class ApiRequest:
    """What a handler gets: the decoded query and body, the user, the container."""

    __slots__ = ("body", "container", "query", "request", "user")

    def __init__(
        self,
        request: Request,
        container: Container,
        user: User | None,
        query: Any,
        body: Any,
    ) -> None:
        self.request = request
        self.container = container
        self.user = user
        self.query = query
        self.body = body

    @property
    def path(self) -> dict[str, Any]:
        return self.request.path_params

    @property
    def principal(self) -> User:
        """The authenticated user (endpoints with auth=True always have one)."""
        if self.user is None:
            raise NOT_AUTHENTICATED
        return self.user

    def absolute_url(self, path: str) -> str:
        """An absolute URL on this server as the client reached it (Host header)."""
        return str(self.request.base_url).rstrip("/") + "/" + path.lstrip("/")

    async def projected(self, position: int) -> None:
        """Read-your-writes: return once every read model has applied `position`."""
        if position > 0:
            await self.container.waiter.wait(position)


_EMPTY = b""


class ApiRouter:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method=method, path=path, handler=handler, tag=self.tag, **options)
            )
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)


def decode_query(request: Request, query_type: type) -> Any:
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise ApiError(400, {name: [NUL_MESSAGE]})
    try:
        return msgspec.convert(dict(request.query_params), query_type, strict=False)
    except msgspec.ValidationError as exc:
        raise from_msgspec(exc, "query") from None


async def decode_body(request: Request, body_type: type) -> Any:
    raw = await request.body()
    if not raw.strip():
        raw = b"{}"  # clients send bodiless POSTs with a JSON content type
    refuse_unstorable(raw)
    try:
        return msgspec.json.decode(raw, type=body_type)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_msgspec(exc, "body") from None


def _starlette_endpoint(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    from backend.iam.auth import authenticate

    async def run(request: Request) -> Response:
        container = request.app.state.container
        user = await authenticate(request, container)
        if endpoint.auth and user is None:
            raise NOT_AUTHENTICATED
        query = decode_query(request, endpoint.query) if endpoint.query else None
        body = None
        if endpoint.body is not None and not endpoint.raw_body:
            body = await decode_body(request, endpoint.body)
        result = await endpoint.handler(ApiRequest(request, container, user, query, body))
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status_code=endpoint.status if endpoint.status != 200 else 204)
        return json_response(result, endpoint.status)

    run.__name__ = endpoint.handler.__name__
    return run


def starlette_routes(endpoints: Iterable[Endpoint]) -> list[Route]:
    routes = []
    for endpoint in endpoints:
        run = _starlette_endpoint(endpoint)
        base = endpoint.path.rstrip("/")
        for path in (base, base + "/"):
            routes.append(Route(path, run, methods=[endpoint.method]))
    return routes


def raise_for(status: int, detail: str) -> None:
    raise ApiError(status, detail)
