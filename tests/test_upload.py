"""The legacy upload API: reading the multipart form and PyPI's checks (``pyregistry_core.upload``)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from distfiles import digests, multipart_body, sdist_bytes, wheel_bytes
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version
from strategies import name_spellings, project_names, sdist_filenames, versions, wheel_filenames

from pyregistry_core.dists import DistKind
from pyregistry_core.errors import InvalidUpload, UnsupportedAction, UploadTooLarge
from pyregistry_core.upload import (
    FormLimits,
    UploadForm,
    read_upload_form,
    validate_form,
)

MiB = 1024 * 1024
LIMITS = FormLimits(max_file_size=2 * MiB)
WHEEL_NAME = "demo-1.0-py3-none-any.whl"
WHEEL = wheel_bytes("demo", "1.0")
SPEC = "https://packaging.python.org/specifications/core-metadata"
DIGEST_MISMATCH = "The digest supplied does not match a digest calculated from the uploaded file."
EXTENSION_ERROR = (
    "Invalid file extension: Use .tar.gz or .whl extension. "
    "See https://peps.python.org/pep-0527 and https://peps.python.org/pep-0625 "
    "for more information."
)


def upload_fields(
    name: str = "demo", version: str = "1.0", filetype: str = "bdist_wheel", **extra: str
) -> dict[str, str]:
    """The fields twine sends for a file (a sha256 digest is added by the caller)."""
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": name,
        "version": version,
        "filetype": filetype,
        "pyversion": "py3" if filetype == "bdist_wheel" else "source",
    }
    fields.update(extra)
    return fields


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        """It claims to be readable."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Reading is a test failure."""
        raise AssertionError("the body was read")


def read_form(
    body: bytes,
    content_type: str | None,
    staging: Path,
    *,
    content_length: int | str | None = "auto",
    limits: FormLimits = LIMITS,
    query: Mapping[str, str] | None = None,
) -> UploadForm:
    """read_upload_form over an in-memory body."""
    length = len(body) if content_length == "auto" else content_length
    assert not isinstance(length, str)
    return read_upload_form(io.BytesIO(body), content_type, length, str(staging), limits, query)


def form_for(
    data: bytes,
    filename: str | None,
    fields: Mapping[str, str | tuple[str, ...]],
    *,
    content_type: str | None = "application/octet-stream",
) -> UploadForm:
    """An UploadForm as read_upload_form would produce for this file and these fields."""
    hashes = digests(data)
    return UploadForm(
        fields={k: (v,) if isinstance(v, str) else v for k, v in fields.items()},
        filename=filename,
        content_type=content_type if filename is not None else None,
        size=len(data) if filename is not None else 0,
        sha256=hashes.sha256,
        blake2_256=hashes.blake2_256,
        md5=hashes.md5,
    )


def valid_form(**changes: Any) -> UploadForm:
    """A form for demo 1.0's wheel that passes validation; ``changes`` override fields."""
    fields: dict[str, str | tuple[str, ...]] = {
        **upload_fields(),
        "sha256_digest": digests(WHEEL).sha256,
    }
    for spelled, value in changes.items():
        key = spelled.replace("__", ":")
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return form_for(WHEEL, WHEEL_NAME, fields)


def rejected(form: UploadForm) -> str:
    """The message validate_form raises for ``form``."""
    with pytest.raises(InvalidUpload) as info:
        validate_form(form)
    return info.value.message


def invalid_value(value: str, field: str, error: str) -> str:
    """PyPI's wording for an invalid form value."""
    return f"{value!r} is an invalid value for {field}. Error: {error} See {SPEC} for more information."


# --------------------------------------------------------------------------------------
# read_upload_form


