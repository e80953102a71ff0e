"""The management pages in Chromium against the real server: sign in (the server's message
on a wrong password, then the page asked for), sign up, a project whose labels have every
attribute type and a skeleton, a task made by uploading images and followed to its jobs,
a job's stage/state/assignee, search and paging of a list, sign out. What the UI did is
checked through the REST API. Screenshots for the README come from here (shot)."""

from __future__ import annotations

import io
import json
import math
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.api.iam_helpers import PASSWORD, register
from tests.api.test_dataset_io import COCO, LABELS, annotate, export, new_task
from tests.api.test_task_data import Api
from tests.browser.a11y import assert_labelled
from tests.browser.conftest import shot
from tests.conftest import Server


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def sign_in_form(page: Any, username: str, password: str) -> None:
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def signed_in(page: Any, server: Server, path: str) -> None:
    """Admin's session cookies (the form has its own test), then the page."""
    r = page.request.post(
        "/api/auth/login", data={"username": server.admin[0], "password": server.admin[1]}
    )
    assert r.ok, r.text()
    page.goto(path)


def street_picture(index: int) -> Image.Image:
    """Sky, road and a car that moves a little per frame (pictures worth a preview)."""
    image = Image.new("RGB", (320, 240), (120 + 10 * index, 170, 215))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 160, 320, 240], fill=(70, 72, 78))
    x = 30 + 40 * index
    draw.rectangle([x, 120, x + 90, 165], fill=(200, 50, 45))
    draw.ellipse([x + 8, 155, x + 28, 175], fill=(20, 20, 20))
    draw.ellipse([x + 62, 155, x + 82, 175], fill=(20, 20, 20))
    return image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_sign_in_shows_the_servers_message_then_goes_where_asked(server: Server, page: Any) -> None:
    user = register(server.url)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=%2F$"))
    sign_in_form(page, str(user["username"]), "not-the-password")
    wrong = httpx.post(
        f"{server.url}/api/auth/login", json={"username": user["username"], "password": "nope"}
    )
    assert wrong.status_code == 400
    expect(page.get_by_role("alert")).to_have_text(wrong.json()["non_field_errors"][0])
    shot(page, "sign-in")
    sign_in_form(page, str(user["username"]), PASSWORD)
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.get_by_role("heading", name="Tasks", level=1)).to_be_visible()
    # An anonymous visit to a deeper page comes back to it after signing in.
    page.context.clear_cookies()
    page.goto("/jobs?stage=validation")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    sign_in_form(page, str(user["username"]), PASSWORD)
    expect(page).to_have_url(re.compile(r"/jobs\?stage=validation$"))
    expect(page.get_by_role("combobox", name="Stage", exact=True)).to_have_value("validation")


def test_sign_up_shows_field_errors_then_signs_in_and_out(server: Server, page: Any) -> None:
    username = f"ui{uuid.uuid4().hex[:10]}"
    page.goto("/auth/register")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Username").fill("abc")  # too short for the server
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("at least 5 characters")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    me = page.request.get("/api/users/self")
    assert me.ok and me.json()["username"] == username and me.json()["first_name"] == "Ada"
    # Sign out from the user menu: back to the sign-in page, the session is gone.
    page.get_by_role("button", name=f"User menu for {username}").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    assert page.request.get("/api/users/self").status == 401
    page.goto("/projects")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=%2Fprojects$"))


