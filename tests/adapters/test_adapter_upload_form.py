"""One meaning per upload form: ambiguous or inconsistent forms get 400 naming the field."""

from __future__ import annotations

import gzip
import hashlib

import pytest


def _with_parts(body: bytes, content_type: str, parts: list[tuple[str, bytes, str | None]]) -> bytes:
    """``body`` with more parts (name, value, filename) before its closing boundary."""
    boundary = content_type.split("boundary=", 1)[1]
    closing = f"--{boundary}--\r\n".encode()
    assert body.endswith(closing)
    extra = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        extra += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return body[: -len(closing)] + extra + closing


def _post(client, body: bytes, content_type: str):
    return client.request("POST", "/", {"Content-Type": content_type}, body)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([("name", b"demo", None)], "Invalid upload: field 'name' was given more than once."),
        ([("version", b"1.0", None)], "Invalid upload: field 'version' was given more than once."),
        ([("filetype", b"bdist_wheel", None)], "Invalid upload: field 'filetype' was given more than once."),
        ([("summary", b"again", None)], "Invalid upload: field 'summary' was given more than once."),
        (
            [("content", b"plain bytes", None)],
            "Invalid upload: field 'content' must be the file part, and only one.",
        ),
    ],
)
def test_ambiguous_fields_are_refused(client, wheel, build, parts, message):
    """A repeated single-valued field, even with the same value, or a second content is a 400 naming it."""
    body, content_type = build.encode_upload(wheel)
    reply = _post(client, _with_parts(body, content_type, parts), content_type)
    assert (reply.status, reply.body.decode()) == (400, message + "\n")
    assert client.get("/simple/demo/").status == 404


def test_repeated_multi_valued_fields_are_accepted(client, wheel, build):
    """Classifiers and Requires-Dist are lists: twine repeats them, and that is fine."""
    body, content_type = build.encode_upload(wheel)
    parts = [
        ("classifiers", b"Programming Language :: Python", None),
        ("classifiers", b"License :: OSI Approved", None),
        ("requires_dist", b"attrs", None),
        ("requires_dist", b"packaging", None),
    ]
    reply = _post(client, _with_parts(body, content_type, parts), content_type)
    assert reply.status == 200, reply.body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "demo\n"),
        ("name", "de\x00mo"),
        ("version", "1.0\r"),
        ("summary", "a\x1bb"),
        ("pyversion", "py3\t"),
    ],
)
def test_control_characters_are_refused(client, wheel, field, value):
    """A control character in any field, a trailing newline included, is a 400 naming the field."""
    reply = client.upload(wheel, **{field: value})
    assert (reply.status, reply.body.decode()) == (
        400,
        f"Invalid upload: field {field!r} contains control characters.\n",
    )


def test_description_keeps_its_line_breaks(client, wheel):
    """Free text (the description) may hold line breaks and tabs."""
    assert client.upload(wheel, description="# Title\r\n\n\tindented\n").status == 200


@pytest.mark.parametrize("pyversion", ["py3", "cp311", "any", ""])
def test_sdist_pyversion_must_be_source(client, sdist, pyversion):
    """An sdist declared with a Python version other than ``source`` is refused, as PyPI does."""
    reply = client.upload(sdist, pyversion=pyversion or None)
    if pyversion:
        assert (reply.status, reply.body.decode()) == (400, 'Use "source" as Python version for an sdist.\n')
    else:
        assert reply.status == 200


@pytest.mark.parametrize(
    ("pyversion", "message"),
    [
        (None, "Python version is required for binary distribution uploads."),
        ("source", "Invalid upload: field 'pyversion' is 'source', but the wheel's Python tag is 'py3'."),
        ("cp311", "Invalid upload: field 'pyversion' is 'cp311', but the wheel's Python tag is 'py3'."),
    ],
)
def test_wheel_pyversion_must_match_its_tag(client, wheel, pyversion, message):
    """A wheel's declared Python version names its own Python tag."""
    reply = client.upload(wheel, pyversion=pyversion)
    assert (reply.status, reply.body.decode()) == (400, message + "\n")


def test_filetype_disagreeing_with_the_file_is_refused(client, wheel, sdist):
    """A wheel declared as an sdist (and the reverse) is refused."""
    as_sdist = client.upload(wheel, filetype="sdist", pyversion="source")
    as_wheel = client.upload(sdist, filetype="bdist_wheel", pyversion="py3")
    assert (as_sdist.status, as_sdist.body.decode()) == (
        400,
        "Extension .whl is invalid for filetype sdist.\n",
    )
    assert (as_wheel.status, as_wheel.body.decode()) == (
        400,
        "Extension .tar.gz is invalid for filetype bdist_wheel.\n",
    )


def test_action_in_query_and_form_is_one_action(client, wheel, build):
    """``?:action=file_upload`` alongside the form's own ``:action`` is not a duplicate."""
    body, content_type = build.encode_upload(wheel)
    reply = client.request("POST", "/?:action=file_upload", {"Content-Type": content_type}, body)
    assert reply.status == 200, reply.body


def test_wheel_with_a_prepended_archive_is_refused(client, wheel, build):
    """A wheel with data before its first entry (readers would disagree on it) is a 400."""
    data = gzip.compress(b"another archive") + wheel.data
    reply = client.upload(
        wheel, content_bytes=data, sha256_digest=hashlib.sha256(data).hexdigest(), blake2_256_digest=None
    )
    assert (reply.status, reply.body.decode()) == (
        400,
        f"Invalid distribution file. {wheel.filename!r} is an ambiguous zip archive: "
        f"{len(data) - len(wheel.data)} unexplained bytes before the first entry.\n",
    )
