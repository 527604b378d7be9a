"""Storage is the database: the ``Storage`` protocol, its local, fsspec and S3 stores,
the catalog of cached views over them, and ``fsck``."""

from __future__ import annotations

from .base import Storage, Token, blob_key, record_key
from .fsspec_store import FsspecStorage
from .local import LocalStorage
from .open import open_storage
from .s3 import S3Storage

__all__ = [
    "FsspecStorage",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "Token",
    "blob_key",
    "open_storage",
    "record_key",
]
