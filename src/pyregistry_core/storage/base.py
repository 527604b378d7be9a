"""Storage is the database: an fsspec filesystem (or a local directory) holds everything.

Layout under the root (``NormalizedName`` projects only; filenames are validated first):

    index/<project>/<filename>.json        the file's record; creating it publishes the file
    files/<project>/<sha256>/<filename>    the bytes, content-addressed per project
    files/<project>/<sha256>/<filename>.metadata   PEP 658 core metadata (wheels)
    .staging/                              scratch space for uploads in progress (staging.py)

Invariants:
1. A file is visible only through its record, and a record is created only after its
   bytes are completely stored: nothing partial is ever listed.
2. Records are created create-only (``O_EXCL``/link locally): of two writers racing on
   one filename exactly one wins. A record is never removed (a deleted file keeps a
   tombstone record, so its filename stays burnt).
3. Every key reaching a store passes ``checked_key``: each component is a plain name
   (no ``..``, no ``/`` or ``\\`` inside it, no control character, no leading dot),
   whatever the router and packaging let through.
4. Layout v2 (``manifest.py``) adds documents changed only by compare-and-swap:
   ``read_document`` is conditional (one ``stat`` locally, one GET with ``If-None-Match``
   on S3) and ``write_document`` succeeds only if the stored version is still the one
   the writer read (``If-Match``; ``If-None-Match: *`` to create).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import IO, Final, Protocol

import attrs

from ..errors import ConfigError, InvalidStorageKey, StorageUnavailable
from ..names import NormalizedName
from ..upload import ByteSink

__all__ = [
    "NOT_MODIFIED",
    "Document",
    "NotModified",
    "StagedUpload",
    "Storage",
    "Token",
    "blob_key",
    "checked_key",
    "key_component",
    "record_key",
    "require_conditional_writes",
    "storage_errors",
    "write_errors",
]

Token = tuple[int, ...]
RECORD_SUFFIX = ".json"


@attrs.frozen
class Document:
    """A document's bytes and the store's version of them (an ETag, or a stat locally)."""

    data: bytes
    etag: str


class NotModified:
    """The answer of a conditional read when the document is still the version held."""

    def __repr__(self) -> str:
        return "NOT_MODIFIED"


NOT_MODIFIED: Final = NotModified()


class StagedUpload(Protocol):
    """An upload's staging place: a local file to read back, perhaps a copy in the store."""

    @property
    def path(self) -> str:
        """The local scratch file holding the received bytes."""

    def writer(self) -> contextlib.AbstractContextManager[ByteSink]:
        """Where the received bytes are written (once, from the start)."""


