"""The docker engine: reuse the one that answers, or start `dockerd` (and then own it)."""

from __future__ import annotations

from delivery_tools.common.commands import run
from delivery_tools.common.docker import engine_answers
from delivery_tools.localcloud.services import supervisor
from delivery_tools.localcloud.services.state import LocalCloudState

SERVICE = "dockerd"
# An engine started for the whole machine (`local-cloud engine`, e.g. before a test run): `down` keeps it.
MACHINE_SERVICE = "dockerd-machine"
# host.docker.internal must be loopback: Lambda containers share the host network and reach moto there.
DOCKERD_COMMAND = ("dockerd", "--host-gateway-ip=127.0.0.1")


def ensure_engine(state: LocalCloudState, service: str = SERVICE) -> str:
    """Reuse a running engine or start one tracked as `service`; say which.

    Only an engine tracked as SERVICE is stopped by `local-cloud down`; any other is left alone.
    """
    if engine_answers():
        return "reused" if supervisor.tracked_pid(state, SERVICE) else "reused (not ours: left alone on down)"
    supervisor.start(state, service, DOCKERD_COMMAND, ready=engine_answers, timeout=90)
    return "started"


def image_references_of(hosts: tuple[str, ...]) -> list[str]:
    """Local image names pointing into the registries `hosts` (pushed or pulled tags and digests)."""
    listed = run(["docker", "image", "ls", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"]).stdout
    references = []
    for line in listed.splitlines():
        repository, tag, digest = line.split()
        if not repository.startswith(tuple(f"{host}/" for host in hosts)):
            continue
        if tag != "<none>":
            references.append(f"{repository}:{tag}")
        elif digest != "<none>":
            references.append(f"{repository}@{digest}")
    return references


def remove_images_of(hosts: tuple[str, ...]) -> list[str]:
    """Remove the image names into the registries `hosts`.

    Only the names go: layers shared with the build cache stay, so the next deploy builds no slower.
    """
    references = image_references_of(hosts)
    if references:
        run(["docker", "image", "rm", *references])
    return references