def test_project_labels_with_every_attribute_type_and_a_skeleton(
    server: Server, page: Any, http: httpx.Client
) -> None:
    name = unique("street")
    signed_in(page, server, "/projects/create")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="+ Add label").click()
    page.get_by_label("Name of label 1").fill("car")
    attributes = [  # name, input type, values typed or [min, max, step], default, mutable
        ("color", "select", ["red", "blue"], "blue", False),
        ("side", "radio", ["left", "right"], "left", True),
        ("parked", "checkbox", [], "true", True),
        ("speed", "number", ["0", "200", "5"], "10", True),
        ("plate", "text", [], "unknown", False),
    ]
    for i, (attr, kind, values, default, mutable) in enumerate(attributes, start=1):
        where = f"attribute {i} of car"
        page.get_by_role("button", name="+ Add attribute to car").click()
        page.get_by_label(f"Name of {where}").fill(attr)
        page.get_by_label(f"Input type of {where}").select_option(kind)
        if kind in ("select", "radio"):
            for value in values:
                page.get_by_label(f"New value of {where}").fill(value)
                page.get_by_label(f"New value of {where}").press("Enter")
            page.get_by_label(f"Default value of {where}").select_option(default)
        elif kind == "number":
            for part, value in zip(("Min", "Max", "Step"), values, strict=True):
                page.get_by_label(f"{part} of {where}").fill(value)
            page.get_by_label(f"Default value of {where}").fill(default)
        elif kind == "checkbox":
            page.get_by_label(f"Default value of {where}").select_option(default)
        else:
            page.get_by_label(f"Default value of {where}").fill(default)
        if mutable:
            page.get_by_label(f"Mutable: {where}").check()
    page.get_by_label("Colour of car").fill("#ff6a00")
    page.get_by_role("button", name="+ Add label").click()
    page.get_by_label("Name of label 2").fill("person")
    page.get_by_label("Type of person").select_option("skeleton")  # two joined points
    page.get_by_role("button", name="+ Add point").click()
    page.get_by_label("Name of point 3 of person").fill("head")
    head = page.get_by_role("slider", name="Point head")
    head.focus()
    page.keyboard.press("Shift+ArrowUp")  # 5 up from the middle, then 1 right
    page.keyboard.press("ArrowRight")
    page.get_by_role("button", name="+ Add edge").click()  # joins point 1 and head
    page.get_by_role("article", name="Label car").evaluate("e => e.scrollIntoView()")
    assert_labelled(page)
    shot(page, "labels-editor")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/projects/\d+$"))
    project_id = int(page.url.rsplit("/", 1)[1])

    labels = http.get("/api/labels", params={"project_id": project_id}).json()["results"]
    by_name = {label["name"]: label for label in labels}
    assert set(by_name) == {"car", "person"}
    assert by_name["car"]["color"] == "#ff6a00"
    got = {a["name"]: a for a in by_name["car"]["attributes"]}
    for attr, kind, values, default, mutable in attributes:
        assert got[attr]["input_type"] == kind
        assert got[attr]["default_value"] == default
        assert got[attr]["mutable"] is mutable
        if kind in ("select", "radio", "number"):
            assert got[attr]["values"] == values
    person = by_name["person"]
    assert person["type"] == "skeleton"
    assert [s["name"] for s in person["sublabels"]] == ["point 1", "point 2", "head"]
    assert 'cx="51" cy="45"' in person["svg"]  # moved from (50, 50) by the keys
    assert re.search(r'data-node-from="1"[^>]*data-node-to="3"', person["svg"])

    # The saved labels again in the editor: a new attribute on car, the Raw tab shows it.
    page.get_by_role("button", name="+ Add attribute to car").click()
    page.get_by_label("Name of attribute 6 of car").fill("model")
    page.get_by_label("Input type of attribute 6 of car").select_option("text")
    expect(page.get_by_label("Remove attribute 1 of car")).to_be_disabled()  # saved
    page.get_by_role("tab", name="Raw").click()
    raw = page.get_by_label("Labels as JSON (the API's label list)")
    expect(raw).to_have_value(re.compile('"name": "model"'))
    page.get_by_role("tab", name="Constructor").click()
    page.get_by_role("button", name="Save labels").click()
    expect(page.get_by_role("button", name="Save labels")).to_be_disabled()
    car = http.get("/api/labels", params={"project_id": project_id, "name": "car"}).json()
    assert "model" in {a["name"] for a in car["results"][0]["attributes"]}

    # Rename, then delete behind a confirmation (Cancel keeps it).
    page.get_by_role("button", name="Rename project").click()
    page.get_by_label("New name of the project").fill(f"{name} renamed")
    page.get_by_label("New name of the project").press("Enter")
    expect(page.get_by_role("heading", name=f"{name} renamed", level=1)).to_be_visible()
    assert http.get(f"/api/projects/{project_id}").json()["name"] == f"{name} renamed"
    confirm = page.get_by_role("dialog", name="Delete project")
    page.get_by_role("button", name="Delete", exact=True).click()
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert http.get(f"/api/projects/{project_id}").status_code == 200
    page.get_by_role("button", name="Delete", exact=True).click()
    confirm.get_by_role("button", name="Delete project").click()
    expect(page).to_have_url(re.compile(r"/projects$"))
    assert http.get(f"/api/projects/{project_id}").status_code == 404


