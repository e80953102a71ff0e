"""Cloud storages (stream `cloudstorage-{id}`): their events, the state they fold into,
and the decisions that validate a write. Pure: the credentials arrive already sealed
(an opaque token, `backend.cloud.credentials`), so no event ever holds them in clear, and
whether the bucket answers is checked by the caller before deciding."""

from __future__ import annotations

import string
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from backend.domain.errors import NotFound, ValidationError
from backend.domain.events import Event, register_events

ProviderType = Literal["AWS_S3_BUCKET", "AZURE_CONTAINER", "GOOGLE_CLOUD_STORAGE"]
CredentialsType = Literal[
    "KEY_SECRET_KEY_PAIR",
    "ACCOUNT_NAME_TOKEN_PAIR",
    "KEY_FILE_PATH",
    "ANONYMOUS_ACCESS",
    "CONNECTION_STRING",
]


class CloudStorageFields(msgspec.Struct, frozen=True, kw_only=True):
    """What a write sets; UNSET = unchanged (in an update). `credentials` is the sealed
    token of the secret values."""

    provider_type: ProviderType | UnsetType = UNSET
    resource: str | UnsetType = UNSET
    display_name: str | UnsetType = UNSET
    owner_id: int | UnsetType | None = UNSET
    credentials_type: CredentialsType | UnsetType = UNSET
    credentials: str | UnsetType = UNSET
    specific_attributes: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    manifests: list[str] | UnsetType = UNSET


class CloudStorageCreated(Event, frozen=True, kw_only=True, tag="CloudStorageCreated"):
    cloud_storage_id: int
    fields: CloudStorageFields


class CloudStorageUpdated(Event, frozen=True, kw_only=True, tag="CloudStorageUpdated"):
    cloud_storage_id: int
    fields: CloudStorageFields


class CloudStorageDeleted(Event, frozen=True, kw_only=True, tag="CloudStorageDeleted"):
    cloud_storage_id: int


register_events(CloudStorageCreated, CloudStorageUpdated, CloudStorageDeleted)


class CloudStorageState(msgspec.Struct, kw_only=True):
    cloud_storage_id: int = 0
    exists: bool = False
    deleted: bool = False
    provider_type: str = ""
    revision: int = -1

    def apply(self, event: Event) -> None:
        if isinstance(event, CloudStorageCreated):
            self.cloud_storage_id, self.exists = event.cloud_storage_id, True
            if isinstance(event.fields.provider_type, str):
                self.provider_type = event.fields.provider_type
        elif isinstance(event, CloudStorageDeleted):
            self.deleted = True
        self.revision += 1


# CVAT's basic naming rule for buckets and containers.
_RESOURCE_CHARS = {
    "AWS_S3_BUCKET": set(string.ascii_lowercase + string.digits + "-."),
    "AZURE_CONTAINER": set(string.ascii_lowercase + string.digits + "-"),
    "GOOGLE_CLOUD_STORAGE": set(string.ascii_lowercase + string.digits + "-_."),
}
_MAX = {"display_name": 63, "resource": 222, "description": 2048, "specific_attributes": 1024}


def _check_text(name: str, value: str | UnsetType, required: bool) -> None:
    if isinstance(value, UnsetType):
        if required:
            raise ValidationError("This field is required.", name)
        return
    if "\x00" in value:  # Postgres text cannot hold it: refused before an event exists
        raise ValidationError("This field may not contain NUL characters.", name)
    if name in ("display_name", "resource") and not value.strip():
        raise ValidationError("This field may not be blank.", name)
    if len(value) > _MAX[name]:
        raise ValidationError(f"Ensure this field has no more than {_MAX[name]} characters.", name)


def _check_manifests(manifests: list[str] | UnsetType) -> None:
    if isinstance(manifests, UnsetType):
        return
    for name in manifests:
        if (
            "\x00" in name
            or not name.endswith(".jsonl")
            or name.startswith("/")
            or ".." in name.split("/")
        ):
            raise ValidationError(
                f"'{name}': a manifest is a .jsonl file named relative to the bucket root.",
                "manifests",
            )
    if len(set(manifests)) != len(manifests):
        raise ValidationError("A manifest is listed twice.", "manifests")


def check_fields(fields: CloudStorageFields, provider: str, *, creating: bool) -> None:
    """Validation that needs nothing but the fields (the caller checks the bucket)."""
    for name in ("provider_type", "credentials_type"):
        if creating and isinstance(getattr(fields, name), UnsetType):
            raise ValidationError("This field is required.", name)
    for name in ("display_name", "resource", "description", "specific_attributes"):
        _check_text(name, getattr(fields, name), creating and name in ("display_name", "resource"))
    if isinstance(fields.resource, str):
        wrong = set(fields.resource) - _RESOURCE_CHARS.get(provider, set())
        if wrong:
            raise ValidationError(
                f"Invalid characters ({','.join(sorted(wrong))}) were found.", "resource"
            )
    _check_manifests(fields.manifests)


def create(cloud_storage_id: int, fields: CloudStorageFields) -> CloudStorageCreated:
    provider = fields.provider_type if isinstance(fields.provider_type, str) else ""
    check_fields(fields, provider, creating=True)
    return CloudStorageCreated(cloud_storage_id=cloud_storage_id, fields=fields)


def update(state: CloudStorageState, fields: CloudStorageFields) -> CloudStorageUpdated:
    _require(state)
    if not isinstance(fields.provider_type, UnsetType) and fields.provider_type != (
        state.provider_type
    ):
        raise ValidationError("The provider of a cloud storage cannot change.", "provider_type")
    check_fields(fields, state.provider_type, creating=False)
    return CloudStorageUpdated(cloud_storage_id=state.cloud_storage_id, fields=fields)


def delete(state: CloudStorageState) -> CloudStorageDeleted:
    _require(state)
    return CloudStorageDeleted(cloud_storage_id=state.cloud_storage_id)


def _require(state: CloudStorageState) -> None:
    if not state.exists or state.deleted:
        raise NotFound(f"cloud storage {state.cloud_storage_id} does not exist")
