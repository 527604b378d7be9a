"""How ``pyregistry serve`` logs: plain text lines, or JSON lines (``--log-format json``).

One ``logging.config`` dictionary configures the server process, gunicorn's master
(its ``logconfig_dict``) and every uvicorn worker (its ``log_config``, applied again in
each spawned worker), so pyregistry's lines — the audit trail, the access log — and the
server's own lines all leave on stdout in one format. In JSON each line is one object:
``time``, ``level``, ``logger``, ``message``, plus the event's fields for audit lines.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

__all__ = ["FORMATS", "JsonLines", "logging_config"]

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(name)s %(message)s"


class JsonLines(logging.Formatter):
    """A log record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """``time``, ``level``, ``logger``, ``message``; an audit event's fields; any traceback."""
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        document: dict[str, Any] = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            document.update(audit)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def logging_config(log_format: str, access_log: bool) -> dict[str, Any]:
    """The ``dictConfig`` of the server: everything to stdout in ``log_format``.

    ``access_log`` lets ``pyregistry.access`` log each request (off: one line per
    request costs 15-40 % of warm-page throughput, and a proxy in front logs them too).
    """
    if log_format not in FORMATS:
        raise ValueError(f"--log-format must be one of {', '.join(FORMATS)}")
    formatter = {"()": JsonLines} if log_format == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"pyregistry": formatter},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "pyregistry",
            }
        },
        "root": {"level": "INFO", "handlers": ["stdout"]},
        "loggers": {
            "pyregistry.access": {"level": "INFO" if access_log else "WARNING"},
            # The servers' own loggers pass their lines to the root handler (no handler of their
            # own); their access lines are off: pyregistry.access writes one line per request.
            **{
                name: {
                    "level": "WARNING" if name.endswith(".access") else "INFO",
                    "handlers": [],
                    "propagate": True,
                }
                for name in (
                    "gunicorn.error",
                    "gunicorn.access",
                    "uvicorn",
                    "uvicorn.error",
                    "uvicorn.access",
                )
            },
        },
    }
