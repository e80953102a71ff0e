"""Where a task's media come from, in Chromium against a server of this module (a share
root, loopback let through its address allowlist): the server share, remote URLs served by a
local HTTP server, a bucket of a real S3 endpoint (moto_server); annotations imported from
the task page; a cloud storage attached, checked, browsed, edited and deleted. What the UI
did is checked through the REST API."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.api.test_cloudstorages import KEY, SECRET, make_bucket, png, storage_body
from tests.api.test_dataset_io import COCO, coco_box, coco_file, new_task, task_shapes
from tests.api.test_task_data import image_bytes
from tests.api.test_task_remote import FILES, files_url  # noqa: F401 (a fixture)
from tests.browser.a11y import audit
from tests.browser.test_management import signed_in, unique
from tests.conftest import Server, api_server


@pytest.fixture(scope="module")
def share_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ui-share")
    (root / "street").mkdir()
    for i, size in enumerate([(30, 20), (31, 21), (32, 22)]):
        (root / "street" / f"{i}.png").write_bytes(image_bytes(*size, (40 * i, 90, 120)))
    return root


@pytest.fixture(scope="module")
def media_server(services: Any, template_db: str, share_root: Path) -> Iterator[Server]:
    # Redis db 4 is tests/api/test_task_share.py's, whose server is module-scoped: it is
    # stopped before this module starts (tests run one after another in one process).
    with api_server(
        services, template_db, redis_db=4, share_root=str(share_root), url_allowlist="127.0.0.1"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http(media_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=media_server.url, auth=media_server.admin, timeout=60) as client:
        yield client


@pytest.fixture
def ui(media_server: Server, page_for: Any) -> Any:
    page = page_for(media_server)
    signed_in(page, media_server, "/tasks/create")
    return page


def start_form(page: Any, source: str) -> str:
    name = unique(source)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="+ Add label").click()
    page.get_by_label("Name of label 1").fill("car")
    page.get_by_role("tab", name=source).click()
    return name


def create_and_open(page: Any) -> int:
    """Send the form, follow the creation to its end, open the task: its id."""
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("heading", name="Task created")).to_be_visible(timeout=60_000)
    page.locator("#main").get_by_role("link", name="Open the task").click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def frames(http: httpx.Client, task_id: int) -> list[tuple[str, int, int]]:
    meta = http.get(f"/api/tasks/{task_id}/data/meta").json()
    return [(f["name"], f["width"], f["height"]) for f in meta["frames"]]


def test_a_task_from_files_of_the_server_share(ui: Any, http: httpx.Client) -> None:
    name = start_form(ui, "Server share")
    share = ui.get_by_role("group", name="Server share")
    share.get_by_role("button", name="Open folder street/").click()
    share.get_by_label("Select street/2.png").check()
    share.get_by_label("Select street/0.png").check()
    expect(share.get_by_text("Selected: street/2.png, street/0.png")).to_be_visible()
    share.get_by_role("button", name="root").click()  # the picks survive leaving the folder
    expect(share.get_by_label("Select street/")).not_to_be_checked()
    task_id = create_and_open(ui)
    assert http.get(f"/api/tasks/{task_id}").json()["name"] == name
    assert frames(http, task_id) == [("street/0.png", 30, 20), ("street/2.png", 32, 22)]


def test_a_task_from_remote_urls(ui: Any, http: httpx.Client, files_url: str) -> None:  # noqa: F811
    start_form(ui, "Remote URLs")
    urls = ui.get_by_label("Remote files: one http(s) URL per line")
    urls.fill("ftp://example.com/x.png")
    ui.get_by_role("button", name="Create task").click()
    expect(ui.get_by_role("alert")).to_contain_text("Not an http(s) URL: ftp://example.com/x.png")
    urls.fill(f"{files_url}/media/r2.jpg\n\n  {files_url}/media/r1.png  \n")
    task_id = create_and_open(ui)
    sizes = {n: Image.open(io.BytesIO(FILES[f"/media/{n}"])).size for n in ("r1.png", "r2.jpg")}
    assert frames(http, task_id) == [(n, *sizes[n]) for n in sorted(sizes)]


def test_a_task_from_a_cloud_storage(ui: Any, http: httpx.Client, s3_endpoint: str) -> None:
    bucket = make_bucket(s3_endpoint, {
        "frames/a.png": png(40, 10, (255, 0, 0)), "frames/b.png": png(30, 20, (0, 255, 0)),
        "other.png": png(16, 16, (0, 0, 255)),
    })  # fmt: skip
    r = http.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket))
    assert r.status_code == 201, r.text
    start_form(ui, "Cloud storage")
    ui.get_by_role("combobox", name="Cloud storage").select_option(str(r.json()["id"]))
    content = ui.get_by_role("group", name="Bucket content")
    expect(content.get_by_label("Select other.png")).to_be_visible()
    content.get_by_label("Select frames/").check()  # a whole prefix
    task_id = create_and_open(ui)
    assert frames(http, task_id) == [("frames/a.png", 40, 10), ("frames/b.png", 30, 20)]


def test_annotations_imported_from_the_task_page(
    ui: Any, media_server: Server, tmp_path: Path
) -> None:
    api = new_task(media_server)
    annotations = tmp_path / "cars.json"
    annotations.write_bytes(coco_file([coco_box(1, 2, 40.0), coco_box(2, 4, 7.5)]))
    ui.goto(f"/tasks/{api.task_id}")
    ui.get_by_role("button", name="Import annotations").click()
    dialog = ui.get_by_role("dialog", name=re.compile("^Import annotations"))
    dialog.get_by_label("Format").select_option(COCO)
    dialog.get_by_label("Annotation file").set_input_files(str(annotations))
    dialog.get_by_role("button", name="Import").click()
    expect(dialog).to_be_hidden()
    toasts = ui.get_by_role("region", name="Notifications")
    expect(toasts).to_contain_text(re.compile(r"Import into .*: done"), timeout=60_000)
    # COCO's image ids count from 1, the task's frames from 0; bbox x is the first point.
    assert [(frame, points[0]) for frame, points in task_shapes(api)] == [(1, 40.0), (3, 7.5)]


def test_a_cloud_storage_attached_browsed_edited_and_deleted(
    media_server: Server, page_for: Any, http: httpx.Client, s3_endpoint: str
) -> None:
    first = make_bucket(s3_endpoint, {"frames/a.png": png(4, 3, (1, 2, 3))})
    second = make_bucket(s3_endpoint, {"other/b.png": png(5, 4, (3, 2, 1))})
    name = unique("bucket")
    page = page_for(media_server)
    signed_in(page, media_server, "/cloudstorages")
    page.get_by_role("link", name="+ Attach cloud storage").click()
    page.get_by_role("button", name="Attach").click()
    expect(page.get_by_role("alert")).to_contain_text("Give the access key and the secret key.")
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Bucket", exact=True).fill(f"{first}-missing")
    page.get_by_label("Endpoint URL").fill(s3_endpoint)
    page.get_by_label("Region").fill("us-east-1")
    page.get_by_label("Access key ID").fill(KEY)
    page.get_by_label("Secret access key").fill(SECRET)
    before = http.get("/api/cloudstorages", params={"search": name}).json()["count"]
    page.get_by_role("button", name="Attach").click()
    # The server's refusal as said (the bucket does not answer); nothing kept.
    expect(page.get_by_role("alert")).to_contain_text("resource")
    assert http.get("/api/cloudstorages", params={"search": name}).json()["count"] == before == 0
    page.get_by_label("Bucket", exact=True).fill(first)
    page.get_by_role("button", name="Attach").click()
    expect(page).to_have_url(re.compile(r"/cloudstorages/\d+$"))
    storage_id = int(page.url.rsplit("/", 1)[1])
    stored = http.get(f"/api/cloudstorages/{storage_id}")
    assert stored.json()["resource"] == first and stored.json()["display_name"] == name
    assert s3_endpoint in stored.json()["specific_attributes"] and SECRET not in stored.text
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    status = http.get(f"/api/cloudstorages/{storage_id}/status").json()
    expect(page.locator(".details dd").first).to_contain_text(status.replace("_", " ").lower())
    content = page.get_by_role("group", name="Bucket content")
    content.get_by_role("button", name="Open folder frames/").click()
    expect(content.get_by_text("a.png")).to_be_visible()
    audit(page)

    # Edit: another name and bucket, the stored keys kept (the secret fields left empty).
    page.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Secret access key (empty: keep the stored one)")).to_have_value("")
    page.get_by_label("Display name").fill(f"{name} moved")
    page.get_by_label("Bucket", exact=True).fill(second)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=f"{name} moved", level=1)).to_be_visible()
    assert http.get(f"/api/cloudstorages/{storage_id}").json()["resource"] == second
    content.get_by_role("button", name="Open folder other/").click()
    expect(content.get_by_text("b.png")).to_be_visible()

    # Delete behind a confirmation: back to the list, gone on the server.
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("dialog", name="Delete cloud storage").get_by_role(
        "button", name="Delete cloud storage"
    ).click()
    expect(page).to_have_url(re.compile(r"/cloudstorages$"))
    assert http.get(f"/api/cloudstorages/{storage_id}").status_code == 404
