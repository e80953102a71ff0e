"""Seeded randomized convergence: several clients on two server processes edit one job at
once (conflicting edits of the same objects, edits of objects deleted meanwhile, track
keyframes set and removed), some
drop their connection mid-way and come back with their last revision. At the end every
client's state == GET annotations == a replay of the job's events."""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import httpx

from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.realtime.conftest import Pair, canonical, new_job, rect, replay, rest

SEED = int(os.environ.get("VELLUM_TEST_SEED", "20261125"))
CLIENTS = 6
STEPS = 30


def _keyframe(rng: random.Random, frame: int) -> dict[str, Any]:
    x = rng.randrange(40)
    return {"type": "rectangle", "frame": frame, "points": [x, 1.0, x + 8.0, 9.0]}


def _track_command(rng: random.Random, view: Any, task: Any) -> dict[str, Any]:
    tracks = view.state.tracks()
    if not tracks or rng.random() < 0.2:
        return {"type": "create", "tracks": [{"frame": 0, "label_id": task.label("car"),
                                              "shapes": [_keyframe(rng, 0)]}]}  # fmt: skip
    track = rng.choice(tracks)
    frame = rng.randrange(4)
    if rng.random() < 0.6:
        return {"type": "set_keyframe", "track_id": track.id, "shape": _keyframe(rng, frame)}
    return {"type": "delete_keyframe", "track_id": track.id, "frame": frame}


def _command(rng: random.Random, view: Any, task: Any) -> dict[str, Any]:
    shapes = [s.id for s in view.state.shapes()]
    tags = [t.id for t in view.state.tags()]
    roll = rng.random()
    if roll < 0.12:
        return _track_command(rng, view, task)
    roll = rng.random()
    if roll < 0.25 or not shapes:
        if rng.random() < 0.2:
            return {"type": "create", "tags": [{"frame": rng.randrange(4),
                                                "label_id": task.label("person")}]}  # fmt: skip
        return {"type": "create", "shapes": [rect(task, rng.randrange(4), rng.randrange(50))]}
    # a small pool of ids: clients often edit the same objects, or ones just deleted
    target = rng.choice(shapes[:4] + shapes[-2:])
    if roll < 0.75:
        prop = rng.choice(["points", "occluded", "z_order", "frame", "both"])
        patch: dict[str, Any] = {"id": target}
        if prop in ("points", "both"):
            x = rng.randrange(50)
            patch["points"] = [x, 2.0, x + 4.0, 9.0]
        if prop in ("occluded", "both"):
            patch["occluded"] = rng.random() < 0.5
        if prop == "z_order":
            patch["z_order"] = rng.randrange(5)
        if prop == "frame":
            patch["frame"] = rng.randrange(4)
        return {"type": "update", "shapes": [patch]}
    if roll < 0.9 or not tags:
        return {"type": "delete", "shapes": [{"id": target}]}
    return {"type": "delete", "tags": [{"id": rng.choice(tags)}]}


async def _run_client(
    client: RealtimeClient, job: int, task: Any, rng: random.Random, stats: dict[str, int]
) -> None:
    view = client.views[job]
    drop_at = rng.randrange(5, STEPS - 5) if rng.random() < 0.5 else -1
    for step in range(STEPS):
        if step == drop_at:
            await client.drop()
            await asyncio.sleep(rng.random() * 0.3)  # others go on editing meanwhile
            await client.reconnect()
            stats["reconnects"] += 1
        command = _command(rng, view, task)
        reply = await client.op(job, command)
        kind = command["type"]
        if isinstance(reply, protocol.Ack):
            stats["acks"] += 1
            stats[f"ack_{kind}"] = stats.get(f"ack_{kind}", 0) + 1
        else:
            assert reply.reason in ("not_found", "invalid"), reply  # never internal/busy
            stats[f"nack_{reply.reason}"] = stats.get(f"nack_{reply.reason}", 0) + 1
        await asyncio.sleep(rng.random() * 0.02)


async def test_clients_on_two_processes_converge_to_the_log(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    rng = random.Random(SEED)
    clients = [
        RealtimeClient(pair.ws(pair.a if i % 2 == 0 else pair.b), basic=pair.a.admin)
        for i in range(CLIENTS)
    ]
    for client in clients:
        await client.connect()
        await client.subscribe(job)
    seed = await clients[0].op(
        job, {"type": "create", "shapes": [rect(task, i % 4, i) for i in range(6)]}
    )
    assert isinstance(seed, protocol.Ack)  # fmt: skip
    stats = {"acks": 0, "reconnects": 0}
    rngs = [random.Random(rng.random()) for _ in clients]
    await asyncio.gather(
        *(_run_client(c, job, task, r, stats) for c, r in zip(clients, rngs, strict=True))
    )
    final = replay(pair.a.database_url, job)
    for client in clients:
        await client.wait_revision(job, final.revision, wait_s=20)
    async with rest(pair.b) as http:
        for _ in range(100):
            got = (await http.get(f"/api/jobs/{job}/annotations")).json()
            if got["version"] >= final.revision:
                break
            await asyncio.sleep(0.05)
    expected = canonical(final.to_cvat())
    assert canonical(got) == expected
    for client in clients:
        view = client.views[job]
        assert view.revision == final.revision
        assert canonical(view.cvat()) == expected
        assert view.duplicates == 0 and view.gaps == 0
        revisions = [r for r, _ in view.applied]
        assert revisions == sorted(set(revisions))
        await client.close()
    print(stats)  # the run exercised what it is meant to
    assert stats["acks"] > CLIENTS * STEPS // 2 and stats["reconnects"] >= 1
    assert stats.get("nack_not_found", 0) >= 1, stats
    assert stats.get("ack_set_keyframe", 0) >= 1, stats
