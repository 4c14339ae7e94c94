"""The browser tests' fixtures, defined once (tests/conftest.py imports them): one Chromium for the whole session,
one live server per test module, fresh contexts per test. Playwright's sync API allows one instance at a time, so
a module must never start its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .browser_support import CHROMIUM, CHROMIUM_ARGS, REQUIRE_BROWSER, LiveServer, browser_problem, live_server

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # reported by the browser_available fixture
    sync_playwright = expect = None  # type: ignore[assignment]
    Browser = BrowserContext = Page = object  # type: ignore[assignment,misc]

TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser_available() -> None:
    """Skip (or, with REQUIRE_BROWSER=1, fail) before anything is set up when the browser is missing."""
    problem = browser_problem()
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(f"REQUIRE_BROWSER=1 but the browser tests cannot run: {problem}", pytrace=False)
        pytest.skip(problem)


@pytest.fixture(scope="module")
def live(request: pytest.FixtureRequest, browser_available: None, tmp_root: Path) -> Iterator[LiveServer]:
    # Every request comes from 127.0.0.1: without a higher ceiling the sixth response within two minutes would be
    # flagged as a burst and left out of the figures, making the tests depend on their order. The kiosk's idle
    # reset is pushed out of the way; the gap between citizens stays at the testing value (5 s).
    # A database per module: pytest may interleave modules (it groups tests by the session's backend), and two
    # live servers on one database would reset each other's schema.
    name = "live_" + request.module.__name__.rsplit(".", 1)[-1]  # live_test_browser_pakn, …
    with live_server(tmp_root, name, BURST_MAX_PER_IP=1000, KIOSK_IDLE_RESET_SECONDS=600) as server:
        yield server


@pytest.fixture
def no_server_errors(live: LiveServer) -> Iterator[None]:
    """The test fails when the server raised while it ran (browser modules use it for every test)."""
    live.server_errors.clear()
    yield
    assert not live.server_errors, f"the server raised: {live.server_errors!r}"


@pytest.fixture(scope="session")
def browser(browser_available: None) -> Iterator[Browser]:
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser, live: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser contexts (no cookies, no storage) on the live server; uncaught page errors and CSP
    violations fail the test."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: problems.append(f"{page.url}: uncaught {error}"))
        page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text else None)

    def make(**options) -> BrowserContext:
        context = browser.new_context(base_url=live.url, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                      **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)
