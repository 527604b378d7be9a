"""The ``Registry`` facade: use cases over storage, with in-process caches.

Invariants:
1. Every use case takes the caller's ``Identity`` and checks permission on the file's
   own project before revealing anything.
2. Cached views are revalidated on every request: on a local directory by one ``stat``
   (a change token), on object storage when older than ``pypi.index_ttl``; this
   process's own writes invalidate its caches at once.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs
from cachetools import LRUCache
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from . import render
from .acl import AccessPolicy, Identity, Permission, is_allowed
from .auth import Authenticator, BadCredentials
from .dists import ArchiveLimits, DistKind, read_core_metadata
from .errors import (
    AuthenticationRequired,
    FileConflict,
    FileGone,
    FileNotFoundInProject,
    InvalidUpload,
    PermissionDenied,
    ProjectNotFound,
)
from .names import NormalizedName
from .negotiate import SimpleFormat
from .records import FileRecord, Origin, ProjectFiles
from .settings import Settings
from .storage import Storage, Token, blob_key, open_storage
from .tokens import TokenStore
from .upload import FormLimits, UploadForm, ValidatedUpload, validate_form

__all__ = ["Page", "Registry", "UploadResult"]

ANONYMOUS = Identity()
_PYPI_FILE_HELP = "https://pypi.org/help/#file-name-reuse"


@attrs.frozen
class Page:
    """Rendered bytes with their strong ETag."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> Page:
        """Wrap bytes, computing the ETag once."""
        return cls(body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"')


@attrs.frozen
class UploadResult:
    """What an upload did: ``created`` is False for an identical re-upload."""

    record: FileRecord
    created: bool


@attrs.define
class _ProjectEntry:
    token: Token | None
    checked_at: float
    files: ProjectFiles
    records: dict[str, tuple[Token, FileRecord]]
    pages: dict[SimpleFormat, Page] = attrs.field(factory=dict)


@attrs.define
class _IndexEntry:
    token: Token | None
    checked_at: float
    names: tuple[str, ...]
    pages: dict[tuple[SimpleFormat, Hashable], Page] = attrs.field(factory=dict)


def _now_iso(clock: Callable[[], float]) -> str:
    stamp = datetime.fromtimestamp(clock(), tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Registry:
    """A package index: the use cases every adapter and the CLI call."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.storage = storage if storage is not None else open_storage(
            settings.storage_url, dict(settings.storage_options)
        )
        self.policy = AccessPolicy.from_settings(
            default_read=settings.default_read,
            default_write=settings.default_write,
            cache_update=settings.cache_update,
            allow_delete=settings.allow_delete_groups,
            admins=settings.admins,
            package_entries=settings.package_acl,
        )
        self.tokens = TokenStore(self.storage, ttl=settings.index_ttl)
        self.authenticator = Authenticator(
            {user: secret.value for user, secret in settings.users.items()},
            settings.groups,
            htpasswd_path=settings.htpasswd,
            tokens=self.tokens,
        )
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._projects: LRUCache[NormalizedName, _ProjectEntry] = LRUCache(maxsize=4096)
        self._index: _IndexEntry | None = None
        self.archive_limits = ArchiveLimits()

    @classmethod
    def from_config(
        cls,
        source: str | os.PathLike[str] | Mapping[str, Any],
        *,
        environ: Mapping[str, str] | None = None,
    ) -> Registry:
        """Build a registry from an INI path or a mapping of INI keys.

        >>> registry = Registry.from_config({"storage.url": "memory://doctest"})
        >>> registry.settings.fallback
        'none'
        """
        if isinstance(source, Mapping):
            settings = Settings.from_mapping(source, environ=environ)
        else:
            settings = Settings.from_ini(source, environ=environ)
        return cls(settings)

    # -- identity ------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Identity:
        """The caller named by an ``Authorization`` header (anonymous when there is none)."""
        if authorization is None:
            return ANONYMOUS
        try:
            return self.authenticator.authenticate(authorization)
        except BadCredentials as error:
            raise AuthenticationRequired(str(error)) from error

    # -- permissions ---------------------------------------------------------------

    def may(self, identity: Identity, permission: Permission, project: str | None = None) -> bool:
        """Whether the caller may do ``permission`` on ``project``."""
        return is_allowed(self.policy, identity, permission, project)

    def require(self, identity: Identity, permission: Permission, project: str | None = None) -> None:
        """Raise 401-or-403 errors unless the caller may do ``permission``."""
        if self.may(identity, permission, project):
            return
        if identity.user is None:
            raise AuthenticationRequired("Authentication required.")
        target = f" on project {project!r}" if project else ""
        raise PermissionDenied(f"The user {identity.user!r} isn't allowed to {permission.value}{target}.")

    def policy_depends_on_identity(self) -> bool:
        """Whether what a page shows can differ between callers (``Vary: Authorization``)."""
        return "everyone" not in self.policy.default_read or bool(self.policy.packages)

    # -- reading -------------------------------------------------------------------

    def _fresh(self, token: Token | None, checked_at: float, current: Callable[[], Token | None]) -> tuple[bool, Token | None]:
        if self.storage.has_change_tokens:
            now_token = current()
            return now_token == token, now_token
        return self._clock() - checked_at < self.settings.index_ttl, None

    def project_names(self) -> tuple[str, ...]:
        """Every stored project name, sorted (cached, revalidated)."""
        entry = self._index
        if entry is not None:
            fresh, _ = self._fresh(entry.token, entry.checked_at, self.storage.index_token)
            if fresh:
                return entry.names
        token = self.storage.index_token()
        names = tuple(sorted(self.storage.list_projects()))
        self._index = _IndexEntry(token, self._clock(), names)
        return names

    def _project_entry(self, project: NormalizedName) -> _ProjectEntry:
        with self._lock:
            entry = self._projects.get(project)
        if entry is not None:
            fresh, token = self._fresh(entry.token, entry.checked_at,
                                       lambda: self.storage.project_token(project))
            if fresh:
                return entry
        return self._load_project(project, entry)

    def _load_project(self, project: NormalizedName, previous: _ProjectEntry | None) -> _ProjectEntry:
        token = self.storage.project_token(project)
        listing = self.storage.list_records(project)
        old = previous.records if previous is not None else {}
        records: dict[str, tuple[Token, FileRecord]] = {}
        for filename, record_token in listing.items():
            cached = old.get(filename)
            if cached is not None and cached[0] == record_token and self.storage.has_change_tokens:
                records[filename] = cached
                continue
            data = self.storage.read_record(project, filename)
            if data is not None:
                records[filename] = (record_token, FileRecord.from_json(data))
        files = ProjectFiles.from_records(project, (r for _, r in records.values()))
        entry = _ProjectEntry(token, self._clock(), files, records)
        with self._lock:
            self._projects[project] = entry
        return entry

    def _invalidate(self, project: NormalizedName) -> None:
        with self._lock:
            self._projects.pop(project, None)
        self._index = None

    def project_files(self, identity: Identity, project: NormalizedName) -> ProjectFiles:
        """The project's files after a read check (raises ``ProjectNotFound``)."""
        self.require(identity, Permission.READ, project)
        entry = self._project_entry(project)
        if not entry.records:
            raise ProjectNotFound(project)
        return entry.files

    def index_page(self, identity: Identity, fmt: SimpleFormat) -> Page:
        """``/simple/`` rendered for the caller, listing only what they may read."""
        self.require(identity, Permission.READ)
        names = self.project_names()
        entry = self._index
        # Callers who see the same projects share one cached page.
        key = (fmt, self._visibility_key(identity))
        page = entry.pages.get(key) if entry is not None else None
        if page is None:
            visible = names if key[1] is None else [n for n in names if self.may(identity, Permission.READ, n)]
            page = Page.of(render.index_json(visible) if fmt.is_json else render.index_html(visible))
            if entry is not None:
                if len(entry.pages) > 256:
                    entry.pages.clear()
                entry.pages[key] = page
        return page

    def _visibility_key(self, identity: Identity) -> Hashable:
        """None when the caller sees every project, else what decides what they see."""
        if not self.policy.packages and identity.token_projects is None and self.may(
            identity, Permission.READ, "any-project"
        ):
            return None
        return (identity.principals, identity.user in self.policy.admins, identity.token_projects)

    def project_page(self, identity: Identity, project: NormalizedName, fmt: SimpleFormat) -> Page:
        """``/simple/<project>/`` rendered (cached per format, shared by all readers)."""
        self.require(identity, Permission.READ, project)
        entry = self._project_entry(project)
        if not entry.records:
            raise ProjectNotFound(project)
        page = entry.pages.get(fmt)
        if page is None:
            body = render.project_json(entry.files) if fmt.is_json else render.project_html(entry.files)
            page = Page.of(body)
            entry.pages[fmt] = page
        return page

    def find_file(self, identity: Identity, project: NormalizedName, filename: str) -> FileRecord:
        """A live file of ``project`` (never of another project) after a read check."""
        self.require(identity, Permission.READ, project)
        entry = self._project_entry(project)
        found = entry.records.get(filename)
        if found is None:
            # Maybe published by another process since our last look.
            entry = self._load_project(project, entry)
            found = entry.records.get(filename)
        if found is None:
            raise FileNotFoundInProject(project, filename)
        if found[1].deleted:
            raise FileGone(project, filename)
        return found[1]

    def read_core_metadata(self, record: FileRecord) -> bytes | None:
        """A file's METADATA or PKG-INFO bytes, whichever is stored (None if neither)."""
        suffix = ".metadata" if record.metadata_sha256 else ".pkg-info"
        try:
            with self.storage.open_blob(record.blob_key + suffix) as handle:
                data: bytes = handle.read()
        except FileNotFoundError:
            return None
        return data

    def read_metadata(self, record: FileRecord) -> bytes:
        """The stored PEP 658 metadata of a wheel."""
        if not record.metadata_sha256:
            raise FileNotFoundInProject(record.project, record.filename + ".metadata")
        with self.storage.open_blob(record.blob_key + ".metadata") as handle:
            data: bytes = handle.read()
        return data

    # -- writing -------------------------------------------------------------------

    def upload_limits(self) -> FormLimits:
        """Bounds for reading an upload form."""
        return FormLimits(max_file_size=self.settings.max_upload_size)

    def upload(self, identity: Identity, form: UploadForm, staged_path: str) -> UploadResult:
        """Validate an upload read into ``form`` (bytes at ``staged_path``) and publish it."""
        checked = validate_form(form)
        self.require(identity, Permission.WRITE, checked.project)
        entry = self._project_entry(checked.project)
        existing = entry.records.get(checked.dist.filename)
        if existing is not None:
            return self._existing(existing[1], form)
        self._check_release(entry.files, checked)
        with open(staged_path, "rb") as handle:
            metadata = read_core_metadata(handle, checked.dist, self.archive_limits)
        _check_metadata_agrees(checked, metadata.name, metadata.version)
        key = blob_key(checked.project, form.sha256, checked.dist.filename)
        metadata_sha256 = None
        if checked.dist.kind is DistKind.WHEEL:
            self.storage.put_blob(key + ".metadata", metadata.raw)
            metadata_sha256 = hashlib.sha256(metadata.raw).hexdigest()
        else:  # PKG-INFO feeds the JSON API; sdist metadata is not advertised (PEP 658)
            self.storage.put_blob(key + ".pkg-info", metadata.raw)
        self.storage.publish_blob(staged_path, key)
        record = FileRecord(
            project=checked.project,
            filename=checked.dist.filename,
            version=str(checked.version),
            kind=checked.dist.kind.value,
            size=form.size,
            sha256=form.sha256,
            blake2b_256=form.blake2_256,
            md5=form.md5,
            upload_time=_now_iso(self._wall_clock),
            requires_python=metadata.requires_python,
            metadata_sha256=metadata_sha256,
            python_tag=checked.dist.python_tag,
            summary=metadata.summary,
            origin=Origin.UPLOAD,
            uploader=identity.user,
        )
        created = self.storage.create_record(checked.project, checked.dist.filename, record.to_json())
        self._invalidate(checked.project)
        if not created:
            # Another process won the race for this filename: answer as for an existing file.
            data = self.storage.read_record(checked.project, checked.dist.filename)
            if data is None:
                raise InvalidUpload("File already exists (a concurrent upload is in progress).")
            return self._existing(FileRecord.from_json(data), form)
        return UploadResult(record, created=True)

    def _existing(self, record: FileRecord, form: UploadForm) -> UploadResult:
        if record.deleted:
            raise InvalidUpload(
                "This filename was previously used by a file that has since been deleted. "
                "Use a different version."
            )
        if record.sha256 == form.sha256:
            return UploadResult(record, created=False)
        raise FileConflict(
            f"File already exists ('{record.filename}', with blake2_256 hash "
            f"'{record.blake2b_256 or ''}'). See {_PYPI_FILE_HELP} for more information."
        )

    def _check_release(self, files: ProjectFiles, checked: ValidatedUpload) -> None:
        if checked.dist.kind is not DistKind.SDIST:
            return
        for record in files.files:
            if record.kind == DistKind.SDIST.value and record.version == str(checked.version):
                raise InvalidUpload("Only one sdist may be uploaded per release.")


def _check_metadata_agrees(checked: ValidatedUpload, name: str, version: str) -> None:
    if canonicalize_name(name) != checked.project:
        raise InvalidUpload(
            f"Invalid distribution file. The metadata's Name {name!r} does not match "
            f"the project {checked.project!r}."
        )
    try:
        parsed = Version(version)
    except InvalidVersion as exc:
        raise InvalidUpload(f"Invalid distribution file. The metadata's Version {version!r} is invalid.") from exc
    if parsed != checked.version:
        raise InvalidUpload(
            f"Invalid distribution file. The metadata's Version '{version}' does not match "
            f"the uploaded version '{checked.version}'."
        )
