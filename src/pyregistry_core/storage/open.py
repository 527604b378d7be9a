"""Opening the store a ``storage.url`` names."""

from __future__ import annotations

from typing import Any

from ..config_values import parse_bool
from .base import Storage
from .fsspec_store import FsspecStorage
from .local import LocalStorage
from .s3 import S3Storage
from .schemes import check_fsspec_scheme

__all__ = ["open_storage"]


def open_storage(url: str, options: dict[str, Any] | None = None) -> Storage:
    """Open the store a ``storage.url`` (or a plain directory path) names."""
    if url.startswith("file://"):
        return LocalStorage(url[len("file://") :])
    if "://" not in url:
        return LocalStorage(url)
    if url.startswith(("s3://", "s3a://")):
        return S3Storage(url, options)
    fs_options = dict(options or {})
    check_fsspec_scheme(url, single_writer=parse_bool(fs_options.pop("single_writer", False)))
    return FsspecStorage(url, fs_options)
