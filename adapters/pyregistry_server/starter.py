"""``pyregistry init``: commented starter configurations for each deployment."""

from __future__ import annotations

__all__ = ["DEFAULT_MODE", "MODES", "MODE_SUMMARIES", "default_mode_note", "starter_config"]

MODES = ("proxy", "personal", "private")
DEFAULT_MODE = "personal"
MODE_SUMMARIES = {
    "proxy": "a caching proxy of an upstream index",
    "personal": "anyone installs, logged-in users upload",
    "private": "nothing readable without credentials",
}

_HEADER = """\
# pyregistry configuration ({mode}). Keys are pypicloud's where it has one, so this
# section may also be called [app:main]. Reference: docs/configuration.md
[pyregistry]
# Where packages live: a directory (relative to this file) or any fsspec URL, e.g.
#   storage.url = s3://my-bucket/pyregistry
storage.dir = %(here)s/packages
"""

_BODIES = {
    "proxy": """\
# A LAN/VPC caching proxy: clients talk only to this index; the first install of a
# package fetches it from the upstream and stores it; later installs are local, also
# while the upstream is unreachable.
pypi.fallback = cache
pypi.fallback_base_url = {upstream}
# Who may make the proxy fetch from the upstream (everyone on the LAN).
pypi.cache_update = everyone
pypi.default_read = everyone
# Nobody uploads to a pure proxy (add users and an admin to publish private packages).
pypi.default_write =
# How long a mirrored project's page may be reused before asking the upstream again.
pypi.upstream_ttl = 600
""",
    "personal": """\
# A personal publishing server: anyone installs, only logged-in users upload.
# Names this index does not hold redirect to the upstream index.
pypi.fallback = redirect
pypi.fallback_base_url = {upstream}
pypi.default_read = everyone
pypi.default_write = authenticated
# Users: `pyregistry hash-password` prints a hash for a user.<name> line.
# user.alice = $6$rounds=656000$...
# auth.admins = alice
""",
    "private": """\
# An organisation's private registry: nothing readable without credentials,
# per-package permissions; names we do not hold redirect to the upstream index.
pypi.fallback = redirect
pypi.fallback_base_url = {upstream}
pypi.default_read = authenticated
pypi.default_write = authenticated
# user.alice = $6$rounds=656000$...      (pyregistry hash-password)
# group.developers = alice bob
# auth.admins = alice
# package.secret-tool.group.developers = rw
# API tokens: pyregistry token create --config THIS_FILE --user alice --project secret-tool
""",
}


def default_mode_note() -> str:
    """What ``init`` says when no ``--mode`` was given: the mode it chose, and the others."""
    others = " or ".join(f"--mode {m} ({MODE_SUMMARIES[m]})" for m in MODES if m != DEFAULT_MODE)
    return (
        f"no --mode given: this is the {DEFAULT_MODE!r} starter ({MODE_SUMMARIES[DEFAULT_MODE]}); "
        f"{others} writes another"
    )


def starter_config(mode: str, upstream: str | None) -> str:
    """The starter INI for ``mode``; the proxy needs an upstream, the others default to none."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if mode == "proxy" and not upstream:
        raise ValueError("--upstream URL is required for --mode proxy (there is no built-in upstream)")
    body = _BODIES[mode]
    if not upstream:
        # No upstream given: nothing falls back (and nothing leaks upstream).
        body = body.replace(
            "pypi.fallback = redirect\npypi.fallback_base_url = {upstream}\n",
            "pypi.fallback = none\n# pypi.fallback = redirect\n"
            "# pypi.fallback_base_url = <upstream index root>\n",
        )
    return _HEADER.format(mode=mode) + body.format(upstream=upstream)
