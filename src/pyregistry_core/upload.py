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
from typing import IO, Protocol

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
from .errors import InvalidUpload, UnsupportedAction, UploadTooLarge
from .names import NormalizedName, is_valid_project_name
from .upload_fields import check_form_shape, check_pyversion

__all__ = ["ByteSink", "FormLimits", "UploadForm", "ValidatedUpload", "read_upload_form", "validate_form"]

_METADATA_SPEC = "https://packaging.python.org/specifications/core-metadata"
_SUPPORTED_METADATA_VERSIONS = {"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"}
_CHUNK = 256 * 1024
_ENDED_EARLY = "Invalid upload: the request body ended before the form did."


class ByteSink(Protocol):
    """Where an upload's file bytes are written as they arrive."""

    def write(self, data: bytes, /) -> int:
        """Take ``data`` whole."""


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
    mib = limit / 2**20
    shown = f"{mib:.0f} MiB" if mib >= 1 and mib == int(mib) else f"{limit} bytes"
    return UploadTooLarge(f"File too large. Limit for this index is {shown}.")


def read_upload_form(
    body: IO[bytes],
    content_type: str | None,
    content_length: int | None,
    staging: str | ByteSink,
    limits: FormLimits,
    query: Mapping[str, str] | None = None,
) -> UploadForm:
    """Decode a multipart upload, streaming the ``content`` part to ``staging`` (a path,
    or a writer such as a staged upload's)."""
    if content_length is not None and content_length > limits.max_body_size:
        raise _too_large(limits.max_file_size)  # before reading a single byte
    mimetype, options = parse_options_header(content_type or "")
    if mimetype != "multipart/form-data":
        raise InvalidUpload("Invalid upload: the request body must be multipart/form-data.")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise InvalidUpload("Invalid upload: the multipart boundary is missing or invalid.")
    reader = _FormReader(boundary, limits, query or {})
    if isinstance(staging, str):
        with open(staging, "wb") as out:
            reader.read(body, content_length, out)
    else:
        reader.read(body, content_length, staging)
    return reader.form()


