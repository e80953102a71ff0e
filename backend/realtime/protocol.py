"""Every message of the realtime protocol (`/api/ws`), in one place.

Messages are JSON objects tagged by `type`. A session starts with the client's `hello`
(protocol version) and the server's `welcome`; then, in any order:

client -> server
  hello {protocol, client?}
  subscribe {job, since_revision?}     -> snapshot + synced, or the missed events + synced
  unsubscribe {job}
  op {op_id, job, base_revision?, command}   -> ack or nack (one of them, always)
  presence {job, frame?, selection?, cursor?}   (throttled, never stored)
  ping {nonce?}                        -> pong

server -> client
  welcome {protocol, session, user, can_write, max_message_bytes}
  snapshot {job, revision, annotations}   (annotations: CVAT's LabeledData JSON)
  synced {job, revision, can_write, read_only_reason?}   (catch-up done: live events follow)
  access {job, can_write, read_only_reason?}   (this user's write access to the job changed)
  event {job, revision, position, actor, op_id, source, event_type, version, data}
  ack {op_id, job, revision, position, ids}
  nack {op_id, job, reason, message, field?}
  resync {job, revision, reason}          (the subscription was dropped; subscribe again)
  presence {job, session, user, frame, selection, cursor}
  presence_left {job, session, user}
  error {reason, message, field?}
  pong {nonce?}

`event` names the event's type `event_type` (the `type` key is the message tag); `data` is
the event as the event store keeps it (`backend/domain/events.py`, itself tagged by
`type`), `version` its schema version so clients can decode it with the domain's upcasters.
Events of a job reach each subscriber in revision order, exactly once per subscription;
a client that still sees a gap sends `subscribe {job, since_revision}` again.

Authentication (backend/realtime/gate.py) is HTTP's: an `Authorization` header (Bearer,
Token, Basic), `?token=` for clients that cannot set headers, or the `sessionid` cookie of a
browser with an allowed `Origin`. Refused: `error {unauthorized|forbidden}`, then close 4001
/ 4003. A read-only access token subscribes (`can_write: false`) and its ops get `nack
read_only`. Subscribing needs `view` on the job, ops `update:annotations`; a subscriber who
loses access (new assignee, owner) gets `error {forbidden, field: job}` and no more events.
Observers (backend/iam/policy.py: users who may view a job but not edit its annotations,
e.g. its reviewer while it is in stage validation) subscribe with `synced.can_write: false`
and the reason; their ops get `nack read_only` with that reason (issues are opened over
REST and arrive here as events). When a stage, assignee or owner change turns a subscriber
into an observer or back, it gets `access {job, can_write, read_only_reason}`.

Op commands (`op.command`, tagged by `type`) reuse the REST bodies of
`PATCH /api/jobs/{id}/annotations` (CVAT's shapes, tracks, tags):
  create {shapes, tracks, tags}          -> CreateObjects (ack.ids: the new ids)
  update {shapes, tracks, tags}          -> property-level UpdateObjects: give `id` and only
                                            the properties to change
  delete {shapes, tracks, tags}          -> DeleteObjects ([{id}], as REST; unknown ids nack)
  set_keyframe {track_id, shape?, elements?}, delete_keyframe {track_id, frame}
  edit {create?, update?, delete?}       -> a compound edit (merge, split, paste...): the
                                            create, update and delete bodies above decided
                                            as ONE batch, in that order (update and delete
                                            name existing objects; a track update's
                                            `shapes` is its complete keyframe list): all of
                                            it or nothing, one append, one undo step;
                                            nack fields are prefixed (`delete.shapes[0]`)
  replace {shapes, tracks, tags}         -> ReplaceAnnotations (PUT)
  clear {}                               -> ClearAnnotations (DELETE)
  undo {}, redo {}                       -> this user's per-job undo / redo, compensating
                                            events (backend/services/undo.py); nack
                                            `conflict` when there is nothing to undo
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal, TypeAlias

import msgspec

from backend.api.annotations import DeleteRequest, LabeledDataRequest, UpdateRequest
from backend.domain.commands import ElementKeyframe
from backend.domain.objects import TrackedShape

PROTOCOL_VERSION = 1
# The largest text frame a client may send; larger frames get `error {reason: too_big}`.
MAX_MESSAGE_BYTES = 1 << 20
# An op id is stored with its events and indexed (re-sent ops are found by it): a client's
# short token, not a payload (a btree entry cannot exceed ~2.7 kB).
MAX_PRESENCE_SELECTION = 10_000
MAX_OP_ID = 128


class CloseCode(enum.IntEnum):
    """Websocket close codes (4000-4999 are the application's)."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server shuts down
    TOO_BIG = 1009
    UNAUTHORIZED = 4001  # no or bad credentials
    FORBIDDEN = 4003  # e.g. a browser origin that is not allowed
    PROTOCOL_TOO_OLD = 4010  # the client speaks another protocol version
    HELLO_EXPECTED = 4011  # the first message was not a hello
    TOO_SLOW = 4029  # the client does not read its replies


CLOSE_REASONS: dict[CloseCode, str] = {
    CloseCode.NORMAL: "bye",
    CloseCode.GOING_AWAY: "server shutting down",
    CloseCode.TOO_BIG: "message too big",
    CloseCode.UNAUTHORIZED: "unauthorized",
    CloseCode.FORBIDDEN: "forbidden",
    CloseCode.PROTOCOL_TOO_OLD: f"protocol version {PROTOCOL_VERSION} required",
    CloseCode.HELLO_EXPECTED: "send hello first",
    CloseCode.TOO_SLOW: "too slow: replies not read",
}

# Why an op was refused (nack.reason) or a message rejected (error.reason).
NackReason = Literal[
    "not_found",  # the job, or an object the command names, does not exist or was deleted
    "invalid",  # the command breaks a rule (unknown label, wrong points...); `field` says where
    "conflict",  # the command contradicts the current state
    "forbidden",  # the user may not edit this job
    "read_only",  # read-only credentials, or an observer of the job (message: why)
    "busy",  # too much contention on the job: try again
    "internal",  # a bug: logged on the server
]
ErrorReason = Literal[
    "malformed",  # not JSON, or not an object
    "unknown_type",  # `type` names no client message
    "invalid",  # a known message with wrong fields; `field` says which
    "too_big",  # over MAX_MESSAGE_BYTES
    "binary",  # binary frames are not part of the protocol
    "hello_twice",
    "not_subscribed",  # presence for a job the session is not subscribed to
    "unauthorized",  # no or bad credentials (the socket is closed)
    "forbidden",  # subscribe to a job the user may not see
    "not_found",
    "internal",
]
ResyncReason = Literal["overflow", "too_far_behind"]


class _Msg(msgspec.Struct, kw_only=True, tag_field="type", omit_defaults=True):
    pass


# --- op commands ----------------------------------------------------------------------


class CreateCommand(LabeledDataRequest, tag_field="type", tag="create", kw_only=True):
    pass


class UpdateCommand(UpdateRequest, tag_field="type", tag="update", kw_only=True):
    pass


class DeleteCommand(DeleteRequest, tag_field="type", tag="delete", kw_only=True):
    pass


class ReplaceCommand(LabeledDataRequest, tag_field="type", tag="replace", kw_only=True):
    pass


class ClearCommand(msgspec.Struct, tag_field="type", tag="clear", kw_only=True):
    pass


class SetKeyframeCommand(msgspec.Struct, tag_field="type", tag="set_keyframe", kw_only=True):
    track_id: int
    shape: TrackedShape | None = None
    elements: list[ElementKeyframe] = []


class DeleteKeyframeCommand(msgspec.Struct, tag_field="type", tag="delete_keyframe", kw_only=True):
    track_id: int
    frame: int


class EditCommand(msgspec.Struct, tag_field="type", tag="edit", kw_only=True):
    """Create, update and delete decided together (backend/realtime/commands.py)."""

    create: LabeledDataRequest = msgspec.field(default_factory=LabeledDataRequest)
    update: UpdateRequest = msgspec.field(default_factory=UpdateRequest)
    delete: DeleteRequest = msgspec.field(default_factory=DeleteRequest)


class UndoCommand(msgspec.Struct, tag_field="type", tag="undo", kw_only=True):
    """Undo this user's latest change in the job (backend/services/undo.py)."""


class RedoCommand(msgspec.Struct, tag_field="type", tag="redo", kw_only=True):
    """Redo this user's latest undo in the job."""


OpCommand: TypeAlias = (
    CreateCommand
    | UpdateCommand
    | DeleteCommand
    | ReplaceCommand
    | ClearCommand
    | SetKeyframeCommand
    | DeleteKeyframeCommand
    | EditCommand
    | UndoCommand
    | RedoCommand
)


# --- client -> server -------------------------------------------------------------------


class Hello(_Msg, tag="hello", kw_only=True):
    protocol: int
    client: str = ""


class Subscribe(_Msg, tag="subscribe", kw_only=True):
    job: int
    # The last revision the client has: it gets the events after it (no snapshot).
    since_revision: int | None = None


class Unsubscribe(_Msg, tag="unsubscribe", kw_only=True):
    job: int


class Op(_Msg, tag="op", kw_only=True):
    op_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_OP_ID)]
    job: int
    # The revision the client saw when it made the edit. Commands are property-level and
    # the server decides them on its newest state, so this is informative (it is kept
    # for clients that want to know how far behind they were).
    base_revision: int | None = None
    command: OpCommand


