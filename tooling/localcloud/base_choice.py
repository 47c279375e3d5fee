"""Which Python base image the model build uses: the official one if obtainable, else the local one."""

from __future__ import annotations

import subprocess

from tooling.localcloud.base_image import PYTHON_BASE_IMAGE, ensure_python_base_image, image_exists

OFFICIAL_BASE_IMAGE = "python:3.12-slim"
_PULL_TIMEOUT_SECONDS = 300


def official_image_available(reference: str = OFFICIAL_BASE_IMAGE) -> bool:
    """True if docker has `reference` or a registry serves it now (no Docker Hub: fails in a fraction of a second)."""
    if image_exists(reference):
        return True
    try:
        pulled = subprocess.run(
            ["docker", "pull", "--quiet", reference],
            capture_output=True,
            timeout=_PULL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return pulled.returncode == 0


def choose_base_image() -> tuple[str, str]:
    """(image, how it was obtained); the Dockerfile's default is kept whenever it can be used."""
    if official_image_available():
        return OFFICIAL_BASE_IMAGE, "official image"
    made = ensure_python_base_image()
    return PYTHON_BASE_IMAGE, "made from Debian packages" if made else "local Debian-made image, reused"
