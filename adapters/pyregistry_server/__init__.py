"""The ready-to-run server and the ``pyregistry`` command line."""

from __future__ import annotations

__all__: list[str] = []
