"""Tasks from remote URLs through the real server: files served by a local HTTP server on
127.0.0.1 (let through with VELLUM_URL_ALLOWLIST=127.0.0.1/32), through HTTP, cvat-sdk
(ResourceType.REMOTE) and cvat-cli (`remote`); loopback refused without the allow-list;
redirects to forbidden addresses, size and time limits and cancellation fail the request
with a message naming the URL, and nothing is kept."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from PIL import Image

from tests.api.test_task_data import Api, image_bytes
from tests.e2e.test_cli import cli

R1 = image_bytes(40, 30, (250, 0, 0))
R2 = image_bytes(41, 31, (0, 250, 0), "JPEG")


def _tgz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


FILES = {
    "/media/r1.png": R1,
    "/media/r2.jpg": R2,
    "/other/r1.png": R1,
    "/media/pack.tar.gz": _tgz({"p/1.png": image_bytes(8, 8, (1, 1, 1)), "p/2.png": R1}),
    "/media/notes.png": b"plain text pretending to be a picture",
    "/media/big.png": b"\x89PNG" + bytes(2 * 2**20),  # over VELLUM_REMOTE_MAX_MB=1
}


HITS: list[str] = []  # paths the file server was asked for


class _Handler(BaseHTTPRequestHandler):
    release: threading.Event

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        HITS.append(self.path)
        url = urlparse(self.path)
        if url.path in FILES:
            body = FILES[url.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif url.path == "/get/":  # no name in the path: Content-Disposition names it
            self.send_response(200)
            self.send_header("Content-Length", str(len(R2)))
            self.send_header("Content-Disposition", 'attachment; filename="../../given.jpg"')
            self.end_headers()
            self.wfile.write(R2)
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/hang":
            self.release.wait(60)
        elif url.path == "/drip":
            self.send_response(200)
            self.end_headers()
            while not self.release.wait(0.05):
                self.wfile.write(b"\x00" * 16)
                self.wfile.flush()
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def files_url() -> Iterator[str]:
    release = threading.Event()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Handler,), {"release": release}))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def remote_server(services: Any, template_db: str) -> Iterator[Any]:
    from tests.conftest import api_server

    with api_server(
        services, template_db, redis_db=5, url_allowlist="127.0.0.1/32", remote_max_mb="1",
        remote_timeout_s="3",
    ) as running:  # fmt: skip
        yield running


@pytest.fixture
def api(remote_server: Any) -> Api:
    return Api(remote_server)


def create(api: Api, **params: Any) -> dict[str, Any]:
    r = api.http.post(api.data_url, json=params)
    assert r.status_code == 202, r.text
    return api.wait(str(r.json()["rq_id"]))


def frame_names(api: Api) -> list[str]:
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta")
    assert meta.status_code == 200, meta.text
    return [f["name"] for f in meta.json()["frames"]]


def assert_nothing_kept(api: Api) -> None:
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404
    assert api.get(f"/api/tasks/{api.task_id}").json()["size"] == 0


def test_task_from_remote_urls(api: Api, files_url: str) -> None:
    urls = [f"{files_url}/media/r2.jpg", f"{files_url}/media/r1.png", f"{files_url}/get/"]
    done = create(api, remote_files=[*urls, f"{files_url}/media/pack.tar.gz"], image_quality=80)
    assert done["status"] == "finished", done
    assert done["progress"] == 1.0
    assert frame_names(api) == ["given.jpg", "p/1.png", "p/2.png", "r1.png", "r2.jpg"]
    original = api.get(api.data_url, type="frame", number=3, quality="original")
    assert original.content == R1


def test_loopback_is_refused_without_the_allow_list(server: Any, files_url: str) -> None:
    plain = Api(server)  # the shared server: no VELLUM_URL_ALLOWLIST
    for url in (f"{files_url}/media/r1.png", "http://localhost/x.png", "http://[::1]/x.png"):
        r = plain.http.post(plain.data_url, json={"remote_files": [url]})
        assert r.status_code == 400, r.text
        message = r.json()["remote_files"][0]
        assert url in message and "loopback" in message and "not allowed" in message
    assert_nothing_kept(plain)


@pytest.mark.parametrize(
    ("remote_files", "message"),
    [
        (["ftp://example.com/a.png"], "only http and https"),
        (["not a url"], "only http and https"),
        (["http:///a.png"], "no host"),
        (["http://169.254.169.254/latest/meta-data/"], "link-local"),
        (["https://a.example/x/r1.png", "https://b.example/y/r1.png"], "same file name (r1.png)"),
    ],
)
def test_bad_urls_are_400_naming_them(api: Api, remote_files: list[str], message: str) -> None:
    r = api.http.post(api.data_url, json={"remote_files": remote_files})
    assert r.status_code == 400, r.text
    assert message in r.json()["remote_files"][0]
    assert_nothing_kept(api)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/redirect?to=http://127.0.0.2:9/x.png", "redirected to http://127.0.0.2:9/x.png"),
        ("/redirect?to=http://[::1]:9/x.png", "::1, a loopback address"),
        ("/redirect?to=http://10.1.1.1/x.png", "a private address"),
        ("/media/big.png", "larger than 1 MB"),
        ("/hang", "took longer than 3 s"),
        ("/media/missing.png", "the server answered 404"),
        ("/media/notes.png", "not an image"),
    ],
)
def test_failed_downloads_fail_the_request_naming_the_url(
    api: Api, files_url: str, path: str, reason: str
) -> None:
    url = f"{files_url}{path}"
    done = create(api, remote_files=[f"{files_url}/media/r1.png", url])
    assert done["status"] == "failed", done
    assert url in done["message"] and reason in done["message"], done["message"]
    assert_nothing_kept(api)


@pytest.mark.parametrize("path", ["/drip", "/hang"])  # bytes trickling in; nothing at all
def test_a_download_can_be_cancelled(api: Api, files_url: str, path: str) -> None:
    path = f"{path}?{uuid.uuid4().hex}"
    r = api.http.post(api.data_url, json={"remote_files": [f"{files_url}{path}"]})
    assert r.status_code == 202, r.text
    rq_id = str(r.json()["rq_id"])
    deadline = time.monotonic() + 10
    while path not in HITS:  # cancel while the download is under way, not while queued
        assert time.monotonic() < deadline, "the download did not start"
        time.sleep(0.02)
    assert api.http.post(f"/api/requests/{rq_id}/cancel").status_code == 200
    done = api.wait(rq_id)
    assert done["status"] == "failed" and "cancelled" in done["message"], done
    assert_nothing_kept(api)


def test_cvat_sdk_creates_a_task_from_remote_urls(remote_server: Any, files_url: str) -> None:
    from cvat_sdk import make_client
    from cvat_sdk.core.proxies.tasks import ResourceType

    host, port = remote_server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=remote_server.admin) as client:
        client.config.status_check_period = 0.2
        task = client.tasks.create_from_data(
            spec={"name": "sdk remote", "labels": [{"name": "car"}]},
            resources=[f"{files_url}/media/r1.png", f"{files_url}/media/r2.jpg"],
            resource_type=ResourceType.REMOTE,
            data_params={"image_quality": 90},
        )
        assert task.size == 2
        assert [f.name for f in task.get_meta().frames] == ["r1.png", "r2.jpg"]
        with Image.open(task.get_frame(1)) as image:
            assert image.size == (41, 31)


def test_cvat_cli_creates_a_task_from_remote_urls(
    remote_server: Any, files_url: str, tmp_path: Path
) -> None:
    name = f"cli-remote-{uuid.uuid4().hex[:6]}"
    created = cli(
        remote_server, "task", "create", name, "remote", f"{files_url}/media/r2.jpg",
        "--labels", json.dumps([{"name": "car"}]), cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr + created.stdout
    task_id = int(created.stdout.split()[-1])
    with httpx.Client(base_url=remote_server.url, auth=remote_server.admin) as http:
        meta = http.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["r2.jpg"]
