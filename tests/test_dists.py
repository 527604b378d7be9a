"""Distribution filenames and core metadata read from archives (``pyregistry_core.dists``)."""

from __future__ import annotations

import io
import random
import struct
import zipfile

import pytest
from distfiles import core_metadata, dist_name, sdist_bytes, tar_gz_bytes, wheel_bytes, zip_bytes
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, canonicalize_name
from packaging.version import Version
from strategies import project_names, sdist_filenames, versions, wheel_filenames

from pyregistry_core.dists import (
    ArchiveLimits,
    CoreMetadata,
    DistFilename,
    DistKind,
    read_core_metadata,
)
from pyregistry_core.errors import InvalidUpload

WHEEL = DistFilename.from_filename("demo-1.0-py3-none-any.whl")
SDIST = DistFilename.from_filename("demo-1.0.tar.gz")
METADATA = core_metadata("demo", "1.0", requires_python=">=3.8,<4", summary="A demo.")
PKG_INFO = core_metadata("demo", "1.0", metadata_version="2.2")
TOP_ERROR = (
    "Invalid distribution file. Filename 'demo-1.0.tar.gz' is invalid: every member must "
    "be under 'demo-1.0/', found {member!r}."
)


DEFAULT_LIMITS = ArchiveLimits()


def read(data: bytes, dist: DistFilename, limits: ArchiveLimits = DEFAULT_LIMITS) -> CoreMetadata:
    """Read core metadata from archive bytes."""
    return read_core_metadata(io.BytesIO(data), dist, limits)


def rejection(data: bytes, dist: DistFilename, limits: ArchiveLimits = DEFAULT_LIMITS) -> str:
    """The message of the InvalidUpload that reading raises."""
    with pytest.raises(InvalidUpload) as info:
        read(data, dist, limits)
    return info.value.message


# --------------------------------------------------------------------------------------
# Filenames


@given(wheel_filenames())
def test_wheel_filenames_parse_to_normalized_name_and_version(wheel: tuple[str, str, str]) -> None:
    """A wheel filename gives the normalized project name, the version and kind bdist_wheel."""
    filename, name, version = wheel
    dist = DistFilename.from_filename(filename)
    assert dist.filename == filename
    assert dist.name == canonicalize_name(name)
    assert dist.version == Version(version)
    assert dist.kind is DistKind.WHEEL


@given(sdist_filenames())
def test_sdist_filenames_parse_to_normalized_name_and_version(sdist: tuple[str, str, str]) -> None:
    """A PEP 625 sdist filename gives the normalized name, the version and python tag "source"."""
    filename, name, version = sdist
    dist = DistFilename.from_filename(filename)
    assert (dist.name, dist.version, dist.kind, dist.python_tag) == (
        canonicalize_name(name),
        Version(version),
        DistKind.SDIST,
        "source",
    )


@pytest.mark.parametrize(
    ("filename", "name", "version", "python_tag"),
    [
        ("Foo.Bar-1.0-py3-none-any.whl", "foo-bar", "1.0", "py3"),
        ("foo_bar-2.0-1-py2.py3-none-any.whl", "foo-bar", "2.0", "py2.py3"),
        ("numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl", "numpy", "2.1.0", "cp312"),
        ("foo_bar-1.0.post1.tar.gz", "foo-bar", "1.0.post1", "source"),
    ],
)
def test_named_filenames(filename: str, name: str, version: str, python_tag: str) -> None:
    """Old-style wheel names, build tags and compressed tag sets parse as packaging does."""
    dist = DistFilename.from_filename(filename)
    assert (dist.name, dist.version, dist.python_tag) == (name, Version(version), python_tag)


@pytest.mark.parametrize("filename", ["demo-1.0.zip", "demo-1.0.tar.bz2", "demo-1.0.egg", "demo.txt"])
def test_from_filename_refuses_other_formats(filename: str) -> None:
    """Only wheels and .tar.gz sdists are distribution filenames for upload."""
    with pytest.raises(ValueError, match=r"not a wheel or \.tar\.gz sdist"):
        DistFilename.from_filename(filename)


@pytest.mark.parametrize(
    ("filename", "error"),
    [
        ("demo-1.0.whl", InvalidWheelFilename),
        ("demo-1.0-py3-none-any-x-y.whl", InvalidWheelFilename),
        ("demo.tar.gz", InvalidSdistFilename),
        ("demo-notaversion.tar.gz", InvalidSdistFilename),
    ],
)
def test_from_filename_raises_packaging_errors(filename: str, error: type[ValueError]) -> None:
    """Malformed wheel/sdist names raise packaging's errors (both ValueErrors)."""
    with pytest.raises(error):
        DistFilename.from_filename(filename)


