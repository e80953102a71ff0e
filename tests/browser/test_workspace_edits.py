"""Compound edits in the workspace reach the server as one op each: merge (a track made of
shapes on several frames, the shapes gone) and split (the track ends, a new one continues),
each one append and one undo step."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.test_workspace import Job, answer, click, drag, http, open_job, screen, tool
from tests.conftest import Server

__all__ = ["http"]  # the module-scoped admin client fixture


def go(page: Any, frame: int) -> None:
    page.get_by_label("Frame number").fill(str(frame))
    page.get_by_label("Frame number").press("Enter")
    page.wait_for_selector(f"canvas[data-frame='{frame}']")
    page.locator("canvas").focus()


def ops_of(http: httpx.Client, job: Job) -> list[str | None]:
    """The op id of each annotation event of the job, oldest first."""
    history = http.get(f"/api/jobs/{job.id}/history", params={"page_size": 100, "sort": "revision"})
    assert history.status_code == 200, history.text
    return [
        e.get("op_id")
        for e in history.json()["results"]
        if e["type"].startswith(("Objects", "Track"))
    ]


def test_merge_and_split_are_one_op_each(server: Server, http: httpx.Client, page: Any) -> None:
    job = Job(http, frames=4)
    open_job(page, job, server.admin)
    tool(page, "Rectangle")
    drag(page, (40, 40), (140, 100))
    go(page, 2)
    drag(page, (240, 40), (340, 100))
    job.wait(lambda d: len(d["shapes"]) == 2)
    page.wait_for_function("window.__vellum.ws.store.queued === 0")

    tool(page, "Select")
    page.locator("canvas").focus()
    page.keyboard.press("m")
    click(page, 290, 70)
    go(page, 0)
    click(page, 90, 70)
    page.keyboard.press("m")
    data = job.wait(lambda d: not d["shapes"] and len(d["tracks"]) == 1)
    [track] = data["tracks"]
    assert [k["frame"] for k in track["shapes"]] == [0, 2]
    assert [k["points"][0] for k in track["shapes"]] == pytest.approx([40, 240], abs=1.5)

    go(page, 1)  # interpolated half way
    click(page, 190, 70)
    page.keyboard.press("Alt+m")
    data = job.wait(lambda d: len(d["tracks"]) == 2)
    ended = next(t for t in data["tracks"] if t["id"] == track["id"])
    rest = next(t for t in data["tracks"] if t["id"] != track["id"])
    assert [(k["frame"], k["outside"]) for k in ended["shapes"]] == [(0, False), (1, True)]
    assert [k["frame"] for k in rest["shapes"]] == [1, 2]
    assert rest["shapes"][0]["points"][0] == pytest.approx(140, abs=1.5)  # its place on frame 1

    # merge and split were one op each: their events share one op id, nothing else has it
    ops = ops_of(http, job)
    assert len(ops) == 6 and ops[2] == ops[3] and ops[4] == ops[5] and len(set(ops)) == 4
    # so one undo takes the whole split back, the next the whole merge
    page.wait_for_function("window.__vellum.ws.store.queued === 0")
    page.keyboard.press("Control+z")
    data = job.wait(lambda d: len(d["tracks"]) == 1)
    assert [k["frame"] for k in data["tracks"][0]["shapes"]] == [0, 2]
    page.keyboard.press("Control+z")
    job.wait(lambda d: len(d["shapes"]) == 2 and not d["tracks"])


def test_propagate_asks_in_the_page(server: Server, http: httpx.Client, page: Any) -> None:
    """Ctrl+B asks for the frame count in an in-page dialog: Esc drops it, Enter propagates,
    and the keyboard focus is back on the canvas either way."""
    job = Job(http, frames=4)
    open_job(page, job, server.admin)
    tool(page, "Rectangle")
    drag(page, (40, 40), (140, 100))
    job.wait(lambda d: len(d["shapes"]) == 1)
    tool(page, "Select")
    click(page, 90, 70)
    page.locator("canvas").focus()
    page.keyboard.press("Control+b")
    dialog = page.get_by_role("dialog", name="Propagate")
    field = dialog.get_by_label("Following frames to copy the object to")
    assert field.evaluate("e => e === document.activeElement")
    field.press("Escape")
    dialog.wait_for(state="detached")
    assert page.evaluate("document.activeElement.tagName") == "CANVAS"
    assert page.evaluate("window.__vellum.ws.store.queued") == 0

    page.keyboard.press("Control+b")
    answer(page, "Following frames to copy the object to", "2")
    data = job.wait(lambda d: len(d["shapes"]) == 3)
    assert sorted(s["frame"] for s in data["shapes"]) == [0, 1, 2]
    assert page.evaluate("document.activeElement.tagName") == "CANVAS"


def test_cuboid_faces_and_skeleton_points(server: Server, http: httpx.Client, page: Any) -> None:
    """A cuboid's face handle moves that face's points together and a front corner resizes
    the front face with the back face following (still a cuboid); one skeleton point goes
    outside from the sidebar and occluded with Shift+Q under the pointer; all saved."""
    job = Job(http, frames=2)
    front = [200, 200, 200, 280, 300, 200, 300, 280]
    cuboid = front + [v + (20 if i % 2 == 0 else -20) for i, v in enumerate(front)]
    head, tail = job.labels["head"]["id"], job.labels["tail"]["id"]
    skeleton = {
        "type": "skeleton", "frame": 0, "label_id": job.labels["body"]["id"], "points": [],
        "elements": [{"type": "points", "frame": 0, "label_id": head, "points": [480, 100]},
                     {"type": "points", "frame": 0, "label_id": tail, "points": [560, 160]}],
    }  # fmt: skip
    car = job.labels["car"]["id"]
    shapes = [{"type": "cuboid", "frame": 0, "label_id": car, "points": cuboid}, skeleton]
    assert http.put(f"/api/jobs/{job.id}/annotations", json={"shapes": shapes}).status_code == 200
    open_job(page, job, server.admin)

    def shape(kind: str) -> Any:
        return lambda d: next(s for s in d["shapes"] if s["type"] == kind)

    click(page, 250, 240)
    drag(page, (300, 240), (340, 250))  # the right face's handle: x only
    data = job.wait(lambda d: shape("cuboid")(d)["points"][4] > 330)
    points = shape("cuboid")(data)["points"]
    assert points == pytest.approx(
        [200, 200, 200, 280, 340, 200, 340, 280, 220, 180, 220, 260, 360, 180, 360, 260], abs=1.5
    )
    page.wait_for_function("window.__vellum.ws.store.queued === 0")
    drag(page, (340, 280), (360, 300))  # the front's bottom right corner
    data = job.wait(lambda d: shape("cuboid")(d)["points"][3] > 290)
    assert shape("cuboid")(data)["points"] == pytest.approx(
        [200, 200, 200, 300, 360, 200, 360, 300, 220, 180, 220, 280, 380, 180, 380, 280], abs=1.5
    )

    click(page, 480, 100)  # the skeleton, by its head
    page.get_by_role("group", name="Point tail").get_by_role("button", name="Outside").click()
    job.wait(lambda d: [e["outside"] for e in shape("skeleton")(d)["elements"]] == [False, True])
    page.locator("canvas").focus()
    page.mouse.move(*screen(page, 480, 100))
    page.keyboard.press("Shift+Q")
    data = job.wait(lambda d: shape("skeleton")(d)["elements"][0]["occluded"])
    assert [(e["outside"], e["occluded"]) for e in shape("skeleton")(data)["elements"]] == [
        (False, True),
        (True, False),
    ]
