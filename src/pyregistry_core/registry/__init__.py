"""The ``Registry`` facade and the use cases it is composed of."""

from __future__ import annotations

from .facade import Registry

__all__ = ["Registry"]
