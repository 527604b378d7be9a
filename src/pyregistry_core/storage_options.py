"""Typed ``storage.*`` options: an INI file gives strings, fsspec and s3fs want bools and
numbers (``storage.use_listings_cache = false`` must not arrive as the truthy ``"false"``).

The table names the options of s3fs and of fsspec's own filesystems that take a bool or a
number; their values are converted (typed values from a mapping pass through), and a
value that is neither is a ``ConfigError`` naming the key. Other options pass unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .config_values import parse_bool
from .errors import ConfigError

__all__ = ["OPTION_TYPES", "typed_storage_options"]


def _number(convert: Callable[[str], Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        return value if isinstance(value, (int, float)) else convert(str(value).strip())

    return parse


OPTION_TYPES: Mapping[str, Callable[[Any], Any]] = {
    # pyregistry's own
    "single_writer": parse_bool,
    # fsspec, every filesystem
    "use_listings_cache": parse_bool,
    "skip_instance_cache": parse_bool,
    "listings_expiry_time": _number(float),
    "max_paths": _number(int),
    "auto_mkdir": parse_bool,
    # s3fs
    "anon": parse_bool,
    "use_ssl": parse_bool,
    "requester_pays": parse_bool,
    "version_aware": parse_bool,
    "cache_regions": parse_bool,
    "default_fill_cache": parse_bool,
    "fixed_upload_size": parse_bool,
    "default_block_size": _number(int),
    "max_concurrency": _number(int),
}


def typed_storage_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with each value of a known bool or number option converted."""
    typed = dict(options)
    for key, convert in OPTION_TYPES.items():
        if key not in typed:
            continue
        try:
            typed[key] = convert(typed[key])
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"storage.{key} = {typed[key]}: {exc}") from exc
    return typed
