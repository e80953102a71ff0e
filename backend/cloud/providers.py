"""From a cloud storage record to a live adapter: parse CVAT's `specific_attributes`,
check the endpoint against the URL policy, pick the provider's adapter.

Only AWS S3 (and S3-compatible endpoints) is supported: the Azure and Google Cloud client
packages are not installed here, so those providers are refused rather than shipped
untested."""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from typing import Literal

from backend.cloud.credentials import Credentials
from backend.cloud.port import CloudError, CloudStorage
from backend.net.safe_fetch import AllowList, forbidden_reason

ProviderType = Literal["AWS_S3_BUCKET", "AZURE_CONTAINER", "GOOGLE_CLOUD_STORAGE"]
SUPPORTED: frozenset[str] = frozenset({"AWS_S3_BUCKET"})
ATTRIBUTES = frozenset({"region", "endpoint_url", "prefix", "project", "location"})


def parse_attributes(text: str) -> dict[str, str]:
    """`region=eu-central-1&endpoint_url=http://...` -> dict (CVAT parses them so too)."""
    return dict(urllib.parse.parse_qsl(text or "", keep_blank_values=True))


def attribute_problems(text: str) -> str | None:
    """Why `specific_attributes` cannot be used, or None (CVAT: each part is key=value)."""
    if not text:
        return None
    for part in text.split("&"):
        if not part.partition("=")[0] or "=" not in part:
            return f"Invalid specific attributes: '{part}' is not key=value."
    attrs = parse_attributes(text)
    unknown = sorted(set(attrs) - ATTRIBUTES)
    if unknown:
        return f"Unknown specific attributes: {', '.join(unknown)}."
    prefix = attrs.get("prefix", "")
    if prefix.startswith("/"):
        return 'The prefix cannot start with a forward slash ("/").'
    if prefix and "" in prefix.strip("/").split("/"):
        return "The prefix cannot contain multiple slashes in a row."
    endpoint = attrs.get("endpoint_url", "")
    if endpoint:
        try:
            parts = urllib.parse.urlsplit(endpoint)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 (raises ValueError for a port that is not one)
        except ValueError:
            usable = False
        if not usable:
            return f"endpoint_url must be an http(s) URL with a host, got '{endpoint}'."
        if parts.username is not None or parts.password is not None:
            # specific_attributes are returned by the API: secrets belong in key/secret_key.
            return "endpoint_url must not hold a user name or password; use the credentials."
    return None


def check_endpoint(endpoint_url: str, allowlist: str) -> None:
    """An endpoint is a URL the server calls on a user's say-so: as for remote files,
    addresses that are not public (private, loopback, link-local...) are refused unless
    VELLUM_URL_ALLOWLIST names the host or a network holding the address. Checked when a
    storage is written and every time it is opened."""
    allowed = AllowList.parse(allowlist)
    try:
        parts = urllib.parse.urlsplit(endpoint_url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise CloudError("invalid", f"endpoint_url '{endpoint_url}' is not a valid URL.") from None
    if allowed.allows_host(host):
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as exc:
        raise CloudError("unreachable", f"The endpoint {host} cannot be resolved: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if allowed.allows_address(address):
            continue
        reason = forbidden_reason(address)
        if reason is not None:
            raise CloudError(
                "forbidden",
                f"The endpoint {host} resolves to {address}, {reason}; an administrator "
                "may allow it with VELLUM_URL_ALLOWLIST.",
            )


def open_storage(
    provider_type: str,
    resource: str,
    specific_attributes: str,
    credentials: Credentials,
    *,
    url_allowlist: str = "",
) -> CloudStorage:
    if provider_type not in SUPPORTED:
        raise CloudError(
            "invalid",
            f"{provider_type} cloud storages are not supported yet; only AWS_S3_BUCKET "
            "(AWS S3 and S3-compatible endpoints) is.",
        )
    from backend.cloud.s3 import S3Storage

    attrs = parse_attributes(specific_attributes)
    endpoint = attrs.get("endpoint_url") or None
    if endpoint:
        check_endpoint(endpoint, url_allowlist)
    return S3Storage(resource, credentials, region=attrs.get("region"), endpoint_url=endpoint)
