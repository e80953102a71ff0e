"""/api/cloudstorages: CVAT's cloud storage CRUD, status, content listing, preview and
allowed actions, served from the `cloud_storages` read model.

Credentials (key, secret_key, session_token, account_name, connection_string) are
write-only: they are sealed (backend/cloud/credentials.py) before an event is decided,
and no response carries them. Writing a storage checks that its bucket answers, as
CVAT does, and a problem is a 400 naming the field."""

from __future__ import annotations

import asyncio
import io
import warnings
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType
from PIL import Image, UnidentifiedImageError
from starlette.responses import Response

from backend.api.errors import ApiError, bad_request, not_found, permission_denied
from backend.api.lists import Field, Paginated, Resource, fetch_row, list_page
from backend.api.representations import UserSummary, user_columns, user_summary
from backend.api.routing import ApiRequest, ApiRouter
from backend.cloud import content, credentials, providers
from backend.cloud.credentials import Credentials, CredentialsError
from backend.cloud.port import CloudError, CloudStorage, Status
from backend.domain import cloudstorages as domain
from backend.iam import policy
from backend.media import images
from backend.services.cloudstorages import CloudStorageService

router = ApiRouter("cloudstorages")

_SELECT = (
    "c.id, c.provider_type, c.resource, c.display_name, c.owner_id, c.credentials_type,"
    " c.specific_attributes, c.description, c.manifests, c.created_at, c.updated_at, "
    + user_columns("ou", "owner")
)
CLOUD_STORAGES = Resource(
    name="cloudstorages",
    source="cloud_storages c LEFT JOIN users ou ON ou.id = c.owner_id",
    select=_SELECT,  # never the credentials column
    fields={
        "id": Field("c.id", "int"),
        "provider_type": Field("c.provider_type"),
        "name": Field("c.display_name"),
        "resource": Field("c.resource"),
        "credentials_type": Field("c.credentials_type"),
        "owner": Field("ou.username"),
        "description": Field("c.description"),
        "updated_date": Field("c.updated_at", "datetime"),
    },
    search=("provider_type", "name", "resource", "credentials_type", "owner", "description"),
    simple_filters=("provider_type", "name", "resource", "credentials_type", "owner"),
)
PREVIEW_MAX_BYTES = 64 * 2**20
_PREVIEW_SCAN = 1000  # objects looked at for a first image when there is no manifest
_SECRET_FIELDS = ("key", "secret_key", "session_token", "account_name", "connection_string")
_S3_CREDENTIALS = ("KEY_SECRET_KEY_PAIR", "ANONYMOUS_ACCESS")

Secret = Annotated[str, msgspec.Meta(max_length=1024, extra_json_schema={"writeOnly": True})]


class CloudStorageWrite(msgspec.Struct, kw_only=True):
    """CloudStorageWriteRequest / PatchedCloudStorageWriteRequest (left out = unchanged)."""

    provider_type: domain.ProviderType | UnsetType = UNSET
    resource: str | UnsetType = UNSET
    display_name: str | UnsetType = UNSET
    credentials_type: domain.CredentialsType | UnsetType = UNSET
    owner: dict[str, Any] | UnsetType | None = UNSET  # read-only in CVAT: ignored
    key: Secret | UnsetType = UNSET
    secret_key: Secret | UnsetType = UNSET
    session_token: Secret | UnsetType = UNSET
    account_name: Secret | UnsetType = UNSET
    connection_string: Secret | UnsetType = UNSET
    key_file: str | UnsetType | None = UNSET  # Google Cloud only (not supported)
    specific_attributes: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    manifests: list[str] | UnsetType = UNSET


class CloudStorageRead(msgspec.Struct, frozen=True):
    id: int
    owner: UserSummary | None
    manifests: list[str]
    provider_type: str
    resource: str
    display_name: str
    created_date: datetime
    updated_date: datetime
    credentials_type: str
    specific_attributes: str
    description: str
    organization: int | None


class FileInfo(msgspec.Struct, frozen=True):
    name: str
    type: str
    mime_type: str


