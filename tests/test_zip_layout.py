"""Archives that parse differently in different readers are refused at upload (as PyPI since 2025)."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from distfiles import core_metadata, sdist_bytes, wheel_bytes

from pyregistry_core.dists import DistFilename, check_unambiguous_archive, read_core_metadata
from pyregistry_core.errors import InvalidUpload

WHEEL_NAME = "demo-1.0-py3-none-any.whl"
SDIST_NAME = "demo-1.0.tar.gz"
MEMBERS = [
    ("demo/__init__.py", b"VALUE = 1\n" * 20),
    ("demo-1.0.dist-info/METADATA", core_metadata("demo", "1.0")),
    ("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ("demo-1.0.dist-info/RECORD", b""),
]


def _refusal(data: bytes, filename: str = WHEEL_NAME) -> str:
    with pytest.raises(InvalidUpload) as caught:
        check_unambiguous_archive(io.BytesIO(data), DistFilename.from_filename(filename))
    return caught.value.message


def _zip(gap_after: int | None = None, gap: bytes = b"") -> bytes:
    """A wheel of MEMBERS, with ``gap`` written straight after member ``gap_after``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(MEMBERS):
            archive.writestr(name, data)
            if index == gap_after:
                buffer.seek(0, io.SEEK_END)
                buffer.write(gap)
                archive.start_dir = buffer.tell()  # where zipfile writes next; the directory says so
    return buffer.getvalue()


def _central_offsets(data: bytes) -> list[int]:
    """Where each central directory record starts."""
    found, start = [], 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        found.append(start)
        start += 4
    return found


def test_a_plain_wheel_passes():
    """A wheel written by zipfile (and by every wheel builder) is accepted and still readable."""
    data = wheel_bytes("demo", "1.0")
    handle = io.BytesIO(data)
    check_unambiguous_archive(handle, DistFilename.from_filename(WHEEL_NAME))
    assert read_core_metadata(handle, DistFilename.from_filename(WHEEL_NAME)).name == "demo"


def test_a_wheel_with_data_descriptors_passes():
    """Entries streamed with data descriptors (sizes after the data) are laid out plainly too."""

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, chunk: bytes) -> int:  # type: ignore[override]
            self.data += chunk
            return len(chunk)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in MEMBERS:
            with archive.open(name, "w") as member:
                member.write(data)
    assert bytes(sink.data).count(b"PK\x07\x08") == len(MEMBERS)
    check_unambiguous_archive(io.BytesIO(bytes(sink.data)), DistFilename.from_filename(WHEEL_NAME))


def test_data_before_the_first_entry_is_refused():
    """Bytes prepended to a zip (another archive, a script) are refused."""
    assert _refusal(b"#!/bin/sh\nexit 0\n" + _zip()) == (
        f"Invalid distribution file. {WHEEL_NAME!r} is an ambiguous zip archive: "
        "17 unexplained bytes before the first entry."
    )


def test_data_between_entries_is_refused():
    """A gap between two entries (room for a hidden local header) is refused."""
    message = _refusal(_zip(gap_after=0, gap=b"PK\x03\x04hidden"))
    assert message.endswith("10 unexplained bytes before entry 'demo-1.0.dist-info/METADATA'.")


def test_data_after_the_last_entry_is_refused():
    """A gap between the last entry and the central directory is refused."""
    message = _refusal(_zip(gap_after=len(MEMBERS) - 1, gap=b"smuggled"))
    assert message.endswith("data between the last entry and the central directory.")


def test_data_after_the_end_record_is_refused():
    """Bytes after the end of central directory record are refused."""
    assert _refusal(_zip() + b"trailer").endswith("data after the end of the archive.")


def test_overlapping_entries_are_refused():
    """A central record pointing into the previous entry's data is refused."""
    data = bytearray(_zip())
    record = _central_offsets(bytes(data))[1]
    (first_offset,) = struct.unpack("<I", data[_central_offsets(bytes(data))[0] + 42 :][:4])
    data[record + 42 : record + 46] = struct.pack("<I", first_offset + 40)
    assert _refusal(bytes(data)).endswith("entry 'demo-1.0.dist-info/METADATA' overlaps the entry before it.")


def test_local_name_disagreeing_with_the_central_directory_is_refused():
    """A local header naming another file than its central record is refused."""
    data = _zip().replace(b"demo/__init__.py", b"demo/__init__.pz", 1)  # the local header comes first
    assert _refusal(data).endswith(
        "the local header of 'demo/__init__.py' disagrees with the central directory."
    )


def test_local_sizes_disagreeing_with_the_central_directory_are_refused():
    """A local header with another size than its central record is refused."""
    data = bytearray(_zip())
    data[22:26] = struct.pack("<I", 1)  # the first local header's uncompressed size
    assert _refusal(bytes(data)).endswith(
        "the local sizes or CRC of 'demo/__init__.py' disagree with the central directory."
    )


def test_tar_and_zip_polyglot_sdist_is_refused():
    """An sdist with a zip appended (tar readers stop early, zip readers start at the end) is refused."""
    data = sdist_bytes("demo", "1.0") + _zip()
    assert _refusal(data, SDIST_NAME) == (
        f"Invalid distribution file. {SDIST_NAME!r} is both a tar and a zip archive."
    )


def test_a_plain_sdist_passes():
    """An ordinary sdist is accepted."""
    check_unambiguous_archive(io.BytesIO(sdist_bytes("demo", "1.0")), DistFilename.from_filename(SDIST_NAME))
