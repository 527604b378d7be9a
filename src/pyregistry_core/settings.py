"""Configuration: one frozen ``Settings`` built from an INI file or a mapping.

Keys are pypicloud's where pypicloud has one (``[app:main]`` files keep their meaning);
a ``[pyregistry]`` section or a mapping starts from pyregistry's embedded defaults.
Nothing here reads the environment unless the caller passes ``environ=``.
"""

from __future__ import annotations

import configparser
import difflib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .acl import principal_of
from .config_keys import KEYS, PYPICLOUD_DEFAULTS, KeyKind, classify, unknown_key_message, unused_reason
from .config_values import Secret, conceal, mask_url, origin, parse_bool, parse_size, reveal_secrets, words
from .errors import ConfigError
from .public_url import parse_public_url
from .publishers import TrustConfig, parse_trust
from .storage_settings import s3_options, storage_from_keys, store_takes_options
from .thread_pools import ThreadPools, parse_thread_pools
from .upstream_policy import NamePatterns, UpstreamPolicy, parse_duration

__all__ = [
    "KEYS",
    "Secret",
    "Settings",
    "mask_url",
    "parse_bool",
    "parse_size",
    "reveal_secrets",
    "s3_options",
]


@attrs.frozen
class Settings:
    """Everything the registry is configured with, parsed and typed."""

    storage_url: str = "./packages"
    storage_options: Mapping[str, Any] = attrs.field(factory=dict)
    fallback: str = "none"
    fallback_base_url: str | None = attrs.field(default=None, repr=lambda url: repr(url and mask_url(url)))
    always_show_upstream: bool | tuple[str, ...] = False
    public_url: str | None = None  # the index's external base URL, ending in "/"
    disallow_fallback: tuple[str, ...] = ()
    default_read: tuple[str, ...] = ("everyone",)
    default_write: tuple[str, ...] = ("authenticated",)
    cache_update: tuple[str, ...] = ("authenticated",)
    allow_delete_groups: tuple[str, ...] = ("authenticated",)
    realm: str = "pypi"
    max_upload_size: int = 100 * 2**20
    index_ttl: float = 0.0
    simple_max_age: int = 0
    package_max_age: int = 31_536_000
    stream_files: bool = False
    upstream_ttl: float = 600.0
    upstream_negative_ttl: float = 60.0
    upstream_timeout: float = 10.0
    upstream_max_page_size: int = 50 * 2**20
    upstream_file_hosts: tuple[str, ...] | None = None  # None: any public host
    admins: tuple[str, ...] = ()
    users: Mapping[str, Secret] = attrs.field(factory=dict)
    groups: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    package_acl: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    htpasswd: str | None = None
    metrics: bool = False
    # Principals as in default_read: () means admins only.
    metrics_read: tuple[str, ...] = ("everyone",)
    upstream_policy: UpstreamPolicy = attrs.field(factory=UpstreamPolicy)
    browse_image_origins: tuple[str, ...] = ()
    trust: TrustConfig = attrs.field(factory=TrustConfig)  # trusted publishing (publishers.py)
    thread_pools: ThreadPools = attrs.field(factory=ThreadPools)  # the ASGI adapter's pools
    # Keys outside pyregistry's namespaces (another app's, in a shared [app:main]).
    unknown_keys: tuple[str, ...] = ()
    # pypicloud's keys that pyregistry does not need, with the reason.
    ignored_keys: tuple[tuple[str, str], ...] = ()

    def notes(self) -> list[str]:
        """One warning line per key that is accepted but has no effect (log them once)."""
        lines = [f"ignoring pypicloud setting {key}: {why}" for key, why in self.ignored_keys]
        lines += [f"ignoring {key}: not a pyregistry key" for key in self.unknown_keys]
        return lines

    def undefined_principals(self) -> list[str]:
        """Problems with who-may lists: group names no ``group.*`` key defines.

        ``serve`` and ``check`` refuse them (groups come only from the config there); an
        embedding app's ``identify=`` may supply groups of its own, so it is only warned.
        """
        defined = set(self.groups)
        problems = []
        lists = {
            "pypi.default_read": self.default_read,
            "pypi.default_write": self.default_write,
            "pypi.cache_update": self.cache_update,
            "pypi.allow_delete_groups": self.allow_delete_groups,
        }
        for package, entries in self.package_acl.items():
            for principal in entries:
                kind, _, name = principal.partition(":")
                if kind == "group":
                    lists[f"package.{package}.group.{name}"] = (name,)
        for key, names in lists.items():
            for word in names:
                kind, _, name = principal_of(word).partition(":")
                if kind == "group" and name not in defined:
                    close = difflib.get_close_matches(name, sorted(defined), n=1)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    problems.append(
                        f"{key} names group {name!r}, which no group.<name> key defines{hint}; "
                        "use everyone, authenticated, admin, user:<name> or a defined group"
                    )
        return problems

    @classmethod
    def from_ini(cls, path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``[pyregistry]`` (embedded defaults) or pypicloud's ``[app:main]``."""
        path = Path(path)
        here = str(path.resolve().parent)
        parser = configparser.ConfigParser(defaults={"here": here}, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
        try:
            with path.open(encoding="utf-8") as handle:
                parser.read_file(handle)
        except (OSError, configparser.Error) as exc:
            raise ConfigError(f"cannot read config {str(path)!r}: {exc}") from exc
        for section, pypicloud in (("pyregistry", False), ("app:main", True)):
            if parser.has_section(section):
                raw = {
                    key: value.replace("%(here)s", here)
                    for key, value in parser.items(section, raw=True)
                    if key != "here"
                }
                return cls.from_mapping(raw, environ=environ, pypicloud=pypicloud, base_dir=here)
        raise ConfigError(f"{str(path)!r} has no [pyregistry] or [app:main] section")

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Any],
        *,
        environ: Mapping[str, str] | None = None,
        pypicloud: bool = False,
        base_dir: str | None = None,
    ) -> Settings:
        """Build settings from INI-style keys (values are strings or already typed)."""
        values: dict[str, Any] = dict(PYPICLOUD_DEFAULTS) if pypicloud else {}
        values.update(mapping)
        if environ is not None:
            values.update(_environment_overrides(environ, values))
        return _build(values, base_dir or os.getcwd())


