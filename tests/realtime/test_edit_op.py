"""The compound `edit` op through a real server: a merge is one ack, one append of
consecutive events under its op id that the other participant sees, and one undo step;
a refused part appends nothing and the nack names it."""

from __future__ import annotations

import httpx

from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.realtime.conftest import Pair, new_job, rect


async def test_merge_as_one_edit_op_is_one_append_and_one_undo_step(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with (
        RealtimeClient(pair.ws(pair.a), basic=pair.a.admin) as author,
        RealtimeClient(pair.ws(pair.b), basic=pair.a.admin) as watcher,
    ):
        await author.subscribe(job)
        view = await watcher.subscribe(job)
        made = await author.op(
            job, {"type": "create", "shapes": [rect(task, 0), rect(task, 2, 20)]}
        )
        assert isinstance(made, protocol.Ack)
        label = task.label("person")
        keyframes = [{"type": "rectangle", "frame": f, "points": [x, 1, x + 5, 6]}
                     for f, x in ((0, 0), (2, 20))]  # fmt: skip
        bad = {"type": "edit", "create": {"tracks": [{"frame": 0, "label_id": label,
                                                      "shapes": keyframes}]},
               "delete": {"shapes": [{"id": made.ids.shapes[0]}, {"id": 987654321}]}}  # fmt: skip
        refused = await author.op(job, bad)
        assert isinstance(refused, protocol.Nack) and refused.reason == "not_found"
        assert refused.field == "delete.shapes[1]"
        merge = {**bad, "delete": {"shapes": [{"id": i} for i in made.ids.shapes]}}
        merged = await author.op(job, merge)
        assert isinstance(merged, protocol.Ack), merged
        assert merged.revision == made.revision + 2  # nothing of the refused edit is there
        assert len(merged.ids.tracks) == 1
        await watcher.wait_revision(job, merged.revision)
        assert view.applied[-2:] == [(made.revision + 1, merged.op_id),
                                     (merged.revision, merged.op_id)]  # fmt: skip
        assert view.state.shapes() == [] and [t.id for t in view.state.tracks()] == (
            merged.ids.tracks
        )
        undone = await author.op(job, {"type": "undo"})
        assert isinstance(undone, protocol.Ack)
        await watcher.wait_revision(job, undone.revision)
        assert sorted(s.id for s in view.state.shapes()) == sorted(made.ids.shapes)
        assert view.state.tracks() == []
