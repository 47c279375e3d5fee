"""Fixes to moto's ECR image API so the app's deploy-time ECR calls behave as on AWS.

- **Another account's registry.** On AWS, `DescribeImages`/`BatchGetImage` with `registryId` read that
  account's repository (when its policy allows; the local cloud does not evaluate policies). moto 5.2.5
  always answers from the caller's account, so a promotion could not read its source's digest.
- **PutImage reaches the registry.** moto is ECR's control plane only; the images live in the local
  registry. A tag added through the API (the release tag, see ml_constructs.model_image_release) is also
  written to the registry, so `docker pull repository:tag` finds it, as on AWS.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx2
from moto.ecr.models import ECRBackend, ecr_backends
from moto.ecr.responses import ECRResponse

# The local cloud sets this for the moto process: the backend registry's unix socket (see services.ecr_proxy).
REGISTRY_SOCKET_VARIABLE = "LOCAL_CLOUD_REGISTRY_SOCKET"

_put_image = ECRResponse.put_image


def _backend(self: ECRResponse) -> ECRBackend:
    registry_id = self._get_param("registryId")
    account = registry_id or self.current_account
    return ecr_backends[account][self.region]


def write_to_registry(socket: str, account: str, repository: str, tag: str, manifest: str, media_type: str) -> None:
    """Store `manifest` under `repository:tag` in the account's namespace of the backend registry."""
    with httpx2.Client(transport=httpx2.HTTPTransport(uds=socket), base_url="http://registry") as client:
        response = client.put(
            f"/v2/{account}/{repository}/manifests/{tag}",
            content=manifest.encode(),
            headers={"content-type": media_type},
        )
    if response.status_code != 201:
        raise RuntimeError(f"the registry refused {repository}:{tag} ({response.status_code}): {response.text}")


def _put_image_everywhere(self: ECRResponse) -> Any:
    result = _put_image(self)
    socket = os.environ.get(REGISTRY_SOCKET_VARIABLE)
    if socket:
        manifest = self._get_param("imageManifest")
        media_type = self._get_param("imageManifestMediaType") or json.loads(manifest)["mediaType"]
        account = self._get_param("registryId") or self.current_account
        write_to_registry(
            socket, account, self._get_param("repositoryName"), self._get_param("imageTag"), manifest, media_type
        )
    return result


def install() -> None:
    """Patch moto's ECR responses (idempotent)."""
    ECRResponse.ecr_backend = property(_backend)  # type: ignore[method-assign,assignment]
    ECRResponse.put_image = _put_image_everywhere  # type: ignore[method-assign]
