"""The legacy upload API (what twine and uv send): reading the form, then PyPI's checks.

Reading streams the file part to a staging path while hashing it, so memory stays
bounded whatever the file's size. Validation follows PyPI's order and wording
(STANDARDS.md §12) with DESIGN.md's exceptions: any platform tag, no release age
limit, ``.zip`` sdists refused, a filename's name part must normalize to the project.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import IO

import attrs
from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, canonicalize_name
from packaging.version import InvalidVersion, Version
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
)

from .dists import DistFilename, DistKind
from .errors import InvalidUpload, UploadTooLarge
from .names import NormalizedName, is_valid_project_name

__all__ = ["FormLimits", "UploadForm", "ValidatedUpload", "read_upload_form", "validate_form"]

_METADATA_SPEC = "https://packaging.python.org/specifications/core-metadata"
_SUPPORTED_METADATA_VERSIONS = {"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"}
# Fields that must have one value; repeating them with another value is refused.
_SINGLE_VALUED = (
    ":action", "protocol_version", "name", "version", "metadata_version", "filetype",
    "pyversion", "md5_digest", "sha256_digest", "blake2_256_digest",
)
_CHUNK = 256 * 1024


class UnsupportedAction(InvalidUpload):
    """A legacy ``:action`` PyPI retired (``submit``, ``doc_upload``): 410 Gone."""


@attrs.frozen
class FormLimits:
    """Bounds on what an upload form may hold besides the file."""

    max_file_size: int
    max_field_size: int = 1024 * 1024
    max_fields_total: int = 8 * 1024 * 1024
    max_parts: int = 1000

    @property
    def max_body_size(self) -> int:
        """The largest acceptable body (file plus fields)."""
        return self.max_file_size + self.max_fields_total


@attrs.frozen
class UploadForm:
    """The decoded upload form: fields, and the file staged on disk with its digests."""

    fields: Mapping[str, tuple[str, ...]]
    filename: str | None = None
    content_type: str | None = None
    size: int = 0
    sha256: str = ""
    blake2_256: str = ""
    md5: str = ""

    def get(self, key: str) -> str:
        """The field's (first) value, stripped; empty when absent."""
        values = self.fields.get(key)
        return values[0].strip() if values else ""


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(
        f"File too large. Limit for this index is {limit // (1024 * 1024)} MB."
    )


def read_upload_form(
    body: IO[bytes],
    content_type: str | None,
    content_length: int | None,
    staging_path: str,
    limits: FormLimits,
    query: Mapping[str, str] | None = None,
) -> UploadForm:
    """Decode a multipart upload, streaming the ``content`` part to ``staging_path``."""
    if content_length is not None and content_length > limits.max_body_size:
        raise _too_large(limits.max_file_size)  # before reading a single byte
    mimetype, options = parse_options_header(content_type or "")
    if mimetype != "multipart/form-data":
        raise InvalidUpload("Invalid upload: the request body must be multipart/form-data.")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise InvalidUpload("Invalid upload: the multipart boundary is missing or invalid.")
    decoder = MultipartDecoder(
        boundary.encode("latin-1", "replace"),
        max_form_memory_size=limits.max_field_size + _CHUNK,
        max_parts=limits.max_parts,
    )
    fields: dict[str, list[str]] = {k: [v] for k, v in (query or {}).items() if k == ":action"}
    sha256, blake2, md5 = hashlib.sha256(), hashlib.blake2b(digest_size=32), hashlib.md5()  # noqa: S324 - md5 is a checksum PyPI clients may send
    filename: str | None = None
    part_type: str | None = None
    size = 0
    fields_total = 0
    current: str | None = None
    current_value = bytearray()
    in_file = False
    remaining = content_length
    finished = False
    with open(staging_path, "wb") as out:
        while not finished:
            want = _CHUNK if remaining is None else min(_CHUNK, remaining)
            chunk = body.read(want) if want > 0 else b""
            if remaining is not None:
                remaining -= len(chunk)
            try:
                decoder.receive_data(chunk or None)
                event = decoder.next_event()
                while event is not NEED_DATA:
                    if isinstance(event, File):
                        if in_file or filename is not None or event.name != "content":
                            raise InvalidUpload(
                                f"{event.name}: Should not be a tuple."
                                if event.name != "content" else
                                "Invalid upload: more than one file part named 'content'."
                            )
                        in_file, filename = True, event.filename
                        part_type = event.headers.get("content-type")
                    elif isinstance(event, Field):
                        in_file, current = False, event.name
                        current_value = bytearray()
                    elif isinstance(event, Data):
                        if in_file:
                            size += len(event.data)
                            if size > limits.max_file_size:
                                raise _too_large(limits.max_file_size)
                            out.write(event.data)
                            sha256.update(event.data)
                            blake2.update(event.data)
                            md5.update(event.data)
                        else:
                            fields_total += len(event.data)
                            current_value += event.data
                            if len(current_value) > limits.max_field_size or fields_total > limits.max_fields_total:
                                raise InvalidUpload(f"Invalid upload: form field {current!r} is too large.")
                            if not event.more_data and current is not None:
                                fields.setdefault(current, []).append(
                                    current_value.decode("utf-8", "replace")
                                )
                        if not event.more_data:
                            in_file = False
                    elif isinstance(event, Epilogue):
                        finished = True
                        break
                    event = decoder.next_event()
            except RequestEntityTooLarge as exc:
                raise InvalidUpload("Invalid upload: the multipart form is malformed or has too many parts.") from exc
            except ValueError as exc:
                if isinstance(exc, (InvalidUpload, UploadTooLarge)):
                    raise
                raise InvalidUpload(f"Invalid upload: malformed multipart body ({exc}).") from exc
            if not chunk and not finished:
                raise InvalidUpload("Invalid upload: the request body ended before the form did.")
    return UploadForm(
        fields={k: tuple(v) for k, v in fields.items()},
        filename=filename,
        content_type=part_type,
        size=size,
        sha256=sha256.hexdigest(),
        blake2_256=blake2.hexdigest(),
        md5=md5.hexdigest(),
    )


