"""The project page of a mirrored project under a release cooldown, in headless Chromium:
it says which upstream versions are held back and why, and which an admin exempted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from browser_support import LiveRegistry, Tab
from upstream_app import UpstreamIndex

from pyregistry_core import Identity
from pyregistry_core.names import NormalizedName

DAY = 86400
ADMIN = Identity(user="admin", operator=True)


def _ago(seconds: float) -> str:
    """A PEP 700 upload-time ``seconds`` ago (the live registry's clock is real)."""
    return datetime.fromtimestamp(time.time() - seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRegistry]:
    """A cache-mode registry with a seven-day cooldown; ufo-core 1.0 is old, 1.1 and 1.2 young,
    and an admin exempted 1.2."""
    with UpstreamIndex() as upstream:
        for version, age in (("1.0", 30 * DAY), ("1.1", 2 * DAY), ("1.2", 3600)):
            upstream.add("ufo-core", version, kinds=("wheel",), upload_time=_ago(age))
        live = LiveRegistry(
            Path(tmp_path_factory.mktemp("policy-storage")),
            **{
                "pypi.fallback": "cache",
                "pypi.fallback_base_url": upstream.url,
                "pypi.cache_update": "everyone",
                "pypi.upstream_min_age": "7d",
            },
        )
        try:
            live.registry.exemptions.grant(ADMIN, NormalizedName("ufo-core"), "1.2", "CVE fix")
            yield live
        finally:
            live.stop()


def test_the_project_page_shows_what_the_cooldown_holds_back_and_what_is_exempt(
    mirrored: LiveRegistry, tab: Tab
) -> None:
    """1.1 is listed as held back with the policy's reason; 1.2 as exempted by the admin, with why."""
    page = tab.page
    response = page.goto(mirrored.url + "/project/ufo-core/")
    assert response is not None
    assert response.status == 200
    section = page.locator("section.policy")
    assert section.locator("h2").inner_text() == "Release cooldown"
    held = section.locator("ul.held-back li")
    assert held.evaluate_all("els => els.map(e => e.dataset.version)") == ["1.1"]
    assert held.locator("code.filename").inner_text() == "ufo_core-1.1-py3-none-any.whl"
    assert (
        held.locator(".reason")
        .inner_text()
        .startswith("release cooldown pypi.upstream_min_age = 7d, available from ")
    )
    exempted = section.locator("ul.exempted li")
    assert exempted.evaluate_all("els => els.map(e => e.dataset.version)") == ["1.2"]
    assert (
        exempted.locator(".reason").inner_text().startswith("exempted from the release cooldown by admin at ")
    )
    assert exempted.locator(".reason").inner_text().endswith(": CVE fix")
    versions = page.locator("section.release").evaluate_all("els => els.map(e => e.dataset.version)")
    assert versions == ["1.2", "1.0"]
    assert tab.console_errors == []
