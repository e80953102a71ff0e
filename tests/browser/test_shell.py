"""The UI is served at / and its own routes survive a reload, without shadowing the API."""

import httpx

from tests.conftest import Server


def test_index_and_spa_routes_are_the_page(server: Server) -> None:
    for path in ("/", "/tasks/12", "/jobs/3"):
        r = httpx.get(server.url + path)
        assert r.status_code == 200, path
        assert '<div id="root">' in r.text
        assert r.headers["cache-control"] == "no-cache"


def test_api_paths_stay_json_404(server: Server) -> None:
    for method in ("GET", "POST"):
        r = httpx.request(method, server.url + "/api/no-such-thing")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/json")


def test_assets_are_immutable(server: Server) -> None:
    html = httpx.get(server.url + "/").text
    asset = html.split('src="')[1].split('"')[0]
    r = httpx.get(server.url + asset)
    assert r.status_code == 200
    assert "immutable" in r.headers["cache-control"]


def test_page_renders_in_chromium(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    assert page.title() == "Vellum"
