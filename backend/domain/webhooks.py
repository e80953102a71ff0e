"""Webhooks (stream `webhook-{id}`): their events, the state they fold into and the
decisions that validate a write. The secret arrives already sealed (an opaque token,
`backend.cloud.credentials`), so no event holds it in clear."""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from backend.domain.errors import NotFound, ValidationError
from backend.domain.events import Event, register_events

WebhookType = Literal["project", "organization"]

# CVAT's EventsEnum: create/update/delete of each resource a webhook can follow.
RESOURCES = ("comment", "invitation", "issue", "job", "membership", "organization",
             "project", "task")  # fmt: skip
ALL_EVENTS = tuple(f"{action}:{r}" for r in RESOURCES for action in ("create", "update", "delete"))
# What a project webhook may follow (CVAT: no organization, membership or invitation events).
PROJECT_EVENTS = tuple(
    e for e in ALL_EVENTS if e.split(":")[1] not in ("organization", "membership", "invitation")
)


def events_for(kind: str) -> tuple[str, ...]:
    return PROJECT_EVENTS if kind == "project" else ALL_EVENTS


class WebhookFields(msgspec.Struct, frozen=True, kw_only=True):
    """What a write sets; UNSET = unchanged (in an update). `secret` is a sealed token."""

    type: WebhookType | UnsetType = UNSET
    project_id: int | UnsetType | None = UNSET
    owner_id: int | UnsetType | None = UNSET
    target_url: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    content_type: str | UnsetType = UNSET
    secret: str | UnsetType = UNSET
    enable_ssl: bool | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    events: list[str] | UnsetType = UNSET


class WebhookCreated(Event, frozen=True, kw_only=True, tag="WebhookCreated"):
    webhook_id: int
    fields: WebhookFields


class WebhookUpdated(Event, frozen=True, kw_only=True, tag="WebhookUpdated"):
    webhook_id: int
    fields: WebhookFields


class WebhookDeleted(Event, frozen=True, kw_only=True, tag="WebhookDeleted"):
    webhook_id: int


register_events(WebhookCreated, WebhookUpdated, WebhookDeleted)


class WebhookState(msgspec.Struct, kw_only=True):
    webhook_id: int = 0
    exists: bool = False
    deleted: bool = False
    type: str = ""
    revision: int = -1

    def apply(self, event: Event) -> None:
        if isinstance(event, WebhookCreated):
            self.webhook_id, self.exists = event.webhook_id, True
            if isinstance(event.fields.type, str):
                self.type = event.fields.type
        elif isinstance(event, WebhookDeleted):
            self.deleted = True
        self.revision += 1


_MAX = {"target_url": 8192, "description": 128}


def check_fields(fields: WebhookFields, kind: str, *, creating: bool) -> None:
    """Validation that needs nothing but the fields (the caller checks the target URL)."""
    if creating:
        for name in ("type", "target_url"):
            if isinstance(getattr(fields, name), UnsetType):
                raise ValidationError("This field is required.", name)
    if creating and kind == "organization":
        raise ValidationError(
            "Organization webhooks are not supported: Vellum has no organizations.", "type"
        )
    if creating and kind == "project" and not isinstance(fields.project_id, int):
        raise ValidationError("A project webhook needs a project.", "project_id")
    for name in ("target_url", "description"):
        value = getattr(fields, name)
        if isinstance(value, str):
            if "\x00" in value:
                raise ValidationError("This field may not contain NUL characters.", name)
            if len(value) > _MAX[name]:
                raise ValidationError(
                    f"Ensure this field has no more than {_MAX[name]} characters.", name
                )
    if isinstance(fields.content_type, str) and fields.content_type != "application/json":
        raise ValidationError(f'"{fields.content_type}" is not a valid choice.', "content_type")
    if isinstance(fields.events, list):
        allowed = events_for(kind)
        for name in fields.events:
            if name not in allowed:
                raise ValidationError(f"Event '{name}' is not available for a {kind} webhook.",
                                      "events")  # fmt: skip
        if len(set(fields.events)) != len(fields.events):
            raise ValidationError("An event is listed twice.", "events")


def create(webhook_id: int, fields: WebhookFields) -> WebhookCreated:
    kind = fields.type if isinstance(fields.type, str) else ""
    check_fields(fields, kind, creating=True)
    return WebhookCreated(webhook_id=webhook_id, fields=fields)


def update(state: WebhookState, fields: WebhookFields) -> WebhookUpdated:
    _require(state)
    if not isinstance(fields.type, UnsetType) and fields.type != state.type:
        raise ValidationError("The type of a webhook cannot change.", "type")
    if not isinstance(fields.project_id, UnsetType):
        raise ValidationError("The project of a webhook cannot change.", "project_id")
    check_fields(fields, state.type, creating=False)
    return WebhookUpdated(webhook_id=state.webhook_id, fields=fields)


def delete(state: WebhookState) -> WebhookDeleted:
    _require(state)
    return WebhookDeleted(webhook_id=state.webhook_id)


def _require(state: WebhookState) -> None:
    if not state.exists or state.deleted:
        raise NotFound(f"webhook {state.webhook_id} does not exist")
