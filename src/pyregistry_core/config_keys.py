"""The configuration keys pyregistry knows, and what to say about any other key.

Rule: in pyregistry's own namespaces (``NAMESPACES``) a key that is neither in ``KEYS``,
nor matched by a ``PATTERNS`` entry, nor one of pypicloud's keys in ``PYPICLOUD_UNUSED``
is an error naming the closest known key, so a typo (``pypi.default_raed``) can never
leave a default in force. To add a key, add a ``KEYS`` entry (and a row to
docs/configuration.md); to add a family of keys (``oidc.<provider>.<option>``), add a
``PATTERNS`` entry.
"""

from __future__ import annotations

import difflib
import enum
import re

import attrs

__all__ = [
    "KEYS",
    "NAMESPACES",
    "PATTERNS",
    "PYPICLOUD_DEFAULTS",
    "PYPICLOUD_UNUSED",
    "S3_OPTIONS",
    "KeyInfo",
    "KeyKind",
    "KeyPattern",
    "classify",
    "closest_key",
    "unknown_key_message",
    "unused_reason",
]


@attrs.frozen
class KeyInfo:
    """One documented configuration key."""

    default: str | None
    pypicloud: str
    meaning: str


# Project names may hold dots (zope.interface); other placeholders are one segment.
_PLACEHOLDERS = {"<project>": ".+", "*": ".+"}


@attrs.frozen
class KeyPattern:
    """A family of keys: ``example`` shows it, ``regex`` matches its members."""

    example: str
    regex: re.Pattern[str]
    meaning: str

    @classmethod
    def of(cls, example: str, meaning: str) -> KeyPattern:
        """A pattern from its example: each ``<placeholder>`` is one non-empty segment
        (``<project>`` may hold dots), a final ``*`` any rest."""
        parts = re.split(r"(<[a-z_]+>|\*$)", example)
        body = "".join(
            _PLACEHOLDERS.get(p, "[^.]+") if p.startswith("<") or p == "*" else re.escape(p)
            for p in parts
            if p
        )
        return cls(example, re.compile(body + r"\Z"), meaning)


