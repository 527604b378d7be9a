"""Build distribution files and upload bodies in memory (a large wheel streamed to disk),
fast and without a build backend: the one place tests make wheels by hand.

Shared by the core tests; every builder returns bytes so a test can hash, truncate or
corrupt them before use.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import warnings
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "ZIP_TIME",
    "FileDigests",
    "core_metadata",
    "digests",
    "dist_name",
    "multipart_body",
    "record_hash",
    "sdist_bytes",
    "tar_gz_bytes",
    "twine_fields",
    "upload_body",
    "wheel_bytes",
    "write_large_wheel",
    "zip_bytes",
]


def dist_name(name: str) -> str:
    """The name as wheel and PEP 625 sdist filenames spell it: normalized, "_" for runs."""
    return re.sub(r"[-_.]+", "_", name).lower()


def core_metadata(
    name: str,
    version: str,
    *,
    metadata_version: str = "2.1",
    requires_python: str | None = None,
    summary: str | None = None,
    dependencies: Sequence[str] = (),
    description: str = "A long description.\n",
) -> bytes:
    """A METADATA / PKG-INFO file: the required fields, those given, then the description."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    if summary is not None:
        lines.append(f"Summary: {summary}")
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Requires-Dist: {d}" for d in dependencies)
    return ("\n".join(lines) + "\n\n" + description).encode()


# Fixed, so a builder gives the same bytes for the same inputs (zip's default is now).
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def zip_bytes(members: Iterable[tuple[str, bytes]], *, stored: Collection[str] = ()) -> bytes:
    """A zip archive of ``(name, data)`` members, in order (duplicates allowed); the
    members named in ``stored`` are not compressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            with warnings.catch_warnings():
                # zipfile warns on a duplicate name; duplicates are what some tests want.
                warnings.simplefilter("ignore", UserWarning)
                archive.writestr(info, data)
    return buffer.getvalue()


def record_hash(data: bytes) -> str:
    """A RECORD file's hash of ``data`` (PEP 376: urlsafe base64 sha256, no padding)."""
    return _record_digest(hashlib.sha256(data).digest())


def _record_digest(digest: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _wheel_file(generator: str, tag: str) -> bytes:
    """A wheel's ``WHEEL`` file."""
    return f"Wheel-Version: 1.0\nGenerator: {generator}\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()


def wheel_bytes(
    name: str,
    version: str,
    *,
    dist_info: str | None = None,
    metadata: bytes | None = None,
    module: bytes = b"",
    tag: str = "py3-none-any",
    generator: str = "tests",
    extra: Sequence[tuple[str, bytes]] = (),
    stored: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """A wheel pip can install: ``<name>/__init__.py`` holding ``module``, the ``extra``
    members, then ``<dist_info>/{METADATA,WHEEL}`` and a RECORD listing every member;
    ``stored`` members are added uncompressed (incompressible padding, for size limits)."""
    package = dist_name(name)
    dist_info = dist_info or f"{package}-{version}.dist-info"
    metadata = metadata if metadata is not None else core_metadata(name, version)
    members = [
        (f"{package}/__init__.py", module),
        *stored,
        *extra,
        (f"{dist_info}/METADATA", metadata),
        (f"{dist_info}/WHEEL", _wheel_file(generator, tag)),
    ]
    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data in members)
    members.append((f"{dist_info}/RECORD", f"{record}{dist_info}/RECORD,,\n".encode()))
    return zip_bytes(members, stored={path for path, _ in stored})


def write_large_wheel(path: Path, name: str, version: str, payload_size: int) -> None:
    """A valid wheel at ``path`` holding one uncompressed member of ``payload_size``
    random bytes, written streaming: memory stays flat however large it is."""
    package = dist_name(name)
    dist_info = f"{package}-{version}.dist-info"
    small = [
        (f"{package}/__init__.py", f"__version__ = {version!r}\n".encode()),
        (f"{dist_info}/METADATA", core_metadata(name, version)),
        (f"{dist_info}/WHEEL", _wheel_file("tests", "py3-none-any")),
    ]
    record = [f"{member},{record_hash(data)},{len(data)}" for member, data in small]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for member, data in small:
            archive.writestr(zipfile.ZipInfo(member, date_time=ZIP_TIME), data)
        payload, digest = f"{package}/payload.bin", hashlib.sha256()
        with archive.open(zipfile.ZipInfo(payload, date_time=ZIP_TIME), "w", force_zip64=True) as out:
            for start in range(0, payload_size, 1 << 20):
                chunk = os.urandom(min(1 << 20, payload_size - start))
                out.write(chunk)
                digest.update(chunk)
        record += [f"{payload},{_record_digest(digest.digest())},{payload_size}", f"{dist_info}/RECORD,,"]
        archive.writestr(zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=ZIP_TIME), "\n".join(record) + "\n")


