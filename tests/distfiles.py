"""Build distribution files and upload bodies in memory, fast and without a build backend.

Shared by the core tests; every builder returns bytes so a test can hash, truncate or
corrupt them before use.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "FileDigests",
    "core_metadata",
    "digests",
    "dist_name",
    "multipart_body",
    "sdist_bytes",
    "tar_gz_bytes",
    "wheel_bytes",
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
) -> bytes:
    """A minimal METADATA / PKG-INFO file."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    if summary is not None:
        lines.append(f"Summary: {summary}")
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    return ("\n".join(lines) + "\n\nA long description.\n").encode()


def zip_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip archive of ``(name, data)`` members, in order (duplicates allowed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            with warnings.catch_warnings():
                # zipfile warns on a duplicate name; duplicates are what some tests want.
                warnings.simplefilter("ignore", UserWarning)
                archive.writestr(name, data)
    return buffer.getvalue()


def wheel_bytes(
    name: str,
    version: str,
    *,
    dist_info: str | None = None,
    metadata: bytes | None = None,
    extra: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """A wheel with ``<dist_info>/{METADATA,WHEEL,RECORD}`` and a module."""
    dist_info = dist_info or f"{dist_name(name)}-{version}.dist-info"
    metadata = metadata if metadata is not None else core_metadata(name, version)
    wheel = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    return zip_bytes(
        [
            (f"{dist_name(name)}/__init__.py", b""),
            (f"{dist_info}/METADATA", metadata),
            (f"{dist_info}/WHEEL", wheel),
            (f"{dist_info}/RECORD", b""),
            *extra,
        ]
    )


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
