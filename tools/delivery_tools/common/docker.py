"""Questions to the docker engine every tool asks: does one answer, does it have an image."""

from __future__ import annotations

from delivery_tools.common.commands import succeeds


def engine_answers() -> bool:
    """True when the docker client reaches an engine (within a few seconds)."""
    return succeeds(["docker", "version", "--format", "{{.Server.Version}}"], timeout=15)


def image_exists(reference: str) -> bool:
    """True when the docker engine has an image called `reference`."""
    return succeeds(["docker", "image", "inspect", reference])
