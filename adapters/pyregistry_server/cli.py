"""The ``pyregistry`` command line."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pyregistry_core import ConfigError, Identity, Registry, RegistryError
from pyregistry_core.audit import AUDIT_LOGGER
from pyregistry_core.auth.authenticator import hash_password
from pyregistry_core.names import normalize
from pyregistry_core.registry.importer import import_tree
from pyregistry_core.settings import s3_options
from pyregistry_core.storage.base import Storage
from pyregistry_core.storage.fsck import find_orphans, remove_orphans
from pyregistry_core.storage.upgrade import find_lagging, upgrade

from .cli_audit import audited
from .cli_credentials import credential_commands, publisher, token
from .exempt_commands import add_exempt_commands, run_exempt
from .logs import FORMATS
from .serve import DEFAULT_SERVER, SERVERS, check_tls, default_workers, load_settings, run
from .starter import DEFAULT_MODE, MODE_SUMMARIES, MODES, default_mode_note, starter_config

__all__ = ["main"]

OPERATOR = Identity(user="pyregistry-cli", operator=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyregistry", description="A private Python package index.")
    parser.add_argument("--version", action="version", version=f"pyregistry {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_command(commands)
    commands.add_parser("hash-password", help="print a hash for a user.<name> config entry")
    credential_commands(commands)
    _managing_commands(commands)
    add_exempt_commands(commands)
    _config_commands(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyregistry-core")
    except PackageNotFoundError:
        return "unknown"


def _bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high`` (argparse names the flag)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _serve_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the index (gunicorn's ASGI worker by default)")
    serve.add_argument("--config", help="INI file ([pyregistry] or pypicloud's [app:main])")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    serve.add_argument("--port", type=_bounded(1, 65535), default=8080, help="TCP port (default: 8080)")
    serve.add_argument(
        "--workers",
        type=_bounded(1, 1024),
        default=default_workers(),
        help=f"worker processes (default: two per core, here {default_workers()})",
    )
    serve.add_argument("--access-log", action="store_true", help="log every request on stdout")
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default=DEFAULT_SERVER,
        help=f"{DEFAULT_SERVER}: gunicorn's ASGI workers + the ASGI adapter (default; slow clients and "
        "a hanging upstream do not hold a worker); uvicorn: uvicorn's workers + the ASGI adapter; "
        "gunicorn: gunicorn's sync workers + WSGI (one request per worker: put a buffering proxy "
        "in front for slow clients)",
    )
    serve.add_argument(
        "--log-format",
        choices=FORMATS,
        default="text",
        help="text lines (default) or JSON lines, one object per line (audit fields included)",
    )
    serve.add_argument("--certfile", help="serve HTTPS with this PEM certificate (chain)")
    serve.add_argument("--keyfile", help="the certificate's PEM private key")


def _managing_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, text in (
        ("delete", "delete a file or a release (its filenames stay burnt)"),
        ("yank", "yank a file or a release (PEP 592)"),
        ("unyank", "un-yank a file or a release"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--config", required=True)
        command.add_argument("project")
        command.add_argument("target", metavar="VERSION|FILENAME")
        if name == "yank":
            command.add_argument("--reason", default="")
    status = commands.add_parser("status", help="set a project's status (PEP 792)")
    status.add_argument("--config", required=True)
    status.add_argument("project")
    status.add_argument("status", choices=("active", "archived", "quarantined", "deprecated"))
    status.add_argument("--reason", default="")


def _config_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = commands.add_parser("init", help="print a commented starter config")
    init.add_argument(
        "--mode",
        choices=MODES,
        help=f"which deployment (default: {DEFAULT_MODE}: {MODE_SUMMARIES[DEFAULT_MODE]})",
    )
    init.add_argument("--upstream", help="upstream index root (required for proxy)")
    init.add_argument("--output", "-o", help="write here instead of stdout (never overwrites)")
    check = commands.add_parser("check", help="validate a config; name unknown or misspelled keys")
    check.add_argument("--config", required=True)
    fsck = commands.add_parser(
        "fsck", help="report orphaned stored bytes (--clean removes them) and lagging manifests (--repair)"
    )
    fsck.add_argument("--config", required=True)
    fsck.add_argument("--clean", action="store_true")
    fsck.add_argument(
        "--upgrade",
        action="store_true",
        help="give a layout v1 store its manifests and project list (resumable), repair lagging manifests",
    )
    fsck.add_argument(
        "--repair", action="store_true", help="add records a crash left out of their manifest (as --upgrade)"
    )

    imp = commands.add_parser("import", help="load a pypiserver directory or pypicloud storage")
    imp.add_argument("--config", required=True)
    imp.add_argument("source", help="a directory or fsspec URL (s3://bucket/prefix)")
    imp.add_argument(
        "--source-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for the source's filesystem, named like storage.* keys "
        "(endpoint_url, access_key, secret_key, region_name…); repeatable",
    )


def _progress(done: int, total: int, label: str) -> None:
    """A one-line progress bar on stderr."""
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:<40}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _registry(args: argparse.Namespace) -> Registry:
    return Registry.from_config(args.config, environ=os.environ)


def _hash_password(_args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("pyregistry: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("pyregistry: empty password", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _manage(args: argparse.Namespace) -> int:
    registry = _registry(args)
    project = normalize(args.project)
    reason = getattr(args, "reason", "")
    with audited(args.command, project, getattr(args, "target", "")) as trail:
        if args.command == "status":
            trail.detail = f"status: {args.status}" + (f"; reason: {reason}" if reason else "")
            value = registry.set_status(OPERATOR, project, args.status, reason)
            print(f"{project}: {value.status}")
            return 0
        if args.command == "delete":
            changed = registry.delete(OPERATOR, project, args.target)
        else:
            changed = registry.set_yanked(
                OPERATOR, project, args.target, yanked=args.command == "yank", reason=reason
            )
        trail.detail = (
            "files: " + ", ".join(r.filename for r in changed) + (f"; reason: {reason}" if reason else "")
        )
    for record in changed:
        print(f"{args.command}: {record.filename}")
    return 0


def _init(args: argparse.Namespace) -> int:
    if args.mode is None:
        print(f"pyregistry: {default_mode_note()}", file=sys.stderr)
    text = starter_config(args.mode or DEFAULT_MODE, args.upstream)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    path = Path(args.output)
    if path.exists():
        print(f"pyregistry: {path} exists; not overwriting it", file=sys.stderr)
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, "127.0.0.1", os.environ)  # serve's rules, unknown keys refused
    for line in settings.notes():
        print(f"warning: {line}")
    Registry(settings)  # storage reachable, conditional writes honoured, user.* are hashes
    print(f"{args.config}: OK")
    return 0


def _fsck(args: argparse.Namespace) -> int:
    registry = _registry(args)
    if args.upgrade or args.repair:
        report = upgrade(registry.storage, progress=_progress)
        print(
            f"upgraded {report.projects} projects: {len(report.created)} manifests written, "
            f"{len(report.repaired)} records added to their manifest"
        )
    _report_lagging(registry.storage)
    orphans = list(find_orphans(registry.storage))
    for orphan in orphans:
        print(f"orphan: {orphan.key} ({orphan.why})")
    if args.clean and orphans:
        print(f"removed {remove_orphans(registry.storage, orphans)} orphans")
    elif not orphans:
        print("no orphans")
    spent = registry.trusted_publishing.spent
    expired = spent.expired(time.time())
    if expired:
        print(f"{len(expired)} spent OIDC token ids have expired")
        if args.clean:
            print(f"removed {spent.remove(expired)} expired OIDC token ids")
    return 0


def _report_lagging(storage: Storage) -> None:
    """Print what the manifests and the project list lack (a crash between two writes);
    nothing when they are up to date."""
    lags = find_lagging(storage)
    for lag in lags:
        where = "/".join(part for part in (lag.project, lag.filename) if part)
        print(f"lagging: {where or 'store'} ({lag.why})")
    if lags:
        print(f"{len(lags)} lagging; `pyregistry fsck --repair` brings the manifests up to date")


def _import(args: argparse.Namespace) -> int:
    registry = _registry(args)
    raw = dict(option.partition("=")[::2] for option in args.source_option)
    options = s3_options(raw) if args.source.startswith(("s3://", "s3a://")) else dict(raw)
    report = import_tree(registry, args.source, options=options, progress=_progress)
    print(
        f"imported {len(report.imported)}, already present {len(report.skipped)}, failed {len(report.failed)}"
    )
    for path, why in report.failed:
        print(f"failed: {path}: {why}")
    return 1 if report.failed else 0


def _serve(args: argparse.Namespace) -> int:
    run(
        args.config,
        args.host,
        args.port,
        args.workers,
        os.environ,
        access_log=args.access_log,
        server=args.server,
        tls=check_tls(args.certfile, args.keyfile),
        log_format=args.log_format,
    )
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "hash-password": _hash_password,
    "token": token,
    "publisher": publisher,
    "delete": _manage,
    "yank": _manage,
    "unyank": _manage,
    "status": _manage,
    "exempt": run_exempt,
    "init": _init,
    "check": _check,
    "fsck": _fsck,
    "import": _import,
}


def _unreadable(path: str) -> str:
    """Why the config file cannot be read ("" when it can)."""
    try:
        with open(path, "rb"):
            return ""
    except OSError as error:
        return error.strerror or str(error)


def main(argv: list[str] | None = None) -> int:
    """Run a ``pyregistry`` command."""
    args = _parser().parse_args(argv)
    if args.command != "serve":  # serve sets up its own logging
        # stdout carries a command's answer (a token); notes and the audit trail go to stderr.
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")
        logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)
    config = getattr(args, "config", None)
    if config is not None and (problem := _unreadable(config)):
        print(f"pyregistry: cannot read --config {config}: {problem}", file=sys.stderr)
        return 2
    try:
        return _COMMANDS[args.command](args)
    except ConfigError as error:
        print(f"pyregistry: configuration error: {error.message}", file=sys.stderr)
        return 2
    except RegistryError as error:
        print(f"pyregistry: {error.message}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"pyregistry: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
