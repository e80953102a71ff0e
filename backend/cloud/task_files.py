"""Task data from a cloud storage: the request-time check (the storage exists and the user
may use it) and the worker's download of the chosen objects, as `Received` files that the
builders handle like uploads (frame name = the object key, kind sniffed by content)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.api.errors import ApiError
from backend.cloud import credentials, fetch, providers
from backend.cloud.credentials import CredentialsError
from backend.cloud.port import CloudError
from backend.iam import policy
from backend.media import images
from backend.media.build import Received
from backend.media.images import MediaError
from backend.media.spec import DataParams

if TYPE_CHECKING:
    from backend.bootstrap import Container
    from backend.iam.principal import User

_ROW = (
    "SELECT id, provider_type, resource, owner_id, credentials, specific_attributes"
    " FROM cloud_storages WHERE id = %s"
)


async def _row(container: Container, storage_id: int) -> dict[str, Any] | None:
    async with container.pool.connection() as conn:
        cur = await conn.execute(_ROW, [storage_id])
        found = await cur.fetchone()
    if found is None:
        return None
    keys = ("id", "provider_type", "resource", "owner_id", "credentials", "specific_attributes")
    return dict(zip(keys, found, strict=True))


async def check_request(container: Container, user: User, params: DataParams) -> None:
    """For POST /api/tasks/{id}/data: a 400 naming `cloud_storage_id` unless the storage
    exists and `user` may use it (one the user may not see is reported as missing)."""
    if params.cloud_storage_id is None:
        return
    row = await _row(container, params.cloud_storage_id)
    if row is None or not policy.can_cloud_storage(user, "view", row["owner_id"]):
        raise ApiError(
            400,
            {"cloud_storage_id": [f"Cloud storage {params.cloud_storage_id} does not exist."]},
        )


async def cloud_files(
    container: Container,
    params: DataParams,
    dest: Path,
    progress: Callable[[float], None],
    check: Callable[[], None],
) -> list[Received]:
    """Download what `params.server_files` names in cloud storage `params.cloud_storage_id`
    into `dest`. MediaError naming the storage and the object on any problem."""
    storage_id = params.cloud_storage_id
    assert storage_id is not None
    row = await _row(container, storage_id)
    if row is None:
        raise MediaError(f"cloud_storage_id: cloud storage {storage_id} does not exist")
    settings = container.settings
    limit = settings.max_upload_mb * 2**20

    def download() -> list[Received]:
        box = credentials.fernet(settings.secret_key, settings.data_dir)
        storage = providers.open_storage(
            row["provider_type"], row["resource"], row["specific_attributes"],
            credentials.unseal(box, row["credentials"]), url_allowlist=settings.url_allowlist,
        )  # fmt: skip
        named = set(fetch.Selection.of(params.server_files).files)
        keys = fetch.plan(
            storage, params.server_files, filename_pattern=params.filename_pattern,
            exclude=params.server_files_exclude,
        )  # fmt: skip
        out: list[Received] = []
        for key, path in fetch.fetch(storage, keys, dest, limit, check=check, progress=progress):
            try:
                out.append(Received(key, path, images.sniff(path, key)))
            except MediaError:
                if key in named:
                    raise
                path.unlink(missing_ok=True)  # found under a prefix: not media, skipped
        if not out:
            raise MediaError("No media data found: the chosen cloud files hold no media.")
        return out

    try:
        return await asyncio.to_thread(download)
    except CloudError as exc:
        raise MediaError(f"Cloud storage {storage_id}: {exc.message}") from None
    except CredentialsError as exc:
        raise MediaError(f"Cloud storage {storage_id}: {exc}") from None