@pytest.mark.parametrize(
    ("filename", "name", "version"),
    [
        ("demo-1.0.zip", "demo", "1.0"),
        ("Demo_Bar-1.0.tar.bz2", "demo-bar", "1.0"),
        ("foo-bar-1.0.tgz", "foo-bar", "1.0"),
        ("demo-1.0.tar", "demo", "1.0"),
        ("demo-1.0.egg", "demo", "1.0"),
        ("demo-1.0-py3-none-any.whl", "demo", "1.0"),
        ("demo-1.0.tar.gz", "demo", "1.0"),
    ],
)
def test_from_any_filename_reads_legacy_formats(filename: str, name: str, version: str) -> None:
    """Legacy sdists split at the last "-" (as pip does) and come out normalized."""
    dist = DistFilename.from_any_filename(filename)
    assert dist is not None
    assert (dist.filename, dist.name, dist.version) == (filename, name, Version(version))


@pytest.mark.parametrize("filename", ["demo.zip", "demo-notaversion.zip", "demo-1.0.txt", "demo-1.0.whl"])
def test_from_any_filename_returns_none_when_unknown(filename: str) -> None:
    """Names without a version, with an unknown suffix or a broken wheel name give None."""
    assert DistFilename.from_any_filename(filename) is None


# --------------------------------------------------------------------------------------
# Wheels


@given(
    project_names(max_size=20),
    versions(),
    st.one_of(st.none(), st.text(alphabet="<>=!~,.0123456789 ", min_size=1, max_size=15)),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=200),
)
def test_wheel_metadata_is_returned_byte_for_byte(
    name: str, version: str, requires_python: str | None, body: str
) -> None:
    """METADATA comes back as the exact bytes stored in the wheel, with name and version."""
    metadata = core_metadata(name, version, requires_python=requires_python) + body.encode()
    dist = DistFilename.from_filename(f"{dist_name(name)}-{version}-py3-none-any.whl")
    result = read(wheel_bytes(name, version, metadata=metadata), dist)
    assert result.raw == metadata
    assert (result.name, result.version) == (name, version)
    expected_requires = requires_python.strip() if requires_python is not None else None
    assert result.requires_python == (expected_requires or None)


def test_wheel_metadata_fields() -> None:
    """Name, version, Requires-Python and Summary are read from METADATA."""
    result = read(wheel_bytes("demo", "1.0", metadata=METADATA), WHEEL)
    assert (result.name, result.version, result.requires_python, result.summary) == (
        "demo",
        "1.0",
        ">=3.8,<4",
        "A demo.",
    )


def test_unknown_summary_is_none() -> None:
    """distutils' "UNKNOWN" placeholder reads as no value."""
    metadata = b"Metadata-Version: 1.0\nName: demo\nVersion: 1.0\nSummary: UNKNOWN\n"
    assert read(wheel_bytes("demo", "1.0", metadata=metadata), WHEEL).summary is None


def test_non_normalized_dist_info_is_found() -> None:
    """An old wheel's "Demo.Pkg-1.0.dist-info" belongs to project demo-pkg."""
    dist = DistFilename.from_filename("Demo.Pkg-1.0-py3-none-any.whl")
    metadata = core_metadata("Demo.Pkg", "1.0")
    data = wheel_bytes("demo-pkg", "1.0", dist_info="Demo.Pkg-1.0.dist-info", metadata=metadata)
    assert read(data, dist).raw == metadata


def test_wheel_without_metadata_is_rejected() -> None:
    """A wheel whose dist-info lacks METADATA is refused with PyPI's message."""
    data = zip_bytes(
        [("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n"), ("demo-1.0.dist-info/RECORD", b"")]
    )
    assert rejection(data, WHEEL) == (
        "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required METADATA file: "
        "demo-1.0.dist-info/METADATA"
    )


def test_wheel_without_dist_info_is_rejected() -> None:
    """A wheel with no dist-info directory for its project is refused."""
    data = zip_bytes(
        [
            ("demo/__init__.py", b""),
            ("other-1.0.dist-info/METADATA", METADATA),
            ("other-1.0.dist-info/WHEEL", b""),
        ]
    )
    assert rejection(data, WHEEL) == (
        "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required METADATA file: "
        "expected exactly one '<name>-<version>.dist-info' directory for 'demo'."
    )


def test_wheel_with_two_dist_info_directories_is_rejected() -> None:
    """Two dist-info directories of the same project make the metadata ambiguous."""
    data = wheel_bytes(
        "demo", "1.0", extra=[("Demo-1.0.dist-info/METADATA", METADATA), ("Demo-1.0.dist-info/WHEEL", b"")]
    )
    assert rejection(data, WHEEL) == (
        "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required METADATA file: "
        "expected exactly one '<name>-<version>.dist-info' directory for 'demo'."
    )


