"""Run the shell blocks of README.md and docs/*.md as written, against servers on loopback.

Every line of a ```sh block is a command (a here-document's lines belong to its
command). The commands of one section (a ``##`` heading) run in order, in one bash script
(``set -euo pipefail``), in a fresh scratch directory, so a file one command writes is
there for the next. What the runner puts around the text, and nothing more:

- ``PATH`` starts with this interpreter's ``bin`` (``pyregistry``, ``pip``, ``uv``,
  ``twine``); ``HOME`` is a scratch directory (``~/.pypirc``, ``~/.netrc`` and
  ``~/.config`` are the test's); pip reads no configuration of this machine; ``pip
  install`` goes to a scratch ``--target``-like prefix and ``uv pip install`` to a scratch
  virtual environment, never into the test's own.
- ``pyregistry serve …`` (also as ``.venv/bin/pyregistry serve``) starts the server in
  the background, forced onto 127.0.0.1 and a free port, and waits for ``/health`` (a
  later ``serve`` replaces it; the last one stops at the end). A ``pyregistry`` shell
  function gives ``pyregistry hash-password`` without a pipe on stdin the password as
  if typed; other subcommands run as they are.
- Host names the docs use as placeholders (``127.0.0.1:8080``, ``proxy.lan:8080``,
  ``pypi.example.net``, ``pypi.corp.example``, ``host.example``) become that server's
  loopback address (a bare host name, as in ``~/.netrc``, becomes ``127.0.0.1``), and
  ``https://upstream.example`` a local upstream index.
- ``keyring set`` without a pipe on stdin gets the password as if typed; the keyring
  backend is a JSON file in the scratch home (``docs_keyring.py``).
- ``dist/`` holds the wheels the page's reader would have built.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

__all__ = [
    "CHECKOUT",
    "PLACEHOLDER_HOSTS",
    "ROOT",
    "Command",
    "Scenario",
    "free_port",
    "rewrite",
    "run_commands",
    "shell_commands",
]

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT = ("src", "adapters", "pyproject.toml", "README.md")

PLACEHOLDER_HOSTS = (
    "127.0.0.1:8080",
    "proxy.lan:8080",
    "pypi.example.net",
    "pypi.corp.example",
    "host.example",
)
UPSTREAM = "https://upstream.example"
PASSWORD = "s3cret-Passw0rd"
SCRIPT_TIMEOUT = 600
_FENCE = re.compile(r"^ *```(?:sh|bash)\n(.*?)^ *```", re.MULTILINE | re.DOTALL)
_HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
_SERVE = re.compile(r"((?:\S*/)?pyregistry) serve\b")
_BARE_HOST = re.compile(r"(?<![\w.@/-])(pypi\.corp\.example|pypi\.example\.net|proxy\.lan)(?![\w.:-])")
_URL = re.compile(
    r"https?://([^/\s@\"']+@)?(" + "|".join(re.escape(h) for h in PLACEHOLDER_HOSTS) + r")(?![\w.-])"
)

_PRELUDE = r"""
_docs_pid=""
_docs_stop() {
  if [ -n "$_docs_pid" ]; then
    kill "$_docs_pid" 2>/dev/null || true
    wait "$_docs_pid" 2>/dev/null || true
    _docs_pid=""
  fi
}
trap _docs_stop EXIT
_docs_wait() {
  for _ in $(seq 600); do
    kill -0 "$_docs_pid" 2>/dev/null || { echo "pyregistry serve exited" >&2; return 1; }
    python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
      "$DOCS_URL${SCRIPT_NAME:-}/health" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "pyregistry serve did not answer /health" >&2
  return 1
}
_docs_serve() {
  _docs_stop
  "$@" --host 127.0.0.1 --port "$DOCS_PORT" >>"$DOCS_SERVER_LOG" 2>&1 &
  _docs_pid=$!
  _docs_wait
}
pyregistry() {
  if [ "${1:-}" = hash-password ] && [ ! -p /dev/stdin ]; then
    printf '%s\n' "$DOCS_PASSWORD" | command pyregistry "$@"
  else
    command pyregistry "$@"
  fi
}
keyring() {
  if [ "${1:-}" = set ] && [ ! -p /dev/stdin ]; then
    printf '%s\n' "$DOCS_PASSWORD" | command keyring "$@"
  else
    command keyring "$@"
  fi
}
set -x
"""


@attrs.frozen
class Command:
    """One command of a page (continuation lines joined, a here-document included), as written."""

    page: str
    section: str
    line: str


@attrs.frozen
class Scenario:
    """What a page's reader has besides the page: built wheels, and steps before some lines."""

    dists: tuple[tuple[str, str], ...] = ()  # (project, version) wheels in dist/
    before: Mapping[str, str] = attrs.field(factory=dict)  # command line → shell run before it
    env: Mapping[str, str] = attrs.field(factory=dict)
    copy: tuple[str, ...] = ()  # parts of this repository copied into the scratch directory
    install: bool = False  # the section installs this package: pip may use the machine's setup
    tools: tuple[str, ...] = ()  # commands from the machine's PATH the section needs
    s3_bucket: str | None = None  # created on the test's S3 server; its variables are set
    s3_region: str | None = None  # the bucket's LocationConstraint
    setup: str = ""  # shell run before the section's first command


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shell_commands(path: Path, root: Path) -> list[Command]:
    """The commands of every ```sh block of a page, in order, with their section's title."""
    page = str(path.relative_to(root))
    commands = []
    section = ""
    for part in re.split(r"^(## .*)$", path.read_text(), flags=re.MULTILINE):
        if part.startswith("## "):
            section = part[3:].strip()
            continue
        for block in _FENCE.findall(part):
            commands += [Command(page, section, line) for line in _lines(block)]
    return commands


