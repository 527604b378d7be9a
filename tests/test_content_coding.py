"""Choosing a content coding from ``Accept-Encoding`` (RFC 9110 §12.5.3), and the compressors."""

from __future__ import annotations

import gzip
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import accept_encoding_headers

from pyregistry_core.content_coding import CODINGS, IDENTITY, accepts, choose_coding, coding_named, offered
from pyregistry_core.registry.results import Page

OFFERED = offered()
ZSTD = coding_named("zstd")


def _expected_quality(items: list[tuple[str, int]], name: str) -> int:
    """The q (thousandths) RFC 9110 gives ``name`` under these items: its own entry (x-gzip
    counts as gzip), else ``*``'s, else 1 for identity and 0 for the rest."""
    aliases = {"x-gzip": "gzip"}
    named = [q for coding, q in items if aliases.get(coding, coding) == name]
    if named:
        return max(named)
    star = [q for coding, q in items if coding == "*"]
    if star:
        return max(star)
    return 1000 if name == IDENTITY else 0


@given(accept_encoding_headers())
def test_choice_is_the_best_acceptable_offer(header: tuple[str, list[tuple[str, int]]]) -> None:
    """The chosen coding has the highest q among those offered (the first offered wins a
    tie), and None is chosen only when the header refuses every offer, identity included."""
    text, items = header
    qualities = {name: _expected_quality(items, name) for name in OFFERED}
    chosen = choose_coding(text, OFFERED)
    best = max(qualities.values())
    if best == 0:
        assert chosen is None
    else:
        assert chosen == next(name for name in OFFERED if qualities[name] == best)
        assert accepts(text, chosen)


@given(st.text(max_size=60))
def test_any_header_gets_an_acceptable_choice_or_none(header: str) -> None:
    """Whatever the header holds, the choice is an offered coding it accepts, or None."""
    chosen = choose_coding(header, OFFERED)
    assert chosen is None or (chosen in OFFERED and accepts(header, chosen))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, IDENTITY),  # no header: never compress unasked
        ("", IDENTITY),
        ("gzip, deflate", "gzip"),  # pip
        ("gzip;q=0", IDENTITY),
        ("gzip;q=0, *", "zstd" if ZSTD else IDENTITY),
        ("x-gzip", "gzip"),
        ("GZIP", "gzip"),
        ("GZIP;Q=0.5", IDENTITY),  # identity is 1 unless refused
        ("br", IDENTITY),
        ("identity;q=0, gzip", "gzip"),
        ("gzip;q=0.5, identity", IDENTITY),
        ("*;q=0", None),
        ("identity;q=0", None),
        ("*;q=0, identity;q=0.1", IDENTITY),
    ],
)
def test_choices(header: str | None, expected: str | None) -> None:
    """Common headers, q=0 refusals and wildcards choose as RFC 9110 says."""
    assert choose_coding(header, OFFERED) == expected


@pytest.mark.skipif(ZSTD is None, reason="no zstd library (the compression extra)")
def test_uv_gets_zstd() -> None:
    """uv's header ("gzip, deflate, zstd") gets zstd, the smaller of equally wanted codings."""
    assert choose_coding("gzip, deflate, zstd", OFFERED) == "zstd"


def test_gzip_is_always_offered_and_identity_last() -> None:
    """gzip needs no extra; identity is the last resort among equals."""
    assert "gzip" in OFFERED
    assert OFFERED[-1] == IDENTITY
    assert [c.name for c in CODINGS] == list(OFFERED[:-1])


def test_a_page_is_compressed_once_whoever_asks() -> None:
    """Threads asking for the same coding at once get the one compressed copy, which
    decompresses to the page and carries the page's ETag suffixed."""
    page = Page.of(b"<a>demo</a>\n" * 500)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        results.append(page.encoded("gzip"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = page.encoded("gzip")
    assert all(result is first for result in results)
    assert gzip.decompress(first.body) == page.body
    assert first.etag == page.etag[:-1] + '-gz"'
    assert first.coding == "gzip"


def test_a_coding_that_does_not_shrink_the_page_is_not_used() -> None:
    """A tiny page stays as it is under a coding whose output would be larger."""
    page = Page.of(b"[]")
    encoded = page.encoded("gzip")
    assert (encoded.coding, encoded.body, encoded.etag) == (IDENTITY, b"[]", page.etag)


def test_the_fast_path_never_compresses() -> None:
    """``encoded_if_ready`` answers identity at once, and a coding only once compressed."""
    page = Page.of(b"x" * 1000)
    ready = page.encoded_if_ready(IDENTITY)
    assert ready is not None
    assert ready.body is page.body
    assert page.encoded_if_ready("gzip") is None
    assert page.encoded_if_ready("gzip") is None
    compressed = page.encoded("gzip")
    assert page.encoded_if_ready("gzip") is compressed


def test_a_page_not_kept_is_never_compressed() -> None:
    """A page made for one answer (not cached) would be compressed per request: it never is."""
    page = Page.of(b"x" * 1000, kept=False)
    assert page.encoded("gzip").coding == IDENTITY
