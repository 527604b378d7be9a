"""Trusted publishers as data: which OIDC identities may upload to which project.

An admin declares ``publisher.<project>.<n> = <issuer> key=value …`` lines and, for
issuers other than the GitHub and GitLab presets, ``oidc.<issuer>.issuer = https://…``.
Matching a token's (already verified) claims against a publisher is a pure function.

Rules (PyPI's, where PyPI has one):
1. GitHub: ``repository`` matches case-insensitively, the workflow file is the one in
   ``job_workflow_ref`` (``owner/repo/.github/workflows/<file>@<ref or sha>``), an
   environment, when configured, matches case-insensitively and must be present.
2. GitLab: ``project_path`` matches case-insensitively, the CI config file is the one in
   ``ci_config_ref_uri`` (``<host>/<project>//<file>@<ref>``), an environment, when
   configured, matches exactly.
3. Any other issuer: every configured claim must be present and equal; at least one is
   required, so no line ever trusts every token an issuer signs.
4. A publisher works whether or not its project exists yet: a "pending" publisher's
   first upload creates the project (as PyPI).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from .errors import ConfigError
from .names import NormalizedName, normalize

__all__ = [
    "GITHUB_ISSUER",
    "GITLAB_ISSUER",
    "Issuer",
    "Publisher",
    "TrustConfig",
    "match_publisher",
    "parse_publisher",
    "parse_trust",
]

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
KINDS = ("github", "gitlab", "generic")
_ISSUER_KEYS = ("issuer", "jwks_url", "jwks_file", "type")
# The claims a publisher line may constrain, per kind (generic: any claim name).
_FIELDS = {
    "github": {"repo", "workflow", "environment", "repository_owner_id", "repository_id"},
    "gitlab": {"project", "ci_config", "environment", "namespace_id", "project_id"},
}
_REQUIRED = {"github": ("repo", "workflow"), "gitlab": ("project", "ci_config")}


@attrs.frozen
class Issuer:
    """An OIDC issuer this index trusts to sign CI identities."""

    name: str
    url: str
    kind: str = "generic"
    jwks_url: str | None = None
    jwks_file: str | None = None


@attrs.frozen
class Publisher:
    """One trusted publisher: an issuer's identity allowed to upload to ``project``."""

    id: str  # the config key after "publisher.", e.g. "acme-tool.1"
    project: NormalizedName
    issuer: str  # an Issuer's name
    claims: tuple[tuple[str, str], ...]

    def line(self) -> str:
        """The ``<issuer> key=value …`` line that declares this publisher."""
        return " ".join((self.issuer, *(f"{k}={v}" for k, v in self.claims)))

    def describe(self) -> str:
        """One line for ``pyregistry publisher list``."""
        constraints = " ".join(f"{k}={v}" for k, v in self.claims)
        return f"{self.id} project={self.project} issuer={self.issuer} {constraints}".rstrip()


@attrs.frozen
class TrustConfig:
    """Everything trusted publishing is configured with."""

    audience: str | None = None  # None: derived from the request's host
    token_lifetime: float = 900.0
    issuers: Mapping[str, Issuer] = attrs.field(factory=dict)
    publishers: tuple[Publisher, ...] = ()

    @property
    def enabled(self) -> bool:
        """Whether any publisher is configured."""
        return bool(self.publishers)

    def issuer_by_url(self, url: str) -> Issuer | None:
        """The configured issuer whose URL is ``url`` (exactly, bar a trailing slash)."""
        wanted = url.rstrip("/")
        return next((i for i in self.issuers.values() if i.url == wanted), None)


def _presets() -> dict[str, Issuer]:
    return {
        "github": Issuer("github", GITHUB_ISSUER, "github"),
        "gitlab": Issuer("gitlab", GITLAB_ISSUER, "gitlab"),
    }


def _https_url(key: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"{key} = {value}: an OIDC issuer is named by an https:// URL")
    return value.strip().rstrip("/")


def _issuers(values: Mapping[str, Any], base_dir: str) -> dict[str, Issuer]:
    issuers = _presets()
    fields: dict[str, dict[str, str]] = {}
    for key, value in values.items():
        if not key.startswith("oidc.") or key in ("oidc.audience", "oidc.token_lifetime"):
            continue
        name, _, field = key[len("oidc.") :].rpartition(".")
        if not name or field not in _ISSUER_KEYS:
            raise ConfigError(
                f"{key}: unknown key; expected oidc.audience, oidc.token_lifetime or "
                f"oidc.<issuer>.{{{','.join(_ISSUER_KEYS)}}}"
            )
        fields.setdefault(name, {})[field] = str(value).strip()
    for name, given in fields.items():
        preset = issuers.get(name)
        if preset is None and "issuer" not in given:
            raise ConfigError(f"oidc.{name}.issuer is missing: name the issuer's https:// URL")
        kind = given.get("type", preset.kind if preset else "generic")
        if kind not in KINDS:
            raise ConfigError(f"oidc.{name}.type = {kind}: expected one of {', '.join(KINDS)}")
        url = _https_url(f"oidc.{name}.issuer", given["issuer"]) if "issuer" in given else preset.url  # type: ignore[union-attr]
        jwks_url = _https_url(f"oidc.{name}.jwks_url", given["jwks_url"]) if "jwks_url" in given else None
        jwks_file = os.path.join(base_dir, given["jwks_file"]) if given.get("jwks_file") else None
        issuers[name] = Issuer(name, url, kind, jwks_url, jwks_file)
    urls = [i.url for i in issuers.values()]
    duplicated = sorted({u for u in urls if urls.count(u) > 1})
    if duplicated:
        raise ConfigError(f"two oidc.<issuer> entries name the same issuer URL {duplicated[0]}")
    return issuers


