"""The job workflow rules (pure): CVAT's stage/state semantics, the refusals, and the
statuses derived from them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec import UNSET, UnsetType

from backend.domain.annotations import JobAnnotations
from backend.domain.errors import ValidationError
from backend.domain.events import JobCreated, JobUpdated
from backend.domain.job_workflow import (
    STAGES,
    STATES,
    JobWorkflow,
    WorkflowChange,
    decide_job_update,
    job_status,
    task_status,
)

JOB = 5
workflows = st.builds(
    JobWorkflow,
    stage=st.sampled_from(STAGES),
    state=st.sampled_from(STATES),
    assignee_id=st.none() | st.integers(1, 4),
)
changes = st.builds(
    WorkflowChange,
    stage=st.just(UNSET) | st.sampled_from(STAGES),
    state=st.just(UNSET) | st.sampled_from(STATES),
    assignee_id=st.just(UNSET) | st.none() | st.integers(1, 4),
)


def test_changing_the_stage_alone_resets_the_state_to_new() -> None:
    current = JobWorkflow(stage="annotation", state="completed")
    event = decide_job_update(JOB, current, WorkflowChange(stage="validation"))
    assert event == JobUpdated(job_id=JOB, stage="validation", state="new")


def test_a_state_given_with_the_stage_is_kept() -> None:
    current = JobWorkflow(stage="validation", state="in progress")
    change = WorkflowChange(stage="acceptance", state="completed")
    event = decide_job_update(JOB, current, change)
    assert event == JobUpdated(job_id=JOB, stage="acceptance", state="completed")
    assert current.apply(event).status == "completed"


def test_the_same_stage_again_keeps_the_state() -> None:
    current = JobWorkflow(stage="validation", state="rejected")
    assert decide_job_update(JOB, current, WorkflowChange(stage="validation")) is None


def test_a_state_change_leaves_the_stage_alone() -> None:
    current = JobWorkflow(stage="validation", state="in progress")
    event = decide_job_update(JOB, current, WorkflowChange(state="rejected"))
    assert event == JobUpdated(job_id=JOB, state="rejected")


def test_nothing_changed_is_no_event() -> None:
    current = JobWorkflow(stage="annotation", state="new", assignee_id=3)
    assert decide_job_update(JOB, current, WorkflowChange()) is None
    assert decide_job_update(JOB, current, WorkflowChange(assignee_id=3)) is None
    assert decide_job_update(JOB, current, WorkflowChange(state="new")) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (WorkflowChange(stage="review"), "stage"),
        (WorkflowChange(stage="Annotation"), "stage"),
        (WorkflowChange(state="done"), "state"),
        (WorkflowChange(stage="validation", state=""), "state"),
    ],
)
def test_an_unknown_value_is_refused_naming_the_field(change: WorkflowChange, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        decide_job_update(JOB, JobWorkflow(), change)
    assert caught.value.field == field
    assert "not a valid choice" in caught.value.message


@given(workflows, changes)
def test_every_transition_follows_cvat_s_rule(current: JobWorkflow, change: WorkflowChange) -> None:
    """Any stage may follow any stage and any state any state (CVAT orders neither); the
    result is exactly what CVAT's serializer computes, and the event holds only changes."""
    event = decide_job_update(JOB, current, change)
    stage = current.stage if isinstance(change.stage, UnsetType) else change.stage
    if not isinstance(change.state, UnsetType):
        state = change.state
    else:
        state = "new" if stage != current.stage else current.state
    assignee = (
        current.assignee_id if isinstance(change.assignee_id, UnsetType) else change.assignee_id
    )
    expected = JobWorkflow(stage=stage, state=state, assignee_id=assignee)  # type: ignore[arg-type]
    if expected == current:
        assert event is None
        return
    assert event is not None and current.apply(event) == expected
    for name, now in (("stage", stage), ("state", state), ("assignee_id", assignee)):
        value = getattr(event, name)
        assert isinstance(value, UnsetType) == (now == getattr(current, name)), name


def test_the_aggregate_folds_the_workflow_and_keeps_it_in_snapshots() -> None:
    events = [
        JobCreated(job_id=JOB, task_id=1, start_frame=0, stop_frame=3),
        JobUpdated(job_id=JOB, assignee_id=9),
        JobUpdated(job_id=JOB, stage="validation", state="new"),
        JobUpdated(job_id=JOB, state="rejected"),
    ]
    state = JobAnnotations.from_events(events)
    assert state.workflow == JobWorkflow(stage="validation", state="rejected", assignee_id=9)
    assert JobAnnotations.from_snapshot(state.snapshot()).workflow == state.workflow


@pytest.mark.parametrize(
    ("stage", "state", "status"),
    [
        ("annotation", "completed", "annotation"),
        ("annotation", "rejected", "annotation"),
        ("validation", "completed", "validation"),
        ("acceptance", "new", "validation"),
        ("acceptance", "rejected", "validation"),
        ("acceptance", "completed", "completed"),
    ],
)
def test_a_job_s_status_is_cvat_s(stage: str, state: str, status: str) -> None:
    assert job_status(stage, state) == status


@pytest.mark.parametrize(
    ("jobs", "status"),
    [
        ([], "annotation"),
        (["completed", "annotation", "validation"], "annotation"),
        (["completed", "validation"], "validation"),
        (["completed", "completed"], "completed"),
    ],
)
def test_a_task_s_status_follows_its_jobs(jobs: list[str], status: str) -> None:
    assert task_status(jobs) == status