class CloudStorageContent(msgspec.Struct, frozen=True):
    content: list[FileInfo]
    next: str | None


class ContentQuery(msgspec.Struct, kw_only=True):
    prefix: str = ""
    next_token: str | None = None
    page_size: Annotated[int, msgspec.Meta(ge=1)] = content.MAX_PAGE_SIZE
    manifest_path: str | None = None


# --- helpers -----------------------------------------------------------------------------


def _read(req: ApiRequest, row: dict[str, Any]) -> CloudStorageRead:
    owner = user_summary(req, row, "owner")
    return CloudStorageRead(
        id=row["id"], owner=owner, manifests=list(row["manifests"] or []),
        provider_type=row["provider_type"], resource=row["resource"],
        display_name=row["display_name"], created_date=row["created_at"],
        updated_date=row["updated_at"], credentials_type=row["credentials_type"],
        specific_attributes=row["specific_attributes"], description=row["description"],
        organization=None,
    )  # fmt: skip


async def _row(req: ApiRequest, storage_id: int, action: str = "view") -> dict[str, Any]:
    """The read-model row, credentials included (server side only); 404 when the user
    may not see it, 403 when not `action`."""
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, _WITH_SECRETS, storage_id)
    if row is None or not policy.can_cloud_storage(req.principal, "view", row["owner_id"]):
        raise not_found(f"Cloud storage {storage_id} does not exist.")
    if not policy.can_cloud_storage(req.principal, action, row["owner_id"]):
        raise permission_denied()
    return row


_WITH_SECRETS = Resource(
    name="cloudstorages_with_secrets",
    source=CLOUD_STORAGES.source,
    select=_SELECT + ", c.credentials",
    fields={"id": Field("c.id", "int")},
)


def _box(req: ApiRequest) -> Any:
    settings = req.container.settings
    return credentials.fernet(settings.secret_key, settings.data_dir)


def _open(req: ApiRequest, row: dict[str, Any]) -> CloudStorage:
    """The adapter for a stored row (runs in a thread: it may resolve the endpoint)."""
    try:
        secret = credentials.unseal(_box(req), row["credentials"])
    except CredentialsError as exc:
        raise ApiError(400, {"credentials": [str(exc)]}) from None
    return providers.open_storage(
        row["provider_type"], row["resource"], row["specific_attributes"], secret,
        url_allowlist=req.container.settings.url_allowlist,
    )  # fmt: skip


def _cloud_error(exc: CloudError, field: str | None = None) -> ApiError:
    """CVAT's answers: a bucket or file that is gone is a 404, one that refuses us a 403,
    anything else a 400; on writes always a 400 naming the field."""
    if field is not None:
        return ApiError(400, {field: [exc.message]})
    status = {"not_found": 404, "forbidden": 403}.get(exc.kind, 400)
    return ApiError(status, exc.message)


