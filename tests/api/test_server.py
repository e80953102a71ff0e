"""/api/server/* through the real server process."""

from __future__ import annotations

import httpx


def test_about_answers_without_authentication(server) -> None:
    response = httpx.get(f"{server.url}/api/server/about")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == "2.80.0"
    assert set(body) >= {"name", "description", "version", "logo_url", "subtitle"}
    assert "set-cookie" not in response.headers  # a cookie here would make clients log out


def test_protected_endpoint_requires_credentials(server) -> None:
    response = httpx.get(f"{server.url}/api/server/plugins")
    assert response.status_code == 401
    assert "detail" in response.json()
    ok = httpx.get(f"{server.url}/api/server/plugins/", auth=server.admin)
    assert ok.status_code == 200


def test_wrong_basic_password_is_401(server) -> None:
    response = httpx.get(f"{server.url}/api/server/plugins", auth=("admin", "wrong"))
    assert response.status_code == 401


def test_unknown_path_is_a_json_404(server) -> None:
    response = httpx.get(f"{server.url}/api/nothing-here", auth=server.admin)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
