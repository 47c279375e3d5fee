"""The model image built from the local Debian base and run with docker: the contract SageMaker and ECS rely on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.image

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "local/python-base:bookworm"
IMAGE = "local/model-server:test"
WaitForPing = Callable[..., None]


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def engine_answers() -> bool:
    try:
        return docker("version", "--format", "{{.Server.Version}}", check=False, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def image() -> str:
    if not engine_answers():
        pytest.skip("no docker engine answers `docker version`: start dockerd to run the image tests")
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        make_base_image = [str(Path(sys.executable).with_name("local-cloud")), "base-image"]
        made = subprocess.run(make_base_image, cwd=REPO, capture_output=True, text=True, check=False)
        assert made.returncode == 0, f"could not make {BASE_IMAGE}: {made.stdout}{made.stderr}"
    built = build(REPO / "model_image", IMAGE)
    assert built.returncode == 0, built.stdout + built.stderr
    MAIN_BUILD_STEPS.update(step_images(built))
    return IMAGE


# Images of the main build's steps: the cache every other build here reuses, never removed by the tests.
MAIN_BUILD_STEPS: set[str] = set()


def step_images(built: subprocess.CompletedProcess[str]) -> list[str]:
    """The image each step of a classic ``docker build`` committed, in order."""
    return re.findall(r"---> ([0-9a-f]{12})\b", built.stdout)


def remove_step_images(built: subprocess.CompletedProcess[str]) -> None:
    """Remove what a test's build added to the engine (shared with others), latest first; the main
    build's cached steps, and images others depend on, stay."""
    for step in reversed(step_images(built)):
        if step not in MAIN_BUILD_STEPS:
            docker("rmi", step, check=False)


def build(context: Path, tag: str | None = None) -> subprocess.CompletedProcess[str]:
    """``docker build`` of ``context`` from the local base; intermediate containers removed even on failure."""
    tagging = ["-t", tag] if tag else []
    return docker("build", "--force-rm", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", *tagging, str(context), check=False)


def http(port: int, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.load(response)


def published_port(container: str, port: int = 8080) -> int:
    return int(docker("port", container, f"{port}/tcp").stdout.splitlines()[0].rsplit(":", 1)[1])


def start(image: str, *args: str, port: int = 8080) -> str:
    name = f"model-server-test-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "-p", f"127.0.0.1::{port}", *args)
    return name


@pytest.fixture(scope="module")
def container(image: str, wait_for_ping: WaitForPing) -> Iterator[tuple[str, int]]:
    """The image as a locked-down ECS task runs it: no arguments, one CPU of quota, read-only root file
    system, no capabilities, no privilege escalation; a fast health-check interval for the test."""
    name = start(
        image,
        "--cpus",
        "1",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--health-interval",
        "1s",
        "--health-start-period",
        "1s",
        image,
    )
    try:
        port = published_port(name)
        wait_for_ping(port, timeout_s=60)
        yield name, port
    finally:
        docker("rm", "-f", name, check=False)


def test_image_serves_both_protocols(container: tuple[str, int]) -> None:
    _, port = container
    status, body = http(port, "/invocations", {"instances": [[5.1, 3.5, 1.4, 0.2]]})
    assert status == 200
    assert body["predictions"][0]["label"] == "setosa"
    request = {
        "id": "x",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [6.9, 3.1, 5.4, 2.1]}],
    }
    status, body = http(port, "/v2/models/iris/infer", request)
    assert (status, body["id"], body["outputs"][0]["data"]) == (200, "x", ["virginica"])


