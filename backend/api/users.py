"""/api/users: CVAT's user list, details, self, update and delete.

As in CVAT (UserViewSet + users.rego, no organization): admins see everyone with all fields;
other users see only themselves in lists and, outside their own details, only the basic
fields (id, url, username, first and last name). A non-admin may change their own names and
username, or delete themselves; roles (``groups``), staff/superuser flags and activity are
admin-only. The last active admin cannot be demoted, deactivated or deleted."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec
from psycopg import sql

from backend.api.errors import ApiError, bad_request, not_found, permission_denied
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
    user_from_row,
    username_taken,
)

router = ApiRouter("users")

T = TypeVar("T")

# --- pagination (small on purpose: backend/api/lists.py can replace it) -----------------

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
MAX_PAGE = 10**9  # keeps OFFSET within bigint


def no_nul(query: msgspec.Struct) -> None:
    """Postgres text cannot hold NUL: a 400 naming the parameter instead of a 500."""
    for field in msgspec.structs.fields(query):
        value = getattr(query, field.name)
        if isinstance(value, str) and "\x00" in value:
            raise bad_request(field.encode_name, "Null characters are not allowed.")


class Page(msgspec.Struct, Generic[T], kw_only=True):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


def page_window(page: int, page_size: int | None) -> tuple[int, int]:
    """(offset, limit) of a 1-based page; 400 for pages below 1 or page sizes out of range."""
    size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if not 1 <= page <= MAX_PAGE:
        raise not_found("Invalid page.")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request("page_size", f"Must be between 1 and {MAX_PAGE_SIZE}.")
    return (page - 1) * size, size


def page_of(req: ApiRequest, results: list[T], count: int, page: int, limit: int) -> Page[T]:
    """The CVAT page shape, with absolute next/previous links that keep the other query
    parameters (filters, page_size)."""
    if page > 1 and not results and count > 0:
        raise not_found("Invalid page.")

    def link(number: int) -> str:
        params = dict(req.request.query_params)
        params["page"] = str(number)
        return str(req.request.url.replace_query_params(**params))

    has_next = page * limit < count
    return Page(
        count=count,
        next=link(page + 1) if has_next else None,
        previous=link(page - 1) if page > 1 else None,
        results=results,
    )


# --- shapes -----------------------------------------------------------------------------


class BasicUser(msgspec.Struct, kw_only=True):
    url: str
    id: int
    username: str
    first_name: str
    last_name: str


class UserOut(msgspec.Struct, kw_only=True):
    url: str
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    groups: list[str]
    is_staff: bool
    is_superuser: bool
    is_active: bool
    last_login: datetime | None
    date_joined: datetime
    has_analytics_access: bool


def basic_user(req: ApiRequest, user_id: int, username: str, first: str, last: str) -> BasicUser:
    return BasicUser(
        url=req.absolute_url(f"/api/users/{user_id}"), id=user_id, username=username,
        first_name=first, last_name=last,
    )  # fmt: skip


def full_user(req: ApiRequest, r: UserRecord) -> UserOut:
    return UserOut(
        url=req.absolute_url(f"/api/users/{r.id}"), id=r.id, username=r.username,
        first_name=r.first_name, last_name=r.last_name, email=r.email, groups=[r.role],
        is_staff=r.is_staff, is_superuser=r.is_superuser, is_active=r.is_active,
        last_login=r.last_login, date_joined=r.date_joined, has_analytics_access=r.is_superuser,
    )  # fmt: skip


def shown(req: ApiRequest, r: UserRecord) -> UserOut | BasicUser:
    """Admins and the user themselves get every field; others the basic ones (CVAT)."""
    viewer = req.principal
    if viewer.is_admin or viewer.id == r.id:
        return full_user(req, r)
    return basic_user(req, r.id, r.username, r.first_name, r.last_name)


# --- list -------------------------------------------------------------------------------


class UserListQuery(msgspec.Struct, kw_only=True):
    page: int = 1
    page_size: int | None = None
    id: int | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_active: bool | None = None
    search: str | None = None
    sort: str | None = None
    filter: str | None = None
    org: str | None = None  # organizations come later: empty = personal workspace
    org_id: int | None = None


_SORTABLE = {"id", "username", "first_name", "last_name", "is_active"}


def _order(sort: str | None) -> sql.Composable:
    if not sort:
        return sql.SQL("id DESC")  # CVAT's default ordering
    parts = []
    for item in sort.split(","):
        name = item.strip().lstrip("-")
        if name not in _SORTABLE:
            raise bad_request("sort", f"Unsupported sort field {name!r}; use one of "
                              f"{', '.join(sorted(_SORTABLE))}.")  # fmt: skip
        direction = sql.SQL("DESC" if item.strip().startswith("-") else "ASC")
        parts.append(sql.SQL("{} {}").format(sql.Identifier(name), direction))
    return sql.SQL(", ").join([*parts, sql.SQL("id")])


@router.get(
    "/api/users", query=UserListQuery, response=Page[UserOut | BasicUser],
    summary="List users (non-admins see themselves)",
)  # fmt: skip
async def list_(req: ApiRequest) -> Page[UserOut | BasicUser]:
    q: UserListQuery = req.query
    no_nul(q)
    if q.filter:
        raise bad_request("filter", "JSON filters are not supported on /api/users yet.")
    offset, limit = page_window(q.page, q.page_size)
    where: list[sql.Composable] = [policy.user_list_sql(req.principal, "users")]
    params: list[Any] = []
    for name in ("id", "username", "first_name", "last_name", "is_active"):
        value = getattr(q, name)
        if value is not None:
            where.append(sql.SQL("{} = %s").format(sql.Identifier(name)))
            params.append(value)
    if q.search:
        where.append(sql.SQL("(username ILIKE %s OR first_name ILIKE %s OR last_name ILIKE %s)"))
        params.extend([f"%{q.search}%"] * 3)
    condition = sql.SQL(" AND ").join(where)
    async with req.container.pool.connection() as conn:
        cur = await conn.execute(
            sql.SQL("SELECT count(*) FROM users WHERE {}").format(condition), params
        )
        total = await cur.fetchone()
        cur = await conn.execute(
            sql.SQL("SELECT {} FROM users WHERE {} ORDER BY {} OFFSET %s LIMIT %s").format(
                sql.SQL(USER_COLUMNS), condition, _order(q.sort)
            ),
            [*params, offset, limit],
        )
        rows = await cur.fetchall()
    records = [user_from_row(r) for r in rows]
    viewer = req.principal
    results: list[UserOut | BasicUser] = [
        full_user(req, r)
        if viewer.is_admin
        else basic_user(req, r.id, r.username, r.first_name, r.last_name)
        for r in records
    ]
    return page_of(req, results, int(total[0]) if total else 0, q.page, limit)


# --- details ----------------------------------------------------------------------------


@router.get("/api/users/self", response=UserOut, summary="The authenticated user")
async def retrieve_self(req: ApiRequest) -> UserOut:
    record = await get_user(req.container.pool, req.principal.id)
    if record is None:  # deleted between authentication and now
        raise not_found()
    return full_user(req, record)


async def _target(req: ApiRequest) -> UserRecord:
    try:
        user_id = int(req.path["id"])
    except ValueError:
        raise not_found() from None
    record = await get_user(req.container.pool, user_id)
    if record is None:
        raise not_found()
    return record


@router.get("/api/users/{id}", response=UserOut | BasicUser, summary="A user's details")
async def retrieve(req: ApiRequest) -> UserOut | BasicUser:
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
    "/api/users/{id}", body=UserPatch, response=UserOut | BasicUser,
    summary="Change a user (admins: any field; users: their own names)",
)  # fmt: skip
async def partial_update(req: ApiRequest) -> UserOut | BasicUser:
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
