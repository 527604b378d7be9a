"""The ``Registry`` facade: the use cases every adapter and the CLI call.

Invariants:
1. Every use case takes the caller's ``Identity`` and checks permission on the file's
   own project before revealing anything (DESIGN.md → Visibility).
2. Names reach storage and the upstream only normalized, and the upstream only when
   ``fallback.decide`` allows it for that name.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import attrs

from .. import render
from ..acl import AccessPolicy, Identity, Permission, is_allowed
from ..auth.authenticator import Authenticator
from ..auth.tokens import TokenStore
from ..dists import ArchiveLimits
from ..errors import (
    AuthenticationRequired,
    BadCredentials,
    FileGone,
    FileHeldBack,
    FileNotFoundInProject,
    InvalidUpload,
    PermissionDenied,
    ProjectNotFound,
    RegistryError,
)
from ..fallback import Action, FallbackPolicy, decide
from ..metrics import Metrics
from ..names import NormalizedName, normalize
from ..negotiate import SimpleFormat
from ..records import FileRecord, Origin, ProjectFiles
from ..settings import Settings, reveal_secrets
from ..storage import Storage, open_storage
from ..storage.base import require_conditional_writes
from ..storage.catalog import Catalog, ProjectEntry
from ..upload import FormLimits, UploadForm, ValidatedUpload, validate_form
from ..upstream.client import HttpUpstream, Upstream
from ..upstream.mirror import Listing, Mirror
from .manage import ManagementMixin
from .publish import (
    check_release,
    existing_upload,
    publish_upload,
    publish_upstream_file,
    upstream_record,
)
from .results import Page, UploadResult, UpstreamRedirect

__all__ = ["ANONYMOUS", "Page", "Registry", "UploadResult", "UpstreamRedirect"]

ANONYMOUS = Identity()
log = logging.getLogger(__name__)
_UPSTREAM_MAX_FILE_SIZE = 4 * 2**30


@attrs.frozen
class _View:
    """What a caller sees of a project, and what it was built from (for page caching)."""

    files: ProjectFiles
    entry: ProjectEntry
    listing: Listing | None = None
    valid_until: float = float("inf")  # the release cooldown lets the next file in then


class Registry(ManagementMixin):
    """A package index: every use case, on one storage."""

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
        self.storage = (
            storage
            if storage is not None
            else open_storage(settings.storage_url, reveal_secrets(settings.storage_options))
        )
        require_conditional_writes(self.storage)
        self.policy = AccessPolicy.from_settings(
            default_read=settings.default_read,
            default_write=settings.default_write,
            cache_update=settings.cache_update,
            allow_delete=settings.allow_delete_groups,
            admins=settings.admins,
            package_entries=settings.package_acl,
        )
        always = settings.always_show_upstream
        self.fallback = FallbackPolicy(
            mode=settings.fallback,
            always_show_upstream=always is True,
            always_show_names=frozenset(normalize(n) for n in always)
            if isinstance(always, tuple)
            else frozenset(),
            disallowed=frozenset(normalize(n) for n in settings.disallow_fallback),
            names=settings.upstream_policy,
        )
        if always is True:
            log.warning(
                "pypi.always_show_upstream = true merges upstream files into mirrored projects "
                "only; private projects never merge unless named in the setting"
            )
        if upstream is None and settings.fallback != "none" and settings.fallback_base_url:
            upstream = HttpUpstream(
                settings.fallback_base_url,
                timeout=settings.upstream_timeout,
                max_page_size=settings.upstream_max_page_size,
            )
        self.mirror = (
            Mirror(
                upstream,
                self.storage,
                ttl=settings.upstream_ttl,
                negative_ttl=settings.upstream_negative_ttl,
                clock=wall_clock,
            )
            if upstream is not None
            else None
        )
        self.tokens = TokenStore(self.storage, ttl=settings.index_ttl)
        self.authenticator = Authenticator(
            {user: secret.value for user, secret in settings.users.items()},
            settings.groups,
            htpasswd_path=settings.htpasswd,
            tokens=self.tokens,
        )
        self.catalog = Catalog(self.storage, settings.index_ttl, clock)
        self.metrics = Metrics(settings.metrics)
        self.wall_clock = wall_clock
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

    # -- identity and permissions ------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Identity:
        """The caller named by an ``Authorization`` header (anonymous when there is none)."""
        if authorization is None:
            return ANONYMOUS
        try:
            return self.authenticator.authenticate(authorization)
        except BadCredentials as error:
            if not self.authenticator.has_users and not self.tokens.exist():
                # Nobody can log in here (serve's embedded default): twine's placeholder
                # credentials are as anonymous as none at all.
                return ANONYMOUS
            raise AuthenticationRequired(str(error)) from error

    def may(self, identity: Identity, permission: Permission, project: str | None = None) -> bool:
        """Whether the caller may do ``permission`` on ``project``."""
        return is_allowed(self.policy, identity, permission, project)

    def require(self, identity: Identity, permission: Permission, project: str | None = None) -> None:
        """Raise 401 (anonymous) or 403 unless the caller may do ``permission``."""
        if self.may(identity, permission, project):
            return
        if identity.user is None:
            raise AuthenticationRequired("Authentication required.")
        target = f" on project '{project}'" if project else ""
        raise PermissionDenied(f"The user '{identity.user}' isn't allowed to {permission.value}{target}.")

    def require_upload_somewhere(self, identity: Identity) -> None:
        """401/403 unless the caller may upload to at least one project (checked before
        an upload body is read, so a caller who may not write costs no disk or CPU)."""
        if identity.operator or identity.user in self.policy.admins:
            return
        principals = identity.principals
        if identity.token_scope != "read":
            if principals & self.policy.default_write and identity.token_projects is None:
                return
            for package, entries in self.policy.packages.items():
                may = any("w" in perms for who, perms in entries.items() if who in principals)
                if may and (identity.token_projects is None or package in identity.token_projects):
                    return
            if identity.token_projects and principals & self.policy.default_write:
                return
        if identity.user is None:
            raise AuthenticationRequired("Authentication required.")
        if identity.token_scope == "read":
            raise PermissionDenied("This token may only read; it cannot upload.")
        raise PermissionDenied(f"The user '{identity.user}' isn't allowed to upload to this index.")

    def policy_depends_on_identity(self) -> bool:
        """Whether what a page shows can differ between callers (``Vary: Authorization``)."""
        return "everyone" not in self.policy.default_read or bool(self.policy.packages)

    def upstream_state(self) -> dict[str, object]:
        """What /health says of the upstream: configured or not, and the last outcome."""
        if self.mirror is None:
            return {"configured": False}
        return {
            "configured": True,
            "mode": self.settings.fallback,
            **self.mirror.state(),
            "policy": self.settings.upstream_policy.describe(),
        }

    # -- reading -----------------------------------------------------------------------

    def project_names(self) -> tuple[str, ...]:
        """Every stored project name, sorted."""
        return self.catalog.index().names

    def index_page(self, identity: Identity, fmt: SimpleFormat) -> Page:
        """``/simple/`` rendered for the caller, listing only what they may read."""
        self.require(identity, Permission.READ)
        entry = self.catalog.index()
        # Callers who see the same projects share one cached page.
        key = (fmt, self._visibility_key(identity))
        page = entry.pages.get(key)
        if not isinstance(page, Page):
            names = entry.names
            if key[1] is not None:
                names = tuple(n for n in names if self.may(identity, Permission.READ, n))
            page = Page.of(render.index_json(names) if fmt.is_json else render.index_html(names))
            if len(entry.pages) > 256:
                entry.pages.clear()
            entry.pages[key] = page
        return page

    def _visibility_key(self, identity: Identity) -> Hashable:
        """None when the caller sees every project, else what decides what they see."""
        if (
            not self.policy.packages
            and identity.token_projects is None
            and self.may(identity, Permission.READ, "any-project")
        ):
            return None
        return (identity.principals, identity.user in self.policy.admins, identity.token_projects)

    def _view(self, identity: Identity, project: NormalizedName) -> _View | UpstreamRedirect:
        """What the caller sees of ``project``, after the read check and fallback rules."""
        self.require(identity, Permission.READ, project)
        entry = self.catalog.project(project)
        action = decide(
            self.fallback,
            project,
            stored=entry.stored,
            private=entry.files.has_private_files,
            may_cache_update=self.may(identity, Permission.CACHE_UPDATE, project),
        )
        if action is Action.LOCAL and entry.stored:
            return _View(entry.files, entry)
        if action is Action.REDIRECT and self.mirror is not None:
            return UpstreamRedirect.to_project(project, self.mirror.upstream)
        if action is Action.UNAUTHORIZED and identity.user is None:
            raise AuthenticationRequired("Authentication required to fetch projects from the upstream index.")
        if action is not Action.MERGE or self.mirror is None:
            raise ProjectNotFound(project)
        try:
            listing = self.mirror.listing(project)
        except RegistryError:
            if entry.stored:  # serve-stale: what we hold is still right
                return _View(entry.files, entry)
            raise
        if listing is None:
            if entry.stored:
                return _View(entry.files, entry)
            raise ProjectNotFound(project)
        # The merged view depends only on this entry and this listing: build it once.
        cached = entry.pages.get(("view", id(listing)))
        if isinstance(cached, _View) and cached.listing is listing and self.wall_clock() < cached.valid_until:
            return cached
        view = self._merged_view(project, entry, listing)
        entry.pages[("view", id(listing))] = view
        return view

    def _merged_view(self, project: NormalizedName, entry: ProjectEntry, listing: Listing) -> _View:
        """Our files plus the upstream's, with the upstream's current yanked state."""
        external = self.settings.fallback == "redirect"
        held = {r.filename for r in entry.files.files}
        policy = self.settings.upstream_policy
        fresh = [
            upstream_record(project, f, external) for f in listing.project.files if f.filename not in held
        ]
        cooldown = policy.hold_back(project, fresh, self.wall_clock())
        self.metrics.count_policy("held_back", len(cooldown.held))
        files = entry.files.merged_with(cooldown.visible)
        # The upstream's current yanked state wins for files we cached earlier.
        yanked = {f.filename: f for f in listing.project.files}
        files = attrs.evolve(
            files,
            files=tuple(
                attrs.evolve(
                    r, yanked=yanked[r.filename].yanked, yanked_reason=yanked[r.filename].yanked_reason
                )
                if r.origin == Origin.UPSTREAM and r.filename in yanked
                else r
                for r in files.files
            ),
            held_back=tuple((h.filename, h.version, policy.why(h)) for h in cooldown.held),
        )
        return _View(files, entry, listing, cooldown.valid_until)

    def project_files(self, identity: Identity, project: NormalizedName) -> ProjectFiles | UpstreamRedirect:
        """The files the caller sees in ``project`` (raises ``ProjectNotFound``)."""
        view = self._view(identity, project)
        return view if isinstance(view, UpstreamRedirect) else view.files

    def project_page(
        self, identity: Identity, project: NormalizedName, fmt: SimpleFormat
    ) -> Page | UpstreamRedirect:
        """``/simple/<project>/`` rendered; cached per format and source, shared by readers."""
        view = self._view(identity, project)
        if isinstance(view, UpstreamRedirect):
            return view
        key = (fmt, id(view.files))
        cached = view.entry.pages.get(key)
        if isinstance(cached, tuple) and cached[0] is view.files:
            self.metrics.count_cache(hit=True)
            page: Page = cached[1]
            return page
        self.metrics.count_cache(hit=False)
        body = render.project_json(view.files) if fmt.is_json else render.project_html(view.files)
        page = Page.of(body)
        if len(view.entry.pages) > 8:
            view.entry.pages.clear()
        view.entry.pages[key] = (view.files, page)
        return page

    def find_file(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None = None
    ) -> FileRecord | UpstreamRedirect:
        """A live file of ``project`` (never of another project), cached from upstream if needed."""
        self.require(identity, Permission.READ, project)
        entry = self.catalog.project(project)
        record = entry.record(filename)
        if record is None:  # maybe published by another process since our last look
            entry = self.catalog.reload(project, entry)
            record = entry.record(filename)
        if record is not None and record.origin == Origin.UPSTREAM and entry.files.has_private_files:
            record = None  # converted to private: cached upstream files are gone for good
        if record is None:
            return self._fetch_upstream(identity, project, filename, sha256)
        if record.deleted:
            raise FileGone(project, filename)
        if entry.files.status.hides_files:  # PEP 792: a quarantined project offers no files
            raise FileNotFoundInProject(project, filename)
        return record

    def _fetch_upstream(
        self, identity: Identity, project: NormalizedName, filename: str, sha256: str | None
    ) -> FileRecord | UpstreamRedirect:
        view = self._view(identity, project)  # applies the fallback rules for this caller
        if isinstance(view, UpstreamRedirect):
            return view
        if view.listing is None or self.mirror is None:
            raise FileNotFoundInProject(project, filename)
        self.require(identity, Permission.CACHE_UPDATE, project)
        for held in view.files.held_back:
            if held[0] == filename:  # the cooldown: never fetched, as if absent
                raise FileHeldBack(project, filename, held[2])
        wanted = [f for f in view.listing.project.files if f.filename == filename]
        if not wanted or (sha256 is not None and (wanted[0].sha256 or "-") != sha256):
            raise FileNotFoundInProject(project, filename)
        with self.mirror.locks.hold(f"file:{project}/{filename}"):
            record = self.catalog.reload(project).record(filename)
            if record is not None:
                return record
            try:
                record = publish_upstream_file(
                    self.storage,
                    self.mirror.upstream,
                    project,
                    wanted[0],
                    max_size=_UPSTREAM_MAX_FILE_SIZE,
                    limits=self.archive_limits,
                    wall_clock=self.wall_clock,
                )
            except RegistryError:
                self.metrics.count_upstream("file", "failed")
                raise
            self.metrics.count_upstream("file", "stored")
        self.catalog.invalidate(project)
        return record

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
        data = self.read_core_metadata(record)
        if data is None:
            raise FileNotFoundInProject(record.project, record.filename + ".metadata")
        return data

    # -- writing -----------------------------------------------------------------------

    def upload_limits(self) -> FormLimits:
        """Bounds for reading an upload form."""
        return FormLimits(max_file_size=self.settings.max_upload_size)

    def upload(self, identity: Identity, form: UploadForm, staged_path: str) -> UploadResult:
        """Validate an upload read into ``form`` (bytes at ``staged_path``) and publish it."""
        checked = validate_form(form)
        self.require(identity, Permission.WRITE, checked.project)
        entry = self.catalog.project(checked.project)
        if entry.stored and not entry.files.has_private_files and identity.user not in self.policy.admins:
            # DESIGN.md: uploading to a mirrored project converts it, so only admins may.
            if identity.user is None:
                raise AuthenticationRequired("Authentication required.")
            raise PermissionDenied(
                f"'{checked.project}' is mirrored from the upstream index; only an admin "
                "may upload to it (which makes it private)."
            )
        if entry.files.status.refuses_uploads:
            raise InvalidUpload(
                f"Project '{checked.project}' is {entry.files.status.status}; "
                "it accepts no uploads (PEP 792)."
            )
        return self.publish(identity, checked, staged_path, entry)

    def publish(
        self,
        identity: Identity,
        checked: ValidatedUpload,
        staged_path: str,
        entry: ProjectEntry | None = None,
    ) -> UploadResult:
        """Publish a checked file (an upload, or an import): identical bytes under a taken
        filename are a no-op, different bytes a conflict."""
        entry = entry if entry is not None else self.catalog.reload(checked.project)
        existing = entry.record(checked.dist.filename)
        if existing is not None:
            return UploadResult(existing_upload(existing, checked.form.sha256), created=False)
        check_release(entry.files, checked)
        record, created = publish_upload(
            self.storage,
            checked,
            staged_path,
            uploader=identity.user,
            limits=self.archive_limits,
            wall_clock=self.wall_clock,
        )
        self.catalog.invalidate(checked.project)
        if not created:  # another process won the race for this filename
            return UploadResult(existing_upload(record, checked.form.sha256), created=False)
        return UploadResult(record, created=True)