def test_image_runs_as_non_root_without_scikit_learn(image: str, container: tuple[str, int]) -> None:
    name, _ = container
    assert docker("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip() == "10001:10001"
    assert docker("exec", name, "id", "-u").stdout.strip() == "10001"
    assert docker("exec", name, "python3", "-c", "import sklearn", check=False).returncode != 0
    assert docker("exec", name, "python3", "-c", "import onnxruntime").returncode == 0
    # The server's user may read the model but not replace it, even without --read-only.
    owner, mode = docker("exec", name, "stat", "-c", "%u %a", "/opt/ml/model/iris.onnx").stdout.split()
    assert owner == "0"
    assert int(mode, 8) & 0o022 == 0


def test_worker_count_follows_the_cpu_quota(container: tuple[str, int]) -> None:
    name, _ = container
    lines = [json.loads(line) for line in docker("logs", name).stdout.splitlines()]
    loaded = [line for line in lines if line["message"] == "model loaded"]
    assert loaded and {(line["workers"], line["ort_threads"]) for line in loaded} == {(1, 1)}


def test_healthcheck_turns_healthy_without_curl(container: tuple[str, int]) -> None:
    name, _ = container
    assert docker("exec", name, "sh", "-c", "command -v curl || command -v wget", check=False).returncode != 0
    deadline = time.monotonic() + 30
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()
        if status == "healthy":
            break
        time.sleep(0.5)
    assert status == "healthy"


def test_sagemaker_style_run_serves_and_stops_cleanly(image: str, wait_for_ping: WaitForPing) -> None:
    """SageMaker runs `IMAGE serve` and may move the port; `docker stop` (SIGTERM) must exit 0."""
    name = start(image, "-e", "SAGEMAKER_BIND_TO_PORT=9090", image, "serve", port=9090)
    try:
        port = published_port(name, 9090)
        wait_for_ping(port, timeout_s=60)
        docker("stop", "--time", "30", name)  # after 30 s docker would SIGKILL: exit code 137, not 0
        assert docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        docker("rm", "-f", name, check=False)


@pytest.fixture
def context_copy(tmp_path: Path, image: str) -> Path:
    """A copy of the image's build context to change (the image fixture built the original, so the cache holds
    every unchanged layer)."""
    context = tmp_path / "model_image"
    shutil.copytree(REPO / "model_image", context, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return context


def test_a_model_with_one_flipped_byte_fails_the_build(context_copy: Path) -> None:
    artifact = context_copy / "model" / "iris.onnx"
    content = bytearray(artifact.read_bytes())
    content[len(content) // 2] ^= 0x01
    artifact.write_bytes(bytes(content))
    built = build(context_copy)
    remove_step_images(built)
    assert built.returncode != 0
    assert "model verification failed: sha256 of /opt/ml/model/iris.onnx is" in built.stdout + built.stderr


def layers(image: str) -> list[str]:
    layer_ids: list[str] = json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout)
    return layer_ids


def history(image: str) -> list[tuple[str, int]]:
    """(instruction, size in bytes) of each step that made ``image``, oldest first."""
    lines = docker("history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image).stdout
    steps = [line.split("\t", 1) for line in lines.splitlines()]
    return [(created_by, int(size)) for size, created_by in reversed(steps)]


def test_layers_are_ordered_by_how_often_they_change(image: str) -> None:
    """Dependencies, then weights and their recorded digests, then metadata, then the server's code, then the
    verification (no files)."""
    copies = [(step, size) for step, size in history(image) if "COPY" in step or "model-server verify" in step]
    assert [("verify" if "model-server verify" in step else step.split()[-1]) for step, _ in copies][-6:] == [
        "/opt/venv",
        "/opt/ml/model/",
        "/opt/ml/weights.sha256",
        "/opt/ml/model/metadata.json",
        "/",
        "verify",
    ]
    sizes = [size for _, size in copies[-6:]]
    assert sizes[0] > 50_000_000  # onnxruntime and numpy
    assert sizes[2] < 1_000  # one sha256sum line per model file
    assert sizes[4] < 250_000  # the server's code
    assert sizes[5] == 0  # verification writes nothing (onnxruntime's telemetry database included)


def test_a_code_change_rebuilds_only_the_code_layer(context_copy: Path, image: str) -> None:
    module = context_copy / "model_server" / "headers.py"
    module.write_text(module.read_text() + "\n# a code-only change\n")
    changed = f"local/model-server:test-{uuid.uuid4().hex[:8]}"
    built = build(context_copy, changed)
    try:
        assert built.returncode == 0, built.stdout + built.stderr
        before, after = layers(image), layers(changed)
        assert len(before) == len(after)
        differing = [index for index, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
        # The verification changes no file, so it adds no layer: the code's is the last.
        assert differing == [len(after) - 1]
    finally:
        docker("rmi", changed, check=False)
        remove_step_images(built)


def test_a_container_that_cannot_start_exits_with_its_cause_on_stderr(image: str) -> None:
    """What whoever watches the container reads: exit status 2 and one JSON line on stderr naming the cause."""
    ran = docker("run", "--rm", "-e", "MAX_BATCH_ROWS=lots", image, check=False, timeout=60)
    assert ran.returncode == 2
    assert ran.stdout == ""
    cause = json.loads(ran.stderr)
    assert cause["message"] == "invalid setting: MAX_BATCH_ROWS='lots' is not an integer"
