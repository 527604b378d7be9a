"""Content negotiation for the Simple API (PEP 691, with DESIGN.md's decisions).

Rules: no ``Accept`` or only ``*/*`` → ``text/html``; otherwise the highest q wins and a
tie goes to JSON (the most expressive format), then to the versioned HTML type;
``?format=`` overrides ``Accept``; nothing acceptable → ``NotAcceptable`` (406).
"""

from __future__ import annotations

import enum
import functools

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .errors import NotAcceptable

__all__ = ["SimpleFormat", "select_format"]


class SimpleFormat(str, enum.Enum):
    """The three content types a Simple page can be served as."""

    JSON_V1 = "application/vnd.pypi.simple.v1+json"
    HTML_V1 = "application/vnd.pypi.simple.v1+html"
    TEXT_HTML = "text/html"

    @property
    def is_json(self) -> bool:
        """Whether the page body is PEP 691 JSON."""
        return self is SimpleFormat.JSON_V1

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        if self is SimpleFormat.TEXT_HTML:
            return "text/html; charset=utf-8"
        return str(self.value)


# Preference order for ties: JSON first (PEP 691: "most expressive"), HTML alias last.
_OFFERS = (SimpleFormat.JSON_V1, SimpleFormat.HTML_V1, SimpleFormat.TEXT_HTML)
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": SimpleFormat.JSON_V1,
    "application/vnd.pypi.simple.latest+html": SimpleFormat.HTML_V1,
}


def _from_format_param(value: str) -> SimpleFormat:
    # A literal "+" in a query string decodes to a space.
    value = value.strip().replace(" ", "+").lower()
    for offer in _OFFERS:
        if value == offer.value:
            return offer
    if value in _ALIASES:
        return _ALIASES[value]
    raise NotAcceptable(f"Unsupported format {value!r}.")


def select_format(accept: str | None, format_param: str | None = None) -> SimpleFormat:
    """Choose the Simple API format for a request.

    >>> select_format(None).value
    'text/html'
    >>> select_format("application/vnd.pypi.simple.v1+json, text/html;q=0.01").value
    'application/vnd.pypi.simple.v1+json'
    """
    if format_param:
        return _from_format_param(format_param)
    if accept is None or not accept.strip():
        return SimpleFormat.TEXT_HTML
    return _from_accept(accept)


# Clients send a handful of distinct Accept headers, and parsing one is most of the cost
# of a warm page; remembered per header value (bounded: any header may be sent).
@functools.lru_cache(maxsize=256)
def _from_accept(accept: str) -> SimpleFormat:
    # Media-type parameters other than q (e.g. charset) never make an offer unacceptable.
    raw = parse_accept_header(accept, MIMEAccept)
    parsed = MIMEAccept([(value.split(";", 1)[0].strip(), quality) for value, quality in raw])
    if parsed and all(value == "*/*" and quality > 0 for value, quality in parsed):
        return SimpleFormat.TEXT_HTML
    best: SimpleFormat | None = None
    best_quality = 0.0
    for offer in _OFFERS:
        quality = parsed.quality(offer.value)
        for alias, target in _ALIASES.items():
            # An alias counts only when named: a wildcard must not lift a type the
            # header gave a lower q (or q=0) explicitly.
            if target is offer:
                quality = max([quality, *(q for value, q in parsed if value == alias)])
        if quality > best_quality:
            best, best_quality = offer, quality
    if best is None:
        raise NotAcceptable(
            "None of the requested content types is available; this index serves "
            + ", ".join(o.value for o in _OFFERS)
        )
    return best