def test_form_fields_and_file_are_read_and_hashed(tmp_path: Path) -> None:
    """Fields come back as tuples; the file is streamed to the staging path with its digests."""
    data = WHEEL + b"\r\n--not-a-boundary\r\n" + bytes(range(256)) * 2000
    fields = upload_fields(classifiers=("A", "B"), sha256_digest=digests(data).sha256)
    body, content_type = multipart_body(
        {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
        [("content", WHEEL_NAME, data, "application/octet-stream")],
    )
    staging = tmp_path / "staged"
    form = read_form(body, content_type, staging)
    assert staging.read_bytes() == data
    hashes = digests(data)
    assert (form.size, form.sha256, form.blake2_256, form.md5) == (
        len(data),
        hashes.sha256,
        hashes.blake2_256,
        hashes.md5,
    )
    assert form.filename == WHEEL_NAME
    assert form.content_type == "application/octet-stream"
    assert form.fields["classifiers"] == ("A", "B")
    assert form.get("name") == "demo"
    assert form.get("absent") == ""


def test_body_is_read_in_bounded_chunks(tmp_path: Path) -> None:
    """The reader never asks the body for more than 256 KiB at a time."""
    data = bytes(range(256)) * 8000  # 2 MB
    body, content_type = multipart_body(upload_fields(), [("content", WHEEL_NAME, data, None)])
    sizes: list[int] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(-1 if size is None else size)
            return super().read(size)

    read_upload_form(
        Recording(body), content_type, len(body), str(tmp_path / "s"), FormLimits(max_file_size=4 * MiB)
    )
    assert sizes
    assert all(0 < size <= 256 * 1024 for size in sizes)


def test_body_without_content_length_is_read_to_the_end(tmp_path: Path) -> None:
    """A chunked body (no Content-Length) is read until the closing boundary."""
    body, content_type = multipart_body(upload_fields(), [("content", WHEEL_NAME, WHEEL, None)])
    form = read_form(body, content_type, tmp_path / "s", content_length=None)
    assert form.sha256 == digests(WHEEL).sha256


def test_action_may_come_from_the_query_string(tmp_path: Path) -> None:
    """ ":action" in the query counts; other query parameters never become form fields."""
    fields = upload_fields()
    del fields[":action"]
    body, content_type = multipart_body(fields, [("content", WHEEL_NAME, WHEEL, None)])
    form = read_form(
        body, content_type, tmp_path / "s", query={":action": "file_upload", "name": "evil", "version": "9"}
    )
    assert form.fields[":action"] == ("file_upload",)
    assert form.fields["name"] == ("demo",)
    assert form.fields["version"] == ("1.0",)


@pytest.mark.parametrize("content_type", [None, "", "application/x-www-form-urlencoded", "text/plain"])
def test_body_that_is_not_multipart_is_rejected(tmp_path: Path, content_type: str | None) -> None:
    """Only multipart/form-data is an upload."""
    with pytest.raises(InvalidUpload) as info:
        read_form(b"name=demo", content_type, tmp_path / "s")
    assert info.value.message == "Invalid upload: the request body must be multipart/form-data."


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + "x" * 201,
    ],
)
def test_missing_or_invalid_boundary_is_rejected(tmp_path: Path, content_type: str) -> None:
    """multipart/form-data without a usable boundary is refused."""
    with pytest.raises(InvalidUpload) as info:
        read_form(b"", content_type, tmp_path / "s")
    assert info.value.message == "Invalid upload: the multipart boundary is missing or invalid."


@pytest.mark.parametrize("cut", [10, 200, -40, -3])
def test_truncated_body_is_rejected(tmp_path: Path, cut: int) -> None:
    """A body that ends before the closing boundary says so."""
    body, content_type = multipart_body(upload_fields(), [("content", WHEEL_NAME, WHEEL, None)])
    with pytest.raises(InvalidUpload) as info:
        read_form(body[:cut], content_type, tmp_path / "s", content_length=len(body))
    assert info.value.message == "Invalid upload: the request body ended before the form did."


