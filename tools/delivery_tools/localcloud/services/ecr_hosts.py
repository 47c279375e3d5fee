"""Where each account's ECR registry host listens, and the ECR proxy process that serves them all.

The whole 127.0.0.0/8 range is loopback, so every registry host gets an address of its own (127.0.0.2,
127.0.0.3, ... in the order of the hosts), each with port 443 as on AWS, and no interface set-up.
The machine has one proxy: a host it serves keeps its address; hosts another checkout adds get the next
free ones, so two checkouts with different environments never take each other's hosts away.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping
from pathlib import Path

from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import port_open
from delivery_tools.localcloud.host_changes.pki import Certificates
from delivery_tools.localcloud.services import supervisor
from delivery_tools.localcloud.services.ecr_proxy import ProxyConfig, Registry
from delivery_tools.localcloud.services.ecr_rules import REGISTRY_HOST
from delivery_tools.localcloud.services.state import LocalCloudState

SERVICE = "ecr-proxy"
PORT = 443
_FIRST_ADDRESS = ipaddress.IPv4Address("127.0.0.2")


def registry_addresses(hosts: tuple[str, ...], served: Mapping[str, str] | None = None) -> dict[str, str]:
    """The loopback address of each registry host: those `served` already keep theirs, the others get the
    next free addresses (127.0.0.2 for the first, then one up for each next); every served host stays."""
    addresses = dict(served or {})
    taken = {ipaddress.IPv4Address(address) for address in addresses.values()}
    candidate = _FIRST_ADDRESS
    for host in hosts:
        if host in addresses:
            continue
        while candidate in taken:
            candidate += 1
        addresses[host] = str(candidate)
        taken.add(candidate)
    return addresses


def config_file(state: LocalCloudState) -> Path:
    return state.directory / "ecr-proxy.json"


def served_addresses(state: LocalCloudState) -> dict[str, str]:
    """The registry hosts the running proxy serves and their addresses (empty when it does not run)."""
    if supervisor.tracked_pid(state, SERVICE) is None:
        return {}
    try:
        config = ProxyConfig.from_json(config_file(state).read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {registry.host: registry.address for registry in config.registries}


def proxy_config(
    addresses: Mapping[str, str], certificates: Certificates, socket: Path, endpoint_url: str
) -> ProxyConfig:
    """The proxy's configuration for these registry hosts at these addresses."""
    registries = []
    for host, address in addresses.items():
        match = REGISTRY_HOST.match(host)
        if match is None:
            raise ToolError(f"{host!r} is no ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)")
        registries.append(Registry(host, match["account"], address))
    return ProxyConfig(
        registries=tuple(registries),
        port=PORT,
        certificate=certificates.server_certificate,
        key=certificates.server_key,
        upstream_socket=socket,
        endpoint_url=endpoint_url,
    )


def ensure_proxy(state: LocalCloudState, config: ProxyConfig) -> str:
    """Reuse our running proxy if it serves these hosts, or start it; refuse if another process holds an address."""
    file = config_file(state)
    if supervisor.tracked_pid(state, SERVICE) is not None:
        if file.is_file() and file.read_text() == config.to_json():
            return "reused"
        supervisor.stop(state, SERVICE)  # the hosts changed (an environment was added): serve the new set
    addresses = [(registry.address, config.port) for registry in config.registries]
    taken = [f"{address}:{port}" for address, port in addresses if port_open((address, port))]
    if taken:
        raise ToolError(
            f"{', '.join(taken)} in use by a process this local cloud ({state.directory}) did not start: "
            "stop it (an older local cloud? run its `down`) and run the command again"
        )
    file.write_text(config.to_json())
    supervisor.start(
        state,
        SERVICE,
        [sys.executable, "-m", "delivery_tools.localcloud.services.ecr_proxy", str(file)],
        ready=lambda: all(port_open(address) for address in addresses),
        port=config.port,
    )
    return "started"
