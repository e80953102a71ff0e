"""The Python client's ordering rules, on messages fed to it directly: duplicates are
skipped, a gap or a resync makes it ask for the missing events."""

from __future__ import annotations

from typing import Any

import msgspec

from backend.domain.events import ObjectsCreated, encode_event
from backend.domain.objects import LabeledImage
from backend.realtime import protocol
from backend.realtime.client import JobView, RealtimeClient


class _Socket:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, text: str) -> None:
        self.sent.append(msgspec.json.decode(text))


def _event(revision: int, tag_id: int) -> protocol.EventMsg:
    name, version, data = encode_event(
        ObjectsCreated(tags=[LabeledImage(id=tag_id, frame=0, label_id=1)])
    )
    return protocol.EventMsg(job=7, revision=revision, position=revision + 100,
                             event_type=name, version=version, data=msgspec.Raw(data))  # fmt: skip


async def test_the_client_skips_duplicates_and_asks_for_gaps_and_resyncs() -> None:
    client = RealtimeClient("ws://unused")
    socket = _Socket()
    client._ws = socket  # type: ignore[assignment]
    view = client.views[7] = JobView(7)
    await client._dispatch(protocol.SnapshotMsg(job=7, revision=0, annotations=msgspec.Raw(
        b'{"version":0,"tags":[],"shapes":[],"tracks":[]}')))  # fmt: skip
    await client._dispatch(protocol.Synced(job=7, revision=0))
    await client._dispatch(_event(1, 11))
    await client._dispatch(_event(1, 11))  # a duplicate
    assert view.revision == 1 and view.duplicates == 1 and socket.sent == []
    await client._dispatch(_event(3, 13))  # revision 2 is missing
    assert view.revision == 1 and view.gaps == 1
    assert socket.sent == [{"type": "subscribe", "job": 7, "since_revision": 1}]
    await client._dispatch(_event(4, 14))  # already asked: no second request
    assert len(socket.sent) == 1
    for revision in (2, 3, 4):
        await client._dispatch(_event(revision, 10 + revision))
    await client._dispatch(protocol.Synced(job=7, revision=4))
    assert view.revision == 4 and [t.id for t in view.state.tags()] == [11, 12, 13, 14]
    await client._dispatch(protocol.Resync(job=7, revision=4, reason="overflow"))
    assert socket.sent[-1] == {"type": "subscribe", "job": 7, "since_revision": 4}
