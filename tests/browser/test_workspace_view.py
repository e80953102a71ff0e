"""The workspace's view features: the filter builder (hidden objects, Left/Right to frames
with a match), image rotation (Ctrl+R) with drawing still in image coordinates, and the
settings dialog (frame step for V, grid) kept across a reload."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import shot
from tests.browser.test_workspace import Job, http, open_job, tool
from tests.conftest import Server

__all__ = ["http"]  # the module-scoped admin client fixture


def frame_of(page: Any) -> int:
    return int(page.locator("canvas").get_attribute("data-frame"))


def shown(page: Any) -> list[int]:
    return list(page.evaluate("window.__vellum.ws.objects().map(o => o.id)"))


def page_point(page: Any, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of image point (x, y), rotation included."""
    return tuple(page.evaluate("p => window.__vellum.canvas.pagePoint(p)", [x, y]))  # type: ignore[return-value]


def test_filter_rotation_and_settings(server: Server, http: httpx.Client, page: Any) -> None:
    job = Job(http, frames=6)
    car, person = job.labels["car"]["id"], job.labels["person"]["id"]
    boxes = [(0, car), (0, person), (2, car), (4, person)]
    shapes = [{"type": "rectangle", "frame": f, "label_id": label,
               "points": [10 + 60 * i, 10, 50 + 60 * i, 50]}
              for i, (f, label) in enumerate(boxes)]  # fmt: skip
    assert http.put(f"/api/jobs/{job.id}/annotations", json={"shapes": shapes}).status_code == 200
    ids = {(s["frame"], s["label_id"]): s["id"] for s in job.annotations()["shapes"]}
    open_job(page, job, server.admin)
    page.wait_for_function("window.__vellum.ws.objects().length === 2")

    # filter: label == person hides the car; Right goes to the next frame with a person
    page.get_by_role("button", name="Filter").click()
    page.get_by_label("Rule 1 value").select_option("person")
    shot(page, "workspace-filter")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function("window.__vellum.ws.objects().length === 1")
    assert shown(page) == [ids[(0, person)]]
    assert page.get_by_role("button", name="Filter (1)").is_visible()
    page.locator("canvas").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("canvas[data-frame='4']")  # frame 2 has only a car
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("canvas[data-frame='0']")
    page.get_by_role("button", name="Filter (1)").click()
    page.get_by_role("button", name="Clear filter").click()
    page.wait_for_function("window.__vellum.ws.objects().length === 2")
    page.locator("canvas").focus()
    page.keyboard.press("ArrowRight")  # without a filter: the next frame with any object
    page.wait_for_selector("canvas[data-frame='2']")

    # Ctrl+R turns the image; a rectangle drawn on the turned image is in image coordinates
    page.keyboard.press("Control+r")
    page.wait_for_function("window.__vellum.ws.settings.rotation === 90")
    tool(page, "Rectangle")
    page.mouse.move(*page_point(page, 300, 200))
    page.mouse.down()
    page.mouse.move(*page_point(page, 400, 260), steps=5)
    page.mouse.up()
    data = job.wait(lambda d: len(d["shapes"]) == 5)
    drawn = next(s for s in data["shapes"] if s["id"] not in ids.values())
    assert drawn["frame"] == 2
    assert drawn["points"] == pytest.approx([300, 200, 400, 260], abs=1.5)
    shot(page, "workspace-rotated")

    # settings: step 2 for V, a grid; both kept after a reload
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Frame step (V / C)").fill("2")
    page.get_by_label("Show grid").check()
    shot(page, "workspace-settings")
    page.keyboard.press("Escape")  # from a control inside: the dialog closes
    page.get_by_role("dialog", name="Settings").wait_for(state="hidden")
    # keys inside the help dialog stay there: F does not step the frame behind it
    page.keyboard.press("F1")
    page.get_by_role("button", name="Close").focus()
    page.keyboard.press("f")
    page.keyboard.press("Escape")
    page.get_by_role("dialog", name="Keyboard shortcuts").wait_for(state="hidden")
    assert frame_of(page) == 2
    page.locator("canvas").focus()
    page.keyboard.press("v")
    page.wait_for_selector("canvas[data-frame='4']")
    page.reload()
    page.wait_for_selector(".ws-conn[data-state='live']")
    settings = page.evaluate("window.__vellum.ws.settings")
    assert (settings["step"], settings["grid"], settings["rotation"]) == (2, True, 90)
    assert frame_of(page) == 0
    page.locator("canvas").focus()
    page.keyboard.press("v")
    page.wait_for_selector("canvas[data-frame='2']")


