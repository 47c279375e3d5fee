"""A throw-away copy of this project, for the tests and benchmarks that must change or deploy it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Installed once by `make setup`; the copy links to them instead of installing again.
SHARED_INSTALLS = (".venv", "node_modules")


def copy_project(destination: Path, source: Path = PROJECT_ROOT) -> Path:
    """The files git tracks or would track (no build outputs, caches or local state) under `destination`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (source / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, destination / name)
    for name in SHARED_INSTALLS:
        (destination / name).symlink_to(source / name, target_is_directory=True)
    return destination
