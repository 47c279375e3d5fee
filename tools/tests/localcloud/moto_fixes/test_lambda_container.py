"""What the local cloud gives a function's container: Lambda's limits and its role's credentials."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from docker.models.containers import Container
from moto.iam.models import get_account_id_from

from delivery_tools.localcloud.moto_fixes import lambda_container


def test_memory_without_swap_and_a_tmp_of_the_ephemeral_storage_size() -> None:
    assert lambda_container.container_limits(1024, 2048) == {
        "mem_limit": "1024m",
        "memswap_limit": "1024m",
        "tmpfs": {"/tmp": "size=2048m,mode=1777"},
    }


def lambda_function(**settings: int) -> Any:
    """The parts of a moto LambdaFunction the fix reads: a function of account 333344445555."""
    role = "arn:aws:iam::333344445555:role/copy-role"
    return SimpleNamespace(**settings, account_id="333344445555", region="us-east-1", role=role, function_name="copy")


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

    monkeypatch.setattr(lambda_container, "_run", run)
    return calls


def test_the_function_container_gets_the_limits_and_a_wait_as_long_as_its_timeout(
    started: list[dict[str, Any]],
) -> None:
    function = lambda_function(memory_size=256, ephemeral_storage=600, timeout=900)
    lambda_container._invoking.function = function
    try:
        container = lambda_container._limited_run(None, "lambda-image", ["handler", "{}"], mem_limit="256m")
        container.wait(timeout=300)  # moto's own wait
    finally:
        lambda_container._invoking.function = None
    assert started[0]["tmpfs"] == {"/tmp": "size=600m,mode=1777"} and started[0]["memswap_limit"] == "256m"
    assert started[1] == {"waited": {"timeout": 900 + lambda_container.WAIT_GRACE_SECONDS}}


def test_moto_helper_containers_are_left_alone(started: list[dict[str, Any]]) -> None:
    lambda_container._invoking.function = lambda_function(memory_size=256, ephemeral_storage=600, timeout=900)
    try:
        lambda_container._limited_run(None, "busybox", "sleep 100", volumes={}, detach=True)
    finally:
        lambda_container._invoking.function = None
    assert started == [{"image": "busybox", "volumes": {}, "detach": True}]


def test_the_function_acts_in_its_own_account_with_its_roles_credentials(started: list[dict[str, Any]]) -> None:
    lambda_container._invoking.function = lambda_function(memory_size=128, ephemeral_storage=512, timeout=60)
    try:
        environment = {"AWS_ACCESS_KEY_ID": "role-account-id", "AWS_REGION": "us-east-1"}  # moto's
        lambda_container._limited_run(None, "lambda-image", ["handler"], mem_limit="128m", environment=environment)
    finally:
        lambda_container._invoking.function = None
    given = started[0]["environment"]
    assert given["AWS_REGION"] == "us-east-1" and given["AWS_SESSION_TOKEN"]
    assert get_account_id_from(given["AWS_ACCESS_KEY_ID"]) == "333344445555", "moto must see the function's account"
