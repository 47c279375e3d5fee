"""The docker engine: reuse the one that runs, or start `dockerd` (and then own it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tooling.localcloud import processes
from tooling.localcloud.process import succeeds
from tooling.localcloud.state import LocalCloudState

SERVICE = "dockerd"
CERTS_DIRECTORY = Path("/etc/docker/certs.d")
# host.docker.internal must be loopback: Lambda containers share the host network and reach moto there.
DOCKERD_COMMAND = ("dockerd", "--host-gateway-ip=127.0.0.1")


def engine_running() -> bool:
    """True when the docker client reaches an engine."""
    return succeeds(["docker", "version", "--format", "{{.Server.Version}}"])


def ensure_engine(state: LocalCloudState) -> str:
    """Reuse a running engine (never stopped by us) or start one we track; say which."""
    if engine_running():
        return (
            "reused (running before; left alone on down)" if processes.tracked_pid(state, SERVICE) is None else "reused"
        )
    processes.start(state, SERVICE, DOCKERD_COMMAND, ready=engine_running, timeout=90)
    return "started"


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
    return True
