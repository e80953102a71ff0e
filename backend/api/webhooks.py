"""/api/webhooks: CVAT's webhook CRUD, the events a webhook may follow, ping, deliveries
and redelivery, served from the `webhooks` read model (backend/projections/webhooks.py).

The secret is write-only: sealed (backend/cloud/credentials.py) before an event is
decided, never in a response. Target URLs are checked like every remote URL
(backend/net/safe_fetch.py): a loopback, private or link-local address is a 400 naming
target_url unless VELLUM_URL_ALLOWLIST allows it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from psycopg import sql
from starlette.responses import Response

from backend.api.errors import bad_request, not_found, permission_denied
from backend.api.lists import Field, Paginated, Resource, fetch_row, list_page
from backend.api.representations import UserSummary, user_columns, user_summary
from backend.api.routing import ApiRequest, ApiRouter
from backend.cloud import credentials
from backend.cloud.credentials import Credentials
from backend.domain import webhooks as domain
from backend.iam import policy
from backend.net.safe_fetch import FetchError, FetchPolicy, early_problem, parse_url, resolve
from backend.services.webhooks import WebhookService
from backend.webhooks import delivery, payloads

router = ApiRouter("webhooks")

_SELECT = (
    "w.id, w.type, w.project_id, w.owner_id, w.target_url, w.description, w.content_type,"
    " w.enable_ssl, w.is_active, w.events, w.created_at, w.updated_at, "
    + user_columns("ou", "owner")
    + ","
    " (SELECT d.status_code FROM webhook_deliveries d WHERE d.webhook_id = w.id"
    "  ORDER BY d.id DESC LIMIT 1) AS last_status,"
    " (SELECT d.updated_at FROM webhook_deliveries d WHERE d.webhook_id = w.id"
    "  ORDER BY d.id DESC LIMIT 1) AS last_delivery_date"
)
# A project's webhooks go with it, as CVAT cascades: gone from the API once the project's
# deletion is projected, while the delivery loop still sends what they had queued
# (delete:project included).
_SOURCE = (
    "(SELECT * FROM webhooks WHERE project_id IS NULL"
    "  OR EXISTS (SELECT 1 FROM projects x WHERE x.id = webhooks.project_id)) w"
    " LEFT JOIN users ou ON ou.id = w.owner_id"
    " LEFT JOIN projects p ON p.id = w.project_id"
)
WEBHOOKS = Resource(
    name="webhooks",
    source=_SOURCE,
    select=_SELECT,  # never the secret column
    fields={
        "id": Field("w.id", "int"),
        "target_url": Field("w.target_url"),
        "owner": Field("ou.username"),
        "type": Field("w.type"),
        "description": Field("w.description"),
        "project_id": Field("w.project_id", "int"),
        "updated_date": Field("w.updated_at", "datetime"),
    },
    search=("target_url", "owner", "type", "description"),
    simple_filters=("target_url", "owner", "type", "description", "project_id"),
)
_WITH_SECRET = Resource(
    name="webhooks_with_secret", source=_SOURCE,
    select=_SELECT + ", w.secret, p.owner_id AS project_owner_id,"
    " p.assignee_id AS project_assignee_id",
    fields={"id": Field("w.id", "int")},
)  # fmt: skip
DELIVERIES = Resource(
    name="webhook_deliveries",
    source="webhook_deliveries d",
    select="d.id, d.webhook_id, d.event, d.status_code, d.redelivery, d.request, d.response,"
    " d.created_at, d.updated_at",
    fields={"id": Field("d.id", "int")},
    default_sort="-id",
)

Secret = Annotated[str, msgspec.Meta(max_length=1024, extra_json_schema={"writeOnly": True})]


class WebhookWrite(msgspec.Struct, kw_only=True):
    """WebhookWriteRequest / PatchedWebhookWriteRequest (left out = unchanged)."""

    target_url: str | UnsetType = UNSET
    type: domain.WebhookType | UnsetType = UNSET
    events: list[str] | UnsetType = UNSET
    description: str | UnsetType = UNSET
    content_type: Literal["application/json"] | UnsetType = UNSET
    secret: Secret | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    enable_ssl: bool | UnsetType = UNSET
    project_id: int | UnsetType | None = UNSET


class WebhookRead(msgspec.Struct, frozen=True, omit_defaults=True):
    id: int
    url: str
    target_url: str
    description: str
    type: str
    content_type: str
    is_active: bool
    enable_ssl: bool
    created_date: datetime
    updated_date: datetime
    owner: UserSummary | None
    project_id: int | None
    organization: int | None
    events: list[str]
    last_status: int | None = None
    last_delivery_date: datetime | None = None


class WebhookDeliveryRead(msgspec.Struct, frozen=True):
    id: int
    webhook_id: int
    event: str
    status_code: int | None
    redelivery: bool
    created_date: datetime
    updated_date: datetime
    changed_fields: str
    request: Any
    response: Any


class EventsQuery(msgspec.Struct, kw_only=True):
    type: Literal["organization", "project", "server", "all"] | None = None


class EventGroup(msgspec.Struct, frozen=True):
    display_name: str


class WebhooksEvent(msgspec.Struct, frozen=True):
    key: str
    group: EventGroup


class EventsSummary(msgspec.Struct, frozen=True):
    webhook_type: str
    events: list[WebhooksEvent]


# --- helpers -----------------------------------------------------------------------------


def _read(req: ApiRequest, row: dict[str, Any]) -> WebhookRead:
    owner = user_summary(req, row, "owner")
    return WebhookRead(
        id=row["id"], url=req.absolute_url(f"/api/webhooks/{row['id']}"),
        target_url=row["target_url"], description=row["description"], type=row["type"],
        content_type=row["content_type"], is_active=row["is_active"],
        enable_ssl=row["enable_ssl"], created_date=row["created_at"],
        updated_date=row["updated_at"], owner=owner, project_id=row["project_id"],
        organization=None, events=list(row["events"] or []),
        last_status=row["last_status"], last_delivery_date=row["last_delivery_date"],
    )  # fmt: skip


def _delivery_read(row: dict[str, Any]) -> WebhookDeliveryRead:
    return WebhookDeliveryRead(
        id=row["id"], webhook_id=row["webhook_id"], event=row["event"],
        status_code=row["status_code"], redelivery=row["redelivery"],
        created_date=row["created_at"], updated_date=row["updated_at"],
        changed_fields=",".join((row["request"] or {}).get("before_update") or {}),
        request=row["request"], response=row["response"],
    )  # fmt: skip


async def _project_facts(req: ApiRequest, project_id: int | None) -> policy.ProjectFacts | None:
    if project_id is None:
        return None
    async with req.container.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT owner_id, assignee_id FROM projects WHERE id = %s", [project_id]
        )
        row = await cur.fetchone()
    if row is None:
        return None
    return policy.ProjectFacts(owner_id=row[0], assignee_id=row[1])


async def _row(req: ApiRequest, webhook_id: int) -> dict[str, Any]:
    """The read-model row, sealed secret included (server side only); 404 when the user
    may not use it."""
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, _WITH_SECRET, webhook_id)
    if row is None:
        raise not_found(f"Webhook {webhook_id} does not exist.")
    facts = policy.ProjectFacts(
        owner_id=row["project_owner_id"], assignee_id=row["project_assignee_id"]
    )
    if not policy.can_webhook(req.principal, row["owner_id"], facts):
        raise not_found(f"Webhook {webhook_id} does not exist.")
    return row


async def _load(req: ApiRequest, webhook_id: int) -> WebhookRead:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, WEBHOOKS, webhook_id)
    if row is None:
        raise not_found(f"Webhook {webhook_id} does not exist.")
    return _read(req, row)


def _fetch_policy(req: ApiRequest) -> FetchPolicy:
    return FetchPolicy.from_settings(req.container.settings)


async def _check_target(req: ApiRequest, url: str) -> None:
    """The URL rules of every remote fetch, checked when the webhook is written (and
    again on each delivery: a name may resolve elsewhere later)."""
    fetch_policy = _fetch_policy(req)
    problem = early_problem(url, fetch_policy)
    if problem is not None:
        raise bad_request("target_url", problem)  # it names the URL
    try:
        await resolve(parse_url(url), fetch_policy, url)
    except FetchError as exc:
        raise bad_request("target_url", str(exc)) from None


def _box(req: ApiRequest) -> Any:
    settings = req.container.settings
    return credentials.fernet(settings.secret_key, settings.data_dir)


def _sealed(req: ApiRequest, secret: str) -> str:
    return credentials.seal(_box(req), Credentials(secret_key=secret)) if secret else ""


def _service(req: ApiRequest) -> WebhookService:
    return WebhookService(req.container.store, req.container.pool)


def _fields(body: WebhookWrite) -> dict[str, Any]:
    return {
        name: getattr(body, name)
        for name in ("target_url", "description", "content_type", "enable_ssl", "is_active",
                     "events")
        if not isinstance(getattr(body, name), UnsetType)
    }  # fmt: skip


# --- CRUD --------------------------------------------------------------------------------


@router.get("/api/webhooks", query=WEBHOOKS.query, response=Paginated[WebhookRead],
            summary="List webhooks")  # fmt: skip
async def list_webhooks(req: ApiRequest) -> Paginated[WebhookRead]:
    page = await list_page(req, WEBHOOKS, policy.visible_webhooks_sql(req.principal))
    return page.paginated([_read(req, row) for row in page.rows])


@router.get("/api/webhooks/events", query=EventsQuery, response=EventsSummary,
            summary="The events a webhook of this type may follow")  # fmt: skip
async def webhook_events(req: ApiRequest) -> EventsSummary:
    query: EventsQuery = req.query
    kind = query.type or "all"
    return EventsSummary(
        webhook_type=kind,
        events=[
            WebhooksEvent(key, EventGroup(key.split(":")[1].capitalize()))
            for key in domain.events_for(kind)
        ],
    )


@router.post("/api/webhooks", body=WebhookWrite, response=WebhookRead, status=201,
             summary="Create a webhook")  # fmt: skip
async def create_webhook(req: ApiRequest) -> WebhookRead:
    user = req.principal
    body: WebhookWrite = req.body
    fields = domain.WebhookFields(owner_id=user.id, type=body.type,
                                  project_id=body.project_id, **_fields(body))  # fmt: skip
    domain.check_fields(fields, body.type if isinstance(body.type, str) else "", creating=True)
    project_id = body.project_id if isinstance(body.project_id, int) else None
    facts = await _project_facts(req, project_id)
    if facts is None:
        raise bad_request("project_id", f"Project {project_id} does not exist.")
    if not policy.can_webhook(user, None, facts):
        raise permission_denied()
    assert isinstance(body.target_url, str)
    await _check_target(req, body.target_url)
    fields = msgspec.structs.replace(
        fields,
        secret=_sealed(req, body.secret if isinstance(body.secret, str) else ""),
        events=body.events if isinstance(body.events, list) else [],
        description=body.description if isinstance(body.description, str) else "",
    )
    webhook_id, position = await _service(req).create(user.id, fields)
    await req.projected(position)
    return await _load(req, webhook_id)


@router.get("/api/webhooks/{id:int}", response=WebhookRead, summary="A webhook")
async def get_webhook(req: ApiRequest) -> WebhookRead:
    await _row(req, req.path["id"])
    return await _load(req, req.path["id"])


async def _update(req: ApiRequest) -> WebhookRead:
    webhook_id: int = req.path["id"]
    row = await _row(req, webhook_id)
    body: WebhookWrite = req.body
    if not isinstance(body.type, UnsetType) and body.type != row["type"]:
        raise bad_request("type", "The type of a webhook cannot change.")
    if not isinstance(body.project_id, UnsetType) and body.project_id != row["project_id"]:
        raise bad_request("project_id", "The project of a webhook cannot change.")
    fields = domain.WebhookFields(**_fields(body))
    domain.check_fields(fields, row["type"], creating=False)
    if isinstance(body.target_url, str):
        await _check_target(req, body.target_url)
    if isinstance(body.secret, str):
        fields = msgspec.structs.replace(fields, secret=_sealed(req, body.secret))
    position = await _service(req).update(req.principal.id, webhook_id, fields)
    await req.projected(position)
    return await _load(req, webhook_id)


@router.patch("/api/webhooks/{id:int}", body=WebhookWrite, response=WebhookRead,
              summary="Change a webhook")  # fmt: skip
async def patch_webhook(req: ApiRequest) -> WebhookRead:
    return await _update(req)


@router.put("/api/webhooks/{id:int}", body=WebhookWrite, response=WebhookRead,
            summary="Replace a webhook")  # fmt: skip
async def put_webhook(req: ApiRequest) -> WebhookRead:
    return await _update(req)


@router.delete("/api/webhooks/{id:int}", status=204, summary="Delete a webhook")
async def delete_webhook(req: ApiRequest) -> None:
    webhook_id: int = req.path["id"]
    await _row(req, webhook_id)
    position = await _service(req).delete(req.principal.id, webhook_id)
    await req.projected(position)


# --- ping and deliveries -----------------------------------------------------------------


async def _ping(req: ApiRequest, row: dict[str, Any], payload: dict[str, Any]) -> int:
    """Send the ping now and record it. Synchronous as CVAT's: the answer is the delivery
    with the receiver's status code (what cvat-sdk's create_ping returns), at most
    delivery.TIMEOUT_S later. The webhook's cursor is not touched."""
    policy_ = delivery.delivery_policy(_fetch_policy(req), row["enable_ssl"])
    secret = delivery.open_secret(_box(req), row["secret"])
    status, response = await delivery.send(row["target_url"], payload, secret, policy_)
    async with req.container.pool.connection() as conn:
        return await delivery.record(
            conn, row["id"], "ping", None, payload, status, response, delivery.utcnow()
        )


