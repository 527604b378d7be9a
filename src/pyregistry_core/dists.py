"""Distribution files: filenames (wheel, PEP 625 sdist) and their core metadata.

Invariant: a ``DistFilename`` always carries the normalized project name parsed by
``packaging.utils``; code that binds a file to a project compares those names, never
prefixes of strings. Archives are read in place (never extracted) with limits on
member count and declared sizes.
"""

from __future__ import annotations

import enum
import tarfile
import zipfile
from email.parser import BytesParser
from email.policy import compat32
from typing import IO

import attrs
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .errors import InvalidUpload
from .zip_layout import ZipLayoutError, check_zip_layout

__all__ = [
    "ArchiveLimits",
    "CoreMetadata",
    "DistFilename",
    "DistKind",
    "check_unambiguous_archive",
    "read_core_metadata",
]


class DistKind(str, enum.Enum):
    """What a file is; the values are the legacy upload API's ``filetype``."""

    WHEEL = "bdist_wheel"
    SDIST = "sdist"


# Formats other indexes still serve (mirrored content); never accepted for upload.
_LEGACY_SUFFIXES = (".zip", ".tar.bz2", ".tgz", ".tar", ".egg", ".exe")


@attrs.frozen
class DistFilename:
    """A parsed distribution filename."""

    filename: str
    name: NormalizedName
    version: Version
    kind: DistKind
    python_tag: str

    @classmethod
    def from_filename(cls, filename: str) -> DistFilename:
        """Parse a wheel or PEP 625 ``.tar.gz`` sdist filename (raises ``ValueError``)."""
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            python_tag = ".".join(sorted({t.interpreter for t in tags}))
            return cls(filename, name, version, DistKind.WHEEL, python_tag)
        if filename.endswith(".tar.gz"):
            name, version = parse_sdist_filename(filename)
            return cls(filename, name, version, DistKind.SDIST, "source")
        raise ValueError(f"not a wheel or .tar.gz sdist: {filename!r}")

    @classmethod
    def from_any_filename(cls, filename: str) -> DistFilename | None:
        """Parse any filename an upstream index may list, or ``None`` when it is unknown.

        Legacy sdists (``.zip``, ``.tar.bz2``…) split at the last ``-`` as pip does.
        """
        try:
            return cls.from_filename(filename)
        except (ValueError, InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            pass
        for suffix in _LEGACY_SUFFIXES:
            if filename.endswith(suffix):
                stem = filename[: -len(suffix)]
                name, sep, version = stem.rpartition("-")
                if not sep:
                    return None
                try:
                    parsed = Version(version)
                except InvalidVersion:
                    return None
                return cls(filename, canonicalize_name(name), parsed, DistKind.SDIST, "source")
        return None


@attrs.frozen
class ArchiveLimits:
    """Bounds on what reading an archive may cost."""

    max_members: int = 100_000
    max_metadata_size: int = 4 * 1024 * 1024
    # A tar.gz is read sequentially: stop when decompressed bytes exceed this ratio.
    max_expansion_ratio: int = 200
    max_total_size: int = 8 * 1024 * 1024 * 1024


@attrs.frozen
class CoreMetadata:
    """The core metadata file of a distribution and the fields the index uses."""

    raw: bytes
    name: str
    version: str
    requires_python: str | None
    summary: str | None

    @classmethod
    def from_bytes(cls, raw: bytes, filename: str) -> CoreMetadata:
        """Parse METADATA/PKG-INFO bytes; name and version are required."""
        message = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
        name = message.get("Name")
        version = message.get("Version")
        if not name or not version:
            raise InvalidUpload(
                f"Invalid distribution file. The metadata of {filename!r} has no Name or no Version."
            )

        def optional(key: str) -> str | None:
            value = message.get(key)
            if value is None:
                return None
            text = str(value).strip()
            return None if text in ("", "UNKNOWN") else text

        return cls(
            raw, str(name).strip(), str(version).strip(), optional("Requires-Python"), optional("Summary")
        )


def read_core_metadata(
    fileobj: IO[bytes], dist: DistFilename, limits: ArchiveLimits = ArchiveLimits()
) -> CoreMetadata:
    """Read a distribution's core metadata without extracting the archive."""
    if dist.kind is DistKind.WHEEL:
        return _wheel_metadata(fileobj, dist, limits)
    return _sdist_metadata(fileobj, dist, limits)


def check_unambiguous_archive(fileobj: IO[bytes], dist: DistFilename) -> None:
    """Refuse an upload that different readers would read differently (as PyPI since 2025):
    a wheel that is not a plainly laid out zip, a file that is both a tar and a zip."""
    if dist.kind is DistKind.SDIST:
        if zipfile.is_zipfile(fileobj):
            raise _invalid(f"{dist.filename!r} is both a tar and a zip archive.")
        fileobj.seek(0)
        return
    try:
        with zipfile.ZipFile(fileobj) as archive:
            check_zip_layout(fileobj, archive)
    except ZipLayoutError as exc:
        raise _invalid(f"{dist.filename!r} is an ambiguous zip archive: {exc}.") from exc
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _invalid(f"{dist.filename!r} is not a valid zip archive.") from exc
    fileobj.seek(0)
    if tarfile.is_tarfile(fileobj):
        raise _invalid(f"{dist.filename!r} is both a zip and a tar archive.")
    fileobj.seek(0)


def _invalid(why: str) -> InvalidUpload:
    return InvalidUpload(f"Invalid distribution file. {why}")


def _wheel_metadata(fileobj: IO[bytes], dist: DistFilename, limits: ArchiveLimits) -> CoreMetadata:
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _invalid(f"{dist.filename!r} is not a valid zip archive.") from exc
    with archive:
        seen = _wheel_members(archive, dist, limits)
        dist_info = _dist_info_folder(seen, dist)
        metadata_name = f"{dist_info}/METADATA"
        if metadata_name not in seen:
            raise InvalidUpload(
                f"Wheel '{dist.filename}' does not contain the required METADATA file: {metadata_name}"
            )
        if f"{dist_info}/WHEEL" not in seen:
            raise _invalid(f"Wheel '{dist.filename}' does not contain {dist_info}/WHEEL.")
        info = archive.getinfo(metadata_name)
        if info.file_size > limits.max_metadata_size:
            raise _invalid(f"METADATA of {dist.filename!r} is too large.")
        try:
            with archive.open(info) as member:
                raw = member.read(limits.max_metadata_size + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise _invalid(f"Cannot read {metadata_name}: {exc}") from exc
        if len(raw) > limits.max_metadata_size:
            raise _invalid(f"METADATA of {dist.filename!r} is too large.")
        return CoreMetadata.from_bytes(raw, dist.filename)


def _wheel_members(archive: zipfile.ZipFile, dist: DistFilename, limits: ArchiveLimits) -> set[str]:
    """The member names, once each, within the archive bounds (a zip bomb is refused unread)."""
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise _invalid(f"Too many members in {dist.filename!r}.")
    seen: set[str] = set()
    total = 0
    for info in infos:
        if info.filename in seen:
            raise _invalid(f"Duplicate member {info.filename!r} in {dist.filename!r}.")
        seen.add(info.filename)
        total += info.file_size
    if total > limits.max_total_size:
        raise _invalid(f"{dist.filename!r} declares {total} uncompressed bytes.")
    return seen


def _dist_info_folder(members: set[str], dist: DistFilename) -> str:
    """The one top-level ``<name>-<version>.dist-info`` folder of the wheel's own project."""
    dist_infos = {
        name.split("/", 1)[0]
        for name in members
        if name.split("/", 1)[0].endswith(".dist-info") and name.count("/") == 1
    }
    matching = [
        d for d in dist_infos if canonicalize_name(d[: -len(".dist-info")].rpartition("-")[0]) == dist.name
    ]
    if len(matching) != 1:
        raise InvalidUpload(
            f"Wheel '{dist.filename}' does not contain the required METADATA file: "
            f"expected exactly one '<name>-<version>.dist-info' directory for '{dist.name}'."
        )
    return matching[0]


def _sdist_metadata(fileobj: IO[bytes], dist: DistFilename, limits: ArchiveLimits) -> CoreMetadata:
    fileobj.seek(0, 2)
    compressed = max(fileobj.tell(), 1)
    fileobj.seek(0)
    budget = min(limits.max_total_size, compressed * limits.max_expansion_ratio)
    top = f"{dist.filename[: -len('.tar.gz')]}"
    try:
        archive = tarfile.open(fileobj=fileobj, mode="r:gz")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _invalid(f"{dist.filename!r} is not a valid .tar.gz archive.") from exc
    raw: bytes | None = None
    try:
        for count, member in enumerate(archive, start=1):
            if count > limits.max_members or archive.offset > budget:
                raise _invalid(f"{dist.filename!r} is too large when decompressed.")
            parts = member.name.split("/")
            if parts[0] == ".":
                parts = parts[1:]
            if parts[:1] != [top] or ".." in parts or member.name.startswith("/"):
                raise _invalid(
                    f"Filename {dist.filename!r} is invalid: every member must be under "
                    f"'{top}/', found {member.name!r}."
                )
            if parts[-2:] == [top, "PKG-INFO"] and member.isfile():
                if raw is not None:
                    raise _invalid(f"Duplicate PKG-INFO in {dist.filename!r}.")
                if member.size > limits.max_metadata_size:
                    raise _invalid(f"PKG-INFO of {dist.filename!r} is too large.")
                extracted = archive.extractfile(member)
                raw = extracted.read() if extracted is not None else b""
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        if isinstance(exc, InvalidUpload):
            raise
        raise _invalid(f"{dist.filename!r} is not a valid .tar.gz archive: {exc}") from exc
    finally:
        archive.close()
    if raw is None:
        raise _invalid(f"{dist.filename!r} has no {top}/PKG-INFO.")
    return CoreMetadata.from_bytes(raw, dist.filename)
