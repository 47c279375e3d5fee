"""The project the tools work on: where it is, a throw-away copy of it, and its model version."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from config.project import MODEL_METADATA
from delivery_tools.common.errors import ToolError

# Installed once by `make setup`; a copy links to them instead of installing again.
SHARED_INSTALLS = (".venv", "node_modules")


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (default: the working directory) holding cdk.json."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "cdk.json").is_file():
            return candidate
    raise ToolError(f"no cdk.json in {here} or above: run this from the project directory")


def copy_project(destination: Path, source: Path) -> Path:
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


def set_model_version(project: Path, version: str) -> None:
    """Give the model in `project` a new version (what a retrained model does to the deploy tag)."""
    metadata_file = project / MODEL_METADATA
    metadata = json.loads(metadata_file.read_text())
    metadata_file.write_text(json.dumps({**metadata, "version": version}, indent=2) + "\n")


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file `path` as module `name` without putting its directory on sys.path
    (for the project's scripts that are no package: app.py, the training script)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ToolError(f"{path} cannot be loaded as Python code")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import does: dataclasses look their module up in sys.modules.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
