"""Publishing files: private uploads (the ``Publisher`` use case) and files cached from the upstream.

Invariants:
1. (storage/base.py rule 1) Bytes and metadata are stored first, then the record is
   created create-only (the commit point: when two writers race on one filename, the
   loser answers as for an existing file), and last the record joins the project's
   manifest, so a file is listed only once it is complete. The manifest step runs for a
   loser too: a retry after a crash between the two writes repairs the manifest.
2. An upload is checked in PyPI's order: the form, write permission on its project,
   then the project's state (mirrored projects take uploads from admins only,
   archived ones from nobody), then the filename and the release.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone

import attrs
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..acl import Identity, Permission
from ..dists import ArchiveLimits, DistFilename, DistKind, check_unambiguous_archive, read_core_metadata
from ..errors import FileConflict, InvalidUpload, UpstreamError
from ..names import NormalizedName
from ..provenance import ProvenanceRejected, check_upload_attestations
from ..records import FileRecord, Origin, ProjectFiles
from ..storage.base import Storage, blob_key
from ..storage.catalog import Catalog, ProjectEntry
from ..storage.state import add_file
from ..upload import FormLimits, UploadForm, ValidatedUpload, validate_form
from ..upstream.client import Upstream, UpstreamFile, verify_hashes
from .permissions import Permissions, refusal
from .results import UploadResult
from .upstream_provenance import store_provenance

__all__ = [
    "Publisher",
    "check_release",
    "existing_upload",
    "publish_upload",
    "publish_upstream_file",
    "upstream_record",
    "utc_now",
]


@attrs.frozen
class Publisher:
    """The upload use case: validate, check permission and project state, publish."""

    permissions: Permissions
    catalog: Catalog
    storage: Storage
    limits: ArchiveLimits
    wall_clock: Callable[[], float]
    max_upload_size: int

    def form_limits(self) -> FormLimits:
        """Bounds for reading an upload form."""
        return FormLimits(max_file_size=self.max_upload_size)

    def upload(self, identity: Identity, form: UploadForm, staged_path: str) -> UploadResult:
        """Validate an upload read into ``form`` (bytes at ``staged_path``) and publish it."""
        checked = validate_form(form)
        self.permissions.require(identity, Permission.WRITE, checked.project)
        entry = self.catalog.project(checked.project)
        mirrored = entry.stored and not entry.files.has_private_files
        if mirrored and not self.permissions.is_admin(identity):
            # DESIGN.md: uploading to a mirrored project converts it, so only admins may.
            raise refusal(
                identity,
                f"'{checked.project}' is mirrored from the upstream index; only an admin "
                "may upload to it (which makes it private).",
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
            limits=self.limits,
            wall_clock=self.wall_clock,
        )
        self.catalog.invalidate(checked.project)
        if not created:  # another process won the race for this filename
            return UploadResult(existing_upload(record, checked.form.sha256), created=False)
        return UploadResult(record, created=True)


def _checked_attestations(form: UploadForm, filename: str) -> str | None:
    """PEP 740: the ``attestations`` field, when sent, must name this file and its sha256."""
    text = form.get("attestations")
    if not text:
        return None
    try:
        check_upload_attestations(text, filename, form.sha256)
    except ProvenanceRejected as error:
        raise InvalidUpload(f"Invalid attestations supplied during upload: {error}") from error
    return text


def utc_now(wall_clock: Callable[[], float]) -> str:
    """The time as PEP 700 wants it: ``yyyy-mm-ddThh:mm:ss.ffffffZ``."""
    return datetime.fromtimestamp(wall_clock(), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def existing_upload(record: FileRecord, sha256: str) -> FileRecord:
    """Answer an upload whose filename is taken: identical bytes are a harmless no-op."""
    if record.deleted:
        raise InvalidUpload(
            "This filename was previously used by a file that has since been deleted. "
            "Use a different version."
        )
    if record.sha256 == sha256:
        return record
    raise FileConflict(
        f"File already exists ('{record.filename}', with blake2_256 hash "
        f"'{record.blake2b_256 or ''}'). Published files never change: upload a new version."
    )


def check_release(files: ProjectFiles, checked: ValidatedUpload) -> None:
    """PyPI's per-release rule kept by DESIGN.md: one sdist per release."""
    if checked.dist.kind is not DistKind.SDIST:
        return
    for record in files.files:
        if record.kind == DistKind.SDIST.value and record.parsed_version == checked.version:
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
        raise InvalidUpload(
            f"Invalid distribution file. The metadata's Version {version!r} is invalid."
        ) from exc
    if parsed != checked.version:
        raise InvalidUpload(
            f"Invalid distribution file. The metadata's Version '{version}' does not match "
            f"the uploaded version '{checked.version}'."
        )


def _create(storage: Storage, record: FileRecord) -> tuple[FileRecord, bool]:
    """Create the record and list it; if another writer won, return theirs and False
    (as the manifest holds it: yanked or deleted since, perhaps)."""
    if storage.create_record(record.project, record.filename, record.to_json()):
        return add_file(storage, record), True
    data = storage.read_record(record.project, record.filename)
    if data is None:
        raise InvalidUpload("File already exists (a concurrent upload is in progress).")
    return add_file(storage, FileRecord.from_json(data)), False


