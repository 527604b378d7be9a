"""Parsing configuration values: sizes, booleans, word lists, origins, and secrets kept secret."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from .errors import ConfigError

__all__ = ["Secret", "conceal", "mask_url", "origin", "parse_bool", "parse_size", "reveal_secrets", "words"]

_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]i?B|B)?\s*\Z", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def mask_url(url: str) -> str:
    """The URL with any credentials masked: the password, or a username given alone (a token).

    >>> mask_url("https://user:secret@index.example/simple/")
    'https://user:***@index.example/simple/'
    >>> mask_url("https://ghp_token@index.example:8443/simple/")
    'https://***@index.example:8443/simple/'
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # unreadable ("http://[::1"): mask the userinfo of its authority as text
        return _UNREADABLE_USERINFO.sub(lambda m: f"//{_masked(m.group(1))}@", url, count=1)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{_masked(userinfo)}@{hostport}"))


_UNREADABLE_USERINFO = re.compile(r"//([^/?#]*)@")


def _masked(userinfo: str) -> str:
    user, has_password, _ = userinfo.partition(":")
    return f"{user}:***" if has_password else "***"


def parse_size(value: str | int) -> int:
    """Parse ``104857600``, ``100MiB`` or ``100MB`` into bytes.

    >>> parse_size("100MiB"), parse_size("1kb"), parse_size(7)
    (104857600, 1000, 7)
    """
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if match is None:
        raise ConfigError(f"{value!r} is not a size (examples: 104857600, 100MiB, 100MB)")
    return int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]


def parse_bool(value: str | bool) -> bool:
    """Parse an INI boolean the way pypicloud's ``asbool`` does, but strictly."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in ("true", "yes", "on", "1", "t", "y"):
        return True
    if text in ("false", "no", "off", "0", "f", "n", ""):
        return False
    raise ConfigError(f"{value!r} is not a boolean")


def words(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A list setting: words separated by spaces or commas."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return tuple(value.replace(",", " ").split())


@attrs.frozen(repr=False)
class Secret:
    """A string whose repr and str never show it."""

    value: str

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


# storage.* options (and s3fs's names for them) whose values are credentials.
_SECRET_OPTION = re.compile(r"secret|token|password|passwd|credential", re.IGNORECASE)


def conceal(options: Mapping[str, Any]) -> dict[str, Any]:
    """Wrap every credential among ``options`` (nested ones too) in ``Secret``."""
    concealed: dict[str, Any] = dict(options)
    for key, value in options.items():
        if isinstance(value, Mapping):
            concealed[key] = conceal(value)
        elif isinstance(value, str) and _SECRET_OPTION.search(key):
            concealed[key] = Secret(value)
    return concealed


def reveal_secrets(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with every ``Secret`` unwrapped, for the library that needs the values."""
    revealed: dict[str, Any] = dict(options)
    for key, value in options.items():
        if isinstance(value, Mapping):
            revealed[key] = reveal_secrets(value)
        elif isinstance(value, Secret):
            revealed[key] = value.value
    return revealed


_ORIGIN = re.compile(r"(https?)://((?:\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?)/?")


def origin(value: str) -> str:
    """``https://host[:port]`` (``*.`` allowed before the host) for a CSP source list."""
    match = _ORIGIN.fullmatch(value.lower())
    if match is None:
        raise ConfigError(
            f"pypi.browse_image_origins: {value!r} is not an origin (examples: https://img.example.com, "
            "https://*.example.com)"
        )
    return f"{match.group(1)}://{match.group(2)}"