@pytest.mark.parametrize("content_length", [len(b"x"), None])
def test_garbage_body_is_rejected(tmp_path: Path, content_length: int | None) -> None:
    """A body that is not multipart at all is malformed, never a crash."""
    _, content_type = multipart_body({})
    with pytest.raises(InvalidUpload) as info:
        read_form(b"x", content_type, tmp_path / "s", content_length=content_length)
    assert info.value.message.startswith("Invalid upload: ")


def test_two_content_parts_are_rejected(tmp_path: Path) -> None:
    """A form carrying two files named "content" is refused."""
    body, content_type = multipart_body(
        upload_fields(),
        [
            ("content", WHEEL_NAME, WHEEL, None),
            ("content", "demo-1.0.tar.gz", b"x", None),
        ],
    )
    with pytest.raises(InvalidUpload) as info:
        read_form(body, content_type, tmp_path / "s")
    assert info.value.message == "Invalid upload: more than one file part named 'content'."


def test_a_metadata_field_sent_as_a_file_is_rejected(tmp_path: Path) -> None:
    """A non-file field sent as a file part gets PyPI's "Should not be a tuple." message."""
    body, content_type = multipart_body(
        upload_fields(),
        [
            ("content", WHEEL_NAME, WHEEL, None),
            ("description", "README.md", b"text", None),
        ],
    )
    with pytest.raises(InvalidUpload) as info:
        read_form(body, content_type, tmp_path / "s")
    assert info.value.message == "description: Should not be a tuple."


def test_a_gpg_signature_part_is_ignored(tmp_path: Path) -> None:
    """twine --sign's "gpg_signature" file part is accepted and ignored, as PyPI does since 2023."""
    body, content_type = multipart_body(
        {**upload_fields(), "sha256_digest": digests(WHEEL).sha256},
        [
            ("content", WHEEL_NAME, WHEEL, "application/octet-stream"),
            ("gpg_signature", WHEEL_NAME + ".asc", b"-----BEGIN PGP SIGNATURE-----\n", None),
        ],
    )
    staging = tmp_path / "s"
    form = read_form(body, content_type, staging)
    assert staging.read_bytes() == WHEEL
    assert form.filename == WHEEL_NAME
    assert validate_form(form).dist.filename == WHEEL_NAME


def test_huge_field_is_rejected(tmp_path: Path) -> None:
    """A form field larger than max_field_size is refused, naming the field."""
    body, content_type = multipart_body(upload_fields(description="x" * 5000))
    with pytest.raises(InvalidUpload) as info:
        read_form(
            body, content_type, tmp_path / "s", limits=FormLimits(max_file_size=MiB, max_field_size=1000)
        )
    assert info.value.message == "Invalid upload: form field 'description' is too large."


def test_fields_over_the_total_budget_are_rejected(tmp_path: Path) -> None:
    """Many small fields together may not pass max_fields_total."""
    body, content_type = multipart_body({"classifiers": ["x" * 500] * 10})
    with pytest.raises(InvalidUpload) as info:
        read_form(
            body,
            content_type,
            tmp_path / "s",
            limits=FormLimits(max_file_size=MiB, max_field_size=1000, max_fields_total=2000),
        )
    assert info.value.message == "Invalid upload: form field 'classifiers' is too large."


def test_too_many_parts_are_rejected(tmp_path: Path) -> None:
    """More parts than max_parts is refused."""
    body, content_type = multipart_body([("classifiers", "x")] * 20)
    with pytest.raises(InvalidUpload) as info:
        read_form(body, content_type, tmp_path / "s", limits=FormLimits(max_file_size=MiB, max_parts=10))
    assert info.value.message == "Invalid upload: the multipart form is malformed or has too many parts."


def test_content_length_over_the_limit_is_rejected_before_reading(tmp_path: Path) -> None:
    """A declared Content-Length past the limit raises UploadTooLarge without reading the body."""
    with pytest.raises(UploadTooLarge) as info:
        read_upload_form(
            UnreadableBody(),
            "multipart/form-data; boundary=b",
            LIMITS.max_body_size + 1,
            str(tmp_path / "s"),
            LIMITS,
        )
    assert info.value.message == "File too large. Limit for this index is 2 MiB."


