"""Every configuration key the registry reads, with its default and its pypicloud name.

``pyregistry check`` and the configuration reference (docs/configuration.md) are built
from ``KEYS``; a key in pyregistry's namespaces that is not here is refused.
"""

from __future__ import annotations

import attrs

__all__ = ["IGNORED_KEYS", "IGNORED_PREFIXES", "KEYS", "PATTERN_KEYS", "PYPICLOUD_DEFAULTS", "KeyInfo"]


@attrs.frozen
class KeyInfo:
    """One documented configuration key."""

    default: str | None
    pypicloud: str
    meaning: str


# Every key the registry reads, with its default (None: no default) and the pypicloud
# equivalent. `pyregistry check` and the configuration reference are built from this.
KEYS: dict[str, KeyInfo] = {
    "pypi.storage": KeyInfo("file", "pypi.storage", "storage backend: file, s3, memory, or use storage.url"),
    "storage.dir": KeyInfo("./packages", "storage.dir", "directory of the file backend"),
    "storage.url": KeyInfo(None, "(new)", "any fsspec URL (file://, memory://, s3://bucket/prefix)"),
    "pypi.fallback": KeyInfo("none", "pypi.fallback", "none | redirect | cache | mirror"),
    "pypi.fallback_base_url": KeyInfo(None, "pypi.fallback_base_url", "upstream index root"),
    "pypi.fallback_url": KeyInfo(None, "pypi.fallback_url", "upstream simple URL (old key)"),
    "pypi.always_show_upstream": KeyInfo("false", "pypi.always_show_upstream", "also list upstream files"),
    "pypi.disallow_fallback": KeyInfo("", "pypi.disallow_fallback", "names that never fall back"),
    "pypi.default_read": KeyInfo(
        "everyone", "pypi.default_read", "who reads packages without explicit entries"
    ),
    "pypi.default_write": KeyInfo(
        "authenticated", "pypi.default_write", "who uploads to packages without explicit entries"
    ),
    "pypi.cache_update": KeyInfo(
        "authenticated", "pypi.cache_update", "who may trigger caching from upstream"
    ),
    "pypi.allow_delete_groups": KeyInfo(
        "authenticated", "pypi.allow_delete_groups", "who may delete files (needs write too)"
    ),
    "pypi.allow_delete": KeyInfo(
        None, "pypi.allow_delete", "old bool: true = authenticated may delete, false = nobody"
    ),
    "pypi.realm": KeyInfo("pypi", "pypi.realm", "realm of WWW-Authenticate"),
    "pypi.max_upload_size": KeyInfo("100MiB", "(new)", "larger uploads get 413"),
    "pypi.index_ttl": KeyInfo(
        "0",
        "(new)",
        "0: every request revalidates (one conditional storage request); N: seconds a view may be stale",
    ),
    "pypi.simple_max_age": KeyInfo("0", "(new)", "Cache-Control max-age of Simple pages"),
    "pypi.package_max_age": KeyInfo("31536000", "pypi.package_max_age", "Cache-Control max-age of downloads"),
    "pypi.stream_files": KeyInfo(
        "false", "pypi.stream_files", "stream object-store downloads through the app"
    ),
    "pypi.upstream_ttl": KeyInfo("600", "(new)", "freshness of mirrored pages, seconds"),
    "pypi.upstream_negative_ttl": KeyInfo("60", "(new)", "freshness of an upstream 404, seconds"),
    "pypi.upstream_timeout": KeyInfo("10", "(new)", "upstream timeout, seconds"),
    "pypi.upstream_max_page_size": KeyInfo("50MiB", "(new)", "largest upstream page read"),
    "pypi.upstream_min_age": KeyInfo(
        "0", "(new)", "cooldown: upstream files younger than this are held back (7d, 72h, 3600)"
    ),
    "pypi.upstream_min_age_missing": KeyInfo(
        "deny", "(new)", "deny | allow: a file without an upstream upload-time is held back, or not"
    ),
    "pypi.upstream_min_age_exempt": KeyInfo("", "(new)", "names or globs the cooldown never holds back"),
    "pypi.upstream_allow": KeyInfo("", "(new)", "when set, only these names or globs come from upstream"),
    "pypi.upstream_deny": KeyInfo("", "(new)", "names or globs never fetched from the upstream"),
    "pypi.upstream_file_hosts": KeyInfo(
        "*", "(new)", "hosts besides the upstream's own that its file URLs may name (*: any public host)"
    ),
    "pypi.metrics": KeyInfo(
        "false", "(new)", "serve Prometheus metrics at /metrics (needs the metrics extra)"
    ),
    "pypi.metrics_read": KeyInfo(
        None, "(new)", "who may read /metrics: admin, authenticated or everyone (default: as default_read)"
    ),
    "pypi.browse_image_origins": KeyInfo(
        "", "(new)", "origins README images on browse pages may load from; others show as links"
    ),
    "pypi.auth": KeyInfo("config", "pypi.auth", "access backend; only config is supported"),
    "auth.admins": KeyInfo("", "auth.admins", "users with every permission"),
    "auth.htpasswd": KeyInfo(None, "(new)", "path of an htpasswd file"),
    "oidc.audience": KeyInfo(None, "(new)", "audience of trusted publishing; default: the request's host"),
    "oidc.token_lifetime": KeyInfo("900", "(new)", "seconds a token minted by trusted publishing lives"),
}

# pypicloud keys that only made sense for its own machinery: accepted, ignored, logged.
IGNORED_PREFIXES = ("pypi.db", "db.", "pyramid.", "session.", "pypi.allow_overwrite")
IGNORED_KEYS = ("use",)
PATTERN_KEYS = ("user.", "group.", "package.", "storage.", "oidc.", "publisher.")

PYPICLOUD_DEFAULTS = {
    "pypi.fallback": "redirect",
    "pypi.default_read": "authenticated",
    "pypi.default_write": "",
    "pypi.package_max_age": "0",
}
