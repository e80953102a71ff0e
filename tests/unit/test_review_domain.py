"""The pure review decisions and how the annotation aggregate folds review events."""

from __future__ import annotations

import pytest

from backend.domain import review
from backend.domain.annotations import JobAnnotations
from backend.domain.errors import ValidationError
from backend.domain.events import JobCreated, decode_job_event, encode_event

JOB = review.JobFrames(job_id=7, start_frame=10, stop_frame=19)


def make(**changes: object) -> review.IssueCreated:
    args: dict[str, object] = {"issue_id": 1, "comment_id": 2, "frame": 12,
                               "position": [0, 0, 5, 5], "owner_id": 3, "message": "m"}  # fmt: skip
    return review.create_issue(JOB, **{**args, **changes})  # type: ignore[arg-type]


def test_an_issue_is_checked_before_it_becomes_an_event() -> None:
    assert make().frame == 12 and make().position == [0.0, 0.0, 5.0, 5.0]
    for changes, field in [
        ({"frame": 9}, "frame"), ({"frame": 20}, "frame"), ({"position": [1, 2]}, "position"),
        ({"position": [1, 2, 3]}, "position"), ({"position": [0, 0, float("nan"), 1]}, "position"),
        ({"message": " "}, "message"), ({"message": "x" * 5000}, "message"),
    ]:  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            make(**changes)
        assert caught.value.field == field


def test_a_job_with_its_own_frame_list_takes_only_those_frames() -> None:
    job = review.JobFrames(job_id=1, start_frame=0, stop_frame=10, frames=[0, 5, 10])
    assert job.has(5) and not job.has(4)


def test_an_empty_update_is_no_event() -> None:
    assert review.update_issue(7, 1) is None
    event = review.update_issue(7, 1, resolved=True)
    assert event is not None and event.resolved is True


def test_review_events_only_advance_the_annotation_revision() -> None:
    state = JobAnnotations()
    state.apply(JobCreated(job_id=7, task_id=1, start_frame=10, stop_frame=19))
    event = decode_job_event(*encode_event(make()))
    assert isinstance(event, review.IssueCreated)  # registered: readable by every reader
    state.apply(event)
    assert state.revision == 1 and len(state) == 0
