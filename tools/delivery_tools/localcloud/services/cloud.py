"""Bring the machine's local cloud up, reusing whatever already runs, and record every change made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from delivery_tools.common.cdk import pinned_node
from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.host_changes import docker_trust, hosts, records
from delivery_tools.localcloud.host_changes.pki import Certificates, ensure_certificates
from delivery_tools.localcloud.images import busybox
from delivery_tools.localcloud.images.lambda_runtime.image import LAMBDA_IMAGE, ensure_lambda_image
from delivery_tools.localcloud.images.python_base import choose_base_image
from delivery_tools.localcloud.safety import require_loopback_endpoint
from delivery_tools.localcloud.services import docker_engine, lock, moto, registry, supervisor
from delivery_tools.localcloud.services.state import LocalCloudState
from delivery_tools.localcloud.settings import LocalSettings
from delivery_tools.localcloud.steps import StepRunner

# Stopped in this order: moto may still run Lambda containers; dockerd goes last (and only if ours).
SERVICES = (moto.SERVICE, registry.SERVICE, docker_engine.SERVICE)
HOSTS_LINE, DOCKER_TRUST, IMAGE, PROCESS = "hosts-line", "docker-trust", "image", "process"


@dataclass(frozen=True)
class RunningCloud:
    """What a deploy needs to know about the running local cloud."""

    endpoint_url: str
    certificates: Certificates
    base_image: str
    base_image_override: str | None  # the `-c base_image=` value; None when the Dockerfile's default works
    registry: registry.RegistryClient


def _note_started(state: LocalCloudState, service: str, how: str, steps: StepRunner) -> None:
    if how == "started":
        records.record(state.records, PROCESS, service)
    steps.note(how)


def _image_made(state: LocalCloudState, reference: str, made: bool) -> str:
    if made:
        records.record(state.records, IMAGE, reference)
    return "made" if made else "present"


def _machine_changes(state: LocalCloudState, settings: LocalSettings, steps: StepRunner) -> Certificates:
    """The CA, the hosts lines and docker's trust for every registry host, each recorded before it is made."""
    certificates = ensure_certificates(state.pki, settings.registry_hosts)
    for host in settings.registry_hosts:
        if not hosts.has_host(host):
            records.record(state.records, HOSTS_LINE, host)
            hosts.add_host(host)
        if not docker_trust.trusts(host, certificates.ca_certificate):
            records.record(state.records, DOCKER_TRUST, host)
            docker_trust.trust_registry(host, certificates.ca_certificate)
    steps.note(f"/etc/hosts and {docker_trust.CERTS_DIRECTORY} cover {', '.join(settings.registry_hosts)}")
    return certificates


def bring_up(state: LocalCloudState, settings: LocalSettings, project_root: Path, steps: StepRunner) -> RunningCloud:
    """Start what is not running, reuse what is (one start-up at a time), and return how to reach it."""
    endpoint_url = require_loopback_endpoint(moto.ENDPOINT_URL)
    steps.note(f"AWS endpoint {endpoint_url} (loopback only), fake credentials; state in {state.directory}")
    state.prepare()
    with lock.exclusive(state.lock_file, "start-up", steps.note):
        with steps.step("Docker engine"):
            _note_started(state, docker_engine.SERVICE, docker_engine.ensure_engine(state), steps)
        with steps.step("Local CA, TLS certificate, hosts lines and docker trust for the registry host names"):
            certificates = _machine_changes(state, settings, steps)
        home_host = settings.home.registry_host
        with steps.step(f"Registry posing as ECR on https://{home_host}"):
            _note_started(state, registry.SERVICE, registry.ensure_registry(state, certificates), steps)
            client = registry.RegistryClient(home_host, certificates.ca_certificate)
            if not client.available():
                raise ToolError(
                    f"the registry does not answer at {client.base_url}/: see {state.log_file(registry.SERVICE)}, "
                    "then run `local-cloud down` and the command again"
                )
        with steps.step("Python base image"):
            base_image, how, official = choose_base_image(project_root)
            _image_made(state, base_image, how == "made")
            steps.note(f"{base_image} ({how})")
        with steps.step("Lambda images (busybox, provided.al2023 and nodejs runtime)"):
            made_busybox = _image_made(state, busybox.BUSYBOX_IMAGE, busybox.ensure_busybox())
            built = ensure_lambda_image(
                base_image, certificates.ca_certificate, settings.registry_hosts, pinned_node(project_root)
            )
            steps.note(f"busybox {made_busybox}; {LAMBDA_IMAGE} {_image_made(state, LAMBDA_IMAGE, built)}")
        with steps.step("AWS API emulator (moto)"):
            _note_started(state, moto.SERVICE, moto.ensure_moto(state, settings, LAMBDA_IMAGE), steps)
    override = None if base_image == official else base_image
    return RunningCloud(endpoint_url, certificates, base_image, override, client)


def is_up(state: LocalCloudState) -> bool:
    """True when the machine's moto and registry both run (the minimum for diff and destroy)."""
    return all(supervisor.tracked_pid(state, name) is not None for name in (moto.SERVICE, registry.SERVICE))
