"""/api/users through the real server: what admins and other users see and may change."""

from __future__ import annotations

import json

import httpx

from tests.api.iam_helpers import PASSWORD, register, set_role

FULL = {
    "id", "url", "username", "first_name", "last_name", "email", "groups", "is_staff",
    "is_superuser", "is_active", "last_login", "date_joined", "has_analytics_access",
}  # fmt: skip
BASIC = {"id", "url", "username", "first_name", "last_name"}


def test_admin_lists_everyone_with_every_field(server) -> None:
    made = register(server.url)
    response = httpx.get(f"{server.url}/api/users", params={"page_size": 1000}, auth=server.admin)
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    names = {u["username"] for u in page["results"]}
    assert {server.admin[0], made["username"]} <= names
    admin = next(u for u in page["results"] if u["username"] == server.admin[0])
    assert set(admin) >= FULL
    assert admin["groups"] == ["admin"] and admin["is_superuser"] is True
    assert admin["url"] == f"{server.url}/api/users/{admin['id']}"


def test_non_admins_list_only_themselves_with_basic_fields(server) -> None:
    register(server.url)
    me = register(server.url)
    page = httpx.get(f"{server.url}/api/users", auth=(str(me["username"]), PASSWORD)).json()
    assert page["count"] == 1
    assert [u["username"] for u in page["results"]] == [me["username"]]
    assert set(page["results"][0]) == BASIC


def test_pagination_links_and_filters(server) -> None:
    for _ in range(3):
        register(server.url, first_name="Pager")
    first = httpx.get(
        f"{server.url}/api/users", params={"first_name": "Pager", "page_size": 2},
        auth=server.admin,
    ).json()  # fmt: skip
    assert first["count"] >= 3 and len(first["results"]) == 2
    assert first["previous"] is None and "page=2" in first["next"]
    assert "first_name=Pager" in first["next"]
    second = httpx.get(first["next"], auth=server.admin).json()
    assert second["previous"] is not None
    seen = {u["id"] for u in first["results"]} | {u["id"] for u in second["results"]}
    assert len(seen) == len(first["results"]) + len(second["results"])
    beyond = httpx.get(f"{server.url}/api/users", params={"page": 10_000}, auth=server.admin)
    assert beyond.status_code == 404
    bad_sort = httpx.get(f"{server.url}/api/users", params={"sort": "password"}, auth=server.admin)
    assert bad_sort.status_code == 400 and "sort" in bad_sort.json()


def test_search_and_sort(server) -> None:
    tag = register(server.url)["username"]
    found = httpx.get(
        f"{server.url}/api/users", params={"search": str(tag)[4:], "sort": "username"},
        auth=server.admin,
    ).json()  # fmt: skip
    assert [u["username"] for u in found["results"]] == [tag]


def test_the_list_takes_every_list_parameter(server) -> None:
    ids = sorted(int(register(server.url)["id"]) for _ in range(3))
    rule = json.dumps({"in": [{"var": "id"}, ids]})
    everything = httpx.get(
        f"{server.url}/api/users", params={"filter": rule, "sort": "-id", "page_size": "all"},
        auth=server.admin,
    ).json()  # fmt: skip
    assert [u["id"] for u in everything["results"]] == ids[::-1]
    assert everything["count"] == 3 and everything["next"] is None
    for params, field in (
        ({"filter": json.dumps({"==": [{"var": "email"}, "x"]})}, "filter"),
        ({"username": "a\x00b"}, "username"),
        ({"page_size": "0"}, "page_size"),
    ):
        response = httpx.get(f"{server.url}/api/users", params=params, auth=server.admin)
        assert response.status_code == 400 and field in response.json(), params


def test_self_has_every_field(server) -> None:
    me = register(server.url, email="self@example.org")
    body = httpx.get(f"{server.url}/api/users/self", auth=(str(me["username"]), PASSWORD)).json()
    assert set(body) >= FULL
    assert body["email"] == "self@example.org" and body["groups"] == ["user"]
    assert body["last_login"] is not None  # register logged in


def test_users_cannot_see_or_change_others(server) -> None:
    me, other = register(server.url), register(server.url)
    auth = (str(me["username"]), PASSWORD)
    assert httpx.get(f"{server.url}/api/users/{other['id']}", auth=auth).status_code == 403
    patch = httpx.patch(
        f"{server.url}/api/users/{other['id']}", json={"first_name": "x"}, auth=auth
    )
    assert patch.status_code == 403
    assert httpx.delete(f"{server.url}/api/users/{other['id']}", auth=auth).status_code == 403
    assert httpx.get(f"{server.url}/api/users/999999", auth=auth).status_code == 404


def test_users_change_their_names_but_not_their_role(server) -> None:
    me = register(server.url)
    auth = (str(me["username"]), PASSWORD)
    response = httpx.patch(
        f"{server.url}/api/users/{me['id']}",
        json={"first_name": "Grace", "groups": ["admin"], "is_superuser": True}, auth=auth,
    )  # fmt: skip
    assert response.status_code == 200
    body = httpx.get(f"{server.url}/api/users/self", auth=auth).json()
    assert body["first_name"] == "Grace"
    assert body["groups"] == ["user"] and body["is_superuser"] is False


def test_admin_sets_roles_through_groups(server) -> None:
    me = register(server.url)
    set_role(server.url, server.admin, int(me["id"]), "worker")
    body = httpx.get(f"{server.url}/api/users/self", auth=(str(me["username"]), PASSWORD)).json()
    assert body["groups"] == ["worker"]
    unknown = httpx.patch(
        f"{server.url}/api/users/{me['id']}", json={"groups": ["god"]}, auth=server.admin
    )
    assert unknown.status_code == 400 and "groups" in unknown.json()


def test_admin_rename_checks_uniqueness(server) -> None:
    me, other = register(server.url), register(server.url)
    clash = httpx.patch(
        f"{server.url}/api/users/{me['id']}", json={"username": other["username"]},
        auth=server.admin,
    )  # fmt: skip
    assert clash.status_code == 400 and "already exists" in clash.json()["username"][0]


def test_the_last_admin_keeps_the_role(server) -> None:
    admin_id = httpx.get(f"{server.url}/api/users/self", auth=server.admin).json()["id"]
    demote = httpx.patch(
        f"{server.url}/api/users/{admin_id}", json={"groups": ["user"]}, auth=server.admin
    )
    assert demote.status_code == 400
    delete = httpx.delete(f"{server.url}/api/users/{admin_id}", auth=server.admin)
    assert delete.status_code == 400
    assert httpx.get(f"{server.url}/api/users/self", auth=server.admin).status_code == 200


def test_users_may_delete_themselves(server) -> None:
    me = register(server.url)
    auth = (str(me["username"]), PASSWORD)
    assert httpx.delete(f"{server.url}/api/users/{me['id']}", auth=auth).status_code == 204
    assert httpx.get(f"{server.url}/api/users/self", auth=auth).status_code == 401
    gone = httpx.get(f"{server.url}/api/users/{me['id']}", auth=server.admin)
    assert gone.status_code == 404


def test_cvat_sdk_lists_and_updates_users(server) -> None:
    from cvat_sdk import make_client

    me = register(server.url)
    with make_client(server.url, credentials=(str(me["username"]), PASSWORD)) as client:
        current = client.users.retrieve_current_user()
        assert current.username == me["username"]
        current.update({"last_name": "Hopper"})
        assert client.users.retrieve(current.id).last_name == "Hopper"
        assert [u.username for u in client.users.list()] == [me["username"]]
