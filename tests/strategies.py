"""Hypothesis strategies shared by the core tests: names, versions, filenames, Accept, ACLs."""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import datetime, timezone

from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from pyregistry_core.acl import AccessPolicy, Identity
from pyregistry_core.records import FileRecord

__all__ = [
    "ACL_PROJECTS",
    "ALIASES",
    "GROUPS",
    "LOOKALIKES",
    "MEDIA_RANGES",
    "PIP_ACCEPT",
    "USERS",
    "UV_ACCEPT",
    "accept_encoding_headers",
    "accept_headers",
    "access_policies",
    "file_records",
    "hex_digests",
    "identities",
    "invalid_project_names",
    "name_spellings",
    "package_entries",
    "project_names",
    "sdist_filenames",
    "upload_times",
    "versions",
    "wheel_filenames",
]

# --------------------------------------------------------------------------------------
# Project names

# Characters that case-fold or look like ASCII letters: the Kelvin sign lowercases to
# "k", the dotless i uppercases to "I"; a regex with IGNORECASE but without ASCII
# would accept them.
LOOKALIKES = (
    "\u212a",  # KELVIN SIGN
    "\u0131",  # LATIN SMALL LETTER DOTLESS I
    "\u0130",  # LATIN CAPITAL LETTER I WITH DOT ABOVE
    "\u017f",  # LATIN SMALL LETTER LONG S
    "\u0430",  # CYRILLIC SMALL LETTER A
    "\uff41",  # FULLWIDTH LATIN SMALL LETTER A
    "\u00df",  # LATIN SMALL LETTER SHARP S
    "\u0660",  # ARABIC-INDIC DIGIT ZERO
)
_ALNUM = string.ascii_letters + string.digits
_SEPARATORS = "._-"


@st.composite
def project_names(draw: st.DrawFn, max_size: int = 40) -> str:
    """Valid project names (spec `name-normalization`), in any case and spelling."""
    first = draw(st.sampled_from(_ALNUM))
    if max_size == 1 or not draw(st.booleans()):
        return first
    middle = draw(st.text(alphabet=_ALNUM + _SEPARATORS, max_size=max_size - 2))
    return first + middle + draw(st.sampled_from(_ALNUM))


@st.composite
def name_spellings(draw: st.DrawFn, name: str) -> str:
    """Another spelling of ``name`` that normalizes to the same name (case, separators)."""
    normalized = canonicalize_name(name)
    parts = normalized.split("-")
    out = [parts[0]]
    for part in parts[1:]:
        out.append(draw(st.text(alphabet=_SEPARATORS, min_size=1, max_size=3)))
        out.append(part)
    spelled = "".join(out)
    flips = draw(st.lists(st.booleans(), min_size=len(spelled), max_size=len(spelled)))
    return "".join(c.upper() if flip else c for c, flip in zip(spelled, flips, strict=True))


@st.composite
def invalid_project_names(draw: st.DrawFn) -> str:
    """Names the spec rejects: non-ASCII lookalikes, "\\n", edge punctuation, paths…"""
    base = draw(project_names(max_size=20))
    kind = draw(
        st.sampled_from(
            [
                "lookalike",
                "newline",
                "leading",
                "trailing",
                "path",
                "empty",
                "long",
                "space",
                "only-punctuation",
            ]
        )
    )
    if kind == "lookalike":
        position = draw(st.integers(0, len(base)))
        return base[:position] + draw(st.sampled_from(LOOKALIKES)) + base[position:]
    if kind == "newline":
        return base + draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if kind == "leading":
        return draw(st.sampled_from(_SEPARATORS)) + base
    if kind == "trailing":
        return base + draw(st.sampled_from(_SEPARATORS))
    if kind == "path":
        return draw(st.sampled_from(["../", "..\\", "/", "./"])) + base
    if kind == "empty":
        return ""
    if kind == "long":
        return base + "a" * (201 - len(base))
    if kind == "space":
        return base + " " + base
    return draw(st.text(alphabet=_SEPARATORS, min_size=1, max_size=5))


# --------------------------------------------------------------------------------------
# Versions and filenames


