"""A real OCI registry (Debian's docker-registry), the backend of the ECR proxy, on a unix socket only.

moto is ECR's control plane (repositories, policies, tokens) but stores no images; this registry is the
data plane. Nothing talks to it directly: it listens on `<state>/registry.sock` (no TCP port, so it is
never reachable as ECR), and the ECR proxy (`ecr_proxy`, `ecr_hosts`) serves every account's registry host
in front of it, keeping each account's repositories under `<account>/<repository>`. `RegistryClient`
reads a registry host back through the proxy (OCI distribution spec), trusting only the local CA.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx2
import requests

from delivery_tools.common.commands import run
from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.services import supervisor
from delivery_tools.localcloud.services.ecr_rules import TRAFFIC_PATH
from delivery_tools.localcloud.services.state import LocalCloudState

SERVICE = "registry"
SOCKET_NAME = "registry.sock"
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_REPOSITORIES = Path("docker/registry/v2/repositories")
_BLOBS = Path("docker/registry/v2/blobs")


def socket_path(state: LocalCloudState) -> Path:
    """The unix socket the registry listens on (the ECR proxy's upstream)."""
    return state.directory / SOCKET_NAME


def config(state: LocalCloudState) -> dict[str, object]:
    """The registry's configuration (JSON is valid YAML, which the registry reads)."""
    return {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(state.registry_storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"net": "unix", "addr": str(socket_path(state))},
    }


def answers(socket: Path) -> bool:
    """True when a registry answers its API base endpoint on the unix socket `socket`."""
    try:
        with httpx2.Client(transport=httpx2.HTTPTransport(uds=str(socket)), timeout=2) as client:
            return client.get("http://registry/v2/").status_code == httpx2.codes.OK
    except httpx2.HTTPError:
        return False


def require_compatible(state: LocalCloudState) -> None:
    """Refuse (before anything on the machine changes) a running registry this version would not start."""
    config_file = state.directory / "registry.yml"
    if supervisor.tracked_pid(state, SERVICE) is None:
        return
    if config_file.is_file() and config_file.read_text() == json.dumps(config(state), indent=2):
        return
    raise ToolError(
        f"the running local cloud's registry ({config_file}) was started by another version of the tools: "
        f"let its owner (see {state.records}) run `local-cloud down`, then run the command again"
    )


def ensure_registry(state: LocalCloudState) -> str:
    """Reuse our running registry or start it; refuse one of another configuration, or a socket not ours."""
    require_compatible(state)
    if supervisor.tracked_pid(state, SERVICE) is not None:
        return "reused"
    config_file = state.directory / "registry.yml"
    wanted = json.dumps(config(state), indent=2)
    socket = socket_path(state)
    if answers(socket):
        raise ToolError(f"a registry this local cloud did not start answers on {socket}: stop it and run again")
    socket.unlink(missing_ok=True)  # left by a registry that was killed: it would refuse to listen
    config_file.write_text(wanted)
    command = ["docker-registry", "serve", str(config_file)]
    supervisor.start(state, SERVICE, command, ready=lambda: answers(socket))
    return "started"


def delete_repository_data(state: LocalCloudState, account: str, repository: str) -> bool:
    """Remove an account's repository's tags and manifests from storage (the registry API cannot).

    Used once its ECR repository is gone, so the data plane agrees with the control plane.
    """
    directory = state.registry_storage / _REPOSITORIES / account / repository
    if not directory.is_dir():
        return False
    shutil.rmtree(directory)
    return True


def forget_all_repositories(state: LocalCloudState) -> bool:
    """Drop every repository's tags and manifests (the blobs stay); True if there were any.

    For a freshly started AWS API, which knows no repository: a tag left in the registry would otherwise
    make an immutable repository of the same name refuse the first push of that tag.
    """
    root = state.registry_storage / _REPOSITORIES
    if not root.is_dir():
        return False
    shutil.rmtree(root)
    return True


def collect_garbage(state: LocalCloudState) -> int:
    """Delete the blobs no repository's manifest references any more (`docker-registry garbage-collect`);
    the bytes freed. Without it every image ever pushed stays on disk (a gigabyte model image per run).

    Only safe while nothing uploads: the local cloud runs it at start-up right after a fresh AWS API made
    the registry forget every repository, when the proxy refuses every repository (none exists yet).
    """
    blobs = state.registry_storage / _BLOBS
    if not blobs.is_dir():
        return 0
    (state.registry_storage / _REPOSITORIES).mkdir(parents=True, exist_ok=True)  # the collector needs it
    before = _size(blobs)
    run(["docker-registry", "garbage-collect", str(state.directory / "registry.yml")], timeout=600)
    return before - _size(blobs)


def _size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def stored_repositories(storage: Path, account: str) -> list[str]:
    """The names of the repositories of `account` with data in the registry's storage."""
    root = storage / _REPOSITORIES / account
    if not root.is_dir():
        return []
    return sorted(str(path.parent.relative_to(root)) for path in root.rglob("_manifests"))


class RegistryGoneError(ToolError):
    """The registry stopped answering while it was needed."""


class RegistryClient:
    """A client for one registry host, verifying its certificate against `ca_certificate`."""

    def __init__(self, host: str, ca_certificate: Path, timeout: float = 10.0) -> None:
        self.host = host
        self.base_url = f"https://{host}/v2"
        self._verify = str(ca_certificate)
        self._timeout = timeout

    def _request(self, method: str, path: str) -> requests.Response:
        try:
            response = requests.request(
                method,
                f"{self.base_url}/{path}",
                headers={"Accept": MANIFEST_TYPES},
                verify=self._verify,
                timeout=self._timeout,
            )
        except requests.ConnectionError:
            response = None
        # 502: the ECR proxy answers, the registry behind it does not.
        if response is None or response.status_code == requests.codes.bad_gateway:
            raise RegistryGoneError(
                f"the local registry ({self.base_url}) does not answer: it was stopped; "
                "run `local-cloud deploy` again to restart it"
            )
        return response

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

    def traffic(self) -> dict[str, dict[str, int]]:
        """Body bytes each `<host>/<repository>` of the ECR proxy received and sent since it started."""
        response = requests.get(f"https://{self.host}{TRAFFIC_PATH}", verify=self._verify, timeout=self._timeout)
        response.raise_for_status()
        counters: dict[str, dict[str, int]] = response.json()
        return counters
