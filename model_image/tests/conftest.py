"""Fixtures: the real application (real model, body handling, routing) behind Starlette's in-process test client,
and the helpers the process, client and image tests share."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from model_server.app import create_app
from model_server.settings import Settings

MODEL_IMAGE_DIR = Path(__file__).resolve().parents[1]
IRIS_MODEL_DIR = MODEL_IMAGE_DIR / "model"


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: the committed model, one worker, defaults otherwise."""
    base = Settings.from_env(env={"WORKERS": "1", "LOG_LEVEL": "warning"})
    return dataclasses.replace(base, model_dir=IRIS_MODEL_DIR, **overrides)


@contextmanager
def running_client(**overrides: Any) -> Iterator[TestClient]:
    """A test client whose lifespan (model loading) has run; never raises server exceptions into the test,
    so a 500 shows up as a status code the test can assert on."""
    with TestClient(create_app(make_settings(**overrides)), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def iris_model_dir() -> Path:
    """The committed iris model directory (metadata.json + iris.onnx)."""
    return IRIS_MODEL_DIR


@pytest.fixture(scope="session")
def model_image_dir() -> Path:
    """The model server's distribution directory (the image's build context)."""
    return MODEL_IMAGE_DIR


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    """The default server, shared by the fast tests (it is stateless)."""
    with running_client() as shared:
        yield shared


@pytest.fixture
def client_with() -> Callable[..., AbstractContextManager[TestClient]]:
    """Factory for a server with non-default settings (small limits)."""
    return running_client


@pytest.fixture(scope="session")
def v2_request() -> Callable[..., dict[str, Any]]:
    """Builds an Open Inference Protocol infer request for the iris input tensor."""

    def build(data: Any, shape: Any = None, **fields: Any) -> dict[str, Any]:
        shape = [len(data), 4] if shape is None else shape
        return {"inputs": [{"name": "input", "datatype": "FP32", "shape": shape, "data": data}], **fields}

    return build


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """Returns a loopback port nothing listens on right now."""

    def pick() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    return pick


@pytest.fixture(scope="session")
def wait_for_ping() -> Callable[..., None]:
    """Waits for a model server, in a process or a container, to answer ``/ping`` with 200."""

    def wait(port: int, timeout_s: float, still_running: Callable[[], None] = lambda: None) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            still_running()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"/ping did not answer 200 within {timeout_s} s")

    return wait


ServerProcess = tuple["subprocess.Popen[bytes]", int]


@contextmanager
def served_process(
    model_dir: Path, port: int, wait: Callable[..., None], **environment: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``model-server serve`` on ``port`` with ``model_dir`` (one worker unless ``environment`` says
    otherwise), once ``/ping`` answers; killed on exit if still running."""
    env = {**os.environ, "PORT": str(port), "WORKERS": "1", "MODEL_DIR": str(model_dir), **environment}
    command = [sys.executable, "-m", "model_server", "serve"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def still_running() -> None:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else b""
            raise AssertionError(f"server exited with {process.returncode}: {output!r}")

    try:
        wait(port, 60, still_running)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def start_server(
    iris_model_dir: Path, free_port: Callable[[], int], wait_for_ping: Callable[..., None]
) -> Iterator[Callable[..., ServerProcess]]:
    """Starts iris servers with extra environment variables for one test; all are stopped after it."""
    with ExitStack() as stack:

        def start(**environment: str) -> ServerProcess:
            port = free_port()
            return stack.enter_context(served_process(iris_model_dir, port, wait_for_ping, **environment)), port

        yield start


@pytest.fixture(scope="session")
def iris_server(
    iris_model_dir: Path, free_port: Callable[[], int], wait_for_ping: Callable[..., None]
) -> Iterator[int]:
    """The port of one iris server process with default settings, shared by the real-client tests."""
    port = free_port()
    with served_process(iris_model_dir, port, wait_for_ping):
        yield port
