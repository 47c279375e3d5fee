"""Read-only calls to the registry's HTTP API (OCI distribution spec), trusting only the local CA."""

from __future__ import annotations

from pathlib import Path

import requests

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


class RegistryClient:
    """A client for one registry host, verifying its certificate against `ca_certificate`."""

    def __init__(self, host: str, ca_certificate: Path, timeout: float = 10.0) -> None:
        self.base_url = f"https://{host}/v2"
        self._verify = str(ca_certificate)
        self._timeout = timeout

    def available(self) -> bool:
        """True when the registry answers the API base endpoint."""
        try:
            return requests.get(f"{self.base_url}/", verify=self._verify, timeout=self._timeout).ok
        except requests.RequestException:
            return False

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest of `repository:reference` (a tag or digest), or None if there is no such manifest."""
        response = requests.head(
            f"{self.base_url}/{repository}/manifests/{reference}",
            headers={"Accept": MANIFEST_TYPES},
            verify=self._verify,
            timeout=self._timeout,
        )
        if response.status_code == requests.codes.not_found:
            return None
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]

    def tags(self, repository: str) -> list[str]:
        """Every tag of `repository` (empty when the repository does not exist)."""
        response = requests.get(f"{self.base_url}/{repository}/tags/list", verify=self._verify, timeout=self._timeout)
        if response.status_code == requests.codes.not_found:
            return []
        response.raise_for_status()
        return sorted(response.json().get("tags") or [])
