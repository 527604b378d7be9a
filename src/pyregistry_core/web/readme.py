"""A project's long description as HTML for the browse page, and where its images may load from.

Invariants:
1. Text becomes HTML only through readme_renderer, whose output nh3 sanitizes; what it
   cannot render shows as plain text.
2. An ``<img>`` stays an image only when its source is an absolute http(s) URL on an
   origin the operator allowed (``pypi.browse_image_origins``, which the page's
   Content-Security-Policy names too). Any other image becomes a link to its source
   (or, inside a link already, its alt text), so a README never shows a broken icon.
"""

from __future__ import annotations

import functools
import logging
from html import escape
from html.parser import HTMLParser
from urllib.parse import urlsplit

from werkzeug.http import parse_options_header

__all__ = ["allow_images", "origin_allowed", "render_description"]

log = logging.getLogger(__name__)

_VOID = frozenset({"br", "hr", "img", "input", "wbr", "col", "area", "source", "track"})


@functools.lru_cache(maxsize=64)
def render_description(text: str, content_type: str | None) -> str:
    """A long description as sanitized HTML, rendered as PyPI does.

    ``text/markdown`` (GFM unless ``variant=CommonMark``), ``text/plain``, and
    reStructuredText for ``text/x-rst`` or no type; what fails to render shows as
    plain text.
    """
    # Imported here: docutils and the markdown renderer cost a quarter second, which
    # neither startup nor the Simple API should pay.
    from readme_renderer import markdown, rst, txt

    kind, params = _parse_content_type(content_type)
    try:
        if kind == "text/markdown":
            variant = "CommonMark" if params.get("variant", "").lower() == "commonmark" else "GFM"
            rendered = markdown.render(text, variant=variant)
        elif kind == "text/plain":
            rendered = txt.render(text)
        else:
            rendered = rst.render(text)
    except Exception:  # a hostile description must never turn the page into a 500
        log.exception("rendering a %s description failed; showing it as plain text", kind)
        rendered = None
    return rendered if rendered is not None else (txt.render(text) or "")


def _parse_content_type(value: str | None) -> tuple[str, dict[str, str]]:
    """The description's type and parameters; no type means reStructuredText (PyPI's default)."""
    if not value:
        return "text/x-rst", {}
    kind, params = parse_options_header(value)
    return kind.lower(), params


@functools.lru_cache(maxsize=64)
def allow_images(html: str, origins: tuple[str, ...]) -> str:
    """``html`` (already sanitized) with every image not from ``origins`` turned into a link."""
    rewriter = _ImageRewriter(origins)
    rewriter.feed(html)
    rewriter.close()
    return "".join(rewriter.out)


def origin_allowed(src: str, origins: tuple[str, ...]) -> bool:
    """Whether an image source is an absolute http(s) URL on one of ``origins`` (``*.`` globs)."""
    try:
        parts = urlsplit(src.strip())
        port = parts.port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower() + (f":{port}" if port is not None else "")
    scheme = parts.scheme.lower()
    for origin in origins:
        allowed_scheme, _, allowed_host = origin.partition("://")
        if allowed_scheme != scheme:
            continue
        if allowed_host == host:
            return True
        if allowed_host.startswith("*.") and host.endswith(allowed_host[1:]):
            return True
    return False


class _ImageRewriter(HTMLParser):
    """Re-serializes sanitized HTML, replacing images the page's CSP would block."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.origins = origins
        self.out: list[str] = []
        self.links_open = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.out.append(self._image(dict(attrs), attrs))
            return
        if tag == "a":
            self.links_open += 1
        self.out.append(_tag(tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "a":  # "<a/>" opens nothing
            self.links_open -= 1
            self.out.append("</a>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if tag == "a" and self.links_open:
            self.links_open -= 1
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data, quote=False))

    def _image(self, found: dict[str, str | None], attrs: list[tuple[str, str | None]]) -> str:
        src = found.get("src") or ""
        if origin_allowed(src, self.origins):
            return _tag("img", attrs)
        label = escape(found.get("alt") or found.get("title") or "image")
        if self.links_open or not _is_http(src):
            return f'<span class="image-link">[{label}]</span>'
        return f'<a class="image-link" href="{escape(src)}" rel="nofollow">[{label}]</a>'


def _is_http(url: str) -> bool:
    try:
        return urlsplit(url.strip()).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _tag(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    rendered = "".join(
        f' {name}="{escape(value)}"' if value is not None else f" {name}" for name, value in attrs
    )
    return f"<{tag}{rendered}>"