def test_save_takes_the_json_being_typed_on_the_raw_tab(
    server: Server, page: Any, http: httpx.Client
) -> None:
    r = http.post("/api/projects", json={"name": unique("raw"), "labels": [{"name": "car"}]})
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]

    def saved() -> list[str]:
        found = http.get("/api/labels", params={"project_id": project_id}).json()["results"]
        return sorted(label["name"] for label in found)

    signed_in(page, server, f"/projects/{project_id}")
    save = page.get_by_role("button", name="Save labels")
    page.get_by_role("tab", name="Raw").click()
    raw = page.get_by_label("Labels as JSON (the API's label list)")
    expect(raw).to_have_value(re.compile('"name": "car"'))
    typed = [*json.loads(raw.input_value()), {"name": "bus", "color": "#123456"}]
    raw.fill(json.dumps(typed))  # neither "Apply JSON" nor a tab switch
    expect(page.get_by_text("1 unsaved change")).to_be_visible()
    save.click()
    expect(page.get_by_role("region", name="Notifications")).to_contain_text("Labels saved")
    assert saved() == ["bus", "car"]
    expect(save).to_be_disabled()

    # JSON that does not parse: Save says so and sends nothing; Reset brings the labels back.
    raw.fill('[{"name": "truck"')
    save.click()
    expect(page.get_by_role("alert").filter(has_text="Raw tab")).to_contain_text("Not valid JSON")
    assert saved() == ["bus", "car"]
    page.get_by_role("button", name="Reset").click()
    expect(raw).to_have_value(re.compile('"name": "bus"'))
    expect(save).to_be_disabled()


def test_a_task_from_uploaded_images_is_followed_to_its_jobs(
    server: Server, page: Any, http: httpx.Client, tmp_path: Path
) -> None:
    frames, segment = 5, 2
    files = []
    for i in range(frames):
        path = tmp_path / f"frame_{i}.png"
        street_picture(i).save(path)
        files.append(str(path))
    name = unique("uploaded")
    signed_in(page, server, "/tasks/create")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="+ Add label").click()
    page.get_by_label("Name of label 1").fill("car")
    page.get_by_label("Files: images, a video, archives (or drop them here)").set_input_files(files)
    expect(page.get_by_text(f"{frames} files")).to_be_visible()
    page.get_by_text("Advanced").click()
    page.get_by_label("Segment size (frames per job)").fill(str(segment))
    page.evaluate("window.scrollTo(0, 0)")
    assert_labelled(page)
    shot(page, "create-task")
    page.get_by_role("button", name="Create task").click()

    expect(page.get_by_role("progressbar", name="Upload progress")).to_have_attribute(
        "aria-valuenow", "100"
    )
    expect(page.get_by_role("progressbar", name="Task creation progress")).to_have_attribute(
        "aria-valuenow", "100", timeout=60_000
    )
    expect(page.get_by_role("heading", name="Task created")).to_be_visible()
    page.locator("#main").get_by_role("link", name="Open the task").click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    task_id = int(page.url.rsplit("/", 1)[1])
    rows = page.locator("tr[data-job-id]")
    expect(rows).to_have_count(math.ceil(frames / segment))
    task = http.get(f"/api/tasks/{task_id}").json()
    assert task["name"] == name and task["size"] == frames
    jobs = http.get("/api/jobs", params={"task_id": task_id, "sort": "id"}).json()["results"]
    assert [int(r) for r in rows.evaluate_all("rs => rs.map(r => r.dataset.jobId)")] == [
        j["id"] for j in jobs
    ]
    expect(page.get_by_role("link", name=f"Open job #{jobs[0]['id']}")).to_have_attribute(
        "href", f"/tasks/{task_id}/jobs/{jobs[0]['id']}"
    )
    assert_labelled(page)
    shot(page, "task-page")