async def _delivery_row(req: ApiRequest, webhook_id: int, delivery_id: int) -> dict[str, Any]:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, DELIVERIES, delivery_id)
    if row is None or row["webhook_id"] != webhook_id:
        raise not_found(f"Delivery {delivery_id} of webhook {webhook_id} does not exist.")
    return row


@router.post("/api/webhooks/{id:int}/ping", response=WebhookDeliveryRead,
             summary="Send a ping event to the target now")  # fmt: skip
async def ping_webhook(req: ApiRequest) -> WebhookDeliveryRead:
    row = await _row(req, req.path["id"])
    hook = msgspec.to_builtins(await _load(req, row["id"]))
    async with req.container.pool.connection() as conn:
        sender = await payloads.sender(conn, req, req.principal.id)
    payload = {"event": "ping", "webhook": hook, "sender": sender}
    delivery_id = await _ping(req, row, payload)
    return _delivery_read(await _delivery_row(req, row["id"], delivery_id))


@router.get("/api/webhooks/{id:int}/deliveries", query=DELIVERIES.query,
            response=Paginated[WebhookDeliveryRead],
            summary="The delivery attempts of a webhook, newest first")  # fmt: skip
async def list_deliveries(req: ApiRequest) -> Paginated[WebhookDeliveryRead]:
    row = await _row(req, req.path["id"])
    page = await list_page(
        req, DELIVERIES, sql.SQL("d.webhook_id = {}").format(sql.Literal(row["id"]))
    )
    return page.paginated([_delivery_read(r) for r in page.rows])


@router.get("/api/webhooks/{id:int}/deliveries/{delivery_id:int}",
            response=WebhookDeliveryRead, summary="One delivery attempt")  # fmt: skip
async def get_delivery(req: ApiRequest) -> WebhookDeliveryRead:
    row = await _row(req, req.path["id"])
    return _delivery_read(await _delivery_row(req, row["id"], req.path["delivery_id"]))


@router.post("/api/webhooks/{id:int}/deliveries/{delivery_id:int}/redelivery", status=200,
             summary="Queue a delivery's payload to be sent again")  # fmt: skip
async def redeliver(req: ApiRequest) -> Response:
    row = await _row(req, req.path["id"])
    old = await _delivery_row(req, row["id"], req.path["delivery_id"])
    async with req.container.pool.connection() as conn:
        await delivery.request_redelivery(conn, row["id"], old["event"], dict(old["request"]))
    # As CVAT: queued for the delivery loop, answered at once with 200 and no body.
    return Response(status_code=200)