class _FormReader:
    """Feeds body chunks to werkzeug's sans-IO multipart decoder and acts on its events."""

    def __init__(self, boundary: str, limits: FormLimits, query: Mapping[str, str]) -> None:
        self._limits = limits
        self._decoder = MultipartDecoder(
            boundary.encode("latin-1", "replace"),
            max_form_memory_size=limits.max_field_size + _CHUNK,
            max_parts=limits.max_parts,
        )
        # twine and uv send :action in the form; PyPI also takes it from the query string.
        self._query_action = query.get(":action")
        self._fields: dict[str, list[str]] = {}
        self._hashes = (hashlib.sha256(), hashlib.blake2b(digest_size=32), hashlib.md5())  # noqa: S324 - a checksum clients may send
        self._filename: str | None = None
        self._part_type: str | None = None
        self._size = 0
        self._fields_total = 0
        self._current: str | None = None
        self._value = bytearray()
        self._in_file = False
        self._skipping = False
        self._finished = False

    def read(self, body: IO[bytes], content_length: int | None, out: ByteSink) -> None:
        """Read the whole body (at most ``content_length`` bytes when it is known)."""
        remaining = content_length
        while not self._finished:
            want = _CHUNK if remaining is None else min(_CHUNK, remaining)
            try:
                chunk = body.read(want) if want > 0 else b""
            except Exception as exc:  # the server's stream failed: client gone or body short
                raise InvalidUpload(_ENDED_EARLY) from exc
            if remaining is not None:
                remaining -= len(chunk)
            if not chunk:
                self._finish(out)
                return
            try:
                self._decoder.receive_data(chunk)
                self._drain(out)
            except RequestEntityTooLarge as exc:
                raise InvalidUpload(
                    "Invalid upload: the multipart form is malformed or has too many parts."
                ) from exc
            except ValueError as exc:
                if isinstance(exc, (InvalidUpload, UploadTooLarge)):
                    raise
                raise InvalidUpload(f"Invalid upload: malformed multipart body ({exc}).") from exc

    def _finish(self, out: ByteSink) -> None:
        """The body ended: the form must have ended too (werkzeug sees its end now)."""
        try:
            self._decoder.receive_data(None)
            self._drain(out)
        except ValueError as exc:
            if isinstance(exc, (InvalidUpload, UploadTooLarge)):
                raise
            raise InvalidUpload(_ENDED_EARLY) from exc
        if not self._finished:
            raise InvalidUpload(_ENDED_EARLY)

    def _drain(self, out: ByteSink) -> None:
        event = self._decoder.next_event()
        while event is not NEED_DATA:
            if isinstance(event, File):
                self._start_file(event)
            elif isinstance(event, Field):
                if event.name == "content":  # the file and a plain field: two contents
                    raise InvalidUpload(
                        "Invalid upload: field 'content' must be the file part, and only one."
                    )
                self._in_file, self._current, self._value = False, event.name, bytearray()
                self._skipping = False
            elif isinstance(event, Data):
                self._data(event, out)
            elif isinstance(event, Epilogue):
                self._finished = True
                return
            event = self._decoder.next_event()

    def _start_file(self, event: File) -> None:
        if event.name == "gpg_signature":
            # twine --sign sends one; PyPI ignores signatures (warehouse#13738): skip it.
            self._in_file, self._current, self._skipping = False, None, True
            return
        if event.name != "content":
            raise InvalidUpload(f"{event.name}: Should not be a tuple.")
        if self._in_file or self._filename is not None:
            raise InvalidUpload("Invalid upload: more than one file part named 'content'.")
        self._in_file, self._filename = True, event.filename
        self._part_type = event.headers.get("content-type")

    def _data(self, event: Data, out: ByteSink) -> None:
        if self._skipping:
            self._fields_total += len(event.data)
            if self._fields_total > self._limits.max_fields_total:
                raise InvalidUpload("Invalid upload: form field 'gpg_signature' is too large.")
            return
        if self._in_file:
            self._size += len(event.data)
            if self._size > self._limits.max_file_size:
                raise _too_large(self._limits.max_file_size)
            out.write(event.data)
            for digest in self._hashes:
                digest.update(event.data)
        else:
            self._fields_total += len(event.data)
            self._value += event.data
            if (
                len(self._value) > self._limits.max_field_size
                or self._fields_total > self._limits.max_fields_total
            ):
                raise InvalidUpload(f"Invalid upload: form field {self._current!r} is too large.")
            if not event.more_data and self._current is not None:
                self._fields.setdefault(self._current, []).append(self._value.decode("utf-8", "replace"))
        if not event.more_data:
            self._in_file = False

    def form(self) -> UploadForm:
        """What was read."""
        sha256, blake2, md5 = self._hashes
        fields = {k: tuple(v) for k, v in self._fields.items()}
        if self._query_action is not None and ":action" not in fields:
            fields[":action"] = (self._query_action,)
        return UploadForm(
            fields=fields,
            filename=self._filename,
            content_type=self._part_type,
            size=self._size,
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
    check_form_shape(form.fields)
    _check_action(form)
    name, version = _check_name_and_version(form)
    filetype = form.get("filetype")
    if filetype not in (DistKind.SDIST.value, DistKind.WHEEL.value):
        raise _invalid_value(filetype, "Filetype", "Use a known file type (sdist or bdist_wheel).")
    filename = _check_filename_characters(form)
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
    check_pyversion(form.get("pyversion"), dist.kind is DistKind.SDIST, frozenset(dist.python_tag.split(".")))
    _check_digests(form)
    if form.size == 0:
        raise InvalidUpload("Invalid distribution file. The file is empty.")
    return ValidatedUpload(project, name, version, dist, form)


def _check_action(form: UploadForm) -> None:
    action = form.get(":action")
    if action in ("submit", "submit_pkg_info", "doc_upload"):
        raise UnsupportedAction(
            f"The {action!r} action is no longer supported; upload files with 'file_upload'."
        )
    if action != "file_upload":
        raise InvalidUpload(f"Unknown action {action!r}: use ':action=file_upload'.")
    if form.get("protocol_version") not in ("1", ""):  # PyPI assumes 1 when absent
        raise InvalidUpload("Unknown protocol version.")


_NAME_RULE = "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'."


def _check_name_and_version(form: UploadForm) -> tuple[str, Version]:
    metadata_version = form.get("metadata_version")
    if metadata_version and metadata_version not in _SUPPORTED_METADATA_VERSIONS:
        raise _invalid_value(metadata_version, "Metadata-Version", "Use a known metadata version.")
    name = form.get("name")
    if not name:
        raise _invalid_value(name, "Name", "This field is required.")
    if not is_valid_project_name(name):
        raise _invalid_value(name, "Name", _NAME_RULE)
    raw_version = form.get("version")
    if not raw_version:
        raise _invalid_value(raw_version, "Version", "This field is required.")
    try:
        return name, Version(raw_version)
    except InvalidVersion as exc:
        raise _invalid_value(raw_version, "Version", f"{_NAME_RULE} Use PEP 440 versioning.") from exc


def _check_filename_characters(form: UploadForm) -> str:
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
    return filename


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