def test_a_jobs_stage_state_and_assignee_change_on_the_task_page(
    server: Server, page: Any, http: httpx.Client
) -> None:
    name = unique("workflow")
    api = Api(server, name=name)
    done = api.create([(f"{i}.png", png(street_picture(i))) for i in range(2)])
    assert done["status"] == "finished", done
    job_id = http.get("/api/jobs", params={"task_id": api.task_id}).json()["results"][0]["id"]
    annotator = register(server.url)
    signed_in(page, server, f"/tasks/{api.task_id}")

    def changed(control: str, action: Any) -> None:
        with page.expect_response(
            lambda r: r.request.method == "PATCH" and r.url.endswith(f"/api/jobs/{job_id}")
        ) as answer:
            action(page.get_by_label(f"{control} of job #{job_id}"))
        assert answer.value.ok, answer.value.text()

    changed("Stage", lambda c: c.select_option("validation"))
    changed("State", lambda c: c.select_option("in progress"))
    changed("Assignee", lambda c: (c.fill(str(annotator["username"])), c.press("Enter")))
    job = http.get(f"/api/jobs/{job_id}").json()
    assert (job["stage"], job["state"]) == ("validation", "in progress")
    assert job["assignee"]["id"] == annotator["id"]
    page.reload()
    expect(page.get_by_label(f"Stage of job #{job_id}")).to_have_value("validation")
    expect(page.get_by_label(f"State of job #{job_id}")).to_have_value("in progress")
    expect(page.get_by_label(f"Assignee of job #{job_id}")).to_have_value(
        str(annotator["username"])
    )
    # The jobs list filters by the new stage and finds it by its task's name.
    page.goto(f"/jobs?stage=validation&search={quote(name)}")
    expect(page.locator("tr[data-job-id]")).to_have_count(1)
    # Unassigning: an empty box means nobody.
    changed("Assignee", lambda c: (c.fill(""), c.press("Enter")))
    assert http.get(f"/api/jobs/{job_id}").json()["assignee"] is None
    page.goto("/tasks")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    previews = "[...document.querySelectorAll('.preview-cell img')]"
    page.wait_for_function(f"{previews}.every(i => i.complete && i.naturalWidth)")
    shot(page, "tasks-list")


def test_search_and_paging_of_the_tasks_list(server: Server, page: Any, http: httpx.Client) -> None:
    prefix = f"paged{uuid.uuid4().hex[:6]}"
    count = 12
    for i in range(count):
        r = http.post("/api/tasks", json={"name": f"{prefix} {i:02}", "labels": [{"name": "a"}]})
        assert r.status_code == 201, r.text
    signed_in(page, server, "/tasks")
    page.get_by_label("Search tasks").fill(prefix)
    page.get_by_label("Search tasks").press("Enter")
    expect(page).to_have_url(re.compile(rf"search={prefix}"))
    pager = page.get_by_role("navigation", name="Pages of tasks")
    expect(pager).to_contain_text(f"Page 1 of 2 · {count} tasks")
    rows = page.locator("table.list-table tbody tr")
    expect(rows).to_have_count(10)
    page.get_by_label("Sort").select_option("name")
    expect(rows.first).to_contain_text(f"{prefix} 00")
    pager.get_by_role("button", name="Next page").click()
    expect(pager).to_contain_text("Page 2 of 2")
    expect(rows).to_have_count(count - 10)
    expect(rows.last).to_contain_text(f"{prefix} {count - 1:02}")
    pager.get_by_label("Per page").select_option("20")
    expect(rows).to_have_count(count)
    expect(page).not_to_have_url(re.compile(r"page=2"))
    # The list state lives in the address: a reload shows the same page.
    page.reload()
    expect(rows).to_have_count(count)
    page.get_by_label("Search tasks").fill(f"{prefix} nothing-like-this")
    page.get_by_label("Search tasks").press("Enter")
    expect(page.get_by_text("No task matches.")).to_be_visible()
    # A page past the end (an old link, the last item of a page deleted) falls back to page 1.
    page.goto(f"/tasks?search={prefix}&page=9")
    expect(pager).to_contain_text(f"Page 1 of 2 · {count} tasks")
    expect(rows).to_have_count(10)


