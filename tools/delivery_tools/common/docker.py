"""Questions to the docker engine every tool asks: does one answer, does it have an image, which are new."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from delivery_tools.common.commands import succeeds

_UNITS = (("GB", 10**9), ("MB", 10**6), ("kB", 10**3), ("B", 1))
# Docker clients before 23.0 build with BuildKit themselves; from 23.0 on they need the buildx plugin.
_BUILDKIT_BUILT_IN_BEFORE = 23
_CLIENT_VERSION = re.compile(r"^Docker version (?P<major>[0-9]+)\.")


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


def buildkit_client(search_path: Sequence[str] | None = None) -> str | None:
    """The first docker client on the search path (default: PATH) that builds with BuildKit: one with the
    buildx plugin, or one older than 23.0 (such as Debian 12's docker.io client beside its engine); None when
    there is none (docker's classic builder then builds)."""
    seen: set[Path] = set()
    for directory in os.get_exec_path() if search_path is None else search_path:
        client = Path(directory) / "docker"
        if not os.access(client, os.X_OK) or client.resolve() in seen:
            continue
        seen.add(client.resolve())
        printed = subprocess.run([str(client), "--version"], capture_output=True, text=True, check=False).stdout
        found = _CLIENT_VERSION.match(printed)
        built_in = found is not None and int(found["major"]) < _BUILDKIT_BUILT_IN_BEFORE
        if built_in or succeeds([str(client), "buildx", "version"]):
            return str(client)
    return None


def buildkit_environment(client: str | None) -> Mapping[str, str]:
    """What the CDK's asset publishing needs to build with `client` and BuildKit (nothing when None).

    BuildKit keeps the last build context of each context directory and sends only the files that changed;
    the classic builder sends the whole context every time (gigabytes, for an image with large weights)."""
    return {} if client is None else {"CDK_DOCKER": client, "DOCKER_BUILDKIT": "1"}