def test_wheel_without_wheel_file_is_rejected() -> None:
    """A dist-info directory without its WHEEL file is an invalid distribution."""
    data = zip_bytes([("demo-1.0.dist-info/METADATA", METADATA)])
    assert rejection(data, WHEEL) == (
        "Invalid distribution file. Wheel 'demo-1.0-py3-none-any.whl' does not contain "
        "demo-1.0.dist-info/WHEEL."
    )


def test_wheel_with_duplicate_members_is_rejected() -> None:
    """A zip listing one name twice (readers disagree which copy counts) is refused."""
    data = wheel_bytes("demo", "1.0", extra=[("demo-1.0.dist-info/METADATA", b"Name: evil\n")])
    assert rejection(data, WHEEL) == (
        "Invalid distribution file. Duplicate member 'demo-1.0.dist-info/METADATA' in "
        "'demo-1.0-py3-none-any.whl'."
    )


def test_wheel_declaring_too_many_bytes_is_rejected() -> None:
    """A zip whose declared uncompressed size passes the limit is refused unread (zip bomb)."""
    data = wheel_bytes("demo", "1.0", extra=[("demo/big.bin", b"\0" * 5000)])
    total = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert rejection(data, WHEEL, ArchiveLimits(max_total_size=4000)) == (
        f"Invalid distribution file. 'demo-1.0-py3-none-any.whl' declares {total} uncompressed bytes."
    )


def test_wheel_with_too_many_members_is_rejected() -> None:
    """More members than the limit is refused."""
    data = wheel_bytes("demo", "1.0", extra=[(f"demo/m{i}.py", b"") for i in range(10)])
    assert rejection(data, WHEEL, ArchiveLimits(max_members=5)) == (
        "Invalid distribution file. Too many members in 'demo-1.0-py3-none-any.whl'."
    )


def test_wheel_with_oversized_metadata_is_rejected() -> None:
    """A METADATA file larger than the metadata limit is refused."""
    data = wheel_bytes("demo", "1.0", metadata=METADATA + b"x" * 1000)
    assert rejection(data, WHEEL, ArchiveLimits(max_metadata_size=500)) == (
        "Invalid distribution file. METADATA of 'demo-1.0-py3-none-any.whl' is too large."
    )


