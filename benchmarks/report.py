"""Benchmark results as values, and their rendering as text and Markdown.

Every figure carries the baseline it was measured against in the same run, so the
ratio, not the absolute number, is what a reader compares between runs and machines.
"""

from __future__ import annotations

import attrs

__all__ = ["COUNT_UNITS", "Figure", "Section", "render_markdown", "render_text"]

COUNT_UNITS = frozenset({"requests", "calls", "runs"})  # whole numbers, printed without decimals


@attrs.frozen
class Figure:
    """One measurement next to its same-run baseline; ``ratio`` is measured / baseline."""

    label: str
    value: float
    baseline_label: str
    baseline: float
    unit: str
    target: str = ""  # e.g. ">= 0.70"; empty when the figure has no target
    note: str = ""

    @property
    def ratio(self) -> float:
        """Measured over baseline (0 when the baseline is 0)."""
        return self.value / self.baseline if self.baseline else 0.0

    @property
    def verdict(self) -> str:
        """``ok``/``MISSED`` against ``target`` (``>= x`` or ``<= x``), else empty."""
        if not self.target:
            return ""
        op, _, limit = self.target.partition(" ")
        bound = float(limit)
        met = self.ratio >= bound if op == ">=" else self.ratio <= bound
        return "ok" if met else "MISSED"


@attrs.frozen
class Section:
    """What one benchmark function reports: a title, how it measured, its figures."""

    title: str
    method: str
    figures: tuple[Figure, ...]
    notes: tuple[str, ...] = ()


def _number(value: float, unit: str) -> str:
    if unit in COUNT_UNITS:
        return f"{value:,.0f} {unit}"
    if unit in ("req/s", "ms", "MB", "MB/s", "s") and value >= 100:
        return f"{value:,.0f} {unit}"
    if unit in {"MB", "MB/s"}:
        return f"{value:,.1f} {unit}"
    if unit == "ms":
        return f"{value:,.2f} {unit}"
    if unit == "s":
        return f"{value:,.3f} {unit}"
    return f"{value:,.1f} {unit}"


def render_text(section: Section) -> str:
    """A section as aligned console text."""
    lines = [f"== {section.title}", f"   {section.method}"]
    width = max((len(f.label) for f in section.figures), default=0)
    for fig in section.figures:
        ratio = f"ratio {fig.ratio:.2f}"
        if fig.target:
            ratio += f" (target {fig.target}: {fig.verdict})"
        lines.append(
            f"   {fig.label:<{width}}  {_number(fig.value, fig.unit):>14}  vs "
            f"{fig.baseline_label} {_number(fig.baseline, fig.unit)}  -> {ratio}"
            + (f"  [{fig.note}]" if fig.note else "")
        )
    lines.extend(f"   note: {note}" for note in section.notes)
    return "\n".join(lines)


def render_markdown(section: Section) -> str:
    """A section as a Markdown table."""
    lines = [
        f"## {section.title}",
        "",
        section.method,
        "",
        "| measured | value | baseline (same run) | baseline value | ratio | target |",
        "|---|---:|---|---:|---:|---|",
    ]
    for fig in section.figures:
        target = f"{fig.target} {fig.verdict}" if fig.target else ""
        label = fig.label + (f" ({fig.note})" if fig.note else "")
        lines.append(
            f"| {label} | {_number(fig.value, fig.unit)} | {fig.baseline_label} | "
            f"{_number(fig.baseline, fig.unit)} | {fig.ratio:.2f} | {target} |"
        )
    if section.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in section.notes)
    lines.append("")
    return "\n".join(lines)
