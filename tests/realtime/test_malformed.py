"""Bad messages get an error and leave the socket, other sockets and the server working."""

from __future__ import annotations

import secrets

import httpx

from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.realtime.conftest import Pair, new_job, rect


async def test_bad_messages_get_an_error_and_the_session_goes_on(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    async with (
        RealtimeClient(pair.ws(), basic=pair.a.admin) as bad,
        RealtimeClient(pair.ws(), basic=pair.a.admin) as good,
    ):
        await bad.subscribe(job)
        view = await good.subscribe(job)
        cases = [
            ("{not json", "malformed", None),
            ("[1, 2]", "malformed", None),
            ('{"type": "launch_missiles"}', "unknown_type", "type"),
            ('{"no_type": 1}', "unknown_type", "type"),
            ('{"type": "subscribe", "job": "seven"}', "invalid", "job"),
            ('{"type": "presence", "job": 999999}', "not_subscribed", "job"),
            ('{"type": "hello", "protocol": 1}', "hello_twice", None),
            # presence is relayed to everyone in the job, so its size is bounded
            (f'{{"type": "presence", "job": {job}, "cursor": [1, 2, 3]}}', "invalid", "cursor"),
            (
                f'{{"type": "presence", "job": {job}, "selection": {list(range(10_001))}}}',
                "invalid",
                "selection",
            ),
            ("x" * (protocol.MAX_MESSAGE_BYTES + 1), "too_big", None),
        ]
        for text, reason, field in cases:
            await bad.send_raw(text)
            error = await bad.next_message(protocol.Error)
            assert (error.reason, error.field) == (reason, field), (text[:40], error)
        await bad.send_raw(b"\x00binary")
        assert (await bad.next_message(protocol.Error)).reason == "binary"
        # a malformed op with an op id is nacked naming the field
        command = '{"type": "create", "shapes": [{"frame": "zero"}]}'
        await bad.send_raw(f'{{"type": "op", "op_id": "o1", "job": {job}, "command": {command}}}')
        nack = await bad.next_message(protocol.Nack)
        assert nack.op_id == "o1" and nack.reason == "invalid"
        assert nack.field is not None and "frame" in nack.field
        # a NUL in any string (Postgres cannot store it) is nacked before it reaches the log
        nul = {"type": "create", "tags": [{"frame": 0, "label_id": task.label("car"),
                                          "attributes": [], "source": "bad\u0000"}]}  # fmt: skip
        refused = await bad.op(job, nul)
        assert isinstance(refused, protocol.Nack) and refused.reason == "invalid"
        assert "NUL" in refused.message
        # ops on objects that do not exist are nacked
        missing = await bad.op(job, {"type": "update", "shapes": [{"id": 10**9, "z_order": 3}]})
        assert isinstance(missing, protocol.Nack) and missing.reason == "not_found"
        # both sockets still work
        await bad.send(protocol.Ping(nonce="still there"))
        assert (await bad.next_message(protocol.Pong)).nonce == "still there"
        ack = await bad.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(ack, protocol.Ack)
        await good.wait_revision(job, ack.revision)
        assert len(view.state.shapes()) == 1


async def test_a_wrong_protocol_version_is_closed_with_a_reason(pair: Pair) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    headers = {"Authorization": httpx.BasicAuth(*pair.a.admin)._auth_header}
    async with connect(pair.ws(), additional_headers=headers) as ws:
        await ws.send('{"type": "hello", "protocol": 0}')
        try:
            await ws.recv()
        except ConnectionClosed:
            pass
        assert ws.close_code == protocol.CloseCode.PROTOCOL_TOO_OLD
        assert ws.close_reason == protocol.CLOSE_REASONS[protocol.CloseCode.PROTOCOL_TOO_OLD]


async def test_an_op_id_too_long_to_store_is_nacked_naming_it(
    pair: Pair, admin_http: httpx.Client
) -> None:
    """Op ids are kept with the events and indexed: one past the limit is refused before
    anything is appended (it used to fail inside Postgres' index, with no answer)."""
    task, job = new_job(admin_http)
    async with RealtimeClient(pair.ws(), basic=pair.a.admin) as client:
        before = (await client.subscribe(job)).revision
        long_id = secrets.token_hex(2000)  # random: Postgres cannot compress it into its index
        refused = await client.op(job, {"type": "create", "shapes": [rect(task)]}, op_id=long_id)
        assert isinstance(refused, protocol.Nack) and refused.op_id == long_id
        assert (refused.reason, refused.field) == ("invalid", "op_id")
        ack = await client.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(ack, protocol.Ack) and ack.revision == before + 1
