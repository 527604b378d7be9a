"""Zip archives that every reader reads alike: the layout a wheel must have.

Readers disagree on zips that are not laid out plainly: one walks the local headers
from the start, another trusts the central directory at the end. So an uploaded wheel
must be exactly: local entries back to back from offset 0 (no data before, between or
overlapping them), each local header agreeing with its central directory record (name,
method, CRC and sizes), then the central directory, then its end record and nothing
after. PyPI refuses the same family of ambiguous zips since 2025.
"""

from __future__ import annotations

import struct
import zipfile
from typing import IO

from .errors import ZipLayoutError

__all__ = ["ZipLayoutError", "check_zip_layout"]

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_END64_LOCATOR = b"PK\x06\x07"
_DESCRIPTOR = b"PK\x07\x08"
_LOCAL_SIZE = 30
_CENTRAL_SIZE = 46
_END_SIZE = 22
_ZIP64_MARK = 0xFFFFFFFF
_HAS_DESCRIPTOR = 0x08
_UTF8_NAME = 0x800


def _read_at(handle: IO[bytes], offset: int, size: int) -> bytes:
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise ZipLayoutError(f"truncated record at offset {offset}")
    return data


def _local_entry_end(handle: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Check one local header against its central record; return where its data ends."""
    header = _read_at(handle, info.header_offset, _LOCAL_SIZE)
    if header[:4] != _LOCAL:
        raise ZipLayoutError(f"no local header where the central directory puts {info.filename!r}")
    fields: tuple[int, ...] = struct.unpack("<4xHHHHHIIIHH", header)
    _, flags, method, _, _, crc, compressed, size, name_length, extra_length = fields
    raw_name = _read_at(handle, info.header_offset + _LOCAL_SIZE, name_length)
    name = raw_name.decode("utf-8" if flags & _UTF8_NAME else "cp437", "replace")
    if name != info.orig_filename or method != info.compress_type:
        raise ZipLayoutError(f"the local header of {info.filename!r} disagrees with the central directory")
    if not flags & _HAS_DESCRIPTOR and (
        crc != info.CRC
        or (compressed not in (_ZIP64_MARK, info.compress_size))
        or (size not in (_ZIP64_MARK, info.file_size))
    ):
        raise ZipLayoutError(
            f"the local sizes or CRC of {info.filename!r} disagree with the central directory"
        )
    end = int(info.header_offset) + _LOCAL_SIZE + name_length + extra_length + int(info.compress_size)
    if flags & _HAS_DESCRIPTOR:
        zip64 = _ZIP64_MARK in (compressed, size)
        signed = _read_at(handle, end, 4) == _DESCRIPTOR
        end += (4 if signed else 0) + (20 if zip64 else 12)
    return end


def _central_directory_end(handle: IO[bytes], start: int, count: int) -> int:
    """Walk ``count`` central records from ``start``; return where they end."""
    offset = start
    for _ in range(count):
        record = _read_at(handle, offset, _CENTRAL_SIZE)
        if record[:4] != _CENTRAL:
            raise ZipLayoutError(f"the central directory is broken at offset {offset}")
        name_length, extra_length, comment_length = struct.unpack("<HHH", record[28:34])
        offset += _CENTRAL_SIZE + name_length + extra_length + comment_length
    return offset


def _check_tail(handle: IO[bytes], offset: int, file_size: int) -> None:
    """After the central directory: optional zip64 records, the end record, its comment, nothing more."""
    signature = _read_at(handle, offset, 4)
    if signature == _END64:
        (record_size,) = struct.unpack("<Q", _read_at(handle, offset + 4, 8))
        offset += 12 + record_size
        if _read_at(handle, offset, 4) != _END64_LOCATOR:
            raise ZipLayoutError("the zip64 end records are out of place")
        offset += 20
        signature = _read_at(handle, offset, 4)
    if signature != _END:
        raise ZipLayoutError("data between the central directory and its end record")
    (comment_length,) = struct.unpack("<H", _read_at(handle, offset + 20, 2))
    if offset + _END_SIZE + comment_length != file_size:
        raise ZipLayoutError("data after the end of the archive")


def check_zip_layout(handle: IO[bytes], archive: zipfile.ZipFile) -> None:
    """Raise ``ZipLayoutError`` unless ``archive`` (read from ``handle``) is laid out plainly."""
    handle.seek(0, 2)
    file_size = handle.tell()
    infos = sorted(archive.infolist(), key=lambda info: info.header_offset)
    position = 0
    for info in infos:
        if info.header_offset < position:
            raise ZipLayoutError(f"entry {info.filename!r} overlaps the entry before it")
        if info.header_offset > position:
            where = "before the first entry" if position == 0 else f"before entry {info.filename!r}"
            raise ZipLayoutError(f"{info.header_offset - position} unexplained bytes {where}")
        position = _local_entry_end(handle, info)
    start_dir: int = archive.start_dir  # set by ZipFile when reading
    if start_dir != position:
        raise ZipLayoutError("data between the last entry and the central directory")
    _check_tail(handle, _central_directory_end(handle, start_dir, len(infos)), file_size)
