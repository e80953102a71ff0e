"""Stepping through 100 frames as fast as the player can, with frames loaded from whole
chunks (the default for image jobs) and one by one (`?frames=single`): both reach the end,
the chunk loader with one request per chunk. Prints the times (README: Annotation
workspace)."""

from __future__ import annotations

import math
from typing import Any

import httpx

from tests.browser.test_workspace import Job, http
from tests.conftest import Server

__all__ = ["http"]  # the module-scoped admin client fixture

FRAMES = 100
STEP_THROUGH = """async ([count, paced]) => {
  // paced: one step per animation frame, as holding F does (a wait is a frame not ready);
  // else the next step as soon as the frame is decoded: the loader's own throughput.
  const { ws, canvas } = window.__vellum;
  const tick = () => new Promise((r) => requestAnimationFrame(r));
  const soon = () => new Promise((r) => setTimeout(r, 0));
  const t0 = performance.now();
  let waits = 0;
  for (let i = 1; i < count; i++) {
    ws.stepBy(1);
    canvas.frames.show(ws.frame, 1);
    if (paced) await tick();
    while (!canvas.frames.has(ws.frame)) { waits++; await (paced ? tick() : soon()); }
  }
  return { ms: performance.now() - t0, waits, frame: ws.frame };
}"""


def step_through(page: Any, job: Job, query: str, paced: bool) -> dict[str, Any]:
    requests: list[str] = []
    page.on("request", lambda r: "/data?" in r.url and requests.append(r.url))
    page.goto(job.path + query)
    page.wait_for_selector("canvas.ws-canvas[data-loaded='1']")
    page.wait_for_selector(".ws-conn[data-state='live']")
    result = dict(page.evaluate(STEP_THROUGH, [FRAMES, paced]))
    result["requests"] = len(requests)
    return result


def test_stepping_through_100_frames_from_chunks_and_single_frames(
    server: Server, http: httpx.Client, new_page: Any
) -> None:
    job = Job(http, frames=FRAMES)
    chunk_size = int(http.get(f"/api/jobs/{job.id}/data/meta").json()["chunk_size"])
    login = {"username": server.admin[0], "password": server.admin[1]}
    results = {}
    for paced in (False, True):
        for mode, query in (("single frames", "?frames=single"), ("chunks", "")):
            page = new_page()  # a fresh browser cache each time
            assert page.request.post("/api/auth/login", data=login).ok
            run = results[mode, paced] = step_through(page, job, query, paced)
            page.context.close()
            assert run["frame"] == FRAMES - 1
            how = "paced" if paced else "as fast as loaded"
            print(f"\n{FRAMES} frames from {mode}, {how}: {run['ms']:.0f} ms, "
                  f"{run['waits']} waits, {run['requests']} requests")  # fmt: skip
    for paced in (False, True):
        assert results["single frames", paced]["requests"] >= FRAMES
        assert results["chunks", paced]["requests"] <= math.ceil(FRAMES / chunk_size) + 1
