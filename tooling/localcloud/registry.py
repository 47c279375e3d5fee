"""A real OCI registry (Debian's docker-registry) serving TLS on 127.0.0.1:443 under ECR's host name.

moto is ECR's control plane (repositories, policies, tokens) but stores no images; this registry is the
data plane that `docker push`, the copy Lambda and `docker pull` talk to.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

from tooling.localcloud import processes
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.pki import Certificates
from tooling.localcloud.safety import ACCOUNT, REGION
from tooling.localcloud.state import LocalCloudState

SERVICE = "registry"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
ADDRESS = ("127.0.0.1", 443)


def port_open(address: tuple[str, int]) -> bool:
    """True when something accepts TCP connections at `address`."""
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


def config(state: LocalCloudState, certificates: Certificates) -> dict[str, object]:
    """The registry's configuration (JSON is valid YAML, which the registry reads)."""
    return {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(state.registry_storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {
            "addr": f"{ADDRESS[0]}:{ADDRESS[1]}",
            "tls": {"certificate": str(certificates.server_certificate), "key": str(certificates.server_key)},
        },
    }


def ensure_registry(state: LocalCloudState, certificates: Certificates) -> str:
    """Reuse our running registry or start it; refuse if someone else holds the port."""
    if processes.tracked_pid(state, SERVICE) is not None:
        return "reused"
    if port_open(ADDRESS):
        raise LocalCloudError(
            f"{ADDRESS[0]}:{ADDRESS[1]} is in use by a process the local cloud did not start "
            "(another local cloud in a different checkout? run `make local-down` there)"
        )
    config_file = state.directory / "registry.yml"
    config_file.write_text(json.dumps(config(state, certificates), indent=2))
    processes.start(state, SERVICE, ["docker-registry", "serve", str(config_file)], ready=lambda: port_open(ADDRESS))
    return "started"


def delete_repository_data(state: LocalCloudState, repository: str) -> bool:
    """Remove a repository's tags and manifests from storage (the registry API cannot delete a repository).

    Used after its ECR repository was deleted, so the data plane agrees with the control plane.
    """
    directory = state.registry_storage / "docker/registry/v2/repositories" / repository
    if not directory.is_dir():
        return False
    shutil.rmtree(directory)
    return True


def stored_repositories(storage: Path) -> list[str]:
    """Repository names with data in the registry's storage."""
    root = storage / "docker/registry/v2/repositories"
    if not root.is_dir():
        return []
    return sorted(str(path.parent.relative_to(root)) for path in root.rglob("_manifests"))