async def _in_thread(func: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(func, *args)
    except CloudError as exc:
        raise _cloud_error(exc) from None


def _secrets(body: CloudStorageWrite, previous: Credentials | None, kind: str) -> Credentials:
    """The credentials after this write (CVAT's mapping_with_new_values): the values the
    type uses, from the body or else kept from before; the others cleared."""
    old = previous or Credentials()

    def pick(name: str) -> str:
        value = getattr(body, name)
        return getattr(old, name) if isinstance(value, UnsetType) else str(value)

    if kind == "ANONYMOUS_ACCESS":
        return Credentials(account_name=pick("account_name"))
    if kind == "KEY_SECRET_KEY_PAIR":
        made = Credentials(key=pick("key"), secret_key=pick("secret_key"),
                           session_token=pick("session_token"))  # fmt: skip
        for name in ("key", "secret_key"):
            if not getattr(made, name):
                raise bad_request(name, f"This field is required for {kind} credentials.")
        return made
    raise bad_request(
        "credentials_type", f"{kind} credentials are not supported for this provider."
    )


def _check_provider(provider: str, kind: str) -> None:
    if provider not in providers.SUPPORTED:
        raise bad_request(
            "provider_type",
            f"{provider} cloud storages are not supported yet; only AWS_S3_BUCKET (AWS S3 "
            "and S3-compatible endpoints such as MinIO) is.",
        )
    if kind not in _S3_CREDENTIALS:
        raise bad_request("credentials_type", f"{kind} credentials cannot be used with {provider}.")


def _verify(storage: CloudStorage, manifests: list[str]) -> None:
    """CVAT's check before keeping a storage: the bucket answers, every manifest exists.
    Raises ApiError 400 naming the field (runs in a thread)."""
    status, why = storage.probe()
    if status == Status.FORBIDDEN:
        raise bad_request("credentials", why)
    if status != Status.AVAILABLE:
        raise bad_request("resource", why)
    for name in manifests:
        found = storage.file_status(name)
        if found == Status.NOT_FOUND:
            raise bad_request("manifests", f"The '{name}' file does not exist on '{storage.name}'.")
        if found == Status.FORBIDDEN:
            raise bad_request("manifests", f"Access to '{name}' on '{storage.name}' is denied.")


def _reachable(
    req: ApiRequest, provider: str, resource: str, attributes: str, secret: Credentials
) -> CloudStorage:
    try:
        return providers.open_storage(
            provider, resource, attributes, secret,
            url_allowlist=req.container.settings.url_allowlist,
        )  # fmt: skip
    except CloudError as exc:
        raise _cloud_error(exc, "specific_attributes") from None


async def _load(req: ApiRequest, storage_id: int) -> CloudStorageRead:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, CLOUD_STORAGES, storage_id)
    if row is None:
        raise not_found(f"Cloud storage {storage_id} does not exist.")
    return _read(req, row)


def _service(req: ApiRequest) -> CloudStorageService:
    return CloudStorageService(req.container.store, req.container.pool)


def _text_fields(body: CloudStorageWrite) -> dict[str, Any]:
    return {
        name: getattr(body, name)
        for name in ("resource", "display_name", "specific_attributes", "description",
                     "manifests", "credentials_type")
        if not isinstance(getattr(body, name), UnsetType)
    }  # fmt: skip


def _check_attributes(text: str | UnsetType) -> None:
    if isinstance(text, str):
        problem = providers.attribute_problems(text)
        if problem:
            raise bad_request("specific_attributes", problem)


# --- CRUD --------------------------------------------------------------------------------


@router.get("/api/cloudstorages", query=CLOUD_STORAGES.query,
            response=Paginated[CloudStorageRead], summary="List cloud storages")  # fmt: skip
async def list_cloud_storages(req: ApiRequest) -> Paginated[CloudStorageRead]:
    page = await list_page(
        req, CLOUD_STORAGES, policy.visible_cloud_storages_sql(req.principal, "c")
    )
    return page.paginated([_read(req, row) for row in page.rows])


@router.post("/api/cloudstorages", body=CloudStorageWrite, response=CloudStorageRead, status=201,
             summary="Attach a cloud storage (its bucket must answer)")  # fmt: skip
async def create_cloud_storage(req: ApiRequest) -> CloudStorageRead:
    user = req.principal
    if not policy.can_create_cloud_storage(user):
        raise permission_denied()
    body: CloudStorageWrite = req.body
    fields = domain.CloudStorageFields(owner_id=user.id, **_text_fields(body),
                                       provider_type=body.provider_type)  # fmt: skip
    provider = body.provider_type if isinstance(body.provider_type, str) else ""
    domain.check_fields(fields, provider, creating=True)
    assert isinstance(body.credentials_type, str) and isinstance(body.resource, str)
    _check_provider(provider, body.credentials_type)
    _check_attributes(body.specific_attributes)
    secret = _secrets(body, None, body.credentials_type)
    attributes = body.specific_attributes if isinstance(body.specific_attributes, str) else ""
    manifests = body.manifests if isinstance(body.manifests, list) else []

    def verify() -> None:
        _verify(_reachable(req, provider, str(body.resource), attributes, secret), manifests)

    await asyncio.to_thread(verify)
    sealed = credentials.seal(_box(req), secret)
    description = body.description if isinstance(body.description, str) else ""
    fields = msgspec.structs.replace(fields, credentials=sealed, specific_attributes=attributes,
                                     description=description, manifests=manifests)  # fmt: skip
    storage_id, position = await _service(req).create(user.id, fields)
    await req.projected(position)
    return await _load(req, storage_id)


