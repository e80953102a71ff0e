"""Dataset export and annotation import through the real server: the formats listing as
cvat-sdk reads it, export requests for jobs, tasks and projects (HTTP, cvat-sdk, cvat-cli),
imports over the upload protocol (cvat-sdk, cvat-cli) that land as one event per job with
source "import" and can be undone, bad files that fail naming the problem and change
nothing, and permissions."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.formats import registry
from tests.api.iam_helpers import register
from tests.api.test_task_data import Api, image_bytes, zip_bytes

CLI = str(Path(sys.executable).with_name("cvat-cli"))
COCO = "COCO 1.0"
LABELS = [{"name": "car", "type": "rectangle"}, {"name": "person", "type": "any"}]


def wait(http: httpx.Client, rq_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = http.get(f"/api/requests/{rq_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in ("finished", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"request {rq_id} did not end")


def new_task(server: Any, frames: int = 4, segment_size: int = 2, **fields: Any) -> Api:
    """A task of `frames` images, `segment_size` frames per job."""
    fields.setdefault("labels", LABELS)
    api = Api(server, segment_size=segment_size, **fields)
    files = [(f"img_{i}.png", image_bytes(64, 48, (40 * i, 80, 120))) for i in range(frames)]
    done = api.create(files, image_quality=90)
    assert done["status"] == "finished", done
    return api


def labels(api: Api) -> dict[str, int]:
    r = api.http.get("/api/labels", params={"task_id": api.task_id})
    return {label["name"]: label["id"] for label in r.json()["results"]}


def box(frame: int, label_id: int, x: float) -> dict[str, Any]:
    return {"type": "rectangle", "frame": frame, "label_id": label_id,
            "points": [x, 5.0, x + 20.0, 25.0]}  # fmt: skip


def annotate(api: Api) -> dict[str, Any]:
    ids = labels(api)
    body = {"shapes": [box(f, ids["car"], 2.0 + f) for f in range(4)], "tags": [], "tracks": []}
    r = api.http.put(f"/api/tasks/{api.task_id}/annotations", json=body)
    assert r.status_code == 200, r.text
    return body


def export(api: Api, path: str, **params: Any) -> dict[str, Any]:
    r = api.http.post(path, params={"format": COCO, "location": "local", **params})
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"rq_id"}
    return wait(api.http, r.json()["rq_id"])


def coco(archive: bytes) -> tuple[list[str], dict[str, Any]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        names = sorted(zf.namelist())
        return names, json.loads(zf.read("annotations/instances_default.json"))


def jobs(api: Api) -> list[dict[str, Any]]:
    r = api.http.get("/api/jobs", params={"task_id": api.task_id})
    assert r.status_code == 200, r.text
    return sorted(r.json()["results"], key=lambda job: job["start_frame"])


def task_shapes(api: Api) -> list[tuple[int, list[float]]]:
    data = api.http.get(f"/api/tasks/{api.task_id}/annotations").json()
    return sorted((s["frame"], s["points"]) for s in data["shapes"])


def coco_file(annotations: list[dict[str, Any]], images: int = 4) -> bytes:
    """A COCO instances file for the 4 frames of `new_task` with category car."""
    return json.dumps({
        "licenses": [], "info": {},
        "categories": [{"id": 1, "name": "car", "supercategory": ""}],
        "images": [{"id": i + 1, "file_name": f"img_{i}.png", "width": 64, "height": 48}
                   for i in range(images)],
        "annotations": annotations,
    }).encode()  # fmt: skip


def coco_box(ann_id: int, image_id: int, x: float) -> dict[str, Any]:
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [x, 10.0, 15.0, 12.0],
            "area": 180.0, "iscrowd": 0, "segmentation": [], "attributes": {}}  # fmt: skip


# --- listing -----------------------------------------------------------------------------


ISSUE_FORMATS = [
    "CVAT for images 1.1", "CVAT for video 1.1", "Datumaro 1.0", "COCO 1.0",
    "COCO Keypoints 1.0", "PASCAL VOC 1.1", "Segmentation mask 1.1", "YOLO 1.1", "MOT 1.1",
    "MOTS PNG 1.0", "LabelMe 3.0", "ImageNet 1.0", "WiderFace 1.0", "CamVid 1.0",
    "VGGFace2 1.0", "Market-1501 1.0", "ICDAR Recognition 1.0", "ICDAR Localization 1.0",
    "ICDAR Segmentation 1.0", "Open Images V6 1.0", "Cityscapes 1.0", "KITTI 1.0", "LFW 1.0",
    "TFRecord 1.0",
]  # fmt: skip


def test_formats_listing_is_what_cvat_sdk_reads(server: Any) -> None:
    from cvat_sdk import make_client

    with make_client(server.url, credentials=server.admin) as client:
        formats = client.api_client.server_api.retrieve_annotation_formats()[0]
    exporters = {f.name: f for f in formats.exporters}
    importers = {f.name: f for f in formats.importers}
    assert set(ISSUE_FORMATS) <= set(exporters)
    assert set(ISSUE_FORMATS) - {"CVAT for images 1.1", "CVAT for video 1.1"} | {"CVAT 1.1"} <= set(
        importers
    )
    for name, entry in exporters.items():
        info = registry.FORMATS.get(name)
        assert entry.enabled == bool(info and info.enabled and info.exporter), name
        assert entry.ext and entry.version and entry.dimension in ("2d", "3d")
    for name, entry in importers.items():
        info = registry.FORMATS.get(name)
        assert entry.enabled == bool(info and info.enabled and info.importer), name
    assert exporters[COCO].enabled and importers[COCO].enabled
    assert importers[COCO].ext == "JSON, ZIP" and exporters[COCO].ext == "ZIP"


# --- export ------------------------------------------------------------------------------


def test_export_of_a_task_a_job_and_a_project_through_http(server: Any) -> None:
    project = httpx.post(
        f"{server.url}/api/projects", json={"name": "export project", "labels": LABELS},
        auth=server.admin,
    ).json()  # fmt: skip
    api = new_task(server, labels=[], project_id=project["id"])
    annotate(api)
    sibling = new_task(server, frames=1, labels=[], project_id=project["id"])

    done = export(api, f"/api/tasks/{api.task_id}/dataset/export", save_images="False")
    assert done["status"] == "finished", done
    assert done["operation"]["type"] == "export:annotations"
    assert done["operation"]["format"] == COCO and done["operation"]["task_id"] == api.task_id
    url = done["result_url"]
    assert url.startswith(server.url + "/") and url.endswith("/download")
    download = api.http.get(url)
    assert download.status_code == 200, download.text
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="task_media ') and disposition.endswith(
        '_coco 1.0.zip"'
    ), disposition
    names, data = coco(download.content)
    assert names == ["annotations/instances_default.json"]
    assert [i["file_name"] for i in data["images"]] == [f"img_{i}.png" for i in range(4)]
    assert len(data["annotations"]) == 4
    assert [c["name"] for c in data["categories"]][:2] == ["car", "person"]

    second = jobs(api)[1]
    done = export(api, f"/api/jobs/{second['id']}/dataset/export", save_images="True")
    assert done["status"] == "finished", done
    assert done["operation"]["type"] == "export:dataset" and done["operation"]["job_id"]
    names, data = coco(api.http.get(done["result_url"]).content)
    assert len(data["images"]) == 2 and len(data["annotations"]) == 2
    assert sum(1 for n in names if n.startswith("images/")) == 2

    # One dataset over the tasks (CVAT's layout), the second img_0.png renamed img_0_1.png.
    done = export(api, f"/api/projects/{project['id']}/dataset/export")
    assert done["status"] == "finished", done
    names, data = coco(api.http.get(done["result_url"]).content)
    assert names == ["annotations/instances_default.json"]
    assert [i["file_name"] for i in data["images"]] == [f"img_{i}.png" for i in range(4)] + [
        "img_0_1.png"
    ]
    assert len(data["annotations"]) == 4

    # CVAT XML makes one document of the whole project, as CVAT does.
    done = export(
        api, f"/api/projects/{project['id']}/dataset/export", format="CVAT for images 1.1"
    )
    assert done["status"] == "finished", done
    with zipfile.ZipFile(io.BytesIO(api.http.get(done["result_url"]).content)) as zf:
        assert zf.namelist() == ["annotations.xml"]
        xml = zf.read("annotations.xml").decode()
    assert "<project>" in xml and xml.count("<image ") == 5 and xml.count("<box ") == 4
    assert f'task_id="{api.task_id}"' in xml and f'task_id="{sibling.task_id}"' in xml


def test_export_refusals_name_the_parameter(server: Any) -> None:
    api = new_task(server)
    path = f"/api/tasks/{api.task_id}/dataset/export"
    r = api.http.post(path, params={"format": "No such 1.0"})
    assert r.status_code == 400 and "format" in r.json(), r.text
    assert "No such 1.0" in r.json()["format"][0]
    disabled = next(e["name"] for e in registry.listing()["exporters"] if not e["enabled"])
    r = api.http.post(path, params={"format": disabled})
    assert r.status_code == 400 and "not available" in r.json()["format"][0]
    r = api.http.post(path, params={"format": COCO, "location": "cloud_storage"})
    assert r.status_code == 400 and "cloud_storage_id" in r.json()
    r = api.http.post(path)
    assert r.status_code == 400 and "format" in r.json()
    r = api.http.post(path, params={"format": COCO, "filename": "../x.zip"})
    assert r.status_code == 400 and "filename" in r.json()
    empty = api.new_task()
    r = api.http.post(f"/api/tasks/{empty}/dataset/export", params={"format": COCO})
    assert r.status_code == 400 and "no data" in r.json()["non_field_errors"][0]
    project = api.http.post("/api/projects", json={"name": "empty", "labels": LABELS}).json()
    r = api.http.post(f"/api/projects/{project['id']}/dataset/export", params={"format": COCO})
    assert r.status_code == 400 and "no task with data" in r.json()["non_field_errors"][0]


def test_export_through_cvat_sdk_and_cvat_cli(server: Any, tmp_path: Path) -> None:
    from cvat_sdk import make_client

    api = new_task(server)
    annotate(api)
    with make_client(server.url, credentials=server.admin) as client:
        client.config.status_check_period = 0.1
        task = client.tasks.retrieve(api.task_id)
        target = tmp_path / "sdk.zip"
        task.export_dataset(COCO, target, include_images=True)
        job = client.jobs.retrieve(jobs(api)[1]["id"])
        job.export_dataset(COCO, tmp_path / "job.zip", include_images=False)
        assert len(coco((tmp_path / "job.zip").read_bytes())[1]["annotations"]) == 2
        project = client.projects.create({"name": "sdk export", "labels": LABELS})
        inside = new_task(server, labels=[], project_id=project.id)
        annotate(inside)
        client.projects.retrieve(project.id).export_dataset(COCO, tmp_path / "project.zip")
        assert len(coco((tmp_path / "project.zip").read_bytes())[1]["annotations"]) == 4
    names, data = coco(target.read_bytes())
    assert len(data["annotations"]) == 4
    assert (
        sorted(n for n in names if n.startswith("images/"))
        == [f"images/img_{i}.png" for i in range(4)]
        or len([n for n in names if n.startswith("images/")]) == 4
    )

    out = tmp_path / "cli"
    out.mkdir()
    user, password = server.admin
    done = subprocess.run(
        [CLI, "--server-host", server.url, "--auth", f"{user}:{password}", "task",
         "export-dataset", str(api.task_id), f"{out}/", "--format", COCO],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (written,) = out.iterdir()
    assert written.name.startswith("task_") and written.suffix == ".zip"
    assert len(coco(written.read_bytes())[1]["annotations"]) == 4


def test_a_result_is_for_its_owner_and_expires_after_a_day(server: Any) -> None:
    api = new_task(server)
    done = export(api, f"/api/tasks/{api.task_id}/dataset/export")
    other = register(server.url)
    stranger = httpx.get(done["result_url"], auth=(other["username"], other["password"]))
    assert stranger.status_code == 404
    assert api.http.get(done["result_url"]).status_code == 200
    # A day later the next export removes it.
    rq_dir = Path(server.data_dir, "data", "exports", done["id"])
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(rq_dir, (two_days_ago, two_days_ago))
    later = export(api, f"/api/tasks/{api.task_id}/dataset/export")
    assert later["status"] == "finished", later
    assert api.http.get(done["result_url"]).status_code == 404
    assert api.http.get(later["result_url"]).status_code == 200


# --- import ------------------------------------------------------------------------------


def test_import_through_cvat_sdk_is_one_event_per_job_in_history_and_undone(
    server: Any, tmp_path: Path
) -> None:
    from cvat_sdk import make_client

    api = new_task(server)
    annotate(api)
    before = task_shapes(api)
    upload = tmp_path / "instances.json"
    upload.write_bytes(
        coco_file([coco_box(1, 1, 30.0), coco_box(2, 3, 31.0), coco_box(3, 4, 32.0)])
    )
    with make_client(server.url, credentials=server.admin) as client:
        client.config.status_check_period = 0.1
        client.tasks.retrieve(api.task_id).import_annotations(COCO, upload)
    after = task_shapes(api)
    assert [(f, p[0]) for f, p in after] == [(0, 30.0), (2, 31.0), (3, 32.0)]

    first, second = jobs(api)
    for job in (first, second):
        history = api.http.get(f"/api/jobs/{job['id']}/history").json()["results"]
        imports = [e for e in history if e["source"] == "import"]
        assert len(imports) == 1, history
        assert imports[0]["type"] == "AnnotationsReplaced"
    for job in (first, second):
        r = api.http.post(f"/api/jobs/{job['id']}/undo")
        assert r.status_code == 200, r.text
    assert task_shapes(api) == before


def test_import_of_a_job_through_cvat_cli_and_http_tus(server: Any, tmp_path: Path) -> None:
    api = new_task(server)
    annotate(api)
    archive = tmp_path / "ann.zip"
    archive.write_bytes(zip_bytes({"annotations/instances_default.json":
                                   coco_file([coco_box(1, 2, 40.0)])}))  # fmt: skip
    user, password = server.admin
    done = subprocess.run(
        [CLI, "--server-host", server.url, "--auth", f"{user}:{password}", "task",
         "import-dataset", str(api.task_id), str(archive), "--format", COCO],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [(f, p[0]) for f, p in task_shapes(api)] == [(1, 40.0)]

    # A job import over raw TUS: only the job's annotations are replaced.
    annotate(api)
    second = jobs(api)[1]
    url = f"/api/jobs/{second['id']}/annotations/"
    doc = json.loads(coco_file([coco_box(1, 3, 50.0)]))
    doc["images"] = doc["images"][2:]  # the job's frames only
    payload = json.dumps(doc).encode()
    assert api.http.post(url, params={"format": COCO, "filename": "a.json"},
                         headers={"Upload-Start": ""}).status_code == 202  # fmt: skip
    created = api.http.post(url, headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(len(payload)),
        "Upload-Metadata": "filename YS5qc29u",
    })  # fmt: skip
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith(server.url) and created.headers["upload-filename"] == "a.json"
    for offset in (0, 10):
        chunk = payload[offset : offset + 10] if offset == 0 else payload[10:]
        r = api.http.patch(location, content=chunk, headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        })  # fmt: skip
        assert r.status_code == 204, r.text
    assert api.http.head(location).headers["upload-offset"] == str(len(payload))
    r = api.http.post(url, params={"format": COCO, "filename": "a.json"},
                      headers={"Upload-Finish": ""})  # fmt: skip
    assert r.status_code == 202, r.text
    done_rq = wait(api.http, r.json()["rq_id"])
    assert done_rq["status"] == "finished", done_rq
    assert [(f, p[0]) for f, p in task_shapes(api)] == [(0, 2.0), (1, 3.0), (2, 50.0)]


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("broken.json", b'{"images": [', "broken.json: "),
        ("unknown.json", None, "truck"),
        ("far.json", None, "img_9"),
        ("escape.zip", zip_bytes({"../../evil.json": b"{}"}), "outside the archive"),
        ("bomb.zip", None, "bomb.zip: unpacks to"),
    ],
)
def test_a_bad_file_fails_the_request_naming_the_problem_and_changes_nothing(
    server: Any, name: str, payload: bytes | None, expected: str
) -> None:
    api = new_task(server)
    annotate(api)
    before = task_shapes(api)
    if name == "unknown.json":
        doc = json.loads(coco_file([coco_box(1, 1, 3.0)]))
        doc["categories"][0]["name"] = "truck"
        payload = json.dumps(doc).encode()
    elif name == "far.json":
        doc = json.loads(coco_file([coco_box(1, 1, 3.0)]))
        doc["images"][0]["file_name"] = "img_9.png"
        payload = json.dumps(doc).encode()
    elif name == "bomb.zip":  # 256 MiB of zeros in about 250 KiB
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("annotations/instances_default.json", bytes(256 * 2**20))
        payload = buffer.getvalue()
    assert payload is not None
    url = f"/api/tasks/{api.task_id}/annotations/"
    r = api.http.post(url, params={"format": COCO}, files={"annotation_file": (name, payload)})
    assert r.status_code == 202, r.text
    done = wait(api.http, r.json()["rq_id"])
    assert done["status"] == "failed", done
    assert expected in done["message"], done["message"]
    assert task_shapes(api) == before
    for job in jobs(api):
        history = api.http.get(f"/api/jobs/{job['id']}/history").json()["results"]
        assert not [e for e in history if e["source"] == "import"]
    left = Path(server.data_dir, "data", "file_uploads")
    assert not left.exists() or not any(left.iterdir())


def test_import_refusals_and_permissions(server: Any) -> None:
    api = new_task(server)
    url = f"/api/tasks/{api.task_id}/annotations/"
    r = api.http.post(url, params={"format": "Nope 1.0"}, headers={"Upload-Start": ""})
    assert r.status_code == 400 and "format" in r.json()
    r = api.http.post(url, params={"format": COCO, "filename": "never.json"},
                      headers={"Upload-Finish": ""})  # fmt: skip
    assert r.status_code == 400 and "never.json" in r.json()["filename"][0]

    empty = api.new_task()
    r = api.http.post(f"/api/tasks/{empty}/annotations/", params={"format": COCO},
                      headers={"Upload-Start": ""})  # fmt: skip
    assert r.status_code == 400 and "no data" in r.json()["non_field_errors"][0]

    other = register(server.url)
    stranger = httpx.Client(base_url=server.url, auth=(other["username"], other["password"]))
    r = stranger.post(url, params={"format": COCO}, headers={"Upload-Start": ""})
    assert r.status_code == 404
    r = stranger.post(f"/api/tasks/{api.task_id}/dataset/export", params={"format": COCO})
    assert r.status_code == 404
    job = jobs(api)[0]
    assert stranger.post(f"/api/jobs/{job['id']}/dataset/export",
                         params={"format": COCO}).status_code == 404  # fmt: skip
    r = stranger.post(
        f"/api/jobs/{job['id']}/annotations/", params={"format": COCO},
        headers={"Upload-Start": ""},
    )  # fmt: skip
    assert r.status_code == 404


# --- round trips through the server ------------------------------------------------------


def boxes(api: Api) -> list[tuple[int, str, list[float]]]:
    names = {v: k for k, v in labels(api).items()}
    data = api.http.get(f"/api/tasks/{api.task_id}/annotations").json()
    return sorted(
        (s["frame"], names[s["label_id"]], [round(p, 1) for p in s["points"]])
        for s in data["shapes"]
    )


def upload_annotations(api: Api, fmt: str, name: str, payload: bytes) -> dict[str, Any]:
    r = api.http.post(
        f"/api/tasks/{api.task_id}/annotations/", params={"format": fmt},
        files={"annotation_file": (name, payload)},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    return wait(api.http, r.json()["rq_id"])


@pytest.mark.parametrize(
    ("exporter", "importer"),
    [
        ("CVAT for images 1.1", "CVAT 1.1"),
        ("COCO 1.0", "COCO 1.0"),
        ("PASCAL VOC 1.1", "PASCAL VOC 1.1"),
        ("YOLO 1.1", "YOLO 1.1"),
        ("Datumaro 1.0", "Datumaro 1.0"),
    ],
)
def test_a_dataset_exported_with_images_imports_into_a_fresh_task(
    server: Any, exporter: str, importer: str
) -> None:
    if not (registry.FORMATS.get(exporter) and registry.FORMATS.get(importer)):
        pytest.skip(f"{exporter} / {importer} is not implemented")
    source = new_task(server)
    ids = labels(source)
    body = {
        "shapes": [box(0, ids["car"], 3.0), box(1, ids["person"], 7.5), box(3, ids["car"], 11.0)],
        "tags": [], "tracks": [],
    }  # fmt: skip
    r = source.http.put(f"/api/tasks/{source.task_id}/annotations", json=body)
    assert r.status_code == 200, r.text
    done = export(source, f"/api/tasks/{source.task_id}/dataset/export",
                  format=exporter, save_images="True")  # fmt: skip
    assert done["status"] == "finished", done
    archive = source.http.get(done["result_url"]).content

    target = new_task(server)
    done = upload_annotations(target, importer, "dataset.zip", archive)
    assert done["status"] == "finished", done
    assert boxes(target) == boxes(source)


def test_a_video_task_exports_its_frames_and_tracks_and_imports_them_back(
    server: Any, tmp_path: Path
) -> None:
    from tests.api.test_task_video import video_bytes

    api = Api(server, labels=LABELS, segment_size=3)
    done = api.create([("clip.mp4", video_bytes(tmp_path, frames=6))])
    assert done["status"] == "finished", done
    car = labels(api)["car"]
    track = {"frame": 0, "label_id": car, "shapes": [
        {"type": "rectangle", "frame": 0, "points": [1.0, 2.0, 11.0, 12.0]},
        {"type": "rectangle", "frame": 4, "points": [5.0, 2.0, 15.0, 12.0]},
        {"type": "rectangle", "frame": 5, "points": [5.0, 2.0, 15.0, 12.0], "outside": True},
    ]}  # fmt: skip
    r = api.http.put(f"/api/tasks/{api.task_id}/annotations",
                     json={"shapes": [], "tags": [], "tracks": [track]})  # fmt: skip
    assert r.status_code == 200, r.text
    before = api.http.get(f"/api/tasks/{api.task_id}/annotations").json()["tracks"]

    done = export(api, f"/api/tasks/{api.task_id}/dataset/export", format="CVAT for images 1.1")
    with zipfile.ZipFile(io.BytesIO(api.http.get(done["result_url"]).content)) as zf:
        xml = zf.read("annotations.xml").decode()
    assert 'name="frame_000000"' in xml and 'name="frame_000005"' in xml

    done = export(api, f"/api/tasks/{api.task_id}/dataset/export",
                  format="CVAT for video 1.1", save_images="True")  # fmt: skip
    assert done["status"] == "finished", done
    archive = api.http.get(done["result_url"]).content
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        images = sorted(n for n in zf.namelist() if n.startswith("images/"))
        assert images == [f"images/frame_{i:06d}.png" for i in range(6)], images
        query = {"type": "frame", "number": 3, "quality": "original"}
        served = api.http.get(f"/api/tasks/{api.task_id}/data/", params=query)
        assert zf.read("images/frame_000003.png") == served.content
    assert api.http.delete(f"/api/tasks/{api.task_id}/annotations").status_code == 204
    done = upload_annotations(api, "CVAT 1.1", "video.zip", archive)
    assert done["status"] == "finished", done
    after = api.http.get(f"/api/tasks/{api.task_id}/annotations").json()["tracks"]

    def keyframes(tracks: list[dict[str, Any]]) -> list[tuple[int, bool, list[float]]]:
        return sorted((s["frame"], s["outside"], s["points"]) for t in tracks for s in t["shapes"])

    assert len(after) == len(before) == 1
    assert keyframes(after) == keyframes(before)


# --- dataset import into a project -------------------------------------------------------


def test_a_dataset_imports_into_a_project_as_a_task_per_subset(server: Any, tmp_path: Path) -> None:
    from cvat_sdk import make_client

    source = new_task(server)
    annotate(source)
    done = export(source, f"/api/tasks/{source.task_id}/dataset/export", save_images="True")
    dataset = tmp_path / "cars.zip"
    dataset.write_bytes(source.http.get(done["result_url"]).content)

    with make_client(server.url, credentials=server.admin) as client:
        client.config.status_check_period = 0.1
        project = client.projects.create({"name": "imported", "labels": LABELS})
        project.import_dataset(COCO, dataset)
        (task,) = project.get_tasks()
        # CVAT makes a task of each subset of the dataset, named after it
        assert (task.name, task.subset, task.size) == ("default", "default", 4)
        imported = Api.__new__(Api)
        imported.http, imported.task_id = source.http, task.id
        assert boxes(imported) == boxes(source)
        history = source.http.get(f"/api/tasks/{task.id}/history").json()["results"]
        assert any(e["source"] == "import" for e in history)

    # cvat-cli: a second import makes a second task
    user, password = server.admin
    done_cli = subprocess.run(
        [CLI, "--server-host", server.url, "--auth", f"{user}:{password}", "project",
         "import-dataset", str(project.id), str(dataset), "--format", COCO],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done_cli.returncode == 0, done_cli.stderr
    tasks = source.http.get("/api/tasks", params={"project_id": project.id}).json()["results"]
    assert len(tasks) == 2


def test_a_dataset_with_an_unknown_label_creates_no_task(server: Any) -> None:
    source = new_task(server)
    annotate(source)
    done = export(source, f"/api/tasks/{source.task_id}/dataset/export", save_images="True")
    archive = source.http.get(done["result_url"]).content
    project = source.http.post(
        "/api/projects", json={"name": "no cars", "labels": [{"name": "person"}]}
    ).json()
    r = source.http.post(
        f"/api/projects/{project['id']}/dataset/", params={"format": COCO},
        files={"dataset_file": ("cars.zip", archive)},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    failed = wait(source.http, r.json()["rq_id"])
    assert failed["status"] == "failed" and "car" in failed["message"], failed
    tasks = source.http.get("/api/tasks", params={"project_id": project["id"]}).json()
    assert tasks["count"] == 0
    r = source.http.post(
        f"/api/projects/{project['id']}/dataset/", params={"format": COCO},
        files={"dataset_file": ("only.json", coco_file([]))},
    )  # fmt: skip
    failed = wait(source.http, r.json()["rq_id"])
    assert failed["status"] == "failed" and "zip archive" in failed["message"], failed


# --- export to a bucket ------------------------------------------------------------------


def test_export_to_and_import_from_cloud_storage(
    services: Any, template_db: str, s3_endpoint: str
) -> None:
    from tests.api.test_cloudstorages import make_bucket, s3, storage_body
    from tests.conftest import api_server

    with api_server(
        services, template_db, redis_db=14, url_allowlist="127.0.0.1",
        secret_key="a test secret, not a real one",
    ) as running:  # fmt: skip
        api = new_task(running)
        annotate(api)
        bucket = make_bucket(s3_endpoint, {})
        r = api.http.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket))
        assert r.status_code == 201, r.text
        storage_id = r.json()["id"]
        r = api.http.post(
            f"/api/tasks/{api.task_id}/dataset/export",
            params={"format": COCO, "location": "cloud_storage", "cloud_storage_id": storage_id,
                    "filename": "exports/cars.zip"},
        )  # fmt: skip
        assert r.status_code == 202, r.text
        done = wait(api.http, r.json()["rq_id"])
        assert done["status"] == "finished", done
        assert done["result_url"] is None
        body = s3(s3_endpoint).get_object(Bucket=bucket, Key="exports/cars.zip")["Body"].read()
        assert len(coco(body)[1]["annotations"]) == 4
        assert not Path(running.data_dir, "data", "exports", done["id"]).exists()

        # ... and an import reads it back from there: location=cloud_storage names the
        # object, or (no location, use_default_location) the task's source storage does
        assert api.http.delete(f"/api/tasks/{api.task_id}/annotations").status_code == 204
        r = api.http.post(
            f"/api/tasks/{api.task_id}/annotations/",
            params={"format": COCO, "location": "cloud_storage", "cloud_storage_id": storage_id,
                    "filename": "exports/cars.zip"},
        )  # fmt: skip
        assert r.status_code == 202, r.text
        assert wait(api.http, r.json()["rq_id"])["status"] == "finished"
        assert len(task_shapes(api)) == 4
        source = {"location": "cloud_storage", "cloud_storage_id": storage_id}
        sourced = new_task(running, source_storage=source)
        r = sourced.http.post(f"/api/tasks/{sourced.task_id}/annotations/",
                              params={"format": COCO, "filename": "exports/cars.zip"})  # fmt: skip
        assert r.status_code == 202, r.text
        assert wait(sourced.http, r.json()["rq_id"])["status"] == "finished"
        assert task_shapes(sourced) == task_shapes(api)
        r = sourced.http.post(f"/api/tasks/{sourced.task_id}/annotations/",
                              params={"format": COCO, "filename": "exports/none.zip"})  # fmt: skip
        failed = wait(sourced.http, r.json()["rq_id"])
        assert failed["status"] == "failed" and "none.zip" in failed["message"], failed

        # A task whose target storage is the bucket: cvat-sdk sends no location and
        # expects no download; the archive lands in the bucket under the given name.
        from cvat_sdk import make_client

        target = {"location": "cloud_storage", "cloud_storage_id": storage_id}
        routed = new_task(running, frames=1, target_storage=target)
        with make_client(running.url, credentials=running.admin) as client:
            client.config.status_check_period = 0.1
            client.tasks.retrieve(routed.task_id).export_dataset(COCO, "routed.zip")
        body = s3(s3_endpoint).get_object(Bucket=bucket, Key="routed.zip")["Body"].read()
        assert len(coco(body)[1]["images"]) == 1

        r = api.http.post(
            f"/api/tasks/{api.task_id}/dataset/export",
            params={"format": COCO, "location": "cloud_storage", "cloud_storage_id": storage_id,
                    "filename": "../up.zip"},
        )  # fmt: skip
        assert r.status_code == 400 and "filename" in r.json()
        for bad in (None, 999_999, 2**70):
            params = {"format": COCO, "location": "cloud_storage"}
            if bad is not None:
                params["cloud_storage_id"] = str(bad)
            r = api.http.post(f"/api/tasks/{api.task_id}/dataset/export", params=params)
            assert r.status_code == 400 and "cloud_storage_id" in r.json(), r.text
        other = register(running.url)
        theirs = Api(running, auth=(other["username"], other["password"]))
        assert theirs.create([("a.png", image_bytes(8, 8, (1, 2, 3)))])["status"] == "finished"
        r = theirs.http.post(
            f"/api/tasks/{theirs.task_id}/dataset/export",
            params={"format": COCO, "location": "cloud_storage", "cloud_storage_id": storage_id},
        )  # fmt: skip
        assert r.status_code == 400 and "does not exist" in r.json()["cloud_storage_id"][0]


def test_an_abandoned_upload_is_dropped_a_day_later(server: Any) -> None:
    import psycopg

    api = new_task(server)
    url = f"/api/tasks/{api.task_id}/annotations/"
    assert (
        api.http.post(url, params={"format": COCO}, headers={"Upload-Start": ""}).status_code == 202
    )
    created = api.http.post(url, headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": "100", "Upload-Metadata": "filename YS5qc29u",
    })  # fmt: skip
    assert created.status_code == 201, created.text
    file_id = created.headers["location"].rsplit("/", 1)[1]
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        session = conn.execute(
            "SELECT session::text FROM file_uploads WHERE id = %s", [file_id]
        ).fetchone()[0]
        conn.execute(
            "UPDATE file_upload_sessions SET started_at = now() - interval '2 days'"
            " WHERE session = %s",
            [session],
        )
    left = Path(server.data_dir, "data", "file_uploads", session)
    assert left.is_dir()
    other = new_task(server)
    r = other.http.post(f"/api/tasks/{other.task_id}/annotations/", params={"format": COCO},
                        headers={"Upload-Start": ""})  # fmt: skip
    assert r.status_code == 202
    assert not left.exists()
    assert api.http.head(created.headers["location"]).status_code == 404


def test_imported_masks_become_polygons_unless_asked_not_to(server: Any) -> None:
    source = new_task(server)
    person = labels(source)["person"]
    # a 4 x 5 block at (2, 3): CVAT's RLE over the box, then left, top, right, bottom
    mask = {"type": "mask", "frame": 1, "label_id": person,
            "points": [0.0, 20.0, 2.0, 3.0, 5.0, 7.0]}  # fmt: skip
    r = source.http.put(f"/api/tasks/{source.task_id}/annotations",
                        json={"shapes": [mask], "tags": [], "tracks": []})  # fmt: skip
    assert r.status_code == 200, r.text
    done = export(source, f"/api/tasks/{source.task_id}/dataset/export",
                  format="CVAT for images 1.1")  # fmt: skip
    archive = source.http.get(done["result_url"]).content

    target = new_task(server)
    done = upload_annotations(target, "CVAT 1.1", "masks.zip", archive)
    assert done["status"] == "finished", done
    (shape,) = target.http.get(f"/api/tasks/{target.task_id}/annotations").json()["shapes"]
    assert shape["type"] == "polygon" and shape["frame"] == 1
    xs, ys = shape["points"][0::2], shape["points"][1::2]
    assert (min(xs), min(ys), max(xs), max(ys)) == (2.0, 3.0, 5.0, 7.0)

    r = target.http.post(
        f"/api/tasks/{target.task_id}/annotations/",
        params={"format": "CVAT 1.1", "conv_mask_to_poly": "false"},
        files={"annotation_file": ("masks.zip", archive)},
    )  # fmt: skip
    assert wait(target.http, r.json()["rq_id"])["status"] == "finished"
    (shape,) = target.http.get(f"/api/tasks/{target.task_id}/annotations").json()["shapes"]
    assert shape["type"] == "mask" and shape["points"] == mask["points"]