def test_export_and_backup_end_in_a_download(server: Server, page: Any, tmp_path: Path) -> None:
    api = Api(server, name=unique("export"))
    done = api.create([(f"{i}.png", png(street_picture(i))) for i in range(2)])
    assert done["status"] == "finished", done
    signed_in(page, server, f"/tasks/{api.task_id}")
    toasts = page.get_by_role("region", name="Notifications")

    page.get_by_role("button", name="Export dataset").click()
    dialog = page.get_by_role("dialog", name=re.compile("^Export"))
    dialog.get_by_label("Format").select_option("CVAT for images 1.1")
    dialog.get_by_label("Include the images").check()
    dialog.get_by_role("button", name="Export").click()
    expect(dialog).to_be_hidden()
    with page.expect_download() as download:
        toasts.get_by_role("link", name="Download").click()
    archive = tmp_path / "export.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert "annotations.xml" in names
    assert sum(name.endswith(".png") for name in names) == 2  # with the images
    for toast in toasts.get_by_role("button", name="Dismiss notification").all():
        toast.click()

    page.get_by_role("button", name="Backup").click()
    with page.expect_download() as download:
        toasts.get_by_role("link", name="Download").click()
    backup = tmp_path / "backup.zip"
    download.value.save_as(backup)
    with zipfile.ZipFile(backup) as zf:
        assert "task.json" in zf.namelist()


def annotated_task(server: Server, http: httpx.Client, **fields: Any) -> tuple[Api, dict[str, Any]]:
    """A task of two frames with one box on frame 1; (the task, the box)."""
    api = Api(server, **fields)
    done = api.create([(f"{i}.png", png(street_picture(i))) for i in range(2)])
    assert done["status"] == "finished", done
    car = http.get("/api/labels", params={"task_id": api.task_id}).json()["results"][0]["id"]
    box = {"type": "rectangle", "frame": 1, "label_id": car, "points": [10.0, 20.0, 90.0, 60.0]}
    r = http.put(f"/api/tasks/{api.task_id}/annotations", json={"shapes": [box]})
    assert r.status_code == 200, r.text
    return api, box


def backup_download(page: Any, path: Path) -> Path:
    """Backup on the open project or task page, then the toast's download, saved at `path`."""
    toasts = page.get_by_role("region", name="Notifications")
    page.get_by_role("button", name="Backup").click()
    with page.expect_download() as download:
        toasts.get_by_role("link", name="Download").click()
    download.value.save_as(path)
    for toast in toasts.get_by_role("button", name="Dismiss notification").all():
        toast.click()
    return path


def restore_backup(page: Any, kind: str, path: Path) -> None:
    """Restore from backup on the open list page; returns once the upload is done."""
    dialog = page.get_by_role("dialog", name=f"Restore a {kind} from a backup")
    page.get_by_role("button", name="Restore from backup").click()
    dialog.get_by_label("Backup file").set_input_files(str(path))
    dialog.get_by_role("button", name="Restore").click()
    expect(dialog).to_be_hidden()


