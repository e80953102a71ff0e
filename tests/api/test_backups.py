"""Task and project backups through the real server with the unmodified cvat-sdk and
cvat-cli: the archive's layout, a restore that gives back the same task (name, labels,
frames and their pixels, data settings, jobs, annotations), the event history kept with
`with_history`, and broken or malicious archives that fail naming the problem and create
nothing."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_task_data import noise_png

SKELETON_SVG = (
    '<circle r="1.5" cx="10" cy="10" data-type="element node" data-element-id="1"'
    ' data-node-id="1" data-label-name="head"></circle>'
)
LABELS: list[dict[str, Any]] = [
    {
        "name": "car",
        "color": "#ff0000",
        "attributes": [
            {"name": "color", "mutable": False, "input_type": "select",
             "values": ["red", "blue"], "default_value": "red"},
            {"name": "parked", "mutable": True, "input_type": "checkbox", "values": ["false"]},
        ],
    },
    {"name": "person", "color": "#00ff00"},
    {"name": "body", "type": "skeleton", "svg": SKELETON_SVG,
     "sublabels": [{"name": "head", "type": "points"}, {"name": "foot", "type": "points"}]},
]  # fmt: skip


# --- helpers --------------------------------------------------------------------------


def _client(server: Any) -> Any:
    from cvat_sdk import make_client

    host, port = server.url.rsplit(":", 1)
    return make_client(host, port=int(port), credentials=server.admin)


def _http(server: Any) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=server.admin, timeout=60)


def _images(tmp_path: Path, count: int, seed: int) -> list[Path]:
    paths = []
    for index in range(count):
        path = tmp_path / f"img_{index}.png"
        path.write_bytes(noise_png(24 + index, 16 + index, seed + index))
        paths.append(path)
    return paths


def _label_ids(http: httpx.Client, task_id: int) -> dict[str, Any]:
    """name -> (id, {attribute name: id}); sublabels as 'skeleton/point'."""
    r = http.get("/api/labels", params={"task_id": task_id, "page_size": 100})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = {}
    for label in r.json()["results"]:
        out[label["name"]] = (label["id"], {a["name"]: a["id"] for a in label["attributes"]})
        for sub in label["sublabels"]:
            out[f"{label['name']}/{sub['name']}"] = (sub["id"], {})
    return out


def _annotate(http: httpx.Client, task_id: int) -> None:
    ids = _label_ids(http, task_id)
    car, car_attrs = ids["car"]
    body = {
        "shapes": [
            {"type": "rectangle", "label_id": car, "frame": 0, "points": [1, 2, 10, 12],
             "attributes": [{"spec_id": car_attrs["color"], "value": "blue"},
                            {"spec_id": car_attrs["parked"], "value": "true"}],
             "z_order": 2, "occluded": True, "group": 1},
            {"type": "polygon", "label_id": ids["person"][0], "frame": 2,
             "points": [1, 1, 8, 1, 5, 9]},
            {"type": "skeleton", "label_id": ids["body"][0], "frame": 1, "points": [],
             "elements": [
                 {"type": "points", "label_id": ids["body/head"][0], "frame": 1,
                  "points": [3, 3]},
                 {"type": "points", "label_id": ids["body/foot"][0], "frame": 1,
                  "points": [4, 9], "outside": True},
             ]},
        ],
        "tracks": [
            {"label_id": car, "frame": 0,
             "attributes": [{"spec_id": car_attrs["color"], "value": "red"}],
             "shapes": [
                 {"type": "rectangle", "frame": 0, "points": [2, 2, 6, 6],
                  "attributes": [{"spec_id": car_attrs["parked"], "value": "false"}]},
                 {"type": "rectangle", "frame": 1, "points": [3, 3, 7, 7], "outside": True,
                  "attributes": [{"spec_id": car_attrs["parked"], "value": "true"}]},
             ]},
        ],
        "tags": [{"label_id": ids["person"][0], "frame": 1}],
    }  # fmt: skip
    r = http.put(f"/api/tasks/{task_id}/annotations", json=body)
    assert r.status_code == 200, r.text


def _canonical(http: httpx.Client, task_id: int) -> dict[str, Any]:
    """The task's annotations with label and attribute names for ids and no object ids,
    sorted, so two tasks can be compared."""
    ids = _label_ids(http, task_id)
    label_name = {v[0]: k for k, v in ids.items()}
    attr_name = {aid: name for _, attrs in ids.values() for name, aid in attrs.items()}

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                if key == "id":
                    continue
                if key == "label_id":
                    out["label"] = label_name[value]
                elif key == "spec_id":
                    out["name"] = attr_name[value]
                else:
                    out[key] = clean(value)
            return out
        if isinstance(obj, list):
            return sorted((clean(v) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
        return obj

    r = http.get(f"/api/tasks/{task_id}/annotations")
    assert r.status_code == 200, r.text
    data = r.json()
    return {kind: clean(data[kind]) for kind in ("shapes", "tracks", "tags")}


def _labels_shape(http: httpx.Client, task_id: int) -> list[Any]:
    r = http.get("/api/labels", params={"task_id": task_id, "page_size": 100})

    keys = ("name", "mutable", "input_type", "values", "default_value")

    def strip(label: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": label["name"], "color": label["color"], "type": label["type"],
            "svg": label["svg"],
            "attributes": [{k: a[k] for k in keys} for a in label["attributes"]],
            "sublabels": [strip(s) for s in label["sublabels"]],
        }  # fmt: skip

    return [strip(label) for label in r.json()["results"]]


def _task_facts(http: httpx.Client, task_id: int) -> dict[str, Any]:
    task = http.get(f"/api/tasks/{task_id}").json()
    meta = http.get(f"/api/tasks/{task_id}/data/meta").json()
    jobs = http.get("/api/jobs", params={"task_id": task_id, "page_size": 100}).json()
    return {
        "name": task["name"], "size": task["size"], "mode": task["mode"],
        "segment_size": task["segment_size"], "overlap": task["overlap"],
        "image_quality": task["image_quality"], "data_chunk_size": task["data_chunk_size"],
        "subset": task["subset"], "bug_tracker": task["bug_tracker"],
        "frames": [(f["name"], f["width"], f["height"]) for f in meta["frames"]],
        "start_frame": meta["start_frame"], "stop_frame": meta["stop_frame"],
        "frame_filter": meta["frame_filter"], "sorting_method": meta["sorting_method"],
        "chunk_size": meta["chunk_size"], "storage_method": meta["storage_method"],
        "jobs": sorted((j["start_frame"], j["stop_frame"], j["stage"], j["state"])
                       for j in jobs["results"]),
    }  # fmt: skip


def _frames_bytes(http: httpx.Client, task_id: int, size: int) -> list[bytes]:
    out = []
    for number in range(size):
        r = http.get(
            f"/api/tasks/{task_id}/data/",
            params={"type": "frame", "number": number, "quality": "original"},
        )
        assert r.status_code == 200, r.text
        out.append(r.content)
    return out


def _task_count(http: httpx.Client) -> int:
    return int(http.get("/api/tasks", params={"page_size": 1}).json()["count"])


def _project_count(http: httpx.Client) -> int:
    return int(http.get("/api/projects", params={"page_size": 1}).json()["count"])


@pytest.fixture(scope="module")
def source_task(server: Any, tmp_path_factory: pytest.TempPathFactory) -> int:
    """A task cut by start/stop/step into 3 frames, 2 jobs, annotated with every kind."""
    from cvat_sdk.core.proxies.tasks import ResourceType

    tmp = tmp_path_factory.mktemp("backup-source")
    with _client(server) as client:
        task = client.tasks.create_from_data(
            spec={"name": "backup source", "labels": LABELS, "segment_size": 2,
                  "subset": "train", "bug_tracker": "https://bugs.example/1"},
            resource_type=ResourceType.LOCAL,
            resources=[str(p) for p in _images(tmp, 7, seed=11)],
            data_params={"image_quality": 55, "chunk_size": 2, "start_frame": 1,
                         "stop_frame": 5, "frame_step": 2, "sorting_method": "natural"},
        )  # fmt: skip
        task_id = int(task.id)
    with _http(server) as http:
        _annotate(http, task_id)
        jobs = http.get("/api/jobs", params={"task_id": task_id}).json()["results"]
        first = min(jobs, key=lambda j: j["start_frame"])
        r = http.patch(f"/api/jobs/{first['id']}", json={"stage": "validation"})
        assert r.status_code == 200, r.text
    return task_id


def _wait(http: httpx.Client, rq_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = http.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"request {rq_id} did not end")


def _export(http: httpx.Client, path: str, **query: Any) -> bytes:
    r = http.post(path, params=query)
    assert r.status_code == 202, r.text
    request = _wait(http, r.json()["rq_id"])
    assert request["status"] == "finished", request
    assert request["result_url"].startswith("http://")
    download = http.get(request["result_url"])
    assert download.status_code == 200, download.text
    return download.content


# --- tests ----------------------------------------------------------------------------


def test_task_backup_has_cvat_layout(server: Any, source_task: int, tmp_path: Path) -> None:
    with _client(server) as client:
        target = tmp_path / "task.zip"
        client.tasks.retrieve(source_task).download_backup(str(target))
    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("task.json"))
        annotations = json.loads(zf.read("annotations.json"))
    # The frames shown (start 1, step 2 of img_0..img_6 sorted naturally) and the manifest.
    assert names == {"task.json", "annotations.json", "data/manifest.jsonl",
                     "data/img_1.png", "data/img_3.png", "data/img_5.png"}  # fmt: skip
    assert manifest["version"] == "1.0"
    assert manifest["name"] == "backup source"
    assert manifest["data"]["image_quality"] == 55
    assert manifest["data"]["chunk_size"] == 2
    assert manifest["data"]["start_frame"] == 1
    assert manifest["data"]["stop_frame"] == 5
    assert manifest["data"]["frame_filter"] == "step=2"
    assert manifest["data"]["sorting_method"] == "natural"
    assert [(j["start_frame"], j["stop_frame"]) for j in manifest["jobs"]] == [(0, 1), (2, 2)]
    assert [label["name"] for label in manifest["labels"]] == ["car", "person", "body"]
    assert [s["name"] for s in manifest["labels"][2]["sublabels"]] == ["head", "foot"]
    assert len(annotations) == 2
    # Labels and attributes by name, no ids (CVAT's layout).
    first = annotations[0]["shapes"][0]
    assert first["label"] == "car" and "label_id" not in first and "id" not in first
    assert {"name": "color", "value": "blue"} in first["attributes"]
    skeleton = next(s for s in annotations[0]["shapes"] if s["type"] == "skeleton")
    assert sorted(e["label"] for e in skeleton["elements"]) == ["foot", "head"]


def test_sdk_restore_gives_back_the_same_task(
    server: Any, source_task: int, tmp_path: Path
) -> None:
    target = tmp_path / "task.zip"
    with _client(server) as client:
        client.tasks.retrieve(source_task).download_backup(str(target))
        restored = client.tasks.create_from_backup(str(target))
        restored_id = int(restored.id)
    assert restored_id != source_task
    with _http(server) as http:
        before, after = _task_facts(http, source_task), _task_facts(http, restored_id)
        assert after == before
        assert _labels_shape(http, restored_id) == _labels_shape(http, source_task)
        assert _canonical(http, restored_id) == _canonical(http, source_task)
        assert _frames_bytes(http, restored_id, 3) == _frames_bytes(http, source_task, 3)
        # The annotations came in as one event per job, source "import".
        jobs = http.get("/api/jobs", params={"task_id": restored_id}).json()["results"]
        for job in jobs:
            history = http.get(f"/api/jobs/{job['id']}/history").json()["results"]
            imports = [e for e in history if e["source"] == "import"]
            assert len(imports) == 1 and imports[0]["type"] == "AnnotationsReplaced"
        # The creation is in the task's audit trail as well.
        task_history = http.get(f"/api/tasks/{restored_id}/history").json()["results"]
        assert task_history[0]["type"] == "TaskCreated"
        assert task_history[0]["actor"]["username"] == server.admin[0]


def test_cli_backup_and_restore(server: Any, source_task: int, tmp_path: Path) -> None:
    cli = [str(Path(sys.executable).with_name("cvat-cli")), "--server-host", server.url,
           "--auth", f"{server.admin[0]}:{server.admin[1]}"]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    # Into a directory: the name comes from Content-Disposition (the task name has a space).
    done = subprocess.run([*cli, "task", "backup", str(source_task), f"{tmp_path}/"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (target,) = tmp_path.glob("task_backup source_backup_*.zip")
    assert zipfile.is_zipfile(target)
    done = subprocess.run([*cli, "task", "create-from-backup", str(target)],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    restored_id = int(done.stdout.strip().splitlines()[-1])
    with _http(server) as http:
        assert _task_facts(http, restored_id) == _task_facts(http, source_task)
        assert _canonical(http, restored_id) == _canonical(http, source_task)


def test_with_history_keeps_the_audit_trail(server: Any, source_task: int) -> None:
    with _http(server) as http:
        jobs = http.get("/api/jobs", params={"task_id": source_task}).json()["results"]
        jobs.sort(key=lambda j: j["start_frame"])
        originals = [
            http.get(f"/api/jobs/{j['id']}/history", params={"page_size": 500}).json()["results"]
            for j in jobs
        ]
        content = _export(http, f"/api/tasks/{source_task}/backup/export", with_history="true")
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            assert {"history/job_0.jsonl", "history/job_1.jsonl"} <= set(zf.namelist())
        r = http.post(
            "/api/tasks/backup/", params={"filename": "h.zip"},
            files={"task_file": ("h.zip", content, "application/zip")},
        )  # fmt: skip
        assert r.status_code == 202, r.text
        request = _wait(http, r.json()["rq_id"])
        assert request["status"] == "finished", request
        restored_id = int(request["result_id"])
        new_jobs = http.get("/api/jobs", params={"task_id": restored_id}).json()["results"]
        new_jobs.sort(key=lambda j: j["start_frame"])
        for original, job in zip(originals, new_jobs, strict=True):
            history = http.get(f"/api/jobs/{job['id']}/history", params={"page_size": 500}).json()[
                "results"
            ]
            kept = [e for e in history if e["type"] == "HistoryRestored"]
            assert [e["source"] for e in kept] == ["restore"] * len(original)
            assert [e["actor"] for e in kept] == [None] * len(original)
            # Each record is the original entry: type, actor, source and time.
            assert [(e["data"]["type"], e["data"]["actor"], e["data"]["source"],
                     e["data"]["revision"]) for e in kept] == [
                (o["type"], o["actor"], o["source"], o["revision"]) for o in original
            ]  # fmt: skip
            assert [e["data"]["recorded_at"][:19] for e in kept] == [
                o["recorded_at"][:19] for o in original
            ]
            # Then the import; the restored annotations are the same as the original's.
            after = history[history.index(kept[-1]) + 1 :] if kept else history
            assert any(e["source"] == "import" for e in after)
        assert _canonical(http, restored_id) == _canonical(http, source_task)
        # The restorer's undo takes back the import; the restored record is nobody's change.
        first = new_jobs[0]["id"]
        assert http.post(f"/api/jobs/{first}/undo").status_code == 200
        empty = http.get(f"/api/jobs/{first}/annotations").json()
        assert (empty["shapes"], empty["tracks"], empty["tags"]) == ([], [], [])
        assert http.post(f"/api/jobs/{first}/undo").status_code == 409


def test_project_backup_and_restore_with_sdk(server: Any, tmp_path: Path) -> None:
    from cvat_sdk.core.proxies.tasks import ResourceType

    with _client(server) as client:
        project = client.projects.create({"name": "backup project", "labels": LABELS[:2]})
        task_ids = []
        for index in range(2):
            task = client.tasks.create_from_data(
                spec={"name": f"in project {index}", "project_id": project.id},
                resource_type=ResourceType.LOCAL,
                resources=[str(p) for p in _images(tmp_path, 2 + index, seed=40 + index)],
            )  # fmt: skip
            task_ids.append(int(task.id))
        with _http(server) as http:
            for task_id in task_ids:
                ids = _label_ids(http, task_id)
                r = http.put(f"/api/tasks/{task_id}/annotations", json={"shapes": [
                    {"type": "rectangle", "label_id": ids["car"][0], "frame": 1,
                     "points": [0, 0, 5, 5],
                     "attributes": [{"spec_id": ids["car"][1]["color"], "value": "blue"}]},
                ]})  # fmt: skip
                assert r.status_code == 200, r.text
        target = tmp_path / "project.zip"
        project.download_backup(str(target))
        with zipfile.ZipFile(target) as zf:
            names = set(zf.namelist())
        assert {"project.json", "task_0/task.json", "task_0/annotations.json",
                "task_1/task.json", "task_1/annotations.json"} <= names  # fmt: skip
        restored = client.projects.create_from_backup(str(target))
        assert restored.id != project.id
        assert restored.name == "backup project"
        new_tasks = sorted(restored.get_tasks(), key=lambda t: t.id)
        assert [t.name for t in new_tasks] == ["in project 0", "in project 1"]
    with _http(server) as http:
        project_labels = http.get("/api/labels", params={"project_id": restored.id}).json()[
            "results"
        ]
        assert [label["name"] for label in project_labels] == ["car", "person"]
        for old, new in zip(task_ids, new_tasks, strict=True):
            assert _task_facts(http, new.id) | {"name": ""} == _task_facts(http, old) | {"name": ""}
            assert _canonical(http, new.id) == _canonical(http, old)


# --- broken and malicious archives ------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def good_backup(server: Any, source_task: int) -> dict[str, bytes]:
    with _http(server) as http:
        content = _export(http, f"/api/tasks/{source_task}/backup/export")
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _broken(good: dict[str, bytes], case: str) -> bytes:
    members = dict(good)
    task = json.loads(members["task.json"])
    annotations = json.loads(members["annotations.json"])
    if case == "bad json":
        members["task.json"] = b'{"version": "1.0", "name": '
    elif case == "bad field":
        task["data"]["image_quality"] = "high"
        members["task.json"] = json.dumps(task).encode()
    elif case == "traversal":
        members["../../evil.png"] = members["data/img_1.png"]
    elif case == "absolute":
        members["/tmp/evil.png"] = members["data/img_1.png"]
    elif case == "missing data":
        members = {k: v for k, v in members.items() if not k.startswith("data/")}
    elif case == "missing frame":
        del members["data/img_3.png"]
    elif case == "missing annotations":
        del members["annotations.json"]
    elif case == "unknown label":
        annotations[0]["shapes"][0]["label"] = "boat"
        members["annotations.json"] = json.dumps(annotations).encode()
    elif case == "frame out of range":
        annotations[1]["shapes"][0]["frame"] = 9
        members["annotations.json"] = json.dumps(annotations).encode()
    elif case == "jobs mismatch":
        task["jobs"] = task["jobs"][:1]
        annotations = annotations[:1]
        members["task.json"] = json.dumps(task).encode()
        members["annotations.json"] = json.dumps(annotations).encode()
    elif case == "not an image":
        members["data/img_1.png"] = b"this is no image"
    elif case == "version":
        task["version"] = "9.9"
        members["task.json"] = json.dumps(task).encode()
    return _zip(members)


BROKEN = {
    "bad json": "task.json: not valid JSON",
    "bad field": "task.json: Expected `int`, got `str` - at `$.data.image_quality`",
    "traversal": "'../../evil.png' points outside the archive",
    "absolute": "'/tmp/evil.png' has an absolute path",
    "missing data": "data/ is missing from the backup",
    "missing frame": "data/img_3.png is missing from the backup",
    "missing annotations": "annotations.json is missing from the backup",
    "unknown label": "annotations.json[0].shapes[0].label: 'boat' is not a label",
    "frame out of range": "annotations.json[1]: shapes[0].frame: frame 9 is not a frame",
    "jobs mismatch": "task.json: jobs: the frame ranges",
    "not an image": "img_1.png",
    "version": "task.json: version '9.9' is not supported",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_backup_fails_naming_the_problem_and_creates_nothing(
    server: Any, good_backup: dict[str, bytes], tmp_path: Path, case: str
) -> None:
    from cvat_sdk.core.exceptions import BackgroundRequestException

    target = tmp_path / "broken.zip"
    target.write_bytes(_broken(good_backup, case))
    with _http(server) as http:
        tasks_before = _task_count(http)
    with _client(server) as client, pytest.raises(BackgroundRequestException) as failure:
        client.tasks.create_from_backup(str(target))
    assert BROKEN[case] in str(failure.value)
    assert str(failure.value).startswith("broken.zip: ")
    with _http(server) as http:
        assert _task_count(http) == tasks_before
    leftovers = Path(server.data_dir) / "data" / "backups"
    assert not [p for p in leftovers.glob("*") if p.name.startswith(("build-", "work-", "upload-"))]


def test_not_a_zip_and_a_broken_project_create_nothing(server: Any, tmp_path: Path) -> None:
    from cvat_sdk.core.exceptions import BackgroundRequestException

    target = tmp_path / "junk.zip"
    target.write_bytes(b"not a zip at all")
    with _http(server) as http:
        tasks_before, projects_before = _task_count(http), _project_count(http)
    with _client(server) as client:
        with pytest.raises(BackgroundRequestException, match="not a zip archive"):
            client.tasks.create_from_backup(str(target))
        target.write_bytes(_zip({"project.json": b'{"version": "1.0", "name": "p", "labels": 3}'}))
        with pytest.raises(BackgroundRequestException, match=r"project\.json: .*labels"):
            client.projects.create_from_backup(str(target))
    with _http(server) as http:
        assert _task_count(http) == tasks_before
        assert _project_count(http) == projects_before


def test_export_refusals_and_download_access(server: Any, source_task: int) -> None:
    with _http(server) as http:
        r = http.post(f"/api/tasks/{source_task}/backup/export",
                      params={"location": "cloud_storage"})  # fmt: skip
        assert r.status_code == 400 and "location" in r.json()
        empty = http.post("/api/tasks", json={"name": "no data", "labels": [{"name": "a"}]})
        r = http.post(f"/api/tasks/{empty.json()['id']}/backup/export")
        assert r.status_code == 400 and "no data" in r.text
        assert http.post("/api/tasks/99999999/backup/export").status_code == 404
        r = http.post(f"/api/tasks/{source_task}/backup/export",
                      params={"filename": "../my backup (1).zip"})  # fmt: skip
        request = _wait(http, r.json()["rq_id"])
        got = http.get(request["result_url"])
        assert got.headers["content-disposition"] == 'attachment; filename="my backup _1_.zip"'
        r = http.get(f"/api/tasks/{source_task}/backup/download",
                     params={"rq_id": "00000000-0000-0000-0000-000000000000"})  # fmt: skip
        assert r.status_code == 404


# --- video --------------------------------------------------------------------------------


def test_use_cache_video_task_round_trips(server: Any, tmp_path: Path) -> None:
    from tests.api.test_task_data import Api
    from tests.api.test_task_video import video_bytes

    api = Api(server, segment_size=10)
    data = video_bytes(tmp_path, frames=40, gop=5)
    params = {"use_cache": True, "start_frame": 3, "stop_frame": 36, "frame_filter": "step=2"}
    assert api.create([("clip.mp4", data)], chunk_size=4, **params)["status"] == "finished"
    with _http(server) as http:
        content = _export(http, f"/api/tasks/{api.task_id}/backup/export")
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            # The whole video: the restore cuts it with the same start/stop/step.
            assert zf.read("data/clip.mp4") == data
        r = http.post(
            "/api/tasks/backup/", files={"task_file": ("v.zip", content, "application/zip")}
        )
        request = _wait(http, r.json()["rq_id"])
        assert request["status"] == "finished", request
        restored = int(request["result_id"])
        facts = _task_facts(http, restored)
        assert facts == _task_facts(http, api.task_id)
        assert (facts["start_frame"], facts["frame_filter"], facts["size"]) == (3, "step=2", 17)
        assert _frames_bytes(http, restored, 17) == _frames_bytes(http, api.task_id, 17)


def test_a_prebuilt_video_task_round_trips(server: Any, tmp_path: Path) -> None:
    """The uploaded video is kept beside its prebuilt chunks (as CVAT keeps raw data), so
    the backup carries it."""
    from tests.api.test_task_data import Api
    from tests.api.test_task_video import video_bytes

    api = Api(server)
    data = video_bytes(tmp_path, frames=10)
    assert api.create([("clip.mp4", data)])["status"] == "finished"
    with _http(server) as http:
        content = _export(http, f"/api/tasks/{api.task_id}/backup/export")
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            assert zf.read("data/clip.mp4") == data
        r = http.post(
            "/api/tasks/backup/", files={"task_file": ("v.zip", content, "application/zip")}
        )
        request = _wait(http, r.json()["rq_id"])
        assert request["status"] == "finished", request
        restored = int(request["result_id"])
        assert _task_facts(http, restored) == _task_facts(http, api.task_id)
        assert _frames_bytes(http, restored, 10) == _frames_bytes(http, api.task_id, 10)


# --- permissions ----------------------------------------------------------------------------


def test_others_can_neither_back_up_nor_download(server: Any, source_task: int) -> None:
    from tests.api.iam_helpers import login, register, set_role

    other = register(server.url)
    stranger = login(server.url, str(other["username"]))
    try:
        with _http(server) as http:
            r = http.post(f"/api/tasks/{source_task}/backup/export")
            rq_id = r.json()["rq_id"]
            assert _wait(http, rq_id)["status"] == "finished"
            assert stranger.post(f"/api/tasks/{source_task}/backup/export").status_code == 404
            download = f"/api/tasks/{source_task}/backup/download"
            assert stranger.get(download, params={"rq_id": rq_id}).status_code == 404
            assert http.get(download, params={"rq_id": rq_id}).status_code == 200
            # A plain user restores a backup given to them: the task is theirs.
            content = http.get(download, params={"rq_id": rq_id}).content
            r = stranger.post("/api/tasks/backup/", files={"task_file": ("b.zip", content)})
            request = _wait(stranger, r.json()["rq_id"])
            assert request["status"] == "finished", request
            mine = stranger.get(f"/api/tasks/{request['result_id']}").json()
            assert mine["owner"]["username"] == other["username"]
            # A worker may create nothing: no restore either.
            set_role(server.url, server.admin, int(other["id"]), "worker")
            start = stranger.post("/api/tasks/backup/", headers={"Upload-Start": ""})
            assert start.status_code == 403, start.text
            start = stranger.post("/api/projects/backup/", headers={"Upload-Start": ""})
            assert start.status_code == 403, start.text
    finally:
        stranger.close()


# --- the archive reader, without a server ----------------------------------------------------


def _raw_zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def test_archive_reader_refuses_links_and_sizes_past_the_limits(tmp_path: Path) -> None:
    from backend.backups.layout import BackupError
    from backend.backups.reading import BackupArchive
    from backend.media.archive import ArchiveLimits

    link = zipfile.ZipInfo("data/link.png")
    link.external_attr = (0o120777 << 16) | 0  # a symbolic link
    fifo = zipfile.ZipInfo("data/fifo")
    fifo.external_attr = 0o010644 << 16
    cases = {
        "is a symbolic link": ([(link, b"/etc/passwd")], ArchiveLimits()),
        "is not a regular file": ([(fifo, b"")], ArchiveLimits()),
        "more than 2 files": ([(f"data/{i}.png", b"x") for i in range(3)], ArchiveLimits(2)),
        "unpacks to more than 10 bytes": (
            [("data/a.png", b"x" * 8), ("data/b.png", b"x" * 8)],
            ArchiveLimits(max_unpacked_bytes=10),
        ),
        "points outside the archive": ([("data/../../x.png", b"x")], ArchiveLimits()),
        "holds data/a.png twice": ([("data/a.png", b"x"), ("data/./a.png", b"y")], ArchiveLimits()),
    }
    for expected, (entries, limits) in cases.items():
        path = _raw_zip(tmp_path / "case.zip", entries)
        with pytest.raises(BackupError, match=re.escape(expected)):
            BackupArchive(path, limits)
    ok = _raw_zip(tmp_path / "ok.zip", [("data/sub/a.png", b"abc"), ("task.json", b"{}")])
    with BackupArchive(ok, ArchiveLimits()) as archive:
        extracted = archive.extract("data/", tmp_path / "out")
        assert [(name, p.read_bytes()) for name, p in extracted] == [("sub/a.png", b"abc")]
        assert extracted[0][1].parent == tmp_path / "out"  # generated names, never the archive's
        with pytest.raises(BackupError, match=r"annotations\.json is missing"):
            archive.read("annotations.json")
    # A member whose bytes were changed after it was written (a CRC mismatch).
    raw = bytearray(_raw_zip(tmp_path / "crc.zip", [("task.json", b"A" * 64)]).read_bytes())
    start = raw.index(b"A" * 64)
    raw[start : start + 4] = b"BBBB"
    (tmp_path / "crc.zip").write_bytes(bytes(raw))
    with BackupArchive(tmp_path / "crc.zip", ArchiveLimits()) as archive:
        with pytest.raises(BackupError, match=r"task\.json: cannot be read from the archive"):
            archive.read("task.json")


def test_context_images_round_trip(server: Any) -> None:
    from tests.api.test_task_context_images import context_zip
    from tests.api.test_task_data import Api, image_bytes, zip_bytes

    api = Api(server)
    archive = zip_bytes(
        {
            "images/a.png": noise_png(40, 30, 1),
            "images/b.png": noise_png(41, 30, 2),
            "images/related_images/a_png/left.png": image_bytes(16, 12, (250, 0, 0)),
            "images/related_images/a_png/right.jpg": image_bytes(8, 6, (0, 0, 250), "JPEG"),
        }
    )
    assert api.create([("data.zip", archive)])["status"] == "finished"
    with _http(server) as http:
        content = _export(http, f"/api/tasks/{api.task_id}/backup/export")
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            assert {
                "data/images/related_images/a_png/left.png",
                "data/images/related_images/a_png/right.jpg",
            } <= set(zf.namelist())
        r = http.post("/api/tasks/backup/", files={"task_file": ("c.zip", content)})
        request = _wait(http, r.json()["rq_id"])
        assert request["status"] == "finished", request
        restored = int(request["result_id"])
        meta = http.get(f"/api/tasks/{restored}/data/meta").json()
        assert [(f["name"], f["related_files"]) for f in meta["frames"]] == [
            ("images/a.png", 2),
            ("images/b.png", 0),
        ]
        before, after = (
            context_zip(http.get(f"/api/tasks/{t}/data/", params={"type": "context_image",
                                                                  "number": 0}))
            for t in (api.task_id, restored)
        )  # fmt: skip
        assert sorted(after) == sorted(before) == ["left.png.jpg", "right.jpg.jpg"]
        assert {k: v.size for k, v in after.items()} == {k: v.size for k, v in before.items()}


def test_a_cvat_backup_is_cut_with_its_data_settings(server: Any, tmp_path: Path) -> None:
    """A backup as CVAT writes it (no `vellum` section): data/ holds every uploaded file,
    the restore applies start/stop/step and the sorting, as CVAT's restore does."""
    images = {f"data/img_{i}.png": noise_png(20, 10 + i, 70 + i) for i in range(7)}
    task = {
        "name": "from cvat", "bug_tracker": "", "status": "annotation", "subset": "",
        "labels": [{"name": "cat", "color": "#112233", "attributes": [
            {"name": "age", "mutable": False, "input_type": "number",
             "default_value": "1", "values": ["1", "9", "1"]}]}],
        "version": "1.0",
        "data": {"chunk_size": 3, "image_quality": 60, "start_frame": 1, "stop_frame": 5,
                 "frame_filter": "step=2", "chunk_type": "imageset",
                 "storage_method": "file_system", "storage": "local",
                 "sorting_method": "natural", "deleted_frames": []},
        "jobs": [{"start_frame": 0, "stop_frame": 1, "status": "annotation",
                  "type": "annotation"},
                 {"start_frame": 2, "stop_frame": 2, "status": "annotation",
                  "type": "annotation"}],
    }  # fmt: skip
    annotations = [
        {"version": 0, "tags": [], "tracks": [], "shapes": [
            {"type": "rectangle", "label": "cat", "frame": 1, "points": [1, 1, 5, 5],
             "occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
             "group": 0, "source": "manual", "attributes": [{"name": "age", "value": "3"}],
             "elements": []}]},
        {"version": 0, "tags": [{"label": "cat", "frame": 2, "group": 0,
                                 "source": "manual", "attributes": []}],
         "shapes": [], "tracks": []},
    ]  # fmt: skip
    target = tmp_path / "cvat.zip"
    target.write_bytes(
        _zip(
            {
                **images,
                "task.json": json.dumps(task).encode(),
                "annotations.json": json.dumps(annotations).encode(),
            }
        )
    )
    with _client(server) as client:
        restored = int(client.tasks.create_from_backup(str(target)).id)
    with _http(server) as http:
        facts = _task_facts(http, restored)
        assert [name for name, _, _ in facts["frames"]] == ["img_1.png", "img_3.png", "img_5.png"]
        assert (facts["start_frame"], facts["stop_frame"], facts["frame_filter"]) == (
            1,
            5,
            "step=2",
        )
        assert (facts["chunk_size"], facts["image_quality"]) == (3, 60)
        assert facts["jobs"] == [(0, 1, "annotation", "new"), (2, 2, "annotation", "new")]
        canonical = _canonical(http, restored)
        assert canonical["shapes"][0]["label"] == "cat"
        assert canonical["shapes"][0]["attributes"] == [{"name": "age", "value": "3"}]
        assert [t["frame"] for t in canonical["tags"]] == [2]


