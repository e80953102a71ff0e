"""The unmodified cvat-cli 2.80 against the real server, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import httpx
from PIL import Image

CLI = str(Path(sys.executable).with_name("cvat-cli"))


def cli(server, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    url = urllib.parse.urlsplit(server.url)
    user, password = server.admin
    env = {k: v for k, v in os.environ.items() if k not in ("PASS", "CVAT_ACCESS_TOKEN")}
    env["HOME"] = str(cwd or Path.cwd())  # profiles live in HOME: keep them out of the user's
    return subprocess.run(
        [CLI, "--server-host", f"http://{url.hostname}", "--server-port", str(url.port),
         "--auth", f"{user}:{password}", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
    )  # fmt: skip


def test_cli_project_create_list_delete(server, tmp_path) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    labels = json.dumps([{"name": "car"}, {"name": "bike"}])
    created = cli(server, "project", "create", name, "--labels", labels, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project_id = int(created.stdout.split()[-1])
    listed = cli(server, "project", "ls", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert str(project_id) in listed.stdout.split()
    with httpx.Client(base_url=server.url, auth=server.admin) as api:
        assert api.get(f"/api/projects/{project_id}").json()["name"] == name
    deleted = cli(server, "project", "delete", str(project_id), cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
    with httpx.Client(base_url=server.url, auth=server.admin) as api:
        assert api.get(f"/api/projects/{project_id}").status_code == 404


def test_cli_task_create_from_images_then_frames_and_delete(server, tmp_path) -> None:
    images = []
    for i in range(5):
        path = tmp_path / f"img_{i}.png"
        Image.new("RGB", (64 + i, 48), (i * 40, 100, 200)).save(path)
        images.append(str(path))
    name = f"cli-task-{uuid.uuid4().hex[:6]}"
    created = cli(
        server, "task", "create", name, "local", *images,
        "--labels", json.dumps([{"name": "car"}]), "--segment_size", "2",
        "--image_quality", "80", cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr + created.stdout
    task_id = int(created.stdout.split()[-1])
    with httpx.Client(base_url=server.url, auth=server.admin) as api:
        task = api.get(f"/api/tasks/{task_id}").json()
        assert task["size"] == 5 and task["jobs"]["count"] == 3
        meta = api.get(f"/api/tasks/{task_id}/data/meta").json()
        assert [f["width"] for f in meta["frames"]] == [64, 65, 66, 67, 68]
    listed = cli(server, "task", "ls", cwd=tmp_path)
    assert str(task_id) in listed.stdout.split()
    frames = cli(server, "task", "frames", str(task_id), "0", "4", "--outdir", str(tmp_path))
    assert frames.returncode == 0, frames.stderr
    saved = sorted(p.name for p in tmp_path.glob(f"task_{task_id}_frame_*"))
    assert len(saved) == 2
    with Image.open(next(tmp_path.glob(f"task_{task_id}_frame_000004*"))) as frame:
        assert frame.size == (68, 48)
    media = Path(server.data_dir) / "data" / "tasks" / str(task_id)
    assert media.is_dir()
    deleted = cli(server, "task", "delete", str(task_id), cwd=tmp_path)
    assert deleted.returncode == 0
    assert not media.exists()  # the task's media went with it
    with httpx.Client(base_url=server.url, auth=server.admin) as api:
        assert api.get(f"/api/tasks/{task_id}").status_code == 404


def test_cli_task_create_from_a_zip_of_images(server, tmp_path) -> None:
    import zipfile

    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in (2, 0, 1):  # stored out of order: the task sorts them by name
            path = tmp_path / f"frame_{i}.jpg"
            Image.new("RGB", (40 + i, 30), (10, 20, 30)).save(path)
            zf.write(path, f"dir/frame_{i}.jpg")
    created = cli(
        server, "task", "create", f"zip-{uuid.uuid4().hex[:6]}", "local", str(archive),
        "--labels", json.dumps([{"name": "car"}]), cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr + created.stdout
    task_id = int(created.stdout.split()[-1])
    with httpx.Client(base_url=server.url, auth=server.admin) as api:
        meta = api.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [f["width"] for f in meta["frames"]] == [40, 41, 42]
    assert [f["name"].rsplit("/", 1)[-1] for f in meta["frames"]] == [
        "frame_0.jpg", "frame_1.jpg", "frame_2.jpg"]  # fmt: skip
