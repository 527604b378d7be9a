"""``pyregistry serve``: the ASGI adapter under gunicorn's ASGI worker (the default), under
uvicorn, or the WSGI adapter under gunicorn's sync workers.

Measured here (benchmarks/RESULTS.md): gunicorn's ASGI worker with the ASGI adapter serves
warm pages at about twice the rate of sync workers with the best p99, and keeps serving
them while slow uploads and a hanging upstream hold connections (each waits in its own
bounded pool, not in a worker); it keeps gunicorn's master: SIGHUP reloads, graceful
stop, one logging config. ``--server gunicorn`` (sync workers, WSGI: a worker per
request, ``sendfile`` downloads) wants a buffering proxy in front for slow clients;
``--server uvicorn`` serves the ASGI adapter under uvicorn's supervisor.
"""

from __future__ import annotations

import ipaddress
import logging
import logging.config
import os
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any

from pyregistry_core import ConfigError, Registry, RegistryError, Settings

from .logs import logging_config
from .startup_line import exposed_default_warning, startup_line
from .uvicorn_supervisor import serve_supervised

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_SERVER",
    "SERVERS",
    "build_registry",
    "check_port",
    "check_tls",
    "is_loopback",
    "load_settings",
    "run",
]

log = logging.getLogger("pyregistry")

# What ``--server`` names: the ASGI adapter under gunicorn's ASGI worker (the default) or
# under uvicorn, or the WSGI adapter under gunicorn's sync workers.
SERVERS = ("gunicorn-asgi", "uvicorn", "gunicorn")
DEFAULT_SERVER = "gunicorn-asgi"

