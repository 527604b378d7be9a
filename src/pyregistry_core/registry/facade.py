"""The ``Registry`` facade: the use cases every adapter and the CLI call, on one storage.

It builds its parts and delegates; each part has one job and its own module:
``permissions`` (who may), ``views`` (what a caller sees, fallback included), ``pages``
(the page cache), ``files`` and ``fetching`` (serving files, caching upstream ones),
``publish`` (uploads) and ``manage`` (yank, delete, status).

Invariants (kept by the parts):
1. Every use case takes the caller's ``Identity`` and checks permission on the file's
   own project before revealing anything (DESIGN.md → Visibility).
2. Names reach storage and the upstream only normalized, and the upstream only when
   ``fallback.decide`` allows it for that name.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..acl import Identity, Permission
from ..auth.tokens import TokenStore
from ..dists import ArchiveLimits
from ..fragments import FileFragments
from ..metrics import Metrics
from ..names import NormalizedName
from ..negotiate import SimpleFormat
from ..records import FileRecord, ProjectFiles, ProjectStatus
from ..settings import Settings
from ..storage import Storage
from ..storage.catalog import Catalog, ProjectEntry
from ..upload import FormLimits, UploadForm, ValidatedUpload
from ..upstream.client import Upstream
from . import wiring
from .exempting import CooldownExemptions
from .fetching import UpstreamFetcher
from .files import StoredFiles
from .manage import Management
from .pages import PageCache
from .permissions import ANONYMOUS, Permissions
from .publish import Publisher
from .results import Page, UploadResult, UpstreamRedirect
from .trusted_publishing import TrustedPublishing
from .upstream_metadata import CoreMetadataFile
from .upstream_provenance import ProvenanceFile
from .views import Views

__all__ = ["ANONYMOUS", "Page", "Registry", "UploadResult", "UpstreamRedirect"]

log = logging.getLogger(__name__)


class Registry:
    """A package index: every use case, on one storage, each delegated to its part."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage | None = None,
        *,
        upstream: Upstream | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.storage = wiring.storage(settings, storage)
        self.policy = wiring.access_policy(settings)
        self.fallback = wiring.fallback_policy(settings)
        self.metrics = Metrics(settings.metrics)
        self.mirror = wiring.mirror(settings, self.storage, upstream, wall_clock, self.metrics)
        self.tokens = tokens = TokenStore(self.storage, ttl=settings.index_ttl, clock=wall_clock)
        self.trusted_publishing = TrustedPublishing(
            settings.trust, self.storage, tokens, wall_clock=wall_clock
        )
        self.authenticator = wiring.authenticator(settings, self.tokens)
        self.permissions = Permissions(self.policy, self.authenticator)
        self.catalog = Catalog(self.storage, settings.index_ttl, clock)
        self.wall_clock = wall_clock
        self.archive_limits = ArchiveLimits()
        self._compose()

    def _compose(self) -> None:
        """The parts, each given only what its job needs."""
        perms, catalog, storage, metrics = self.permissions, self.catalog, self.storage, self.metrics
        clock, limits, mirror = self.wall_clock, self.archive_limits, self.mirror
        views = Views(perms, catalog, self.fallback, mirror, self.settings.upstream_policy, metrics, clock)
        fetcher = UpstreamFetcher(perms, views, catalog, storage, mirror, metrics, limits, clock)
        self.views = views
        fragments = FileFragments(public_url=self.settings.public_url)
        self.pages = PageCache(perms, catalog, views, metrics, fragments)
        self.files = StoredFiles(perms, catalog, storage, fetcher)
        self.publisher = Publisher(perms, catalog, storage, limits, clock, self.settings.max_upload_size)
        self.management = Management(perms, storage, catalog)
        self.exemptions = CooldownExemptions(perms, catalog, clock)

    @classmethod
    def from_config(
        cls, source: str | os.PathLike[str] | Mapping[str, Any], *, environ: Mapping[str, str] | None = None
    ) -> Registry:
        """Build a registry from an INI path or a mapping of INI keys.

        >>> registry = Registry.from_config({"storage.url": "memory://doctest"})
        >>> registry.settings.fallback
        'none'
        """
        return cls(wiring.load_settings(source, environ))

    def authenticate(self, authorization: str | None) -> Identity:
        """The caller named by an ``Authorization`` header (anonymous when there is none)."""
        return self.permissions.authenticate(authorization)

    def may(self, identity: Identity, permission: Permission, project: str | None = None) -> bool:
        """Whether the caller may do ``permission`` on ``project``."""
        return self.permissions.may(identity, permission, project)

    def require(self, identity: Identity, permission: Permission, project: str | None = None) -> None:
        """Raise 401 (anonymous) or 403 unless the caller may do ``permission``."""
        self.permissions.require(identity, permission, project)

    def require_upload_somewhere(self, identity: Identity) -> None:
        """401/403 unless the caller may upload to at least one project."""
        self.permissions.require_upload_somewhere(identity)

    def policy_depends_on_identity(self) -> bool:
        """Whether what a page shows can differ between callers (``Vary: Authorization``)."""
        return self.permissions.depends_on_identity()

    def upstream_state(self) -> dict[str, object]:
        """What /health says of the upstream: configured or not, and the last outcome."""
        return self.views.upstream_state()

    def project_names(self) -> tuple[str, ...]:
        """Every stored project name, sorted."""
        return self.catalog.index().names

    def project_entry(self, project: NormalizedName) -> ProjectEntry:
        """What storage holds of ``project``, unfiltered (callers check permissions)."""
        return self.catalog.project(project)

    def index_page(self, identity: Identity, fmt: SimpleFormat) -> Page:
        """``/simple/`` rendered for the caller, listing only what they may read."""
        return self.pages.index_page(identity, fmt)

    def project_page(
        self, identity: Identity, project: NormalizedName, fmt: SimpleFormat
    ) -> Page | UpstreamRedirect:
        """``/simple/<project>/`` rendered; cached per format and source, shared by readers."""
        return self.pages.project_page(identity, project, fmt)

    def project_files(self, identity: Identity, project: NormalizedName) -> ProjectFiles | UpstreamRedirect:
        """The files the caller sees in ``project`` (raises ``ProjectNotFound``)."""
        return self.views.files(identity, project)

    def find_file(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None = None
    ) -> FileRecord | UpstreamRedirect:
        """A live file of ``project`` (never of another project), cached from upstream if needed."""
        return self.files.find(identity, project, filename, sha256)

    def find_metadata(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None = None
    ) -> CoreMetadataFile | UpstreamRedirect:
        """PEP 658 ``.metadata`` of a wheel of ``project`` (an upstream one's fetched alone)."""
        return self.files.find_metadata(identity, project, filename, sha256)

    def find_provenance(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None = None
    ) -> ProvenanceFile:
        """PEP 740 provenance of a file of ``project``, under the file's own access checks."""
        return self.files.find_provenance(identity, project, filename, sha256)

    def read_core_metadata(self, record: FileRecord) -> bytes | None:
        """A file's METADATA or PKG-INFO bytes, whichever is stored (None if neither)."""
        return self.files.core_metadata(record)

    def read_metadata(self, record: FileRecord) -> bytes:
        """The stored PEP 658 metadata of a wheel."""
        return self.files.metadata(record)

    def upload_limits(self) -> FormLimits:
        """Bounds for reading an upload form."""
        return self.publisher.form_limits()

    def upload(self, identity: Identity, form: UploadForm, staged_path: str) -> UploadResult:
        """Validate an upload read into ``form`` (bytes at ``staged_path``) and publish it."""
        return self.publisher.upload(identity, form, staged_path)

    def publish(self, identity: Identity, checked: ValidatedUpload, staged_path: str) -> UploadResult:
        """Publish a checked file (an import): identical bytes are a no-op, others a conflict."""
        return self.publisher.publish(identity, checked, staged_path)

    def set_yanked(
        self, identity: Identity, project: NormalizedName, target: str, *, yanked: bool, reason: str = ""
    ) -> list[FileRecord]:
        """Yank or un-yank a file or every file of a release (PEP 592); visible at once."""
        return self.management.set_yanked(identity, project, target, yanked=yanked, reason=reason)

    def delete(self, identity: Identity, project: NormalizedName, target: str) -> list[FileRecord]:
        """Delete a file or a release; the filenames stay burnt (a tombstone record remains)."""
        return self.management.delete(identity, project, target)

    def set_status(
        self, identity: Identity, project: NormalizedName, status: str, reason: str = ""
    ) -> ProjectStatus:
        """Set a project's PEP 792 status (archived refuses uploads, quarantined hides files)."""
        return self.management.set_status(identity, project, status, reason)