@st.composite
def versions(draw: st.DrawFn, *, local: bool = False) -> str:
    """Normalized PEP 440 versions (release, pre, post, dev; local labels when asked)."""
    release = draw(st.lists(st.integers(0, 30), min_size=1, max_size=4))
    text = ".".join(map(str, release))
    if draw(st.booleans()):
        epoch = draw(st.integers(0, 2))
        text = f"{epoch}!{text}" if epoch else text
    if draw(st.booleans()):
        text += draw(st.sampled_from(["a", "b", "rc"])) + str(draw(st.integers(0, 9)))
    if draw(st.booleans()):
        text += f".post{draw(st.integers(0, 9))}"
    if draw(st.booleans()):
        text += f".dev{draw(st.integers(0, 9))}"
    if local and draw(st.booleans()):
        text += "+" + draw(st.from_regex(r"[a-z0-9]{1,6}(\.[a-z0-9]{1,6}){0,2}", fullmatch=True))
    return str(Version(text))


@st.composite
def wheel_filenames(
    draw: st.DrawFn, name: str | None = None, version: str | None = None
) -> tuple[str, str, str]:
    """``(filename, project name, version)`` of a wheel, the name spelled PEP 427-style."""
    name = name if name is not None else draw(project_names(max_size=30))
    version = version if version is not None else draw(versions())
    dist = canonicalize_name(name).replace("-", "_")
    build = draw(st.sampled_from(["", "-1", "-2b"]))
    python = draw(st.sampled_from(["py3", "py2.py3", "cp311", "cp312"]))
    abi = draw(st.sampled_from(["none", "abi3", "cp311"]))
    platform = draw(st.sampled_from(["any", "manylinux_2_17_x86_64", "linux_x86_64", "win_amd64"]))
    return f"{dist}-{version}{build}-{python}-{abi}-{platform}.whl", name, version


@st.composite
def sdist_filenames(
    draw: st.DrawFn, name: str | None = None, version: str | None = None
) -> tuple[str, str, str]:
    """``(filename, project name, version)`` of a PEP 625 sdist."""
    name = name if name is not None else draw(project_names(max_size=30))
    version = version if version is not None else draw(versions())
    dist = canonicalize_name(name).replace("-", "_")
    return f"{dist}-{version}.tar.gz", name, version


# --------------------------------------------------------------------------------------
# Accept headers

PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
)
UV_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
ALIASES = {
    "application/vnd.pypi.simple.latest+json": "application/vnd.pypi.simple.v1+json",
    "application/vnd.pypi.simple.latest+html": "application/vnd.pypi.simple.v1+html",
}
# The ``latest`` aliases are left out: whether "latest+json;q=0.5, */*" puts JSON at 0.5
# or at 1 is not settled by any spec, so the property tests stay on unambiguous ground.
MEDIA_RANGES = (
    "application/vnd.pypi.simple.v1+json",
    "application/vnd.pypi.simple.v1+html",
    "text/html",
    "*/*",
    "text/*",
    "application/*",
    "application/json",
    "text/plain",
    "image/png",
)


def _format_q(thousandths: int, style: int) -> str:
    if thousandths == 1000:
        return ("1", "1.0", "1.000")[style % 3]
    text = f"0.{thousandths:03d}"
    # "0." is a valid qvalue by RFC 9110 but werkzeug drops it; no client sends it.
    if style % 2:
        text = text.rstrip("0")
        text = text + "0" if text.endswith(".") else text
    return text


@st.composite
def accept_headers(draw: st.DrawFn) -> tuple[str, list[tuple[str, int]]]:
    """An Accept header and its ``(media range, q in thousandths)`` items (unique ranges)."""
    ranges = draw(st.lists(st.sampled_from(MEDIA_RANGES), min_size=1, max_size=6, unique=True))
    items: list[tuple[str, int]] = []
    parts: list[str] = []
    for media in ranges:
        explicit = draw(st.booleans())
        thousandths = draw(st.sampled_from([0, 1, 10, 100, 200, 500, 900, 999, 1000])) if explicit else 1000
        items.append((media, thousandths))
        if explicit:
            separator = draw(st.sampled_from([";q=", "; q=", " ;q="]))
            parts.append(f"{media}{separator}{_format_q(thousandths, draw(st.integers(0, 2)))}")
        else:
            parts.append(media)
    joiner = draw(st.sampled_from([", ", ",", " , "]))
    return joiner.join(parts), items


CODING_TOKENS = ("gzip", "x-gzip", "zstd", "br", "deflate", "identity", "*", "GZIP", "compress")


