"""Authentication through the real server: sessions + CSRF, legacy token keys, personal
access tokens, HTTP Basic, rate limiting, registration and password change, and the
unmodified cvat-sdk in both of its login modes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.api.iam_helpers import PASSWORD, login, register, unique
from tests.conftest import api_server


def _set_cookie_headers(response: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


# --- sessions ---------------------------------------------------------------------------


def test_login_sets_session_and_csrf_cookies(server) -> None:
    response = httpx.post(
        f"{server.url}/api/auth/login",
        json={"username": server.admin[0], "password": server.admin[1]},
    )
    assert response.status_code == 200
    assert response.json()["key"]
    cookies = _set_cookie_headers(response)
    assert set(cookies) >= {"sessionid", "csrftoken"}
    for name in ("sessionid", "csrftoken"):
        assert re.fullmatch(r"[A-Za-z0-9]{20,}", response.cookies[name])
        assert "samesite=lax" in cookies[name].lower()
    assert "httponly" in cookies["sessionid"].lower()
    assert "httponly" not in cookies["csrftoken"].lower()  # the UI must read it


def test_session_reads_need_no_csrf_header(server) -> None:
    user = register(server.url)
    with closing(login(server.url, str(user["username"]))) as client:
        del client.headers["X-CSRFToken"]
        response = client.get("/api/users/self")
        assert response.status_code == 200
        assert response.json()["username"] == user["username"]


def test_session_writes_need_the_csrf_token(server) -> None:
    user = register(server.url)
    with closing(login(server.url, str(user["username"]))) as client:
        token = client.headers.pop("X-CSRFToken")
        missing = client.post("/api/auth/access_tokens", json={"name": "t"})
        assert missing.status_code == 403
        assert "CSRF" in missing.json()["detail"]
        wrong = client.post(
            "/api/auth/access_tokens", json={"name": "t"}, headers={"X-CSRFToken": "x" * 32}
        )
        assert wrong.status_code == 403
        assert "incorrect" in wrong.json()["detail"]
        ok = client.post(
            "/api/auth/access_tokens", json={"name": "t"}, headers={"X-CSRFToken": token}
        )
        assert ok.status_code == 201, ok.text


def test_session_writes_from_a_foreign_origin_are_refused(server) -> None:
    user = register(server.url)
    with closing(login(server.url, str(user["username"]))) as client:
        client.headers["Origin"] = "http://evil.example"
        response = client.post("/api/auth/access_tokens", json={"name": "t"})
        assert response.status_code == 403
        assert "Origin" in response.json()["detail"]


def test_logout_ends_the_session_and_clears_cookies(server) -> None:
    user = register(server.url)
    client = login(server.url, str(user["username"]))
    session = dict(client.cookies)
    response = client.post("/api/auth/logout")
    assert response.status_code == 200
    assert response.json() == {"detail": "Successfully logged out."}
    cleared = _set_cookie_headers(response)
    assert set(cleared) >= {"sessionid", "csrftoken"}
    stale = httpx.get(f"{server.url}/api/users/self", cookies=session)
    assert stale.status_code == 401
    client.close()


def test_logout_answers_2xx_without_a_session(server) -> None:
    response = httpx.post(f"{server.url}/api/auth/logout")
    assert response.status_code == 200
    stale = httpx.post(f"{server.url}/api/auth/logout", cookies={"sessionid": "nope"})
    assert stale.status_code == 200


# --- header credentials ---------------------------------------------------------------


def test_login_key_works_as_legacy_token_until_logout(server) -> None:
    user = register(server.url)
    response = httpx.post(
        f"{server.url}/api/auth/login",
        json={"username": user["username"], "password": PASSWORD},
    )
    headers = {"Authorization": f"Token {response.json()['key']}"}
    me = httpx.get(f"{server.url}/api/users/self", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == user["username"]
    # Header credentials need no CSRF token.
    made = httpx.post(f"{server.url}/api/auth/access_tokens", json={"name": "x"}, headers=headers)
    assert made.status_code == 201
    assert httpx.post(f"{server.url}/api/auth/logout", headers=headers).status_code == 200
    gone = httpx.get(f"{server.url}/api/users/self", headers=headers)
    assert gone.status_code == 401
    assert gone.json()["detail"] == "Invalid token."


def test_bearer_personal_access_token(server) -> None:
    user = register(server.url)
    auth = (str(user["username"]), PASSWORD)
    created = httpx.post(f"{server.url}/api/auth/access_tokens", json={"name": "ci"}, auth=auth)
    assert created.status_code == 201
    token = created.json()
    assert token["value"] and token["owner"]["username"] == user["username"]
    bearer = {"Authorization": f"Bearer {token['value']}"}
    me = httpx.get(f"{server.url}/api/users/self", headers=bearer)
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    current = httpx.get(f"{server.url}/api/auth/access_tokens/self", headers=bearer)
    assert current.status_code == 200
    assert current.json()["id"] == token["id"]
    assert "value" not in current.json()  # shown once, at creation
    assert current.json()["last_used_date"] is not None
    listed = httpx.get(f"{server.url}/api/auth/access_tokens", auth=auth).json()
    assert [t["id"] for t in listed["results"]] == [token["id"]]
    assert "value" not in listed["results"][0]
    revoked = httpx.delete(f"{server.url}/api/auth/access_tokens/{token['id']}", auth=auth)
    assert revoked.status_code == 204
    after = httpx.get(f"{server.url}/api/users/self", headers=bearer)
    assert after.status_code == 401
    assert "Invalid access token" in after.json()["detail"]


def test_access_token_list_filters_sorts_and_pages(server) -> None:
    auth = (str(register(server.url)["username"]), PASSWORD)
    for name in ("alpha", "beta", "gamma"):
        body = {"name": name, "read_only": name == "beta"}
        created = httpx.post(f"{server.url}/api/auth/access_tokens", json=body, auth=auth)
        assert created.status_code == 201

    def names(**params: str) -> list[str]:
        response = httpx.get(f"{server.url}/api/auth/access_tokens", params=params, auth=auth)
        assert response.status_code == 200, response.text
        return [t["name"] for t in response.json()["results"]]

    assert names() == ["gamma", "beta", "alpha"]  # newest first
    assert names(sort="name", page_size="2") == ["alpha", "beta"]
    assert names(sort="name", page_size="2", page="2") == ["gamma"]
    assert names(filter=json.dumps({"==": [{"var": "read_only"}, True]})) == ["beta"]
    assert names(search="AMM") == ["gamma"]
    assert names(read_only="false", sort="-name") == ["gamma", "alpha"]
    assert names(page_size="all", org="elsewhere") == ["gamma", "beta", "alpha"]
    bad = httpx.get(f"{server.url}/api/auth/access_tokens", params={"sort": "key"}, auth=auth)
    assert bad.status_code == 400 and "sort" in bad.json()


def test_read_only_token_cannot_write(server) -> None:
    user = register(server.url)
    auth = (str(user["username"]), PASSWORD)
    value = httpx.post(
        f"{server.url}/api/auth/access_tokens", json={"name": "ro", "read_only": True}, auth=auth
    ).json()["value"]
    bearer = {"Authorization": f"Bearer {value}"}
    assert httpx.get(f"{server.url}/api/users/self", headers=bearer).status_code == 200
    write = httpx.post(f"{server.url}/api/auth/access_tokens", json={"name": "x"}, headers=bearer)
    assert write.status_code == 403
    assert "read-only" in write.json()["detail"]


def test_expired_token_is_refused(server) -> None:
    user = register(server.url)
    auth = (str(user["username"]), PASSWORD)
    expiry = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    token = httpx.post(
        f"{server.url}/api/auth/access_tokens", json={"name": "e", "expiry_date": expiry},
        auth=auth,
    ).json()  # fmt: skip
    past = httpx.post(
        f"{server.url}/api/auth/access_tokens",
        json={"name": "p", "expiry_date": "2000-01-01T00:00:00Z"}, auth=auth,
    )  # fmt: skip
    assert past.status_code == 400 and "expiry_date" in past.json()
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE access_tokens SET expiry_date = now() - interval '1 second' WHERE id = %s",
            [token["id"]],
        )
    response = httpx.get(
        f"{server.url}/api/users/self", headers={"Authorization": f"Bearer {token['value']}"}
    )
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_tokens_of_others_are_invisible(server) -> None:
    owner, other = register(server.url), register(server.url)
    token = httpx.post(
        f"{server.url}/api/auth/access_tokens", json={"name": "mine"},
        auth=(str(owner["username"]), PASSWORD),
    ).json()  # fmt: skip
    peek = httpx.get(
        f"{server.url}/api/auth/access_tokens/{token['id']}",
        auth=(str(other["username"]), PASSWORD),
    )
    assert peek.status_code == 404


def test_basic_auth_and_wrong_password(server) -> None:
    user = register(server.url)
    ok = httpx.get(f"{server.url}/api/users/self", auth=(str(user["username"]), PASSWORD))
    assert ok.status_code == 200
    again = httpx.get(f"{server.url}/api/users/self", auth=(str(user["username"]), PASSWORD))
    assert again.status_code == 200  # (from the verification cache)
    wrong = httpx.get(f"{server.url}/api/users/self", auth=(str(user["username"]), "nope-nope"))
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "Invalid username/password."


def test_malformed_or_unknown_authorization_is_401(server) -> None:
    for header in ("Basic %%%", "Bearer", "Digest abc", "Token nope"):
        response = httpx.get(f"{server.url}/api/users/self", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["detail"]


def test_inactive_users_cannot_authenticate(server) -> None:
    user = register(server.url)
    auth = (str(user["username"]), PASSWORD)
    token = httpx.post(f"{server.url}/api/auth/access_tokens", json={"name": "t"}, auth=auth)
    client = login(server.url, str(user["username"]))
    off = httpx.patch(
        f"{server.url}/api/users/{user['id']}", json={"is_active": False}, auth=server.admin
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert httpx.get(f"{server.url}/api/users/self", auth=auth).status_code == 401
    bearer = {"Authorization": f"Bearer {token.json()['value']}"}
    assert httpx.get(f"{server.url}/api/users/self", headers=bearer).status_code == 401
    assert client.get("/api/users/self").status_code == 401
    relogin = httpx.post(
        f"{server.url}/api/auth/login", json={"username": user["username"], "password": PASSWORD}
    )
    assert relogin.status_code == 400
    client.close()


# --- login details ----------------------------------------------------------------------


def test_wrong_login_answers_as_cvat_does(server) -> None:
    response = httpx.post(
        f"{server.url}/api/auth/login", json={"username": unique("ghost"), "password": "x"}
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert "set-cookie" not in response.headers


def test_login_with_email(server) -> None:
    email = f"{unique('m')}@example.com"
    user = register(server.url, email=email)
    for body in ({"email": email.upper()}, {"username": email}):
        response = httpx.post(f"{server.url}/api/auth/login", json={**body, "password": PASSWORD})
        assert response.status_code == 200, (body, response.text)
    assert user["email"] == email


def test_repeated_login_failures_are_rate_limited(server) -> None:
    user = register(server.url)
    body = {"username": user["username"], "password": "wrong-password"}
    for _ in range(10):
        assert httpx.post(f"{server.url}/api/auth/login", json=body).status_code == 400
    limited = httpx.post(f"{server.url}/api/auth/login", json=body)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 300
    # Even the right password waits: the limiter answers before checking it.
    right = httpx.post(f"{server.url}/api/auth/login", json={**body, "password": PASSWORD})
    assert right.status_code == 429
    # Basic auth shares the limit.
    basic = httpx.get(f"{server.url}/api/users/self", auth=(str(user["username"]), "wrong"))
    assert basic.status_code == 429
    assert 0 < int(basic.headers["Retry-After"]) <= 300
    assert basic.headers["Retry-After"] in basic.json()["detail"]


# --- registration and password change -----------------------------------------------------


def test_register_creates_a_user_with_role_user_and_logs_in(server) -> None:
    name = unique("reg")
    response = httpx.post(
        f"{server.url}/api/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password1": PASSWORD,
              "password2": PASSWORD, "first_name": "Ada", "last_name": "L"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == name and body["email_verification_required"] is False
    assert {"sessionid", "csrftoken"} <= set(response.cookies)
    me = httpx.get(f"{server.url}/api/users/self", cookies=response.cookies)
    assert me.status_code == 200
    assert me.json()["groups"] == ["user"]
    assert me.json()["first_name"] == "Ada"


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"password1": "short1", "password2": "short1"}, "password1", "too short"),
        ({"password1": "1234567890123", "password2": "1234567890123"}, "password1", "numeric"),
        ({"password2": "Different-pass-9"}, "non_field_errors", "didn't match"),
        ({"username": "ab"}, "username", "at least 5"),
        ({"username": "bad name!"}, "username", "valid username"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"username": ""}, "username", "required"),
    ],
)
def test_register_names_the_field_in_error(server, change, field, fragment) -> None:
    body = {"username": unique(), "password1": PASSWORD, "password2": PASSWORD, **change}
    response = httpx.post(f"{server.url}/api/auth/register", json=body)
    assert response.status_code == 400
    assert fragment in " ".join(response.json()[field])


def test_register_refuses_duplicates(server) -> None:
    email = f"{unique('d')}@example.com"
    user = register(server.url, email=email)
    same_name = httpx.post(
        f"{server.url}/api/auth/register",
        json={"username": user["username"], "password1": PASSWORD, "password2": PASSWORD},
    )
    assert same_name.status_code == 400 and "already exists" in same_name.json()["username"][0]
    same_mail = httpx.post(
        f"{server.url}/api/auth/register",
        json={"username": unique(), "email": email.upper(), "password1": PASSWORD,
              "password2": PASSWORD},
    )  # fmt: skip
    assert same_mail.status_code == 400 and "email" in same_mail.json()


@pytest.fixture(scope="module")
def closed_server(services, template_db) -> Iterator[str]:
    """A second, short-lived server with VELLUM_ALLOW_REGISTRATION=false."""
    with api_server(
        services, template_db, redis_db=3, allow_registration="false", inprocess_worker="false"
    ) as running:
        yield running.url


def test_registration_can_be_switched_off(closed_server) -> None:
    body = {"username": unique(), "password1": PASSWORD, "password2": PASSWORD}
    response = httpx.post(f"{closed_server}/api/auth/register", json=body)
    assert response.status_code == 403
    assert "disabled" in response.json()["detail"]


def test_password_change(server) -> None:
    user = register(server.url)
    name = str(user["username"])
    other = login(server.url, name)
    with closing(login(server.url, name)) as client:
        wrong = client.post(
            "/api/auth/password/change",
            json={"old_password": "nope", "new_password1": "N3w-password!",
                  "new_password2": "N3w-password!"},
        )  # fmt: skip
        assert wrong.status_code == 400 and "old_password" in wrong.json()
        mismatch = client.post(
            "/api/auth/password/change",
            json={"old_password": PASSWORD, "new_password1": "N3w-password!",
                  "new_password2": "N3w-password?"},
        )  # fmt: skip
        assert mismatch.status_code == 400 and "new_password2" in mismatch.json()
        ok = client.post(
            "/api/auth/password/change",
            json={"old_password": PASSWORD, "new_password1": "N3w-password!",
                  "new_password2": "N3w-password!"},
        )  # fmt: skip
        assert ok.status_code == 200
        assert ok.json() == {"detail": "New password has been saved."}
        assert client.get("/api/users/self").status_code == 200  # this session stays
    assert other.get("/api/users/self").status_code == 401  # other sessions end
    other.close()
    assert httpx.get(f"{server.url}/api/users/self", auth=(name, PASSWORD)).status_code == 401
    fresh = httpx.get(f"{server.url}/api/users/self", auth=(name, "N3w-password!"))
    assert fresh.status_code == 200


# --- the official client ------------------------------------------------------------------


def test_cvat_sdk_logs_in_with_a_password(server) -> None:
    from cvat_sdk import make_client

    with make_client(server.url, credentials=server.admin) as client:
        me = client.users.retrieve_current_user()
        assert me.username == server.admin[0]
        (raw, response) = client.api_client.users_api.retrieve_self()
        assert response.status == 200 and raw.username == server.admin[0]
        # An unsafe request in session mode (CSRF header + Origin, as the SDK sends them).
        (token, _) = client.api_client.auth_api.create_access_tokens({"name": "from-sdk"})
        assert token.value
        users = client.users.list()
        assert server.admin[0] in {u.username for u in users}
        client.logout()


def test_cvat_sdk_with_an_access_token(server) -> None:
    from cvat_sdk import make_client

    user = register(server.url)
    value = httpx.post(
        f"{server.url}/api/auth/access_tokens", json={"name": "sdk"},
        auth=(str(user["username"]), PASSWORD),
    ).json()["value"]  # fmt: skip
    with make_client(server.url, access_token=value) as client:
        (me, _) = client.api_client.users_api.retrieve_self()
        assert me.username == user["username"]
        (current, _) = client.api_client.auth_api.retrieve_access_tokens_self()
        assert current.name == "sdk"
