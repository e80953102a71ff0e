"""Browser tests: pip playwright driving Debian's chromium (`make chromium` installs it)
against the run's one `vellum serve`, which serves the UI built by `make web`.

`page` is a fresh browser context per test (its own cookies), at the server's address.
`shot(page, name)` keeps a screenshot under docs/screenshots/ when VELLUM_SCREENSHOTS=1
(`make screenshots`), so the README's pictures come from the real UI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DIST = Path(__file__).resolve().parents[2] / "web" / "dist" / "index.html"


@pytest.fixture(scope="session")
def browser(server: Server) -> Iterator[object]:
    # `server` first: its start-up runs asyncio, which refuses to run inside the event loop
    # that sync_playwright keeps in this thread once started.
    from playwright.sync_api import sync_playwright

    if not DIST.is_file():
        pytest.fail("the UI is not built: run `make web` (make test does)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server: Server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def new_page(browser, server: Server) -> Iterator[Callable[[], object]]:  # type: ignore[no-untyped-def]
    """More pages, each in its own context (another user, another browser)."""
    contexts = []

    def make() -> object:
        ctx = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page: object, name: str) -> None:
    if os.environ.get("VELLUM_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))  # type: ignore[attr-defined]