def publish_upload(
    storage: Storage,
    checked: ValidatedUpload,
    staged_path: str,
    *,
    uploader: str | None,
    limits: ArchiveLimits,
    wall_clock: Callable[[], float],
) -> tuple[FileRecord, bool]:
    """Read the archive's metadata, store bytes and metadata, then create the record."""
    form: UploadForm = checked.form
    with open(staged_path, "rb") as handle:
        check_unambiguous_archive(handle, checked.dist)
        metadata = read_core_metadata(handle, checked.dist, limits)
    _check_metadata_agrees(checked, metadata.name, metadata.version)
    key = blob_key(checked.project, form.sha256, checked.dist.filename)
    attestations = _checked_attestations(form, checked.dist.filename)
    if attestations is not None:  # stored, never advertised: signatures are not verified
        storage.put_blob(key + ".attestations", attestations.encode())
    metadata_sha256 = None
    if checked.dist.kind is DistKind.WHEEL:
        storage.put_blob(key + ".metadata", metadata.raw)
        metadata_sha256 = hashlib.sha256(metadata.raw).hexdigest()
    else:  # PKG-INFO feeds the JSON API; sdist metadata is not advertised (PEP 658)
        storage.put_blob(key + ".pkg-info", metadata.raw)
    storage.publish_blob(staged_path, key)  # a copy inside the store when staged there
    record = FileRecord(
        project=checked.project,
        filename=checked.dist.filename,
        version=str(checked.version),
        kind=checked.dist.kind.value,
        size=form.size,
        sha256=form.sha256,
        blake2b_256=form.blake2_256,
        md5=form.md5,
        upload_time=utc_now(wall_clock),
        requires_python=metadata.requires_python,
        metadata_sha256=metadata_sha256,
        python_tag=checked.dist.python_tag,
        summary=metadata.summary,
        origin=Origin.UPLOAD,
        uploader=uploader,
    )
    return _create(storage, record)


def upstream_record(project: NormalizedName, file: UpstreamFile, external: bool) -> FileRecord:
    """How an upstream file not stored here is listed."""
    dist = DistFilename.from_any_filename(file.filename)
    return FileRecord(
        project=project,
        filename=file.filename,
        version=str(dist.version) if dist is not None else "",
        kind=dist.kind.value if dist is not None else DistKind.SDIST.value,
        size=file.size,
        sha256=file.sha256 or "-",
        upload_time=file.upload_time,
        requires_python=file.requires_python,
        metadata_sha256=file.metadata_sha256,
        python_tag=dist.python_tag if dist is not None else "source",
        yanked=file.yanked,
        yanked_reason=file.yanked_reason,
        origin=Origin.UPSTREAM,
        external_url=file.url if external else None,
        # PEP 740: offered at our URL, fetched when asked for, bound to the advertised sha256.
        provenance_sha256="-" if file.provenance is not None and file.sha256 and not external else None,
    )


def publish_upstream_file(
    storage: Storage,
    upstream: Upstream,
    project: NormalizedName,
    file: UpstreamFile,
    *,
    max_size: int,
    limits: ArchiveLimits,
    wall_clock: Callable[[], float],
) -> FileRecord:
    """Download, verify, store and publish one upstream file."""
    dist = DistFilename.from_any_filename(file.filename)
    if dist is None or dist.name != project:
        raise UpstreamError(f"upstream lists {file.filename!r}, which is not a file of {project!r}")
    with storage.staging_upload() as staged:
        with staged.writer() as out:
            size = upstream.download(
                file.url, out, max_size if file.size is None else min(max_size, file.size)
            )
        if file.size is not None and size != file.size:
            raise UpstreamError(f"upstream sent {size} bytes for {file.filename!r}, expected {file.size}")
        sha256 = verify_hashes(staged.path, file.hashes)
        key = blob_key(project, sha256, file.filename)
        metadata_sha256 = None
        if dist.kind is DistKind.WHEEL:
            try:
                with open(staged.path, "rb") as handle:
                    raw = read_core_metadata(handle, dist, limits).raw
            except InvalidUpload as exc:
                raise UpstreamError(f"upstream wheel {file.filename!r} is invalid: {exc.message}") from exc
            storage.put_blob(key + ".metadata", raw)
            metadata_sha256 = hashlib.sha256(raw).hexdigest()
        storage.publish_blob(staged.path, key)
    # Before the record: listed with it (and only what the record names is advertised).
    provenance_sha256 = store_provenance(storage, upstream, project, file, key, sha256)
    record = FileRecord(
        project=project,
        filename=file.filename,
        version=str(dist.version),
        kind=dist.kind.value,
        size=size,
        sha256=sha256,
        upload_time=file.upload_time or utc_now(wall_clock),
        requires_python=file.requires_python,
        metadata_sha256=metadata_sha256,
        python_tag=dist.python_tag,
        yanked=file.yanked,
        yanked_reason=file.yanked_reason,
        origin=Origin.UPSTREAM,
        provenance_sha256=provenance_sha256,
    )
    return _create(storage, record)[0]
