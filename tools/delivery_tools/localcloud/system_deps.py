"""Install what the local cloud needs and the machine lacks: Debian packages and the pinned moto."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from delivery_tools.common.commands import run, with_env
from delivery_tools.common.errors import ToolError


@dataclass(frozen=True)
class DebianPackage:
    """A package, and the command that shows it is there (None: ask dpkg)."""

    name: str
    command: str | None


DEBIAN_PACKAGES = (
    DebianPackage("docker.io", "dockerd"),
    DebianPackage("docker-registry", "docker-registry"),
    DebianPackage("debootstrap", "debootstrap"),
    DebianPackage("busybox-static", None),  # a static binary is needed: moto runs it in an empty image
    DebianPackage("ca-certificates", None),
    DebianPackage("skopeo", "skopeo"),  # the floor of the copy benchmarks: registry to registry, nothing else
)
MOTO_REQUIREMENT = re.compile(r"^moto\[server\]==\S+$", re.MULTILINE)


def _dpkg_installed(package: str) -> bool:
    try:
        result = run(["dpkg-query", "--show", "--showformat=${Status}", package])
    except ToolError:  # not installed, unknown, or no dpkg at all
        return False
    return result.stdout.strip() == "install ok installed"


def _present(package: DebianPackage) -> bool:
    if package.command is not None:
        return shutil.which(package.command) is not None
    return _dpkg_installed(package.name)


def missing_debian_packages() -> list[str]:
    return [package.name for package in DEBIAN_PACKAGES if not _present(package)]


def install_debian_packages(names: list[str]) -> None:
    if os.geteuid() != 0:
        raise ToolError(f"installing {', '.join(names)} needs root (apt-get): run as root or install them first")
    environment = with_env({"DEBIAN_FRONTEND": "noninteractive"})
    run(["apt-get", "update", "--quiet"], env=environment, timeout=600)
    run(["apt-get", "install", "--yes", "--quiet", "--no-install-recommends", *names], env=environment, timeout=1200)


def moto_requirement(requirements: Path) -> str:
    """The pinned `moto[server]==X` line of the project's dev requirements (one pin, one place)."""
    match = MOTO_REQUIREMENT.search(requirements.read_text())
    if not match:
        raise ToolError(f"{requirements} has no pinned moto[server]==VERSION line")
    return match.group(0)


def moto_missing() -> bool:
    return any(importlib.util.find_spec(module) is None for module in ("moto", "flask", "flask_cors", "docker"))


def install_moto(requirements: Path) -> str:
    requirement = moto_requirement(requirements)
    run([sys.executable, "-m", "pip", "install", "--quiet", requirement], timeout=900)
    return requirement


def ensure_dependencies(root: Path) -> list[str]:
    """Install whatever is missing; return what was installed (empty when nothing was)."""
    installed: list[str] = []
    packages = missing_debian_packages()
    if packages:
        install_debian_packages(packages)
        installed += packages
    if moto_missing():
        installed.append(install_moto(root / "requirements-dev.txt"))
    return installed
