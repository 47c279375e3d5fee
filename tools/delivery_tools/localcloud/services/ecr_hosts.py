"""Where each account's ECR registry host listens, and the ECR proxy process that serves them all.

The whole 127.0.0.0/8 range is loopback, so every registry host gets an address of its own (127.0.0.2,
127.0.0.3, ... in the order of the hosts), each with port 443 as on AWS, and no interface set-up.
"""

from __future__ import annotations

import ipaddress
import sys
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


def registry_addresses(hosts: tuple[str, ...]) -> dict[str, str]:
    """The loopback address of each registry host: 127.0.0.2 for the first, then one up for each next."""
    return {host: str(_FIRST_ADDRESS + index) for index, host in enumerate(hosts)}


def proxy_config(hosts: tuple[str, ...], certificates: Certificates, socket: Path, endpoint_url: str) -> ProxyConfig:
    """The proxy's configuration for these registry hosts."""
    registries = []
    for host, address in registry_addresses(hosts).items():
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
    config_file = state.directory / "ecr-proxy.json"
    if supervisor.tracked_pid(state, SERVICE) is not None:
        if config_file.is_file() and config_file.read_text() == config.to_json():
            return "reused"
        supervisor.stop(state, SERVICE)  # the hosts changed (an environment was added): serve the new set
    addresses = [(registry.address, config.port) for registry in config.registries]
    taken = [f"{address}:{port}" for address, port in addresses if port_open((address, port))]
    if taken:
        raise ToolError(
            f"{', '.join(taken)} in use by a process this local cloud ({state.directory}) did not start: "
            "stop it (an older local cloud? run its `down`) and run the command again"
        )
    config_file.write_text(config.to_json())
    supervisor.start(
        state,
        SERVICE,
        [sys.executable, "-m", "delivery_tools.localcloud.services.ecr_proxy", str(config_file)],
        ready=lambda: all(port_open(address) for address in addresses),
        port=config.port,
    )
    return "started"
