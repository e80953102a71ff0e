"""/api/auth/*: login, logout, registration, password change and personal access tokens,
with CVAT's paths, fields, status codes and messages (dj-rest-auth + access_tokens app)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from psycopg import sql
from starlette.requests import Request
from starlette.responses import Response

from backend.api.errors import ApiError, bad_request, not_found, permission_denied
from backend.api.lists import Clause, Field, Paginated, Resource, fetch_page
from backend.api.responses import json_response
from backend.api.routing import ApiRequest, ApiRouter
from backend.api.users import EMAIL, BasicUser, basic_user, username_problem
from backend.iam import sessions, tokens
from backend.iam.auth import client_address, login_limiter, too_many_attempts
from backend.iam.passwords import password_problems, verify_password_async
from backend.iam.users import (
    create_user,
    email_taken,
    find_user,
    get_user,
    set_password,
    username_taken,
)

router = ApiRouter("auth")

_REQUIRED = "This field is required."


class LoginRequest(msgspec.Struct, kw_only=True):
    username: str = ""
    email: str = ""
    password: str = ""


class TokenOut(msgspec.Struct, kw_only=True):
    key: str


class RestAuthDetail(msgspec.Struct, kw_only=True):
    detail: str


def _secure(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip() == "https"


def _with_session_cookies(
    response: Response, request: Request, new: sessions.NewSession, age_s: int
) -> Response:
    secure = _secure(request)
    response.set_cookie(
        "sessionid", new.session_key, max_age=age_s, path="/", httponly=True,
        samesite="lax", secure=secure,
    )  # fmt: skip
    # Not HttpOnly: the web UI reads it to send X-CSRFToken (the double submit).
    response.set_cookie(
        "csrftoken", new.csrf_token, max_age=age_s, path="/", samesite="lax", secure=secure
    )
    return response


@router.post(
    "/api/auth/login", body=LoginRequest, response=TokenOut, auth=False,
    summary="Log in: session cookies + a legacy token key",
    extra_responses={400: "Wrong credentials", 429: "Too many failed attempts"},
)  # fmt: skip
async def create_login(req: ApiRequest) -> Response:
    body: LoginRequest = req.body
    identity = body.username or body.email
    if not identity or not body.password:
        errors = {}
        if not identity:
            errors["username"] = [_REQUIRED]
        if not body.password:
            errors["password"] = [_REQUIRED]
        raise ApiError(400, errors)
    limiter = login_limiter(req.container)
    client = client_address(req.request)
    retry_after = await limiter.retry_after(identity, client)
    if retry_after is not None:
        raise too_many_attempts(retry_after)  # with Retry-After
    # CVAT accepts the e-mail in either field.
    record = await find_user(
        req.container.pool, username=body.username,
        email=body.email or (body.username if "@" in body.username else ""),
    )  # fmt: skip
    ok = await verify_password_async(record.password_hash if record else None, body.password)
    if not ok or record is None or not record.is_active:
        await limiter.failed(identity, client)
        raise ApiError(400, {"non_field_errors": ["Unable to log in with provided credentials."]})
    await limiter.succeeded(identity, client)
    return await _start_session(req, record.id, TokenOut)


async def _start_session(req: ApiRequest, user_id: int, shape: type) -> Response:
    age = req.container.settings.session_age_s
    new = await sessions.create_session(req.container.pool, user_id, age)
    return _with_session_cookies(json_response(shape(key=new.token_key)), req.request, new, age)


@router.post(
    "/api/auth/logout", response=RestAuthDetail, auth=False,
    summary="Log out: end the session (and its token key), clear the cookies",
)  # fmt: skip
async def create_logout(req: ApiRequest) -> Response:
    session_key = req.request.cookies.get("sessionid", "")
    token_key = ""
    if req.user is not None and req.user.auth_method == "token":
        token_key = req.request.headers.get("authorization", "").partition(" ")[2].strip()
    await sessions.end_session(req.container.pool, session_key=session_key, token_key=token_key)
    response = json_response(RestAuthDetail(detail="Successfully logged out."))
    response.delete_cookie("sessionid", path="/")
    response.delete_cookie("csrftoken", path="/")
    return response


# --- registration -----------------------------------------------------------------------


class RegisterRequest(msgspec.Struct, kw_only=True):
    username: str = ""
    email: str = ""
    password1: str = ""
    password2: str = ""
    first_name: str = ""
    last_name: str = ""


class RegisterResponse(msgspec.Struct, kw_only=True):
    username: str
    email: str
    first_name: str
    last_name: str
    email_verification_required: bool
    key: str | None


@router.post(
    "/api/auth/register", body=RegisterRequest, response=RegisterResponse, status=201,
    auth=False, summary="Create an account (when self-registration is on) and log in",
)  # fmt: skip
async def create_register(req: ApiRequest) -> Response:
    if not req.container.settings.allow_registration:
        raise permission_denied("Registration is disabled on this server.")
    body: RegisterRequest = req.body
    pool = req.container.pool
    errors: dict[str, list[str]] = {}
    for name in ("username", "password1", "password2"):
        if not getattr(body, name):
            errors[name] = [_REQUIRED]
    if body.username and "username" not in errors:
        problem = username_problem(body.username)
        if problem is None and len(body.username) < 5:
            problem = "Ensure this field has at least 5 characters."
        if problem is None and await username_taken(pool, body.username):
            problem = "A user with that username already exists."
        if problem:
            errors["username"] = [problem]
    if body.email:
        if not EMAIL.match(body.email) or len(body.email) > 254:
            errors["email"] = ["Enter a valid email address."]
        elif await email_taken(pool, body.email):
            errors["email"] = ["A user is already registered with this e-mail address."]
    for name in ("first_name", "last_name"):
        if len(getattr(body, name)) > 150:
            errors[name] = ["Ensure this field has no more than 150 characters."]
    if body.password1 and "password1" not in errors:
        problems = password_problems(body.password1, username=body.username, email=body.email)
        if problems:
            errors["password1"] = problems
    if errors:
        raise ApiError(400, errors)
    if body.password1 != body.password2:
        raise ApiError(400, {"non_field_errors": ["The two password fields didn't match."]})
    user_id = await create_user(
        pool, req.container.store, username=body.username, password=body.password1,
        email=body.email, first_name=body.first_name, last_name=body.last_name, role="user",
    )  # fmt: skip
    age = req.container.settings.session_age_s
    new = await sessions.create_session(pool, user_id, age)
    out = RegisterResponse(
        username=body.username, email=body.email, first_name=body.first_name,
        last_name=body.last_name, email_verification_required=False, key=new.token_key,
    )  # fmt: skip
    return _with_session_cookies(json_response(out, 201), req.request, new, age)


# --- password change --------------------------------------------------------------------


class PasswordChangeRequest(msgspec.Struct, kw_only=True):
    old_password: str = ""
    new_password1: str = ""
    new_password2: str = ""


@router.post(
    "/api/auth/password/change", body=PasswordChangeRequest, response=RestAuthDetail,
    summary="Change the password (other sessions are logged out)",
)  # fmt: skip
async def create_password_change(req: ApiRequest) -> RestAuthDetail:
    body: PasswordChangeRequest = req.body
    errors = {
        name: [_REQUIRED]
        for name in ("old_password", "new_password1", "new_password2")
        if not getattr(body, name)
    }
    if errors:
        raise ApiError(400, errors)
    pool = req.container.pool
    record = await get_user(pool, req.principal.id)
    if record is None:
        raise not_found()
    if not await verify_password_async(record.password_hash, body.old_password):
        raise bad_request(
            "old_password", "Your old password was entered incorrectly. Please enter it again."
        )
    if body.new_password1 != body.new_password2:
        raise bad_request("new_password2", "The two password fields didn't match.")
    problems = password_problems(body.new_password1, username=record.username, email=record.email)
    if problems:
        raise ApiError(400, {"new_password2": problems})
    await set_password(pool, req.container.store, record.id, body.new_password1)
    keep = (
        req.request.cookies.get("sessionid", "") if req.principal.auth_method == "session" else ""
    )
    await sessions.end_user_sessions(pool, record.id, keep_session_key=keep)
    return RestAuthDetail(detail="New password has been saved.")


# --- personal access tokens -------------------------------------------------------------


class AccessTokenRead(msgspec.Struct, kw_only=True):
    id: int
    name: str
    created_date: datetime
    updated_date: datetime
    expiry_date: datetime | None
    last_used_date: datetime | None
    read_only: bool
    owner: BasicUser
    # The raw value: only in the creation response (it is never stored).
    value: str | msgspec.UnsetType = msgspec.UNSET


class AccessTokenWrite(msgspec.Struct, kw_only=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    expiry_date: datetime | msgspec.UnsetType | None = msgspec.UNSET
    read_only: bool | msgspec.UnsetType = msgspec.UNSET


def _read(req: ApiRequest, t: tokens.AccessToken, value: str | None = None) -> AccessTokenRead:
    return AccessTokenRead(
        id=t.id, name=t.name, created_date=t.created_date, updated_date=t.updated_date,
        expiry_date=t.expiry_date, last_used_date=t.last_used_date, read_only=t.read_only,
        owner=basic_user(req, t.owner_id, t.owner_username, t.owner_first_name,
                         t.owner_last_name),
        value=msgspec.UNSET if value is None else value,
    )  # fmt: skip


def _validated(body: AccessTokenWrite, *, creating: bool) -> dict[str, object]:
    changes: dict[str, object] = {}
    if body.name is msgspec.UNSET:
        if creating:
            raise bad_request("name", _REQUIRED)
    elif not body.name.strip():
        raise bad_request("name", "This field may not be blank.")
    elif len(body.name) > 50:
        raise bad_request("name", "Ensure this field has no more than 50 characters.")
    else:
        changes["name"] = body.name
    if body.expiry_date is not msgspec.UNSET:
        expiry = body.expiry_date
        if expiry is not None:
            if expiry.tzinfo is None:
                expiry = expiry.replace(tzinfo=UTC)
            if expiry <= datetime.now(UTC):
                raise bad_request("expiry_date", "The expiry date must be in the future.")
        changes["expiry_date"] = expiry
    if body.read_only is not msgspec.UNSET:
        changes["read_only"] = body.read_only
    return changes


# CVAT's AccessTokensViewSet: search and simple filter on the name (here also read_only),
# filter and sort on every field, newest first; the list is the caller's usable tokens.
ACCESS_TOKENS = Resource(
    name="access_tokens",
    source="access_tokens t JOIN users u ON u.id = t.owner_id",
    select=(
        "t.id, t.name, t.read_only, t.created_date, t.updated_date, t.expiry_date,"
        " t.last_used_date, t.owner_id, u.username AS owner_username,"
        " u.first_name AS owner_first_name, u.last_name AS owner_last_name"
    ),
    fields={
        "id": Field("t.id", "int"),
        "name": Field("t.name"),
        "read_only": Field("t.read_only", "bool"),
        "created_date": Field("t.created_date", "datetime"),
        "updated_date": Field("t.updated_date", "datetime"),
        "expiry_date": Field("t.expiry_date", "datetime"),
        "last_used_date": Field("t.last_used_date", "datetime"),
    },
    search=("name",),
    simple_filters=("name", "read_only"),
)
# Tokens belong to no organization (CVAT: iam_organization_field = None): org is ignored.
_NO_ORGANIZATION = ("org", "org_id")


@router.get(
    "/api/auth/access_tokens", query=ACCESS_TOKENS.query, response=Paginated[AccessTokenRead],
    summary="List your personal access tokens",
)  # fmt: skip
async def list_access_tokens(req: ApiRequest) -> Paginated[AccessTokenRead]:
    params = {k: v for k, v in req.request.query_params.items() if k not in _NO_ORGANIZATION}
    own = sql.SQL("t.owner_id = %s AND {}").format(sql.SQL(tokens.USABLE))
    async with req.container.pool.connection() as conn:
        page = await fetch_page(
            conn, ACCESS_TOKENS, params, str(req.request.url),
            where=Clause(own, (req.principal.id,)),
        )  # fmt: skip
    return page.paginated([_read(req, tokens.AccessToken(**row)) for row in page.rows])


@router.post(
    "/api/auth/access_tokens", body=AccessTokenWrite, response=AccessTokenRead, status=201,
    summary="Create a personal access token (its value is shown only in this response)",
)  # fmt: skip
async def create_access_tokens(req: ApiRequest) -> AccessTokenRead:
    changes = _validated(req.body, creating=True)
    pool = req.container.pool
    owner = req.principal.id
    if await tokens.count_usable(pool, owner) >= req.container.settings.max_access_tokens_per_user:
        raise ApiError(400, {"non_field_errors": [
            "You have reached the maximum allowed number of Personal Access Tokens for a user"
        ]})  # fmt: skip
    expiry = changes.get("expiry_date")
    token, value = await tokens.create_token(
        pool, owner, name=str(changes["name"]), read_only=bool(changes.get("read_only", False)),
        expiry_date=expiry if isinstance(expiry, datetime) else None,
    )  # fmt: skip
    return _read(req, token, value)


@router.get(
    "/api/auth/access_tokens/self", response=AccessTokenRead,
    summary="The access token this request is authenticated with",
)  # fmt: skip
async def retrieve_access_tokens_self(req: ApiRequest) -> AccessTokenRead:
    token_id = req.principal.access_token_id
    if token_id is None:
        raise ApiError(401, "This endpoint needs a request authenticated with an access token.")
    token = await tokens.get_token(req.container.pool, token_id)
    if token is None:
        raise not_found()
    return _read(req, token)


async def _own_token(req: ApiRequest) -> tokens.AccessToken:
    try:
        token_id = int(req.path["id"])
    except ValueError:
        raise not_found() from None
    token = await tokens.get_token(req.container.pool, token_id)
    user = req.principal
    if token is None or not (token.owner_id == user.id or user.is_admin):
        raise not_found()  # someone else's token: not even its existence is revealed
    return token


@router.get("/api/auth/access_tokens/{id}", response=AccessTokenRead, summary="A token's details")
async def retrieve_access_tokens(req: ApiRequest) -> AccessTokenRead:
    return _read(req, await _own_token(req))


@router.patch(
    "/api/auth/access_tokens/{id}", body=AccessTokenWrite, response=AccessTokenRead,
    summary="Rename a token, change its expiry or read-only flag",
)  # fmt: skip
async def partial_update_access_tokens(req: ApiRequest) -> AccessTokenRead:
    token = await _own_token(req)
    await tokens.update_token(req.container.pool, token.id, _validated(req.body, creating=False))
    updated = await tokens.get_token(req.container.pool, token.id)
    if updated is None:  # just expired by the change? it is gone for the client either way
        raise not_found()
    return _read(req, updated)


@router.delete("/api/auth/access_tokens/{id}", status=204, summary="Revoke a token")
async def destroy_access_tokens(req: ApiRequest) -> None:
    token = await _own_token(req)
    await tokens.revoke_token(req.container.pool, token.id)
