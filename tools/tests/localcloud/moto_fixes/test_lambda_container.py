"""The limits the local cloud gives a function's container (the pure parts)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from docker.models.containers import Container

from delivery_tools.localcloud.moto_fixes import lambda_limits


def test_memory_without_swap_and_a_tmp_of_the_ephemeral_storage_size() -> None:
    assert lambda_limits.container_limits(1024, 2048) == {
        "mem_limit": "1024m",
        "memswap_limit": "1024m",
        "tmpfs": {"/tmp": "size=2048m,mode=1777"},
    }


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the wrapped `containers.run` was called with; it returns a container whose wait records its timeout."""
    calls: list[dict[str, Any]] = []

    def run(_: Any, image: str, command: Any = None, **kwargs: Any) -> Container:
        calls.append({"image": image, **kwargs})
        container = Container(attrs={"Id": "c"})

        def wait(**arguments: Any) -> dict[str, int]:
            calls.append({"waited": arguments})
            return {"StatusCode": 0}

        container.wait = wait
        return container

    monkeypatch.setattr(lambda_limits, "_run", run)
    return calls


def test_the_function_container_gets_the_limits_and_a_wait_as_long_as_its_timeout(
    started: list[dict[str, Any]],
) -> None:
    function = SimpleNamespace(memory_size=256, ephemeral_storage=600, timeout=900)
    lambda_limits._invoking.function = function
    try:
        container = lambda_limits._limited_run(None, "lambda-image", ["handler", "{}"], mem_limit="256m")
        container.wait(timeout=300)  # moto's own wait
    finally:
        lambda_limits._invoking.function = None
    assert started[0]["tmpfs"] == {"/tmp": "size=600m,mode=1777"} and started[0]["memswap_limit"] == "256m"
    assert started[1] == {"waited": {"timeout": 900 + lambda_limits.WAIT_GRACE_SECONDS}}


def test_moto_helper_containers_are_left_alone(started: list[dict[str, Any]]) -> None:
    lambda_limits._invoking.function = SimpleNamespace(memory_size=256, ephemeral_storage=600, timeout=900)
    try:
        lambda_limits._limited_run(None, "busybox", "sleep 100", volumes={}, detach=True)
    finally:
        lambda_limits._invoking.function = None
    assert started == [{"image": "busybox", "volumes": {}, "detach": True}]
