"""How many threads an adapter may give each kind of request, and how many may wait.

Invariant: every size is a whole number in a sane range, checked when the settings are
built, so a bad value refuses to start. The ASGI adapter runs uploads, requests that may
wait on the upstream, file reads and everything else in separate pools of these sizes
(docs/configuration.md → Threads); a pool with every thread busy lets ``queue`` more
requests wait, and answers the next one 503 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .errors import ConfigError

__all__ = ["POOL_KEYS", "ThreadPools", "parse_thread_pools"]

_MAX_THREADS = 1024
_MAX_QUEUE = 100_000

# The configuration key of each field.
POOL_KEYS = {
    "reads": "pypi.read_threads",
    "upstream": "pypi.upstream_threads",
    "uploads": "pypi.upload_threads",
    "files": "pypi.file_threads",
    "queue": "pypi.thread_queue",
}


@attrs.frozen
class ThreadPools:
    """Thread counts per kind of request, and how many requests may wait for a busy pool."""

    reads: int = 8  # pages, JSON, management: storage and CPU only
    upstream: int = 16  # may wait on the upstream index, at most its timeout
    uploads: int = 8  # a slow uploader holds its thread while its body arrives
    files: int = 8  # file bodies, one chunk read at a time per download
    queue: int = 64  # per pool: requests that may wait for a thread, then 503


def parse_thread_pools(get: Callable[[str], Any]) -> ThreadPools:
    """``pypi.*_threads`` and ``pypi.thread_queue``, checked."""
    values = {field: _whole(key, get(key), 0 if field == "queue" else 1) for field, key in POOL_KEYS.items()}
    return ThreadPools(**values)


def _whole(key: str, value: Any, least: int) -> int:
    most = _MAX_QUEUE if least == 0 else _MAX_THREADS
    text = str(value).strip()
    if not text.isdigit() or not least <= int(text) <= most:
        raise ConfigError(f"{key} must be a whole number from {least} to {most}, not {value!r}")
    return int(text)