def _publisher(key: str, value: str, issuers: Mapping[str, Issuer]) -> Publisher:
    rest = key[len("publisher.") :]
    project_part, _, number = rest.rpartition(".")
    if not project_part or not number:
        raise ConfigError(f"{key}: expected publisher.<project>.<n> = <issuer> key=value …")
    return parse_publisher(rest, project_part, value, issuers, where=key)


def parse_publisher(
    publisher_id: str, project_part: str, value: str, issuers: Mapping[str, Issuer], *, where: str
) -> Publisher:
    """A publisher from its line (``<issuer> key=value …``); ``where`` names it in errors."""
    key = where
    try:
        project = normalize(project_part)
    except ValueError as exc:
        raise ConfigError(f"{key}: {project_part!r} is not a valid project name") from exc
    words = str(value).split()
    if not words or words[0] not in issuers:
        known = ", ".join(sorted(issuers))
        raise ConfigError(f"{key}: the first word must name an issuer ({known}), not {value!r}")
    issuer = issuers[words[0]]
    claims: dict[str, str] = {}
    for word in words[1:]:
        name, sep, wanted = word.partition("=")
        if not sep or not name or not wanted:
            raise ConfigError(f"{key}: {word!r} is not key=value")
        allowed = _FIELDS.get(issuer.kind)
        if allowed is not None and name not in allowed:
            raise ConfigError(f"{key}: {name!r} is not a {issuer.kind} field ({', '.join(sorted(allowed))})")
        if name in claims:
            raise ConfigError(f"{key}: {name} is given twice")
        claims[name] = wanted
    missing = [f for f in _REQUIRED.get(issuer.kind, ()) if f not in claims]
    if missing:
        raise ConfigError(f"{key}: a {issuer.kind} publisher needs {' and '.join(missing)}")
    if not claims:
        raise ConfigError(f"{key}: name at least one claim, or every token of {issuer.url} could upload")
    if issuer.kind == "github" and claims["repo"].count("/") != 1:
        raise ConfigError(f"{key}: repo must be owner/name, not {claims['repo']!r}")
    return Publisher(publisher_id, project, issuer.name, tuple(claims.items()))


def parse_trust(values: Mapping[str, Any], base_dir: str) -> TrustConfig:
    """Build the trust configuration from INI keys (``oidc.*`` and ``publisher.*``)."""
    issuers = _issuers(values, base_dir)
    publishers = tuple(
        _publisher(key, str(value), issuers)
        for key, value in sorted(values.items())
        if key.startswith("publisher.")
    )
    audience = values.get("oidc.audience")
    try:
        lifetime = float(values.get("oidc.token_lifetime", 900))
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"oidc.token_lifetime must be seconds, not {values['oidc.token_lifetime']!r}"
        ) from exc
    if not 0 < lifetime <= 86400:
        raise ConfigError("oidc.token_lifetime must be between 1 and 86400 seconds")
    return TrustConfig(
        audience=str(audience).strip() or None if audience is not None else None,
        token_lifetime=lifetime,
        issuers=issuers,
        publishers=publishers,
    )


def _ref_suffix_ok(signed: str, prefix: str, claims: Mapping[str, Any]) -> bool:
    """``signed`` is ``prefix`` + ``@`` + the token's own ref or sha."""
    refs = {str(claims[k]) for k in ("ref", "sha") if claims.get(k)}
    return signed.startswith(prefix + "@") and signed[len(prefix) + 1 :] in refs


def _github(wanted: Mapping[str, str], claims: Mapping[str, Any]) -> bool:
    repository = str(claims.get("repository", ""))
    if not repository or repository.lower() != wanted["repo"].lower():
        return False
    sub = str(claims.get("sub", ""))
    if not sub.lower().startswith(f"repo:{wanted['repo'].lower()}:"):
        return False
    workflow_ref = str(claims.get("job_workflow_ref", ""))
    if not _ref_suffix_ok(workflow_ref, f"{repository}/.github/workflows/{wanted['workflow']}", claims):
        return False
    if "environment" in wanted:
        environment = str(claims.get("environment") or "")
        if environment.lower() != wanted["environment"].lower():
            return False
    return all(
        str(claims.get(k, "")) == wanted[k] for k in ("repository_owner_id", "repository_id") if k in wanted
    )


def _gitlab(wanted: Mapping[str, str], claims: Mapping[str, Any], issuer: Issuer) -> bool:
    project_path = str(claims.get("project_path", ""))
    if not project_path or project_path.lower() != wanted["project"].lower():
        return False
    host = urlsplit(issuer.url).netloc
    config_ref = str(claims.get("ci_config_ref_uri", ""))
    if not _ref_suffix_ok(config_ref, f"{host}/{project_path}//{wanted['ci_config']}", claims):
        return False
    if "environment" in wanted and str(claims.get("environment") or "") != wanted["environment"]:
        return False
    return all(str(claims.get(k, "")) == wanted[k] for k in ("namespace_id", "project_id") if k in wanted)


def match_publisher(publisher: Publisher, issuer: Issuer, claims: Mapping[str, Any]) -> bool:
    """Whether verified ``claims`` from ``issuer`` are the identity ``publisher`` names."""
    if publisher.issuer != issuer.name:
        return False
    wanted = dict(publisher.claims)
    if issuer.kind == "github":
        return _github(wanted, claims)
    if issuer.kind == "gitlab":
        return _gitlab(wanted, claims, issuer)
    return all(isinstance(claims.get(k), (str, int)) and str(claims[k]) == v for k, v in wanted.items())
