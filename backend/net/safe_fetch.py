"""HTTP(S) requests to URLs that users give us, safe against server-side request forgery.

- Only http and https.
- The host is resolved once and EVERY address it resolves to must be public: loopback,
  private, link-local, multicast, reserved, unspecified and other non-global addresses are
  refused (IPv4 and IPv6, IPv4 embedded in IPv6 included) unless the host or a CIDR holding
  the address is in the allow-list (`VELLUM_URL_ALLOWLIST`).
- The connection goes to the address that was checked: the request URL carries the IP, the
  Host header and TLS SNI/certificate check carry the name. There is no second DNS lookup,
  so DNS rebinding cannot swap the address after the check.
- Redirects are followed by hand, a few at most, each target checked the same way.
- Size (Content-Length and while streaming) and time limits; no proxies from the
  environment (a proxy would make the checked address meaningless).

`open_stream` is the general request (webhooks use it); `download` saves a body to disk."""

from __future__ import annotations

import asyncio
import ipaddress
import posixpath
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from backend.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CHUNK = 256 * 1024


class FetchError(Exception):
    """A URL that cannot be used or fetched; the message names the URL and the reason."""

    def __init__(self, url: str, reason: str, *, timed_out: bool = False) -> None:
        self.url = url
        self.reason = reason
        self.timed_out = timed_out  # no answer within the time limit
        super().__init__(f"{url}: {reason}")


# --- addresses ----------------------------------------------------------------------------


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why a request must not go to `ip` (None: a public address). IPv4 carried inside
    IPv6 (mapped ::ffff:a.b.c.d, 6to4, NAT64) is judged as the IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            return None if inner is None else f"{inner} (IPv4 {embedded} inside IPv6)"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
        ("is_site_local", "a site-local address"),
    )
    for attribute, reason in checks:
        if getattr(ip, attribute, False):
            return reason
    if not ip.is_global:
        return "not a globally routable address"
    return None