def test_point_cloud_task_with_context_images_round_trips(server: Any) -> None:
    from tests.api.test_task_3d import ascii_pcd, binary_pcd
    from tests.api.test_task_data import Api, image_bytes, zip_bytes

    api = Api(server, segment_size=2)
    clouds = [binary_pcd(4, 2, seed=0), ascii_pcd([(1, 2, 3)] * 5), binary_pcd(3, 1, seed=2)]
    archive = zip_bytes(
        {
            **{f"pointcloud/0000{i}.pcd": c for i, c in enumerate(clouds)},
            "related_images/00000_pcd/front.png": image_bytes(20, 10, (250, 0, 0)),
            "related_images/00002_pcd/cam.png": image_bytes(6, 6, (0, 0, 250)),
        }
    )
    assert api.create([("cloud.zip", archive)], chunk_size=2)["status"] == "finished"
    with _http(server) as http:
        content = _export(http, f"/api/tasks/{api.task_id}/backup/export")
        r = http.post("/api/tasks/backup/", files={"task_file": ("p.zip", content)})
        request = _wait(http, r.json()["rq_id"])
        assert request["status"] == "finished", request
        restored = int(request["result_id"])
        assert _task_facts(http, restored) == _task_facts(http, api.task_id)
        assert http.get(f"/api/tasks/{restored}").json()["dimension"] == "3d"
        assert _frames_bytes(http, restored, 3) == clouds
        meta = http.get(f"/api/tasks/{restored}/data/meta").json()
        assert [f["related_files"] for f in meta["frames"]] == [1, 0, 1]