def test_streamed_file_over_the_limit_is_rejected(tmp_path: Path) -> None:
    """Without a Content-Length, a file growing past max_file_size raises UploadTooLarge."""
    data = b"\0" * (2 * MiB + 1)
    body, content_type = multipart_body(upload_fields(), [("content", WHEEL_NAME, data, None)])
    with pytest.raises(UploadTooLarge) as info:
        read_form(body, content_type, tmp_path / "s", content_length=None)
    assert info.value.message == "File too large. Limit for this index is 2 MiB."


def test_a_file_at_the_limit_is_accepted(tmp_path: Path) -> None:
    """A file of exactly max_file_size bytes is read."""
    data = b"\1" * (2 * MiB)
    body, content_type = multipart_body(upload_fields(), [("content", WHEEL_NAME, data, None)])
    assert read_form(body, content_type, tmp_path / "s").size == 2 * MiB


# --------------------------------------------------------------------------------------
# validate_form


def test_valid_wheel_form_is_accepted() -> None:
    """A complete form for a wheel validates into project, version and parsed filename."""
    checked = validate_form(valid_form())
    assert (checked.project, checked.display_name, checked.version) == ("demo", "demo", Version("1.0"))
    assert checked.dist.kind is DistKind.WHEEL


def test_valid_sdist_form_is_accepted() -> None:
    """A complete form for a PEP 625 sdist validates."""
    data = sdist_bytes("demo", "1.0")
    form = form_for(
        data, "demo-1.0.tar.gz", {**upload_fields(filetype="sdist"), "sha256_digest": digests(data).sha256}
    )
    assert validate_form(form).dist.kind is DistKind.SDIST


@pytest.mark.parametrize("digest", ["md5_digest", "blake2_256_digest", "sha256_digest"])
def test_any_one_digest_is_enough(digest: str) -> None:
    """PyPI needs only one of md5, blake2_256 and sha256, in any case."""
    hashes = digests(WHEEL)
    value = {
        "md5_digest": hashes.md5,
        "blake2_256_digest": hashes.blake2_256,
        "sha256_digest": hashes.sha256,
    }[digest]
    form = valid_form(**{"sha256_digest": None, digest: value.upper()})
    assert validate_form(form).project == "demo"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"protocol_version": "2"}, "Unknown protocol version."),
        ({"__action": None}, "Unknown action '': use ':action=file_upload'."),
        ({"__action": "remove_pkg"}, "Unknown action 'remove_pkg': use ':action=file_upload'."),
        (
            {"metadata_version": "2.0"},
            invalid_value("2.0", "Metadata-Version", "Use a known metadata version."),
        ),
        ({"name": None}, invalid_value("", "Name", "This field is required.")),
        (
            {"name": "-demo"},
            invalid_value(
                "-demo",
                "Name",
                "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.",
            ),
        ),
        (
            {"name": "d\u212amo"},
            invalid_value(
                "d\u212amo",
                "Name",
                "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.",
            ),
        ),
        ({"version": None}, invalid_value("", "Version", "This field is required.")),
        (
            {"version": "one"},
            invalid_value(
                "one",
                "Version",
                "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. "
                "Use PEP 440 versioning.",
            ),
        ),
        (
            {"filetype": "bdist_egg"},
            invalid_value("bdist_egg", "Filetype", "Use a known file type (sdist or bdist_wheel)."),
        ),
        ({"filetype": None}, invalid_value("", "Filetype", "Use a known file type (sdist or bdist_wheel).")),
        ({"sha256_digest": None}, "Include at least one message digest."),
        ({"sha256_digest": "0" * 64}, DIGEST_MISMATCH),
        ({"md5_digest": "0" * 32}, DIGEST_MISMATCH),
        ({"name": ("demo", "other")}, "Invalid upload: field 'name' was given more than once."),
        (
            {"sha256_digest": ("a" * 64, "b" * 64)},
            "Invalid upload: field 'sha256_digest' was given more than once.",
        ),
    ],
)
def test_field_rejections(changes: dict[str, Any], message: str) -> None:
    """Each bad field value is refused with PyPI's wording."""
    assert rejected(valid_form(**changes)) == message


