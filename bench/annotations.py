"""PUT then GET of one job holding 50,000 rectangles and 500 tracks of 20 keyframes, over
HTTP against a `vellum serve` started here, against msgspec encoding + decoding the same
payload in the same run. The server's peak RSS growth is sampled with psutil throughout.

Figures: annotations.put_50k_s, annotations.get_50k_s (ratio = ours / msgspec round trip),
annotations.put_50k_peak_mb."""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psutil
from _common import log, median, report, services
from PIL import Image

SHAPES = int(os.environ.get("BENCH_ANNOTATIONS_SHAPES", "50000"))
TRACKS = 500
KEYFRAMES = 20
FRAMES = 100
ROUNDS = int(os.environ.get("BENCH_ANNOTATIONS_ROUNDS", "3"))
ADMIN = ("admin", "bench-Passw0rd!")
VELLUM = str(Path(sys.executable).with_name("vellum"))


@contextlib.contextmanager
def serve(database_url: str, redis_url: str) -> Iterator[tuple[str, psutil.Process]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = tempfile.mkdtemp(prefix="vellum-bench-serve-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VELLUM_")}
    env.update(
        VELLUM_DATABASE_URL=database_url, VELLUM_REDIS_URL=redis_url, VELLUM_PORT=str(port),
        VELLUM_DATA_DIR=data, VELLUM_ADMIN_USER=ADMIN[0], VELLUM_ADMIN_PASSWORD=ADMIN[1],
        VELLUM_LOG_FORMAT="json", VELLUM_LOG_LEVEL="warning",
    )  # fmt: skip
    log_file = open(Path(data) / "serve.log", "wb")
    proc = subprocess.Popen([VELLUM, "serve"], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError((Path(data) / "serve.log").read_text()[-3000:])
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/server/about", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("vellum serve did not answer")
            time.sleep(0.2)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()
        shutil.rmtree(data, ignore_errors=True)


def images_task(
    http: httpx.Client, count: int, *, segment_size: int = 0, size: tuple[int, int] = (64, 48)
) -> tuple[list[int], int]:
    """A task of `count` tiny images through the upload protocol, cut into jobs of
    `segment_size` frames (0: one job). Returns (its job ids in order, its label id)."""
    r = http.post("/api/tasks", json={"name": "bench", "labels": [{"name": "car"}],
                                      "segment_size": segment_size})  # fmt: skip
    r.raise_for_status()
    task_id = r.json()["id"]
    url = f"/api/tasks/{task_id}/data/"
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, format="PNG")
    http.post(url, headers={"Upload-Start": ""}).raise_for_status()
    files = [(f"client_files[{i}]", (f"{i:04}.png", out.getvalue())) for i in range(count)]
    http.post(url, headers={"Upload-Multiple": ""}, files=files).raise_for_status()
    r = http.post(url, headers={"Upload-Finish": ""}, json={"image_quality": 70})
    r.raise_for_status()
    rq_id = r.json()["rq_id"]
    while (status := http.get(f"/api/requests/{rq_id}").json()["status"]) != "finished":
        if status == "failed":
            raise RuntimeError("task data failed")
        time.sleep(0.1)
    params = {"task_id": task_id, "page_size": "all"}
    jobs = http.get("/api/jobs", params=params).json()["results"]
    labels = http.get("/api/labels", params={"task_id": task_id}).json()["results"]
    return sorted(int(j["id"]) for j in jobs), int(labels[0]["id"])


def payload(label_id: int) -> dict[str, Any]:
    rng = random.Random(4)

    def box() -> list[float]:
        x, y = round(rng.uniform(0, 600), 2), round(rng.uniform(0, 400), 2)
        return [x, y, round(x + rng.uniform(5, 80), 2), round(y + rng.uniform(5, 80), 2)]

    shapes = [
        {"type": "rectangle", "label_id": label_id, "frame": i % FRAMES, "points": box()}
        for i in range(SHAPES)
    ]
    step = FRAMES // KEYFRAMES
    tracks = [
        {"label_id": label_id, "frame": 0, "shapes": [
            {"type": "rectangle", "frame": k * step, "points": box(),
             "outside": k == KEYFRAMES - 1} for k in range(KEYFRAMES)
        ]}
        for _ in range(TRACKS)
    ]  # fmt: skip
    return {"shapes": shapes, "tracks": tracks, "tags": []}


def msgspec_round_trip(data: dict[str, Any]) -> float:
    started = time.perf_counter()
    msgspec.json.decode(msgspec.json.encode(data))
    return time.perf_counter() - started


class PeakRss:
    """Samples a process's RSS every 5 ms in a thread; `peak` is the highest seen."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    with services() as (database_url, redis_url), serve(database_url, redis_url) as (url, proc):
        with httpx.Client(base_url=url, auth=ADMIN, timeout=300) as http:
            (job_id,), label_id = images_task(http, FRAMES)
            data = payload(label_id)
            body = msgspec.json.encode(data)
            log(f"job {job_id}: payload {len(body) / 1e6:.1f} MB")
            path = f"/api/jobs/{job_id}/annotations/"
            baseline = median([msgspec_round_trip(data) for _ in range(5)])
            rss_before = proc.memory_info().rss
            puts, gets = [], []
            with PeakRss(proc) as sampler:
                for _ in range(ROUNDS):
                    started = time.perf_counter()
                    r = http.put(path, content=body,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
                    puts.append(time.perf_counter() - started)
                    r.raise_for_status()
                    started = time.perf_counter()
                    r = http.get(path)
                    got = r.content
                    gets.append(time.perf_counter() - started)
                    r.raise_for_status()
                    log(f"PUT {puts[-1]:.3f}s GET {gets[-1]:.3f}s ({len(got) / 1e6:.1f} MB)")
            answer = msgspec.json.decode(got)
            assert len(answer["shapes"]) == SHAPES and len(answer["tracks"]) == TRACKS
    put_s, get_s = median(puts), median(gets)
    peak_mb = (sampler.peak - rss_before) / 2**20
    report("annotations.put_50k_s", put_s, "s", baseline, "value <= 2", put_s <= 2.0,
           runs=[round(v, 3) for v in puts])  # fmt: skip
    report("annotations.get_50k_s", get_s, "s", baseline, "value <= 0.5", get_s <= 0.5,
           runs=[round(v, 3) for v in gets])  # fmt: skip
    report("annotations.put_50k_peak_mb", peak_mb, "MB", len(body) / 2**20,
           "ratio <= 64 (growth / payload size)", peak_mb <= 64 * len(body) / 2**20)  # fmt: skip


if __name__ == "__main__":
    main()
