"""Browser tests of the web views: Debian's Chromium driven by Playwright, axe-core injected.

The browser (`SAMHANDLING_CHROMIUM`, default /usr/bin/chromium) and axe-core
(`tests/web/node_modules`, from `npm ci` in this folder) are skipped when missing, except
with SAMHANDLING_REQUIRE_BROWSER=1 (set by `.ci/run`), where they fail: CI never skips the
browser silently. Playwright's own browser download is never used.

Each module gets a real server process on the real PostgreSQL, with the personas'
records and organisations and the test's data loaded through the API. Screenshots go to
`test-artefacts/web/` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from fixtures.browser import AXE, Browser
from fixtures.server_process import ServerProcess

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(what: str) -> None:
    if os.environ.get("SAMHANDLING_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{what} is required (SAMHANDLING_REQUIRE_BROWSER=1) but missing")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright; one per module, because Playwright's
    synchronous API keeps an event loop running in this thread while it is open (tests
    after it that call `asyncio.run` would fail)."""
    executable = os.environ.get("SAMHANDLING_CHROMIUM", "/usr/bin/chromium")
    if not shutil.which(executable):
        _missing(f"Chromium ({executable})")
    if not AXE.exists():
        _missing("axe-core (npm ci in tests/web)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web_server(
    emptied_postgres: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server on the real PostgreSQL with the personas' records loaded."""
    server = ServerProcess(emptied_postgres(), tmp_path_factory.mktemp("web") / "data").start()
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
    yield server
    server.stop()


@pytest.fixture
def browser(chromium: Any, web_server: ServerProcess) -> Iterator[Callable[..., Browser]]:
    """Opens browser contexts on the module's server; closes them after the test."""
    opened: list[Browser] = []

    def open_browser(locale: str = "nb-NO") -> Browser:
        opened.append(Browser(chromium, web_server, locale))
        return opened[-1]

    yield open_browser
    for each in opened:
        each.close()
