"""Upstream pages are untrusted input: every field is checked at parse time, and what a
parser lets through renders back into our pages unchanged and harmless (fields.py)."""

from __future__ import annotations

import html
import json
import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from pyregistry_core import render
from pyregistry_core.dists import DistFilename
from pyregistry_core.names import NormalizedName
from pyregistry_core.records import ProjectFiles
from pyregistry_core.registry.publish import upstream_record
from pyregistry_core.upstream.client import FileOrigins, UpstreamFile, parse_html_page, parse_json_page
from pyregistry_core.upstream.fields import HASH_NAMES

PAGE = "https://mirror.example/simple/foo/"
FOO = NormalizedName("foo")
SHA = "ab" * 32
WHEEL = "foo-1.0-py3-none-any.whl"
ORIGINS = FileOrigins.of("https://mirror.example", ["files.example"])

HOSTILE = st.one_of(
    st.sampled_from(
        [
            'aa"><script>alert(1)</script>',
            "javascript:alert(1)",
            "\r\nX-Evil: 1",
            "\x00",
            "' onmouseover='x",
            ">=3.8\n<script>",
            "2024-13-45T99:99:99Z",
            "file:///etc/passwd",
            "http://10.0.0.1/foo-1.0.tar.gz",
            "../../../etc/passwd",
            "foo-1.0.tar.gz/../x",
            "A" * 5000,
            "",
        ]
    ),
    st.text(max_size=60),
)


def _json(*files: object) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "foo", "files": list(files)}).encode()


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "filename": WHEEL,
        "url": f"https://files.example/f/{WHEEL}",
        "hashes": {"sha256": SHA},
        "requires-python": ">=3.8",
        "yanked": "bad build",
        "core-metadata": {"sha256": "12" * 32},
        "size": 10,
        "upload-time": "2024-05-06T07:08:09.000000Z",
    }
    entry.update(changes)
    return entry


def assert_checked(file: UpstreamFile) -> None:
    """Everything ``fields`` promises of a file it let through."""
    dist = DistFilename.from_any_filename(file.filename)
    assert dist is not None
    assert dist.name == FOO
    assert ORIGINS.allows(file.url)
    for algorithm, digest in file.hashes.items():
        assert re.fullmatch(f"[0-9a-f]{{{HASH_NAMES[algorithm]}}}", digest)
    if file.requires_python is not None:
        SpecifierSet(file.requires_python)
    if file.upload_time is not None:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z", file.upload_time)
    assert not re.search(r"[\x00-\x1f\x7f]", file.yanked_reason)
    assert len(file.yanked_reason) <= 1000
    assert file.metadata_sha256 is None or re.fullmatch("[0-9a-f]{64}", file.metadata_sha256)
    assert file.size is None or (type(file.size) is int and file.size >= 0)
    assert file.provenance is None or ORIGINS.allows_provenance(file.provenance)


def assert_renders_unchanged(file: UpstreamFile) -> None:
    """Our HTML page, read back by the same parser, carries exactly ``file``'s values."""
    for external in (False, True):
        record = upstream_record(FOO, file, external=external)
        page = render.project_html(ProjectFiles(name=FOO, files=(record,)))
        assert b"<script" not in page
        (anchor,) = re.findall(rb"<a [^\n]*</a>", page)
        reparsed = parse_html_page("foo", PAGE, b"<html><body>" + anchor + b"</body></html>", ORIGINS)
        if external and file.url.rsplit("/", 1)[-1] != file.filename:
            continue  # an HTML page names a file by its URL: that one reads back as another name
        (back,) = reparsed.files
        assert (back.filename, back.sha256, back.requires_python) == (
            file.filename,
            file.sha256,
            file.requires_python,
        )
        assert (back.yanked, back.yanked_reason, back.metadata_sha256) == (
            file.yanked,
            file.yanked_reason,
            file.metadata_sha256,
        )


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(
        [
            "filename",
            "url",
            "sha256",
            "requires-python",
            "yanked",
            "upload-time",
            "core-metadata",
            "size",
            "provenance",
        ]
    ),
    value=st.one_of(HOSTILE, st.integers(), st.booleans(), st.none()),
)
def test_json_parser_lets_through_only_checked_values(field: str, value: object) -> None:
    """Whatever hostile value a PEP 691 field holds, the parser returns only checked files."""
    changes: dict[str, object] = {
        "sha256": {"hashes": {"sha256": value}},
        "core-metadata": {"core-metadata": {"sha256": value}},
    }.get(field, {field: value})
    files = parse_json_page("foo", PAGE, _json(_entry(**changes)), ORIGINS).files
    for file in files:
        assert_checked(file)
        assert_renders_unchanged(file)


@settings(max_examples=300, deadline=None)
@given(
    attribute=st.sampled_from(
        [
            "href",
            "data-requires-python",
            "data-yanked",
            "data-core-metadata",
            "data-dist-info-metadata",
            "data-provenance",
        ]
    ),
    value=HOSTILE,
)
def test_html_parser_lets_through_only_checked_values(attribute: str, value: str) -> None:
    """Whatever hostile value a PEP 503 attribute holds, the parser returns only checked files."""
    attributes = {
        "href": f"https://files.example/f/{WHEEL}#sha256={SHA}",
        "data-requires-python": ">=3.8",
        attribute: value,
    }
    written = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attributes.items())
    body = f"<html><body><a {written}>{WHEEL}</a></body></html>".encode()
    for file in parse_html_page("foo", PAGE, body, ORIGINS).files:
        assert_checked(file)
        assert_renders_unchanged(file)


