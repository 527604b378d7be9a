"""What ``pyregistry serve`` says when it starts: one line an operator can check at a glance.

Who may read and who may upload, where names it does not hold go, where packages are
kept, and where it listens — credentials in any URL masked. A server on the embedded
default (no ``--config``) that other machines can reach also gets a WARNING.
"""

from __future__ import annotations

from pyregistry_core import Settings
from pyregistry_core.config_values import mask_url

__all__ = ["exposed_default_warning", "startup_line"]


def _who(principals: tuple[str, ...]) -> str:
    """A who-may list in words: ``everyone``, ``authenticated``, groups; empty is admins only."""
    return ", ".join(principals) if principals else "admins only"


def _fallback(settings: Settings) -> str:
    if settings.fallback == "none" or not settings.fallback_base_url:
        return "none (names not held here are 404)"
    return f"{settings.fallback} to {mask_url(settings.fallback_base_url)}"


def _storage(settings: Settings, storage_url: str) -> str:
    endpoint = settings.storage_options.get("endpoint_url")
    shown = mask_url(storage_url)
    return f"{shown} at {mask_url(str(endpoint))}" if endpoint else shown


def startup_line(settings: Settings, storage_url: str, address: str, server: str, workers: int) -> str:
    """``serving <address> (<server>, N workers); read: …; upload: …; fallback: …; storage: …``."""
    rules = len(settings.package_acl)
    per_project = f" (plus per-project rules for {rules} project{'s' * (rules != 1)})" if rules else ""
    return (
        f"serving {address} ({server}, {workers} worker{'s' * (workers != 1)}); "
        f"read: {_who(settings.default_read)}; upload: {_who(settings.default_write)}{per_project}; "
        f"fallback: {_fallback(settings)}; storage: {_storage(settings, storage_url)}"
    )


def exposed_default_warning(host: str) -> str:
    """The WARNING for the embedded default listening beyond this machine."""
    return (
        f"NO CONFIG FILE, LISTENING BEYOND THIS MACHINE ({host}): the embedded default lets anyone "
        "who can reach this address read every package (uploads need a user, and it has none). "
        "Write a config (pyregistry init --output pyregistry.ini) and pass --config, "
        "or listen on 127.0.0.1."
    )
