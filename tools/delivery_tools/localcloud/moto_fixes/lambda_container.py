"""Fix to moto's Lambda: a function's container runs as AWS Lambda runs it, with its limits and its role.

moto gives every function the same fake credentials, which act in moto's default account (123456789012):
a function of another account reads and writes there. AWS Lambda gives a function the credentials of its
execution role, which act in the function's own account; here they come from sts:AssumeRole of that role
(moto evaluates no IAM), so e.g. local-prod's digest read sees local-prod's repository.

moto runs a function's container with its memory size (`mem_limit`) only, and waits for it at most 300 s,
whatever the function's timeout. AWS Lambda gives the function:

- its memory, and no swap beyond it (`memswap_limit` = memory);
- a `/tmp` of its ephemeral storage size (`EphemeralStorage.Size`, 512 MiB by default): here a tmpfs of
  that size, so a function writing more than that gets ENOSPC as on AWS. Unlike on AWS, tmpfs pages count
  toward the memory limit too, so a function that fills /tmp needs memory for it here;
- its timeout, up to 900 s: the runtime shim in the container stops the function at the timeout; moto's
  own wait is lengthened to the timeout plus a grace period, so a long copy is not cut at 300 s.

Only the function's container is changed (the one moto starts with `mem_limit`); the helper containers
moto starts to fill its volumes are not.
"""

from __future__ import annotations

import threading
from typing import Any

from docker.models.containers import Container, ContainerCollection
from moto.awslambda.models import LambdaFunction
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

# Longer than the shim's own timeout handling, so the function's timeout error is what is reported.
WAIT_GRACE_SECONDS = 60
_invoke_lambda = LambdaFunction._invoke_lambda
_run = ContainerCollection.run
_invoking = threading.local()


def container_limits(memory_mib: int, ephemeral_storage_mib: int) -> dict[str, Any]:
    """The docker run arguments that give a container Lambda's memory (no swap) and /tmp size."""
    return {
        "mem_limit": f"{memory_mib}m",
        "memswap_limit": f"{memory_mib}m",
        "tmpfs": {"/tmp": f"size={ephemeral_storage_mib}m,mode=1777"},  # noqa: S108
    }


def role_credentials(function: LambdaFunction) -> dict[str, str]:
    """Environment variables with credentials of the function's execution role, acting in its account."""
    sts = sts_backends[function.account_id][get_partition(function.region)]
    assumed = sts.assume_role(
        region_name=function.region,
        role_session_name=function.function_name[:64],
        role_arn=function.role,
        policy="",
        duration=int(function.timeout) + WAIT_GRACE_SECONDS,
        external_id="",
    )
    return {
        "AWS_ACCESS_KEY_ID": assumed.access_key_id,
        "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
        "AWS_SESSION_TOKEN": assumed.session_token,
    }


def _limited_run(self: ContainerCollection, image: str, command: Any = None, **kwargs: Any) -> Any:
    function: LambdaFunction | None = getattr(_invoking, "function", None)
    if function is None or "mem_limit" not in kwargs:
        return _run(self, image, command, **kwargs)
    kwargs.update(container_limits(int(function.memory_size), int(function.ephemeral_storage)))
    kwargs["environment"] = {**kwargs.get("environment", {}), **role_credentials(function)}
    container = _run(self, image, command, **kwargs)
    if isinstance(container, Container):
        wait = container.wait
        seconds = int(function.timeout) + WAIT_GRACE_SECONDS
        container.wait = lambda **_: wait(timeout=seconds)
    return container


def _invoke_limited(self: LambdaFunction, event: str | None = None) -> tuple[str, bool, str]:
    _invoking.function = self
    try:
        return _invoke_lambda(self, event)
    finally:
        _invoking.function = None


def install() -> None:
    """Patch moto's function invocation (idempotent)."""
    LambdaFunction._invoke_lambda = _invoke_limited  # type: ignore[method-assign]
    ContainerCollection.run = _limited_run
