"""gunicorn's logger without gunicorn's access log: the core logs each request itself.

``pyregistry serve`` hands gunicorn a ``logconfig_dict`` (so gunicorn's lines share
pyregistry's format), and gunicorn takes any logging config as a wish for its access log:
each request would build the log's fields and print one more line, without
``--access-log`` too. The access log is ``pyregistry.access`` (``--access-log``), so
gunicorn's stays off, and a request costs none of its work.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

__all__ = ["GunicornLogger"]


class GunicornLogger(Logger):  # type: ignore[misc]
    """gunicorn's own lines (start, workers, errors) as usual; no access lines."""

    @property
    def access_log_enabled(self) -> bool:
        """Never: ``pyregistry.access`` is the access log (``serve --access-log``)."""
        return False

    def access(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: the core logged the request already when asked to."""
