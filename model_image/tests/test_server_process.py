"""The real server process (uvicorn, httptools, uvloop) on a loopback port, as `make serve` runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

ServerProcess = tuple["subprocess.Popen[bytes]", int]
BODY = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2], [6.9, 3.1, 5.4, 2.1]]}).encode()
SERVE = [sys.executable, "-m", "model_server", "serve"]


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def server(request: pytest.FixtureRequest, start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server(WORKERS=str(request.param), GRACEFUL_TIMEOUT_S="10")


def post_partially(port: int) -> socket.socket:
    """Start a request and leave it in flight: headers and half of the body sent."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=15)
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\nX-Request-Id: in-flight-1\r\n\r\n"
    ).encode()
    connection.sendall(head + BODY[: len(BODY) // 2])
    return connection


def read_response(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def healthcheck(port: int) -> int:
    """Exit code of the image's HEALTHCHECK command against ``port``."""
    env = {**os.environ, "PORT": str(port)}
    return subprocess.run([sys.executable, "-m", "model_server", "healthcheck"], env=env, check=False).returncode


def test_serves_predictions_logs_json_and_drains_on_sigterm(server: tuple[subprocess.Popen[bytes], int]) -> None:
    process, port = server
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations", data=BODY, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        labels = [p["label"] for p in json.load(response)["predictions"]]
    assert labels == ["setosa", "virginica"]
    assert healthcheck(port) == 0

    in_flight = post_partially(port)
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    time.sleep(1.0)  # the supervisor has relayed SIGTERM; the worker is draining
    in_flight.sendall(BODY[len(BODY) // 2 :])
    answer = read_response(in_flight)
    in_flight.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b'"label":"setosa"' in answer

    assert process.wait(timeout=30) == 0
    log_lines = [json.loads(line) for line in process.stdout.read().splitlines()]  # type: ignore[union-attr]
    access = [line for line in log_lines if line["logger"] == "model_server.access"]
    assert {"request_id", "method", "path", "status", "duration_ms", "time"} <= set(access[0])
    drained = [line for line in access if line["request_id"] == "in-flight-1"]
    assert drained and drained[0]["status"] == 200
    assert healthcheck(port) == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_model_that_fails_verification_stops_the_server_with_its_cause_on_stderr(
    tmp_path: Path, iris_model_dir: Path, free_port: Callable[[], int], workers: int
) -> None:
    """Exit 3, and one cause line on stderr per worker process that could not start."""
    shutil.copytree(iris_model_dir, tmp_path / "model")
    (tmp_path / "model" / "iris.onnx").write_bytes(b"not the trained model")
    env = {**os.environ, "PORT": str(free_port()), "WORKERS": str(workers), "MODEL_DIR": str(tmp_path / "model")}
    completed = subprocess.run(SERVE, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 3
    lines = completed.stderr.splitlines()
    assert 1 <= len(lines) <= workers, completed.stderr
    for line in lines:
        cause = json.loads(line)
        assert cause["level"] == "critical"
        assert cause["message"].startswith("cannot serve: sha256 of ")


def test_an_invalid_setting_exits_2_naming_the_variable_on_stderr() -> None:
    env = {**os.environ, "MAX_BATCH_ROWS": "lots"}
    completed = subprocess.run(SERVE, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 2
    assert json.loads(completed.stderr) == {
        "time": json.loads(completed.stderr)["time"],
        "level": "critical",
        "logger": "model_server",
        "message": "invalid setting: MAX_BATCH_ROWS='lots' is not an integer",
    }
    assert completed.stdout == ""
