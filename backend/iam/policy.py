"""The one permission policy: CVAT's system roles and their rules for projects, tasks and
jobs (CVAT's iam/rules/{projects,tasks,jobs}.rego, "sandbox" = no organization), as plain
functions over plain facts. No IO: endpoints load the facts, the policy decides.

Roles (``User.role``), most privileged first:

* ``admin``  may do everything.
* ``user``   may create projects and tasks; sees and edits what they own or are assigned to,
  the tasks and jobs inside projects they own or are assigned to, and jobs assigned to them.
* ``worker`` may create nothing; sees only what is assigned to them: their jobs, and the
  tasks and projects around those jobs (read-only unless they are the task/project assignee,
  which lets them annotate, as CVAT's ``has_perm(WORKER)`` rules do).

"Staff" of a resource, as in the rego rules:

* project staff = project owner or project assignee;
* task staff    = task owner, task assignee, or project staff of the task's project;
* job staff     = job assignee or task staff of the job's task.

Beyond CVAT's sandbox filters, a user assigned to a job may *view* (not change) its task and
project, and a task assignee may view the task's project: the brief's "their tasks/projects
read-only", so that a job's context (labels, data meta) is readable by its annotator.

Stages and read-only participants (Vellum's rule; CVAT's server lets the job assignee edit
in every stage and leaves review to its UI): annotation edits of a job
(``update:annotations``, ``delete:annotations``, ``import:annotations``; REST, imports,
undo and socket ops) are for

* task staff (and admins) in every stage;
* the job's assignee in stage "annotation" only. In "validation" the assignee is the
  job's reviewer: they view it, open and comment issues (``can_create_issue``) and set
  its state, but do not edit annotations; in "acceptance" the annotations are read-only
  for everyone but task staff.

A user who may view a job but not edit its annotations is an *observer* of it (so is any
user holding read-only credentials); ``refusal`` says why, and that text is the 403's
detail and the socket's ``nack {reason: read_only}`` message.

API (all pure; ``user`` is ``backend.iam.principal.User``):

``can(user, action, facts) -> bool``
    ``action`` is one of ``PROJECT_ACTIONS`` / ``TASK_ACTIONS`` / ``JOB_ACTIONS`` (kind taken
    from ``facts.kind``); unknown actions are refused.
``check(user, action, facts) -> None``
    The same, raising the 403 ``ApiError`` CVAT answers with (its detail: ``refusal``).
``refusal(user, action, facts) -> str | None``
    None when allowed, else why not: the stage's reason for an observer's annotation edit,
    CVAT's generic message otherwise.
``can_create_project(user)``, ``can_create_task(user, project=None)``
    Creation needs role user+ (and, in a project, project staff).
``visible_projects_sql(user, alias)``, ``visible_tasks_sql(user, alias)``,
``visible_jobs_sql(user, alias)`` -> ``psycopg.sql.Composable``
    A boolean SQL condition over the read-model tables ``projects(id, owner_id,
    assignee_id)``, ``tasks(id, owner_id, assignee_id, project_id)`` and ``jobs(id,
    task_id, assignee_id)`` that is true exactly for the rows ``can(user, "view", ...)``
    allows. ``alias`` is how the outer query names the table. The user id is embedded as a
    literal (it is an int from our own User), so the fragment mixes with any parameter style:
    ``sql.SQL("SELECT ... FROM tasks t WHERE {} AND t.name = %s").format(visible_tasks_sql(u,
    "t"))``.
``can_view_user(user, target_id)``, ``can_change_user(user, target_id)``,
``user_list_sql(user, alias)``
    Users: admins everything; others see and change only themselves (CVAT sandbox).

Facts: build ``ProjectFacts`` / ``TaskFacts`` / ``JobFacts`` from the read models. For view
checks, fill ``job_assignee_ids`` / ``task_assignee_ids`` (who is assigned inside); they
are not needed for other actions.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from psycopg import sql

from backend.api.errors import permission_denied
from backend.iam.principal import Role, User

_RANK: dict[Role, int] = {"worker": 0, "user": 1, "admin": 2}


def _at_least(user: User, role: Role) -> bool:
    return user.is_active and _RANK[user.role] >= _RANK[role]


# --- facts ------------------------------------------------------------------------------


class ProjectFacts(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["project"] = "project"
    owner_id: int | None = None
    assignee_id: int | None = None
    # Assignees of the project's tasks and jobs (read access for them).
    task_assignee_ids: frozenset[int] = frozenset()
    task_owner_ids: frozenset[int] = frozenset()
    job_assignee_ids: frozenset[int] = frozenset()


class TaskFacts(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["task"] = "task"
    owner_id: int | None = None
    assignee_id: int | None = None
    project_owner_id: int | None = None
    project_assignee_id: int | None = None
    # Assignees of the task's jobs (read access for them).
    job_assignee_ids: frozenset[int] = frozenset()


class JobFacts(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["job"] = "job"
    stage: str = "annotation"
    assignee_id: int | None = None
    task_owner_id: int | None = None
    task_assignee_id: int | None = None
    project_owner_id: int | None = None
    project_assignee_id: int | None = None


Facts = ProjectFacts | TaskFacts | JobFacts

PROJECT_ACTIONS = frozenset({
    "view", "export", "update", "import", "update:assignee", "update:owner", "delete",
    "create:task",
})  # fmt: skip
TASK_ACTIONS = frozenset({
    "view", "view:data", "view:annotations", "export", "update", "upload:data",
    "update:annotations", "delete:annotations", "import:annotations", "update:owner",
    "update:assignee", "update:project", "delete", "create:job",
})  # fmt: skip
JOB_ACTIONS = frozenset({
    "view", "view:data", "view:annotations", "update:annotations", "delete:annotations",
    "import:annotations", "update:state", "update:stage", "update:assignee", "delete",
})  # fmt: skip
ANNOTATION_EDITS = frozenset({"update:annotations", "delete:annotations", "import:annotations"})
DENIED = "You do not have permission to perform this action."
# Why the assignee of a job in this stage may not edit its annotations.
STAGE_LOCKS = {
    "validation": "job is in validation: reviewers may create issues but not edit annotations",
    "acceptance": (
        "job is in acceptance: its annotations are read-only except for the task's and"
        " project's owner and assignee"
    ),
}


# --- staff predicates -------------------------------------------------------------------


def _is(uid: int, *ids: int | None) -> bool:
    return any(i is not None and i == uid for i in ids)


def _project_staff(user: User, f: ProjectFacts) -> bool:
    return _is(user.id, f.owner_id, f.assignee_id)


def _task_staff(user: User, f: TaskFacts) -> bool:
    return _is(user.id, f.owner_id, f.assignee_id, f.project_owner_id, f.project_assignee_id)


def _job_task_staff(user: User, f: JobFacts) -> bool:
    return _is(
        user.id, f.task_owner_id, f.task_assignee_id, f.project_owner_id, f.project_assignee_id
    )


# --- decisions --------------------------------------------------------------------------


def can_create_project(user: User) -> bool:
    return _at_least(user, "user")


def can_create_task(user: User, project: ProjectFacts | None = None) -> bool:
    if user.is_admin and user.is_active:
        return True
    if not _at_least(user, "user"):
        return False
    return project is None or _project_staff(user, project)


def can(user: User, action: str, facts: Facts) -> bool:
    if not user.is_active:
        return False
    if user.is_admin:
        return action in _ACTIONS[facts.kind]
    if isinstance(facts, ProjectFacts):
        return _project(user, action, facts)
    if isinstance(facts, TaskFacts):
        return _task(user, action, facts)
    return _job(user, action, facts)


def refusal(user: User, action: str, facts: Facts) -> str | None:
    if can(user, action, facts):
        return None
    if (
        isinstance(facts, JobFacts)
        and action in ANNOTATION_EDITS
        and facts.stage in STAGE_LOCKS
        and can(user, "view", facts)
    ):
        return STAGE_LOCKS[facts.stage]  # an observer of the job
    return DENIED


def check(user: User, action: str, facts: Facts) -> None:
    reason = refusal(user, action, facts)
    if reason is not None:
        raise permission_denied(reason)


_ACTIONS = {"project": PROJECT_ACTIONS, "task": TASK_ACTIONS, "job": JOB_ACTIONS}


def _project(user: User, action: str, f: ProjectFacts) -> bool:
    staff = _project_staff(user, f)
    if action == "view":
        return staff or user.id in (f.task_assignee_ids | f.task_owner_ids | f.job_assignee_ids)
    if action in ("export", "update", "import"):
        return staff
    if action == "create:task":
        return staff and _at_least(user, "user")
    if action in ("update:assignee", "delete"):
        return _is(user.id, f.owner_id)
    return False  # update:owner: admins only in CVAT's sandbox rules; unknown actions


def _task(user: User, action: str, f: TaskFacts) -> bool:
    staff = _task_staff(user, f)
    if action in ("view", "view:data", "view:annotations", "export"):
        return staff or user.id in f.job_assignee_ids
    if action in (
        "update", "upload:data", "update:annotations", "delete:annotations",
        "import:annotations",
    ):  # fmt: skip
        return staff
    if action in ("update:owner", "update:assignee", "update:project", "delete"):
        return _is(user.id, f.owner_id, f.project_owner_id, f.project_assignee_id)
    if action == "create:job":
        return staff and _at_least(user, "user")
    return False


def _job(user: User, action: str, f: JobFacts) -> bool:
    staff = _is(user.id, f.assignee_id) or _job_task_staff(user, f)
    if action in ANNOTATION_EDITS:
        return _job_task_staff(user, f) or (_is(user.id, f.assignee_id) and f.stage == "annotation")
    if action in ("view", "view:data", "view:annotations", "update:state"):
        return staff
    if action in ("update:stage", "update:assignee"):
        return _job_task_staff(user, f)
    if action == "delete":
        return _job_task_staff(user, f) and _at_least(user, "user")
    return False


# --- users ------------------------------------------------------------------------------


def can_view_user(user: User, target_id: int) -> bool:
    return user.is_active and (user.is_admin or user.id == target_id)


def can_change_user(user: User, target_id: int) -> bool:
    """PATCH/DELETE /api/users/{id}. Non-admins only themselves, and only their names
    (the endpoint decides which fields; roles and activity are admin-only)."""
    return can_view_user(user, target_id)


def user_list_sql(user: User, alias: str = "users") -> sql.Composable:
    if user.is_admin:
        return sql.SQL("TRUE")
    return sql.SQL("{}.id = {}").format(sql.Identifier(alias), sql.Literal(user.id))


# --- list visibility as SQL ---------------------------------------------------------------


def visible_projects_sql(user: User, alias: str = "projects") -> sql.Composable:
    if user.is_admin:
        return sql.SQL("TRUE")
    return sql.SQL(
        "({p}.owner_id = {u} OR {p}.assignee_id = {u} OR EXISTS ("
        "SELECT 1 FROM tasks vt WHERE vt.project_id = {p}.id AND (vt.owner_id = {u}"
        " OR vt.assignee_id = {u} OR EXISTS (SELECT 1 FROM jobs vj"
        " WHERE vj.task_id = vt.id AND vj.assignee_id = {u}))))"
    ).format(p=sql.Identifier(alias), u=sql.Literal(user.id))


def visible_tasks_sql(user: User, alias: str = "tasks") -> sql.Composable:
    if user.is_admin:
        return sql.SQL("TRUE")
    return sql.SQL(
        "({t}.owner_id = {u} OR {t}.assignee_id = {u} OR EXISTS ("
        "SELECT 1 FROM projects vp WHERE vp.id = {t}.project_id"
        " AND (vp.owner_id = {u} OR vp.assignee_id = {u}))"
        " OR EXISTS (SELECT 1 FROM jobs vj WHERE vj.task_id = {t}.id AND vj.assignee_id = {u}))"
    ).format(t=sql.Identifier(alias), u=sql.Literal(user.id))


def visible_jobs_sql(user: User, alias: str = "jobs") -> sql.Composable:
    if user.is_admin:
        return sql.SQL("TRUE")
    return sql.SQL(
        "({j}.assignee_id = {u} OR EXISTS ("
        "SELECT 1 FROM tasks vt LEFT JOIN projects vp ON vp.id = vt.project_id"
        " WHERE vt.id = {j}.task_id AND (vt.owner_id = {u} OR vt.assignee_id = {u}"
        " OR vp.owner_id = {u} OR vp.assignee_id = {u})))"
    ).format(j=sql.Identifier(alias), u=sql.Literal(user.id))


# --- cloud storages (CVAT's cloudstorages.rego, sandbox) --------------------------------
# Users (not workers) may attach storages; only the owner and admins see, use (list its
# content, create tasks from it), change or delete one.

CLOUD_STORAGE_ACTIONS = frozenset({"view", "update", "delete"})


def can_create_cloud_storage(user: User) -> bool:
    return _at_least(user, "user")


def can_cloud_storage(user: User, action: str, owner_id: int | None) -> bool:
    if not user.is_active or action not in CLOUD_STORAGE_ACTIONS:
        return False
    return user.is_admin or _is(user.id, owner_id)


def visible_cloud_storages_sql(user: User, alias: str = "cloud_storages") -> sql.Composable:
    if user.is_admin:
        return sql.SQL("TRUE")
    return sql.SQL("{}.owner_id = {}").format(sql.Identifier(alias), sql.Literal(user.id))


# --- webhooks (CVAT's webhooks.rego, sandbox): a project webhook is for the project's
# owner and assignee (and admins); its own creator keeps access to it too.


def can_webhook(user: User, owner_id: int | None, project: ProjectFacts | None) -> bool:
    """Every webhook action (view, create, update, delete, ping, deliveries)."""
    if not user.is_active:
        return False
    if user.is_admin:
        return True
    staff = project is not None and _project_staff(user, project)
    return _at_least(user, "user") and (staff or _is(user.id, owner_id))


def visible_webhooks_sql(user: User, hooks: str = "w", projects: str = "p") -> sql.Composable:
    if user.is_admin:
        return sql.SQL("TRUE")
    return sql.SQL("({h}.owner_id = {u} OR {p}.owner_id = {u} OR {p}.assignee_id = {u})").format(
        h=sql.Identifier(hooks), p=sql.Identifier(projects), u=sql.Literal(user.id)
    )


# --- review issues and comments (CVAT's issues.rego / comments.rego, sandbox) -----------
# Issue staff = the issue's owner and assignee, the job's assignee and the task/project
# staff of the job; they see the issue and its comments, comment on it and update it
# (resolve, reopen, reassign, move). Deleting an issue is for its owner and the task/
# project staff ("issue admins"); creating one for job staff. A comment is changed by its
# owner only, removed by its owner or an issue admin.

ISSUE_ACTIONS = frozenset({"view", "update", "delete", "comment"})
COMMENT_ACTIONS = frozenset({"view", "update", "delete"})


class IssueFacts(msgspec.Struct, frozen=True, kw_only=True):
    job: JobFacts
    owner_id: int | None = None
    assignee_id: int | None = None


def can_create_issue(user: User, job: JobFacts) -> bool:
    return user.is_active and (user.is_admin or _is(user.id, job.assignee_id)
                               or _job_task_staff(user, job))  # fmt: skip


def can_issue(user: User, action: str, f: IssueFacts) -> bool:
    if not user.is_active or action not in ISSUE_ACTIONS:
        return False
    if user.is_admin:
        return True
    admin = _job_task_staff(user, f.job)
    if action == "delete":
        return admin or _is(user.id, f.owner_id)
    return admin or _is(user.id, f.owner_id, f.assignee_id, f.job.assignee_id)


def can_comment(user: User, action: str, issue: IssueFacts, owner_id: int | None) -> bool:
    if not user.is_active or action not in COMMENT_ACTIONS:
        return False
    if user.is_admin:
        return True
    if action == "view":
        return can_issue(user, "view", issue)
    if action == "update":
        return _is(user.id, owner_id)
    return _is(user.id, owner_id) or _job_task_staff(user, issue.job)


def visible_issues_sql(user: User, alias: str = "issues") -> sql.Composable:
    """Issues `can_issue(user, "view")` allows; `alias` names the issues table."""
    if user.is_admin:
        return sql.SQL("TRUE")
    return sql.SQL(
        "({i}.owner_id = {u} OR {i}.assignee_id = {u} OR EXISTS (SELECT 1 FROM jobs vij"
        " WHERE vij.id = {i}.job_id AND {jobs}))"
    ).format(i=sql.Identifier(alias), u=sql.Literal(user.id), jobs=visible_jobs_sql(user, "vij"))
