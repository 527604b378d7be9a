"""Read a browser's PNG screenshot with the stdlib (no imaging library is installed).

Only what Chromium writes: 8-bit RGB or RGBA, not interlaced. Enough to ask whether a
screenshot shows a rendered page rather than one flat colour.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter

import attrs

__all__ = ["Screenshot", "decode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type → bytes per pixel at depth 8


@attrs.frozen
class Screenshot:
    """A decoded image: size and one ``bytes`` of RGB(A) samples per row."""

    width: int
    height: int
    channels: int
    rows: tuple[bytes, ...]

    def colours(self) -> Counter[tuple[int, int, int]]:
        """How many pixels have each RGB colour (alpha ignored)."""
        counts: Counter[tuple[int, int, int]] = Counter()
        step = self.channels
        for row in self.rows:
            counts.update(zip(row[0::step], row[1::step], row[2::step], strict=True))
        return counts


def decode_png(data: bytes) -> Screenshot:
    """Decode an 8-bit, non-interlaced RGB/RGBA PNG."""
    assert data.startswith(_SIGNATURE), "not a PNG"
    offset, idat, header = len(_SIGNATURE), bytearray(), b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunk = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0), (depth, interlace)
    assert colour_type in _CHANNELS, colour_type
    channels = _CHANNELS[colour_type]
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    assert len(raw) == height * (stride + 1), "truncated image data"
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        rows.append(row)
        previous = row
    return Screenshot(width, height, channels, tuple(rows))


def _unfilter(kind: int, row: bytearray, above: bytes, bpp: int) -> bytes:
    """Undo one scanline's filter (PNG spec §9)."""
    if kind == 0:
        return bytes(row)
    if kind == 2:
        return bytes((r + a) & 0xFF for r, a in zip(row, above, strict=True))
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = above[i]
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            corner = above[i - bpp] if i >= bpp else 0
            estimate = left + up - corner
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
            predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            row[i] = (row[i] + predictor) & 0xFF
        else:
            raise AssertionError(f"unknown PNG filter {kind}")
    return bytes(row)
