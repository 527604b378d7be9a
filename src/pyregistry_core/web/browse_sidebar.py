"""The project page's sidebar: what PyPI's shows, from the latest release's core metadata.

Project links (homepage, ``Project-URL``s, download URL), meta (license as its SPDX
expression, requires-python, author, maintainer), classifiers grouped by their first
part, and the release history with dates, pre-release and yanked markers.

Every value comes from an upload or the upstream: all of it passes through
``html.escape``, and only http(s) URLs become links (``rel="nofollow"``, as PyPI).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import getaddresses
from html import escape
from urllib.parse import urlsplit

from packaging.metadata import RawMetadata

from ..records import FileRecord, is_prerelease

__all__ = ["release_anchor", "sidebar"]

_LONG_LICENSE = 120  # a license field holding the whole license text shows its start only


def sidebar(
    metadata: RawMetadata, requires_python: str | None, releases: Sequence[tuple[str, list[FileRecord]]]
) -> str:
    """The ``<aside>`` for a project: links, meta, classifiers, release history (newest first)."""
    parts = ['<aside class="sidebar">', _links(metadata), _meta(metadata, requires_python)]
    parts.append(_classifiers(metadata.get("classifiers") or []))
    parts.append(_history(releases))
    parts.append("</aside>")
    return "".join(parts)


def release_anchor(version: str) -> str:
    """The id of a release's section on the page."""
    return "release-" + "".join(c if c.isalnum() or c in ".-_+" else "_" for c in version)


def _link(url: str, label: str, css: str = "") -> str:
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        scheme = ""
    cls = f' class="{css}"' if css else ""
    if scheme not in ("http", "https"):
        return f"<span{cls}>{escape(label)}: {escape(url)}</span>"
    return f'<a{cls} href="{escape(url.strip())}" rel="nofollow">{escape(label)}</a>'


def _links(metadata: RawMetadata) -> str:
    items = []
    if metadata.get("home_page"):
        items.append(_link(metadata["home_page"], "Homepage", "homepage"))
    for label, url in (metadata.get("project_urls") or {}).items():
        items.append(_link(url, label, "project-url"))
    if metadata.get("download_url"):
        items.append(_link(metadata["download_url"], "Download", "download"))
    if not items:
        return ""
    listed = "".join(f"<li>{item}</li>" for item in items)
    return f'<section class="links"><h2>Project links</h2><ul>{listed}</ul></section>'


def _people(name: str | None, email: str | None) -> str:
    """``Name`` and/or addresses as mailto links (``Author-email`` may hold several)."""
    shown = []
    for display, address in getaddresses([email]) if email else []:
        if "@" in address:
            shown.append(f'<a href="mailto:{escape(address)}">{escape(display or name or address)}</a>')
    if not shown and name:
        shown.append(escape(name))
    return ", ".join(shown)


def _license(metadata: RawMetadata) -> str:
    if metadata.get("license_expression"):  # PEP 639: an SPDX expression
        return f'<code class="spdx">{escape(metadata["license_expression"])}</code>'
    text = (metadata.get("license") or "").strip()
    if text and text != "UNKNOWN":
        first = text.splitlines()[0]
        return escape(first if len(first) <= _LONG_LICENSE else first[:_LONG_LICENSE] + "…")
    licenses = [c.split(" :: ")[-1] for c in metadata.get("classifiers") or [] if c.startswith("License ::")]
    return escape(", ".join(licenses))


def _meta(metadata: RawMetadata, requires_python: str | None) -> str:
    rows = [
        ("license", "License", _license(metadata)),
        ("requires-python", "Requires", f"Python {escape(requires_python)}" if requires_python else ""),
        ("author", "Author", _people(metadata.get("author"), metadata.get("author_email"))),
        ("maintainer", "Maintainer", _people(metadata.get("maintainer"), metadata.get("maintainer_email"))),
    ]
    shown = "".join(f'<dt>{label}</dt><dd class="{css}">{value}</dd>' for css, label, value in rows if value)
    return f'<section class="meta"><h2>Meta</h2><dl>{shown}</dl></section>' if shown else ""


def _classifiers(classifiers: list[str]) -> str:
    if not classifiers:
        return ""
    groups: dict[str, list[str]] = {}
    for classifier in classifiers:
        top, _, rest = classifier.partition(" :: ")
        groups.setdefault(top.strip(), []).append(rest.strip() or top.strip())
    items = "".join(
        f'<li><span class="group">{escape(top)}</span><ul>'
        + "".join(f"<li>{escape(value)}</li>" for value in values)
        + "</ul></li>"
        for top, values in groups.items()
    )
    return f'<section class="classifiers"><h2>Classifiers</h2><ul class="classifiers">{items}</ul></section>'


def _history(releases: Sequence[tuple[str, list[FileRecord]]]) -> str:
    if not releases:
        return ""
    items = []
    for version, records in releases:
        times = sorted(r.upload_time for r in records if r.upload_time)
        date = f' <time datetime="{escape(times[0])}">{escape(times[0][:10])}</time>' if times else ""
        badges = ""
        if is_prerelease(version):
            badges += ' <span class="badge pre-release">pre-release</span>'
        if all(r.yanked for r in records):
            badges += ' <span class="badge yanked">yanked</span>'
        items.append(
            f'<li data-version="{escape(version)}"><a href="#{release_anchor(version)}">'
            f"{escape(version)}</a>{date}{badges}</li>"
        )
    listed = "".join(items)
    return f'<section class="history"><h2>Release history</h2><ol class="history">{listed}</ol></section>'
