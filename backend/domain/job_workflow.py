"""A job's workflow: its stage, state and assignee, the decision that changes them, and the
statuses CVAT derives from them (a job's `status`, and its task's).

CVAT's rules (engine/serializers.py JobWriteSerializer.update, engine/signals.py), which
Vellum follows:

* Any stage may follow any stage and any state any state: CVAT orders neither. Only the
  values are checked (a 400 naming `stage` or `state`).
* Changing the stage without giving a state sets the state to "new"; a state given with
  the stage is kept.
* A job's status is "annotation" in stage annotation, "completed" in stage acceptance with
  state completed, and "validation" otherwise.
* A task's status is "annotation" while any of its jobs is (or when it has none), else
  "validation" while any job is, else "completed".

Who may change what is the policy's business (backend/iam/policy.py), not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast, get_args

import msgspec
from msgspec import UNSET, UnsetType

from backend.domain.errors import ValidationError
from backend.domain.events import Event, JobCreated, JobStage, JobState, JobUpdated

JobStatus = Literal["annotation", "validation", "completed"]

STAGES: tuple[JobStage, ...] = get_args(JobStage)
STATES: tuple[JobState, ...] = get_args(JobState)
STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
# A task takes the first of these statuses that any of its jobs has, else "completed".
TASK_STATUS_PRECEDENCE: tuple[JobStatus, ...] = ("annotation", "validation")


class JobWorkflow(msgspec.Struct, frozen=True, kw_only=True):
    """The workflow fields of one job as its stream's events leave them."""

    stage: JobStage = "annotation"
    state: JobState = "new"
    assignee_id: int | None = None

    def apply(self, event: Event) -> JobWorkflow:
        if isinstance(event, JobCreated):
            return JobWorkflow()
        if not isinstance(event, JobUpdated):
            return self
        return JobWorkflow(
            stage=self.stage if isinstance(event.stage, UnsetType) else event.stage,
            state=self.state if isinstance(event.state, UnsetType) else event.state,
            assignee_id=(
                self.assignee_id if isinstance(event.assignee_id, UnsetType) else event.assignee_id
            ),
        )

    @property
    def status(self) -> JobStatus:
        return job_status(self.stage, self.state)


class WorkflowChange(msgspec.Struct, frozen=True, kw_only=True):
    """What a request asks for (PatchedJobWriteRequest); UNSET = not given. Values are
    plain strings here: the decision checks them, so every caller gets the same 400."""

    stage: str | UnsetType = UNSET
    state: str | UnsetType = UNSET
    assignee_id: int | UnsetType | None = UNSET


def _choice(value: str, choices: tuple[str, ...], field: str) -> None:
    if value not in choices:
        valid = ", ".join(f'"{c}"' for c in choices)
        raise ValidationError(f'"{value}" is not a valid choice (one of {valid}).', field)


def decide_job_update(
    job_id: int, current: JobWorkflow, change: WorkflowChange
) -> JobUpdated | None:
    """The event for `change` on a job in `current`, or None when nothing would change.
    The event holds the fields whose value changes, the implied state "new" of a stage
    change included, so that every reader of the log sees the result without this rule."""
    if not isinstance(change.stage, UnsetType):
        _choice(change.stage, STAGES, "stage")
    if not isinstance(change.state, UnsetType):
        _choice(change.state, STATES, "state")
    stage = current.stage if isinstance(change.stage, UnsetType) else cast(JobStage, change.stage)
    state: JobState
    if not isinstance(change.state, UnsetType):
        state = cast(JobState, change.state)
    else:
        state = "new" if stage != current.stage else current.state
    assignee = (
        current.assignee_id if isinstance(change.assignee_id, UnsetType) else change.assignee_id
    )
    if (stage, state, assignee) == (current.stage, current.state, current.assignee_id):
        return None
    return JobUpdated(
        job_id=job_id,
        stage=stage if stage != current.stage else UNSET,
        state=state if state != current.state else UNSET,
        assignee_id=assignee if assignee != current.assignee_id else UNSET,
    )


def job_status(stage: str, state: str) -> JobStatus:
    if stage == "annotation":
        return "annotation"
    if stage == "acceptance" and state == "completed":
        return "completed"
    return "validation"


def task_status(job_statuses: Iterable[str]) -> JobStatus:
    present = set(job_statuses)
    if not present:
        return "annotation"  # a task without jobs keeps CVAT's default
    for status in TASK_STATUS_PRECEDENCE:
        if status in present:
            return status
    return "completed"