def _environment_overrides(environ: Mapping[str, str], known: Mapping[str, Any]) -> dict[str, str]:
    """``PPC_PYPI_FALLBACK`` / ``PYREGISTRY_PYPI_FALLBACK`` override ``pypi.fallback``."""
    names = set(KEYS) | set(known)
    by_env = {key.upper().replace(".", "_"): key for key in names}
    overrides: dict[str, str] = {}
    for prefix in ("PPC_", "PYREGISTRY_"):
        for env_key, value in environ.items():
            if env_key.startswith(prefix):
                key = by_env.get(env_key[len(prefix) :])
                if key is not None:
                    overrides[key] = value
    return overrides


def _build(values: dict[str, Any], base_dir: str) -> Settings:
    def get(key: str) -> Any:
        if key in values:
            return values[key]
        return KEYS[key].default

    def number(key: str) -> float:
        return _number(key, get(key))

    ignored, foreign = _sort_keys(values)
    _check_auth_backend(get)
    storage_url, storage_options = storage_from_keys(values, base_dir)
    storage_options = conceal(storage_options)
    fallback, base_url, always_value = _fallback(get)
    htpasswd = get("auth.htpasswd")
    if htpasswd:
        htpasswd = os.path.join(base_dir, str(htpasswd))

    return Settings(
        storage_url=storage_url,
        storage_options=storage_options,
        fallback=fallback,
        fallback_base_url=base_url,
        always_show_upstream=always_value,
        public_url=parse_public_url(get("pypi.public_url")),
        disallow_fallback=words(get("pypi.disallow_fallback")),
        default_read=words(get("pypi.default_read")),
        default_write=words(get("pypi.default_write")),
        cache_update=words(get("pypi.cache_update")),
        allow_delete_groups=_delete_groups(values),
        realm=str(get("pypi.realm")),
        max_upload_size=parse_size(get("pypi.max_upload_size")),
        index_ttl=number("pypi.index_ttl"),
        simple_max_age=int(number("pypi.simple_max_age")),
        package_max_age=int(number("pypi.package_max_age")),
        stream_files=parse_bool(get("pypi.stream_files")),
        upstream_ttl=number("pypi.upstream_ttl"),
        upstream_negative_ttl=number("pypi.upstream_negative_ttl"),
        upstream_timeout=number("pypi.upstream_timeout"),
        upstream_max_page_size=parse_size(get("pypi.upstream_max_page_size")),
        upstream_file_hosts=_file_hosts(get("pypi.upstream_file_hosts")),
        admins=words(get("auth.admins")),
        users={k[len("user.") :]: Secret(str(v)) for k, v in values.items() if k.startswith("user.")},
        groups={k[len("group.") :]: words(v) for k, v in values.items() if k.startswith("group.")},
        package_acl=_package_entries(values),
        htpasswd=htpasswd,
        metrics=parse_bool(get("pypi.metrics")),
        metrics_read=_metrics_readers(get("pypi.metrics_read"), words(get("pypi.default_read"))),
        upstream_policy=_upstream_policy(get),
        browse_image_origins=tuple(origin(o) for o in words(get("pypi.browse_image_origins"))),
        trust=parse_trust(values, base_dir),
        thread_pools=parse_thread_pools(get),
        unknown_keys=foreign,
        ignored_keys=ignored,
    )


