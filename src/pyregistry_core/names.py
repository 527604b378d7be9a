"""Project names (PEP 503 and the PyPA name-normalization spec).

Invariant: every storage key, ACL subject and cache key is a ``NormalizedName`` that
came out of :func:`normalize`, which validates before it normalizes, so no raw string
from a URL or a form ever reaches storage.
"""

from __future__ import annotations

import re

from packaging.utils import NormalizedName, canonicalize_name

from .errors import InvalidProjectName

__all__ = ["NormalizedName", "is_valid_project_name", "normalize"]

# Spec `name-normalization`: ASCII only, starts and ends alphanumeric, anchored with \Z
# (a `$` would accept a trailing newline). re.ASCII keeps IGNORECASE from folding the
# Kelvin sign or a dotless i to ASCII letters.
_VALID_NAME = re.compile(r"[A-Z0-9](?:[A-Z0-9._-]*[A-Z0-9])?\Z", re.IGNORECASE | re.ASCII)
_MAX_NAME_LENGTH = 200


def is_valid_project_name(name: str) -> bool:
    """Whether ``name`` is a valid project name by the PyPA spec."""
    return len(name) <= _MAX_NAME_LENGTH and _VALID_NAME.match(name) is not None


def normalize(name: str) -> NormalizedName:
    """Validate ``name`` and return its PEP 503 normalized form.

    >>> normalize("FrIeNdLy-._.-bArD")
    'friendly-bard'
    """
    if not is_valid_project_name(name):
        raise InvalidProjectName(name)
    return canonicalize_name(name, validate=False)
