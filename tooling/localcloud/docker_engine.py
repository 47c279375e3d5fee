"""The docker engine: reuse the one that runs, or start `dockerd` (and then own it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tooling.localcloud import processes
from tooling.localcloud.process import run, succeeds
from tooling.localcloud.state import LocalCloudState

SERVICE = "dockerd"
# An engine started for the whole machine (`local engine`, e.g. before a test run): `local down` keeps it.
MACHINE_SERVICE = "dockerd-machine"
CERTS_DIRECTORY = Path("/etc/docker/certs.d")
# host.docker.internal must be loopback: Lambda containers share the host network and reach moto there.
DOCKERD_COMMAND = ("dockerd", "--host-gateway-ip=127.0.0.1")


def engine_running() -> bool:
    """True when the docker client reaches an engine."""
    return succeeds(["docker", "version", "--format", "{{.Server.Version}}"])


def ensure_engine(state: LocalCloudState, service: str = SERVICE) -> str:
    """Reuse a running engine or start one tracked as `service`; say which.

    Only an engine tracked as SERVICE is stopped by `local down`; any other is left alone.
    """
    if engine_running():
        return "reused" if processes.tracked_pid(state, SERVICE) else "reused (not ours: left alone on down)"
    processes.start(state, service, DOCKERD_COMMAND, ready=engine_running, timeout=90)
    return "started"


def remove_images_of(host: str) -> list[str]:
    """Remove local image references into the registry `host` (pushed or pulled tags and digests).

    Only the names go: layers shared with the build cache stay, so the next deploy builds no slower.
    """
    listed = run(["docker", "image", "ls", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"]).stdout
    references = []
    for line in listed.splitlines():
        repository, tag, digest = line.split()
        if not repository.startswith(f"{host}/"):
            continue
        if tag != "<none>":
            references.append(f"{repository}:{tag}")
        elif digest != "<none>":
            references.append(f"{repository}@{digest}")
    if references:
        run(["docker", "image", "rm", *references])
    return references


def trust_registry(host: str, ca_certificate: Path, directory: Path = CERTS_DIRECTORY) -> Path:
    """Make docker trust `ca_certificate` for the registry `host` (docker reads certs.d on every pull/push)."""
    target = directory / host / "ca.crt"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.read_bytes() != ca_certificate.read_bytes():
        shutil.copyfile(ca_certificate, target)
    return target


def untrust_registry(host: str, directory: Path = CERTS_DIRECTORY) -> bool:
    """Undo trust_registry; True if there was something to remove."""
    target = directory / host
    if not target.exists():
        return False
    shutil.rmtree(target)
    if not any(directory.iterdir()):
        directory.rmdir()  # made by trust_registry; docker does not need it
    return True