@pytest.mark.parametrize("action", ["submit", "submit_pkg_info", "doc_upload"])
def test_retired_actions_are_gone(action: str) -> None:
    """PyPI's retired actions raise UnsupportedAction (410)."""
    with pytest.raises(UnsupportedAction) as info:
        validate_form(valid_form(__action=action))
    assert info.value.message == (
        f"The {action!r} action is no longer supported; upload files with 'file_upload'."
    )


def test_repeated_identical_values_are_refused() -> None:
    """A single-valued field sent twice is ambiguous even with the same value."""
    assert (
        rejected(valid_form(name=("demo", " demo")))
        == "Invalid upload: field 'name' was given more than once."
    )


def test_missing_file_is_rejected() -> None:
    """A form without a file part is refused with PyPI's message."""
    fields = {**upload_fields(), "sha256_digest": digests(WHEEL).sha256}
    assert rejected(form_for(b"", None, fields)) == "Upload payload does not have a file."


def test_image_part_is_rejected() -> None:
    """A file part typed image/* is not a distribution (PyPI)."""
    form = attrs.evolve(valid_form(), content_type="image/png")
    assert rejected(form) == "Invalid distribution file."


@pytest.mark.parametrize(
    "filename",
    ["../demo-1.0-py3-none-any.whl", "dir/demo-1.0-py3-none-any.whl", "dir\\demo-1.0-py3-none-any.whl"],
)
def test_path_separators_in_filename_are_rejected(filename: str) -> None:
    """A filename with "/" or "\\" is refused."""
    form = attrs.evolve(valid_form(), filename=filename)
    assert rejected(form) == "Cannot upload a file with '/' or '\\' in the name."


@pytest.mark.parametrize(
    "filename",
    [
        "demo-1.0-py3-none-any .whl",
        "d\u00e9mo-1.0-py3-none-any.whl",
        "demo-1.0-py3-none-any.whl\n",
        "demo\x00-1.0-py3-none-any.whl",
        "a" * 252 + ".whl",
    ],
)
def test_reserved_characters_in_filename_are_rejected(filename: str) -> None:
    """Spaces, non-ASCII, control characters and names past 255 characters are refused."""
    form = attrs.evolve(valid_form(), filename=filename)
    assert rejected(form) == (
        "Cannot upload a file with non-printable, non-ASCII or reserved characters in the name."
    )


@pytest.mark.parametrize(
    ("filename", "filetype"),
    [
        ("demo-1.0.exe", "bdist_wheel"),
        ("demo-1.0.egg", "bdist_wheel"),
        ("demo-1.0.tar.bz2", "sdist"),
        ("demo-1.0.zip", "sdist"),
        ("demo-1.0.tgz", "sdist"),
    ],
)
def test_bad_extensions_are_rejected(filename: str, filetype: str) -> None:
    """Only .whl and .tar.gz are accepted; .zip sdists are refused (PEP 625)."""
    form = attrs.evolve(valid_form(filetype=filetype), filename=filename)
    assert rejected(form) == EXTENSION_ERROR


@pytest.mark.parametrize(
    ("filename", "filetype", "message"),
    [
        (WHEEL_NAME, "sdist", "Extension .whl is invalid for filetype sdist."),
        ("demo-1.0.tar.gz", "bdist_wheel", "Extension .tar.gz is invalid for filetype bdist_wheel."),
    ],
)
def test_filetype_must_match_extension(filename: str, filetype: str, message: str) -> None:
    """The filetype field and the file extension must agree."""
    form = attrs.evolve(valid_form(filetype=filetype), filename=filename)
    assert rejected(form) == message


