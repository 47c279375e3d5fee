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
from delivery_tools.localcloud.services import cfn_responses, docker_engine, ecr_hosts, lock, moto, registry, supervisor
from delivery_tools.localcloud.services.state import LocalCloudState
from delivery_tools.localcloud.settings import LocalSettings
from delivery_tools.localcloud.steps import StepRunner

# Stopped in this order: moto may still run Lambda containers; the proxy before its backend registry;
# dockerd goes last (and only if ours).
SERVICES = (cfn_responses.SERVICE, moto.SERVICE, ecr_hosts.SERVICE, registry.SERVICE, docker_engine.SERVICE)
HOSTS_LINE, DOCKER_TRUST, IMAGE, PROCESS = "hosts-line", "docker-trust", "image", "process"


@dataclass(frozen=True)
class RunningCloud:
    """What a deploy needs to know about the running local cloud."""

    endpoint_url: str
    certificates: Certificates
    base_image: str
    base_image_override: str | None  # the `-c base_image=` value; None when the Dockerfile's default works
    addresses: dict[str, str]  # every registry host the ECR proxy serves, and its loopback address

    def registry(self, host: str) -> registry.RegistryClient:
        """A client of one account's registry host, through the ECR proxy as docker reaches it."""
        return registry.RegistryClient(host, self.certificates.ca_certificate)

    def unavailable_registries(self) -> list[str]:
        """The registry hosts that do not answer (empty when the proxy and the registry behind it run)."""
        return silent_registries(self.addresses, self.certificates)


def silent_registries(addresses: dict[str, str], certificates: Certificates) -> list[str]:
    """The registry hosts of `addresses` that do not answer the registry API."""
    return [host for host in addresses if not registry.RegistryClient(host, certificates.ca_certificate).available()]


def _note_started(state: LocalCloudState, service: str, how: str, steps: StepRunner) -> None:
    if how == "started":
        records.record(state.records, PROCESS, service)
    steps.note(how)


def _image_made(state: LocalCloudState, reference: str, made: bool) -> str:
    if made:
        records.record(state.records, IMAGE, reference)
    return "made" if made else "present"


def _machine_changes(state: LocalCloudState, addresses: dict[str, str], steps: StepRunner) -> Certificates:
    """The CA, one certificate naming every registry host, each host's hosts line (its own address) and
    docker's trust, each change recorded before it is made."""
    certificates = ensure_certificates(state.pki, (*sorted(addresses), cfn_responses.HOST))
    for host, address in addresses.items():
        if not hosts.has_host(host, address):
            records.record(state.records, HOSTS_LINE, host)
            hosts.add_host(host, address)
        if not docker_trust.trusts(host, certificates.ca_certificate):
            records.record(state.records, DOCKER_TRUST, host)
            docker_trust.trust_registry(host, certificates.ca_certificate)
    plan = ", ".join(f"{host} -> {address}" for host, address in addresses.items())
    steps.note(f"/etc/hosts and {docker_trust.CERTS_DIRECTORY} cover {plan}")
    return certificates


def _registries(
    state: LocalCloudState, addresses: dict[str, str], certificates: Certificates, endpoint_url: str, steps: StepRunner
) -> None:
    """The backend registry on its unix socket, and the ECR proxy serving every host in front of it."""
    _note_started(state, registry.SERVICE, registry.ensure_registry(state), steps)
    config = ecr_hosts.proxy_config(addresses, certificates, registry.socket_path(state), endpoint_url)
    _note_started(state, ecr_hosts.SERVICE, ecr_hosts.ensure_proxy(state, config), steps)
    silent = silent_registries(addresses, certificates)
    if silent:
        raise ToolError(
            f"the registry does not answer at {', '.join(silent)}: see {state.log_file(ecr_hosts.SERVICE)} and "
            f"{state.log_file(registry.SERVICE)}, then run `local-cloud down` and the command again"
        )


def bring_up(state: LocalCloudState, settings: LocalSettings, project_root: Path, steps: StepRunner) -> RunningCloud:
    """Start what is not running, reuse what is (one start-up at a time), and return how to reach it."""
    endpoint_url = require_loopback_endpoint(moto.ENDPOINT_URL)
    steps.note(f"AWS endpoint {endpoint_url} (loopback only), fake credentials; state in {state.directory}")
    state.prepare()
    with lock.exclusive(state.lock_file, "start-up", steps.note):
        registry.require_compatible(state)
        with steps.step("Docker engine"):
            _note_started(state, docker_engine.SERVICE, docker_engine.ensure_engine(state), steps)
        # Hosts the running proxy serves keep their addresses; this checkout's new hosts get free ones.
        addresses = ecr_hosts.registry_addresses(settings.registry_hosts, ecr_hosts.served_addresses(state))
        with steps.step("Local CA, TLS certificate, hosts lines and docker trust for the registry host names"):
            certificates = _machine_changes(state, addresses, steps)
        with steps.step(f"Registry posing as ECR: the ECR proxy for {len(addresses)} registry hosts, on port 443"):
            _registries(state, addresses, certificates, endpoint_url, steps)
        with steps.step("Python base image"):
            base_image, how, official = choose_base_image(project_root)
            _image_made(state, base_image, how == "made")
            steps.note(f"{base_image} ({how})")
        with steps.step("Lambda images (busybox, provided.al2023 and nodejs runtime)"):
            made_busybox = _image_made(state, busybox.BUSYBOX_IMAGE, busybox.ensure_busybox())
            built = ensure_lambda_image(base_image, certificates.ca_certificate, addresses, pinned_node(project_root))
            steps.note(f"busybox {made_busybox}; {LAMBDA_IMAGE} {_image_made(state, LAMBDA_IMAGE, built)}")
        with steps.step("AWS API emulator (moto)"):
            how = moto.ensure_moto(state, settings, LAMBDA_IMAGE)
            _note_started(state, moto.SERVICE, how, steps)
            if how == "started" and registry.forget_all_repositories(state):
                steps.note("tags of an earlier AWS API dropped from the registry (it knows no repository yet)")
                try:
                    freed = registry.collect_garbage(state)
                    steps.note(f"{freed:,} bytes of blobs no repository references any more deleted")
                except ToolError as error:  # a clean-up: the cloud works without it
                    steps.note(f"the registry's garbage collection failed, its blobs stay: {error}")
        with steps.step(f"CloudFormation's response endpoint over https (https://{cfn_responses.HOST})"):
            _note_started(state, cfn_responses.SERVICE, cfn_responses.ensure_front(state, certificates), steps)
    override = None if base_image == official else base_image
    return RunningCloud(endpoint_url, certificates, base_image, override, addresses)


def is_up(state: LocalCloudState) -> bool:
    """True when the machine's moto, registry and ECR proxy run (the minimum for diff and destroy)."""
    services = (moto.SERVICE, registry.SERVICE, ecr_hosts.SERVICE)
    return all(supervisor.tracked_pid(state, name) is not None for name in services)
