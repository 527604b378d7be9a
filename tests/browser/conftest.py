"""Fixtures of the browser suite: a live registry on loopback and Debian's headless Chromium.

The registry runs behind the WSGI adapter in werkzeug's server on a thread (127.0.0.1,
a free port); distributions reach it as twine sends them, over HTTP. Chromium is the
distribution's package (``apt-get install chromium``, done by ``.ci/run``): test tools
cannot download browsers here, so Playwright only drives the installed binary, with a
fresh profile and no background networking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import CHROMIUM, LiveRegistry, Tab, launch, open_tab

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRegistry]:
    """A registry on loopback with local storage, stopped after the module."""
    running = LiveRegistry(tmp_path_factory.mktemp("browse-storage"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browsers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two headless Chromium profiles, fresh each: ``"js"`` runs scripts, ``"nojs"`` does not."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        contexts = {
            "js": launch(playwright, tmp_path_factory.mktemp("profile-js"), javascript=True),
            "nojs": launch(playwright, tmp_path_factory.mktemp("profile-nojs"), javascript=False),
        }
        try:
            for context in contexts.values():
                context.set_default_timeout(TIMEOUT_MS)
            yield contexts
        finally:
            for context in contexts.values():
                context.close()


@pytest.fixture
def tab(browsers: dict[str, Any]) -> Iterator[Tab]:
    """A new tab in the JavaScript-enabled browser, closed after the test."""
    opened = open_tab(browsers["js"])
    try:
        yield opened
    finally:
        opened.page.close()


@pytest.fixture
def nojs_tab(browsers: dict[str, Any]) -> Iterator[Tab]:
    """A new tab in the browser with JavaScript disabled."""
    opened = open_tab(browsers["nojs"])
    try:
        yield opened
    finally:
        opened.page.close()
