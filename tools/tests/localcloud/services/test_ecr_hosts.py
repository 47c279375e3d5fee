"""Each account's registry host gets a loopback address of its own, and the proxy serves exactly those hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.host_changes.pki import Certificates
from delivery_tools.localcloud.services.ecr_hosts import proxy_config, registry_addresses
from delivery_tools.localcloud.services.ecr_proxy import ProxyConfig

HOSTS = tuple(f"{account}.dkr.ecr.us-east-1.amazonaws.com" for account in ("111111111111", "222222222222"))
FILES = Certificates(Path("ca.crt"), Path("registry.crt"), Path("registry.key"))


def test_each_host_has_its_own_loopback_address_never_127_0_0_1() -> None:
    assert registry_addresses(HOSTS) == {HOSTS[0]: "127.0.0.2", HOSTS[1]: "127.0.0.3"}


def test_served_hosts_keep_their_addresses_and_new_hosts_take_the_next_free_ones() -> None:
    third = "333333333333.dkr.ecr.us-east-1.amazonaws.com"
    served = {HOSTS[1]: "127.0.0.2", third: "127.0.0.4"}  # e.g. another checkout's environments
    assert registry_addresses((HOSTS[0], HOSTS[1]), served) == {
        HOSTS[1]: "127.0.0.2",
        third: "127.0.0.4",
        HOSTS[0]: "127.0.0.3",
    }
    assert registry_addresses(HOSTS, registry_addresses(HOSTS)) == registry_addresses(HOSTS)


def test_proxy_config_names_each_account_and_survives_its_file_format() -> None:
    config = proxy_config(registry_addresses(HOSTS), FILES, Path("registry.sock"), "http://localhost:4566")
    assert [(r.host, r.account, r.address) for r in config.registries] == [
        (HOSTS[0], "111111111111", "127.0.0.2"),
        (HOSTS[1], "222222222222", "127.0.0.3"),
    ]
    assert ProxyConfig.from_json(config.to_json()) == config


def test_a_host_that_is_not_ecrs_is_refused() -> None:
    with pytest.raises(ToolError, match="no ECR registry host"):
        proxy_config({"registry.example.com": "127.0.0.2"}, FILES, Path("s"), "http://localhost:4566")
