"""Review issues and comments against the real server: CRUD over HTTP and through cvat-sdk,
filters and pagination, CVAT's permission rules, bad input (a 400 naming the field, nothing
appended), and each write as an event of the job's stream: in its history and live on the
realtime socket."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

import httpx
import pytest

from backend.domain import review
from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.api.iam_helpers import PASSWORD, register
from tests.api.test_annotations import Task


@pytest.fixture(scope="module")
def http(server: Any) -> Any:
    with httpx.Client(base_url=server.url, auth=server.admin, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def task(http: httpx.Client) -> Task:
    return Task(http, frames=20, segment_size=10)  # jobs of frames 0..9 and 10..19


def issue(http: httpx.Client, job: int, frame: int, **extra: Any) -> dict[str, Any]:
    body = {"job": job, "frame": frame, "position": [1, 2, 30, 40], "message": "fix it",
            **extra}  # fmt: skip
    r = http.post("/api/issues", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def history_types(http: httpx.Client, job: int) -> list[str]:
    r = http.get(f"/api/jobs/{job}/history", params={"page_size": 500})
    assert r.status_code == 200, r.text
    return [e["type"] for e in r.json()["results"]]


def user_client(server: Any) -> tuple[dict[str, Any], httpx.Client]:
    """A new user (role "user") and a client signed in as them (not yet opened)."""
    user = register(server.url)
    auth = (str(user["username"]), PASSWORD)
    return user, httpx.Client(base_url=server.url, auth=auth, timeout=60)


def test_an_issue_is_created_commented_resolved_reopened_and_removed(http, task):
    job = task.job(0)
    made = issue(http, job, 3)
    assert (made["job"], made["frame"], made["position"]) == (job, 3, [1, 2, 30, 40])
    assert made["resolved"] is False and made["owner"]["username"] == "admin"
    assert made["assignee"] is None and made["comments"]["count"] == 1
    assert http.get(f"/api/jobs/{job}").json()["issues"]["count"] >= 1
    iid = made["id"]
    [first] = http.get("/api/comments", params={"issue_id": iid}).json()["results"]
    assert first["message"] == "fix it" and first["issue"] == iid

    r = http.patch(f"/api/issues/{iid}", json={"resolved": True, "assignee": 1,
                                               "position": [0, 0, 5, 5, 9, 0]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["resolved"] is True and r.json()["assignee"]["id"] == 1
    assert r.json()["position"] == [0, 0, 5, 5, 9, 0]
    assert http.patch(f"/api/issues/{iid}", json={"resolved": False}).json()["resolved"] is False

    r = http.post("/api/comments", json={"issue": iid, "message": "done?"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = http.patch(f"/api/comments/{cid}", json={"message": "done now"})
    assert r.status_code == 200 and r.json()["message"] == "done now"
    assert http.get(f"/api/issues/{iid}").json()["comments"]["count"] == 2
    assert http.delete(f"/api/comments/{cid}").status_code == 204
    assert http.get(f"/api/comments/{cid}").status_code == 404

    assert http.delete(f"/api/issues/{iid}").status_code == 204
    assert http.get(f"/api/issues/{iid}").status_code == 404
    assert http.get(f"/api/comments/{first['id']}").status_code == 404
    types = history_types(http, job)
    for name in ("IssueCreated", "IssueUpdated", "CommentCreated", "CommentUpdated",
                 "CommentDeleted", "IssueDeleted"):  # fmt: skip
        assert name in types


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"frame": 15}, "frame"),  # a frame of the other job
        ({"position": [1, 2]}, "position"),  # one point
        ({"position": [1, 2, 3]}, "position"),  # not pairs
        ({"position": [1.5] * (2 * review.MAX_POINTS + 2)}, "position"),  # too many points
        ({"job": 987654}, "job"),
        ({"assignee": 987654}, "assignee"),
        ({"message": "  "}, "message"),
        ({"message": None}, "message"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_appends_nothing(http, task, change, field):
    job = task.job(0)
    before = history_types(http, job)
    body = {"job": job, "frame": 1, "position": [1, 2, 3, 4], "message": "m", **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = http.post("/api/issues", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json(), r.text
    assert history_types(http, job) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [({"position": [1, 2]}, "position"), ({"position": [0] * (2 * review.MAX_POINTS + 2)},
     "position"), ({"frame": 15}, "frame"), ({"job": 987654}, "job"),
     ({"assignee": 987654}, "assignee"), ({"message": "new"}, "message")],
)  # fmt: skip
def test_a_bad_patch_is_a_400_naming_the_field_and_appends_nothing(http, task, change, field):
    job = task.job(0)
    made = issue(http, job, 2)
    before = history_types(http, job)
    r = http.patch(f"/api/issues/{made['id']}", json=change)
    assert r.status_code == 400 and field in r.json(), r.text
    assert history_types(http, job) == before
    assert http.get(f"/api/issues/{made['id']}").json() == made


def test_lists_filter_sort_and_paginate(http, task):
    job = task.job(1)
    a, b, c = issue(http, job, 10), issue(http, job, 11), issue(http, job, 11)
    http.patch(f"/api/issues/{b['id']}", json={"resolved": True}).raise_for_status()

    def ids(**params: Any) -> list[int]:
        r = http.get("/api/issues", params={"job_id": job, **params})
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["results"]]

    assert ids() == [c["id"], b["id"], a["id"]]  # newest first
    assert ids(frame_id=11) == [c["id"], b["id"]]
    assert ids(task_id=task.id) == ids() and ids(task_id=987654) == []
    assert ids(resolved="true") == [b["id"]]
    assert ids(sort="frame_id,id") == [a["id"], b["id"], c["id"]]
    assert ids(owner="admin", filter='{"==":[{"var":"frame_id"},10]}') == [a["id"]]
    r = http.get("/api/comments", params={"job_id": job, "frame_id": 11, "sort": "id"})
    assert [m["issue"] for m in r.json()["results"]] == [b["id"], c["id"]]
    page = http.get("/api/issues", params={"job_id": job, "page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert http.get(page["next"]).json()["results"][0]["id"] == a["id"]


def test_permissions_follow_cvats_issue_and_comment_rules(server, http, task):
    job = task.job(0)
    annotator, ann_http = user_client(server)
    _, stranger = user_client(server)
    r = http.patch(f"/api/jobs/{job}", json={"assignee": annotator["id"]})
    assert r.status_code == 200, r.text
    with ann_http, stranger:
        mine = issue(ann_http, job, 4)  # the job's assignee opens issues
        theirs = issue(http, job, 5)
        assert stranger.get(f"/api/issues/{mine['id']}").status_code == 404
        assert stranger.patch(f"/api/issues/{mine['id']}", json={"resolved": True}
                              ).status_code == 404  # fmt: skip
        listed = stranger.get("/api/issues", params={"job_id": job}).json()
        assert listed["count"] == 0
        assert stranger.get("/api/comments", params={"issue_id": mine["id"]}).json()["count"] == 0
        r = stranger.post("/api/issues", json={"job": job, "frame": 1, "position": [1, 2, 3, 4],
                                               "message": "x"})  # fmt: skip
        assert r.status_code == 403, r.text
        r = stranger.post("/api/comments", json={"issue": mine["id"], "message": "x"})
        assert r.status_code == 403, r.text
        # The assignee sees, resolves and comments the owner's issue, but cannot remove it
        # nor change the owner's comment.
        assert ann_http.patch(f"/api/issues/{theirs['id']}", json={"resolved": True}
                              ).status_code == 200  # fmt: skip
        assert ann_http.delete(f"/api/issues/{theirs['id']}").status_code == 403
        [owners] = ann_http.get("/api/comments", params={"issue_id": theirs["id"]}).json()[
            "results"
        ]
        assert ann_http.patch(f"/api/comments/{owners['id']}", json={"message": "no"}
                              ).status_code == 403  # fmt: skip
        assert ann_http.delete(f"/api/comments/{owners['id']}").status_code == 403
        r = ann_http.post("/api/comments", json={"issue": theirs["id"], "message": "fixed"})
        assert r.status_code == 201, r.text
        # The task owner removes the assignee's comment and issue.
        assert http.delete(f"/api/comments/{r.json()['id']}").status_code == 204
        assert http.delete(f"/api/issues/{mine['id']}").status_code == 204


def test_cvat_sdk_creates_lists_updates_and_removes_issues_and_comments(server, task):
    from cvat_sdk import make_client
    from cvat_sdk.api_client import models

    job = task.job(1)
    host, port = server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=server.admin) as client:
        made = client.issues.create(models.IssueWriteRequest(
            frame=12, position=[1.0, 1.0, 4.0, 4.0], job=job, message="sdk issue"))  # fmt: skip
        assert made.job == job and made.frame == 12 and made.comments.count == 1
        assert made.id in [i.id for i in client.issues.list()]
        made.update(models.PatchedIssueWriteRequest(resolved=True))
        assert client.issues.retrieve(made.id).resolved is True
        comment = client.comments.create(
            models.CommentWriteRequest(issue=made.id, message="sdk comment")
        )
        assert [c.message for c in made.get_comments()] == ["sdk issue", "sdk comment"] or [
            c.message for c in made.get_comments()
        ] == ["sdk comment", "sdk issue"]
        comment.update(models.PatchedCommentWriteRequest(message="edited"))
        assert client.comments.retrieve(comment.id).message == "edited"
        comment.remove()
        made.remove()
        assert made.id not in [i.id for i in client.issues.list()]


async def test_a_subscriber_of_the_job_receives_issues_live(server, http, task):
    job = task.job(1)
    seen: list[protocol.EventMsg] = []
    ws = server.url.replace("http", "ws") + "/api/ws"
    async with RealtimeClient(ws, basic=server.admin, on_event=seen.append) as client:
        view = await client.subscribe(job)
        made = await asyncio.to_thread(issue, http, job, 13)
        r = await asyncio.to_thread(http.get, f"/api/jobs/{job}/history",
                                    params={"page_size": 500})  # fmt: skip
        last = r.json()["results"][-1]
        assert last["type"] == "IssueCreated" and last["data"]["issue_id"] == made["id"]
        assert last["actor"]["username"] == "admin"
        await client.wait_revision(job, last["revision"])
        live = [m for m in seen if m.event_type == "IssueCreated"]
        assert live and live[-1].revision == last["revision"]
        assert view.state.revision == last["revision"]  # annotations: only the revision moved
        # Annotation writes after a review event still decide on the right revision.
        ack = await client.op(job, {"type": "create", "shapes": [{
            "type": "rectangle", "label_id": task.label("person"), "frame": 13,
            "points": [1, 2, 3, 4]}]})  # fmt: skip
        assert isinstance(ack, protocol.Ack), ack


async def test_a_read_only_subscriber_reviews_through_rest_and_sees_it_live(server, http, task):
    """The reviewer's socket is read-only (a read-only access token); the issue they open
    over REST with their own credentials reaches that socket like any job event."""
    job = task.job(1)
    reviewer, reviewer_http = user_client(server)
    http.patch(f"/api/jobs/{job}", json={"assignee": reviewer["id"]}).raise_for_status()
    seen: list[protocol.EventMsg] = []

    def get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
        r = client.get(path, params=params)
        assert r.status_code == 200, r.text
        return dict(r.json())

    with reviewer_http:
        body = {"name": "ro", "read_only": True}
        r = await asyncio.to_thread(reviewer_http.post, "/api/auth/access_tokens", json=body)
        assert r.status_code == 201, r.text
        ws = server.url.replace("http", "ws") + f"/api/ws?token={r.json()['value']}"
        async with RealtimeClient(ws, on_event=seen.append) as client:
            view = await client.subscribe(job)
            assert not view.can_write
            made = await asyncio.to_thread(issue, reviewer_http, job, 14)
            body = {"issue": made["id"], "message": "2nd"}
            comment = await asyncio.to_thread(reviewer_http.post, "/api/comments", json=body)
            assert comment.status_code == 201, comment.text
            entries = await asyncio.to_thread(get, http, f"/api/jobs/{job}/history", page_size=500)
            last = entries["results"][-1]
            assert last["type"] == "CommentCreated"
            assert last["actor"]["id"] == reviewer["id"]
            await client.wait_revision(job, last["revision"])
            assert [m.event_type for m in seen][-2:] == ["IssueCreated", "CommentCreated"]
            assert seen[-1].actor == reviewer["id"]


def test_the_review_read_models_rebuild_identically_from_the_log(server, http, task):
    from backend.projections.replay import replay_and_compare
    from backend.projections.review import ReviewProjection

    kept = issue(http, task.job(0), 6)
    gone = issue(http, task.job(0), 7)
    http.patch(f"/api/issues/{kept['id']}", json={"resolved": True}).raise_for_status()
    http.post("/api/comments", json={"issue": kept["id"], "message": "x"}).raise_for_status()
    assert http.delete(f"/api/issues/{gone['id']}").status_code == 204
    report = asyncio.run(replay_and_compare(server.database_url, [ReviewProjection()]))
    assert report.identical, report


def test_undo_of_annotations_passes_over_review_events(http, task):
    job = task.job(0)
    r = http.patch(f"/api/jobs/{job}/annotations", params={"action": "create"},
                   json={"shapes": [{"type": "rectangle", "label_id": task.label("person"),
                                     "frame": 8, "points": [1, 2, 3, 4]}]})  # fmt: skip
    assert r.status_code == 200, r.text
    shape = r.json()["shapes"][0]["id"]
    made = issue(http, job, 8)  # after the shape: the last write of the user
    r = http.post(f"/api/jobs/{job}/undo")
    assert r.status_code == 200, r.text
    shapes = http.get(f"/api/jobs/{job}/annotations").json()["shapes"]
    assert shape not in [s["id"] for s in shapes]  # the shape was undone ...
    assert http.get(f"/api/issues/{made['id']}").status_code == 200  # ... the issue stays


def test_deleting_a_task_takes_the_issues_of_its_jobs(http):
    doomed = Task(http, frames=2, segment_size=2)
    made = issue(http, doomed.job(0), 1)
    assert http.delete(f"/api/tasks/{doomed.id}").status_code == 204
    assert http.get(f"/api/issues/{made['id']}").status_code == 404
    assert http.get("/api/comments", params={"issue_id": made["id"]}).json()["count"] == 0


def test_a_comment_that_lands_after_its_issue_was_removed_is_dropped(server, http, task):
    """The race of a comment with its issue's removal, replayed in log order: the
    CommentCreated that follows IssueDeleted leaves no orphan row."""
    from backend.domain import review
    from backend.projections.review import ReviewProjection

    job = task.job(0)
    made = issue(http, job, 9)
    assert http.delete(f"/api/issues/{made['id']}").status_code == 204

    async def late_comment() -> int:
        import psycopg

        from backend.domain.events import encode_event
        from backend.eventstore.port import RecordedEvent

        event = review.CommentCreated(comment_id=10**9, issue_id=made["id"], job_id=job,
                                      owner_id=1, message="too late")  # fmt: skip
        type_, version, data = encode_event(event)
        recorded = RecordedEvent(
            position=0, stream_id=f"job-{job}", revision=0, event_id=uuid.uuid4(), type=type_,
            version=version, data=data, metadata={},
            recorded_at=datetime.datetime.now(datetime.UTC),
        )  # fmt: skip
        async with await psycopg.AsyncConnection.connect(server.database_url) as conn:
            await ReviewProjection().apply(conn, [recorded])
            cur = await conn.execute("SELECT count(*) FROM comments WHERE issue_id = %s",
                                     [made["id"]])  # fmt: skip
            row = await cur.fetchone()
            await conn.rollback()
        assert row is not None
        return int(row[0])

    assert asyncio.run(late_comment()) == 0