def test_sidebar_layout(server: Server, http: httpx.Client, page: Any) -> None:
    """A checkbox attribute has its box on its name's line; history rows stay one line and
    end in an ellipsis at the sidebar's edge (the whole row in the title)."""
    job = Job(http, frames=2)
    car = job.labels["car"]["id"]
    shapes = [{"type": "rectangle", "frame": 0, "label_id": car, "points": [10, 10, 90, 60]}]
    assert http.put(f"/api/jobs/{job.id}/annotations", json={"shapes": shapes}).status_code == 200
    open_job(page, job, server.admin)
    page.locator(".ws-obj").first.click()
    box = page.get_by_role("checkbox", name="parked").bounding_box()
    row = page.locator("label.ws-field", has_text="parked").bounding_box()
    assert row["height"] < box["height"] * 2 and box["x"] <= row["x"] + 6, (box, row)

    page.get_by_role("tab", name="History").click()
    rows = page.get_by_role("list", name="Job history").get_by_role("button")
    rows.first.wait_for()
    for i in range(rows.count()):
        style = rows.nth(i).evaluate(
            "e => [getComputedStyle(e).textOverflow, e.getBoundingClientRect().height,"
            " e.getBoundingClientRect().right, e.closest('aside').getBoundingClientRect().right]"
        )
        overflow, height, right, edge = style
        assert overflow == "ellipsis" and height < 30 and right <= edge, style
    assert "replaced the annotations" in rows.first.get_attribute("title")


def test_filter_operators_and_groups(server: Server, http: httpx.Client, page: Any) -> None:
    """CVAT's list operator and a nested group with its own join and Not, built in the dialog."""
    job = Job(http, frames=2)
    car, person = job.labels["car"]["id"], job.labels["person"]["id"]
    shapes = [{"type": "rectangle", "frame": 0, "label_id": label,
               "points": [10 + 60 * i, 10, 50 + 60 * i, 50]}
              for i, label in enumerate([car, person, car])]  # fmt: skip
    assert http.put(f"/api/jobs/{job.id}/annotations", json={"shapes": shapes}).status_code == 200
    a, b, c = sorted(s["id"] for s in job.annotations()["shapes"])
    open_job(page, job, server.admin)
    page.wait_for_function("window.__vellum.ws.objects().length === 3")

    page.get_by_role("button", name="Filter").click()
    page.get_by_label("Rule 1 field").select_option(label="Object id")
    page.get_by_label("Rule 1 operator").select_option("in")
    page.get_by_label("Rule 1 value").fill(f"{a}, 999")
    page.get_by_role("button", name="Add group", exact=True).click()
    page.get_by_label("Rule 2.1 value").select_option("person")
    page.get_by_role("group", name="Join of the filter").get_by_label("any").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function("window.__vellum.ws.objects().length === 2")
    assert sorted(shown(page)) == [a, b]
    assert page.get_by_role("button", name="Filter (2)").is_visible()

    page.get_by_role("button", name="Filter (2)").click()
    page.get_by_role("group", name="Join of group 2").get_by_label("Not").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function(f"window.__vellum.ws.objects().map(o => o.id).includes({c})")
    assert sorted(shown(page)) == [a, c]
