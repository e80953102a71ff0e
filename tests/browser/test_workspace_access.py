"""Read-only participants in the workspace: a stage change makes the assignee a reviewer
live (banner with the server's reason, no drawing or editing, issues still open to them)
and back an annotator."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.api.iam_helpers import PASSWORD, register
from tests.browser.conftest import shot
from tests.browser.test_workspace import Job, answer, drag, http, open_job, tool, view_count
from tests.conftest import Server

__all__ = ["http"]  # the module-scoped admin client fixture


def pending(page: Any) -> int:
    return int(page.evaluate("window.__vellum.ws.store.queued"))


def test_assignee_turns_read_only_in_validation_and_back(
    server: Server, http: httpx.Client, page: Any
) -> None:
    job = Job(http, frames=2)
    other = register(server.url)
    assert http.patch(f"/api/jobs/{job.id}", json={"assignee": other["id"]}).status_code == 200
    open_job(page, job, (str(other["username"]), PASSWORD))
    tool(page, "Rectangle")
    drag(page, (40, 40), (140, 100))
    [rect] = job.wait(lambda d: len(d["shapes"]) == 1)["shapes"]
    page.wait_for_function("window.__vellum.ws.store.queued === 0")

    # the admin moves the job to validation: the open workspace turns read-only at once
    assert http.patch(f"/api/jobs/{job.id}", json={"stage": "validation"}).status_code == 200
    banner = page.locator(".ws-readonly")
    banner.wait_for(timeout=3000)
    assert "job is in validation" in banner.inner_text()
    assert page.get_by_role("button", name="Rectangle", exact=True).is_disabled()
    assert page.get_by_role("button", name="Undo").is_disabled()
    # the controls that only choose what to draw are off too, saying why
    label = page.get_by_label("Label to draw")
    assert label.is_disabled()
    assert "job is in validation" in (label.get_attribute("aria-description") or "")
    assert page.get_by_role("radio", name="Track").is_disabled()
    shot(page, "workspace-read-only")
    # no drawing: N does not bring the tool back, a drag on the rectangle does not move it
    page.locator("canvas").focus()
    page.keyboard.press("n")
    page.locator(".ws-toast").filter(has_text="Read-only: job is in validation").first.wait_for()
    drag(page, (90, 70), (300, 300))
    page.keyboard.press("Delete")
    assert view_count(page) == 1 and pending(page) == 0  # local edits show at once: none
    assert (
        page.evaluate(f"window.__vellum.ws.store.view.shapes.get({rect['id']}).points")
        == (rect["points"])
    )

    # a reviewer still opens an issue on a region
    tool(page, "Issue")
    drag(page, (30, 30), (150, 110))
    answer(page, "Describe the issue", "Box too loose")
    deadline = time.monotonic() + 10
    while not (issues := http.get("/api/issues", params={"job_id": job.id}).json()["results"]):
        assert time.monotonic() < deadline, "the reviewer's issue did not arrive"
        time.sleep(0.1)
    assert issues[0]["owner"]["id"] == other["id"]

    # back to annotation: editing is on again, without a reload
    assert http.patch(f"/api/jobs/{job.id}", json={"stage": "annotation"}).status_code == 200
    banner.wait_for(state="detached", timeout=3000)
    assert label.is_enabled() and label.get_attribute("aria-description") is None
    assert page.get_by_role("radio", name="Track").is_enabled()
    tool(page, "Rectangle")
    drag(page, (300, 200), (400, 260))
    data = job.wait(lambda d: len(d["shapes"]) == 2)
    assert next(s for s in data["shapes"] if s["id"] == rect["id"])["points"] == rect["points"]


def test_a_session_ended_while_the_job_is_open_goes_to_sign_in_and_back(
    server: Server, http: httpx.Client, page: Any
) -> None:
    """The socket is authenticated when it opens: once the session is gone, its reconnect is
    refused (4001) and the workspace hands over to sign-in, as a REST 401 does, instead of
    reconnecting for ever."""
    job = Job(http, frames=2)
    other = register(server.url)
    assert http.patch(f"/api/jobs/{job.id}", json={"assignee": other["id"]}).status_code == 200
    user = (str(other["username"]), PASSWORD)
    open_job(page, job, user)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    out = page.request.post("/api/auth/logout", headers={"X-CSRFToken": csrf})
    assert out.ok, out.text()  # signed out elsewhere: the session no longer exists
    page.context.set_offline(True)  # the socket drops and must open again
    page.context.set_offline(False)
    page.wait_for_url("**/auth/login?**")
    page.get_by_label("Username").fill(user[0])
    page.get_by_label("Password").fill(user[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{job.path}")
    page.wait_for_selector(".ws-conn[data-state='live']")
