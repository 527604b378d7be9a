"""``pyregistry import``: load an existing pypiserver or pypicloud storage into a registry.

Both keep distribution files in a directory tree (pypiserver: flat or nested folders;
pypicloud: ``<package>/<version>/<filename>`` on disk or keys in a bucket), so the
importer walks any fsspec URL and publishes every wheel and ``.tar.gz`` sdist it finds
through the same checks as an upload: metadata read from the archive, name and version
agreeing with the filename, hashes computed from the bytes. It is idempotent and
resumable: a file already published with the same bytes is skipped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import attrs
import fsspec

from ..acl import Identity
from ..dists import DistFilename
from ..errors import RegistryError
from ..upload import UploadForm, ValidatedUpload
from .facade import Registry

__all__ = ["ImportReport", "find_distributions", "import_tree"]

log = logging.getLogger(__name__)
OPERATOR = Identity(user="pyregistry-import", operator=True)


@attrs.define
class ImportReport:
    """What an import did."""

    imported: list[str] = attrs.field(factory=list)
    skipped: list[str] = attrs.field(factory=list)
    failed: list[tuple[str, str]] = attrs.field(factory=list)


def find_distributions(
    url: str, options: dict[str, object] | None = None
) -> tuple[fsspec.AbstractFileSystem, list[str]]:
    """The filesystem and every wheel / ``.tar.gz`` path below ``url``, sorted."""
    fs, root = fsspec.core.url_to_fs(url, **(options or {}))
    paths = sorted(p for p in fs.find(root) if p.endswith((".whl", ".tar.gz")))
    return fs, paths


def _hash_copy(fs: fsspec.AbstractFileSystem, path: str, staged: str) -> UploadForm:
    sha256, blake2, md5 = hashlib.sha256(), hashlib.blake2b(digest_size=32), hashlib.md5()  # noqa: S324 - checksum
    size = 0
    with fs.open(path, "rb") as source, open(staged, "wb") as target:
        while chunk := source.read(1024 * 1024):
            size += len(chunk)
            target.write(chunk)
            sha256.update(chunk)
            blake2.update(chunk)
            md5.update(chunk)
    return UploadForm(
        fields={},
        filename=path.rsplit("/", 1)[-1],
        size=size,
        sha256=sha256.hexdigest(),
        blake2_256=blake2.hexdigest(),
        md5=md5.hexdigest(),
    )


def import_tree(
    registry: Registry,
    url: str,
    *,
    options: dict[str, object] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> ImportReport:
    """Publish every distribution below ``url`` into ``registry``."""
    fs, paths = find_distributions(url, options)
    report = ImportReport()
    for index, path in enumerate(paths, start=1):
        filename = path.rsplit("/", 1)[-1]
        if progress is not None:
            progress(index, len(paths), filename)
        try:
            _import_one(registry, fs, path, filename, report)
        except (RegistryError, ValueError, OSError) as exc:
            message = exc.message if isinstance(exc, RegistryError) else str(exc)
            report.failed.append((path, message))
            log.warning("not imported: %s: %s", path, message)
    return report


def _import_one(
    registry: Registry, fs: fsspec.AbstractFileSystem, path: str, filename: str, report: ImportReport
) -> None:
    dist = DistFilename.from_filename(filename)
    with registry.storage.staging_file() as staged:
        form = _hash_copy(fs, path, staged)
        checked = ValidatedUpload(dist.name, dist.name, dist.version, dist, form)
        result = registry.publish(OPERATOR, checked, staged)  # raises when the bytes differ
    (report.imported if result.created else report.skipped).append(filename)
