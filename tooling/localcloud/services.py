"""Bring the local cloud up, reusing whatever already runs."""

from __future__ import annotations

from dataclasses import dataclass

from tooling.localcloud import docker_engine, hosts, images, moto_server, processes, registry
from tooling.localcloud.base_choice import OFFICIAL_BASE_IMAGE, choose_base_image
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.pki import Certificates, ensure_certificates
from tooling.localcloud.registry_api import RegistryClient
from tooling.localcloud.safety import require_loopback_endpoint
from tooling.localcloud.state import LocalCloudState
from tooling.localcloud.steps import StepRunner

# Stopped in this order: moto may still run Lambda containers; dockerd goes last (and only if ours).
SERVICES = (moto_server.SERVICE, registry.SERVICE, docker_engine.SERVICE)


@dataclass(frozen=True)
class RunningCloud:
    """What the deploy needs to know about the running local cloud."""

    state: LocalCloudState
    endpoint_url: str
    certificates: Certificates
    base_image: str
    registry: RegistryClient

    @property
    def base_image_override(self) -> str | None:
        """The `-c base_image=` value: None when the Dockerfile's default (official) image is usable."""
        return None if self.base_image == OFFICIAL_BASE_IMAGE else self.base_image


def bring_up(state: LocalCloudState, steps: StepRunner) -> RunningCloud:
    """Start what is not running, reuse what is, and return how to reach it."""
    endpoint_url = require_loopback_endpoint(moto_server.ENDPOINT_URL)
    steps.note(f"AWS endpoint {endpoint_url} (loopback only), fake credentials, account-free")
    state.prepare()
    with steps.step("Docker engine"):
        steps.note(docker_engine.ensure_engine(state))
    with steps.step(f"Local CA and TLS certificate for {registry.HOST}"):
        certificates = ensure_certificates(state.pki, (registry.HOST,))
        added = hosts.add_host(registry.HOST)
        trusted = docker_engine.trust_registry(registry.HOST, certificates.ca_certificate)
        steps.note(f"/etc/hosts line {'added' if added else 'present'}; docker trusts the CA via {trusted}")
    with steps.step(f"Registry posing as ECR on https://{registry.HOST}"):
        steps.note(registry.ensure_registry(state, certificates))
        client = RegistryClient(registry.HOST, certificates.ca_certificate)
        if not client.available():
            raise LocalCloudError(
                f"the registry does not answer at {client.base_url}/; its log:\n"
                f"{processes.log_tail(state, registry.SERVICE)}"
            )
    with steps.step("Python base image"):
        base_image, how = choose_base_image()
        steps.note(f"{base_image} ({how})")
    with steps.step("Lambda images (busybox, provided.al2023 runtime)"):
        busybox_made = images.ensure_busybox()
        lambda_made = images.ensure_lambda_image(base_image, certificates.ca_certificate, (registry.HOST,))
        steps.note(
            f"busybox {'imported' if busybox_made else 'present'}; "
            f"{images.LAMBDA_IMAGE} {'built' if lambda_made else 'up to date'}"
        )
    with steps.step("AWS API emulator (moto)"):
        steps.note(moto_server.ensure_moto(state, images.LAMBDA_IMAGE))
    return RunningCloud(state, endpoint_url, certificates, base_image, client)


def is_up(state: LocalCloudState) -> bool:
    """True when our moto and registry both run (the minimum for diff and destroy)."""
    return all(processes.tracked_pid(state, name) is not None for name in (moto_server.SERVICE, registry.SERVICE))