def _understate_size(data: bytes, member: str, declared: int) -> bytes:
    """Rewrite a zip so ``member`` declares ``declared`` uncompressed bytes (a lying header)."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    patched = bytearray(data)
    struct.pack_into("<I", patched, info.header_offset + 22, declared)  # local header
    position = data.find(b"PK\x01\x02")
    while position != -1:  # central directory entries
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + name_length] == member.encode():
            struct.pack_into("<I", patched, position + 24, declared)
        position = data.find(b"PK\x01\x02", position + 1)
    return bytes(patched)


def test_wheel_metadata_lying_about_its_size_is_rejected() -> None:
    """A METADATA entry declaring fewer bytes than it holds cannot be read past the lie."""
    data = wheel_bytes("demo", "1.0", metadata=METADATA + b"x" * 5000)
    lying = _understate_size(data, "demo-1.0.dist-info/METADATA", 100)
    message = rejection(lying, WHEEL, ArchiveLimits(max_metadata_size=1000))
    assert message.startswith("Invalid distribution file. Cannot read demo-1.0.dist-info/METADATA: ")


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04truncated", tar_gz_bytes([])])
def test_non_zip_bytes_are_not_a_wheel(data: bytes) -> None:
    """Bytes that are not a zip archive are refused as an invalid wheel."""
    assert rejection(data, WHEEL) == (
        "Invalid distribution file. 'demo-1.0-py3-none-any.whl' is not a valid zip archive."
    )


def test_metadata_without_name_or_version_is_rejected() -> None:
    """Core metadata must have Name and Version."""
    data = wheel_bytes("demo", "1.0", metadata=b"Metadata-Version: 2.1\nName: demo\n")
    assert rejection(data, WHEEL) == (
        "Invalid distribution file. The metadata of 'demo-1.0-py3-none-any.whl' has no Name or no Version."
    )


# --------------------------------------------------------------------------------------
# Sdists


@given(project_names(max_size=20), versions())
def test_sdist_pkg_info_is_returned_byte_for_byte(name: str, version: str) -> None:
    """PKG-INFO at the top directory comes back as the exact bytes stored."""
    metadata = core_metadata(name, version, metadata_version="2.2", summary="s")
    filename = f"{dist_name(name)}-{version}.tar.gz"
    result = read(sdist_bytes(name, version, metadata=metadata), DistFilename.from_filename(filename))
    assert result.raw == metadata
    assert (result.name, result.version, result.summary) == (name, version, "s")


def test_sdist_with_dot_slash_prefix_is_read() -> None:
    """Members spelled "./demo-1.0/…" (some tar tools) are inside the top directory."""
    data = tar_gz_bytes([("./demo-1.0/PKG-INFO", PKG_INFO)])
    assert read(data, SDIST).raw == PKG_INFO


@pytest.mark.parametrize(
    "member",
    [
        "evil.txt",
        "other-1.0/PKG-INFO",
        "/etc/passwd",
        "demo-1.0x/file",
        "demo-1.0/../../etc/passwd",
        "demo-1.0/../evil.txt",
    ],
)
def test_sdist_members_outside_the_top_directory_are_rejected(member: str) -> None:
    """Every member must live under "<name>-<version>/"; ".." cannot climb out of it."""
    data = tar_gz_bytes([("demo-1.0/PKG-INFO", PKG_INFO), (member, b"x")])
    assert rejection(data, SDIST) == TOP_ERROR.format(member=member)


def test_sdist_without_pkg_info_is_rejected() -> None:
    """An sdist whose top directory has no PKG-INFO is refused (a nested one does not count)."""
    data = tar_gz_bytes([("demo-1.0/setup.py", b""), ("demo-1.0/src/PKG-INFO", PKG_INFO)])
    assert rejection(data, SDIST) == (
        "Invalid distribution file. 'demo-1.0.tar.gz' has no demo-1.0/PKG-INFO."
    )


def test_sdist_with_two_pkg_info_members_is_rejected() -> None:
    """Two top-level PKG-INFO members make the metadata ambiguous."""
    data = tar_gz_bytes([("demo-1.0/PKG-INFO", PKG_INFO), ("demo-1.0/PKG-INFO", b"Name: evil\n")])
    assert rejection(data, SDIST) == "Invalid distribution file. Duplicate PKG-INFO in 'demo-1.0.tar.gz'."


def test_sdist_expanding_past_the_ratio_is_rejected() -> None:
    """A .tar.gz decompressing to more than max_expansion_ratio times its size is refused."""
    data = sdist_bytes("demo", "1.0", extra=[("demo-1.0/zeros", b"\0" * 2_000_000)])
    assert len(data) * 10 < 2_000_000
    assert rejection(data, SDIST, ArchiveLimits(max_expansion_ratio=10)) == (
        "Invalid distribution file. 'demo-1.0.tar.gz' is too large when decompressed."
    )


def test_sdist_past_the_total_size_is_rejected() -> None:
    """A .tar.gz decompressing past max_total_size is refused."""
    data = sdist_bytes("demo", "1.0", extra=[("demo-1.0/zeros", b"\0" * 200_000)])
    assert rejection(data, SDIST, ArchiveLimits(max_total_size=50_000)) == (
        "Invalid distribution file. 'demo-1.0.tar.gz' is too large when decompressed."
    )


def test_sdist_with_too_many_members_is_rejected() -> None:
    """More members than the limit is refused."""
    data = sdist_bytes("demo", "1.0", extra=[(f"demo-1.0/f{i}", b"") for i in range(10)])
    assert rejection(data, SDIST, ArchiveLimits(max_members=5)) == (
        "Invalid distribution file. 'demo-1.0.tar.gz' is too large when decompressed."
    )


def test_sdist_with_oversized_pkg_info_is_rejected() -> None:
    """A PKG-INFO larger than the metadata limit is refused."""
    data = sdist_bytes("demo", "1.0", metadata=PKG_INFO + b"x" * 1000)
    assert rejection(data, SDIST, ArchiveLimits(max_metadata_size=500)) == (
        "Invalid distribution file. PKG-INFO of 'demo-1.0.tar.gz' is too large."
    )


@pytest.mark.parametrize("data", [b"", b"plain text", zip_bytes([("demo-1.0/PKG-INFO", PKG_INFO)])])
def test_non_tar_gz_bytes_are_not_an_sdist(data: bytes) -> None:
    """Bytes that are not a gzip'ed tar are refused as an invalid sdist."""
    assert rejection(data, SDIST) == (
        "Invalid distribution file. 'demo-1.0.tar.gz' is not a valid .tar.gz archive."
    )


def test_truncated_sdist_is_rejected() -> None:
    """A .tar.gz cut short is refused, never a crash."""
    noise = random.Random(0).randbytes(50_000)  # noqa: S311 - incompressible, so the cut lands in it
    data = sdist_bytes("demo", "1.0", extra=[("demo-1.0/data", noise)])
    message = rejection(data[: len(data) // 2], SDIST)
    assert message.startswith("Invalid distribution file. 'demo-1.0.tar.gz' is not a valid .tar.gz archive")
