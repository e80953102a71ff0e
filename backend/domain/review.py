"""Review issues and their comments (CVAT's /api/issues and /api/comments): the events they
are, appended to the stream of the issue's job (`job-{id}`) so that they are part of the
job's history and reach the job's realtime subscribers; and the pure decisions that check a
write before an event exists. The annotation aggregate folds these events as foreign ones
(only its revision moves)."""

from __future__ import annotations

import math

import msgspec
from msgspec import UNSET, UnsetType

from backend.domain.errors import ValidationError
from backend.domain.events import Event, register_events

MAX_MESSAGE = 4096  # characters of one comment
MIN_POINTS = 2  # an issue marks a region: at least two (x, y) points (a box's corners)
# ... drawn by hand: a bound keeps one issue from weighing megabytes in every list, event
# and webhook payload that carries it (CVAT sets none).
MAX_POINTS = 1000


class IssueCreated(Event, frozen=True, kw_only=True, tag="IssueCreated"):
    """A new issue on `frame` of the job; `message` is its first comment (`comment_id`)."""

    issue_id: int
    job_id: int
    frame: int
    position: list[float]
    owner_id: int
    assignee_id: int | None = None
    resolved: bool = False
    comment_id: int
    message: str


class IssueUpdated(Event, frozen=True, kw_only=True, tag="IssueUpdated"):
    """Changed fields only: resolving/reopening, reassigning, moving the region."""

    issue_id: int
    job_id: int
    position: list[float] | UnsetType = UNSET
    assignee_id: int | UnsetType | None = UNSET
    resolved: bool | UnsetType = UNSET


class IssueDeleted(Event, frozen=True, kw_only=True, tag="IssueDeleted"):
    """The issue and all its comments are gone."""

    issue_id: int
    job_id: int


class CommentCreated(Event, frozen=True, kw_only=True, tag="CommentCreated"):
    comment_id: int
    issue_id: int
    job_id: int
    owner_id: int
    message: str


class CommentUpdated(Event, frozen=True, kw_only=True, tag="CommentUpdated"):
    comment_id: int
    issue_id: int
    job_id: int
    message: str


class CommentDeleted(Event, frozen=True, kw_only=True, tag="CommentDeleted"):
    comment_id: int
    issue_id: int
    job_id: int


REVIEW_EVENTS: tuple[type[Event], ...] = (
    IssueCreated, IssueUpdated, IssueDeleted, CommentCreated, CommentUpdated, CommentDeleted,
)  # fmt: skip
register_events(*REVIEW_EVENTS)


class JobFrames(msgspec.Struct, frozen=True, kw_only=True):
    """What a decision needs to know of the job: its frames."""

    job_id: int
    start_frame: int
    stop_frame: int
    frames: list[int] | None = None  # None: every frame of start_frame..stop_frame

    def has(self, frame: int) -> bool:
        if self.frames is not None:
            return frame in self.frames
        return self.start_frame <= frame <= self.stop_frame


def check_position(position: list[float]) -> list[float]:
    if len(position) % 2 or len(position) < 2 * MIN_POINTS:
        raise ValidationError(
            f"An issue's position is a list of x, y pairs with at least {MIN_POINTS} points.",
            "position",
        )
    if len(position) > 2 * MAX_POINTS:
        raise ValidationError(
            f"An issue's position has at most {MAX_POINTS} points ({len(position) // 2} given).",
            "position",
        )
    if not all(math.isfinite(v) for v in position):
        raise ValidationError("Coordinates must be finite numbers.", "position")
    return [float(v) for v in position]


def check_message(message: str) -> str:
    if not message.strip():
        raise ValidationError("This field may not be blank.", "message")
    if "\x00" in message:
        raise ValidationError("This field may not contain NUL characters.", "message")
    if len(message) > MAX_MESSAGE:
        raise ValidationError(
            f"Ensure this field has no more than {MAX_MESSAGE} characters.", "message"
        )
    return message


def create_issue(
    job: JobFrames,
    *,
    issue_id: int,
    comment_id: int,
    frame: int,
    position: list[float],
    owner_id: int,
    message: str,
    assignee_id: int | None = None,
    resolved: bool = False,
) -> IssueCreated:
    if not job.has(frame):
        raise ValidationError(
            f"Frame {frame} is not a frame of job {job.job_id}"
            f" ({job.start_frame}..{job.stop_frame}).",
            "frame",
        )
    return IssueCreated(
        issue_id=issue_id, job_id=job.job_id, frame=frame, position=check_position(position),
        owner_id=owner_id, assignee_id=assignee_id, resolved=resolved, comment_id=comment_id,
        message=check_message(message),
    )  # fmt: skip


def update_issue(
    job_id: int,
    issue_id: int,
    *,
    position: list[float] | UnsetType = UNSET,
    assignee_id: int | UnsetType | None = UNSET,
    resolved: bool | UnsetType = UNSET,
) -> IssueUpdated | None:
    """None when nothing changes (no event for an empty PATCH)."""
    if isinstance(position, list):
        position = check_position(position)
    if all(isinstance(v, UnsetType) for v in (position, assignee_id, resolved)):
        return None
    return IssueUpdated(
        issue_id=issue_id, job_id=job_id, position=position, assignee_id=assignee_id,
        resolved=resolved,
    )  # fmt: skip


def create_comment(
    job_id: int, issue_id: int, *, comment_id: int, owner_id: int, message: str
) -> CommentCreated:
    return CommentCreated(
        comment_id=comment_id, issue_id=issue_id, job_id=job_id, owner_id=owner_id,
        message=check_message(message),
    )  # fmt: skip


def update_comment(job_id: int, issue_id: int, comment_id: int, message: str) -> CommentUpdated:
    return CommentUpdated(
        comment_id=comment_id, issue_id=issue_id, job_id=job_id, message=check_message(message)
    )
