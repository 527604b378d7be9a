"""``pyregistry serve --server uvicorn``: uvicorn's worker supervisor, with a guarded SIGHUP.

uvicorn alone dies on SIGHUP with one worker (it has no supervisor then) and, with
several, starts replacements that each read the config file — a bad file shows as a
traceback and "not ready in time". Here a supervisor always runs, whatever the number
of workers, and on SIGHUP it first loads the new config as ``serve`` would: a config
that would not start is refused with one line and the workers keep the previous one,
as under gunicorn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["serve_supervised"]


def serve_supervised(reload_allowed: Callable[[], bool], **options: Any) -> None:
    """Run uvicorn's ``Config(**options)`` under a supervisor whose SIGHUP asks ``reload_allowed`` first."""
    import uvicorn
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Supervisor(Multiprocess):
        def handle_hup(self) -> None:
            if reload_allowed():
                super().handle_hup()

    config = uvicorn.Config(**options)
    socket = config.bind_socket()
    try:
        Supervisor(config, sockets=[socket]).run()
    finally:
        socket.close()
