"""A client that comes back with its last revision gets exactly what it missed."""

from __future__ import annotations

import httpx

from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.realtime.conftest import Pair, canonical, new_job, rect, rest


async def test_reconnect_with_the_last_revision_gets_exactly_the_missed_events(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with (
        RealtimeClient(pair.ws(pair.a), basic=pair.a.admin) as editor,
        rest(pair.b) as http,
    ):
        await editor.subscribe(job)
        flaky = RealtimeClient(pair.ws(pair.b), basic=pair.a.admin)
        await flaky.connect()
        view = await flaky.subscribe(job)
        first = await editor.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(first, protocol.Ack)
        await flaky.wait_revision(job, first.revision)
        before = view.revision
        await flaky.drop()
        missed = []
        for i in range(5):
            ack = await editor.op(job, {"type": "create", "shapes": [rect(task, x=i)]})
            assert isinstance(ack, protocol.Ack)
            missed.append(ack.revision)
        r = await http.patch(
            f"/api/jobs/{job}/annotations",
            params={"action": "create"},
            json={"tags": [{"frame": 0, "label_id": task.label("car")}]},
        )
        assert r.status_code == 200, r.text  # fmt: skip
        missed.append(r.json()["version"])
        applied_before = len(view.applied)
        await flaky.reconnect()
        await flaky.wait_revision(job, missed[-1])
        caught_up = [revision for revision, _ in view.applied[applied_before:]]
        assert caught_up == list(range(before + 1, missed[-1] + 1))
        assert view.duplicates == 0 and view.gaps == 0
        # then live events
        live = await editor.op(job, {"type": "delete", "shapes": [{"id": first.ids.shapes[0]}]})
        assert isinstance(live, protocol.Ack)
        await flaky.wait_revision(job, live.revision)
        got = (await http.get(f"/api/jobs/{job}/annotations")).json()
        assert canonical(view.cvat()) == canonical(editor.views[job].cvat())
        assert len(view.state.shapes()) == 5 and len(view.state.tags()) == 1
        assert got["version"] <= live.revision
        await flaky.close()


async def test_a_client_ahead_of_the_store_gets_a_snapshot_instead(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with RealtimeClient(pair.ws(), basic=pair.a.admin) as client:
        ack = await client.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(ack, protocol.Ack)
        view = await client.subscribe(job, since_revision=ack.revision + 100)
        assert view.revision == ack.revision and len(view.state.shapes()) == 1
        assert view.applied == []  # a snapshot, not events