class PresenceUpdate(_Msg, tag="presence", kw_only=True):
    # Relayed to everyone in the job: bounded, so one client cannot flood the others.
    job: int
    frame: int | None = None
    selection: Annotated[list[int], msgspec.Meta(max_length=MAX_PRESENCE_SELECTION)] = []
    cursor: Annotated[list[float], msgspec.Meta(min_length=2, max_length=2)] | None = None


class Ping(_Msg, tag="ping", kw_only=True):
    nonce: str | None = None


ClientMessage: TypeAlias = Hello | Subscribe | Unsubscribe | Op | PresenceUpdate | Ping
CLIENT_TYPES = frozenset({"hello", "subscribe", "unsubscribe", "op", "presence", "ping"})


# --- server -> client -------------------------------------------------------------------


class UserRef(msgspec.Struct, kw_only=True):
    id: int
    username: str


class Welcome(_Msg, tag="welcome", kw_only=True):
    protocol: int
    session: str
    user: UserRef
    can_write: bool
    max_message_bytes: int


class SnapshotMsg(_Msg, tag="snapshot", kw_only=True):
    job: int
    revision: int  # -1: the job's stream has no event yet
    annotations: msgspec.Raw  # CVAT's LabeledData (version = max(revision, 0))


class Synced(_Msg, tag="synced", kw_only=True):
    job: int
    revision: int
    can_write: bool = True
    read_only_reason: str | None = None  # why not, when can_write is false


