"""The project page as PyPI users expect it, in headless Chromium: sidebar, 404, phone width, images.

A registry of its own here, configured with ``pypi.browse_image_origins`` naming a second
loopback server that serves images; ``localhost`` on that port is another origin the
registry does not allow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import OPERATOR, ImageServer, LiveRegistry, Tab

PHONE = {"width": 390, "height": 844}
DATE = r"\d{4}-\d{2}-\d{2}"
RICH_FIELDS = (
    ("Home-page", "https://acme.test/home"),
    ("Project-URL", "Documentation, https://docs.acme.test/"),
    ("Project-URL", "Issues, https://git.acme.test/acme/issues"),
    ("License-Expression", "MIT OR Apache-2.0"),
    ("Requires-Python", ">=3.10"),
    ("Author", "Ada Lovelace"),
    ("Author-email", "Ada Lovelace <ada@acme.test>"),
    ("Maintainer", "Grace Hopper"),
    ("Classifier", "Programming Language :: Python :: 3"),
    ("Classifier", "Programming Language :: Python :: 3.12"),
    ("Classifier", "License :: OSI Approved :: MIT License"),
)
WIDE_README = """\
# A README that is wider than a phone

averyveryveryverylongwordwithoutanyspacesthatwouldpushthepagesidewaysifnothingwrappedit

| column one | column two | column three | column four | column five | column six |
|------------|------------|--------------|-------------|-------------|------------|
| aaaaaaaaaa | bbbbbbbbbb | cccccccccccc | ddddddddddd | eeeeeeeeeee | ffffffffff |