def _number(key: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key} must be a number, not {value!r}") from exc


def _sort_keys(values: Mapping[str, Any]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """pypicloud's unused keys and foreign keys; an unknown key in our namespaces is an error."""
    ignored: list[tuple[str, str]] = []
    foreign: list[str] = []
    unknown: list[str] = []
    store_options = store_takes_options(values)
    for key in values:
        if key.startswith(("package.", "oidc.", "publisher.")):
            continue  # _package_entries and publishers.parse_trust name the expected shape
        kind = classify(key)
        if kind is KeyKind.PYPICLOUD_UNUSED:
            ignored.append((key, unused_reason(key)))
        elif kind is KeyKind.FOREIGN:
            foreign.append(key)
        elif kind is KeyKind.UNKNOWN or (kind is KeyKind.STORAGE_OPTION and not store_options):
            unknown.append(key)
    if unknown:
        raise ConfigError("; ".join(unknown_key_message(key) for key in unknown))
    return tuple(ignored), tuple(foreign)


def _check_auth_backend(get: Callable[[str], Any]) -> None:
    """Only pypicloud's ``config`` backend is supported (DESIGN.md → Defaults)."""
    auth = str(get("pypi.auth")).strip()
    if auth != "config":
        raise ConfigError(
            f"pypi.auth = {auth} is not supported: pyregistry authenticates with the "
            "config backend (user.*, group.*), auth.htpasswd and API tokens"
        )


def _fallback(get: Callable[[str], Any]) -> tuple[str, str | None, bool | tuple[str, ...]]:
    """``pypi.fallback`` (``mirror`` is cache plus always_show_upstream), the upstream's
    root URL (from ``fallback_base_url`` or the older ``fallback_url``) and
    ``always_show_upstream`` (a flag, or the names it applies to)."""
    fallback = str(get("pypi.fallback")).strip().lower()
    always = get("pypi.always_show_upstream")
    if fallback == "mirror":
        fallback, always = "cache", True
    if fallback not in ("none", "redirect", "cache"):
        raise ConfigError(f"pypi.fallback must be none, redirect, cache or mirror, not {fallback!r}")
    base_url = get("pypi.fallback_base_url")
    if base_url is None and get("pypi.fallback_url") is not None:
        old = str(get("pypi.fallback_url")).rstrip("/")
        base_url = old[: -len("/simple")] if old.endswith("/simple") else old
    if fallback != "none" and not base_url:
        raise ConfigError(
            f"pypi.fallback = {fallback} needs pypi.fallback_base_url (the upstream index "
            "root); there is no built-in upstream, so no name leaks to a public index"
        )
    always_value: bool | tuple[str, ...]
    try:
        always_value = parse_bool(always)
    except ConfigError:
        always_value = words(always)
    return fallback, str(base_url).rstrip("/") if base_url else None, always_value


def _upstream_policy(get: Callable[[str], Any]) -> UpstreamPolicy:
    """The supply-chain keys (``pypi.upstream_min_age*``, ``_allow``, ``_deny``)."""
    missing = str(get("pypi.upstream_min_age_missing")).strip().lower()
    if missing not in ("allow", "deny"):
        raise ConfigError(f"pypi.upstream_min_age_missing must be allow or deny, not {missing!r}")
    allow = words(get("pypi.upstream_allow"))
    deny = (*words(get("pypi.upstream_deny")), *words(get("pypi.disallow_fallback")))
    return UpstreamPolicy(
        min_age=parse_duration(get("pypi.upstream_min_age")),
        allow_missing_time=missing == "allow",
        exempt=NamePatterns.parse(words(get("pypi.upstream_min_age_exempt"))),
        allow=NamePatterns.parse(allow) if allow else None,
        deny=NamePatterns.parse(deny),
    )


def _file_hosts(value: Any) -> tuple[str, ...] | None:
    """``pypi.upstream_file_hosts``: host names, or ``*`` for any public host."""
    hosts = words(value)
    if hosts == ("*",):
        return None
    for host in hosts:
        if not host or "/" in host or ":" in host or "*" in host:
            raise ConfigError(
                f"pypi.upstream_file_hosts names hosts (like files.example.org) or is *, not {host!r}"
            )
    return tuple(h.lower() for h in hosts)


def _metrics_readers(value: str | None, default_read: tuple[str, ...]) -> tuple[str, ...]:
    """``pypi.metrics_read``: admin → admins only, authenticated, everyone; unset → as default_read."""
    if value is None:
        return default_read
    readers = {"admin": (), "authenticated": ("authenticated",), "everyone": ("everyone",)}
    chosen = str(value).strip().lower()
    if chosen not in readers:
        raise ConfigError(f"pypi.metrics_read must be admin, authenticated or everyone, not {value!r}")
    return readers[chosen]


def _delete_groups(values: Mapping[str, Any]) -> tuple[str, ...]:
    """``pypi.allow_delete_groups``, or pypicloud's old bool ``pypi.allow_delete``."""
    if "pypi.allow_delete_groups" in values:
        return words(values["pypi.allow_delete_groups"])
    if "pypi.allow_delete" in values:  # parsed as a bool, which pypicloud forgot to do
        return ("authenticated",) if parse_bool(values["pypi.allow_delete"]) else ()
    return words(str(KEYS["pypi.allow_delete_groups"].default))


def _package_entries(values: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``package.<pkg>.user.<u> = rw`` → ``{pkg: {"user:u": "rw"}}`` (names raw here)."""
    entries: dict[str, dict[str, str]] = {}
    for key, value in values.items():
        if not key.startswith("package."):
            continue
        rest = key[len("package.") :]
        for kind in ("user", "group"):
            marker = f".{kind}."
            if marker in rest:
                package, _, principal = rest.rpartition(marker)
                entries.setdefault(package, {})[f"{kind}:{principal}"] = _permissions(key, value)
                break
        else:
            raise ConfigError(f"{key}: expected package.<name>.user.<u> or package.<name>.group.<g>")
    return entries


def _permissions(key: str, value: Any) -> str:
    """``r``, ``w`` or ``rw`` (pypicloud also took ``wr``); anything else is a mistake."""
    text = str(value).strip().lower()
    if text not in ("r", "w", "rw", "wr"):
        raise ConfigError(f"{key} = {value!r}: permissions are r, w or rw")
    return text
