"""The UI is served at / and its own routes survive a reload, without shadowing the API."""

import httpx

from tests.conftest import Server


def test_index_and_spa_routes_are_the_page(server: Server) -> None:
    for path in ("/", "/tasks/12", "/jobs/3"):
        r = httpx.get(server.url + path)
        assert r.status_code == 200, path
        assert '<div id="root">' in r.text
        assert r.headers["cache-control"] == "no-cache"


def test_api_paths_answer_as_without_the_ui(server: Server) -> None:
    for method in ("GET", "POST"):
        r = httpx.request(method, server.url + "/api/no-such-thing")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/json")
    # a known API path with a method it does not take stays a 405 (the page must not match it)
    r = httpx.put(server.url + "/api/server/about", auth=server.admin)
    assert r.status_code == 405
    assert httpx.get(server.url + "/api").status_code == 404


def test_assets_are_immutable(server: Server) -> None:
    html = httpx.get(server.url + "/").text
    asset = html.split('src="')[1].split('"')[0]
    r = httpx.get(server.url + asset)
    assert r.status_code == 200
    assert "immutable" in r.headers["cache-control"]


def test_page_renders_in_chromium(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    assert page.title() == "Vellum"
