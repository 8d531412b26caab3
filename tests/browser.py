"""Pytest fixtures for the browser tests: Playwright driving Debian's Chromium.

Playwright's own browser download is not used (`playwright install` needs the
network); it launches the system Chromium (`chromium` on PATH, or
FINOPS_CHROMIUM). Without Chromium or Playwright the browser tests skip with
the reason, unless FINOPS_REQUIRE_BROWSER=1 (set by .ci/run), where a
missing browser fails them: CI must not pass by skipping.

    # conftest.py loads this module as a plugin (pytest_plugins), so the
    # fixtures need no import; one Chromium serves each test module.
    def test_x(open_page):
        page = open_page("file:///.../index.html")
        assert page.locator("h1").inner_text() == "..."
        assert not page.errors
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars"]


def find_chromium() -> str | None:
    explicit = os.environ.get("FINOPS_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str):
    if os.environ.get("FINOPS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (FINOPS_REQUIRE_BROWSER=1: the browser tests must run here)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module; each test gets fresh contexts.
    Not one per session: Playwright's sync API keeps an asyncio loop running
    in the main thread while it lives, so every later test that calls
    asyncio.run() (tests/test_otel_sdks.py) would fail."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    executable = find_chromium()
    if executable is None:
        _unavailable("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser):
    """open_page(url, width=1280, height=900) -> a Playwright Page that keeps, in
    page.errors, every console error and uncaught exception it saw."""
    contexts = []

    def open_(url: str, *, width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("console", lambda msg: msg.type in ("error", "assert") and page.errors.append(
            f"console.{msg.type}: {msg.text} ({msg.location.get('url', '')})"))
        page.on("pageerror", lambda exc: page.errors.append(f"exception: {exc}"))
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()
