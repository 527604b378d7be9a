"""One meaning per upload form: fields that are ambiguous or contradict the file are refused.

Invariant: a form that passes ``check_form_shape`` gives every single-valued field at
most once, carries no control character in any field (free text may hold tabs and line
breaks), and declares a ``filetype`` and ``pyversion`` that agree with its filename,
so no two readers of the same form (us, PyPI, an auditor) can take it two ways.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import InvalidUpload

__all__ = ["MULTI_VALUED", "check_form_shape", "check_pyversion"]

# Core metadata's multiple-use fields (and their legacy spellings): twine repeats these.
MULTI_VALUED = frozenset(
    {
        "classifiers",
        "dynamic",
        "license_file",
        "license_files",
        "obsoletes",
        "obsoletes_dist",
        "platform",
        "project_urls",
        "provides",
        "provides_dist",
        "provides_extra",
        "requires",
        "requires_dist",
        "requires_external",
        "supported_platform",
    }
)
# Free text written by people: line breaks and tabs are part of it.
_FREE_TEXT = frozenset({"description", "license", "keywords", "comment", "author", "maintainer"})
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_CONTROLS_EXCEPT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_form_shape(fields: Mapping[str, tuple[str, ...]]) -> None:
    """Refuse repeated single-valued fields and control characters, naming the field."""
    for key, values in fields.items():
        if len(values) > 1 and key not in MULTI_VALUED:
            raise InvalidUpload(f"Invalid upload: field {key!r} was given more than once.")
        controls = _CONTROLS_EXCEPT_LAYOUT if key in _FREE_TEXT else _CONTROLS
        if any(controls.search(value) for value in values):
            raise InvalidUpload(f"Invalid upload: field {key!r} contains control characters.")


def check_pyversion(pyversion: str, sdist: bool, wheel_python_tags: frozenset[str]) -> None:
    """PyPI's rule: an sdist's ``pyversion`` is ``source``; a wheel's names its Python tag."""
    if sdist:
        if pyversion not in ("", "source"):
            raise InvalidUpload('Use "source" as Python version for an sdist.')
        return
    if not pyversion:
        raise InvalidUpload("Python version is required for binary distribution uploads.")
    if not set(pyversion.split(".")) <= wheel_python_tags:
        raise InvalidUpload(
            f"Invalid upload: field 'pyversion' is {pyversion!r}, but the wheel's Python tag is "
            f"{'.'.join(sorted(wheel_python_tags))!r}."
        )