# The embedded default: try it at once, nothing leaves this machine.
DEFAULT_CONFIG: Mapping[str, str] = {
    "storage.dir": "./packages",
    "pypi.fallback": "none",
    "pypi.default_read": "everyone",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_settings(config: str | None, host: str, environ: Mapping[str, str]) -> Settings:
    """The settings ``serve`` runs with: from ``config``, or the embedded default.

    Stricter than ``Registry.from_config``: a who-may list naming a group that no
    ``group.*`` key defines is refused (there is no ``identify=`` to supply one here).
    """
    if config is not None:
        settings = Settings.from_ini(config, environ=environ)
    else:
        mapping: dict[str, str] = dict(DEFAULT_CONFIG)
        if is_loopback(host):
            # Only while nobody else can reach it: a first try of `twine upload` works.
            mapping["pypi.default_write"] = "everyone"
        settings = Settings.from_mapping(mapping, environ=environ)
    problems = settings.undefined_principals()
    if problems:
        raise ConfigError("; ".join(problems))
    return settings


def build_registry(config: str | None, host: str, environ: Mapping[str, str]) -> Registry:
    """The registry ``serve`` runs: from ``config``, or the embedded default."""
    return Registry(load_settings(config, host, environ))


_CONFIG_ENV = "PYREGISTRY_SERVE_CONFIG_PATH"
_HOST_ENV = "PYREGISTRY_SERVE_HOST"


def asgi_app_from_environment() -> Callable[..., Any]:
    """The ASGI app of one uvicorn worker (uvicorn imports it by name in each worker),
    mounted at ``$SCRIPT_NAME`` as the other servers are."""
    from pyregistry_asgi import make_app

    app = make_app(build_registry(os.environ.get(_CONFIG_ENV), os.environ.get(_HOST_ENV, ""), os.environ))
    mount = os.environ.get("SCRIPT_NAME", "").rstrip("/")
    if not mount:
        return app

    # uvicorn's own root_path means "a proxy stripped this prefix" and prepends it to every
    # path; serve's SCRIPT_NAME means "requests arrive with it", as gunicorn's workers take it.
    async def mounted(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app({**scope, "root_path": mount} if scope["type"] == "http" else scope, receive, send)

    return mounted


def check_tls(certfile: str | None, keyfile: str | None) -> tuple[str, str] | None:
    """The certificate and key to serve HTTPS with, checked now so a bad pair refuses to start."""
    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        raise ConfigError("--certfile and --keyfile go together")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"cannot serve TLS with --certfile {certfile} and --keyfile {keyfile}: they are not a PEM "
            f"certificate and its matching private key ({exc.reason or exc})"
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"cannot serve TLS: {exc.filename or certfile}: {exc.strerror or exc}; "
            "check --certfile and --keyfile"
        ) from exc
    return os.path.abspath(certfile), os.path.abspath(keyfile)


def check_port(host: str, port: int) -> None:
    """Refuse to start (naming the flags) when ``host:port`` cannot be listened on.

    The servers would otherwise retry for seconds and exit with a traceback or a bare
    status; SO_REUSEADDR as they set it, so a port in TIME_WAIT still counts as free.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            why = error.strerror or str(error)
            raise ConfigError(
                f"cannot listen on {host} port {port}: {why}; choose another --port, or another --host"
            ) from error


def _run_uvicorn(
    current: _Reloadable,
    config: str | None,
    host: str,
    port: int,
    workers: int,
    logs: dict[str, Any],
    tls: tuple[str, str] | None,
) -> None:
    if config is not None:
        os.environ[_CONFIG_ENV] = os.path.abspath(config)
    os.environ[_HOST_ENV] = host
    # Each worker builds its registry from the file; SIGHUP replaces them once it loads.
    serve_supervised(
        current.reread,
        app="pyregistry_server.serve:asgi_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # pyregistry.access logs each request (with --access-log)
        log_config=logs,  # applied again in each spawned worker
        log_level="info",
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )


def run(
    config: str | None,
    host: str,
    port: int,
    workers: int,
    environ: Mapping[str, str],
    *,
    access_log: bool = False,
    server: str = DEFAULT_SERVER,
    tls: tuple[str, str] | None = None,
    log_format: str = "text",
) -> None:
    """Serve until interrupted; ``access_log`` logs one line per request on stdout;
    ``tls`` (certificate and key files) serves HTTPS, which trusted publishing needs;
    ``log_format`` is ``text`` or ``json`` (one JSON object per line, audit fields included)."""
    # Logging first: what the config says about itself must reach the operator.
    logs = logging_config(log_format, access_log)
    logging.config.dictConfig(logs)
    settings = load_settings(config, host, environ)
    for line in settings.notes():
        log.warning("%s", line)
    storage = Registry(settings).storage.url  # fail fast: the store opens and answers
    if config is None and not is_loopback(host):
        log.warning("%s", exposed_default_warning(host))
    check_port(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    address = f"{'https' if tls else 'http'}://{shown_host}:{port}/simple/"
    if server not in SERVERS:
        raise ValueError(f"--server must be one of {', '.join(SERVERS)}")
    log.info("%s", startup_line(settings, storage, address, server, workers))
    current = _Reloadable(settings, config, host, environ)
    if server == "uvicorn":
        _run_uvicorn(current, config, host, port, workers, logs, tls)
        return
    _run_gunicorn(
        current,
        host,
        port,
        workers,
        logs,
        tls,
        asgi=server == "gunicorn-asgi",
        mount=environ.get("SCRIPT_NAME", ""),
    )


class _Reloadable:
    """The settings gunicorn's workers run with; SIGHUP re-reads them in the master.

    Workers are forked from the master and build their registry from what it read, so
    the config is read (and its warnings logged) once, and a reload that would not start
    is refused while the workers keep the previous configuration.
    """

    def __init__(self, settings: Settings, config: str | None, host: str, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self._config, self._host, self._environ = config, host, environ

    def reread(self) -> bool:
        """Take the config file again, unless it would not start (then False)."""
        if self._config is None:
            return True  # the embedded default: nothing to re-read, new workers are harmless
        try:
            fresh = load_settings(self._config, self._host, self._environ)
            Registry(fresh)
        except (RegistryError, OSError) as error:
            log.error("configuration reload refused, still serving the previous one: %s", error)
            return False
        for line in fresh.notes():
            log.warning("%s", line)
        self.settings = fresh
        log.info("configuration reloaded from %s", self._config)
        return True


def _run_gunicorn(
    current: _Reloadable,
    host: str,
    port: int,
    workers: int,
    logs: dict[str, Any],
    tls: tuple[str, str] | None = None,
    *,
    asgi: bool = True,
    mount: str = "",
) -> None:
    """gunicorn's ASGI workers (``asgi``) or sync workers, each building its registry from
    the master's settings; ``mount`` is ``$SCRIPT_NAME``, the path prefix the index is under."""
    import pyregistry_asgi
    import pyregistry_wsgi
    from gunicorn.app.base import BaseApplication

    from .gunicorn_logger import GunicornLogger

    settings = {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": "asgi" if asgi else "sync",
        "timeout": 300,  # a 100 MB upload over a slow link
        "keepalive": 5,
        "accesslog": None,  # the core logs each request on pyregistry.access
        # and gunicorn's own access log stays off (a logconfig_dict would turn it on)
        "logger_class": GunicornLogger,
        "errorlog": "-",
        "loglevel": "info",
        "logconfig_dict": logs,  # gunicorn's own lines in pyregistry's format
        "proc_name": "pyregistry",
        # gunicorn 27's control socket would land in $HOME; nothing here uses it.
        "control_socket_disable": True,
    }
    if tls is not None:
        settings.update(certfile=tls[0], keyfile=tls[1])
    if asgi:
        # Sync workers read $SCRIPT_NAME themselves; the ASGI worker takes it as root_path.
        settings["root_path"] = mount.rstrip("/")

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Callable[..., Any]:
            registry = Registry(current.settings)
            if asgi:
                return pyregistry_asgi.make_app(registry)
            return pyregistry_wsgi.make_app(registry)

        def reload(self) -> None:
            current.reread()
            super().reload()

    Server().run()


def default_workers() -> int:
    """Two workers per core, at least two."""
    return max(2, 2 * (os.cpu_count() or 1))