class Access(_Msg, tag="access", kw_only=True):
    """This session's write access to a subscribed job changed (stage, assignee, owner)."""

    job: int
    can_write: bool
    read_only_reason: str | None = None


class EventMsg(_Msg, tag="event", kw_only=True):
    job: int
    revision: int
    position: int
    event_type: str
    version: int
    data: msgspec.Raw
    actor: int | None = None
    op_id: str | None = None
    source: str = "api"  # api | ws | import | auto-annotation | system


class CreatedIds(msgspec.Struct, kw_only=True):
    shapes: list[int] = []
    tracks: list[int] = []
    tags: list[int] = []


class Ack(_Msg, tag="ack", kw_only=True):
    op_id: str
    job: int
    revision: int
    position: int  # 0 when the op changed nothing (no event)
    ids: CreatedIds = msgspec.field(default_factory=CreatedIds)


class Nack(_Msg, tag="nack", kw_only=True):
    op_id: str
    job: int
    reason: NackReason
    message: str
    field: str | None = None


class Resync(_Msg, tag="resync", kw_only=True):
    job: int
    revision: int  # the last revision the server sent on this subscription
    reason: ResyncReason


class PresenceState(_Msg, tag="presence", kw_only=True):
    job: int
    session: str
    user: UserRef
    frame: int | None = None
    selection: list[int] = []
    cursor: list[float] | None = None


class PresenceLeft(_Msg, tag="presence_left", kw_only=True):
    job: int
    session: str
    user: UserRef


class Error(_Msg, tag="error", kw_only=True):
    reason: ErrorReason
    message: str
    field: str | None = None


class Pong(_Msg, tag="pong", kw_only=True):
    nonce: str | None = None


ServerMessage: TypeAlias = (
    Welcome
    | SnapshotMsg
    | Synced
    | Access
    | EventMsg
    | Ack
    | Nack
    | Resync
    | PresenceState
    | PresenceLeft
    | Error
    | Pong
)

encoder = msgspec.json.Encoder()
client_decoder = msgspec.json.Decoder(ClientMessage)
server_decoder = msgspec.json.Decoder(ServerMessage)
