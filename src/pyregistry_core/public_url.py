"""``pypi.public_url``: the index's external base URL, as clients reach it.

Pages are cached and shared by every request, so a URL that must be absolute on them
(PEP 740's provenance URL) is built from this setting, never from a request's ``Host``.

Invariants:
1. A parsed value is an https URL, or http on a loopback host (127.0.0.0/8, ::1,
   localhost: the W3C's potentially trustworthy origins), with no credentials, query or
   fragment, and ends with exactly one ``/``.
2. Anything else refuses to start, with one message naming the key.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError

__all__ = ["parse_public_url"]


def parse_public_url(value: object) -> str | None:
    """The normalized ``pypi.public_url`` (None when unset or empty)."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if parts is None or not _acceptable(text, parts.scheme.lower(), parts.hostname, parts.netloc):
        raise ConfigError(
            f"pypi.public_url must be the index's https URL (http only on a loopback host: "
            f"127.0.0.0/8, [::1] or localhost), without credentials, query or fragment, not {text!r}"
        )
    path = parts.path.rstrip("/") + "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def _acceptable(text: str, scheme: str, host: str | None, netloc: str) -> bool:
    if any(c.isspace() or ord(c) < 0x20 or c in "?#\\" for c in text) or "@" in netloc or not host:
        return False
    return scheme == "https" or (scheme == "http" and _loopback(host))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
