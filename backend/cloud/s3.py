"""AWS S3 and any S3-compatible endpoint (MinIO, Ceph, moto...) through boto3.

`specific_attributes` as CVAT keeps them (`region=eu-central-1&endpoint_url=http://...&
prefix=images/`). No credentials (ANONYMOUS_ACCESS) means unsigned requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backend.cloud.credentials import Credentials
from backend.cloud.port import Check, CloudError, Listing, Progress, Status

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_CHUNK = 1 << 20
# Short timeouts and few retries: a wrong endpoint must fail a request, not hang it.
_CONFIG = {"connect_timeout": 5, "read_timeout": 30, "retries": {"max_attempts": 2},
           "max_pool_connections": 16}  # fmt: skip
_FORBIDDEN_CODES = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                    "AllAccessDisabled", "ExpiredToken", "InvalidToken"}  # fmt: skip


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Storage:
    def __init__(
        self,
        bucket: str,
        credentials: Credentials,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.name = bucket
        signed = bool(credentials.key or credentials.secret_key or credentials.session_token)
        if signed and not (credentials.key and credentials.secret_key):
            raise CloudError("invalid", "Both key and secret_key are needed for this bucket.")
        config = Config(**_CONFIG, **({} if signed else {"signature_version": UNSIGNED}))  # type: ignore[arg-type]
        session = boto3.session.Session(
            aws_access_key_id=credentials.key or None,
            aws_secret_access_key=credentials.secret_key or None,
            aws_session_token=credentials.session_token or None,
            region_name=region or None,
        )
        try:
            self._client: S3Client = session.client("s3", endpoint_url=endpoint_url or None,
                                                    config=config)  # fmt: skip
        except (ValueError, BotoCoreError) as exc:
            raise CloudError("invalid", f"Cannot use the endpoint: {exc}") from None

    # -- status ----------------------------------------------------------------------------

    def probe(self) -> tuple[Status, str]:
        """The bucket's status and, when it is not available, why (for a 400 message)."""
        try:
            self._client.head_bucket(Bucket=self.name)
        except ClientError as exc:
            if _code(exc) in _FORBIDDEN_CODES:
                return Status.FORBIDDEN, f"Access to the bucket '{self.name}' is forbidden."
            return Status.NOT_FOUND, f"The bucket '{self.name}' does not exist."
        except (BotoCoreError, ValueError) as exc:
            return Status.NOT_FOUND, f"The bucket '{self.name}' cannot be reached: {exc}"
        return Status.AVAILABLE, ""

    def status(self) -> Status:
        return self.probe()[0]

    def file_status(self, key: str) -> Status:
        try:
            self._client.head_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            return Status.FORBIDDEN if _code(exc) in _FORBIDDEN_CODES else Status.NOT_FOUND
        except (BotoCoreError, ValueError):
            return Status.NOT_FOUND
        return Status.AVAILABLE

    # -- listing ---------------------------------------------------------------------------

    def list_page(self, prefix: str, next_token: str | None, page_size: int) -> Listing:
        args: dict[str, Any] = {"Bucket": self.name, "MaxKeys": page_size, "Delimiter": "/"}
        if prefix:
            args["Prefix"] = prefix
        if next_token:
            args["ContinuationToken"] = next_token
        try:
            page = self._client.list_objects_v2(**args)
        except ClientError as exc:
            if _code(exc) == "InvalidArgument" and next_token:
                raise CloudError("invalid", "The next_token is not valid.") from None
            raise self._bucket_error(exc) from None
        except (BotoCoreError, ValueError) as exc:
            raise CloudError(
                "unreachable", f"The bucket '{self.name}' cannot be reached: {exc}"
            ) from None
        return Listing(
            files=[o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/")],
            prefixes=[p["Prefix"] for p in page.get("CommonPrefixes", [])],
            next_token=page.get("NextContinuationToken") or None,
        )

    def list_all(self, prefix: str, limit: int) -> list[str]:
        """Every object key under `prefix` (no delimiter: the whole subtree), sorted; at
        most `limit` of them, else CloudError too_large."""
        keys: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
                keys.extend(
                    o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/")
                )
                if len(keys) > limit:
                    raise CloudError("too_large", f"'{prefix}' holds more than {limit} files.")
        except ClientError as exc:
            raise self._bucket_error(exc) from None
        except (BotoCoreError, ValueError) as exc:
            raise CloudError(
                "unreachable", f"The bucket '{self.name}' cannot be reached: {exc}"
            ) from None
        return sorted(keys)

    # -- objects ---------------------------------------------------------------------------

    def size(self, key: str) -> int:
        try:
            head = self._client.head_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            raise self._object_error(exc, key) from None
        except (BotoCoreError, ValueError) as exc:
            raise CloudError("unreachable", f"{key}: the bucket cannot be reached: {exc}") from None
        return int(head.get("ContentLength", 0))

    def read(self, key: str, max_bytes: int) -> bytes:
        body = self._open(key, max_bytes)
        try:
            data = body.read(max_bytes + 1)
        except (BotoCoreError, OSError) as exc:
            raise CloudError("unreachable", f"{key}: the download failed: {exc}") from None
        finally:
            body.close()
        if len(data) > max_bytes:
            raise CloudError("too_large", f"{key}: the file is larger than {max_bytes} bytes.")
        return bytes(data)

    def download(
        self, key: str, target: Path, max_bytes: int, *, check: Check, progress: Progress
    ) -> int:
        body = self._open(key, max_bytes)
        written = 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                while chunk := body.read(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise CloudError(
                            "too_large", f"{key}: the file is larger than {max_bytes} bytes."
                        )
                    out.write(chunk)
                    progress(written)
                    check()
        except (BotoCoreError, OSError) as exc:
            target.unlink(missing_ok=True)
            raise CloudError("unreachable", f"{key}: the download failed: {exc}") from None
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        finally:
            body.close()
        return written

    def upload(self, key: str, source: Path) -> None:
        try:
            self._client.upload_file(str(source), self.name, key)
        except ClientError as exc:
            raise self._object_error(exc, key) from None
        except (BotoCoreError, S3UploadFailedError, OSError) as exc:
            cause = exc.__cause__ if isinstance(exc, S3UploadFailedError) else None
            if isinstance(cause, ClientError):
                raise self._object_error(cause, key) from None
            raise CloudError("unreachable", f"{key}: the upload failed: {exc}") from None

    def _open(self, key: str, max_bytes: int) -> Any:
        try:
            obj = self._client.get_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            raise self._object_error(exc, key) from None
        except (BotoCoreError, ValueError) as exc:
            raise CloudError("unreachable", f"{key}: the bucket cannot be reached: {exc}") from None
        if int(obj.get("ContentLength", 0)) > max_bytes:
            obj["Body"].close()
            raise CloudError("too_large", f"{key}: the file is larger than {max_bytes} bytes.")
        return obj["Body"]

    def actions(self) -> list[str]:
        """CVAT's rule: no bucket policy means read and write; otherwise what its Allow
        statements grant (s3:GetObject -> read, s3:PutObject -> write)."""
        try:
            policy = self._client.get_bucket_policy(Bucket=self.name)["Policy"]
        except ClientError as exc:
            if _code(exc) == "NoSuchBucketPolicy":
                return ["read", "write"]
            raise self._bucket_error(exc) from None
        except (BotoCoreError, ValueError) as exc:
            raise CloudError(
                "unreachable", f"The bucket '{self.name}' cannot be reached: {exc}"
            ) from None
        granted: set[str] = set()
        for statement in json.loads(policy).get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                if action in ("s3:GetObject", "s3:*", "*"):
                    granted.add("read")
                if action in ("s3:PutObject", "s3:*", "*"):
                    granted.add("write")
        return sorted(granted)

    # -- errors ----------------------------------------------------------------------------

    def _bucket_error(self, exc: ClientError) -> CloudError:
        if _code(exc) in _FORBIDDEN_CODES:
            return CloudError("forbidden", f"Access to the bucket '{self.name}' is forbidden.")
        if _code(exc) == "NoSuchBucket":
            return CloudError("not_found", f"The bucket '{self.name}' does not exist.")
        return CloudError("unreachable", f"The bucket '{self.name}' answered: {exc}")

    def _object_error(self, exc: ClientError, key: str) -> CloudError:
        code = _code(exc)
        if code in ("NoSuchKey", "404", "NotFound"):
            return CloudError("not_found", f"The file '{key}' was not found on '{self.name}'.")
        if code in _FORBIDDEN_CODES:
            return CloudError(
                "forbidden", f"Access to the file '{key}' on '{self.name}' is denied."
            )
        if code == "NoSuchBucket":
            return CloudError("not_found", f"The bucket '{self.name}' does not exist.")
        return CloudError("unreachable", f"{key}: the bucket answered: {exc}")
