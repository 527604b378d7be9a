"""The legacy upload API (what twine and uv send) through both adapters."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

METADATA_SPEC = "https://packaging.python.org/specifications/core-metadata"


def assert_rejected(reply, status: int, message: str) -> None:
    """The reply is ``status`` with exactly ``message`` as its text body."""
    assert (reply.status, reply.body.decode()) == (status, message + "\n")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("path", ["/", "/simple/", "/legacy/", "/simple", "/legacy"])
@pytest.mark.parametrize("prefix", ["", "/mount"])
def test_upload_endpoints(client, wheel, path, prefix):
    """Uploads are accepted at /, /simple/ and /legacy/, with or without slash, never redirected."""
    reply = client.upload(wheel, path=path, prefix=prefix)
    assert reply.status == 200
    assert reply.body == b"OK\n"
    assert "Location" not in reply.headers


def test_upload_to_bare_mount_point(client, wheel):
    """A POST to the mount point itself (no trailing slash after the prefix) uploads."""
    reply = client.upload(wheel, path="", prefix="/mount")
    assert reply.status == 200


def test_upload_is_listed_at_once(any_client, wheel, sdist):
    """An upload is on the project page, the index and the JSON page on the very next request."""
    assert any_client.get("/simple/demo/").status == 404
    assert any_client.upload(wheel).status == 200
    assert wheel.filename in any_client.get("/simple/demo/").body.decode()
    assert '<a href="demo/">demo</a>' in any_client.get("/simple/").body.decode()
    assert any_client.upload(sdist).status == 200
    page = json.loads(any_client.get("/simple/demo/?format=application/vnd.pypi.simple.v1%2Bjson").body)
    assert sorted(f["filename"] for f in page["files"]) == sorted([wheel.filename, sdist.filename])


def test_identical_reupload_is_200(any_client, wheel):
    """Uploading the very same file again is a harmless 200 and lists it once."""
    assert any_client.upload(wheel).body == b"OK\n"
    again = any_client.upload(wheel)
    assert again.status == 200
    assert again.body == b"OK (identical file already stored)\n"
    assert any_client.get("/simple/demo/").body.decode().count(wheel.filename + "</a>") == 1


def test_conflicting_reupload_is_400(any_client, wheel, build):
    """Other bytes under an existing filename get 400 starting "File already exists"; the first stays."""
    assert any_client.upload(wheel).status == 200
    other = build.wheel(payload=b"VALUE = 2\n")
    assert other.filename == wheel.filename
    reply = any_client.upload(other)
    assert reply.status == 400
    assert reply.body.decode().startswith(
        f"File already exists ('{wheel.filename}', with blake2_256 hash '{wheel.blake2_256}')."
    )
    assert any_client.get(wheel.url_path).body == wheel.data
    assert any_client.get(other.url_path).status == 404


def test_second_sdist_is_400(any_client, sdist, build):
    """A release takes one sdist: another sdist filename for the same version is refused."""
    assert any_client.upload(sdist).status == 200
    second = build.sdist(file_name="Demo", payload=b"VALUE = 2\n")
    assert second.filename == "Demo-1.0.tar.gz"
    assert_rejected(any_client.upload(second), 400, "Only one sdist may be uploaded per release.")


def test_second_sdist_with_equivalent_version_is_400(any_client, sdist, build):
    """1.0.0 is the same release as 1.0 (PEP 440), so its sdist is a second sdist."""
    assert any_client.upload(sdist).status == 200
    second = build.sdist(version="1.0.0")
    assert_rejected(any_client.upload(second), 400, "Only one sdist may be uploaded per release.")


def test_sdist_and_wheels_of_one_release(any_client, sdist, wheel, build):
    """One release takes one sdist and any number of wheels."""
    for dist in (sdist, wheel, build.wheel(tag="cp311-cp311-linux_x86_64")):
        assert any_client.upload(dist).status == 200


def test_platform_wheel_accepted(client, build):
    """A linux_x86_64 wheel (refused by PyPI) is accepted by a private index."""
    assert client.upload(build.wheel(tag="cp311-cp311-linux_x86_64")).status == 200


def test_old_wheel_spelling_accepted(client, build):
    """A wheel whose name part normalizes to the project (Foo_Bar) is accepted."""
    dist = build.wheel("foo-bar", file_name="Foo_Bar")
    assert client.upload(dist).status == 200
    assert dist.filename in client.get("/simple/foo-bar/").body.decode()


def _raw(client, body: bytes, content_type: str | None, headers: dict[str, str] | None = None):
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update(headers or {})
    return client.request("POST", "/", all_headers, body)


def test_not_multipart_is_400(client):
    """A body that is not multipart/form-data is refused."""
    assert_rejected(
        _raw(client, b"name=demo", "application/x-www-form-urlencoded"),
        400,
        "Invalid upload: the request body must be multipart/form-data.",
    )
    assert_rejected(
        _raw(client, b"name=demo", None), 400, "Invalid upload: the request body must be multipart/form-data."
    )


def test_missing_boundary_is_400(client, wheel, build):
    """multipart/form-data without a boundary is refused."""
    body, _ = build.encode_upload(wheel)
    assert_rejected(
        _raw(client, body, "multipart/form-data"),
        400,
        "Invalid upload: the multipart boundary is missing or invalid.",
    )


def test_truncated_body_is_400(client, wheel, build):
    """A form cut off in the middle (Content-Length matching what was sent) is refused."""
    body, content_type = build.encode_upload(wheel)
    assert_rejected(
        _raw(client, body[: len(body) // 2], content_type),
        400,
        "Invalid upload: the request body ended before the form did.",
    )
    assert client.get("/simple/demo/").status == 404


def test_body_shorter_than_content_length_is_400(client, wheel, build):
    """A client that stops sending before its Content-Length gets 400, not a server error."""
    body, content_type = build.encode_upload(wheel)
    reply = _raw(client, body[: len(body) // 2], content_type, {"Content-Length": str(len(body))})
    assert_rejected(reply, 400, "Invalid upload: the request body ended before the form did.")


def test_empty_body_is_400(client, wheel, build):
    """An empty multipart body is refused."""
    _, content_type = build.encode_upload(wheel)
    assert_rejected(
        _raw(client, b"", content_type), 400, "Invalid upload: the request body ended before the form did."
    )


def test_streamed_body_without_length(client, wheel, build):
    """A chunked upload (no Content-Length) is read to its end and accepted."""
    body, content_type = build.encode_upload(wheel)
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    reply = client.request("POST", "/", {"Content-Type": content_type}, iter(pieces))
    assert reply.status == 200


@pytest.mark.parametrize("field", ["sha256_digest", "blake2_256_digest", "md5_digest"])
def test_wrong_digest_is_400(client, wheel, field):
    """A digest that does not match the uploaded bytes is refused."""
    assert_rejected(
        client.upload(wheel, **{field: "0" * 64 if field != "md5_digest" else "0" * 32}),
        400,
        "The digest supplied does not match a digest calculated from the uploaded file.",
    )


def test_no_digest_is_400(client, wheel):
    """An upload without any digest is refused."""
    assert_rejected(
        client.upload(wheel, sha256_digest=None, blake2_256_digest=None),
        400,
        "Include at least one message digest.",
    )


def test_uppercase_digest_accepted(client, wheel):
    """Hex digests compare case-insensitively."""
    assert client.upload(wheel, sha256_digest=wheel.sha256.upper()).status == 200


def test_filename_of_other_project_is_400(client, build):
    """A wheel whose filename names another project is refused."""
    dist = build.wheel("demox")
    assert_rejected(
        client.upload(dist, name="demo"),
        400,
        "Filename 'demox-1.0-py3-none-any.whl' should contain the normalized project "
        "name 'demo', not 'demox'.",
    )


def test_prefix_squatting_wheel_is_400(client, build):
    """A file of demo-extra cannot be uploaded as project demo (no prefix matching)."""
    dist = build.wheel("demo-extra")
    assert_rejected(
        client.upload(dist, name="demo"),
        400,
        "Filename 'demo_extra-1.0-py3-none-any.whl' should contain the normalized "
        "project name 'demo', not 'demo_extra'.",
    )
    assert client.get("/simple/demo/").status == 404
    assert client.get("/simple/demo-extra/").status == 404


def test_prefix_squatting_reverse_is_400(client, build):
    """A file of demo cannot be uploaded as project demo-extra."""
    assert_rejected(
        client.upload(build.wheel("demo"), name="demo-extra"),
        400,
        "Filename 'demo-1.0-py3-none-any.whl' should contain the normalized project "
        "name 'demo_extra', not 'demo'.",
    )


def test_prefix_squatting_sdist_is_400(client, build):
    """An sdist of demo-extra cannot be uploaded as project demo."""
    assert_rejected(
        client.upload(build.sdist("demo-extra"), name="demo"), 400, "Start filename for 'demo' with 'demo'."
    )


def test_metadata_name_mismatch_is_400(client, build):
    """A wheel whose METADATA names another project is refused."""
    dist = build.wheel(metadata_name="other")
    assert_rejected(
        client.upload(dist),
        400,
        "Invalid distribution file. The metadata's Name 'other' does not match the project 'demo'.",
    )


def test_metadata_version_mismatch_is_400(client, build):
    """A wheel whose METADATA has another Version than its filename is refused."""
    dist = build.wheel(metadata_version="2.0")
    assert_rejected(
        client.upload(dist),
        400,
        "Invalid distribution file. The metadata's Version '2.0' does not match the uploaded version '1.0'.",
    )


def test_sdist_metadata_version_mismatch_is_400(client, build):
    """An sdist whose PKG-INFO has another Version than its filename is refused."""
    dist = build.sdist(metadata_version="2.0")
    assert_rejected(
        client.upload(dist),
        400,
        "Invalid distribution file. The metadata's Version '2.0' does not match the uploaded version '1.0'.",
    )


def test_form_version_mismatch_is_400(client, wheel):
    """The form's version must be the filename's."""
    assert_rejected(
        client.upload(wheel, version="1.1"), 400, "Version in filename should be '1.1' not '1.0'."
    )


def test_unsupported_metadata_version_is_400(client, wheel):
    """metadata_version 2.0 (never a real standard) is refused as PyPI does."""
    assert_rejected(
        client.upload(wheel, metadata_version="2.0"),
        400,
        f"'2.0' is an invalid value for Metadata-Version. Error: Use a known metadata "
        f"version. See {METADATA_SPEC} for more information.",
    )


def test_invalid_name_is_400(client, wheel):
    """A project name breaking the naming spec is refused."""
    assert_rejected(
        client.upload(wheel, name="-demo"),
        400,
        "'-demo' is an invalid value for Name. Error: Start and end with a letter or "
        "numeral containing only ASCII numeric and '.', '_' and '-'. "
        f"See {METADATA_SPEC} for more information.",
    )


def test_missing_file_is_400(client, wheel):
    """A form without a content part is refused."""
    assert_rejected(client.upload(wheel, content=None), 400, "Upload payload does not have a file.")


def test_unknown_protocol_is_400(client, wheel):
    """protocol_version other than 1 is refused."""
    assert_rejected(client.upload(wheel, protocol_version="2"), 400, "Unknown protocol version.")


def test_retired_action_is_410(client, wheel):
    """:action=submit (retired by PyPI) is 410 Gone."""
    assert_rejected(
        client.upload(wheel, **{":action": "submit"}),
        410,
        "The 'submit' action is no longer supported; upload files with 'file_upload'.",
    )


def test_zip_sdist_is_400(client, sdist):
    """.zip sdists are refused for upload (PEP 527/625)."""
    assert_rejected(
        client.upload(sdist, content_filename="demo-1.0.zip"),
        400,
        "Invalid file extension: Use .tar.gz or .whl extension. See "
        "https://peps.python.org/pep-0527 and https://peps.python.org/pep-0625 for "
        "more information.",
    )


def test_filetype_mismatch_is_400(client, wheel):
    """A .whl sent as filetype sdist is refused."""
    assert_rejected(
        client.upload(wheel, filetype="sdist", pyversion="source"),
        400,
        "Extension .whl is invalid for filetype sdist.",
    )


def test_not_a_zip_is_400(client, wheel):
    """A .whl whose bytes are not a zip archive is refused."""
    junk = b"this is not a zip archive"
    reply = client.upload(
        wheel, content_bytes=junk, sha256_digest=hashlib.sha256(junk).hexdigest(), blake2_256_digest=None
    )
    assert_rejected(
        reply, 400, "Invalid distribution file. 'demo-1.0-py3-none-any.whl' is not a valid zip archive."
    )


def test_file_part_as_field_name_is_400(client, wheel, build):
    """The file must be the content part; a file sent under another field name is refused."""
    body, content_type = build.encode_upload(wheel, content=None)
    boundary = content_type.split("boundary=")[1]
    extra = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"; filename="x"\r\n\r\ndemo\r\n'
    ).encode()
    reply = _raw(client, extra + body, content_type)
    assert_rejected(reply, 400, "name: Should not be a tuple.")


TOO_LARGE = "File too large. Limit for this index is 1 MiB."


@pytest.fixture
def small_limit_client(make_registry, make_client):
    """A client of a registry that takes uploads up to 1 MiB."""
    return make_client(make_registry(settings={"pypi.max_upload_size": "1MiB"}))


def test_over_max_upload_size_is_413(small_limit_client, build):
    """A file larger than pypi.max_upload_size gets 413 and is not stored."""
    big = build.wheel(stored_padding=1024 * 1024 + 1)
    assert_rejected(small_limit_client.upload(big), 413, TOO_LARGE)
    assert small_limit_client.get("/simple/demo/").status == 404


def test_just_under_max_upload_size_is_accepted(small_limit_client, build):
    """A file just under the limit is accepted."""
    fits = build.wheel(stored_padding=1024 * 1024 - 4096)
    assert len(fits.data) <= 1024 * 1024
    assert small_limit_client.upload(fits).status == 200


def test_declared_length_over_limit_is_413_unread(small_limit_client, wheel, build):
    """A Content-Length far over the limit gets 413 before any body byte is read."""
    _, content_type = build.encode_upload(wheel)
    reply = small_limit_client.request(
        "POST", "/", {"Content-Type": content_type, "Content-Length": str(1024**3)}, b""
    )
    assert_rejected(reply, 413, TOO_LARGE)


def test_anonymous_upload_needs_authentication(make_registry, make_client, wheel):
    """With the default pypi.default_write = authenticated, an anonymous upload gets 401 + challenge."""
    client = make_client(make_registry(settings={"pypi.default_write": "authenticated"}))
    reply = client.upload(wheel)
    assert_rejected(reply, 401, "Authentication required.")
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="pypi"'
    assert client.get("/simple/demo/").status == 404


REJECTED_UPLOADS = {
    "wrong digest": ({"sha256_digest": "0" * 64}, 400),
    "metadata name": ({"__dist__": {"metadata_name": "other"}}, 400),
    "metadata version": ({"__dist__": {"metadata_version": "2.0"}}, 400),
    "too large": ({"__dist__": {"stored_padding": 1024 * 1024 + 1}}, 413),
    "squatting": ({"__dist__": {"name": "demo-extra"}, "name": "demo"}, 400),
}


@pytest.mark.parametrize("case", sorted(REJECTED_UPLOADS))
def test_rejected_upload_leaves_nothing(any_client, build, case):
    """After a rejected upload nothing is listed or served, and no bytes stay in storage."""
    overrides, status = REJECTED_UPLOADS[case]
    overrides = dict(overrides)
    dist = build.wheel(**overrides.pop("__dist__", {}))
    reply = any_client.upload(dist, **overrides) if status != 413 else _limited(any_client, dist)
    assert reply.status == status
    assert any_client.get("/simple/demo/").status == 404
    assert b"demo" not in any_client.get("/simple/").body
    assert any_client.get(dist.url_path).status == 404
    storage = any_client.registry.storage
    if storage.has_change_tokens:  # a local directory: look at what is on disk
        # The project list (layout v2's root listing) is the index's, not the upload's.
        leftovers = [
            p for p in Path(storage.root).rglob("*") if p.is_file() and not p.name.startswith("projects.json")
        ]
        assert leftovers == []


def _limited(client, dist):
    """Upload through a registry sharing ``client``'s storage but with a 1 MiB limit."""
    import attrs

    from pyregistry_core import Registry

    registry = client.registry
    limited = Registry(attrs.evolve(registry.settings, max_upload_size=1024 * 1024), registry.storage)
    return type(client)(client.kind, limited).upload(dist)


def test_rejected_second_file_keeps_the_first(any_client, wheel, build):
    """A refused file of an existing project is not listed next to the accepted one."""
    assert any_client.upload(wheel).status == 200
    bad = build.wheel(version="2.0", metadata_version="3.0")
    assert any_client.upload(bad).status == 400
    page = any_client.get("/simple/demo/").body.decode()
    assert wheel.filename in page
    assert bad.filename not in page
    assert any_client.get(bad.url_path).status == 404
