"""Trusted publishers added at run time (CLI, management API), kept in the storage.

Each is ``publishers/<id>.json`` holding its project and its ``<issuer> key=value …``
line, the same line a ``publisher.<project>.<n>`` config key takes, so both are parsed
and matched alike. Ids are ``<project>.<random>``; every replica sharing the storage
sees an addition or a removal on its next mint.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Mapping

import attrs

from ..errors import ConfigError, RegistryError
from ..publishers import Issuer, Publisher, parse_publisher
from ..storage.base import Storage

__all__ = ["PublisherStore"]

log = logging.getLogger(__name__)
_ID = re.compile(r"[a-z0-9][a-z0-9.-]{0,200}\Z")


class PublisherStore:
    """Adds, lists and removes stored trusted publishers."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def add(self, project: str, line: str, issuers: Mapping[str, Issuer]) -> Publisher:
        """Validate and store a publisher of ``project`` (which need not exist yet)."""
        publisher = parse_publisher("", project, line, issuers, where=f"publisher {project}")
        publisher_id = f"{publisher.project}.{secrets.token_hex(4)}"
        publisher = attrs.evolve(publisher, id=publisher_id)
        document = {"project": publisher.project, "line": publisher.line()}
        self._storage.put_blob(f"publishers/{publisher_id}.json", json.dumps(document).encode())
        return publisher

    def remove(self, publisher_id: str) -> bool:
        """Remove a stored publisher; False when there is none of that id."""
        if not _ID.match(publisher_id):
            return False
        key = f"publishers/{publisher_id}.json"
        try:
            self._storage.open_blob(key).close()
        except FileNotFoundError:
            return False
        self._storage.delete_blob(key)
        return True

    def exist(self) -> bool:
        """Whether any publisher is stored."""
        return bool(self._storage.list_blobs("publishers/"))

    def list(self, issuers: Mapping[str, Issuer]) -> list[Publisher]:
        """Every stored publisher whose issuer is still configured."""
        found = []
        for key in sorted(self._storage.list_blobs("publishers/")):
            publisher_id = key.rsplit("/", 1)[-1].removesuffix(".json")
            try:
                with self._storage.open_blob(key) as handle:
                    document = json.loads(handle.read(64 * 1024))
                found.append(
                    parse_publisher(publisher_id, document["project"], document["line"], issuers, where=key)
                )
            except FileNotFoundError:
                continue  # removed meanwhile
            except (ConfigError, ValueError, KeyError, TypeError) as error:
                message = error.message if isinstance(error, RegistryError) else repr(error)
                log.warning("ignoring stored publisher %s: %s", publisher_id, message)
        return found
