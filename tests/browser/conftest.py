"""Browser tests: pip playwright driving Debian's chromium (`make chromium` installs it)
against the run's one `vellum serve`, which serves the UI built by `make web`.

`page` is a fresh browser context per test (its own cookies), at the server's address;
`page_for(other)` makes one for a server a module started itself.
`shot(page, name)` keeps a screenshot under docs/screenshots/ when VELLUM_SCREENSHOTS=1
(`make screenshots`), so the README's pictures come from the real UI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DIST = Path(__file__).resolve().parents[2] / "web" / "dist" / "index.html"


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[object]:
    # sync_playwright runs an event loop in this thread while it is open, and asyncio refuses
    # to start another inside it: so the browser lives for one module only (the async tests
    # of later modules need the thread's loop free), and the server starts first.
    from playwright.sync_api import sync_playwright

    if not DIST.is_file():
        pytest.fail("the UI is not built: run `make web` (make test does)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def _context(browser, url: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def page(browser, server: Server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = _context(browser, server.url)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_for(browser) -> Iterator[Callable[[Server], object]]:  # type: ignore[no-untyped-def]
    """Pages of another server (one a module starts with `api_server`), each in its own
    context, closed after the test."""
    contexts = []

    def make(other: Server) -> object:
        contexts.append(_context(browser, other.url))
        return contexts[-1].new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def new_page(page_for, server: Server) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    """More pages of the run's server, each in its own context (another user, another browser)."""
    return lambda: page_for(server)


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    """The admin's REST client of the run's server, to check what the UI did."""
    with httpx.Client(base_url=server.url, auth=server.admin, timeout=60) as client:
        yield client


def shot(page: object, name: str) -> None:
    if os.environ.get("VELLUM_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))  # type: ignore[attr-defined]
