"""Subscribe, snapshot, ops, acks and events through a real server and real websockets."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.realtime.conftest import Pair, canonical, new_job, rect, rest


async def test_subscribe_gets_a_snapshot_and_ops_are_acked_and_broadcast(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with rest(pair.a) as http:
        r = await http.patch(f"/api/jobs/{job}/annotations", params={"action": "create"},
                             json={"shapes": [rect(task)]})  # fmt: skip
        r.raise_for_status()
    async with (
        RealtimeClient(pair.ws(), basic=pair.a.admin) as alice,
        RealtimeClient(pair.ws(), basic=pair.a.admin) as bob,
    ):
        view_a = await alice.subscribe(job)
        view_b = await bob.subscribe(job)
        assert len(view_a.state.shapes()) == 1
        assert view_a.revision == view_b.revision >= 1
        ack = await alice.op(job, {"type": "create", "shapes": [rect(task, x=10)]})
        assert isinstance(ack, protocol.Ack), ack
        assert len(ack.ids.shapes) == 1 and ack.position > 0
        await bob.wait_revision(job, ack.revision)
        await alice.wait_revision(job, ack.revision)
        # the submitter gets its own event too, recognisable by op id
        assert view_a.applied[-1][1] == view_b.applied[-1][1] == ack.op_id
        assert canonical(view_a.cvat()) == canonical(view_b.cvat())
        new_id = ack.ids.shapes[0]
        update = {"type": "update", "shapes": [{"id": new_id, "points": [1, 2, 3, 4]}]}
        ack2 = await bob.op(job, update)
        assert isinstance(ack2, protocol.Ack)
        await alice.wait_revision(job, ack2.revision)
        shape = view_a.state.get("shape", new_id)
        assert shape is not None and list(shape.points) == [1, 2, 3, 4]  # type: ignore[union-attr]


async def test_an_edit_through_rest_reaches_the_socket(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    sources: list[str] = []
    async with (
        RealtimeClient(
            pair.ws(), basic=pair.a.admin, on_event=lambda e: sources.append(e.source)
        ) as client,
        rest(pair.a) as http,
    ):
        view = await client.subscribe(job)
        r = await http.patch(f"/api/jobs/{job}/annotations", params={"action": "create"},
                             json={"shapes": [rect(task)]})  # fmt: skip
        assert r.status_code == 200, r.text
        await client.wait_revision(job, r.json()["version"], wait_s=10)
        assert view.applied[-1][1] is None  # no op id: it came from REST
        assert sources == ["api"]
        got = (await http.get(f"/api/jobs/{job}/annotations")).json()
        assert canonical(view.cvat()) == canonical(got)


async def test_a_client_on_one_process_sees_edits_made_on_the_other(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with (
        RealtimeClient(pair.ws(pair.a), basic=pair.a.admin) as on_a,
        RealtimeClient(pair.ws(pair.b), basic=pair.a.admin) as on_b,
    ):
        view_a = await on_a.subscribe(job)
        ack = await on_b.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(ack, protocol.Ack)
        await on_a.wait_revision(job, ack.revision, wait_s=10)
        assert [s.id for s in view_a.state.shapes()] == ack.ids.shapes
        async with rest(pair.b) as http_b:
            r = await http_b.patch(
                f"/api/jobs/{job}/annotations",
                params={"action": "create"},
                json={"tags": [{"frame": 1, "label_id": task.label("person")}]},
            )
            assert r.status_code == 200, r.text  # fmt: skip
        await on_a.wait_revision(job, r.json()["version"], wait_s=10)
        assert len(view_a.state.tags()) == 1


async def test_an_edit_of_a_deleted_object_is_nacked(pair: Pair, admin_http: httpx.Client) -> None:
    task, job = new_job(admin_http)
    async with RealtimeClient(pair.ws(), basic=pair.a.admin) as client:
        await client.subscribe(job)
        ack = await client.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(ack, protocol.Ack)
        shape_id = ack.ids.shapes[0]
        deleted = await client.op(job, {"type": "delete", "shapes": [{"id": shape_id}]})
        assert isinstance(deleted, protocol.Ack)
        nack = await client.op(
            job, {"type": "update", "shapes": [{"id": shape_id, "points": [0, 0, 1, 1]}]}
        )
        assert isinstance(nack, protocol.Nack) and nack.reason == "not_found"
        assert nack.field == "shapes[0].id"
        again = await client.op(job, {"type": "delete", "shapes": [{"id": shape_id}]})
        assert isinstance(again, protocol.Nack) and again.reason == "not_found"
        bad = await client.op(job, {"type": "create", "shapes": [{**rect(task), "label_id": 0}]})
        assert isinstance(bad, protocol.Nack) and bad.reason == "invalid" and bad.field


async def test_presence_reaches_others_and_disappears_when_the_connection_drops(
    pair: Pair, admin_http: httpx.Client
) -> None:
    _, job = new_job(admin_http)
    async with RealtimeClient(pair.ws(pair.a), basic=pair.a.admin) as watcher:
        view = await watcher.subscribe(job)
        other = RealtimeClient(pair.ws(pair.b), basic=pair.a.admin)
        await other.connect()
        await other.subscribe(job)
        await other.presence(job, frame=2, selection=[5], cursor=[1.5, 2.5])
        state = await watcher.next_message(protocol.PresenceState)
        assert (state.frame, state.selection, state.cursor) == (2, [5], [1.5, 2.5])
        assert state.user.username == pair.a.admin[0]
        await other.drop()
        left = await watcher.next_message(protocol.PresenceLeft, wait_s=8)
        assert left.session == state.session and not view.presence
    await asyncio.sleep(0)


async def test_undo_and_redo_are_socket_ops_seen_by_everyone(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with (
        RealtimeClient(pair.ws(pair.a), basic=pair.a.admin) as author,
        RealtimeClient(pair.ws(pair.b), basic=pair.a.admin) as watcher,
    ):
        await author.subscribe(job)
        view = await watcher.subscribe(job)
        nothing = await author.op(job, {"type": "undo"})
        assert isinstance(nothing, protocol.Nack) and nothing.reason == "conflict"
        created = await author.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(created, protocol.Ack)
        undone = await author.op(job, {"type": "undo"})
        assert isinstance(undone, protocol.Ack) and undone.revision > created.revision
        await watcher.wait_revision(job, undone.revision)
        assert view.state.shapes() == [] and view.applied[-1][1] == undone.op_id
        redone = await author.op(job, {"type": "redo"})
        assert isinstance(redone, protocol.Ack)
        await watcher.wait_revision(job, redone.revision)
        assert [s.id for s in view.state.shapes()] == created.ids.shapes


def _sdk_edits(url: str, admin: tuple[str, str], job_id: int, label: int) -> dict[str, Any]:
    """A PUT and a PATCH through the unmodified cvat-sdk; the job as the sdk reads it."""
    from cvat_sdk import make_client
    from cvat_sdk.api_client import models

    with make_client(url, credentials=admin) as client:
        job = client.jobs.retrieve(job_id)
        job.set_annotations(models.LabeledDataRequest(
            shapes=[models.LabeledShapeRequest(type="rectangle", frame=0, label_id=label,
                                               points=[1.0, 2.0, 3.0, 4.0])],
            tags=[models.LabeledImageRequest(frame=1, label_id=label)],
        ))  # fmt: skip
        shape = job.get_annotations().shapes[0]
        job.update_annotations(models.PatchedLabeledDataRequest(shapes=[
            models.LabeledShapeRequest(id=shape.id, type=shape.type, frame=shape.frame,
                                       label_id=shape.label_id, points=[5.0, 5.0, 9.0, 9.0]),
        ]))  # fmt: skip
        got = job.get_annotations().to_dict()
    return dict(got)


async def test_edits_made_with_cvat_sdk_reach_the_socket(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with RealtimeClient(pair.ws(pair.a), basic=pair.a.admin) as client:
        view = await client.subscribe(job)
        got = await asyncio.to_thread(_sdk_edits, pair.b.url, pair.b.admin, job,
                                      task.label("person"))  # fmt: skip
        await client.wait_revision(job, got["version"], wait_s=10)
        assert canonical(view.cvat()) == canonical(got)


async def test_a_label_added_meanwhile_can_be_used_at_once(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with RealtimeClient(pair.ws(), basic=pair.a.admin) as client, rest(pair.a) as http:
        await client.subscribe(job)
        first = await client.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(first, protocol.Ack)  # the job's labels are now cached
        r = await http.patch(f"/api/tasks/{task.id}", json={"labels": [{"name": "bike"}]})
        assert r.status_code == 200, r.text
        labels = (await http.get("/api/labels", params={"task_id": task.id})).json()
        bike = next(label["id"] for label in labels["results"] if label["name"] == "bike")
        shape = {**rect(task), "label_id": bike}
        ack = await client.op(job, {"type": "create", "shapes": [shape]})
        assert isinstance(ack, protocol.Ack), ack


async def test_a_resent_op_is_acked_again_not_applied_twice(
    pair: Pair, admin_http: httpx.Client
) -> None:
    """A client that lost the ack (dropped connection) sends the op again, maybe to the
    other process: it gets the first ack's revision and ids, and nothing is duplicated."""
    task, job = new_job(admin_http)
    command = {"type": "create", "shapes": [rect(task, x=3)]}
    async with RealtimeClient(pair.ws(), basic=pair.a.admin) as first:
        await first.subscribe(job)
        ack = await first.op(job, command, op_id="resend-1")
    assert isinstance(ack, protocol.Ack), ack
    async with RealtimeClient(pair.ws(pair.b), basic=pair.b.admin) as again:
        view = await again.subscribe(job)
        second = await again.op(job, command, op_id="resend-1")
        other = await again.op(job, command, op_id="resend-2")  # a new op is applied
        assert isinstance(second, protocol.Ack) and isinstance(other, protocol.Ack)
        await again.wait_revision(job, other.revision)
        assert len(view.state.shapes()) == 2
    assert (second.revision, second.position, second.ids) == (ack.revision, ack.position, ack.ids)
    assert other.revision == ack.revision + 1
