"""Rendering Simple API pages (PEP 503 HTML and PEP 691 JSON) from one model.

Invariants:
1. Pages use URLs relative to the page itself, so the rendered bytes do not depend on
   the host or the mount prefix and can be cached and shared by every request. The one
   URL that must be absolute (PEP 740's provenance) comes from the configured
   ``public_url``, never from a request; without it, no provenance URL is offered.
2. A project page is one pass over per-file fragments (``file_anchor``, ``file_json``):
   a fragment depends only on its file's record, so callers may keep fragments per
   record (``fragments.py``) and a page after a change re-renders only the new files.
   The bytes are exactly those of a template over the whole page (the tests pin that).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from html import escape
from json.encoder import encode_basestring_ascii as _json_string

from .records import FileRecord, ProjectFiles

__all__ = [
    "API_VERSION",
    "file_anchor",
    "file_json",
    "index_html",
    "index_json",
    "project_html",
    "project_json",
]

# PEP 700 fields (versions, size, upload-time) are served, so 1.1. PEP 740's
# ``provenance`` is served too (optional keys are allowed below 1.3), but 1.3 is not
# announced: PEP 740 says an index MUST verify upload attestations, and we cannot (the
# Sigstore trust root is out of reach here; docs/security.md).
API_VERSION = "1.1"

_HEAD = (
    f'<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
)
_TAIL = "  </body>\n</html>\n"


def _file_href(record: FileRecord) -> str:
    if record.external_url is not None:
        return record.external_url
    # The page lives at simple/<project>/, files at files/<project>/<sha256>/<filename>.
    return f"../../{record.url_path}"


def _provenance_href(record: FileRecord, public_url: str | None) -> str | None:
    """PEP 740: our URL of the file's provenance object (the file's URL plus
    ``.provenance``), fully qualified as the PEP requires, so under ``public_url`` (the
    index's configured base URL, ending in ``/``); None when there is none to offer or
    no base URL to offer it at. Files linked where the upstream keeps them (redirect
    mode) are not proxied, nor is theirs."""
    if public_url is None or record.provenance_sha256 is None or record.external_url is not None:
        return None
    return f"{public_url}{record.url_path}.provenance"


def index_html(names: Iterable[str]) -> bytes:
    """The project list as PEP 503 HTML."""
    parts = [_HEAD, "    <title>Simple index</title>\n  </head>\n  <body>\n"]
    parts.extend(f'    <a href="{escape(n)}/">{escape(n)}</a><br>\n' for n in names)
    parts.append(_TAIL)
    return "".join(parts).encode()


def index_json(names: Iterable[str]) -> bytes:
    """The project list as PEP 691 JSON."""
    return json.dumps(
        {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]},
        separators=(",", ":"),
    ).encode()


def file_anchor(record: FileRecord, public_url: str | None = None) -> str:
    """One file's ``<a>`` line (PEP 503/592/629/658/714/740 attributes).

    Every attribute value is escaped, whatever its source (an upstream's values are
    checked at parse time, and escaped here all the same).
    """
    href = _file_href(record)
    if record.sha256 != "-":
        href += f"#sha256={record.sha256}"
    python = f' data-requires-python="{escape(record.requires_python)}"' if record.requires_python else ""
    metadata = ""
    if record.metadata_sha256:
        value = escape(f"sha256={record.metadata_sha256}")
        metadata = f' data-core-metadata="{value}" data-dist-info-metadata="{value}"'
    yanked = f' data-yanked="{escape(record.yanked_reason)}"' if record.yanked else ""
    # Not standard, but uv reads them from HTML pages too.
    size = f' data-size="{escape(str(record.size))}"' if record.size is not None else ""
    uploaded = f' data-upload-time="{escape(record.upload_time)}"' if record.upload_time is not None else ""
    provenance_href = _provenance_href(record, public_url)
    provenance = f' data-provenance="{escape(provenance_href)}"' if provenance_href is not None else ""
    return (
        f'    <a href="{escape(href)}"{python}{metadata}{yanked}{size}{uploaded}{provenance}>'
        f"{escape(record.filename)}</a><br>\n"
    )


def _json_value(value: object) -> str:
    """What ``json.dumps`` writes for a scalar (strings ASCII-escaped, as by default)."""
    if isinstance(value, str):
        return _json_string(value)
    return str(value) if type(value) is int else json.dumps(value)


def file_json(record: FileRecord, public_url: str | None = None) -> str:
    """One file's PEP 691/700/740 JSON object, written as ``json.dumps`` writes it compactly."""
    # PEP 691: hashes MUST be present, even if empty.
    hashes = f'{{"sha256":{_json_value(record.sha256)}}}' if record.sha256 != "-" else "{}"
    yanked = "false"
    if record.yanked:
        yanked = _json_value(record.yanked_reason) if record.yanked_reason else "true"
    # PEP 714: JSON uses core-metadata only (dist-info-metadata crashes old pips).
    metadata = f'{{"sha256":{_json_value(record.metadata_sha256)}}}' if record.metadata_sha256 else "false"
    # Known for every stored file; an upstream (HTML) page may not have told us.
    size = f',"size":{_json_value(record.size)}' if record.size is not None else ""
    uploaded = f',"upload-time":{_json_value(record.upload_time)}' if record.upload_time is not None else ""
    # PEP 740 (optional key): only for files that have one, so other pages stay as they were.
    provenance_href = _provenance_href(record, public_url)
    provenance = f',"provenance":{_json_value(provenance_href)}' if provenance_href is not None else ""
    return (
        f'{{"filename":{_json_value(record.filename)},"url":{_json_value(_file_href(record))}'
        f',"hashes":{hashes},"requires-python":{_json_value(record.requires_python)}'
        f',"yanked":{yanked},"core-metadata":{metadata}{size}{uploaded}{provenance}}}'
    )


def project_html(project: ProjectFiles, anchor: Callable[[FileRecord], str] = file_anchor) -> bytes:
    """A project page as PEP 503 HTML; ``anchor`` may return kept fragments."""
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
    parts.extend(map(anchor, project.files))
    parts.append(_TAIL)
    return "".join(parts).encode()


def project_json(project: ProjectFiles, entry: Callable[[FileRecord], str] = file_json) -> bytes:
    """A project page as PEP 691 JSON with PEP 700 fields; ``entry`` may return kept fragments."""
    # PEP 700: 1.1 promises a size for every file; an upstream HTML page may not give one.
    version = API_VERSION if all(r.size is not None for r in project.files) else "1.0"
    parts = [
        f'{{"meta":{{"api-version":"{version}"}},"name":{_json_value(project.name)},"files":[',
        ",".join(map(entry, project.files)),
        f'],"versions":{json.dumps(list(project.versions), separators=(",", ":"))}',
    ]
    if project.status.status != "active":  # PEP 792 (optional below API 1.4)
        status = {"status": project.status.status}
        if project.status.reason:
            status["reason"] = project.status.reason
        parts.append(f',"project-status":{json.dumps(status, separators=(",", ":"))}')
    parts.append("}")
    return "".join(parts).encode()