@pytest.mark.parametrize(
    ("filename", "filetype", "message"),
    [
        ("demo.tar.gz", "sdist", "Filename 'demo.tar.gz' is invalid, should be '<name>-<version>.tar.gz'."),
        (
            "demo-one.tar.gz",
            "sdist",
            "Filename 'demo-one.tar.gz' is invalid, should be '<name>-<version>.tar.gz'.",
        ),
    ],
)
def test_unparseable_sdist_filenames_are_rejected(filename: str, filetype: str, message: str) -> None:
    """An sdist filename without a version is refused with PyPI's wording."""
    form = attrs.evolve(valid_form(filetype=filetype), filename=filename)
    assert rejected(form) == message


def test_unparseable_wheel_filename_is_rejected() -> None:
    """A wheel filename packaging cannot parse is refused, naming the file."""
    form = attrs.evolve(valid_form(), filename="demo-1.0.whl")
    assert rejected(form).startswith("Invalid wheel filename 'demo-1.0.whl': ")


def test_prefix_squatting_wheel_is_rejected() -> None:
    """ "foo_bar-1.0-….whl" uploaded as project "foo" is refused: a prefix is not a name."""
    form = attrs.evolve(valid_form(name="foo"), filename="foo_bar-1.0-py3-none-any.whl")
    assert rejected(form) == (
        "Filename 'foo_bar-1.0-py3-none-any.whl' should contain the normalized project name "
        "'foo', not 'foo_bar'."
    )


def test_prefix_squatting_sdist_is_rejected() -> None:
    """ "foo_bar-1.0.tar.gz" uploaded as project "foo" is refused."""
    form = attrs.evolve(valid_form(name="foo", filetype="sdist"), filename="foo_bar-1.0.tar.gz")
    assert rejected(form) == "Start filename for 'foo' with 'foo'."


def test_sdist_for_another_dashed_project_is_rejected() -> None:
    """An sdist of "foo-bar" cannot be uploaded under the name "foo-baz"."""
    form = attrs.evolve(valid_form(name="foo-baz", filetype="sdist"), filename="foo_bar-1.0.tar.gz")
    assert rejected(form) == "Start filename for 'foo-baz' with 'foo_baz'."


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("Foo_Bar", "foo_bar-1.0-py3-none-any.whl"),
        ("foo-bar", "Foo.Bar-1.0-py3-none-any.whl"),
        ("FOO.BAR", "foo_bar-1.0.tar.gz"),
    ],
)
def test_names_that_normalize_alike_are_accepted(name: str, filename: str) -> None:
    """The filename's name part only has to normalize to the project's name (old wheels)."""
    sdist = filename.endswith(".tar.gz")
    filetype, pyversion = ("sdist", "source") if sdist else ("bdist_wheel", "py3")
    form = attrs.evolve(valid_form(name=name, filetype=filetype, pyversion=pyversion), filename=filename)
    form = attrs.evolve(form, fields={**form.fields, "sha256_digest": (form.sha256,)})
    assert validate_form(form).project == "foo-bar"


def test_version_mismatch_is_rejected() -> None:
    """The filename's version must equal the form's version."""
    form = attrs.evolve(valid_form(version="1.0"), filename="demo-2.0-py3-none-any.whl")
    assert rejected(form) == "Version in filename should be '1.0' not '2.0'."


def test_equal_versions_spelled_differently_are_accepted() -> None:
    """Versions compare by PEP 440 equality: "1.0.0" matches a "1.0" filename."""
    assert validate_form(valid_form(version="1.0.0")).version == Version("1.0")


def test_empty_file_is_rejected() -> None:
    """A zero-byte file with a matching digest is still not a distribution."""
    fields = {**upload_fields(), "sha256_digest": digests(b"").sha256}
    assert rejected(form_for(b"", WHEEL_NAME, fields)) == "Invalid distribution file. The file is empty."