@st.composite
def accept_encoding_headers(draw: st.DrawFn) -> tuple[str, list[tuple[str, int]]]:
    """An Accept-Encoding header and its ``(coding, q in thousandths)`` items (unique codings)."""
    codings = draw(st.lists(st.sampled_from(CODING_TOKENS), max_size=6, unique_by=str.lower))
    items: list[tuple[str, int]] = []
    parts: list[str] = []
    for coding in codings:
        explicit = draw(st.booleans())
        thousandths = draw(st.sampled_from([0, 1, 100, 500, 999, 1000])) if explicit else 1000
        items.append((coding.lower(), thousandths))
        if explicit:
            separator = draw(st.sampled_from([";q=", "; q=", " ;q="]))
            parts.append(f"{coding}{separator}{_format_q(thousandths, draw(st.integers(0, 2)))}")
        else:
            parts.append(coding)
    joiner = draw(st.sampled_from([", ", ",", " , "]))
    return joiner.join(parts), items


# --------------------------------------------------------------------------------------
# Records

hex_digests = st.binary(min_size=32, max_size=32).map(bytes.hex)


def upload_times() -> st.SearchStrategy[str]:
    """PEP 700 upload times: UTC, microseconds, ``Z``."""
    return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    )


# Text a hostile upstream or a careless uploader might put in a filename or a reason:
# HTML metacharacters, quotes, but no "/" (a path separator) and nothing a URL would
# have to percent-encode (those are pinned by their own test).
_HOSTILE = st.text(alphabet=_ALNUM + "<>&\"'=._-!+", min_size=1, max_size=20)


@st.composite
def file_records(draw: st.DrawFn, project: str, *, hostile: bool = False) -> FileRecord:
    """A live record of ``project``; ``hostile`` filenames carry HTML metacharacters."""
    version = draw(versions())
    if hostile:
        filename = draw(_HOSTILE) + draw(st.sampled_from([".tar.gz", ".whl", ".zip"]))
    else:
        filename = draw(st.one_of(wheel_filenames(project, version), sdist_filenames(project, version)))[0]
    yanked = draw(st.booleans())
    return FileRecord(
        project=canonicalize_name(project),
        filename=filename,
        version=version,
        kind="bdist_wheel" if filename.endswith(".whl") else "sdist",
        size=draw(st.integers(0, 2**40)),
        sha256=draw(hex_digests),
        upload_time=draw(upload_times()),
        requires_python=draw(
            st.one_of(
                st.none(),
                st.sampled_from([">=3.8", ">=3.8,<4", "<3.13,>3.9", "!=3.0.*,>=2.7", "~=3.10"]),
                _HOSTILE if hostile else st.nothing(),
            )
        ),
        metadata_sha256=draw(st.one_of(st.none(), hex_digests)),
        yanked=yanked,
        yanked_reason=draw(st.one_of(st.just(""), _HOSTILE)) if yanked else "",
        provenance_sha256=draw(st.one_of(st.none(), st.just("-"), hex_digests)),
    )


# --------------------------------------------------------------------------------------
# Access control

USERS = ("alice", "bob", "carol")
GROUPS = ("devs", "ops", "qa")
_RULE_MEMBERS = ("everyone", "authenticated", *(f"group:{g}" for g in GROUPS))
_ENTRY_PRINCIPALS = (
    "everyone",
    "authenticated",
    *(f"user:{u}" for u in USERS),
    *(f"group:{g}" for g in GROUPS),
)
ACL_PROJECTS = ("foo-bar", "private", "shared")


def _rule() -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(_RULE_MEMBERS))


def package_entries(perms: Sequence[str] = ("r", "w", "rw", "")) -> st.SearchStrategy[dict[str, str]]:
    """One package's explicit entries: principal → ``r``/``w``/``rw``."""
    return st.dictionaries(st.sampled_from(_ENTRY_PRINCIPALS), st.sampled_from(perms), max_size=4)


@st.composite
def access_policies(draw: st.DrawFn) -> AccessPolicy:
    """Policies over a few users, groups and projects."""
    projects = draw(st.lists(st.sampled_from(ACL_PROJECTS), unique=True))
    return AccessPolicy(
        default_read=draw(_rule()),
        default_write=draw(_rule()),
        cache_update=draw(_rule()),
        allow_delete=draw(_rule()),
        admins=draw(st.frozensets(st.sampled_from(USERS), max_size=1)),
        packages={canonicalize_name(p): draw(package_entries()) for p in projects},
    )


@st.composite
def identities(draw: st.DrawFn, *, anonymous: bool | None = None) -> Identity:
    """Callers without API-token restrictions: anonymous, or a user with groups."""
    if anonymous is None:
        anonymous = draw(st.booleans())
    if anonymous:
        return Identity()
    groups = draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=3))
    return Identity(user=draw(st.sampled_from(USERS)), groups=tuple(groups))
