"""Pull a model image, run it, and ask it for a real prediction (the deploy's and the e2e test's check)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import requests

from delivery_tools.common.commands import run
from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import wait_for_ping

IRIS_SETOSA = [[5.1, 3.5, 1.4, 0.2]]
EXPECTED_LABEL = "setosa"
CONTAINER_PORT = 8080
READY_TIMEOUT_SECONDS = 90.0


@dataclass(frozen=True)
class SmokeResult:
    endpoint_url: str
    label: str


def predict(base_url: str) -> str:
    """POST one iris sample to /invocations and return the predicted label."""
    response = requests.post(f"{base_url}/invocations", json={"instances": IRIS_SETOSA}, timeout=10)
    if response.status_code != requests.codes.ok:
        raise ToolError(f"POST {base_url}/invocations answered {response.status_code}: {response.text[:500]}")
    try:
        return str(response.json()["predictions"][0]["label"])
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise ToolError(f"unexpected /invocations answer {response.text[:500]!r}") from error


def container_running(container: str) -> bool:
    inspected = run(["docker", "inspect", "--format", "{{.State.Running}}", container])
    return inspected.stdout.strip() == "true"


def container_output(container: str) -> str:
    """Everything the container wrote, stdout and stderr interleaved as docker recorded them."""
    logs = subprocess.run(["docker", "logs", container], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    return logs.stdout.decode(errors="replace").strip() or "(no output)"


def smoke_test(image_reference: str, *, pull: bool = True) -> SmokeResult:
    """Pull `image_reference` (by digest: only the registry can serve it), serve it on a loopback port,
    check /ping and that the setosa sample is labelled setosa; the container is removed either way."""
    if pull:
        run(["docker", "pull", "--quiet", image_reference], timeout=600)
    container = run(
        ["docker", "run", "--detach", "--publish", f"127.0.0.1::{CONTAINER_PORT}", image_reference]
    ).stdout.strip()
    try:
        address = run(["docker", "port", container, f"{CONTAINER_PORT}/tcp"]).stdout.split()[0]
        base_url = f"http://{address}"
        wait_for_ping(
            base_url,
            READY_TIMEOUT_SECONDS,
            alive=lambda: container_running(container),
            describe=lambda: container_output(container),
        )
        label = predict(base_url)
        if label != EXPECTED_LABEL:
            raise ToolError(
                f"the model of {image_reference} labelled {IRIS_SETOSA[0]} {label!r}, not {EXPECTED_LABEL!r}"
            )
        return SmokeResult(base_url, label)
    finally:
        run(["docker", "rm", "--force", container])