@pytest.mark.parametrize(
    ("changes", "filename", "message"),
    [
        ({"protocol_version": "2", "name": "-bad"}, WHEEL_NAME, "Unknown protocol version."),
        (
            {"metadata_version": "9.9", "name": "-bad"},
            WHEEL_NAME,
            invalid_value("9.9", "Metadata-Version", "Use a known metadata version."),
        ),
        (
            {"name": "-bad", "version": "bad"},
            WHEEL_NAME,
            invalid_value(
                "-bad",
                "Name",
                "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.",
            ),
        ),
        (
            {"version": "", "filetype": "egg"},
            WHEEL_NAME,
            invalid_value("", "Version", "This field is required."),
        ),
        (
            {"filetype": "egg"},
            None,
            invalid_value("egg", "Filetype", "Use a known file type (sdist or bdist_wheel)."),
        ),
        ({"sha256_digest": None}, None, "Upload payload does not have a file."),
        ({"sha256_digest": None}, "x/demo-1.0.exe", "Cannot upload a file with '/' or '\\' in the name."),
        ({"sha256_digest": None}, "demo-1.0.exe", EXTENSION_ERROR),
        (
            {"sha256_digest": None, "version": "2.0"},
            "foo-1.0-py3-none-any.whl",
            "Filename 'foo-1.0-py3-none-any.whl' should contain the normalized project name "
            "'demo', not 'foo'.",
        ),
        (
            {"sha256_digest": None, "version": "2.0"},
            WHEEL_NAME,
            "Version in filename should be '2.0' not '1.0'.",
        ),
    ],
)
def test_checks_run_in_pypi_order(changes: dict[str, Any], filename: str | None, message: str) -> None:
    """With several problems, the one PyPI reports first is the one reported."""
    form = attrs.evolve(valid_form(**changes), filename=filename)
    assert rejected(form) == message


@given(
    st.data(),
    st.tuples(project_names(max_size=20), project_names(max_size=20)).filter(
        lambda pair: canonicalize_name(pair[0]) != canonicalize_name(pair[1])
    ),
    versions(),
    st.booleans(),
)
def test_filename_for_another_name_is_always_rejected(
    data: st.DataObject, names: tuple[str, str], version: str, wheel: bool
) -> None:
    """Any file whose name part normalizes differently from the form's name is refused."""
    form_name, file_name = names
    filename = data.draw((wheel_filenames if wheel else sdist_filenames)(file_name, version))[0]
    fields = {
        **upload_fields(name=form_name, version=version, filetype="bdist_wheel" if wheel else "sdist"),
        "sha256_digest": digests(WHEEL).sha256,
    }
    message = rejected(form_for(WHEEL, filename, fields))
    underscored = canonicalize_name(form_name).replace("-", "_")
    if wheel:
        assert message.startswith(
            f"Filename '{filename}' should contain the normalized project name '{underscored}'"
        )
    else:
        assert message == f"Start filename for {canonicalize_name(form_name)!r} with {underscored!r}."


@given(st.data(), project_names(max_size=20), versions(), st.booleans())
def test_filename_for_the_same_name_is_accepted(
    data: st.DataObject, name: str, version: str, wheel: bool
) -> None:
    """Any spelling of the project's name in the form matches a correctly named file."""
    spelling = data.draw(name_spellings(name))
    filename = data.draw((wheel_filenames if wheel else sdist_filenames)(name, version))[0]
    fields = {
        **upload_fields(name=spelling, version=version, filetype="bdist_wheel" if wheel else "sdist"),
        "pyversion": filename.split("-")[-3] if wheel else "source",  # what twine and uv send
        "sha256_digest": digests(WHEEL).sha256,
    }
    checked = validate_form(form_for(WHEEL, filename, fields))
    assert checked.project == canonicalize_name(name)
    assert checked.version == Version(version)
