"""Content codings of cached pages (RFC 9110 §8.4): the compressors, and which the client accepts.

gzip is always offered (the standard library). zstd is offered when Python has it
(``compression.zstd``, 3.14+) or the ``compression`` extra installed ``backports.zstd``,
the same libraries through which pip's urllib3 asks for zstd; uv always asks for
``gzip, deflate, zstd``. No client of an index sends ``br``, so brotli is not offered.

Invariants:
1. ``choose_coding`` never raises, whatever the header, and answers a coding the header
   accepts (q > 0) or None when it accepts none of those offered, ``identity`` included.
2. Compression is deterministic (gzip without a timestamp), so replicas agree on the bytes
   behind a coding's ETag.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from functools import lru_cache

import attrs
from werkzeug.http import parse_accept_header

__all__ = ["CODINGS", "IDENTITY", "Coding", "accepts", "choose_coding", "coding_named", "offered"]

IDENTITY = "identity"


@attrs.frozen
class Coding:
    """A content coding we can produce: its token, its ETag suffix, its compressor."""

    name: str
    etag_suffix: str
    compress: Callable[[bytes], bytes] = attrs.field(eq=False, repr=False)


def _gzip(body: bytes) -> bytes:
    # zlib's default level: a 1,000-file page shrinks ~5.5x in a few ms; 9 gains 1 % for 4x the time.
    return gzip.compress(body, compresslevel=6, mtime=0)


def _zstd() -> Coding | None:
    try:
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from backports import zstd  # type: ignore[import-not-found,import-untyped,no-redef,unused-ignore]
        except ImportError:
            return None
    compress: Callable[[bytes], bytes] = zstd.compress
    return Coding("zstd", "zst", compress)


# Preference on equal q: zstd (smaller, faster to decode), then gzip, then none.
CODINGS: tuple[Coding, ...] = tuple(c for c in (_zstd(), Coding("gzip", "gz", _gzip)) if c is not None)


def offered(codings: tuple[Coding, ...] = CODINGS) -> tuple[str, ...]:
    """The coding tokens on offer, in order of preference, ``identity`` last."""
    return (*(c.name for c in codings), IDENTITY)


def coding_named(name: str, codings: tuple[Coding, ...] = CODINGS) -> Coding | None:
    """The offered coding of that token (None for ``identity`` or one not offered)."""
    for coding in codings:
        if coding.name == name:
            return coding
    return None


@lru_cache(maxsize=256)  # clients send a handful of distinct headers
def _qualities(header: str) -> tuple[dict[str, float], float | None]:
    """Each coding's q as the header lists it (lowercase; ``x-gzip`` is ``gzip``), and ``*``'s."""
    listed: dict[str, float] = {}
    star: float | None = None
    for value, quality in parse_accept_header(header):
        token = value.strip().lower()
        if token == "*":
            star = quality if star is None else max(star, quality)
        elif token:
            token = "gzip" if token == "x-gzip" else token  # RFC 9110 §8.4.1.3
            listed[token] = max(listed.get(token, 0.0), quality)
    return listed, star


def _quality(header: str | None, name: str) -> float:
    """How much the header accepts ``name`` (RFC 9110 §12.5.3)."""
    if header is None:
        # No header: anything goes, but an unasked-for compression helps nobody.
        return 1.0 if name == IDENTITY else 0.0
    listed, star = _qualities(header)
    if name in listed:
        return listed[name]
    if star is not None:
        return star
    # identity is acceptable unless refused by name or by "*;q=0".
    return 1.0 if name == IDENTITY else 0.0


def accepts(header: str | None, name: str) -> bool:
    """Whether an ``Accept-Encoding`` header accepts the coding ``name`` (q > 0)."""
    return _quality(header, name) > 0


def choose_coding(header: str | None, names: tuple[str, ...]) -> str | None:
    """The coding to answer with: the highest q among ``names`` (earlier wins a tie),
    or None when the header refuses every one (``identity;q=0`` and none listed)."""
    best, best_q = None, 0.0
    for name in names:
        quality = _quality(header, name)
        if quality > best_q:
            best, best_q = name, quality
    return best
