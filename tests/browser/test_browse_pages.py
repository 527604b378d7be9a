"""The browse pages in a real headless Chromium against a live registry on loopback.

What a person sees: the project list and its search (which needs no JavaScript), a
project page with releases, files and the rendered README, and hostile metadata that
stays text: no dialog opens, no injected element exists, no script runs.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_support import OPERATOR, LiveRegistry, Published, Tab
from screenshots import decode_png

from pyregistry_core.web.browse import human_size

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"
HEADER_RGB = (0x24, 0x29, 0x2F)  # the page header's background in browse.py's stylesheet
SETTLE_MS = 300  # time given to any handler that would fire after load
PEP700_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"

README = """\
# Acme Utils

Utilities for **acme** projects.

- fast
- small

```python
print("hello")
```

| option | default |
|--------|---------|
| speed  | 11      |

[Documentation](https://docs.acme.test/)
"""

HOSTILE_SUMMARY = '<script>alert("summary")</script><img src=x onerror=alert("summary-img")>'
HOSTILE_REASON = "<img src=x onerror=\"window.__pwned='yank';alert('yank')\">"
HOSTILE_MARKDOWN = """\
# Evil

<script>window.__pwned = "script"; alert("script")</script>

<img src="x" onerror="window.__pwned = 'img'; alert('img')">

[click me](javascript:window.__pwned='link';alert('link'))

<a href="javascript:window.__pwned='raw-link';alert('raw-link')">raw link</a>

<div onmouseover="window.__pwned='hover';alert('hover')">hover me</div>

<iframe src="javascript:alert('iframe')"></iframe>

<svg><script>alert('svg')</script></svg>

<form action="javascript:alert('form')"><button>go</button></form>

<style>body { background: rgb(255, 0, 0) }</style>

<object data="javascript:alert('object')"></object>
"""
HOSTILE_RST = """\
Evil RST
========

.. raw:: html

   <script>window.__pwned = "rst"; alert("rst")</script>

`click rst <javascript:alert('rst-link')>`_
"""
INJECTED = (
    "script, iframe, svg, object, embed, form:not(.search), "
    "[onerror], [onload], [onclick], [onmouseover], a[href^='javascript:' i]"
)


@pytest.fixture(scope="module")
def catalog(live: LiveRegistry) -> dict[str, list[Published]]:
    """Acme_Utils in three releases (1.1 yanked), two hostile projects and a bystander."""
    acme = [
        live.publish("Acme_Utils", "1.0", summary="Old summary", description="Old readme."),
        live.publish("Acme_Utils", "1.0", sdist=True, summary="Old summary", description="Old readme."),
        live.publish("Acme_Utils", "1.1", summary="Broken", description="Broken."),
        live.publish(
            "Acme_Utils",
            "2.0",
            summary="Utilities for acme",
            description=README,
            content_type="text/markdown; charset=UTF-8; variant=GFM",
        ),
        live.publish(
            "Acme_Utils",
            "2.0",
            sdist=True,
            summary="Utilities for acme",
            description=README,
            content_type="text/markdown; charset=UTF-8; variant=GFM",
        ),
    ]
    operator = live.registry
    operator.set_yanked(OPERATOR, "acme-utils", "1.1", yanked=True, reason="Broken wheel metadata")  # type: ignore[arg-type]
    evil = [
        live.publish(
            "evil-pkg",
            "1.0",
            summary=HOSTILE_SUMMARY,
            description=HOSTILE_MARKDOWN,
            content_type="text/markdown",
        )
    ]
    evil.append(live.publish("evil-pkg", "0.9", summary="older"))
    operator.set_yanked(OPERATOR, "evil-pkg", "0.9", yanked=True, reason=HOSTILE_REASON)  # type: ignore[arg-type]
    rst = [live.publish("evil-rst", "1.0", summary="rst", description=HOSTILE_RST, content_type="text/x-rst")]
    other = [live.publish("other-thing", "0.1", summary="Something else")]
    return {"acme-utils": acme, "evil-pkg": evil, "evil-rst": rst, "other-thing": other}


def listed(tab: Tab) -> list[str]:
    """The project names the list page shows, in order."""
    return [text.strip() for text in tab.page.locator("ul.projects li a").all_inner_texts()]


def assert_nothing_ran(tab: Tab) -> None:
    """No dialog, no script-set marker, no uncaught page error."""
    tab.page.wait_for_timeout(SETTLE_MS)
    assert tab.dialogs == []
    assert tab.page.evaluate("typeof window.__pwned") == "undefined"
    assert tab.page_errors == []


def test_project_list_and_search_work_without_javascript(
    live: LiveRegistry, catalog: dict[str, list[Published]], nojs_tab: Tab
) -> None:
    """The list shows every project; typing in the search box and pressing Enter filters it."""
    page = nojs_tab.page
    response = page.goto(live.url + "/")
    assert response is not None
    assert response.status == 200
    assert listed(nojs_tab) == ["acme-utils", "evil-pkg", "evil-rst", "other-thing"]
    assert "4 projects" in page.locator("p.count").inner_text()
    page.fill("input[name=q]", "EVIL")
    with page.expect_navigation():
        page.press("input[name=q]", "Enter")
    assert page.url == live.url + "/?q=EVIL"
    assert listed(nojs_tab) == ["evil-pkg", "evil-rst"]
    assert page.input_value("input[name=q]") == "EVIL"
    page.fill("input[name=q]", "Acme_U")
    with page.expect_navigation():
        page.click("form.search button")
    assert listed(nojs_tab) == ["acme-utils"]
    with page.expect_navigation():
        page.click("text=acme-utils")
    assert page.url == live.url + "/project/acme-utils/"
    assert page.locator("main > h1").inner_text() == "acme-utils"


def test_project_page_shows_releases_files_and_install_commands(
    live: LiveRegistry, catalog: dict[str, list[Published]], tab: Tab
) -> None:
    """Releases newest first; each file's link, size, SHA-256 and upload time; pip and uv lines."""
    page = tab.page
    response = page.goto(live.url + "/project/acme-utils/")
    assert response is not None
    assert response.status == 200
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    versions = page.locator("section.release").evaluate_all("els => els.map(e => e.dataset.version)")
    assert versions == ["2.0", "1.1", "1.0"]
    assert page.locator("p.summary").inner_text() == "Utilities for acme"
    rows = page.locator("tr.file")
    assert rows.count() == len(catalog["acme-utils"])
    for published in catalog["acme-utils"]:
        row = page.locator("tr.file", has=page.locator(f"a:text-is('{published.filename}')"))
        assert row.count() == 1
        href = row.locator("td.filename a").get_attribute("href")
        assert href == f"/files/acme-utils/{published.sha256}/{quote(published.filename)}"
        assert row.locator("td.sha256").inner_text() == published.sha256
        size = row.locator("td.size span")
        assert size.inner_text() == human_size(len(published.data))
        assert size.get_attribute("title") == f"{len(published.data)} bytes"
        uploaded = row.locator("td.uploaded time")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", uploaded.inner_text())
        assert re.fullmatch(PEP700_TIME, str(uploaded.get_attribute("datetime")))
        download = page.request.get(live.url + str(href))
        assert download.status == 200
        assert hashlib.sha256(download.body()).hexdigest() == published.sha256
    pip = page.locator("pre.install.pip").inner_text()
    uv = page.locator("pre.install.uv").inner_text()
    assert pip == f"pip install --index-url {live.url}/simple/ acme-utils"
    assert uv == f"uv pip install --default-index {live.url}/simple/ acme-utils"
    assert tab.console_errors == []  # the page's own style and icon pass its CSP


def test_yanked_release_is_marked_with_its_reason(
    live: LiveRegistry, catalog: dict[str, list[Published]], tab: Tab
) -> None:
    """Only the yanked release carries yank badges, and its file shows the reason."""
    page = tab.page
    page.goto(live.url + "/project/acme-utils/")
    yanked = page.locator("section.release[data-version='1.1']")
    assert yanked.locator("h3 .badge.yanked").inner_text() == "yanked"
    assert yanked.locator("td.filename .badge.yanked").count() == 1
    assert yanked.locator(".yank-reason").inner_text() == "Broken wheel metadata"
    assert page.locator("section.release[data-version='2.0'] .badge").count() == 0
    assert page.locator("section.release[data-version='1.0'] .badge").count() == 0
    badge = yanked.locator("h3 .badge.yanked").evaluate("e => getComputedStyle(e).color")
    assert badge == "rgb(164, 14, 38)"  # styled by the inline stylesheet


def test_markdown_description_of_the_latest_release_is_rendered(
    live: LiveRegistry, catalog: dict[str, list[Published]], tab: Tab
) -> None:
    """The 2.0 README renders as HTML: heading, emphasis, list, code block, table, safe link."""
    page = tab.page
    page.goto(live.url + "/project/acme-utils/")
    description = page.locator("div.description")
    assert description.locator("h1").inner_text() == "Acme Utils"
    assert description.locator("strong").inner_text() == "acme"
    assert description.locator("li").all_inner_texts() == ["fast", "small"]
    assert 'print("hello")' in description.locator("pre").inner_text()
    assert description.locator("table td").all_inner_texts() == ["speed", "11"]
    link = description.locator("a", has_text="Documentation")
    assert link.get_attribute("href") == "https://docs.acme.test/"
    assert link.get_attribute("rel") == "nofollow"
    assert "Old readme." not in page.locator("main").inner_text()


def test_screenshot_shows_a_rendered_page(
    live: LiveRegistry, catalog: dict[str, list[Published]], tab: Tab, tmp_path: Path
) -> None:
    """A screenshot of a project page has the styled header, text in many shades, no flat fill."""
    page = tab.page
    page.goto(live.url + "/project/acme-utils/")
    data = page.screenshot()
    (tmp_path / "acme-utils.png").write_bytes(data)
    assert len(data) > 20_000
    image = decode_png(data)
    assert (image.width, image.height) == (1000, 800)
    colours = image.colours()
    pixels = image.width * image.height
    background, count = colours.most_common(1)[0]
    assert background == (255, 255, 255)
    assert count < 0.97 * pixels  # not one flat colour: text, tables, the header
    assert colours[HEADER_RGB] > 1000 * 20  # the header bar: page-wide, about 2.5em tall
    assert len(colours) > 50  # anti-aliased text in several colours


def test_hostile_markdown_and_summary_stay_inert(
    live: LiveRegistry, catalog: dict[str, list[Published]], tab: Tab
) -> None:
    """Scripts, handlers, javascript: links, iframes, forms and styles from metadata do nothing."""
    page = tab.page
    response = page.goto(live.url + "/project/evil-pkg/")
    assert response is not None
    assert response.status == 200
    assert page.locator(INJECTED).count() == 0
    assert page.locator("p.summary").inner_text() == HOSTILE_SUMMARY
    assert page.locator("section.release[data-version='0.9'] .yank-reason").inner_text() == HOSTILE_REASON
    description = page.locator("div.description")
    assert description.locator("h1").inner_text() == "Evil"
    page.hover("text=hover me")
    for text in ("click me", "raw link"):
        page.click(f"div.description >> text={text}")
    assert page.url == live.url + "/project/evil-pkg/"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.locator("style").count() == 1  # only the page's own
    assert_nothing_ran(tab)


def test_hostile_rst_shows_as_text(live: LiveRegistry, catalog: dict[str, list[Published]], tab: Tab) -> None:
    """reStructuredText with raw HTML falls back to plain text: the script is visible, not run."""
    page = tab.page
    page.goto(live.url + "/project/evil-rst/")
    assert page.locator(INJECTED).count() == 0
    assert 'window.__pwned = "rst"' in page.locator("div.description").inner_text()
    assert_nothing_ran(tab)


def test_hostile_search_query_stays_text(
    live: LiveRegistry, catalog: dict[str, list[Published]], tab: Tab
) -> None:
    """A crafted ``?q=`` link shows the query as text in the box and the count line."""
    hostile = '"><script>alert("q")</script><img src=x onerror=alert("q-img")>'
    page = tab.page
    page.goto(f"{live.url}/?q={quote(hostile)}")
    assert page.locator(INJECTED).count() == 0
    assert page.input_value("input[name=q]") == hostile
    assert hostile in page.locator("p.count").inner_text()
    assert listed(tab) == []
    assert_nothing_ran(tab)


def test_non_normalized_project_url_lands_on_the_normalized_page(
    live: LiveRegistry, catalog: dict[str, list[Published]], tab: Tab
) -> None:
    """Following /project/Acme.Utils ends on /project/acme-utils/ after a permanent redirect."""
    page = tab.page
    response = page.goto(live.url + "/project/Acme.Utils")
    assert response is not None
    assert response.status == 200
    assert page.url == live.url + "/project/acme-utils/"
    first = response.request.redirected_from
    assert first is not None
    assert first.url == live.url + "/project/Acme.Utils"
    redirect = first.response()
    assert redirect is not None
    assert redirect.status == 301