def test_a_project_backup_with_one_broken_task_creates_nothing(server: Any, tmp_path: Path) -> None:
    from cvat_sdk.core.exceptions import BackgroundRequestException

    from tests.api.test_task_data import Api

    with _http(server) as http:
        project = http.post("/api/projects", json={"name": "p", "labels": [{"name": "car"}]})
        project_id = project.json()["id"]
        for seed in (1, 2):
            api = Api(server, project_id=project_id, labels=[])
            assert api.create([("a.png", noise_png(8, 8, seed))])["status"] == "finished"
            ids = _label_ids(http, api.task_id)
            r = http.put(f"/api/tasks/{api.task_id}/annotations", json={"tags": [
                {"label_id": ids["car"][0], "frame": 0}]})  # fmt: skip
            assert r.status_code == 200, r.text
        content = _export(http, f"/api/projects/{project_id}/backup/export")
        members = {}
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            members = {name: zf.read(name) for name in zf.namelist()}
        annotations = json.loads(members["task_1/annotations.json"])
        annotations[0]["tags"][0]["label"] = "plane"
        members["task_1/annotations.json"] = json.dumps(annotations).encode()
        target = tmp_path / "project.zip"
        target.write_bytes(_zip(members))
        tasks_before, projects_before = _task_count(http), _project_count(http)
        with _client(server) as client, pytest.raises(BackgroundRequestException) as failure:
            client.projects.create_from_backup(str(target))
        assert "task_1/annotations.json[0].tags[0].label: 'plane' is not a label" in str(
            failure.value
        )
        assert (_task_count(http), _project_count(http)) == (tasks_before, projects_before)


def test_use_cache_image_task_round_trips(server: Any) -> None:
    from tests.api.test_task_data import Api

    api = Api(server, segment_size=3)
    files = [(f"f{i}.png", noise_png(12, 9, 90 + i)) for i in range(5)]
    assert api.create(files, use_cache=True, chunk_size=2)["status"] == "finished"
    with _http(server) as http:
        content = _export(http, f"/api/tasks/{api.task_id}/backup/export")
        r = http.post("/api/tasks/backup/", files={"task_file": ("u.zip", content)})
        request = _wait(http, r.json()["rq_id"])
        assert request["status"] == "finished", request
        restored = int(request["result_id"])
        facts = _task_facts(http, restored)
        assert facts == _task_facts(http, api.task_id)
        assert facts["storage_method"] == "cache"
        assert _frames_bytes(http, restored, 5) == [data for _, data in files]
