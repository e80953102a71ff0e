"""A cloud storage as the target of an export or the source of an import
(location=cloud_storage): check that the user may use it before queueing, write the
finished archive into its bucket, or fetch the file to import from it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.api.errors import ApiError
from backend.cloud import credentials, providers
from backend.cloud.credentials import CredentialsError
from backend.cloud.port import CloudError, CloudStorage
from backend.iam import policy

if TYPE_CHECKING:
    from backend.bootstrap import Container
    from backend.iam.principal import User

_ROW = (
    "SELECT provider_type, resource, owner_id, credentials, specific_attributes"
    " FROM cloud_storages WHERE id = %s"
)


class ExportTargetError(Exception):
    """The archive could not be written to the bucket, or the file to import could not be
    read from it (the message names storage and key)."""


async def _row(container: Container, storage_id: int) -> tuple[Any, ...] | None:
    async with container.pool.connection() as conn:
        cur = await conn.execute(_ROW, [storage_id])
        row: tuple[Any, ...] | None = await cur.fetchone()
        return row


async def check(container: Container, user: User, storage_id: int | None) -> int:
    """The storage id, or a 400 naming `cloud_storage_id` (missing, or one the user may
    not use: reported as missing, as for task data)."""
    if storage_id is None:
        raise ApiError(400, {"cloud_storage_id": ["Required with location=cloud_storage."]})
    row = None if not 0 < storage_id < 2**63 else await _row(container, storage_id)
    if row is None or not policy.can_cloud_storage(user, "view", row[2]):
        raise ApiError(400, {"cloud_storage_id": [f"Cloud storage {storage_id} does not exist."]})
    return storage_id


async def _run(container: Container, storage_id: int, work: Callable[[CloudStorage], None]) -> None:
    row = await _row(container, storage_id)
    if row is None:
        raise ExportTargetError(f"Cloud storage {storage_id} does not exist any more.")
    provider_type, resource, _, sealed, attributes = row
    settings = container.settings

    def run() -> None:
        box = credentials.fernet(settings.secret_key, settings.data_dir)
        storage = providers.open_storage(
            provider_type, resource, attributes, credentials.unseal(box, sealed),
            url_allowlist=settings.url_allowlist,
        )  # fmt: skip
        work(storage)

    try:
        await asyncio.to_thread(run)
    except CloudError as exc:
        raise ExportTargetError(f"Cloud storage {storage_id}: {exc.message}") from None
    except CredentialsError as exc:
        raise ExportTargetError(f"Cloud storage {storage_id}: {exc}") from None


async def upload(container: Container, storage_id: int, key: str, source: Path) -> None:
    await _run(container, storage_id, lambda storage: storage.upload(key, source))


async def download(
    container: Container, storage_id: int, key: str, target: Path, check: Callable[[], None]
) -> None:
    """The object `key` into the file `target` (at most the upload limit)."""
    limit = container.settings.max_upload_mb * 2**20

    def get(storage: CloudStorage) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        storage.download(key, target, limit, check=check, progress=lambda _: None)

    await _run(container, storage_id, get)
