"""Pull the deployed image back from the repository, run it, and ask it for a real prediction."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.process import run

IRIS_SETOSA = [[5.1, 3.5, 1.4, 0.2]]
EXPECTED_LABEL = "setosa"
CONTAINER_PORT = 8080
READY_TIMEOUT_SECONDS = 90.0


@dataclass(frozen=True)
class SmokeResult:
    endpoint_url: str
    label: str


def _wait_until_ready(base_url: str, container: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/ping", timeout=2).status_code == requests.codes.ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    logs = run(["docker", "logs", "--tail", "40", container]).stderr
    raise LocalCloudError(f"{base_url}/ping did not answer 200 within {READY_TIMEOUT_SECONDS:.0f} s; logs:\n{logs}")


def predict(base_url: str) -> str:
    """POST one iris sample to /invocations and return the predicted label."""
    response = requests.post(f"{base_url}/invocations", json={"instances": IRIS_SETOSA}, timeout=10)
    if response.status_code != requests.codes.ok:
        raise LocalCloudError(f"POST {base_url}/invocations answered {response.status_code}: {response.text[:500]}")
    try:
        return str(response.json()["predictions"][0]["label"])
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise LocalCloudError(f"unexpected /invocations answer {response.text[:500]!r}") from error


def smoke_test(image_reference: str) -> SmokeResult:
    """Pull `image_reference` (by digest: only the registry can serve it), serve it on a loopback port,
    check /ping and that the setosa sample is labelled setosa; the container is removed either way."""
    run(["docker", "pull", "--quiet", image_reference], timeout=600)
    container = run(
        ["docker", "run", "--detach", "--publish", f"127.0.0.1::{CONTAINER_PORT}", image_reference]
    ).stdout.strip()
    try:
        address = run(["docker", "port", container, f"{CONTAINER_PORT}/tcp"]).stdout.split()[0]
        base_url = f"http://{address}"
        _wait_until_ready(base_url, container)
        label = predict(base_url)
        if label != EXPECTED_LABEL:
            raise LocalCloudError(
                f"the deployed model labelled {IRIS_SETOSA[0]} {label!r}, expected {EXPECTED_LABEL!r}"
            )
        return SmokeResult(base_url, label)
    finally:
        run(["docker", "rm", "--force", container])