@pytest.mark.parametrize(
    ("changes", "kept"),
    [
        ({}, True),
        ({"hashes": {"sha256": 'aa"><script>alert(1)</script>'}}, False),
        ({"hashes": {"sha256": "ab" * 31}}, False),
        ({"hashes": {"md5": "ab" * 32}}, False),
        ({"hashes": {"sha512": "cd" * 64, "sha256": SHA}}, True),
        ({"filename": "bar-1.0-py3-none-any.whl"}, False),
        ({"filename": "foo-1.0.tar.gz/x"}, False),
        ({"filename": "notadist.txt"}, False),
        ({"url": "javascript:alert(1)"}, False),
        ({"url": "http://files.example/f/foo.whl"}, False),
        ({"url": "https://elsewhere.example/f/foo.whl"}, False),
        ({"url": "https://user:pw@files.example/f/foo.whl"}, False),
        ({"url": "https://mirror.example/any/path/foo.whl"}, True),
    ],
)
def test_json_file_identity_is_checked(changes: dict[str, object], kept: bool) -> None:
    """A file whose name, URL or hashes are wrong is dropped from the listing, not served."""
    files = parse_json_page("foo", PAGE, _json(_entry(**changes)), ORIGINS).files
    assert len(files) == (1 if kept else 0)


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"requires-python": ">=3.8; <script>"}, "requires_python", None),
        ({"requires-python": ["no"]}, "requires_python", None),
        ({"upload-time": "yesterday"}, "upload_time", None),
        ({"upload-time": "2024-02-30T00:00:00Z"}, "upload_time", None),
        ({"upload-time": "2024-02-03T00:00:00Z"}, "upload_time", "2024-02-03T00:00:00Z"),
        ({"size": True}, "size", None),
        ({"size": -1}, "size", None),
        ({"yanked": "bad\x1b[31m"}, "yanked_reason", ""),
        ({"yanked": "x" * 1001}, "yanked_reason", ""),
        ({"core-metadata": {"sha256": "zz"}}, "metadata_sha256", None),
        (
            {"provenance": "https://mirror.example/integrity/p"},
            "provenance",
            "https://mirror.example/integrity/p",
        ),
        ({"provenance": "https://files.example/p"}, "provenance", "https://files.example/p"),
        ({"provenance": "/integrity/foo/1.0/p"}, "provenance", None),  # PEP 740: fully qualified
        ({"provenance": "http://files.example/p"}, "provenance", None),  # never over plain http
        ({"provenance": "https://elsewhere.example/p"}, "provenance", None),
        ({"provenance": "https://u:p@mirror.example/p"}, "provenance", None),
        ({"provenance": ["https://mirror.example/p"]}, "provenance", None),
    ],
)
def test_bad_optional_fields_are_dropped_alone(
    changes: dict[str, object], field: str, expected: object
) -> None:
    """A malformed optional field is removed and the file itself kept."""
    (file,) = parse_json_page("foo", PAGE, _json(_entry(**changes)), ORIGINS).files
    assert getattr(file, field) == expected
    assert file.sha256 == SHA


def test_drops_are_logged_once_per_page(caplog: pytest.LogCaptureFixture) -> None:
    """One warning per page names what was dropped, however many files were bad."""
    bad = [_entry(hashes={"sha256": "x"}) for _ in range(20)]
    with caplog.at_level(logging.WARNING, logger="pyregistry_core.upstream.fields"):
        assert parse_json_page("foo", PAGE, _json(*bad), ORIGINS).files == ()
    (record,) = caplog.records
    assert record.getMessage().startswith(
        f"upstream page {PAGE} of foo: dropped '{WHEEL}' (a sha256 hash that is not hex of the right length)"
    )
    assert record.getMessage().endswith("and 15 more")


def test_https_upstream_never_sends_clients_to_http() -> None:
    """An https upstream's file on http is a downgrade and is dropped, even on its own host."""
    origins = FileOrigins.of("https://mirror.example")
    body = _json(_entry(url=f"http://mirror.example/f/{WHEEL}"))
    assert parse_json_page("foo", PAGE, body, origins).files == ()


def test_provenance_over_http_is_allowed_only_on_loopback() -> None:
    """An http upstream's provenance URL counts as secure only on a loopback address."""
    for host, kept in (("127.0.0.1:8080", True), ("localhost:8080", True), ("mirror.internal", False)):
        origins = FileOrigins.of(f"http://{host}")
        page = f"http://{host}/simple/foo/"
        entry = _entry(url=f"http://{host}/f/{WHEEL}", provenance=f"http://{host}/p/{WHEEL}")
        (file,) = parse_json_page("foo", page, _json(entry), origins).files
        assert (file.provenance is not None) == kept
