"""Accessibility of the management pages in Chromium: every page (and the dialogs) passes
the automated audit of a11y.py, and a keyboard alone signs in and creates a project."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.api.iam_helpers import PASSWORD, register
from tests.api.test_task_data import Api
from tests.browser.a11y import audit
from tests.browser.test_management import png, signed_in, street_picture, unique
from tests.conftest import Server

# The accessible name of the focused element, as a screen reader would say it (mostly).
FOCUSED_NAME_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return '';
  const by = (el.getAttribute('aria-labelledby') || '').split(' ')
    .map(id => document.getElementById(id)?.textContent || '').join(' ');
  return (el.getAttribute('aria-label') || by.trim()
    || [...(el.labels || [])].map(l => l.textContent).join(' ') || el.textContent || '').trim();
}"""


def tab_to(page: Any, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element is called `name` (so Tab reaches it)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        current = page.evaluate(FOCUSED_NAME_JS)
        if current == name:
            return
        seen.append(current)
    raise AssertionError(f"Tab never reached {name!r}; it went through {seen}")


def test_every_management_page_passes_the_audit(server: Server, page: Any) -> None:
    api = Api(server, name=unique("audit"))
    done = api.create([(f"{i}.png", png(street_picture(i))) for i in range(2)])
    assert done["status"] == "finished", done
    project = api.http.post(
        "/api/projects", json={"name": unique("audit"), "labels": [{"name": "car"}]}
    )
    assert project.status_code == 201, project.text
    for path in ("/auth/login", "/auth/register"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        audit(page)
    pages = [
        "/projects", "/projects/create", f"/projects/{project.json()['id']}", "/tasks",
        "/tasks/create", f"/tasks/{api.task_id}", "/jobs", "/requests", "/cloudstorages",
        "/cloudstorages/create", "/no/such/page", "/tasks/987654321",
    ]  # fmt: skip
    signed_in(page, server, pages[0])
    for path in pages:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
        audit(page)
    # The dialogs of a task page, and the Raw tab of the labels editor.
    page.goto(f"/tasks/{api.task_id}")
    for button in ("Export dataset", "Import annotations"):
        page.get_by_role("button", name=button).click()
        expect(page.get_by_role("dialog")).to_be_visible()
        audit(page)
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()
    page.get_by_role("tab", name="Raw").click()
    audit(page)
    page.goto("/tasks")
    page.get_by_role("button", name="Restore from backup").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    audit(page)


def test_sign_in_and_create_a_project_with_the_keyboard_only(
    server: Server, page: Any, http: httpx.Client
) -> None:
    user = register(server.url)
    page.goto("/projects")
    expect(page).to_have_url(re.compile(r"/auth/login"))
    tab_to(page, "Username or e-mail")
    page.keyboard.type(str(user["username"]))
    tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Projects", level=1)).to_be_visible()
    tab_to(page, "+ Create project")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/projects/create$"))
    name = unique("keyboard")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()  # it takes the focus
    page.keyboard.type(name)
    tab_to(page, "+ Add label")
    page.keyboard.press("Enter")
    tab_to(page, "Name of label 1")
    page.keyboard.type("car")
    tab_to(page, "Create project")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/projects/\d+$"))
    project_id = int(page.url.rsplit("/", 1)[1])
    made = http.get(f"/api/projects/{project_id}").json()
    assert made["name"] == name and made["owner"]["username"] == user["username"]
    labels = http.get("/api/labels", params={"project_id": project_id}).json()["results"]
    assert [label["name"] for label in labels] == ["car"]