@router.get("/api/cloudstorages/{id:int}", response=CloudStorageRead, summary="A cloud storage")
async def get_cloud_storage(req: ApiRequest) -> CloudStorageRead:
    await _row(req, req.path["id"])
    return await _load(req, req.path["id"])


@router.patch("/api/cloudstorages/{id:int}", body=CloudStorageWrite, response=CloudStorageRead,
              summary="Change a cloud storage (its bucket must still answer)")  # fmt: skip
async def update_cloud_storage(req: ApiRequest) -> CloudStorageRead:
    storage_id: int = req.path["id"]
    row = await _row(req, storage_id, "update")
    body: CloudStorageWrite = req.body
    fields = domain.CloudStorageFields(**_text_fields(body), provider_type=body.provider_type)
    provider = row["provider_type"]
    domain.check_fields(fields, provider, creating=False)
    if not isinstance(body.provider_type, UnsetType) and body.provider_type != provider:
        raise bad_request("provider_type", "The provider of a cloud storage cannot change.")
    kind = (
        body.credentials_type
        if isinstance(body.credentials_type, str)
        else (row["credentials_type"])
    )
    _check_provider(provider, kind)
    _check_attributes(body.specific_attributes)
    box = _box(req)
    touches_secrets = not isinstance(body.credentials_type, UnsetType) or any(
        not isinstance(getattr(body, name), UnsetType) for name in _SECRET_FIELDS
    )
    try:
        previous = credentials.unseal(box, row["credentials"])
    except CredentialsError as exc:
        if not touches_secrets:
            raise bad_request("credentials", str(exc)) from None
        previous = None  # being replaced: the unreadable old values do not matter
    secret = _secrets(body, previous, kind) if touches_secrets else previous
    assert secret is not None
    resource = body.resource if isinstance(body.resource, str) else row["resource"]
    attributes = (body.specific_attributes if isinstance(body.specific_attributes, str)
                  else row["specific_attributes"])  # fmt: skip
    known = set(row["manifests"] or [])
    added = (
        [m for m in body.manifests if m not in known] if isinstance(body.manifests, list) else []
    )

    def verify() -> None:
        _verify(_reachable(req, provider, resource, attributes, secret), added)

    await asyncio.to_thread(verify)
    # Sealed again even when unchanged: with the current key (see credentials.fernet).
    fields = msgspec.structs.replace(fields, credentials=credentials.seal(box, secret))
    position = await _service(req).update(req.principal.id, storage_id, fields)
    await req.projected(position)
    return await _load(req, storage_id)


@router.delete("/api/cloudstorages/{id:int}", status=204, summary="Detach a cloud storage")
async def delete_cloud_storage(req: ApiRequest) -> None:
    storage_id: int = req.path["id"]
    await _row(req, storage_id, "delete")
    position = await _service(req).delete(req.principal.id, storage_id)
    await req.projected(position)


# --- the bucket --------------------------------------------------------------------------


@router.get("/api/cloudstorages/{id:int}/status", response=str,
            summary="The bucket's status: AVAILABLE, NOT_FOUND or FORBIDDEN")  # fmt: skip
async def cloud_storage_status(req: ApiRequest) -> Response:
    row = await _row(req, req.path["id"])

    def status() -> str:
        try:
            return str(_open(req, row).status())
        except CloudError as exc:
            return str(Status.FORBIDDEN if exc.kind == "forbidden" else Status.NOT_FOUND)

    value = await asyncio.to_thread(status)
    return Response(msgspec.json.encode(value), media_type="application/json")


@router.get("/api/cloudstorages/{id:int}/actions", response=list[str],
            summary="What the credentials allow on the bucket (read, write)")  # fmt: skip
