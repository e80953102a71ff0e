"""Application service for webhooks (events on `webhook-{id}`). Callers seal the secret and
check the target URL before they get here."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from backend.domain import webhooks as domain
from backend.eventstore.port import EventStore
from backend.services.own_stream import OwnStreamService


class WebhookService(OwnStreamService[domain.WebhookState, domain.WebhookFields]):
    def __init__(self, store: EventStore, pool: AsyncConnectionPool) -> None:
        super().__init__(
            store, pool, prefix="webhook", sequence="webhook_ids",
            new_state=lambda ident: domain.WebhookState(webhook_id=ident),
            create=domain.create, update=domain.update, delete=domain.delete,
        )  # fmt: skip
