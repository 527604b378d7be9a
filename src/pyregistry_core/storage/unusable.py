"""The one-line refusal for a store that cannot be used at start, naming the key to change.

A directory that cannot be created or written, an object store that does not answer,
credentials it refuses: each is a configuration problem the operator fixes in the
config, so it is a ``ConfigError`` (``serve`` exits 2 with its message), never a traceback.
"""

from __future__ import annotations

from typing import Any

from ..config_values import mask_url
from ..errors import ConfigError

__all__ = ["unusable_storage"]

_ENDPOINT_FAILURES = ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionError", "ReadTimeoutError")


def _cause(error: BaseException) -> BaseException:
    """The innermost cause (botocore's error behind s3fs's, the OSError behind ours)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def unusable_storage(url: str, options: dict[str, Any], error: BaseException) -> ConfigError:
    """What is wrong with the store ``url`` names, and which ``storage.*`` key to change."""
    cause = _cause(error)
    if "://" not in url or url.startswith("file://"):
        path = url.removeprefix("file://")
        why = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        return ConfigError(
            f"cannot use {path} for storage: {why}; set storage.dir (or storage.url) to a directory "
            "this user can create and write"
        )
    shown = mask_url(url)
    endpoint = options.get("endpoint_url") or (options.get("client_kwargs") or {}).get("endpoint_url")
    if type(cause).__name__ in _ENDPOINT_FAILURES or isinstance(cause, (ConnectionError, TimeoutError)):
        where = mask_url(str(endpoint)) if endpoint else "the default endpoint"
        key = "storage.endpoint_url" if endpoint else "storage.endpoint_url (or storage.region_name)"
        return ConfigError(f"cannot reach the storage {shown} at {where}: {cause}; check {key}")
    message = getattr(error, "message", None) or str(error)
    return ConfigError(
        f"cannot use the storage {shown}: {message}; check storage.url and the storage.* keys "
        "(bucket, credentials, endpoint)"
    )