class Storage(Protocol):
    """What the registry needs from a store; see the module docstring for the layout."""

    url: str
    has_change_tokens: bool
    # True when only one process may write: set by ``storage.single_writer``, or all a
    # store can promise whose create-only write holds within one process only.
    single_writer: bool

    def probe_conditional_writes(self) -> bool:
        """Whether the store refuses a second create-only write of one key (may do I/O)."""

    def index_token(self) -> Token | None:
        """A value that changes whenever a project is added (None: not supported)."""

    def project_token(self, project: NormalizedName) -> Token | None:
        """A value that changes whenever a record of ``project`` changes."""

    def list_projects(self) -> list[str]:
        """Names of every project directory (each already normalized)."""

    def list_records(self, project: NormalizedName) -> dict[str, Token]:
        """Filename → change token of each record of ``project``."""

    def read_record(self, project: NormalizedName, filename: str) -> bytes | None:
        """The record's bytes, or None when there is none."""

    def read_records(self, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
        """Several records at once (those that vanished meanwhile are left out)."""

    def create_record(self, project: NormalizedName, filename: str, data: bytes) -> bool:
        """Create a record only if none exists; False when one already did."""

    def replace_record(self, project: NormalizedName, filename: str, data: bytes) -> None:
        """Atomically replace an existing record (yank, delete)."""

    def read_document(self, key: str, etag: str | None = None) -> Document | NotModified | None:
        """The document at ``key`` (None when absent); ``NOT_MODIFIED`` when its version
        is still ``etag``, at the cost of one conditional request."""

    def write_document(self, key: str, data: bytes, etag: str | None) -> str | None:
        """Write ``key`` only if its version is still ``etag`` (None: only if absent);
        the new version, or None when another writer got there first."""

    def staging_file(self) -> contextlib.AbstractContextManager[str]:
        """A local scratch path, removed afterwards, cheap to publish from."""

    def staging_upload(self) -> contextlib.AbstractContextManager[StagedUpload]:
        """Where an upload's bytes are received and checked before ``publish`` stores
        them (``staging.py``); everything staged is removed afterwards."""

    def publish_blob(self, local_path: str, key: str) -> None:
        """Store a local file under ``key`` atomically; an existing key is kept."""

    def put_blob(self, key: str, data: bytes) -> None:
        """Store small bytes under ``key`` atomically."""

    def create_blob(self, key: str, data: bytes) -> bool:
        """Store small bytes under ``key`` only if it is absent; False when it was there
        (create-only across processes and replicas, as ``create_record``)."""

    def open_blob(self, key: str) -> IO[bytes]:
        """Open stored bytes for reading (raises FileNotFoundError)."""

    def local_path(self, key: str) -> str | None:
        """The blob's path on a local disk, for sendfile; None on other stores."""

    def delete_blob(self, key: str) -> None:
        """Remove stored bytes if present."""

    def list_blobs(self, prefix: str) -> list[str]:
        """Keys directly under ``prefix`` (a folder key ending in ``/``)."""

    def probe(self) -> None:
        """Raise ``StorageUnavailable`` unless the store answers (for /health)."""

    def walk_blobs(self, prefix: str) -> Iterator[tuple[str, float]]:
        """Every key below ``prefix`` with its modification time (seconds)."""

    def staging_dir(self) -> str | None:
        """This host's directory of uploads staged outside the store, where ``fsck``
        looks for scratch files; None when uploads are staged inside the store."""

    def incomplete_uploads(self) -> Iterator[tuple[str, str, float]]:
        """(key below the root, upload id, last activity) of each multipart upload that
        never completed; none on stores without multipart uploads."""

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Abort one incomplete multipart upload, freeing its parts."""


# Separators of any OS, C0/C1 controls and DEL: never inside one key component.
_UNSAFE_COMPONENT = re.compile(r"[/\\\x00-\x1f\x7f-\x9f]")
_MAX_COMPONENT = 255
_SCRATCH_FOLDER = ".staging"


def key_component(part: str) -> str:
    """``part`` if it is safe as one component of a storage key, else ``InvalidStorageKey``."""
    if not part or part.startswith(".") or len(part) > _MAX_COMPONENT or _UNSAFE_COMPONENT.search(part):
        raise InvalidStorageKey(f"Invalid name {part!r}: not usable in storage.")
    return part


def checked_key(key: str) -> str:
    """A whole key (``a/b/c``, a folder ``a/b/``, or ``""`` for the root), each component checked.

    Only the store's own scratch folder may start with a dot, and only at the top.
    """
    if key:
        parts = key.split("/")
        if parts[0] == _SCRATCH_FOLDER:
            parts = parts[1:]
        for part in parts[:-1] if key.endswith("/") else parts:
            key_component(part)
    return key


def require_conditional_writes(storage: Storage) -> None:
    """Refuse to run several writers on a store that cannot create-only (DESIGN.md)."""
    if storage.single_writer or storage.probe_conditional_writes():
        return
    raise ConfigError(
        f"{storage.url} does not honour conditional writes (If-None-Match: *), so two "
        "replicas could publish different files under one name. Use a store that does, "
        "or set storage.single_writer = true and run exactly one server process."
    )


def record_key(project: NormalizedName, filename: str) -> str:
    """The storage key of a file's record."""
    return f"index/{key_component(project)}/{key_component(filename)}{RECORD_SUFFIX}"


def blob_key(project: NormalizedName, sha256: str, filename: str) -> str:
    """The storage key of a file's bytes."""
    return f"files/{key_component(project)}/{key_component(sha256)}/{key_component(filename)}"


@contextlib.contextmanager
def storage_errors() -> Iterator[None]:
    """Turn unexpected store failures into ``StorageUnavailable`` (503, never 404).

    Any exception counts, not only ``OSError``: s3fs lets botocore's connection errors
    (``EndpointConnectionError``…) through untranslated.
    """
    try:
        yield
    except (FileNotFoundError, FileExistsError, StorageUnavailable, InvalidStorageKey):
        raise
    except Exception as exc:
        raise StorageUnavailable(f"storage failed: {type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def write_errors() -> Iterator[None]:
    """Like ``storage_errors`` for writes, where "not found" can only mean the store
    itself is gone (a deleted bucket): that is a 503 too."""
    try:
        with storage_errors():
            yield
    except FileNotFoundError as exc:
        raise StorageUnavailable(f"storage failed: {exc}") from exc


@contextlib.contextmanager
def removed_after(path: str) -> Iterator[str]:
    """A scratch path, removed when the block ends (whatever happened in it)."""
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def read_each(storage: Storage, project: NormalizedName, filenames: list[str]) -> dict[str, bytes]:
    found = {}
    for filename in filenames:
        data = storage.read_record(project, filename)
        if data is not None:
            found[filename] = data
    return found
