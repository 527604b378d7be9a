"""The project page's release cooldown section: absent when there is nothing to say, and
every upstream-given value escaped."""

from __future__ import annotations

from pyregistry_core.names import NormalizedName
from pyregistry_core.records import ProjectFiles
from pyregistry_core.web.browse_policy import policy_section

UFO = NormalizedName("ufo-core")


def test_no_section_without_held_back_or_exempted_files() -> None:
    """A project the cooldown does not touch shows no policy section."""
    assert policy_section(ProjectFiles(UFO, ())) == ""


def test_values_are_escaped() -> None:
    """A filename, version or reason can never inject markup."""
    hostile = '<script>alert(1)</script>"'
    files = ProjectFiles(UFO, (), held_back=((hostile, hostile, hostile),), exempted=(("f", "1", hostile),))
    html = policy_section(files)
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") == 4
    assert '<ul class="held-back">' in html
    assert '<ul class="exempted">' in html
