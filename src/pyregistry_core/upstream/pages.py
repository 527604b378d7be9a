"""Upstream project pages: the PEP 503 HTML and PEP 691 JSON parsers (values in ``project``).

Invariant: a parser returns only files that ``fields.vet_files`` let through, so every
``UpstreamProject`` built from the network holds checked values (see ``fields``).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from ..errors import UpstreamError
from ..names import NormalizedName
from .fields import HASH_NAMES, FileOrigins, vet_files
from .project import UpstreamFile, UpstreamProject

__all__ = ["UpstreamFile", "UpstreamProject", "parse_html_page", "parse_json_page"]


class _LinkParser(HTMLParser):
    """Collects anchors (with attributes) and a ``<base href>`` from a PEP 503 page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs_).get("href")
        elif tag == "a":
            self._current = dict(attrs_)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self._current["#text"] = "".join(self._text).strip()
            self.anchors.append(self._current)
            self._current = None


def _metadata_attr(value: Any) -> tuple[bool, str | None]:
    """Read PEP 658/714 ``core-metadata`` (``true`` / ``{"sha256": …}`` / ``"sha256=…"``)."""
    if isinstance(value, dict):
        digest = value.get("sha256")
        return True, digest.lower() if isinstance(digest, str) else None
    if isinstance(value, str):
        name, sep, digest = value.partition("=")
        if sep and name == "sha256":
            return True, digest.lower()
        return value.lower() == "true", None
    return bool(value), None


def parse_html_page(
    name: str, page_url: str, body: bytes, origins: FileOrigins | None = None
) -> UpstreamProject:
    """Parse a PEP 503 project page, keeping only the files ``fields`` accepts
    (``origins`` None: files may come from any http(s) host)."""
    parser = _LinkParser()
    parser.feed(body.decode("utf-8", "replace"))
    base = (_resolved(page_url, parser.base) if parser.base else None) or page_url
    files = []
    for anchor in parser.anchors:
        href = anchor.get("href")
        resolved = _resolved(base, href) if href else None
        if resolved is None:
            continue
        url, fragment = urldefrag(resolved)
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])  # "%2B" is a "+"
        hashes = {}
        algo, sep, digest = fragment.partition("=")
        if sep and algo in HASH_NAMES:
            hashes[algo] = digest.lower()
        # PEP 592: the attribute's presence means yanked, with or without a reason.
        yanked = anchor.get("data-yanked") or "" if "data-yanked" in anchor else None
        has_metadata, metadata_sha256 = _metadata_attr(
            anchor.get("data-core-metadata") or anchor.get("data-dist-info-metadata") or ""
        )
        files.append(
            UpstreamFile(
                filename=filename,
                url=url,
                hashes=hashes,
                requires_python=anchor.get("data-requires-python") or None,
                yanked=yanked is not None,
                yanked_reason=yanked or "",
                has_metadata=has_metadata,
                metadata_sha256=metadata_sha256,
                provenance=_provenance(anchor.get("data-provenance")),
            )
        )
    return _vetted(name, page_url, files, origins)


def _resolved(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``; None when it does not parse as a URL (``http://[::1``)."""
    try:
        url = urljoin(base, href)
        urlsplit(url)
    except ValueError:
        return None
    return url


def _provenance(value: object) -> str | None:
    """PEP 740's ``data-provenance`` / ``provenance`` as given: it MUST be fully qualified,
    so it is never resolved against the page (``fields`` checks its origin)."""
    return value if isinstance(value, str) and value else None


def _vetted(
    name: str, page_url: str, files: list[UpstreamFile], origins: FileOrigins | None
) -> UpstreamProject:
    checked_origins = origins if origins is not None else FileOrigins.of(page_url)
    return UpstreamProject(name, vet_files(NormalizedName(name), files, checked_origins, page_url))


def parse_json_page(
    name: str, page_url: str, body: bytes, origins: FileOrigins | None = None
) -> UpstreamProject:
    """Parse a PEP 691 project page, keeping only the files ``fields`` accepts."""
    try:
        document = json.loads(body)
        entries = document["files"]
    except (ValueError, RecursionError, KeyError, TypeError) as exc:  # RecursionError: deep nesting
        raise UpstreamError(f"upstream sent an invalid PEP 691 page for {name!r}") from exc
    if not isinstance(entries, list):
        raise UpstreamError(f"upstream sent an invalid PEP 691 page for {name!r}")
    try:
        files = [_json_file(page_url, e) for e in entries if _is_file_entry(e)]
    except (TypeError, AttributeError, ValueError) as exc:
        raise UpstreamError(f"upstream sent an invalid PEP 691 page for {name!r}") from exc
    return _vetted(name, page_url, files, origins)


def _is_file_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("url"), str)
        and isinstance(entry.get("filename"), str)
    )


def _json_file(page_url: str, entry: dict[str, Any]) -> UpstreamFile:
    yanked = entry.get("yanked", False)
    has_metadata, metadata_sha256 = _metadata_attr(
        entry.get("core-metadata", entry.get("dist-info-metadata", False))
    )
    hashes = {str(k): str(v).lower() for k, v in (entry.get("hashes") or {}).items() if k in HASH_NAMES}
    size = entry.get("size")
    upload_time = entry.get("upload-time")
    return UpstreamFile(
        filename=entry["filename"],
        url=urldefrag(urljoin(page_url, entry["url"]))[0],
        hashes=hashes,
        requires_python=entry.get("requires-python") or None,
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) else "",
        size=size if isinstance(size, int) else None,
        upload_time=upload_time if isinstance(upload_time, str) else None,
        has_metadata=has_metadata,
        metadata_sha256=metadata_sha256,
        provenance=_provenance(entry.get("provenance")),
    )
