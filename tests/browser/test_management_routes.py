"""Addresses that are wrong or go stale in Chromium against the real server: a job under
another task's number is replaced by its own address, an object that does not exist or is
not visible gets a "not found" page with the way back, and a session that ends in the middle
of use (its cookie gone) sends the user to sign in and back to the page they were opening."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.api.iam_helpers import PASSWORD, register
from tests.api.test_task_data import Api
from tests.browser.test_management import png, sign_in_form, signed_in, street_picture, unique
from tests.conftest import Server

LOADED = "canvas.ws-canvas[data-loaded='1']"


@pytest.fixture(scope="module")
def task(server: Server) -> tuple[int, int]:
    """(task id, its first job id) of a task with two frames."""
    api = Api(server, name=unique("routes"))
    done = api.create([(f"{i}.png", png(street_picture(i))) for i in range(2)])
    assert done["status"] == "finished", done
    listed = api.http.get("/api/jobs", params={"task_id": api.task_id, "sort": "id"}).json()
    return api.task_id, listed["results"][0]["id"]


def test_a_job_under_another_tasks_number_gets_its_own_address(
    server: Server, page: Any, task: tuple[int, int]
) -> None:
    task_id, job_id = task
    signed_in(page, server, "/jobs")
    expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()
    page.goto(f"/tasks/{task_id + 1000}/jobs/{job_id}?frame=1")
    expect(page).to_have_url(re.compile(rf"/tasks/{task_id}/jobs/{job_id}\?frame=1$"))
    page.wait_for_selector(LOADED)
    page.go_back()  # replaced, not pushed: back goes to the page before
    expect(page).to_have_url(re.compile(r"/jobs$"))


@pytest.mark.parametrize(
    ("path", "heading", "back"),
    [
        ("/tasks/987654321", "Task #987654321 not found", "tasks"),
        ("/projects/987654321", "Project #987654321 not found", "projects"),
        ("/projects/abc", "Project #? not found", "projects"),
        ("/cloudstorages/987654321", "Cloud storage #987654321 not found", "cloud storages"),
        ("/tasks/1/jobs/987654321", "Job #987654321 not found", "jobs"),
    ],
)
def test_a_missing_object_gets_a_not_found_page_with_the_way_back(
    server: Server, page: Any, path: str, heading: str, back: str
) -> None:
    signed_in(page, server, path)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    page.get_by_role("link", name=f"Back to the {back}").click()
    expect(page).to_have_url(re.compile("/" + back.replace(" ", "") + "$"))


def test_objects_one_may_not_see_are_not_found_either(
    server: Server, page: Any, http: httpx.Client, task: tuple[int, int]
) -> None:
    task_id, job_id = task
    other = register(server.url)
    r = page.request.post(
        "/api/auth/login", data={"username": other["username"], "password": PASSWORD}
    )
    assert r.ok, r.text()
    assert http.get(f"/api/tasks/{task_id}").status_code == 200  # it exists
    page.goto(f"/tasks/{task_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Task #{task_id} not found")
    page.goto(f"/tasks/{task_id}/jobs/{job_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Job #{job_id} not found")


def test_a_session_that_ends_sends_to_sign_in_and_back_to_the_job(
    server: Server, page: Any, task: tuple[int, int]
) -> None:
    task_id, job_id = task
    signed_in(page, server, f"/tasks/{task_id}")
    open_link = page.get_by_role("link", name=f"Open job #{job_id}")
    expect(open_link).to_be_visible()
    # The session ends while the page is open (expired, or signed out elsewhere); the app
    # only learns of it from the next request's 401.
    page.context.clear_cookies(name="sessionid")
    open_link.click()  # a client-side navigation: no page load asks who is signed in
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    sign_in_form(page, *server.admin)
    expect(page).to_have_url(re.compile(rf"/tasks/{task_id}/jobs/{job_id}$"))
    page.wait_for_selector(LOADED)
