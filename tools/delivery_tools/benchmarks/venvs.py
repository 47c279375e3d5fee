"""A virtual environment per server under test, made from that server's pinned requirements file.

Environments live under `.venv-bench/<server>/` (gitignored) and are reused while their requirements file and
the Python version are unchanged. After installing, everything in the environment must be pinned in the file,
so a peer cannot run on a dependency version nobody chose.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import sys
from pathlib import Path

from delivery_tools.common.commands import run
from delivery_tools.common.errors import ToolError

STAMP = "installed-from.txt"
INSTALLER_PACKAGES = frozenset({"pip", "setuptools", "wheel"})
INSTALL_TIMEOUT_S = 1800


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name, extras dropped: `Foo_Bar[x]` -> `foo-bar`."""
    return re.sub(r"[-_.]+", "-", name.partition("[")[0].strip()).lower()


def requirement_pins(text: str) -> dict[str, str]:
    """`name -> version` of a requirements file; a ToolError for any line that is not `name==version`."""
    pins: dict[str, str] = {}
    for line in (raw.partition("#")[0].strip() for raw in text.splitlines()):
        if not line:
            continue
        name, equals, version = line.partition("==")
        if not equals or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+!-]*", version.strip()):
            raise ToolError(f"requirement {line!r} is not pinned exactly (name==version)")
        pins[canonical_name(name)] = version.strip()
    return pins


def unpinned(installed: dict[str, str], pins: dict[str, str]) -> list[str]:
    """`name==version` of what is installed but not pinned, or installed in another version than pinned."""
    return sorted(
        f"{name}=={version}"
        for name, version in installed.items()
        if name not in INSTALLER_PACKAGES and pins.get(name) != version
    )


def fingerprint(requirements: Path, package: Path | None = None) -> str:
    """What an environment was made from: the requirements file's content, the Python version, and the
    source of the local package installed into it (any file of it changed means a new environment)."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    text = f"{requirements.name} sha256 {digest}\npython {platform.python_version()}\n"
    if package is not None:
        sources = hashlib.sha256()
        for path in [*sorted(package.rglob("*.py")), package / "pyproject.toml"]:
            sources.update(str(path.relative_to(package)).encode() + path.read_bytes())
        text += f"{package.name} sha256 {sources.hexdigest()}\n"
    return text


def python_of(directory: Path) -> Path:
    return directory / "bin" / "python"


def is_current(directory: Path, requirements: Path, package: Path | None = None) -> bool:
    """True when `directory` holds an environment made from `requirements` (and `package`) as they are now."""
    stamp = directory / STAMP
    return (
        python_of(directory).is_file()
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8") == fingerprint(requirements, package)
    )


def ensure_venv(directory: Path, requirements: Path, package: Path | None = None) -> Path:
    """The Python of an environment in `directory` with exactly `requirements`, plus the local `package`
    installed the way an image installs it (`pip install --no-deps DIR`), made anew if out of date."""
    python = python_of(directory)
    if is_current(directory, requirements, package):
        return python
    print(f"installing {requirements} into {directory} ...", flush=True)
    shutil.rmtree(directory, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(directory)])
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "--requirement", str(requirements)], timeout=INSTALL_TIMEOUT_S)
    listed = json.loads(run([*pip, "list", "--format=json"]).stdout)
    extra = unpinned(
        {canonical_name(p["name"]): p["version"] for p in listed}, requirement_pins(requirements.read_text())
    )
    if extra:
        raise ToolError(f"{requirements} does not pin what was installed with it; add: {', '.join(extra)}")
    if package is not None:
        run([*pip, "install", "--quiet", "--no-deps", str(package)], timeout=INSTALL_TIMEOUT_S)
    (directory / STAMP).write_text(fingerprint(requirements, package), encoding="utf-8")
    return python
