"""Pull a model image, run it, and ask it for a real prediction (the deploy's and the e2e test's check)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from delivery_tools.common.commands import run
from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import wait_for_ping

IRIS_SETOSA = [[5.1, 3.5, 1.4, 0.2]]
EXPECTED_LABEL = "setosa"
# metadata.json's key for a sample and its label (generated models carry one; the iris model's is the default).
SMOKE_KEY = "smoke_test"
CONTAINER_PORT = 8080
READY_TIMEOUT_SECONDS = 90.0


@dataclass(frozen=True)
class SmokeResult:
    endpoint_url: str
    label: str


@dataclass(frozen=True)
class Sample:
    """One input row and the label the model must give it."""

    instances: list[list[float]]
    label: str

    @classmethod
    def of_model(cls, metadata_file: Path) -> Sample:
        """The sample in the model's metadata.json, else iris setosa: a model other than iris says what it
        answers, so the deploy's check still asks for one exact label."""
        sample = json.loads(metadata_file.read_text()).get(SMOKE_KEY)
        if sample is None:
            return cls(IRIS_SETOSA, EXPECTED_LABEL)
        return cls([[float(value) for value in row] for row in sample["instances"]], str(sample["label"]))


IRIS = Sample(IRIS_SETOSA, EXPECTED_LABEL)


def predict(base_url: str, instances: list[list[float]] = IRIS_SETOSA) -> str:
    """POST `instances` (one row) to /invocations and return the predicted label."""
    response = requests.post(f"{base_url}/invocations", json={"instances": instances}, timeout=10)
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


def smoke_test(image_reference: str, *, pull: bool = True, sample: Sample = IRIS) -> SmokeResult:
    """Pull `image_reference` (by digest: only the registry can serve it), serve it on a loopback port,
    check /ping and that `sample` gets its label; the container is removed either way."""
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
        label = predict(base_url, sample.instances)
        if label != sample.label:
            raise ToolError(
                f"the model of {image_reference} labelled {sample.instances[0]} {label!r}, not {sample.label!r}"
            )
        return SmokeResult(base_url, label)
    finally:
        run(["docker", "rm", "--force", container])
