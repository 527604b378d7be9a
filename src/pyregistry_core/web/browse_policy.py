"""The project page's "Release cooldown" section: what the supply-chain policy holds back
on this project, and what an admin's exemption lets through, each with its reason.

Shown only when there is something to say (a project the cooldown does not touch has no
such section); every value is escaped.
"""

from __future__ import annotations

from html import escape

from ..records import ProjectFiles

__all__ = ["policy_section"]


def policy_section(files: ProjectFiles) -> str:
    """The section's HTML, or "" when nothing is held back or exempted."""
    if not files.held_back and not files.exempted:
        return ""
    parts = ['<section class="policy" id="cooldown"><h2>Release cooldown</h2>']
    if files.held_back:
        parts.append(
            '<p class="muted">Upstream files not offered yet, so pip and uv resolve to older releases:</p>'
        )
        parts.append(_rows("held-back", files.held_back))
    if files.exempted:
        parts.append('<p class="muted">Upstream files an admin let through the cooldown:</p>')
        parts.append(_rows("exempted", files.exempted))
    parts.append("</section>")
    return "".join(parts)


def _rows(kind: str, entries: tuple[tuple[str, str, str], ...]) -> str:
    rows = "".join(
        f'<li data-version="{escape(version)}"><code class="filename">{escape(filename)}</code> '
        f'<span class="reason">{escape(why)}</span></li>'
        for filename, version, why in entries
    )
    return f'<ul class="{kind}">{rows}</ul>'
