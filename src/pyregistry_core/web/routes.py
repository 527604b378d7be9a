"""Every URL the index answers, in one table (paths relative to the mount point).

``{name}`` is one path segment; ``{slash:/?}`` an optional trailing slash, so the
handler can redirect to the canonical spelling. HEAD goes wherever GET does, and a
known path asked with another method is a 405 with ``Allow`` (see ``routing.py``).
"""

from __future__ import annotations

from . import (
    browse,
    exemptions_api,
    files,
    health,
    management,
    oidc,
    provenance,
    publishers_api,
    pypi_json,
    simple,
    uploads,
)
from .routing import audited_route, route

__all__ = ["ROUTES"]

_SLASH = "{slash:/?}"

ROUTES = (
    # The legacy upload API: twine posts to any of these.
    audited_route("POST", "/", "upload", uploads.upload),
    audited_route("POST", "/simple", "upload", uploads.upload),
    audited_route("POST", "/simple/", "upload", uploads.upload),
    audited_route("POST", "/legacy", "upload", uploads.upload),
    audited_route("POST", "/legacy/", "upload", uploads.upload),
    # The Simple API (PEP 503/691) and its files (PEP 658 metadata beside them).
    route("GET", "/simple", simple.simple_slash),
    route("GET", "/simple/", simple.index_page),
    route("GET", "/simple/{project}" + _SLASH, simple.project_page),
    # PEP 740: a file's provenance object, at the file's URL plus ".provenance".
    route("GET", "/files/{project}/{sha256}/{filename:[^/]+\\.provenance}", provenance.provenance_file),
    route("GET", "/files/{project}/{sha256}/{filename}", files.stored_file),
    # PyPI's JSON API.
    route("GET", "/pypi/{project}/json" + _SLASH, pypi_json.json_api),
    route("GET", "/pypi/{project}/{version}/json" + _SLASH, pypi_json.json_api),
    # pypicloud's management API, plus yank and project status.
    route("GET", "/api/package" + _SLASH, management.list_projects),
    route("GET", "/api/package/{project}" + _SLASH, management.list_files),
    audited_route("POST", "/api/package/{project}/status" + _SLASH, "status", management.set_status),
    route("GET", "/api/package/{project}/exemptions" + _SLASH, exemptions_api.list_exemptions),
    route("GET", "/api/package/{project}/{target}" + _SLASH, management.download),
    audited_route("DELETE", "/api/package/{project}/{target}" + _SLASH, "delete", management.delete),
    audited_route(
        "POST", "/api/package/{project}/{target}/{action:yank}" + _SLASH, "yank", management.set_yanked
    ),
    audited_route(
        "POST", "/api/package/{project}/{target}/{action:unyank}" + _SLASH, "unyank", management.set_yanked
    ),
    # Exemptions from the release cooldown (exemptions_api.py).
    audited_route(
        "POST",
        "/api/package/{project}/{target}/{action:exempt}" + _SLASH,
        "cooldown.exempt",
        exemptions_api.set_exempt,
    ),
    audited_route(
        "POST",
        "/api/package/{project}/{target}/{action:unexempt}" + _SLASH,
        "cooldown.unexempt",
        exemptions_api.set_exempt,
    ),
    # Trusted publishing, at PyPI's URLs (oidc.py).
    route("GET", "/_/oidc/audience", oidc.audience),
    audited_route("POST", "/_/oidc/mint-token", "oidc.mint", oidc.mint_token),
    audited_route("POST", "/_/oidc/burn-token", "oidc.burn", oidc.burn_token),
    route("GET", "/api/publisher" + _SLASH, publishers_api.list_publishers),
    audited_route("POST", "/api/publisher" + _SLASH, "publisher.add", publishers_api.add_publisher),
    audited_route(
        "DELETE", "/api/publisher/{publisher_id}", "publisher.remove", publishers_api.remove_publisher
    ),
    # Operations.
    route("GET", "/health", health.health),
    route("GET", "/metrics", health.metrics),
    # Pages for people.
    route("GET", "/", browse.project_list),
    route("GET", "/project/{project}" + _SLASH, browse.project_page),
    route("GET", "/project/{rest:.*}", browse.no_such_page),
)
