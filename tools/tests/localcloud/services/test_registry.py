"""The backend registry's set-up: never reachable as ECR, and never mixed with a registry of another version."""

from __future__ import annotations

import json

import pytest

from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.services import registry, supervisor
from delivery_tools.localcloud.services.state import LocalCloudState


def test_the_registry_listens_on_its_unix_socket_only_and_keeps_its_data_in_the_state(state: LocalCloudState) -> None:
    config = registry.config(state)
    assert config["http"] == {"net": "unix", "addr": str(state.directory / "registry.sock")}
    assert "tls" not in json.dumps(config)
    assert config["storage"]["filesystem"]["rootdirectory"] == str(state.registry_storage)  # type: ignore[index]


def test_a_running_registry_of_another_configuration_is_refused_before_anything_changes(
    state: LocalCloudState,
) -> None:
    registry.require_compatible(state)  # nothing runs: nothing to refuse
    supervisor.start(state, registry.SERVICE, ["sleep", "60"], ready=lambda: True)
    try:
        earlier = {"http": {"addr": "127.0.0.1:443", "tls": {}}}
        (state.directory / "registry.yml").write_text(json.dumps(earlier))
        with pytest.raises(
            ToolError, match=r"started by another version of the tools: let its owner .* `local-cloud down`"
        ):
            registry.require_compatible(state)
        (state.directory / "registry.yml").write_text(json.dumps(registry.config(state), indent=2))
        registry.require_compatible(state)
        assert registry.ensure_registry(state) == "reused"
    finally:
        supervisor.stop(state, registry.SERVICE)


def test_a_fresh_aws_api_drops_every_tag_but_keeps_the_blobs(state: LocalCloudState) -> None:
    (state.registry_storage / "docker/registry/v2/repositories/123456789012/model-serving/_manifests").mkdir(
        parents=True
    )
    blobs = state.registry_storage / "docker/registry/v2/blobs"
    blobs.mkdir(parents=True)
    assert registry.forget_all_repositories(state) is True
    assert registry.stored_repositories(state.registry_storage, "123456789012") == [] and blobs.is_dir()
    assert registry.forget_all_repositories(state) is False


def test_blobs_no_repository_references_are_collected(state: LocalCloudState) -> None:
    """What a fresh AWS API leaves behind (blobs without repositories) is deleted by the registry's collector."""
    (state.directory / "registry.yml").write_text(json.dumps(registry.config(state), indent=2))
    assert registry.collect_garbage(state) == 0, "no storage yet: nothing to collect"
    digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"  # sha256 of b"hello"
    blob = state.registry_storage / f"docker/registry/v2/blobs/sha256/{digest[:2]}/{digest}/data"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"hello")
    registry.forget_all_repositories(state)
    assert registry.collect_garbage(state) == len(b"hello")
    assert not blob.exists()
