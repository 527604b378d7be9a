"""Where packages live: the storage keys (pypicloud's ``pypi.storage``/``storage.*``, or a
``storage.url``) turned into a URL and the store's options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .config_keys import KeyKind, classify
from .errors import ConfigError
from .storage_options import typed_storage_options

__all__ = ["s3_options", "storage_from_keys", "store_takes_options"]


def store_takes_options(values: Mapping[str, Any]) -> bool:
    """Whether other ``storage.*`` keys are options of the store (S3, an fsspec URL)."""
    url = str(values.get("storage.url") or "")
    if url:
        return "://" in url and not url.startswith("file://")
    return str(values.get("pypi.storage", "file")).strip() == "s3"


def storage_from_keys(values: Mapping[str, Any], base_dir: str) -> tuple[str, dict[str, Any]]:
    """The store's URL (a directory path for the file backend) and its options."""
    options = {
        k[len("storage.") :]: v
        for k, v in values.items()
        if k.startswith("storage.")
        and k not in ("storage.dir", "storage.url")
        and classify(k) is not KeyKind.PYPICLOUD_UNUSED  # ignored with a warning
    }
    if values.get("storage.url"):
        url = str(values["storage.url"])
        s3 = url.startswith(("s3://", "s3a://"))
        return url, s3_options(options) if s3 else typed_storage_options(options)
    backend = str(values.get("pypi.storage", "file")).strip()
    if backend == "s3":
        return _s3_storage(values, options)
    if backend == "file":
        directory = str(values.get("storage.dir", "./packages"))
        return os.path.normpath(os.path.join(base_dir, directory)), {}
    if backend == "memory":
        return "memory://" + str(values.get("storage.dir", "/pyregistry")).lstrip("/"), {}
    raise ConfigError(f"pypi.storage = {backend} is not supported yet; use storage.url")


def _s3_storage(values: Mapping[str, Any], options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """pypicloud's S3 keys → an ``s3://bucket/prefix`` URL and s3fs options."""
    bucket = values.get("storage.bucket")
    if not bucket:
        raise ConfigError("pypi.storage = s3 needs storage.bucket")
    prefix = str(values.get("storage.prefix", "")).strip("/")
    return f"s3://{bucket}/{prefix}".rstrip("/"), s3_options(options)


def s3_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``storage.*`` keys (pypicloud's names) → s3fs keyword arguments."""
    s3_options: dict[str, Any] = {}
    client_kwargs: dict[str, Any] = {}
    renames = {"access_key": "key", "secret_key": "secret", "session_token": "token"}
    for key, value in options.items():
        if key in ("bucket", "prefix"):
            continue
        if key == "region_name":
            client_kwargs["region_name"] = value
        elif key == "endpoint_url":
            s3_options["endpoint_url"] = value
        elif key in renames:
            s3_options[renames[key]] = value
        else:
            s3_options[key] = value  # anything else goes to s3fs as it is
    if client_kwargs:
        s3_options["client_kwargs"] = client_kwargs
    return typed_storage_options(s3_options)
