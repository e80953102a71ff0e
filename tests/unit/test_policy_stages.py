"""Who may edit a job's annotations in which stage, and who stays an observer (pure)."""

from __future__ import annotations

import pytest

from backend.api.errors import ApiError
from backend.iam.policy import (
    ANNOTATION_EDITS,
    DENIED,
    STAGE_LOCKS,
    IssueFacts,
    JobFacts,
    can,
    can_create_issue,
    can_issue,
    check,
    refusal,
)
from backend.iam.principal import User

ASSIGNEE, OWNER, TASK_ASSIGNEE, PROJECT_OWNER, STRANGER, ADMIN = 1, 2, 3, 4, 5, 6
STAGES = ("annotation", "validation", "acceptance")


def user(uid: int, role: str = "user") -> User:
    return User(id=uid, username=f"u{uid}", role=role)  # type: ignore[arg-type]


def job(stage: str) -> JobFacts:
    return JobFacts(stage=stage, assignee_id=ASSIGNEE, task_owner_id=OWNER,
                    task_assignee_id=TASK_ASSIGNEE, project_owner_id=PROJECT_OWNER)  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize(
    "uid", [OWNER, TASK_ASSIGNEE, PROJECT_OWNER, ADMIN], ids=["owner", "task", "proj", "admin"]
)
def test_task_and_project_staff_and_admins_edit_in_every_stage(stage: str, uid: int) -> None:
    who = user(uid, "admin" if uid == ADMIN else "user")
    for action in ANNOTATION_EDITS:
        assert can(who, action, job(stage)), (stage, action)


@pytest.mark.parametrize("role", ["user", "worker"])
def test_the_assignee_edits_only_in_annotation(role: str) -> None:
    assignee = user(ASSIGNEE, role)
    for action in ANNOTATION_EDITS:
        assert can(assignee, action, job("annotation"))
        assert not can(assignee, action, job("validation"))
        assert not can(assignee, action, job("acceptance"))


@pytest.mark.parametrize("stage", ["validation", "acceptance"])
def test_an_observer_keeps_viewing_reviewing_and_setting_the_state(stage: str) -> None:
    reviewer = user(ASSIGNEE)
    facts = job(stage)
    for action in ("view", "view:data", "view:annotations", "update:state"):
        assert can(reviewer, action, facts), action
    assert not can(reviewer, "update:stage", facts)  # CVAT: task staff only
    assert can_create_issue(reviewer, facts)
    mine = IssueFacts(job=facts, owner_id=ASSIGNEE)
    assert can_issue(reviewer, "comment", mine) and can_issue(reviewer, "update", mine)


@pytest.mark.parametrize("stage", ["validation", "acceptance"])
def test_an_observer_s_refusal_says_which_stage_locks_the_job(stage: str) -> None:
    reason = refusal(user(ASSIGNEE), "update:annotations", job(stage))
    assert reason == STAGE_LOCKS[stage] and stage in reason
    with pytest.raises(ApiError) as caught:
        check(user(ASSIGNEE), "import:annotations", job(stage))
    assert caught.value.status == 403 and caught.value.detail == STAGE_LOCKS[stage]


def test_others_get_cvat_s_generic_refusal() -> None:
    assert refusal(user(STRANGER), "update:annotations", job("validation")) == DENIED
    assert refusal(user(ASSIGNEE), "update:stage", job("validation")) == DENIED
    assert refusal(user(ASSIGNEE), "update:annotations", job("annotation")) is None
    assert "validation" in STAGE_LOCKS["validation"] and "issues" in STAGE_LOCKS["validation"]
