"""/api/users: CVAT's user list, details, self, update and delete.

As in CVAT (UserViewSet + users.rego, no organization): admins see everyone with all fields;
other users see only themselves in lists and, outside their own details, only the basic
fields (id, url, username, first and last name). A non-admin may change their own names and
username, or delete themselves; roles (``groups``), staff/superuser flags and activity are
admin-only. The last active admin cannot be demoted, deactivated or deleted."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from backend.api.errors import ApiError, bad_request, not_found, permission_denied
from backend.api.lists import Field, Paginated, Resource, list_page
from backend.api.routing import ApiRequest, ApiRouter
from backend.iam import policy
from backend.iam.principal import ROLES, Role
from backend.iam.sessions import end_user_sessions
from backend.iam.users import (
    USER_COLUMNS,
    UserRecord,
    active_admins,
    delete_user,
    email_taken,
    get_user,
    update_user,
    username_taken,
)

router = ApiRouter("users")

# --- shapes -----------------------------------------------------------------------------


class BasicUser(msgspec.Struct, kw_only=True):
    """What anyone may see of a user (CVAT's BasicUserSerializer): also a token's owner."""

    url: str
    id: int
    username: str
    first_name: str
    last_name: str


class UserRead(BasicUser, kw_only=True):
    """A user as shown to the viewer: every field for admins (and for the user themselves,
    outside lists), else only the basic ones; the others are then UNSET, left out of the
    JSON. One type for both, so that the OpenAPI schema can describe it."""

    email: str | msgspec.UnsetType = msgspec.UNSET
    groups: list[str] | msgspec.UnsetType = msgspec.UNSET
    is_staff: bool | msgspec.UnsetType = msgspec.UNSET
    is_superuser: bool | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    last_login: datetime | msgspec.UnsetType | None = msgspec.UNSET
    date_joined: datetime | msgspec.UnsetType = msgspec.UNSET
    has_analytics_access: bool | msgspec.UnsetType = msgspec.UNSET


def basic_user(req: ApiRequest, user_id: int, username: str, first: str, last: str) -> BasicUser:
    return BasicUser(
        url=req.absolute_url(f"/api/users/{user_id}"), id=user_id, username=username,
        first_name=first, last_name=last,
    )  # fmt: skip


def user_read(req: ApiRequest, r: UserRecord, *, full: bool) -> UserRead:
    basic = UserRead(
        url=req.absolute_url(f"/api/users/{r.id}"), id=r.id, username=r.username,
        first_name=r.first_name, last_name=r.last_name,
    )  # fmt: skip
    if not full:
        return basic
    return msgspec.structs.replace(
        basic, email=r.email, groups=[r.role], is_staff=r.is_staff,
        is_superuser=r.is_superuser, is_active=r.is_active, last_login=r.last_login,
        date_joined=r.date_joined, has_analytics_access=r.is_superuser,
    )  # fmt: skip


def shown(req: ApiRequest, r: UserRecord) -> UserRead:
    """Admins and the user themselves get every field; others the basic ones (CVAT)."""
    viewer = req.principal
    return user_read(req, r, full=viewer.is_admin or viewer.id == r.id)


# --- list -------------------------------------------------------------------------------

# CVAT's UserViewSet: search over the names, ordering by the filter fields, "-id" first.
USERS = Resource(
    name="users",
    source="users",
    select=USER_COLUMNS,
    fields={
        "id": Field("users.id", "int"),
        "username": Field("users.username"),
        "first_name": Field("users.first_name"),
        "last_name": Field("users.last_name"),
        "is_active": Field("users.is_active", "bool"),
    },
    search=("username", "first_name", "last_name"),
    simple_filters=("id", "username", "first_name", "last_name", "is_active"),
)


@router.get(
    "/api/users", query=USERS.query, response=Paginated[UserRead],
    summary="List users (non-admins see themselves)",
)  # fmt: skip
async def list_(req: ApiRequest) -> Paginated[UserRead]:
    viewer = req.principal
    page = await list_page(req, USERS, policy.user_list_sql(viewer, "users"))
    # In lists, even a user's own entry has only the basic fields unless they are an admin.
    return page.paginated(
        [user_read(req, UserRecord(**row), full=viewer.is_admin) for row in page.rows]
    )


# --- details ----------------------------------------------------------------------------


@router.get("/api/users/self", response=UserRead, summary="The authenticated user")
async def retrieve_self(req: ApiRequest) -> UserRead:
    record = await get_user(req.container.pool, req.principal.id)
    if record is None:  # deleted between authentication and now
        raise not_found()
    return user_read(req, record, full=True)


async def _target(req: ApiRequest) -> UserRecord:
    try:
        user_id = int(req.path["id"])
    except ValueError:
        raise not_found() from None
    record = await get_user(req.container.pool, user_id)
    if record is None:
        raise not_found()
    return record


@router.get("/api/users/{id}", response=UserRead, summary="A user's details")
async def retrieve(req: ApiRequest) -> UserRead:
    record = await _target(req)
    if not policy.can_view_user(req.principal, record.id):
        raise permission_denied()
    return shown(req, record)


class UserPatch(msgspec.Struct, kw_only=True):
    username: str | msgspec.UnsetType = msgspec.UNSET
    first_name: str | msgspec.UnsetType = msgspec.UNSET
    last_name: str | msgspec.UnsetType = msgspec.UNSET
    email: str | msgspec.UnsetType = msgspec.UNSET
    groups: list[str] | msgspec.UnsetType = msgspec.UNSET
    is_staff: bool | msgspec.UnsetType = msgspec.UNSET
    is_superuser: bool | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


USERNAME = re.compile(r"^[\w.@+-]+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def username_problem(username: str) -> str | None:
    if not username:
        return "This field may not be blank."
    if len(username) > 150:
        return "Ensure this field has no more than 150 characters."
    if not USERNAME.match(username):
        return (
            "Enter a valid username. This value may contain only letters, numbers, "
            "and @/./+/-/_ characters."
        )
    return None


def _role_of(groups: list[str]) -> Role:
    unknown = [g for g in groups if g not in ROLES]
    if unknown:
        raise bad_request("groups", f"Unknown group {unknown[0]!r}; use admin, user or worker.")
    if "admin" in groups:
        return "admin"
    return "user" if "user" in groups else "worker"


@router.patch(
    "/api/users/{id}", body=UserPatch, response=UserRead,
    summary="Change a user (admins: any field; users: their own names)",
)  # fmt: skip
async def partial_update(req: ApiRequest) -> UserRead:
    record = await _target(req)
    actor = req.principal
    if not policy.can_change_user(actor, record.id):
        raise permission_denied()
    body: UserPatch = req.body
    changes: dict[str, Any] = {}
    for name in ("username", "first_name", "last_name"):
        value = getattr(body, name)
        if value is not msgspec.UNSET:
            changes[name] = value
    if actor.is_admin:  # non-admins: CVAT's BasicUserSerializer ignores the other fields
        if body.email is not msgspec.UNSET:
            changes["email"] = body.email
        for flag in ("is_staff", "is_superuser", "is_active"):
            value = getattr(body, flag)
            if value is not msgspec.UNSET:
                changes[flag] = value
        role = _role_of(body.groups) if body.groups is not msgspec.UNSET else record.role
        if "is_superuser" in changes:  # the flag and the admin group go together
            if changes["is_superuser"]:
                role = "admin"
            elif role == "admin":
                role = "user"
        elif body.groups is not msgspec.UNSET:
            changes["is_superuser"] = role == "admin"
        changes["role"] = role
    await _validate(req, record, changes)
    updated = await update_user(
        req.container.pool, req.container.store, record, changes, actor_id=actor.id
    )
    if not updated.is_active:
        await end_user_sessions(req.container.pool, updated.id)
    return shown(req, updated)


async def _validate(req: ApiRequest, record: UserRecord, changes: dict[str, Any]) -> None:
    pool = req.container.pool
    errors: dict[str, list[str]] = {}
    if "username" in changes:
        problem = username_problem(changes["username"])
        if problem is None and await username_taken(pool, changes["username"], but=record.id):
            problem = "A user with that username already exists."
        if problem:
            errors["username"] = [problem]
    for name in ("first_name", "last_name"):
        if name in changes and len(changes[name]) > 150:
            errors[name] = ["Ensure this field has no more than 150 characters."]
    email = changes.get("email")
    if email:
        if not EMAIL.match(email) or len(email) > 254:
            errors["email"] = ["Enter a valid email address."]
        elif await email_taken(pool, email, but=record.id):
            errors["email"] = ["A user is already registered with this e-mail address."]
    if errors:
        raise ApiError(400, errors)
    losing_admin = record.role == "admin" and record.is_active and (
        changes.get("role", "admin") != "admin" or changes.get("is_active") is False
    )  # fmt: skip
    if losing_admin and await active_admins(pool) == [record.id]:
        raise bad_request("groups", "The last active admin cannot lose the admin role.")


@router.delete("/api/users/{id}", status=204, summary="Delete a user")
async def destroy(req: ApiRequest) -> None:
    record = await _target(req)
    actor = req.principal
    if not policy.can_change_user(actor, record.id):
        raise permission_denied()
    if record.role == "admin" and await active_admins(req.container.pool) == [record.id]:
        raise ApiError(400, {"detail": "The last active admin cannot be deleted."})
    await delete_user(req.container.pool, req.container.store, record.id, actor_id=actor.id)
