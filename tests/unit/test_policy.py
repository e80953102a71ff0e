"""The permission policy per role and action (pure: no server, no database)."""

from __future__ import annotations

import pytest

from backend.api.errors import ApiError
from backend.iam.policy import (
    JOB_ACTIONS,
    PROJECT_ACTIONS,
    TASK_ACTIONS,
    JobFacts,
    ProjectFacts,
    TaskFacts,
    can,
    can_change_user,
    can_create_project,
    can_create_task,
    can_view_user,
    check,
)
from backend.iam.principal import User

ME = 7
OTHER = 99
admin = User(id=1, username="root", role="admin")


def user(role: str = "user", uid: int = ME) -> User:
    return User(id=uid, username=f"{role}{uid}", role=role)  # type: ignore[arg-type]


# --- creation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("user", True), ("worker", False)])
def test_creating_projects_and_tasks_needs_role_user(role: str, allowed: bool) -> None:
    assert can_create_project(user(role)) is allowed
    assert can_create_task(user(role)) is allowed


def test_a_task_inside_a_project_needs_project_staff() -> None:
    theirs = ProjectFacts(owner_id=OTHER)
    assert not can_create_task(user("user"), theirs)
    assert can_create_task(user("user"), ProjectFacts(owner_id=OTHER, assignee_id=ME))
    assert can_create_task(admin, theirs)
    assert not can_create_task(user("worker"), ProjectFacts(owner_id=ME))


def test_inactive_users_may_do_nothing() -> None:
    gone = User(id=ME, username="x", role="admin", is_active=False)
    assert not can_create_project(gone)
    assert not can(gone, "view", TaskFacts(owner_id=ME))


# --- admin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "actions"),
    [(ProjectFacts(), PROJECT_ACTIONS), (TaskFacts(), TASK_ACTIONS), (JobFacts(), JOB_ACTIONS)],
)
def test_admin_may_do_every_action_on_anything(facts, actions) -> None:
    assert all(can(admin, action, facts) for action in actions)
    assert not can(admin, "no-such-action", facts)


# --- projects ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["user", "worker"])
def test_nobody_else_sees_a_stranger_s_project(role: str) -> None:
    facts = ProjectFacts(owner_id=OTHER, assignee_id=OTHER + 1)
    assert not any(can(user(role), a, facts) for a in PROJECT_ACTIONS)


def test_project_owner_rights() -> None:
    facts = ProjectFacts(owner_id=ME)
    for action in ("view", "update", "export", "import", "update:assignee", "delete"):
        assert can(user("user"), action, facts), action
    assert not can(user("user"), "update:owner", facts)  # admins only (CVAT sandbox)


def test_project_assignee_edits_but_does_not_delete_or_reassign() -> None:
    facts = ProjectFacts(owner_id=OTHER, assignee_id=ME)
    assert can(user("user"), "update", facts)
    assert can(user("worker"), "update", facts)
    assert not can(user("user"), "delete", facts)
    assert not can(user("user"), "update:assignee", facts)
    assert can(user("user"), "create:task", facts)
    assert not can(user("worker"), "create:task", facts)


def test_assignees_inside_a_project_may_only_view_it() -> None:
    facts = ProjectFacts(owner_id=OTHER, job_assignee_ids=frozenset({ME}))
    assert can(user("worker"), "view", facts)
    assert not can(user("worker"), "update", facts)
    assert not can(user("worker"), "export", facts)
    assert can(user("user"), "view", ProjectFacts(owner_id=OTHER, task_owner_ids=frozenset({ME})))


# --- tasks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        TaskFacts(owner_id=ME),
        TaskFacts(owner_id=OTHER, assignee_id=ME),
        TaskFacts(owner_id=OTHER, project_owner_id=ME),
        TaskFacts(owner_id=OTHER, project_assignee_id=ME),
    ],
)
def test_task_staff_view_and_annotate(facts: TaskFacts) -> None:
    for action in ("view", "view:data", "view:annotations", "update", "update:annotations",
                   "upload:data", "export"):  # fmt: skip
        assert can(user("user"), action, facts), action


def test_only_task_owner_or_project_staff_delete_or_reassign_a_task() -> None:
    assignee = TaskFacts(owner_id=OTHER, assignee_id=ME)
    assert not can(user("user"), "delete", assignee)
    assert not can(user("user"), "update:assignee", assignee)
    for facts in (TaskFacts(owner_id=ME), TaskFacts(owner_id=OTHER, project_assignee_id=ME)):
        assert can(user("user"), "delete", facts)
        assert can(user("user"), "update:owner", facts)


def test_job_assignee_sees_the_task_read_only() -> None:
    facts = TaskFacts(owner_id=OTHER, job_assignee_ids=frozenset({ME}))
    assert can(user("worker"), "view", facts)
    assert can(user("worker"), "view:data", facts)
    assert not can(user("worker"), "update", facts)
    assert not can(user("worker"), "update:annotations", facts)
    assert not can(user("worker"), "delete", facts)


def test_stranger_task_is_invisible() -> None:
    facts = TaskFacts(owner_id=OTHER, project_owner_id=OTHER, job_assignee_ids=frozenset({5}))
    for role in ("user", "worker"):
        assert not any(can(user(role), a, facts) for a in TASK_ACTIONS)


def test_worker_assigned_to_a_task_annotates_it_but_creates_no_jobs() -> None:
    facts = TaskFacts(owner_id=OTHER, assignee_id=ME)
    assert can(user("worker"), "update:annotations", facts)
    assert not can(user("worker"), "create:job", facts)
    assert can(user("user"), "create:job", facts)


# --- jobs -------------------------------------------------------------------------------


def test_job_assignee_annotates_but_does_not_reassign() -> None:
    facts = JobFacts(assignee_id=ME, task_owner_id=OTHER)
    for action in ("view", "view:data", "view:annotations", "update:annotations",
                   "delete:annotations", "import:annotations", "update:state"):  # fmt: skip
        assert can(user("worker"), action, facts), action
    assert not can(user("worker"), "update:assignee", facts)
    assert not can(user("worker"), "update:stage", facts)
    assert not can(user("worker"), "delete", facts)


@pytest.mark.parametrize(
    "facts",
    [
        JobFacts(task_owner_id=ME),
        JobFacts(task_assignee_id=ME),
        JobFacts(project_owner_id=ME),
        JobFacts(project_assignee_id=ME),
    ],
)
def test_task_staff_manage_jobs(facts: JobFacts) -> None:
    assert can(user("user"), "view", facts)
    assert can(user("user"), "update:assignee", facts)
    assert can(user("user"), "update:stage", facts)
    assert can(user("user"), "delete", facts)


def test_other_people_s_jobs_are_invisible() -> None:
    facts = JobFacts(assignee_id=OTHER, task_owner_id=OTHER)
    for role in ("user", "worker"):
        assert not any(can(user(role), a, facts) for a in JOB_ACTIONS)


def test_check_raises_cvat_s_403() -> None:
    with pytest.raises(ApiError) as error:
        check(user("worker"), "delete", JobFacts(assignee_id=ME))
    assert error.value.status == 403
    check(user("worker"), "view", JobFacts(assignee_id=ME))


# --- users ------------------------------------------------------------------------------


def test_users_see_and_change_only_themselves() -> None:
    assert can_view_user(user("user"), ME) and can_change_user(user("worker"), ME)
    assert not can_view_user(user("user"), OTHER)
    assert not can_change_user(user("user"), OTHER)
    assert can_view_user(admin, OTHER) and can_change_user(admin, OTHER)
