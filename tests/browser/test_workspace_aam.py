"""CVAT's attribute annotation mode in the workspace: the current object zoomed and
centred, its attribute's values as numbered buttons picked by the digit keys, Up/Down for
the attribute, Tab/Shift+Tab for the object, the label switchable; checked through the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import shot
from tests.browser.test_workspace import Job, http, open_job
from tests.conftest import Server

__all__ = ["http"]  # the module-scoped admin client fixture

CENTRE = """() => { const c = window.__vellum.canvas, r = c.canvas.getBoundingClientRect();
    return c.toImage({ clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 }); }"""


def centre(page: Any) -> list[float]:
    return list(page.evaluate(CENTRE))


def attrs(job: Job, shape_id: int) -> dict[int, str]:
    shape = next(s for s in job.annotations()["shapes"] if s["id"] == shape_id)
    return {a["spec_id"]: a["value"] for a in shape["attributes"]}


def test_attribute_annotation_mode(server: Server, http: httpx.Client, page: Any) -> None:
    job = Job(http, frames=2)
    car = job.labels["car"]
    spec = {a["name"]: a["id"] for a in car["attributes"]}
    boxes = [[20, 20, 120, 80], [400, 300, 500, 380]]
    shapes = [{"type": "rectangle", "frame": 0, "label_id": car["id"], "points": b} for b in boxes]
    assert http.put(f"/api/jobs/{job.id}/annotations", json={"shapes": shapes}).status_code == 200
    first, second = sorted(s["id"] for s in job.annotations()["shapes"])
    open_job(page, job, server.admin)
    fit = page.evaluate("window.__vellum.canvas.view.scale")

    page.get_by_label("Attribute mode").check()
    panel = page.get_by_role("region", name="Attribute annotation")
    panel.locator(".ws-aam-title", has_text=f"#{first} · 1 of 2").wait_for()
    page.wait_for_function(f"window.__vellum.canvas.view.scale > {fit} * 1.5")
    assert centre(page) == pytest.approx([70, 50], abs=2)
    assert (
        panel.get_by_role("button", name="red", exact=True).get_attribute("aria-pressed") == "true"
    )
    shot(page, "workspace-attribute-mode")

    canvas = page.locator("canvas")
    canvas.focus()
    canvas.press("2")  # the second value of the first attribute
    job.wait(lambda d: attrs(job, first).get(spec["color"]) == "blue")
    panel.get_by_role("button", name="blue", exact=True).and_(
        page.locator("[aria-pressed='true']")
    ).wait_for()
    canvas.press("ArrowDown")
    panel.get_by_role("heading", name="parked").wait_for()
    canvas.press("2")  # checkbox: 1 false, 2 true
    job.wait(lambda d: attrs(job, first).get(spec["parked"]) == "true")

    canvas.press("Tab")  # the next object, zoomed and centred; the focus stays on the image
    panel.locator(".ws-aam-title", has_text=f"#{second} · 2 of 2").wait_for()
    page.wait_for_function(f"({CENTRE})()[0] > 400")
    assert centre(page) == pytest.approx([450, 340], abs=2)
    assert page.evaluate("document.activeElement.tagName") == "CANVAS"
    canvas.press("Shift+Tab")
    panel.locator(".ws-aam-title", has_text=f"#{first} · 1 of 2").wait_for()

    # the label is switchable here; a label without attributes says so
    panel.get_by_label("Current object's label").select_option(label="person")
    panel.get_by_text("has no attributes").wait_for()
    job.wait(lambda d: next(s for s in d["shapes"] if s["id"] == first)["label_id"] != car["id"])
    assert attrs(job, second) == {}  # the other object was not touched

    page.get_by_label("Attribute mode").uncheck()
    page.wait_for_function(f"Math.abs(window.__vellum.canvas.view.scale - {fit}) < 1e-6")