# Every key the registry reads, with its default (None: no default) and the pypicloud
# equivalent. `pyregistry check` and the configuration reference are built from this.
KEYS: dict[str, KeyInfo] = {
    "pypi.storage": KeyInfo("file", "pypi.storage", "storage backend: file, s3, memory, or use storage.url"),
    "storage.dir": KeyInfo("./packages", "storage.dir", "directory of the file backend"),
    "storage.url": KeyInfo(None, "(new)", "any fsspec URL (file://, memory://, s3://bucket/prefix)"),
    "pypi.fallback": KeyInfo("none", "pypi.fallback", "none | redirect | cache | mirror"),
    "pypi.fallback_base_url": KeyInfo(None, "pypi.fallback_base_url", "upstream index root"),
    "pypi.fallback_url": KeyInfo(None, "pypi.fallback_url", "upstream simple URL (old key)"),
    "pypi.public_url": KeyInfo(None, "(new)", "this index's external https base URL (PEP 740 provenance)"),
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
    "pypi.read_threads": KeyInfo("8", "(new)", "ASGI: threads for pages, JSON and management requests"),
    "pypi.upstream_threads": KeyInfo(
        "16", "(new)", "ASGI: threads for requests that may wait on the upstream"
    ),
    "pypi.upload_threads": KeyInfo("8", "(new)", "ASGI: threads for uploads (a slow uploader holds one)"),
    "pypi.file_threads": KeyInfo("8", "(new)", "ASGI: threads reading file bodies, a chunk at a time"),
    "pypi.thread_queue": KeyInfo(
        "64", "(new)", "ASGI: requests that may wait for a busy pool's thread; then 503 with Retry-After"
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

# The S3 options pyregistry itself reads (pypicloud's names where it had them).
S3_OPTIONS = (
    "storage.bucket",
    "storage.prefix",
    "storage.region_name",
    "storage.endpoint_url",
    "storage.access_key",
    "storage.secret_key",
    "storage.session_token",
    "storage.single_writer",
)

# Families of keys. ``storage.<option>`` is matched only after the fixed storage keys:
# whether an option is acceptable depends on the store (see settings._storage).
PATTERNS: tuple[KeyPattern, ...] = (
    KeyPattern.of("user.<name>", "the password hash of a user"),
    KeyPattern.of("group.<name>", "the members of a group"),
    KeyPattern.of("package.<project>.user.<name>", "what a user may do on a project: r, w or rw"),
    KeyPattern.of("package.<project>.group.<name>", "what a group may do on a project: r, w or rw"),
    KeyPattern.of("oidc.<issuer>.<field>", "an OpenID Connect issuer for trusted publishing"),
    KeyPattern.of("publisher.<project>.<n>", "a trusted publisher of a project"),
)

# Namespaces where an unknown key is an error, not a curiosity.
NAMESPACES = ("pypi.", "storage.", "auth.", "user.", "group.", "package.", "oidc.", "publisher.")

# pypicloud's keys that pyregistry does not need: each is ignored with one warning line.
PYPICLOUD_UNUSED: dict[str, str] = {
    "use": "the Pyramid app factory",
    "pyramid.*": "Pyramid's own settings",
    "session.*": "pypicloud's web session",
    "pypi.db": "pyregistry needs no cache database: storage is the database",
    "db.*": "pyregistry needs no cache database: storage is the database",
    "pypi.allow_overwrite": "published files never change (a conflict is 400)",
    "pypi.allow_overwrite_groups": "published files never change (a conflict is 400)",
    "pypi.use_fallback": "replaced by pypi.fallback",
    "pypi.use_json_scraper": "the upstream's Simple API is read directly",
    "pypi.calculate_package_hashes": "hashes are always computed",
    "auth.scheme": "new password hashes are argon2 (pyregistry hash-password)",
    "auth.rounds": "new password hashes are argon2 (pyregistry hash-password)",
    "auth.signing_key": "there is no user registration",
    "auth.token_expire": "there is no user registration",
    "auth.allow_register": "there is no user registration",
    "auth.ldap.*": "only the config backend is supported",
    "auth.db.*": "only the config backend is supported",
    "storage.expire_after": "downloads are streamed, never redirected to signed URLs",
    "storage.redirect_urls": "downloads are streamed, never redirected to signed URLs",
    "storage.cloud_front_domain": "downloads are streamed, never redirected to signed URLs",
    "storage.cloud_front_key_file": "downloads are streamed, never redirected to signed URLs",
    "storage.cloud_front_key_string": "downloads are streamed, never redirected to signed URLs",
    "storage.cloud_front_key_id": "downloads are streamed, never redirected to signed URLs",
    "storage.public_url": "downloads are streamed, never redirected to signed URLs",
}


class KeyKind(enum.Enum):
    """What a key is to pyregistry."""

    KNOWN = "known"  # in KEYS, S3_OPTIONS or PATTERNS
    STORAGE_OPTION = "storage option"  # another storage.* key: an option of the store
    PYPICLOUD_UNUSED = "pypicloud, unused"
    UNKNOWN = "unknown"  # in our namespaces, and nothing we know: an error
    FOREIGN = "foreign"  # outside our namespaces (another app's key in [app:main])


def _pypicloud_unused(key: str) -> str | None:
    for name, why in PYPICLOUD_UNUSED.items():
        if key == name or (name.endswith("*") and key.startswith(name[:-1])):
            return why
    return None


def classify(key: str) -> KeyKind:
    """What ``key`` is: known, a storage option, pypicloud's and unused, unknown, foreign."""
    if key in KEYS or key in S3_OPTIONS or any(p.regex.match(key) for p in PATTERNS):
        return KeyKind.KNOWN
    if _pypicloud_unused(key) is not None:
        return KeyKind.PYPICLOUD_UNUSED
    if key.startswith("storage.") and len(key) > len("storage."):
        return KeyKind.STORAGE_OPTION
    if key.startswith(NAMESPACES) or _namespace_typo(key) is not None:
        return KeyKind.UNKNOWN
    return KeyKind.FOREIGN


def _namespace_typo(key: str) -> str | None:
    """``key`` in the namespace it misspells (``users.alice`` → ``user.alice``), if any."""
    head, dot, rest = key.partition(".")
    spaces = [space[:-1] for space in NAMESPACES]
    if not dot or head in spaces:
        return None
    near = difflib.get_close_matches(head, spaces, n=1, cutoff=0.7)
    return f"{near[0]}.{rest}" if near else None


def unused_reason(key: str) -> str:
    """Why pypicloud's ``key`` is not needed here."""
    return _pypicloud_unused(key) or "pyregistry does not read it"


def closest_key(key: str) -> str | None:
    """The known key (or key pattern) ``key`` is most likely a misspelling of."""
    fixed = _namespace_typo(key)
    if fixed is not None and classify(fixed) is KeyKind.KNOWN:
        return fixed
    candidates = [*KEYS, *S3_OPTIONS, *(p.example for p in PATTERNS)]
    close = difflib.get_close_matches(fixed or key, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_key_message(key: str) -> str:
    """``unknown key pypi.default_raed (did you mean pypi.default_read?)``."""
    close = closest_key(key)
    hint = f" (did you mean {close}?)" if close else ""
    return f"unknown key {key}{hint}"


# pypicloud's defaults where they differ from pyregistry's: an [app:main] section starts here.
PYPICLOUD_DEFAULTS = {
    "pypi.fallback": "redirect",
    "pypi.default_read": "authenticated",
    "pypi.default_write": "",
    "pypi.package_max_age": "0",
}