def tar_gz_bytes(members: Iterable[tuple[str, bytes | None]]) -> bytes:
    """A gzip'ed pax tar of ``(name, data)`` members; ``None`` data makes a directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sdist_bytes(
    name: str,
    version: str,
    *,
    top: str | None = None,
    metadata: bytes | None = None,
    extra: Sequence[tuple[str, bytes | None]] = (),
) -> bytes:
    """A PEP 625 sdist: ``<top>/PKG-INFO`` and ``<top>/pyproject.toml``."""
    top = top or f"{dist_name(name)}-{version}"
    metadata = metadata if metadata is not None else core_metadata(name, version, metadata_version="2.2")
    return tar_gz_bytes(
        [
            (top, None),
            (f"{top}/PKG-INFO", metadata),
            (f"{top}/pyproject.toml", b"[project]\n"),
            *extra,
        ]
    )


class FileDigests:
    """The three digests the legacy upload API knows, as lowercase hex."""

    def __init__(self, data: bytes) -> None:
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.blake2_256 = hashlib.blake2b(data, digest_size=32).hexdigest()
        self.md5 = hashlib.md5(data).hexdigest()  # noqa: S324 - the API's checksum


def digests(data: bytes) -> FileDigests:
    """Digests of ``data``."""
    return FileDigests(data)


def multipart_body(
    fields: Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]],
    files: Sequence[tuple[str, str, bytes, str | None]] = (),
    *,
    boundary: str = "pyregistry-test-boundary",
) -> tuple[bytes, str]:
    """Encode a multipart/form-data body; ``files`` are ``(field, filename, data, type)``.

    Returns the body and the matching Content-Type header.
    """
    items: list[tuple[str, str]] = []
    if isinstance(fields, Mapping):
        for key, value in fields.items():
            for one in [value] if isinstance(value, str) else value:
                items.append((key, one))
    else:
        items = list(fields)
    out = io.BytesIO()
    for key, value in items:
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{key}"\r\n\r\n'.encode())
        out.write(value.encode())
        out.write(b"\r\n")
    for key, filename, data, content_type in files:
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'.encode())
        if content_type is not None:
            out.write(f"Content-Type: {content_type}\r\n".encode())
        out.write(b"\r\n")
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def twine_fields(name: str, version: str, filename: str, sha256: str, **extra: str) -> dict[str, str]:
    """The form fields twine sends with ``filename`` (a wheel's or an sdist's);
    ``extra`` adds fields or replaces them."""
    wheel = filename.endswith(".whl")
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel" if wheel else "sdist",
        "pyversion": "py3" if wheel else "source",
        "sha256_digest": sha256,
        **extra,
    }


def upload_body(name: str, version: str, filename: str, data: bytes, **extra: str) -> tuple[bytes, str]:
    """The multipart body twine sends for ``data`` as ``filename``, and its Content-Type."""
    fields = twine_fields(name, version, filename, hashlib.sha256(data).hexdigest(), **extra)
    return multipart_body(fields, [("content", filename, data, "application/octet-stream")])
