"""The Simple page renderer as it was before per-file fragments: a template over the whole page.

Kept as the same-run baseline of ``cold.py`` and as the reference that
``tests/test_render.py`` holds the fragment renderer to, byte for byte (so it learns each
new field the renderer does: PEP 740's provenance URL, absolute under ``public_url``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

from pyregistry_core.records import FileRecord, ProjectFiles

__all__ = ["API_VERSION", "index_html", "index_json", "project_html", "project_json"]

# PEP 700 fields (versions, size, upload-time) are served, so 1.1.
API_VERSION = "1.1"

_HEAD = (
    f'<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
)


def _file_href(record: FileRecord) -> str:
    if record.external_url is not None:
        return record.external_url
    # The page lives at simple/<project>/, files at files/<project>/<sha256>/<filename>.
    return f"../../{record.url_path}"


def index_html(names: Iterable[str]) -> bytes:
    """The project list as PEP 503 HTML."""
    parts = [_HEAD, "    <title>Simple index</title>\n  </head>\n  <body>\n"]
    parts.extend(f'    <a href="{escape(n)}/">{escape(n)}</a><br>\n' for n in names)
    parts.append("  </body>\n</html>\n")
    return "".join(parts).encode()


def index_json(names: Iterable[str]) -> bytes:
    """The project list as PEP 691 JSON."""
    return json.dumps(
        {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]},
        separators=(",", ":"),
    ).encode()


def project_html(project: ProjectFiles, public_url: str | None = None) -> bytes:
    """A project page as PEP 503 HTML with PEP 592/629/658/714 attributes."""
    title = escape(project.name)
    status = ""
    if project.status.status != "active":
        status = f'    <meta name="pypi:project-status" content="{escape(project.status.status)}">\n'
        if project.status.reason:
            status += (
                f'    <meta name="pypi:project-status-reason" content="{escape(project.status.reason)}">\n'
            )
    parts = [
        _HEAD,
        status,
        f"    <title>Links for {title}</title>\n  </head>\n  <body>\n",
        f"    <h1>Links for {title}</h1>\n",
    ]
    parts.extend(_file_anchor(record, public_url) for record in project.files)
    parts.append("  </body>\n</html>\n")
    return "".join(parts).encode()


def _file_anchor(record: FileRecord, public_url: str | None) -> str:
    """One file's ``<a>``; every attribute value is escaped, whatever its source (an
    upstream's values are checked at parse time, and escaped here all the same)."""
    fragment = f"#sha256={record.sha256}" if record.sha256 != "-" else ""
    attributes = [("href", f"{_file_href(record)}{fragment}")]
    if record.requires_python:
        attributes.append(("data-requires-python", record.requires_python))
    if record.metadata_sha256:
        value = f"sha256={record.metadata_sha256}"
        attributes += [("data-core-metadata", value), ("data-dist-info-metadata", value)]
    if record.yanked:
        attributes.append(("data-yanked", record.yanked_reason))
    # Not standard, but uv reads them from HTML pages too.
    if record.size is not None:
        attributes.append(("data-size", str(record.size)))
    if record.upload_time is not None:
        attributes.append(("data-upload-time", record.upload_time))
    if public_url is not None and record.provenance_sha256 is not None and record.external_url is None:
        attributes.append(("data-provenance", f"{public_url}{record.url_path}.provenance"))
    written = " ".join(f'{name}="{escape(str(value), quote=True)}"' for name, value in attributes)
    return f"    <a {written}>{escape(record.filename)}</a><br>\n"


def _file_json(record: FileRecord, public_url: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "filename": record.filename,
        "url": _file_href(record),
        # PEP 691: hashes MUST be present, even if empty.
        "hashes": {"sha256": record.sha256} if record.sha256 != "-" else {},
        "requires-python": record.requires_python,
        "yanked": (record.yanked_reason or True) if record.yanked else False,
        # PEP 714: JSON uses core-metadata only (dist-info-metadata crashes old pips).
        "core-metadata": {"sha256": record.metadata_sha256} if record.metadata_sha256 else False,
    }
    # Known for every stored file; an upstream (HTML) page may not have told us.
    if record.size is not None:
        entry["size"] = record.size
    if record.upload_time is not None:
        entry["upload-time"] = record.upload_time
    if public_url is not None and record.provenance_sha256 is not None and record.external_url is None:
        entry["provenance"] = f"{public_url}{record.url_path}.provenance"  # PEP 740
    return entry


def project_json(project: ProjectFiles, public_url: str | None = None) -> bytes:
    """A project page as PEP 691 JSON with PEP 700 fields."""
    # PEP 700: 1.1 promises a size for every file; an upstream HTML page may not give one.
    version = API_VERSION if all(r.size is not None for r in project.files) else "1.0"
    document: dict[str, Any] = {
        "meta": {"api-version": version},
        "name": project.name,
        "files": [_file_json(r, public_url) for r in project.files],
        "versions": list(project.versions),
    }
    if project.status.status != "active":  # PEP 792 (optional below API 1.4)
        document["project-status"] = {"status": project.status.status}
        if project.status.reason:
            document["project-status"]["reason"] = project.status.reason
    return json.dumps(document, separators=(",", ":")).encode()