def _invalid_value(value: str, field: str, error: str) -> InvalidUpload:
    return InvalidUpload(
        f"{value!r} is an invalid value for {field}. Error: {error} "
        f"See {_METADATA_SPEC} for more information."
    )


@attrs.frozen
class ValidatedUpload:
    """A form that passed every check that needs no archive reading."""

    project: NormalizedName
    display_name: str
    version: Version
    dist: DistFilename
    form: UploadForm


_BAD_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._+!-]")


def validate_form(form: UploadForm) -> ValidatedUpload:
    """PyPI's checks, in PyPI's order, on the fields and the filename."""
    for key in _SINGLE_VALUED:
        values = {v.strip() for v in form.fields.get(key, ())}
        if len(values) > 1:
            raise InvalidUpload(f"Invalid upload: field {key!r} was given several different values.")
    action = form.get(":action")
    if action in ("submit", "submit_pkg_info", "doc_upload"):
        raise UnsupportedAction(f"The {action!r} action is no longer supported; upload files with 'file_upload'.")
    if action != "file_upload":
        raise InvalidUpload(f"Unknown action {action!r}: use ':action=file_upload'.")
    if form.get("protocol_version") != "1":
        raise InvalidUpload("Unknown protocol version.")
    metadata_version = form.get("metadata_version")
    if metadata_version and metadata_version not in _SUPPORTED_METADATA_VERSIONS:
        raise _invalid_value(metadata_version, "Metadata-Version", "Use a known metadata version.")
    name = form.get("name")
    if not name:
        raise _invalid_value(name, "Name", "This field is required.")
    if not is_valid_project_name(name):
        raise _invalid_value(
            name, "Name",
            "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.",
        )
    raw_version = form.get("version")
    if not raw_version:
        raise _invalid_value(raw_version, "Version", "This field is required.")
    try:
        version = Version(raw_version)
    except InvalidVersion as exc:
        raise _invalid_value(
            raw_version, "Version",
            "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. "
            "Use PEP 440 versioning.",
        ) from exc
    filetype = form.get("filetype")
    if filetype not in (DistKind.SDIST.value, DistKind.WHEEL.value):
        raise _invalid_value(filetype, "Filetype", "Use a known file type (sdist or bdist_wheel).")
    filename = form.filename
    if not filename:
        raise InvalidUpload("Upload payload does not have a file.")
    if form.content_type and form.content_type.lower().startswith("image/"):
        raise InvalidUpload("Invalid distribution file.")
    if "/" in filename or "\\" in filename:
        raise InvalidUpload("Cannot upload a file with '/' or '\\' in the name.")
    if len(filename) > 255 or _BAD_FILENAME_CHARS.search(filename):
        raise InvalidUpload(
            "Cannot upload a file with non-printable, non-ASCII or reserved characters in the name."
        )
    dist = _parse_filename(filename, filetype)
    project = canonicalize_name(name)
    if dist.name != project:
        underscored = project.replace("-", "_")
        if dist.kind is DistKind.SDIST:
            raise InvalidUpload(f"Start filename for {project!r} with {underscored!r}.")
        raise InvalidUpload(
            f"Filename '{filename}' should contain the normalized project name "
            f"'{underscored}', not '{filename.split('-', 1)[0]}'."
        )
    if dist.version != version:
        raise InvalidUpload(f"Version in filename should be '{version}' not '{dist.version}'.")
    _check_digests(form)
    if form.size == 0:
        raise InvalidUpload("Invalid distribution file. The file is empty.")
    return ValidatedUpload(project, name, version, dist, form)


def _parse_filename(filename: str, filetype: str) -> DistFilename:
    if filename.endswith(".zip") or not filename.endswith((".whl", ".tar.gz")):
        raise InvalidUpload(
            "Invalid file extension: Use .tar.gz or .whl extension. "
            "See https://peps.python.org/pep-0527 and https://peps.python.org/pep-0625 "
            "for more information."
        )
    expected = ".whl" if filetype == DistKind.WHEEL.value else ".tar.gz"
    if not filename.endswith(expected):
        extension = ".whl" if filename.endswith(".whl") else ".tar.gz"
        raise InvalidUpload(f"Extension {extension} is invalid for filetype {filetype}.")
    try:
        return DistFilename.from_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, ValueError) as exc:
        if filename.endswith(".tar.gz"):
            raise InvalidUpload(
                f"Filename '{filename}' is invalid, should be '<name>-<version>.tar.gz'."
            ) from exc
        raise InvalidUpload(f"Invalid wheel filename '{filename}': {exc}") from exc


def _check_digests(form: UploadForm) -> None:
    supplied = {
        "md5_digest": form.md5,
        "sha256_digest": form.sha256,
        "blake2_256_digest": form.blake2_256,
    }
    given = {k: form.get(k).lower() for k in supplied if form.get(k)}
    if not given:
        raise InvalidUpload("Include at least one message digest.")
    for key, value in given.items():
        if not hmac.compare_digest(value.encode(), supplied[key].encode()):
            raise InvalidUpload(
                "The digest supplied does not match a digest calculated from the uploaded file."
            )