@dataclass(frozen=True)
class AllowList:
    """Hosts (exact names, case-insensitive) and networks that requests may reach although
    their addresses are not public. Parsed from `VELLUM_URL_ALLOWLIST`: comma-separated
    host names, IP addresses, CIDRs (`10.0.0.0/8`, `fd00::/8`, `[::1]`)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in text.split(","):
            entry = raw.strip()
            if not entry:
                continue
            bare = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
            try:
                networks.append(ipaddress.ip_network(bare, strict=False))
                continue
            except ValueError:
                if "/" in bare or ":" in bare or bare.replace(".", "").isdigit():
                    raise ValueError(
                        f"URL allow-list entry {entry!r} is neither a host name nor a CIDR"
                    ) from None
            host = _normal_host(bare)
            if not host or any(c in host for c in " @?#"):
                raise ValueError(f"URL allow-list entry {entry!r} is not a host name")
            hosts.add(host)
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return _normal_host(host) in self.hosts

    def allows_address(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(
            c in net for c in candidates for net in self.networks if c.version == net.version
        )


def _normal_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


# --- policy and targets -------------------------------------------------------------------


@dataclass(frozen=True)
class FetchPolicy:
    allowlist: AllowList = field(default_factory=AllowList)
    max_bytes: int = 2048 * 2**20
    timeout_s: float = 60.0
    max_redirects: int = 5
    # TLS verification: True (the system's CAs, via certifi) or a context with other CAs.
    verify: ssl.SSLContext | bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            allowlist=AllowList.parse(settings.url_allowlist),
            max_bytes=settings.remote_max_mb * 2**20,
            timeout_s=settings.remote_timeout_s,
        )


@dataclass(frozen=True)
class Target:
    url: httpx.URL
    host: str  # as resolved: lower case, IDNA-encoded
    port: int


def parse_url(url: str) -> Target:
    """The URL's scheme, host and port, or FetchError for anything but a well-formed
    http(s) URL with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(url, f"not a valid URL ({exc})") from None
    if parsed.scheme not in SCHEMES:
        shown = parsed.scheme or "none"
        raise FetchError(url, f"only http and https URLs are allowed (scheme: {shown})")
    host = _normal_host(parsed.raw_host.decode("ascii", "replace"))
    if not host:
        raise FetchError(url, "the URL has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:  # httpx takes any number
        raise FetchError(url, f"port {parsed.port} is out of range (1-65535)")
    return Target(parsed, host, parsed.port or DEFAULT_PORTS[parsed.scheme])


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def early_problem(url: str, policy: FetchPolicy) -> str | None:
    """What is wrong with `url` as far as can be told without the network (syntax, scheme,
    an IP literal or `localhost` that the allow-list does not let through); None if
    nothing. The full check runs again when the URL is fetched."""
    try:
        target = parse_url(url)
    except FetchError as exc:
        return str(exc)
    if policy.allowlist.allows_host(target.host):
        return None
    address = _literal_address(target.host)
    if address is None and (target.host == "localhost" or target.host.endswith(".localhost")):
        address = ipaddress.IPv4Address("127.0.0.1")
    if address is not None and not policy.allowlist.allows_address(address):
        reason = forbidden_reason(address)
        if reason is not None:
            return str(FetchError(url, f"{target.host} is {reason}; not allowed"))
    return None


async def resolve(target: Target, policy: FetchPolicy, url: str) -> list[IPAddress]:
    """Every address of the target's host, after checking each of them."""
    literal = _literal_address(target.host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (OSError, UnicodeError) as exc:
            raise FetchError(url, f"cannot resolve {target.host} ({exc})") from None
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise FetchError(url, f"{target.host} has no address")
    if policy.allowlist.allows_host(target.host):
        return addresses
    for address in addresses:
        if policy.allowlist.allows_address(address):
            continue
        reason = forbidden_reason(address)
        if reason is not None:
            raise FetchError(url, f"{target.host} resolves to {address}, {reason}; not allowed")
    return addresses


# --- requests -----------------------------------------------------------------------------


def _pinned_request(
    client: httpx.AsyncClient, method: str, target: Target, address: IPAddress,
    headers: dict[str, str], content: bytes | None,
) -> httpx.Request:  # fmt: skip
    """A request to `address` that the server sees as one to `target.host`."""
    host_header = target.url.netloc.decode("ascii").rpartition("@")[2]
    request = client.build_request(
        method, target.url.copy_with(host=str(address)),
        headers={**headers, "Host": host_header}, content=content,
    )  # fmt: skip
    if target.url.scheme == "https":
        # TLS goes by the name: SNI and the certificate check use it, not the IP.
        request.extensions["sni_hostname"] = target.host
    return request


@asynccontextmanager
async def open_stream(
    url: str,
    policy: FetchPolicy,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    follow_redirects: bool = True,
) -> AsyncIterator[httpx.Response]:
    """The response (body not read yet) to a checked request; redirects are followed when
    asked (at most `policy.max_redirects`, each target checked). The whole exchange,
    including the caller's reading of the body, is bounded by `policy.timeout_s`.
    Failures raise FetchError naming `url`; a redirect to a forbidden place names both."""
    timeout = httpx.Timeout(policy.timeout_s)
    sent_headers = dict(headers or {})
    try:
        async with asyncio.timeout(policy.timeout_s):
            current = url
            for hop in range(policy.max_redirects + 1):
                target = parse_url(current)
                addresses = await resolve(target, policy, current)
                # A fresh client per hop: no connection (or TLS session) made for one name
                # is reused for another.
                async with httpx.AsyncClient(
                    timeout=timeout, trust_env=False, follow_redirects=False, verify=policy.verify
                ) as client:
                    response = await _send_first(
                        client, method, target, addresses, sent_headers, content, current
                    )
                    try:
                        location = response.headers.get("location")
                        if (
                            follow_redirects
                            and response.status_code in REDIRECT_STATUSES
                            and location
                        ):
                            if hop == policy.max_redirects:
                                raise FetchError(url, f"more than {policy.max_redirects} redirects")
                            try:
                                following = str(target.url.join(location))
                            except (httpx.InvalidURL, ValueError) as exc:
                                raise FetchError(url, f"bad redirect ({exc})") from None
                            if response.status_code == 303 or (
                                response.status_code in (301, 302) and method == "POST"
                            ):
                                method, content = "GET", None
                            if parse_url(following).host != target.host:
                                sent_headers.pop("Authorization", None)
                            current = following
                            continue
                        yield response
                        return
                    finally:
                        await response.aclose()
    except FetchError as exc:
        if exc.url != url:  # a redirect target: say where the redirect led
            raise FetchError(url, f"redirected to {exc.url}: {exc.reason}") from None
        raise
    except TimeoutError:
        raise FetchError(url, f"took longer than {policy.timeout_s:g} s", timed_out=True) from None
    except httpx.TimeoutException:
        raise FetchError(url, f"timed out (limit {policy.timeout_s:g} s)", timed_out=True) from None
    except httpx.HTTPError as exc:
        raise FetchError(url, f"request failed ({type(exc).__name__}: {exc})") from None


async def _send_first(
    client: httpx.AsyncClient, method: str, target: Target, addresses: list[IPAddress],
    headers: dict[str, str], content: bytes | None, url: str,
) -> httpx.Response:  # fmt: skip
    """Send to the first checked address that accepts a connection."""
    failure: Exception | None = None
    for address in addresses:
        request = _pinned_request(client, method, target, address, headers, content)
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError as exc:
            failure = exc
    raise FetchError(url, f"cannot connect to {target.host}:{target.port} ({failure})")


# --- downloads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Downloaded:
    url: str
    name: str  # sanitized file name (URL path, else Content-Disposition, else "download")
    path: Path
    size: int
    content_type: str


def safe_file_name(raw: str) -> str | None:
    """The last path component of `raw` without control characters, at most 255 bytes;
    None if nothing usable is left."""
    name = posixpath.basename(raw.replace("\\", "/"))
    name = "".join(c for c in name if c.isprintable()).strip()
    while len(name.encode()) > 255:
        name = name[:-1]
    return None if name in ("", ".", "..") else name


def url_file_name(url: str) -> str | None:
    """The file name a URL's path gives (CVAT names remote files so), if any."""
    try:
        return safe_file_name(httpx.URL(url).path)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None


def disposition_file_name(header: str | None) -> str | None:
    if not header:
        return None
    message = EmailMessage()
    message["content-disposition"] = header
    raw = message.get_filename()
    return safe_file_name(raw) if raw else None


async def download(
    url: str,
    dest_dir: Path,
    policy: FetchPolicy,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    check: Callable[[], None] | None = None,
) -> Downloaded:
    """Save the body of a GET on `url` under `dest_dir` with a generated name. `progress`
    gets (bytes so far, expected total or None); `check` is called between chunks and may
    raise to cancel. On any failure the partial file is removed."""
    await asyncio.to_thread(dest_dir.mkdir, parents=True, exist_ok=True)
    path = dest_dir / uuid.uuid4().hex
    limit_mb = f"{policy.max_bytes / 2**20:g} MB"
    try:
        async with open_stream(url, policy, headers={"Accept-Encoding": "identity"}) as response:
            if response.status_code != 200:
                raise FetchError(url, f"the server answered {response.status_code}")
            declared = response.headers.get("content-length")
            total = int(declared) if declared and declared.isdigit() else None
            if total is not None and total > policy.max_bytes:
                raise FetchError(url, f"the file is larger than {limit_mb} ({total} bytes)")
            size = 0
            with path.open("wb") as out:
                async for piece in response.aiter_bytes(_CHUNK):
                    size += len(piece)
                    if size > policy.max_bytes:
                        raise FetchError(url, f"the file is larger than {limit_mb}")
                    out.write(piece)
                    if progress is not None:
                        progress(size, total)
                    if check is not None:
                        check()
            name = (
                url_file_name(url)
                or disposition_file_name(response.headers.get("content-disposition"))
                or "download"
            )
            content_type = response.headers.get("content-type", "")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Downloaded(url, name, path, size, content_type)
