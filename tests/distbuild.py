"""Real distributions built with ``python -m build`` and hatchling, cached per builder."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuiltDists", "DistBuilder"]

# Real builds are reproducible: the same inputs give the same bytes.
_SOURCE_DATE_EPOCH = "1700000000"
_BUILD_TIMEOUT = 120


@dataclass(frozen=True)
class BuiltDists:
    """A wheel and an sdist built by the real build backend from one source tree."""

    name: str
    version: str
    module: str
    wheel: Path
    sdist: Path


class DistBuilder:
    """Builds (and caches) real distributions with ``python -m build`` and hatchling."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._cache: dict[tuple[object, ...], BuiltDists] = {}

    def __call__(
        self,
        name: str,
        version: str,
        *,
        requires_python: str | None = None,
        dependencies: Sequence[str] = (),
        files: Mapping[str, str] | None = None,
    ) -> BuiltDists:
        """Build ``name`` ``version``; ``files`` maps paths (relative to the module) to text."""
        extra = tuple(sorted((files or {}).items()))
        key = (name, version, requires_python, tuple(dependencies), extra)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        module = re.sub(r"[-_.]+", "_", name).lower()
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:12]
        work = self._root / f"{module}-{version}-{digest}"
        source, out = work / "src", work / "dist"
        (source / module).mkdir(parents=True)
        project = [
            "[build-system]",
            'requires = ["hatchling"]',
            'build-backend = "hatchling.build"',
            "",
            "[project]",
            f'name = "{name}"',
            f'version = "{version}"',
            f'description = "{name}, a test project."',
            f"dependencies = [{', '.join(repr(d) for d in dependencies)}]",
        ]
        if requires_python is not None:
            project.append(f'requires-python = "{requires_python}"')
        project += ["", "[tool.hatch.build.targets.wheel]", f'packages = ["{module}"]', ""]
        (source / "pyproject.toml").write_text("\n".join(project))
        (source / module / "__init__.py").write_text(
            textwrap.dedent(f"""\
                NAME = {name!r}
                __version__ = {version!r}
            """)
        )
        for relative, text in extra:
            target = source / module / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        env = {**os.environ, "SOURCE_DATE_EPOCH": _SOURCE_DATE_EPOCH}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--no-isolation",
                "--skip-dependency-check",
                "--sdist",
                "--wheel",
                "--outdir",
                str(out),
                str(source),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=_BUILD_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
        wheels = sorted(out.glob("*.whl"))
        sdists = sorted(out.glob("*.tar.gz"))
        assert len(wheels) == 1, wheels
        assert len(sdists) == 1, sdists
        built = BuiltDists(name, version, module, wheels[0], sdists[0])
        self._cache[key] = built
        return built
