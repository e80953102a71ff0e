"""Job stages and states against the real server: CVAT's transition rules, each change an
event with its actor, the job's and task's status derived from them, and who may edit
annotations in which stage (the reviewer of a job in validation opens issues but does not
edit; in acceptance only task/project staff edit), over REST, cvat-sdk and the socket."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from backend.domain.job_workflow import job_status, task_status
from backend.iam.policy import STAGE_LOCKS
from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.api.test_annotations import Task
from tests.review.test_issues import history_types, issue, user_client


def patch_job(http: httpx.Client, job: int, **body: Any) -> dict[str, Any]:
    r = http.patch(f"/api/jobs/{job}", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def fields(job: dict[str, Any]) -> tuple[str, str, str]:
    return job["stage"], job["state"], job["status"]


def history(http: httpx.Client, job: int) -> list[dict[str, Any]]:
    r = http.get(f"/api/jobs/{job}/history", params={"page_size": 500})
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def box(task: Task, frame: int) -> dict[str, Any]:
    return {"type": "rectangle", "frame": frame, "label_id": task.label("person"),
            "points": [1.0, 2.0, 10.0, 20.0]}  # fmt: skip


def add_box(http: httpx.Client, task: Task, job: int, frame: int) -> httpx.Response:
    return http.patch(f"/api/jobs/{job}/annotations", params={"action": "create"},
                      json={"shapes": [box(task, frame)]})  # fmt: skip


@pytest.fixture(scope="module")
def team(server: Any) -> Any:
    """A task owned by a plain user, with an annotator and a reviewer (also plain users)."""
    owner, owner_http = user_client(server)
    annotator, annotator_http = user_client(server)
    reviewer, reviewer_http = user_client(server)
    with owner_http, annotator_http, reviewer_http:
        task = Task(owner_http, frames=6, segment_size=2)  # three jobs
        yield {
            "task": task, "owner": owner, "annotator": annotator, "reviewer": reviewer,
            "owner_http": owner_http, "annotator_http": annotator_http,
            "reviewer_http": reviewer_http,
        }  # fmt: skip


def test_stage_and_state_change_as_in_cvat_each_an_event_with_its_actor(team):
    http, task = team["owner_http"], team["task"]
    job = task.job(0)
    started = patch_job(http, job, state="in progress")
    assert fields(started) == ("annotation", "in progress", "annotation")
    review = patch_job(http, job, stage="validation")  # no state given: it becomes "new"
    assert fields(review) == ("validation", "new", "validation")
    rejected = patch_job(http, job, state="rejected")
    assert fields(rejected) == ("validation", "rejected", "validation")
    done = patch_job(http, job, stage="acceptance", state="completed")  # given: kept
    assert fields(done) == ("acceptance", "completed", "completed")
    before = history(http, job)
    patch_job(http, job, stage="acceptance")  # nothing changes: no event
    assert history(http, job) == before

    updates = [e for e in before if e["type"] == "JobUpdated"][-4:]
    assert [(e["data"].get("stage"), e["data"].get("state")) for e in updates] == [
        (None, "in progress"), ("validation", "new"), (None, "rejected"),
        ("acceptance", "completed"),
    ]  # fmt: skip
    assert {e["actor"]["username"] for e in updates} == {team["owner"]["username"]}
    patch_job(http, job, stage="annotation")  # back to work for the other tests


@pytest.mark.parametrize(
    ("body", "field"),
    [({"stage": "review"}, "stage"), ({"state": "done"}, "state"), ({"stage": None}, "stage"),
     ({"stage": "validation", "state": "finished"}, "state"), ({"assignee": 987654}, "assignee")],
)  # fmt: skip
def test_a_bad_value_is_a_400_naming_the_field_and_changes_nothing(team, body, field):
    http, job = team["owner_http"], team["task"].job(2)
    before = history_types(http, job), http.get(f"/api/jobs/{job}").json()
    r = http.patch(f"/api/jobs/{job}", json=body)
    assert r.status_code == 400 and field in r.json(), r.text
    assert (history_types(http, job), http.get(f"/api/jobs/{job}").json()) == before


def test_the_task_status_follows_its_jobs(team):
    http, task = team["owner_http"], team["task"]
    jobs = [task.job(i) for i in range(3)]
    steps = [
        [("annotation", "new")] * 3,
        [("validation", "new"), ("acceptance", "completed"), ("annotation", "completed")],
        [("validation", "new"), ("acceptance", "completed"), ("acceptance", "rejected")],
        [("acceptance", "new"), ("acceptance", "completed"), ("acceptance", "completed")],
        [("acceptance", "completed")] * 3,
    ]
    seen = []
    for step in steps:
        for job, (stage, state) in zip(jobs, step, strict=True):
            patch_job(http, job, stage=stage, state=state)
        reads = [http.get(f"/api/jobs/{j}").json() for j in jobs]
        assert [r["status"] for r in reads] == [job_status(*s) for s in step]
        got = http.get(f"/api/tasks/{task.id}").json()
        assert got["status"] == task_status(r["status"] for r in reads)
        assert got["jobs"]["completed"] == sum(s == ("acceptance", "completed") for s in step)
        assert got["jobs"]["validation"] == sum(s[0] == "validation" for s in step)
        listed = http.get("/api/tasks", params={"status": got["status"]}).json()["results"]
        assert task.id in [t["id"] for t in listed]
        seen.append(got["status"])
    assert seen == ["annotation", "annotation", "validation", "validation", "completed"]
    for job in jobs:
        patch_job(http, job, stage="annotation")


def test_the_reviewer_reviews_and_only_staff_edit_after_annotation(team):
    owner, annotator, reviewer = team["owner_http"], team["annotator_http"], team["reviewer_http"]
    task = team["task"]
    job = task.job(1)
    patch_job(owner, job, assignee=team["annotator"]["id"], stage="annotation")
    r = add_box(annotator, task, job, 2)
    assert r.status_code == 200, r.text

    patch_job(owner, job, stage="validation", assignee=team["reviewer"]["id"])
    assert annotator.get(f"/api/jobs/{job}").status_code == 404  # no longer assigned
    before = history_types(owner, job)
    assert reviewer.get(f"/api/jobs/{job}/annotations").status_code == 200
    refused = [
        add_box(reviewer, task, job, 3),
        reviewer.put(f"/api/jobs/{job}/annotations", json={"shapes": []}),
        reviewer.delete(f"/api/jobs/{job}/annotations"),
        reviewer.post(f"/api/jobs/{job}/undo"),
        reviewer.post(
            f"/api/jobs/{job}/annotations/",
            params={"format": "COCO 1.0"},
            headers={"Upload-Start": ""},
        ),
    ]
    for r in refused:
        assert r.status_code == 403, (r.request.method, r.request.url, r.text)
        assert r.json()["detail"] == STAGE_LOCKS["validation"]
    assert history_types(owner, job) == before  # nothing appended
    assert reviewer.patch(f"/api/jobs/{job}", json={"stage": "annotation"}).status_code == 403
    opened = issue(reviewer, job, 3)  # reviewers open issues
    assert opened["owner"]["id"] == team["reviewer"]["id"]
    assert patch_job(reviewer, job, state="rejected")["state"] == "rejected"
    assert add_box(owner, task, job, 3).status_code == 200  # task staff still edit

    patch_job(owner, job, stage="acceptance")
    r = add_box(reviewer, task, job, 3)
    assert r.status_code == 403 and r.json()["detail"] == STAGE_LOCKS["acceptance"]
    assert add_box(owner, task, job, 3).status_code == 200

    patch_job(owner, job, stage="annotation")  # the assignee edits again
    assert add_box(reviewer, task, job, 3).status_code == 200


def test_cvat_sdk_changes_stage_and_state_and_reads_the_task_status(server, team):
    from cvat_sdk import make_client
    from cvat_sdk.api_client import models

    task = team["task"]
    username = team["owner"]["username"]
    host, port = server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=(username, team["owner"]["password"])) as c:
        jobs = [c.jobs.retrieve(task.job(i)) for i in range(3)]

        def sdk_fields(job: Any) -> tuple[str, str, str]:  # the SDK's enum models, as text
            return str(job.stage), str(job.state), str(job.status)

        jobs[0].update(models.PatchedJobWriteRequest(stage=models.JobStage("validation")))
        assert sdk_fields(jobs[0]) == ("validation", "new", "validation")
        for job in jobs[1:]:
            job.update({"stage": "acceptance", "state": "completed"})
        assert str(c.tasks.retrieve(task.id).status) == "validation"
        jobs[0].update({"stage": "acceptance", "state": "completed"})
        assert sdk_fields(c.jobs.retrieve(jobs[0].id)) == ("acceptance", "completed", "completed")
        assert str(c.tasks.retrieve(task.id).status) == "completed"
        for job in jobs:
            job.update({"stage": "annotation"})
            assert sdk_fields(job) == ("annotation", "new", "annotation")
        assert str(c.tasks.retrieve(task.id).status) == "annotation"


async def test_a_reviewer_subscribes_read_only_and_its_issue_arrives_live(server, team):
    owner, reviewer_http = team["owner_http"], team["reviewer_http"]
    task = team["task"]
    job = task.job(2)
    await asyncio.to_thread(patch_job, owner, job, assignee=team["reviewer"]["id"],
                            stage="annotation")  # fmt: skip
    ws = server.url.replace("http", "ws") + "/api/ws"
    credentials = (team["reviewer"]["username"], team["reviewer"]["password"])
    async with RealtimeClient(ws, basic=credentials) as client:
        view = await client.subscribe(job)
        assert view.can_write and view.read_only_reason is None  # the annotator, for now

        await asyncio.to_thread(patch_job, owner, job, stage="validation")
        access = await client.next_message(protocol.Access)  # an observer from now on
        assert access.job == job and not access.can_write
        assert access.read_only_reason == STAGE_LOCKS["validation"]
        nack = await client.op(job, {"type": "create", "shapes": [box(task, 4)]})
        assert isinstance(nack, protocol.Nack) and nack.reason == "read_only", nack
        assert nack.message == STAGE_LOCKS["validation"]

        async with RealtimeClient(ws, basic=credentials) as again:  # a fresh subscription
            fresh = await again.subscribe(job)
            assert not fresh.can_write and fresh.read_only_reason == STAGE_LOCKS["validation"]

        made = await asyncio.to_thread(issue, reviewer_http, job, 5)
        last = (await asyncio.to_thread(history, owner, job))[-1]
        assert last["type"] == "IssueCreated" and last["data"]["issue_id"] == made["id"]
        await client.wait_revision(job, last["revision"])
        assert view.revision == last["revision"]

        await asyncio.to_thread(patch_job, owner, job, stage="annotation")
        access = await client.next_message(protocol.Access)
        assert access.can_write and access.read_only_reason is None
        ack = await client.op(job, {"type": "create", "shapes": [box(task, 4)]})
        assert isinstance(ack, protocol.Ack), ack
