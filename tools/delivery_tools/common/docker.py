"""Questions to the docker engine every tool asks: does one answer, does it have an image, which are new."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from delivery_tools.common.commands import succeeds

_UNITS = (("GB", 10**9), ("MB", 10**6), ("kB", 10**3), ("B", 1))


def engine_answers() -> bool:
    """True when the docker client reaches an engine (within a few seconds)."""
    return succeeds(["docker", "version", "--format", "{{.Server.Version}}"], timeout=15)


def image_exists(reference: str) -> bool:
    """True when the docker engine has an image called `reference`."""
    return succeeds(["docker", "image", "inspect", reference])


def image_sizes() -> dict[str, int]:
    """Every image id on the engine (intermediate ones too), with its size in bytes."""
    listed = subprocess.run(
        ["docker", "image", "ls", "--all", "--no-trunc", "--format", "{{.ID}} {{.Size}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return {image: _bytes(size) for image, size in (line.split(" ", 1) for line in listed if line)}


def _bytes(size: str) -> int:
    """docker's human size ("1.35GB", "278MB", "641B") in bytes."""
    for unit, factor in _UNITS:
        if size.endswith(unit):
            return int(float(size[: -len(unit)]) * factor)
    raise ValueError(f"unknown docker image size {size!r}")


@contextmanager
def large_images_removed(at_least_bytes: int) -> Iterator[None]:
    """Remove, on the way out, the images of at least `at_least_bytes` that appeared inside the block: gigabyte
    images built or pulled there (with their build stages), never an image that was there before."""
    before = set(image_sizes())
    try:
        yield
    finally:
        made = [image for image, size in image_sizes().items() if image not in before and size >= at_least_bytes]
        if made:
            subprocess.run(["docker", "image", "rm", "--force", *made], capture_output=True, check=False)