def test_a_task_backup_restores_as_a_new_task(
    server: Server, page: Any, http: httpx.Client, tmp_path: Path
) -> None:
    name = unique("round trip")
    api, box = annotated_task(server, http, name=name)
    signed_in(page, server, f"/tasks/{api.task_id}")
    backup = backup_download(page, tmp_path / "backup.zip")

    # A chunk size (README's knob for proxies) that sends this backup in three TUS chunks.
    chunk = backup.stat().st_size // 3 + 1
    page.evaluate("n => localStorage.setItem('vellum.uploadChunkBytes', String(n))", chunk)
    page.goto("/tasks")
    chunks: list[int] = []  # the Upload-Offset of each PATCH
    page.on(
        "request",
        lambda r: (
            r.method == "PATCH"
            and "/api/tasks/backup/" in r.url
            and chunks.append(int(r.headers["upload-offset"]))
        ),
    )

    # A file that is no backup: the failure says why, and no task is made.
    toasts = page.get_by_role("region", name="Notifications")
    count = http.get("/api/tasks", params={"search": name}).json()["count"]
    broken = tmp_path / "notes.zip"
    broken.write_bytes(b"not a zip at all")
    restore_backup(page, "task", broken)
    failure = toasts.get_by_role("alert").filter(has_text="Restore of notes.zip failed")
    expect(failure).to_contain_text("not a zip archive", timeout=30_000)
    assert http.get("/api/tasks", params={"search": name}).json()["count"] == count

    chunks.clear()
    restore_backup(page, "task", backup)
    assert chunks == [0, chunk, 2 * chunk]
    toasts.get_by_role("link", name="Open the task").click(timeout=60_000)
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    restored = int(page.url.rsplit("/", 1)[1])
    assert restored != api.task_id
    task = http.get(f"/api/tasks/{restored}").json()
    assert (task["name"], task["size"]) == (name, 2)
    shapes = http.get(f"/api/tasks/{restored}/annotations").json()["shapes"]
    assert [(s["frame"], s["points"]) for s in shapes] == [(box["frame"], box["points"])]
    page.goto(f"/tasks?search={quote(name)}")  # the list has both
    expect(page.get_by_role("link", name=name, exact=True)).to_have_count(2)


def test_a_project_backup_restores_with_its_task_and_shapes(
    server: Server, page: Any, http: httpx.Client, tmp_path: Path
) -> None:
    name = unique("project trip")
    r = http.post("/api/projects", json={"name": name, "labels": [{"name": "car"}]})
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]
    api, box = annotated_task(
        server, http, name=unique("its task"), project_id=project_id, labels=[]
    )
    signed_in(page, server, f"/projects/{project_id}")
    backup = backup_download(page, tmp_path / "project.zip")

    page.goto("/projects")
    restore_backup(page, "project", backup)
    toasts = page.get_by_role("region", name="Notifications")
    toasts.get_by_role("link", name="Open the project").click(timeout=60_000)
    expect(page).to_have_url(re.compile(r"/projects/\d+$"))
    restored = int(page.url.rsplit("/", 1)[1])
    assert restored != project_id
    assert http.get(f"/api/projects/{restored}").json()["name"] == name
    made = http.get("/api/tasks", params={"project_id": restored}).json()["results"]
    original = http.get(f"/api/tasks/{api.task_id}").json()
    assert [(t["name"], t["size"]) for t in made] == [(original["name"], original["size"])]
    shapes = http.get(f"/api/tasks/{made[0]['id']}/annotations").json()["shapes"]
    restored_car = http.get("/api/labels", params={"project_id": restored}).json()["results"]
    assert [(s["frame"], s["points"], s["label_id"]) for s in shapes] == [
        (box["frame"], box["points"], restored_car[0]["id"])
    ]
    # The restored project's page lists its task.
    tasks_region = page.get_by_role("region", name="Tasks")
    expect(tasks_region.get_by_role("link", name=original["name"], exact=True)).to_be_visible()
    page.goto(f"/projects?search={quote(name)}")  # the list has both
    expect(page.get_by_role("link", name=name, exact=True)).to_have_count(2)