async def cloud_storage_actions(req: ApiRequest) -> list[str]:
    row = await _row(req, req.path["id"])
    result: list[str] = await _in_thread(lambda: _open(req, row).actions())
    return result


def _storage_prefix(row: dict[str, Any]) -> str:
    return providers.parse_attributes(row["specific_attributes"]).get("prefix", "")


def _manifest_page(
    storage: CloudStorage, path: str, query: ContentQuery, page_size: int, prefix: str
) -> content.Page:
    from backend.cloud.fetch import manifest_keys

    try:
        start = int(query.next_token or "0")
    except ValueError:
        raise CloudError("invalid", "The next_token parameter is not valid.") from None
    return content.manifest_page(manifest_keys(storage, path), query.prefix.lstrip("/"),
                                 max(start, 0), page_size, prefix)  # fmt: skip


@router.get("/api/cloudstorages/{id:int}/content-v2", query=ContentQuery,
            response=CloudStorageContent,
            summary="One level of the bucket (or of a manifest) under a prefix")  # fmt: skip
async def cloud_storage_content(req: ApiRequest) -> CloudStorageContent:
    row = await _row(req, req.path["id"])
    query: ContentQuery = req.query
    page_size = min(query.page_size, content.MAX_PAGE_SIZE)
    prefix = _storage_prefix(row)
    if query.manifest_path is not None and query.manifest_path not in (row["manifests"] or []):
        raise bad_request(
            "manifest_path", f"'{query.manifest_path}' is not a manifest of this storage."
        )

    def listing() -> content.Page:
        storage = _open(req, row)
        if query.manifest_path:
            return _manifest_page(storage, query.manifest_path, query, page_size, prefix)
        return content.bucket_page(storage, query.prefix.lstrip("/"), query.next_token,
                                   page_size, prefix)  # fmt: skip

    page: content.Page = await _in_thread(listing)
    return CloudStorageContent(
        content=[FileInfo(e.name, e.type, e.mime_type) for e in page.content], next=page.next
    )


def _first_image_key(storage: CloudStorage, row: dict[str, Any]) -> str | None:
    from backend.cloud.fetch import manifest_keys

    for manifest in row["manifests"] or []:
        for key in manifest_keys(storage, manifest):
            if content.mime_kind(key) == "image":
                return key
    prefix = _storage_prefix(row)
    token = None
    seen = 0
    pending = [prefix]
    while pending and seen < _PREVIEW_SCAN:  # breadth first: top-level images win
        listing = storage.list_page(pending[0], token, content.MAX_PAGE_SIZE)
        seen += len(listing.files) + len(listing.prefixes)
        for key in sorted(listing.files):
            if content.mime_kind(key) == "image":
                return key
        if listing.next_token:
            token = listing.next_token
            continue
        pending = pending[1:] + listing.prefixes
        token = None
    return None


@router.get("/api/cloudstorages/{id:int}/preview",
            summary="A JPEG preview: the first image of the manifest, else of the bucket",
            extra_responses={200: "image/jpeg"})  # fmt: skip
async def cloud_storage_preview(req: ApiRequest) -> Response:
    row = await _row(req, req.path["id"])

    def preview() -> bytes:
        storage = _open(req, row)
        key = _first_image_key(storage, row)
        if key is None:
            raise CloudError("not_found", f"No image was found on '{storage.name}' for a preview.")
        data = storage.read(key, PREVIEW_MAX_BYTES)
        try:
            with warnings.catch_warnings():  # a decompression bomb is refused, not decoded
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    image.draft("RGB", images.PREVIEW_SIZE)  # JPEG: decode at a reduced size
                    image.load()
                    return images.preview_jpeg(image)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
                Image.DecompressionBombError, Image.DecompressionBombWarning):  # fmt: skip
            raise CloudError("invalid", f"'{key}' cannot be decoded as an image.") from None

    jpeg: bytes = await _in_thread(preview)
    return Response(jpeg, media_type="image/jpeg")
