"""Application service for cloud storages (events on `cloudstorage-{id}`). Callers seal the
credentials and check the bucket before they get here."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from backend.domain import cloudstorages as domain
from backend.eventstore.port import EventStore
from backend.services.own_stream import OwnStreamService


class CloudStorageService(OwnStreamService[domain.CloudStorageState, domain.CloudStorageFields]):
    def __init__(self, store: EventStore, pool: AsyncConnectionPool) -> None:
        super().__init__(
            store, pool, prefix="cloudstorage", sequence="cloud_storage_ids",
            new_state=lambda ident: domain.CloudStorageState(cloud_storage_id=ident),
            create=domain.create, update=domain.update, delete=domain.delete,
        )  # fmt: skip
