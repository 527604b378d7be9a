"""What may come from the upstream index at all, and when: allow/deny lists and the
release cooldown, as pure functions (no I/O; the caller passes the time).

Rules (DESIGN.md → New keys, issue "Supply-chain policy at the proxy"):
1. ``pypi.upstream_deny`` (and pypicloud's ``pypi.disallow_fallback``) names are never
   sent upstream; when ``pypi.upstream_allow`` is set, only names matching it are.
2. The cooldown holds back an upstream file until ``pypi.upstream_min_age`` has passed
   since its upstream ``upload-time``. It fails closed: a file without a parseable
   ``upload-time`` is held back unless ``pypi.upstream_min_age_missing = allow``.
3. It applies to upstream files only: uploads, and upstream files cached before the
   policy was enabled, are never held back; exempt names are never held back, nor the
   files and versions an admin exempted (``exemptions.py``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from datetime import datetime, timezone

import attrs
from packaging.utils import canonicalize_name

from .errors import ConfigError
from .exemptions import Exemption, covering
from .records import FileRecord

__all__ = [
    "Cooldown",
    "HeldBack",
    "NamePatterns",
    "UpstreamPolicy",
    "format_duration",
    "parse_duration",
    "parse_upload_time",
]

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*\Z", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: str | float) -> float:
    """Seconds from ``3600``, ``90m``, ``72h``, ``7d`` or ``2w``.

    >>> parse_duration("7d"), parse_duration("72h"), parse_duration("3600"), parse_duration(0)
    (604800.0, 259200.0, 3600.0, 0.0)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ConfigError(f"{value!r} is not a duration (examples: 3600, 90m, 72h, 7d, 2w)")
        seconds = float(match.group(1)) * _SECONDS[match.group(2).lower()]
    if seconds < 0:
        raise ConfigError(f"{value!r} is not a duration: it is negative")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration (``7d``, ``36h``, ``90s``).

    >>> format_duration(604800), format_duration(129600), format_duration(90)
    ('7d', '36h', '90s')
    """
    for unit in ("d", "h", "m"):
        size = _SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds}s"


def parse_upload_time(value: str | None) -> float | None:
    """PEP 700 ``upload-time`` (ISO 8601, UTC) as a POSIX timestamp; None if unusable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:  # PEP 700 times are UTC; a naive one is read as UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _normalize_pattern(pattern: str) -> str:
    """A name or glob normalized like a project name (``Foo_*`` → ``foo-*``)."""
    pieces = re.split(r"([*?\[\]])", pattern.strip())
    return "".join(p if p in "*?[]" and p else canonicalize_name(p) if p else "" for p in pieces)


@attrs.frozen
class NamePatterns:
    """Normalized project names and globs; matches normalized names."""

    exact: frozenset[str] = frozenset()
    globs: tuple[str, ...] = ()

    @classmethod
    def parse(cls, words: Iterable[str]) -> NamePatterns:
        """From config words (names or globs, any spelling)."""
        exact: set[str] = set()
        globs: list[str] = []
        for word in words:
            if not word.strip():
                continue
            normal = _normalize_pattern(word)
            if any(c in normal for c in "*?["):
                globs.append(normal)
            else:
                exact.add(normal)
        return cls(frozenset(exact), tuple(globs))

    def __bool__(self) -> bool:
        return bool(self.exact or self.globs)

    def matches(self, name: str) -> bool:
        """Whether the normalized ``name`` is listed or matches a glob."""
        return name in self.exact or any(fnmatch.fnmatchcase(name, g) for g in self.globs)

    def describe(self) -> list[str]:
        """The patterns as configured (normalized), sorted: for /health."""
        return sorted(self.exact) + sorted(self.globs)


@attrs.frozen
class HeldBack:
    """An upstream file the cooldown keeps out of pages and downloads for now."""

    filename: str
    version: str
    visible_from: float | None  # POSIX time it comes of age; None: never (no upload-time)


@attrs.frozen
class Cooldown:
    """The outcome of applying the cooldown to one project's upstream files."""

    visible: tuple[FileRecord, ...]
    held: tuple[HeldBack, ...]
    valid_until: float  # the split is the same until then (inf: until the listing changes)
    # Files let through only by an admin's exemption: (filename, version, why).
    exempted: tuple[tuple[str, str, str], ...] = ()


@attrs.frozen
class UpstreamPolicy:
    """The supply-chain policy for upstream files (all defaults: off)."""

    min_age: float = 0.0
    allow_missing_time: bool = False
    exempt: NamePatterns = NamePatterns()
    allow: NamePatterns | None = None  # None: every name may come from the upstream
    deny: NamePatterns = NamePatterns()

    @property
    def cooldown(self) -> bool:
        """Whether the release cooldown is on."""
        return self.min_age > 0

    def may_fetch(self, name: str) -> bool:
        """Rule 1: whether ``name`` may be sent to (and come from) the upstream."""
        if self.deny.matches(name):
            return False
        return self.allow is None or self.allow.matches(name)

    def visible_from(self, name: str, upload_time: str | None) -> float | None:
        """When an upstream file of ``name`` becomes visible: 0 now and always, a POSIX
        time, or None for never (no upload-time, failing closed)."""
        if not self.cooldown or self.exempt.matches(name):
            return 0.0
        uploaded = parse_upload_time(upload_time)
        if uploaded is None:
            return 0.0 if self.allow_missing_time else None
        return uploaded + self.min_age

    def hold_back(
        self, name: str, files: Iterable[FileRecord], now: float, exemptions: Iterable[Exemption] = ()
    ) -> Cooldown:
        """Split upstream files not stored here into those listed now and those held
        back, with the time the split next changes (when the next file comes of age);
        a file an admin exempted is listed whatever its age."""
        granted = tuple(exemptions)
        visible: list[FileRecord] = []
        held: list[HeldBack] = []
        exempted: list[tuple[str, str, str]] = []
        for record in files:
            since = self.visible_from(name, record.upload_time)
            if since is not None and since <= now:
                visible.append(record)
            elif (exemption := covering(granted, record.filename, record.version)) is not None:
                visible.append(record)
                exempted.append((record.filename, record.version, exemption.why()))
            else:
                held.append(HeldBack(record.filename, record.version, since))
        upcoming = [h.visible_from for h in held if h.visible_from is not None]
        return Cooldown(tuple(visible), tuple(held), min(upcoming, default=float("inf")), tuple(exempted))

    def why(self, held: HeldBack) -> str:
        """A person's explanation of why a file is held back."""
        if held.visible_from is None:
            return (
                "the upstream gives no upload-time and pypi.upstream_min_age_missing = deny "
                "(release cooldown, failing closed)"
            )
        when = datetime.fromtimestamp(held.visible_from, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        age = format_duration(self.min_age)
        return f"release cooldown pypi.upstream_min_age = {age}, available from {when}"

    def describe(self) -> dict[str, object]:
        """The active policy, for /health and the browse pages."""
        return {
            "min_age": format_duration(self.min_age) if self.cooldown else "0",
            "min_age_missing": "allow" if self.allow_missing_time else "deny",
            "min_age_exempt": self.exempt.describe(),
            "allow": None if self.allow is None else self.allow.describe(),
            "deny": self.deny.describe(),
        }
