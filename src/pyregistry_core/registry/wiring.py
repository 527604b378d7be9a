"""Building the registry's collaborators from ``Settings`` (one function per collaborator)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..acl import AccessPolicy
from ..auth.authenticator import Authenticator
from ..auth.tokens import TokenStore
from ..config_values import reveal_secrets
from ..errors import StorageUnavailable
from ..fallback import FallbackPolicy
from ..metrics import Metrics
from ..names import normalize
from ..settings import Settings
from ..storage import Storage, open_storage
from ..storage.base import require_conditional_writes
from ..storage.unusable import unusable_storage
from ..upstream.breaker import CircuitBreaker, default_state_path
from ..upstream.client import HttpUpstream, Upstream
from ..upstream.mirror import Mirror

__all__ = ["access_policy", "authenticator", "fallback_policy", "load_settings", "mirror", "storage"]

log = logging.getLogger(__name__)


def load_settings(
    source: str | os.PathLike[str] | Mapping[str, Any], environ: Mapping[str, str] | None
) -> Settings:
    """``Settings`` from an INI path or a mapping of INI keys, its notes logged as warnings."""
    if isinstance(source, Mapping):
        built = Settings.from_mapping(source, environ=environ)
    else:
        built = Settings.from_ini(source, environ=environ)
    for line in built.notes():
        log.warning("%s", line)
    for line in built.undefined_principals():  # serve refuses these; identify= may supply groups
        log.warning("%s (fine if the app's identify= supplies that group)", line)
    return built


def storage(settings: Settings, given: Storage | None) -> Storage:
    """The given store, or the one ``storage.url`` names; refused if it cannot serve replicas."""
    if given is not None:
        require_conditional_writes(given)
        return given
    options = reveal_secrets(settings.storage_options)
    try:
        store = open_storage(settings.storage_url, options)
        require_conditional_writes(store)  # the first request to the store: does it answer?
    except (OSError, StorageUnavailable) as error:
        raise unusable_storage(settings.storage_url, options, error) from error
    return store


def access_policy(settings: Settings) -> AccessPolicy:
    """pypicloud's access rules (``pypi.default_*``, ``package.*``, admins) as a value."""
    return AccessPolicy.from_settings(
        default_read=settings.default_read,
        default_write=settings.default_write,
        cache_update=settings.cache_update,
        allow_delete=settings.allow_delete_groups,
        admins=settings.admins,
        package_entries=settings.package_acl,
    )


def fallback_policy(settings: Settings) -> FallbackPolicy:
    """``pypi.fallback`` and the settings that narrow it, with names normalized."""
    always = settings.always_show_upstream
    if always is True:
        log.warning(
            "pypi.always_show_upstream = true merges upstream files into mirrored projects "
            "only; private projects never merge unless named in the setting"
        )
    return FallbackPolicy(
        mode=settings.fallback,
        always_show_upstream=always is True,
        always_show_names=frozenset(normalize(n) for n in always)
        if isinstance(always, tuple)
        else frozenset(),
        disallowed=frozenset(normalize(n) for n in settings.disallow_fallback),
        names=settings.upstream_policy,
    )


def mirror(
    settings: Settings,
    store: Storage,
    upstream: Upstream | None,
    wall_clock: Callable[[], float],
    metrics: Metrics,
) -> Mirror | None:
    """The upstream's listings with their freshness (None when no upstream is configured)."""
    if upstream is None and settings.fallback != "none" and settings.fallback_base_url:
        upstream = HttpUpstream(
            settings.fallback_base_url,
            timeout=settings.upstream_timeout,
            max_page_size=settings.upstream_max_page_size,
            file_hosts=settings.upstream_file_hosts,
        )
    if upstream is None:
        return None
    return Mirror(
        upstream,
        store,
        ttl=settings.upstream_ttl,
        negative_ttl=settings.upstream_negative_ttl,
        clock=wall_clock,
        timeout=settings.upstream_timeout,
        breaker=CircuitBreaker(
            wall_clock, state_path=default_state_path(settings.storage_url, upstream.base_url)
        ),
        counted=lambda outcome: metrics.count_upstream("page", outcome),
    )


def authenticator(settings: Settings, tokens: TokenStore) -> Authenticator:
    """Config users and groups, an htpasswd file, and API tokens."""
    return Authenticator(
        {user: secret.value for user, secret in settings.users.items()},
        settings.groups,
        htpasswd_path=settings.htpasswd,
        tokens=tokens,
    )
