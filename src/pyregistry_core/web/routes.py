"""Every URL the index answers, in one table (paths relative to the mount point).

``{name}`` is one path segment; ``{slash:/?}`` an optional trailing slash, so the
handler can redirect to the canonical spelling. HEAD goes wherever GET does, and a
known path asked with another method is a 405 with ``Allow`` (see ``routing.py``).
"""

from __future__ import annotations

from . import browse, files, health, management, oidc, publishers_api, pypi_json, simple, uploads
from .routing import route

__all__ = ["ROUTES"]

_SLASH = "{slash:/?}"

ROUTES = (
    # The legacy upload API: twine posts to any of these.
    route("POST", "/", uploads.upload),
    route("POST", "/simple", uploads.upload),
    route("POST", "/simple/", uploads.upload),
    route("POST", "/legacy", uploads.upload),
    route("POST", "/legacy/", uploads.upload),
    # The Simple API (PEP 503/691) and its files (PEP 658 metadata beside them).
    route("GET", "/simple", simple.simple_slash),
    route("GET", "/simple/", simple.index_page),
    route("GET", "/simple/{project}" + _SLASH, simple.project_page),
    route("GET", "/files/{project}/{sha256}/{filename}", files.stored_file),
    # PyPI's JSON API.
    route("GET", "/pypi/{project}/json" + _SLASH, pypi_json.json_api),
    route("GET", "/pypi/{project}/{version}/json" + _SLASH, pypi_json.json_api),
    # pypicloud's management API, plus yank and project status.
    route("GET", "/api/package" + _SLASH, management.list_projects),
    route("GET", "/api/package/{project}" + _SLASH, management.list_files),
    route("POST", "/api/package/{project}/status" + _SLASH, management.set_status),
    route("GET", "/api/package/{project}/{target}" + _SLASH, management.download),
    route("DELETE", "/api/package/{project}/{target}" + _SLASH, management.delete),
    route("POST", "/api/package/{project}/{target}/{action:yank|unyank}" + _SLASH, management.set_yanked),
    # Trusted publishing, at PyPI's URLs (oidc.py).
    route("GET", "/_/oidc/audience", oidc.audience),
    route("POST", "/_/oidc/mint-token", oidc.mint_token),
    route("POST", "/_/oidc/burn-token", oidc.burn_token),
    route("GET", "/api/publisher" + _SLASH, publishers_api.list_publishers),
    route("POST", "/api/publisher" + _SLASH, publishers_api.add_publisher),
    route("DELETE", "/api/publisher/{publisher_id}", publishers_api.remove_publisher),
    # Operations.
    route("GET", "/health", health.health),
    route("GET", "/metrics", health.metrics),
    # Pages for people.
    route("GET", "/", browse.project_list),
    route("GET", "/project/{project}" + _SLASH, browse.project_page),
    route("GET", "/project/{rest:.*}", browse.no_such_page),
)