def test_a_dataset_imported_into_a_project_makes_its_tasks(
    server: Server, page: Any, http: httpx.Client, tmp_path: Path
) -> None:
    source = new_task(server)
    annotate(source)
    done = export(source, f"/api/tasks/{source.task_id}/dataset/export", save_images="True")
    assert done["status"] == "finished", done
    archive = tmp_path / "cars.zip"
    archive.write_bytes(http.get(done["result_url"]).content)
    r = http.post("/api/projects", json={"name": unique("imported"), "labels": LABELS})
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]
    signed_in(page, server, f"/projects/{project_id}")
    expect(page.get_by_text("No tasks in this project yet.")).to_be_visible()
    page.get_by_role("button", name="Import dataset").click()
    dialog = page.get_by_role("dialog", name=re.compile("^Import a dataset"))
    dialog.get_by_label("Format").select_option(COCO)
    dialog.get_by_label("Dataset file").set_input_files(str(archive))
    dialog.get_by_role("button", name="Import").click()
    expect(dialog).to_be_hidden()
    # The project's tasks are listed again when the import is done: a task per subset.
    listed = page.get_by_role("region", name="Tasks").get_by_role("listitem").get_by_role("link")
    expect(listed).to_have_count(1, timeout=60_000)
    made = http.get("/api/tasks", params={"project_id": project_id}).json()["results"]
    assert [t["size"] for t in made] == [http.get(f"/api/tasks/{source.task_id}").json()["size"]]
    expect(listed).to_have_text(made[0]["name"])


def test_my_jobs_and_the_reviewers_view(server: Server, page: Any, http: httpx.Client) -> None:
    name = unique("views")
    api = Api(server, name=name, segment_size=1)
    done = api.create([(f"{i}.png", png(street_picture(i))) for i in range(3)])
    assert done["status"] == "finished", done
    listed = http.get("/api/jobs", params={"task_id": api.task_id, "sort": "id"}).json()
    mine, review, other = (j["id"] for j in listed["results"])
    reviewer = register(server.url)
    for job, body in [
        (mine, {"assignee": reviewer["id"]}),
        (review, {"assignee": reviewer["id"], "stage": "validation"}),
        (other, {"stage": "validation"}),
    ]:
        assert http.patch(f"/api/jobs/{job}", json=body).status_code == 200
    r = page.request.post(
        "/api/auth/login", data={"username": reviewer["username"], "password": PASSWORD}
    )
    assert r.ok, r.text()
    page.goto(f"/jobs?search={quote(name)}&sort=id")
    views = page.get_by_role("group", name="Views of the jobs")
    rows = page.locator("tr[data-job-id]")
    shown = "rs => rs.map(r => Number(r.dataset.jobId))"
    views.get_by_role("button", name="My jobs").click()
    expect(page).to_have_url(re.compile(rf"assignee={reviewer['username']}"))
    expect(views.get_by_role("button", name="My jobs")).to_have_attribute("aria-pressed", "true")
    expect(rows).to_have_count(2)
    assert rows.evaluate_all(shown) == [mine, review]
    views.get_by_role("button", name="To review").click()
    expect(page.get_by_role("combobox", name="Stage", exact=True)).to_have_value("validation")
    expect(rows).to_have_count(1)
    assert rows.evaluate_all(shown) == [review]
    # Changing a filter by hand leaves the views: none is pressed.
    page.get_by_role("combobox", name="State", exact=True).select_option("completed")
    expect(views.locator("[aria-pressed=true]")).to_have_count(0)
    expect(page.get_by_text("No job matches.")).to_be_visible()
    views.get_by_role("button", name="All jobs").click()
    # The reviewer may see only the task's jobs assigned to them (the admin sees all three).
    assert http.get("/api/jobs", params={"search": name}).json()["count"] == 3
    expect(rows).to_have_count(2)
