"""Who may subscribe and who may send ops, per role and per kind of credentials."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.api.iam_helpers import PASSWORD, login, register
from tests.realtime.conftest import Pair, new_job, rect


def _user(pair: Pair) -> tuple[str, int]:
    user = register(pair.a.url)
    return str(user["username"]), int(user["id"])  # type: ignore[call-overload]


def _token(pair: Pair, username: str, read_only: bool) -> str:
    r = httpx.post(
        f"{pair.a.url}/api/auth/access_tokens",
        json={"name": "ws", "read_only": read_only},
        auth=(username, PASSWORD),
    )
    assert r.status_code == 201, r.text  # fmt: skip
    return str(r.json()["value"])


def _assign(http: httpx.Client, job: int, user_id: int) -> None:
    r = http.patch(f"/api/jobs/{job}", json={"assignee": user_id})
    assert r.status_code == 200, r.text


async def test_a_stranger_can_neither_subscribe_nor_edit(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    name, _ = _user(pair)
    async with RealtimeClient(pair.ws(), basic=(name, PASSWORD)) as stranger:
        await stranger.send(protocol.Subscribe(job=job))
        error = await stranger.next_message(protocol.Error)
        assert error.reason == "not_found" and error.field == "job"
        nack = await stranger.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(nack, protocol.Nack) and nack.reason == "not_found"


async def test_an_assignee_edits_and_a_read_only_token_only_watches(
    pair: Pair, admin_http: httpx.Client
) -> None:
    task, job = new_job(admin_http)
    name, user_id = _user(pair)
    _assign(admin_http, job, user_id)
    writer_token, reader_token = _token(pair, name, False), _token(pair, name, True)
    async with (
        RealtimeClient(pair.ws(), token=writer_token) as writer,
        RealtimeClient(pair.ws() + f"?token={reader_token}") as reader,
    ):
        assert writer.welcome is not None and writer.welcome.can_write
        assert reader.welcome is not None and not reader.welcome.can_write
        watched = await reader.subscribe(job)
        assert not watched.can_write
        await writer.subscribe(job)
        ack = await writer.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(ack, protocol.Ack), ack
        await reader.wait_revision(job, ack.revision)  # the viewer sees the edit
        nack = await reader.op(job, {"type": "delete", "shapes": [{"id": ack.ids.shapes[0]}]})
        assert isinstance(nack, protocol.Nack) and nack.reason == "read_only"
        assert "read-only" in nack.message


async def _refused(url: str, headers: dict[str, str]) -> tuple[Any, int | None]:
    async with connect(url, additional_headers=headers) as ws:
        message = protocol.server_decoder.decode(await ws.recv())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        return message, ws.close_code


async def test_sockets_without_valid_credentials_are_closed_with_a_reason(pair: Pair) -> None:
    message, code = await _refused(pair.ws(), {})
    assert isinstance(message, protocol.Error) and message.reason == "unauthorized"
    assert code == protocol.CloseCode.UNAUTHORIZED
    message, code = await _refused(pair.ws() + "?token=nonsense", {})
    assert code == protocol.CloseCode.UNAUTHORIZED
    message, code = await _refused(pair.ws(), {"Authorization": "Bearer nonsense"})
    assert code == protocol.CloseCode.UNAUTHORIZED


async def test_a_browser_session_needs_an_allowed_origin(
    pair: Pair, admin_http: httpx.Client
) -> None:
    _, job = new_job(admin_http)
    name, user_id = _user(pair)
    _assign(admin_http, job, user_id)
    browser = login(pair.a.url, name)
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    browser.close()
    message, code = await _refused(pair.ws(), {"Cookie": cookie, "Origin": "https://evil.test"})
    assert code == protocol.CloseCode.FORBIDDEN and "Origin" in message.message
    _, code = await _refused(pair.ws(), {"Cookie": cookie})
    assert code == protocol.CloseCode.FORBIDDEN
    headers = {"Cookie": cookie, "Origin": pair.a.url}
    async with RealtimeClient(pair.ws(), headers=headers) as client:
        view = await client.subscribe(job)
        assert view.can_write


async def test_an_unassigned_annotator_loses_access_within_seconds(
    pair: Pair, admin_http: httpx.Client
) -> None:
    import asyncio
    import time

    task, job = new_job(admin_http)
    name, user_id = _user(pair)
    _, other_id = _user(pair)
    _assign(admin_http, job, user_id)
    async with RealtimeClient(pair.ws(pair.b), basic=(name, PASSWORD)) as annotator:
        await annotator.subscribe(job)
        created = await annotator.op(job, {"type": "create", "shapes": [rect(task)]})
        assert isinstance(created, protocol.Ack)  # allowed, and remembered for a while
        await asyncio.to_thread(_assign, admin_http, job, other_id)
        same = {"type": "update", "shapes": [{"id": created.ids.shapes[0], "z_order": 0}]}
        deadline = time.monotonic() + 5
        while True:
            reply = await annotator.op(job, same)  # changes nothing, still needs the right
            if isinstance(reply, protocol.Nack) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert isinstance(reply, protocol.Nack) and reply.reason == "not_found", reply
        # and the subscription ends: no more events of a job the user may not see
        revoked = await annotator.next_message(protocol.Error, wait_s=10)
        assert (revoked.reason, revoked.field) == ("forbidden", "job"), revoked
