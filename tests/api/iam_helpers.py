"""Shared helpers of the IAM API tests: users made through the real endpoints."""

from __future__ import annotations

import uuid

import httpx

PASSWORD = "Str0ng-enough-pass"


def unique(prefix: str = "user") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def register(url: str, username: str | None = None, **fields: str) -> dict[str, object]:
    """A new user (role "user") through POST /api/auth/register; returns the answer + id."""
    username = username or unique()
    body = {"username": username, "password1": PASSWORD, "password2": PASSWORD, **fields}
    response = httpx.post(f"{url}/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    me = httpx.get(f"{url}/api/users/self", auth=(username, PASSWORD))
    assert me.status_code == 200, me.text
    return {**response.json(), "id": me.json()["id"], "password": PASSWORD}


def set_role(url: str, admin: tuple[str, str], user_id: int, role: str) -> None:
    response = httpx.patch(f"{url}/api/users/{user_id}", json={"groups": [role]}, auth=admin)
    assert response.status_code == 200, response.text
    assert response.json()["groups"] == [role]


def login(url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """A client in session mode (cookies + X-CSRFToken + Origin), as the cvat-sdk is."""
    client = httpx.Client(base_url=url, headers={"Origin": url})
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client
