"""The SSRF-safe fetcher: which addresses are refused, how the allow-list is read, and real
downloads from a local HTTP server (127.0.0.1, let through by the allow-list): redirects
checked at every hop, size and time limits, cancellation, one DNS lookup per host."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from backend.net.safe_fetch import (
    AllowList,
    FetchError,
    FetchPolicy,
    disposition_file_name,
    download,
    early_problem,
    forbidden_reason,
    url_file_name,
)

# --- address rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata endpoints
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not a globally routable"),  # carrier-grade NAT
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback address (IPv4 127.0.0.1 inside IPv6)"),
        ("::ffff:10.0.0.1", "private address (IPv4 10.0.0.1 inside IPv6)"),
        ("64:ff9b::a9fe:a9fe", "link-local address (IPv4 169.254.169.254 inside IPv6)"),  # NAT64
        ("2002:7f00:1::", "loopback address (IPv4 127.0.0.1 inside IPv6)"),  # 6to4
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    found = forbidden_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_allow_list_reads_hosts_cidrs_and_ipv6() -> None:
    allow = AllowList.parse(" Files.Example.COM. , 10.0.0.0/8,[::1], fd00::/8,192.168.1.7 ,, ")
    assert allow.hosts == frozenset({"files.example.com"})
    assert allow.allows_host("FILES.example.com") and not allow.allows_host("example.com")
    for inside in ("10.200.0.1", "::1", "fd00::5", "192.168.1.7", "::ffff:10.0.0.1"):
        assert allow.allows_address(ipaddress.ip_address(inside)), inside
    for outside in ("11.0.0.1", "::2", "fc00::1", "192.168.1.8", "127.0.0.1"):
        assert not allow.allows_address(ipaddress.ip_address(outside)), outside
    assert AllowList.parse("") == AllowList()


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "1.2.3", "http://x.com", "a b", "::1::2"])
def test_allow_list_entries_that_are_neither_host_nor_cidr_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="allow-list entry"):
        AllowList.parse(f"ok.example.com,{entry}")


def test_early_checks_need_no_network() -> None:
    policy = FetchPolicy()
    assert early_problem("https://example.com/a.png", policy) is None
    problems = {
        "ftp://example.com/a.png": "only http and https",
        "file:///etc/passwd": "only http and https",
        "example.com/a.png": "only http and https",
        "http:///a.png": "no host",
        "http://127.0.0.1:8080/a.png": "loopback",
        "http://localhost/a.png": "loopback",
        "http://a.localhost/a.png": "loopback",
        "http://[::ffff:7f00:1]/a.png": "loopback",
        "http://169.254.169.254/latest/meta-data": "link-local",
        "http://[fe80::1%25eth0]/": "link-local",
    }
    for url, problem in problems.items():
        found = early_problem(url, policy)
        assert found is not None and problem in found and url in found, (url, found)
    allowed = FetchPolicy(allowlist=AllowList.parse("localhost,127.0.0.0/8"))
    assert early_problem("http://localhost/a.png", allowed) is None
    assert early_problem("http://127.0.0.1:8080/a.png", allowed) is None


def test_file_names_come_from_the_url_path_or_content_disposition() -> None:
    assert url_file_name("https://h/dir/a%20b.png?x=1") == "a b.png"
    assert url_file_name("https://h/dir/") is None
    assert url_file_name("https://h") is None
    assert disposition_file_name('attachment; filename="../../etc/x.jpg"') == "x.jpg"
    assert disposition_file_name("attachment; filename*=UTF-8''%C3%A9t%C3%A9.png") == "été.png"
    assert disposition_file_name('attachment; filename="a\\\\..\\\\b.png"') == "b.png"
    assert disposition_file_name("inline") is None


# --- real downloads from a local server ---------------------------------------------------

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes


class _Handler(BaseHTTPRequestHandler):
    release: threading.Event
    hosts: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.hosts.append(self.headers.get("Host", ""))
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/files/image.png":
            self._body(PAYLOAD)
        elif url.path == "/download/":
            self._body(PAYLOAD, {"Content-Disposition": 'attachment; filename="../x/../a.png"'})
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/loop":
            self.send_response(301)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/undeclared":  # HTTP/1.0: the body ends when the connection does
            self.send_response(200)
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif url.path == "/hang":  # no answer until the test ends
            self.release.wait(30)
        elif url.path == "/drip":  # headers at once, then a byte now and then, forever
            self.send_response(200)
            self.end_headers()
            while not self.release.wait(0.05):
                self.wfile.write(b"x")
                self.wfile.flush()
        else:
            self.send_error(404)


class LocalServer:
    def __init__(self) -> None:
        release = threading.Event()
        hosts: list[str] = []
        handler = type("Handler", (_Handler,), {"release": release, "hosts": hosts})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.release = release
        self.hosts = hosts
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def local() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


def nothing_in(directory: Path) -> bool:
    return not any(directory.iterdir())


ALLOW_LOCAL = FetchPolicy(allowlist=AllowList.parse("127.0.0.1/32"), timeout_s=10)


async def test_download_saves_the_body_under_a_generated_name(
    local: LocalServer, tmp_path: Path
) -> None:
    seen: list[tuple[int, int | None]] = []
    got = await download(
        local.url("/files/image.png"), tmp_path, ALLOW_LOCAL,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert got.name == "image.png" and got.size == len(PAYLOAD)
    assert got.path.parent == tmp_path and got.path.name != "image.png"
    assert got.path.read_bytes() == PAYLOAD
    assert seen and seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    named = await download(local.url("/download/"), tmp_path, ALLOW_LOCAL)
    assert named.name == "a.png"  # from Content-Disposition, path parts dropped


async def test_loopback_is_refused_without_the_allow_list(
    local: LocalServer, tmp_path: Path
) -> None:
    before = len(local.hosts)
    url = local.url("/files/image.png")
    with pytest.raises(
        FetchError, match=re.escape("127.0.0.1 resolves to 127.0.0.1, a loopback")
    ) as info:
        await download(url, tmp_path, FetchPolicy())
    assert info.value.url == url and str(info.value).startswith(url)
    assert len(local.hosts) == before  # nothing was sent
    assert nothing_in(tmp_path)


async def test_an_allowed_host_name_may_resolve_to_loopback(
    local: LocalServer, tmp_path: Path
) -> None:
    # localhost may resolve to ::1 first, where nothing listens: the next checked address
    # is tried.
    policy = FetchPolicy(allowlist=AllowList.parse("localhost"), timeout_s=10)
    got = await download(local.url("/files/image.png", "localhost"), tmp_path, policy)
    assert got.size == len(PAYLOAD)
    assert local.hosts[-1] == f"localhost:{local.port}"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.2:{port}/files/image.png", "127.0.0.2, a loopback address"),
        ("http://[::1]:{port}/files/image.png", "::1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://10.0.0.1/", "a private address"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:{port}/", "only http and https"),
    ],
)
async def test_every_redirect_is_checked(
    local: LocalServer, tmp_path: Path, target: str, reason: str
) -> None:
    to = target.format(port=local.port)
    url = local.url(f"/redirect?to={to}")
    with pytest.raises(FetchError, match="redirected to") as info:
        await download(url, tmp_path, ALLOW_LOCAL)
    assert reason in str(info.value) and str(info.value).startswith(url)
    assert nothing_in(tmp_path)


async def test_allowed_redirects_are_followed_a_few_times_only(
    local: LocalServer, tmp_path: Path
) -> None:
    hop = local.url("/redirect?to=/files/image.png")
    got = await download(hop, tmp_path, ALLOW_LOCAL)
    assert got.size == len(PAYLOAD) and got.name == "redirect"
    with pytest.raises(FetchError, match="more than 5 redirects"):
        await download(local.url("/loop"), tmp_path, ALLOW_LOCAL)


async def test_size_limit_by_header_and_while_streaming(local: LocalServer, tmp_path: Path) -> None:
    small = FetchPolicy(allowlist=ALLOW_LOCAL.allowlist, max_bytes=1000, timeout_s=10)
    with pytest.raises(FetchError, match=r"larger than .* \(10240 bytes\)"):
        await download(local.url("/files/image.png"), tmp_path, small)
    with pytest.raises(FetchError, match="larger than"):
        await download(local.url("/undeclared"), tmp_path, small)
    assert nothing_in(tmp_path)
    fits = FetchPolicy(allowlist=ALLOW_LOCAL.allowlist, max_bytes=len(PAYLOAD), timeout_s=10)
    assert (await download(local.url("/undeclared"), tmp_path, fits)).size == len(PAYLOAD)


async def test_time_limit_covers_a_silent_server_and_a_slow_body(
    local: LocalServer, tmp_path: Path
) -> None:
    quick = FetchPolicy(allowlist=ALLOW_LOCAL.allowlist, timeout_s=0.5)
    with pytest.raises(FetchError, match=r"(took longer than|timed out).*0\.5 s"):
        await download(local.url("/hang"), tmp_path, quick)
    # Each byte arrives well within the limit; the whole download does not.
    with pytest.raises(FetchError, match=r"took longer than 0\.5 s"):
        await download(local.url("/drip"), tmp_path, quick)
    assert nothing_in(tmp_path)


async def test_http_errors_and_cancellation_keep_nothing(
    local: LocalServer, tmp_path: Path
) -> None:
    with pytest.raises(FetchError, match="the server answered 404"):
        await download(local.url("/nothing.png"), tmp_path, ALLOW_LOCAL)

    class Stop(Exception):
        pass

    def cancel() -> None:
        raise Stop

    with pytest.raises(Stop):
        await download(local.url("/files/image.png"), tmp_path, ALLOW_LOCAL, check=cancel)
    assert nothing_in(tmp_path)


async def test_the_checked_address_is_the_one_connected_to(
    local: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that resolves to an allowed address once and to a forbidden
    one afterwards. The fetcher resolves once and connects to what it checked."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "10.9.9.9"
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    policy = FetchPolicy(allowlist=AllowList.parse("127.0.0.1/32"), timeout_s=10)
    got = await download(local.url("/files/image.png", "rebind.test"), tmp_path, policy)
    assert got.size == len(PAYLOAD)
    assert lookups == ["rebind.test"]
    assert local.hosts[-1] == f"rebind.test:{local.port}"  # the name travels in Host


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for the DNS name `name` only (no IP address in it)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_is_pinned_to_the_address_but_verified_against_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection goes to the checked IP, while SNI and the certificate check use the
    host name: a certificate for files.test (and no IP) is accepted for files.test and
    refused for other.test, both resolving to 127.0.0.1."""
    cert, key = _certificate(tmp_path, "files.test")
    server = LocalServer()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server.httpd.socket = tls.wrap_socket(server.httpd.socket, server_side=True)
    real = socket.getaddrinfo

    def local_names(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("files.test", "other.test"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_names)
    trust = ssl.create_default_context(cafile=str(cert))
    policy = FetchPolicy(allowlist=AllowList.parse("127.0.0.1"), timeout_s=10, verify=trust)
    downloads = tmp_path / "downloads"
    try:
        url = f"https://files.test:{server.port}/files/image.png"
        got = await download(url, downloads, policy)
        assert got.size == len(PAYLOAD) and got.name == "image.png"
        assert server.hosts[-1] == f"files.test:{server.port}"
        wrong = f"https://other.test:{server.port}/files/image.png"
        with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|hostname") as info:
            await download(wrong, downloads, policy)
        assert str(info.value).startswith(wrong)
    finally:
        server.close()