def _lines(block: str) -> list[str]:
    lines: list[str] = []
    pending = iter(block.replace("\\\n", " ").splitlines())
    for line in pending:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        body = []
        heredoc = _HEREDOC.search(line)
        if heredoc:
            for more in pending:
                body.append(more)
                if more.strip() == heredoc.group(1):
                    break
        lines.append("\n".join([line, *body]).strip())
    return lines


def rewrite(line: str, url: str, upstream: str) -> str:
    """A documented line with placeholder hosts pointing at the test's servers."""
    host = url.split("://", 1)[1]
    line = _URL.sub(lambda m: f"http://{m.group(1) or ''}{host}", line)
    line = _SERVE.sub(lambda m: f"_docs_serve {m.group(1)} serve", line)
    line = _BARE_HOST.sub("127.0.0.1", line)  # ~/.netrc's machine, --trusted-host
    return line.replace(UPSTREAM, upstream)


def run_commands(
    commands: Iterable[Command],
    scenario: Scenario,
    *,
    workdir: Path,
    port: int,
    upstream: str,
    skip: Iterable[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run a section's commands (all but ``skip``) as one bash script; returns its result."""
    from distfiles import dist_name, wheel_bytes

    home, dist = workdir / "home", workdir / "dist"
    for directory in (home, dist, workdir / "pip-target"):
        directory.mkdir(parents=True, exist_ok=True)
    for name in scenario.copy:
        source = ROOT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, workdir / name)
    for project, version in scenario.dists:
        (dist / f"{dist_name(project)}-{version}-py3-none-any.whl").write_bytes(wheel_bytes(project, version))
    url = f"http://127.0.0.1:{port}"
    skipped = set(skip)
    lines = [_PRELUDE, "set +x", textwrap.dedent(scenario.setup), "set -x"]
    for command in commands:
        if command.line in scenario.before:
            lines += ["set +x", textwrap.dedent(scenario.before[command.line]), "set -x"]
        if command.line not in skipped:
            lines.append(rewrite(command.line, url, upstream))
    script = workdir / "commands.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(lines) + "\n")
    return subprocess.run(
        ["bash", str(script)],
        cwd=workdir,
        env=_environment(workdir, port, scenario),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _environment(workdir: Path, port: int, scenario: Scenario) -> dict[str, str]:
    keep = ("LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    if scenario.install:  # installing this package needs the machine's way to its dependencies
        keep += tuple(key for key in os.environ if key.startswith("PIP_"))
    env = {key: os.environ[key] for key in keep if key in os.environ}
    bin_dir = str(Path(sys.executable).parent)
    uv_env = workdir / "uv-env"
    env.update(
        PATH=os.pathsep.join((bin_dir, "/usr/local/bin", "/usr/bin", "/bin")),
        HOME=str(workdir / "home"),
        XDG_CONFIG_HOME=str(workdir / "home" / ".config"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_CACHE_DIR="1",
        PIP_TARGET=str(workdir / "pip-target"),
        UV_CACHE_DIR=str(workdir / "uv-cache"),
        UV_PUBLISH_PASSWORD=PASSWORD,
        PASSWORD=PASSWORD,
        VIRTUAL_ENV=str(uv_env),
        TWINE_NON_INTERACTIVE="1",
        TWINE_PASSWORD=PASSWORD,
        DOCS_PASSWORD=PASSWORD,
        DOCS_DIST=str(workdir / "dist"),
        DOCS_PORT=str(port),
        DOCS_URL=f"http://127.0.0.1:{port}",
        DOCS_SERVER_LOG=str(workdir / "server.log"),
        PYTHON_KEYRING_BACKEND="docs_keyring.JsonFileKeyring",
        PYTHONPATH=str(Path(__file__).resolve().parent),
    )
    if scenario.install:
        del env["PIP_TARGET"], env["PIP_NO_CACHE_DIR"]
        env["PIP_CACHE_DIR"] = str(Path.home() / ".cache" / "pip")
    for tool in scenario.tools:
        found = shutil.which(tool)
        assert found, f"{tool} is not installed"
        env["PATH"] += os.pathsep + os.path.dirname(found)
        env.update({k: v for k, v in os.environ.items() if k.startswith("PYENV_")})
    env.update(scenario.env)
    subprocess.run(
        ["uv", "venv", "-q", "--python", sys.executable, str(uv_env)], env=env, check=True, timeout=120
    )
    return env