```
a code line that is much longer than three hundred and ninety pixels of a phone screen, surely
```
"""


@pytest.fixture(scope="module")
def images() -> Iterator[ImageServer]:
    """A second origin on loopback serving PNGs."""
    server = ImageServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory, images: ImageServer) -> Iterator[LiveRegistry]:
    """A registry allowing images from ``images``, holding ``acme`` in three releases and ``pics``."""
    live = LiveRegistry(
        tmp_path_factory.mktemp("rich-storage"), **{"pypi.browse_image_origins": images.origin}
    )
    try:
        live.publish("acme", "1.0", summary="Old")
        live.publish("acme", "2.0b1", summary="Next")
        readme = WIDE_README + (
            f"\n![allowed badge]({images.origin}/badge.png)\n\n"
            f"![other origin](http://localhost:{images.port}/other.png)\n\n"
            "![relative logo](docs/logo.png)\n"
        )
        live.publish(
            "acme",
            "1.5",
            summary="Acme things",
            description=readme,
            content_type="text/markdown",
            fields=RICH_FIELDS,
        )
        live.registry.set_yanked(OPERATOR, "acme", "1.0", yanked=True, reason="broken")  # type: ignore[arg-type]
        yield live
    finally:
        live.stop()


def test_sidebar_shows_what_pypi_shows(rich: LiveRegistry, tab: Tab) -> None:
    """Project links, SPDX license, requires-python, people, grouped classifiers, dated release history."""
    page = tab.page
    response = page.goto(rich.url + "/project/acme/")
    assert response is not None
    assert response.status == 200
    sidebar = page.locator("aside.sidebar")
    links = sidebar.locator("section.links a")
    assert links.all_inner_texts() == ["Homepage", "Documentation", "Issues"]
    assert links.evaluate_all("els => els.map(e => e.href)") == [
        "https://acme.test/home",
        "https://docs.acme.test/",
        "https://git.acme.test/acme/issues",
    ]
    assert sidebar.locator("dd.license code.spdx").inner_text() == "MIT OR Apache-2.0"
    assert sidebar.locator("dd.requires-python").inner_text() == "Python >=3.10"
    assert sidebar.locator("dd.author a").get_attribute("href") == "mailto:ada@acme.test"
    assert sidebar.locator("dd.maintainer").inner_text() == "Grace Hopper"
    groups = sidebar.locator("ul.classifiers > li > span.group").all_inner_texts()
    assert groups == ["Programming Language", "License"]
    assert sidebar.locator("ul.classifiers > li").first.locator("li").all_inner_texts() == [
        "Python :: 3",
        "Python :: 3.12",
    ]
    history = sidebar.locator("ol.history li")
    assert history.evaluate_all("els => els.map(e => e.dataset.version)") == ["2.0b1", "1.5", "1.0"]
    assert [re.sub(DATE, "DATE", t) for t in history.all_inner_texts()] == [
        "2.0b1 DATE pre-release",
        "1.5 DATE",
        "1.0 DATE yanked",
    ]
    with page.expect_navigation():
        history.locator("a", has_text="1.0").click()
    assert page.url == rich.url + "/project/acme/#release-1.0"
    assert page.evaluate("document.querySelector(':target').dataset.version") == "1.0"
    assert page.locator("section.release[id='release-1.0'] h3").inner_text() == "1.0 yanked"
    assert page.locator("p.summary").inner_text() == "Acme things"  # the latest final release's
    assert tab.console_errors == []


def test_missing_project_is_a_styled_404_with_a_way_back(rich: LiveRegistry, tab: Tab) -> None:
    """A mistyped project URL shows a styled page naming the project, whose link returns to the list."""
    page = tab.page
    response = page.goto(rich.url + "/project/acmee/")
    assert response is not None
    assert response.status == 404
    assert page.locator("main h1").inner_text() == "Not found"
    assert page.locator("p.message").inner_text() == "Project 'acmee' not found."
    header = page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
    assert header == "rgb(36, 41, 47)"  # the site's stylesheet applies
    with page.expect_navigation():
        page.click("a.back")
    assert page.url == rich.url + "/"
    assert page.locator("ul.projects li a").all_inner_texts() == ["acme"]
    # Chromium reports the 404 document itself; nothing else (no CSP violation) may fail.
    assert tab.console_errors == [
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]


@pytest.mark.parametrize("path", ["/", "/?q=acme", "/project/acme/", "/project/nothing/"])
def test_pages_fit_a_phone_without_sideways_scrolling(rich: LiveRegistry, tab: Tab, path: str) -> None:
    """At 390 px wide nothing scrolls sideways; on a project page the sidebar moves below the content."""
    page = tab.page
    page.set_viewport_size(PHONE)
    page.goto(rich.url + path)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    if path == "/project/acme/":
        content = page.locator("div.content").bounding_box()
        sidebar = page.locator("aside.sidebar").bounding_box()
        assert content is not None
        assert sidebar is not None
        assert sidebar["y"] >= content["y"] + content["height"]
        assert content["width"] <= PHONE["width"]
        first_file = page.locator("tr.file").first.bounding_box()
        assert first_file is not None
        assert first_file["width"] <= PHONE["width"]


def test_desktop_puts_the_sidebar_beside_the_content(rich: LiveRegistry, tab: Tab) -> None:
    """At 1000 px the sidebar sits to the right of the content, both starting near the top."""
    page = tab.page
    page.goto(rich.url + "/project/acme/")
    content = page.locator("div.content").bounding_box()
    sidebar = page.locator("aside.sidebar").bounding_box()
    assert content is not None
    assert sidebar is not None
    assert sidebar["x"] >= content["x"] + content["width"]
    assert sidebar["y"] == content["y"]


def test_readme_images_load_from_allowed_origins_and_others_are_links(
    rich: LiveRegistry, images: ImageServer, tab: Tab, tmp_path: Path
) -> None:
    """The allowed origin's image renders; another origin's and a relative one are links or text."""
    page = tab.page
    response = page.goto(rich.url + "/project/acme/")
    assert response is not None
    assert response.headers["content-security-policy"].endswith(f"img-src 'self' data: {images.origin}")
    description = page.locator("div.description")
    shown = description.locator("img")
    assert shown.evaluate_all("els => els.map(e => [e.alt, e.complete, e.naturalWidth])") == [
        ["allowed badge", True, 40]
    ]
    assert "/badge.png" in images.requests
    other = description.locator("a.image-link")
    assert other.inner_text() == "[other origin]"
    assert other.get_attribute("href") == f"http://localhost:{images.port}/other.png"
    assert description.locator("span.image-link").inner_text() == "[relative logo]"
    assert "/other.png" not in images.requests
    assert tab.console_errors == []  # no CSP violation, no failed image load
    page.screenshot(path=str(tmp_path / "acme.png"))
