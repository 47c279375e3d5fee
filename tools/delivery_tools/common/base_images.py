"""The Python base images a model image can be built from: the Dockerfile's default, or the local one."""

from __future__ import annotations

import re
from pathlib import Path

from delivery_tools.common.errors import ToolError

# Made from Debian packages by `local-cloud base-image`, for machines where Docker Hub is unreachable.
LOCAL_PYTHON_BASE_IMAGE = "local/python-base:bookworm"
MODEL_DOCKERFILE = Path("model_image") / "Dockerfile"
_DEFAULT_ARG = re.compile(r"^ARG BASE_IMAGE=(\S+)$", re.MULTILINE)


def default_base_image(project_root: Path) -> str:
    """The base image the model Dockerfile names by default (`ARG BASE_IMAGE=...`): one place states it."""
    dockerfile = project_root / MODEL_DOCKERFILE
    try:
        match = _DEFAULT_ARG.search(dockerfile.read_text())
    except OSError as error:
        raise ToolError(f"{dockerfile} cannot be read ({error.strerror}): run this in the project") from None
    if match is None:
        raise ToolError(f"{dockerfile} has no `ARG BASE_IMAGE=<image>` line naming its default base image")
    return match.group(1)
