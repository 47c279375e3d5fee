"""The local cloud holds a function to its memory, /tmp size and timeout, as AWS Lambda does: too small fails.

moto runs here in-process with the local cloud's Lambda fix, and starts each function in the local cloud's
real Lambda runtime image (made by `local-cloud up`) with the Runtime API shim. The function is a custom
runtime that fills /tmp, holds memory or sleeps as its event asks; each limit is shown to hold just above
what the function needs and to fail just below.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from docker.models.containers import ContainerCollection
from docker.models.volumes import VolumeCollection
from moto import mock_aws
from moto.awslambda.models import LambdaFunction, _DockerDataVolumeContext

from delivery_tools.localcloud.images.lambda_runtime.image import LAMBDA_IMAGE
from delivery_tools.localcloud.moto_fixes import lambda_code, lambda_container
from delivery_tools.localcloud.services import moto as moto_service

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
BOOTSTRAP = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import json, os, time, urllib.request
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
    with urllib.request.urlopen(api + "/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read())
    with open("/tmp/fill", "wb") as fill:
        for _ in range(event.get("tmp_mib", 0)):
            fill.write(os.urandom(1 << 20))
    held = [os.urandom(1 << 20) for _ in range(event.get("memory_mib", 0))]
    time.sleep(event.get("sleep", 0))
    body = json.dumps({"held_mib": len(held)}).encode()
    urllib.request.urlopen(urllib.request.Request(api + "/invocation/" + request_id + "/response", data=body))
    """
)


def function_zip(comment: str = "") -> bytes:
    """The function's code; another `comment` makes another digest, which moto has not unpacked yet."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        entry = zipfile.ZipInfo("bootstrap")
        entry.external_attr = 0o755 << 16
        package.writestr(entry, BOOTSTRAP + f"# {comment}\n")
    return archive.getvalue()


@dataclass
class Functions:
    """moto's Lambda API in this process, and a role its functions may name."""

    client: Any
    role: str


@pytest.fixture
def functions(machine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Functions]:
    """A Lambda client of moto in this process, with the fix installed and the local cloud's runtime image."""
    machine.checkout(tmp_path).ok("up")  # makes the Lambda runtime image and busybox, which moto runs
    patched = (
        (LambdaFunction, "_invoke_lambda"),
        (ContainerCollection, "run"),
        (VolumeCollection, "create"),
        (_DockerDataVolumeContext, "__exit__"),
    )
    for owner, name in patched:
        monkeypatch.setattr(owner, name, inspect.getattr_static(owner, name))  # undone after the test
    lambda_container.install()
    lambda_code.install()
    monkeypatch.setenv("MOTO_DOCKER_LAMBDA_IMAGE", LAMBDA_IMAGE)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="limits", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        yield Functions(boto3.client("lambda", region_name=REGION), role)


def create_function(
    functions: Functions, *, memory: int = 1024, tmp: int = 512, timeout: int = 60, comment: str = ""
) -> str:
    """A new function with these limits: its name."""
    name = f"limits-{memory}-{tmp}-{timeout}-{os.urandom(3).hex()}"
    functions.client.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Handler="bootstrap",
        Role=functions.role,
        Code={"ZipFile": function_zip(comment)},
        MemorySize=memory,
        EphemeralStorage={"Size": tmp},
        Timeout=timeout,
    )
    return name


def invoke_function(functions: Functions, name: str, **event: int) -> dict[str, Any]:
    """Invoke the function `name` once with `event`: its payload, or its error."""
    answer = functions.client.invoke(FunctionName=name, Payload=json.dumps(event))
    payload: dict[str, Any] = json.loads(answer["Payload"].read() or b"null") or {}
    return {"error": answer.get("FunctionError"), **payload}


def invoke(
    functions: Functions, *, memory: int = 1024, tmp: int = 512, timeout: int = 60, **event: int
) -> dict[str, Any]:
    """Create a function with these limits, invoke it once with `event`: its payload, or its error."""
    return invoke_function(functions, create_function(functions, memory=memory, tmp=tmp, timeout=timeout), **event)


def test_tmp_holds_its_ephemeral_storage_and_no_more(functions: Functions) -> None:
    assert invoke(functions, tmp=512, tmp_mib=400)["error"] is None
    too_much = invoke(functions, tmp=512, tmp_mib=600)
    assert too_much["error"] and "exited with status" in too_much["errorMessage"], too_much


def test_memory_holds_the_memory_size_and_no_more(functions: Functions) -> None:
    assert invoke(functions, memory=256, memory_mib=120) == {"error": None, "held_mib": 120}
    too_much = invoke(functions, memory=256, memory_mib=400)
    assert too_much["error"] and "exited with status" in too_much["errorMessage"], too_much


def test_the_function_is_stopped_at_its_timeout(functions: Functions) -> None:
    assert invoke(functions, timeout=10, sleep=2)["error"] is None
    late = invoke(functions, timeout=3, sleep=20)
    assert late["error"] and late["errorType"] == "Sandbox.Timedout", late


def test_the_code_is_unpacked_once_and_kept_in_a_volume_the_local_cloud_removes(
    functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    start = ContainerCollection.run

    def counted(self: ContainerCollection, image: str, command: Any = None, **kwargs: Any) -> Any:
        started.append(image)
        return start(self, image, command, **kwargs)

    monkeypatch.setattr(ContainerCollection, "run", counted)
    name = create_function(functions, comment=os.urandom(8).hex())
    assert invoke_function(functions, name) == invoke_function(functions, name) == {"error": None, "held_mib": 0}
    assert started == ["busybox", LAMBDA_IMAGE, LAMBDA_IMAGE], "moto's unpacking helper must run once"
    assert moto_service.code_volumes(), "the unpacked code is kept in a labelled volume"
    assert moto_service.remove_code_volumes() >= 1
    assert moto_service.code_volumes() == []
