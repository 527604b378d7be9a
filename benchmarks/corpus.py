"""Test data: a storage directory written in pyregistry's layout, and valid wheels.

The index corpus is written straight into the layout ``pyregistry_core.storage``
documents (``index/<project>/<filename>.json`` holding ``FileRecord.to_json()``, each
project's manifest and the project list of layout v2): that is what uploads leave
behind, minus the fsync per record, so 10,000 projects take seconds. Listed files have
no bytes; only pages are served from this corpus.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import attrs
from packaging.utils import canonicalize_name

from pyregistry_core.records import FileRecord
from pyregistry_core.storage import record_key
from pyregistry_core.storage.manifest import ROOT_KEY, Manifest, RootListing, manifest_key

__all__ = [
    "BIG_PROJECT",
    "Corpus",
    "Wheel",
    "big_project_records",
    "build_wheel",
    "manifest_documents",
    "wheel_bytes",
    "write_corpus",
]

BIG_PROJECT = canonicalize_name("bench-big")
_UPLOAD_TIME = "2024-01-02T03:04:05.000000Z"


@attrs.frozen
class Corpus:
    """A storage directory: ``projects`` projects, one of them ``BIG_PROJECT``."""

    root: Path
    projects: int
    big_files: int


def _fake_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _records(projects: int, big_files: int) -> Iterator[FileRecord]:
    yield from _small_records(projects - 1)
    yield from big_project_records(big_files)


def _small_records(projects: int) -> Iterator[FileRecord]:
    for number in range(projects):
        name = canonicalize_name(f"project-{number:05d}")
        filename = f"project_{number:05d}-1.0-py3-none-any.whl"
        yield FileRecord(
            project=name,
            filename=filename,
            version="1.0",
            kind="bdist_wheel",
            size=2048,
            sha256=_fake_digest(filename),
            upload_time=_UPLOAD_TIME,
            requires_python=">=3.8",
            metadata_sha256=_fake_digest(filename + ".metadata"),
            python_tag="py3",
        )


def big_project_records(big_files: int) -> Iterator[FileRecord]:
    """The records of ``BIG_PROJECT``: alternately a wheel and an sdist per version."""
    for number in range(big_files):
        version = f"1.{number // 2}.0"
        if number % 2 == 0:
            filename, kind, tag = f"bench_big-{version}-py3-none-any.whl", "bdist_wheel", "py3"
        else:
            filename, kind, tag = f"bench_big-{version}.tar.gz", "sdist", "source"
        yield FileRecord(
            project=BIG_PROJECT,
            filename=filename,
            version=version,
            kind=kind,
            size=150_000 + number,
            sha256=_fake_digest(filename),
            upload_time=_UPLOAD_TIME,
            requires_python=">=3.8",
            metadata_sha256=_fake_digest(filename + ".metadata") if kind == "bdist_wheel" else None,
            python_tag=tag,
        )


def write_corpus(root: Path, projects: int, big_files: int) -> Corpus:
    """Write ``projects`` projects (``projects - 1`` with one wheel, plus ``BIG_PROJECT``)."""
    made: set[Path] = set()
    by_project: dict[str, list[FileRecord]] = {}
    for record in _records(projects, big_files):
        path = root.joinpath(*record_key(record.project, record.filename).split("/"))
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(record.to_json())
        by_project.setdefault(record.project, []).append(record)
    for name, records in manifest_documents(by_project).items():
        target = root.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(records)
    for directory in (".staging", "files"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    return Corpus(root, projects, big_files)


def manifest_documents(by_project: dict[str, list[FileRecord]]) -> dict[str, bytes]:
    """Layout v2's documents for these records: key -> bytes."""
    documents = {
        manifest_key(records[0].project): attrs.evolve(
            Manifest.from_records(records[0].project, records, Manifest(records[0].project).status),
            listed=True,
        ).to_json()
        for records in by_project.values()
    }
    documents[ROOT_KEY] = RootListing(frozenset(by_project)).to_json()
    return documents


@attrs.frozen
class Wheel:
    """A wheel written to disk, with what an upload form states about it."""

    path: Path
    name: str
    version: str
    size: int
    sha256: str


def _record_hash(digest: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build_wheel(directory: Path, name: str, version: str, payload_size: int) -> Wheel:
    """Write a valid wheel whose one data member holds ``payload_size`` random bytes.

    The member is STORED (incompressible bytes gain nothing from deflate) and written in
    1 MiB chunks, so a 500 MB wheel never sits in memory.
    """
    dist = name.replace("-", "_")
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: benchmark payload\n"
    wheel_file = (
        "Wheel-Version: 1.0\nGenerator: pyregistry-benchmarks\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record_lines: list[str] = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        member = zipfile.ZipInfo(f"{dist}/payload.bin", date_time=(2024, 1, 2, 3, 4, 6))
        digest = hashlib.sha256()
        with archive.open(member, "w", force_zip64=payload_size > 2**31) as out:
            remaining = payload_size
            while remaining > 0:
                chunk = os.urandom(min(remaining, 1 << 20))
                digest.update(chunk)
                out.write(chunk)
                remaining -= len(chunk)
        record_lines.append(f"{member.filename},{_record_hash(digest.digest())},{payload_size}")
        for member_name, text in ((f"{info}/METADATA", metadata), (f"{info}/WHEEL", wheel_file)):
            data = text.encode()
            archive.writestr(member_name, data)
            record_lines.append(f"{member_name},{_record_hash(hashlib.sha256(data).digest())},{len(data)}")
        record_lines.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(record_lines) + "\n")
    file_digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            file_digest.update(block)
    return Wheel(path, name, version, path.stat().st_size, file_digest.hexdigest())


def wheel_bytes(name: str, version: str) -> bytes:
    """A small valid wheel in memory (for uploads that invalidate a page)."""
    buffer = io.BytesIO()
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return buffer.getvalue()
