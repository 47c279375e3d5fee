"""A real OCI registry (Debian's docker-registry) serving TLS on 127.0.0.1:443 under ECR's host names.

moto is ECR's control plane (repositories, policies, tokens) but stores no images; this registry is the
data plane that `docker push`, the copy Lambda and `docker pull` talk to. `RegistryClient` reads it back
through its HTTP API (OCI distribution spec), trusting only the local CA.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import requests

from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import port_open
from delivery_tools.localcloud.host_changes.pki import Certificates
from delivery_tools.localcloud.services import supervisor
from delivery_tools.localcloud.services.state import LocalCloudState

SERVICE = "registry"
ADDRESS = ("127.0.0.1", 443)
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_REPOSITORIES = Path("docker/registry/v2/repositories")


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
    if supervisor.tracked_pid(state, SERVICE) is not None:
        return "reused"
    if port_open(ADDRESS):
        raise ToolError(
            f"{ADDRESS[0]}:{ADDRESS[1]} is in use by a process this local cloud ({state.directory}) did not start: "
            "stop it (an older local cloud? run its `down`) and run the command again"
        )
    config_file = state.directory / "registry.yml"
    config_file.write_text(json.dumps(config(state, certificates), indent=2))
    command = ["docker-registry", "serve", str(config_file)]
    supervisor.start(state, SERVICE, command, ready=lambda: port_open(ADDRESS), port=ADDRESS[1])
    return "started"


def delete_repository_data(state: LocalCloudState, repository: str) -> bool:
    """Remove a repository's tags and manifests from storage (the registry API cannot delete a repository).

    Used after its ECR repository was deleted, so the data plane agrees with the control plane.
    """
    directory = state.registry_storage / _REPOSITORIES / repository
    if not directory.is_dir():
        return False
    shutil.rmtree(directory)
    return True


def stored_repositories(storage: Path) -> list[str]:
    """Repository names with data in the registry's storage."""
    root = storage / _REPOSITORIES
    if not root.is_dir():
        return []
    return sorted(str(path.parent.relative_to(root)) for path in root.rglob("_manifests"))


class RegistryGoneError(ToolError):
    """The registry stopped answering while it was needed."""


class RegistryClient:
    """A client for one registry host, verifying its certificate against `ca_certificate`."""

    def __init__(self, host: str, ca_certificate: Path, timeout: float = 10.0) -> None:
        self.base_url = f"https://{host}/v2"
        self._verify = str(ca_certificate)
        self._timeout = timeout

    def _request(self, method: str, path: str) -> requests.Response:
        try:
            return requests.request(
                method,
                f"{self.base_url}/{path}",
                headers={"Accept": MANIFEST_TYPES},
                verify=self._verify,
                timeout=self._timeout,
            )
        except requests.ConnectionError:
            raise RegistryGoneError(
                f"the local registry ({self.base_url}) does not answer: it was stopped; "
                "run `local-cloud deploy` again to restart it"
            ) from None

    def available(self) -> bool:
        """True when the registry answers the API base endpoint."""
        try:
            return self._request("GET", "").ok
        except (RegistryGoneError, requests.RequestException):
            return False

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest of `repository:reference` (a tag or digest), or None if there is no such manifest."""
        response = self._request("HEAD", f"{repository}/manifests/{reference}")
        if response.status_code == requests.codes.not_found:
            return None
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]

    def tags(self, repository: str) -> list[str]:
        """Every tag of `repository` (empty when the repository does not exist)."""
        response = self._request("GET", f"{repository}/tags/list")
        if response.status_code == requests.codes.not_found:
            return []
        response.raise_for_status()
        return sorted(response.json().get("tags") or [])
