"""The servers the serving benchmark compares, each run as users run it, from its own virtual environment.

- `model_server`: ours, the `model-server` distribution of `model_image/` installed as the image installs it,
  over the image's pinned `requirements.txt`, started as the image
  starts it (`python -m model_server serve`), ONNX Runtime.
- `gunicorn_flask`: `gunicorn -w 2` + Flask + the scikit-learn pipeline, pickled, on `/invocations`.
- `mlserver`: MLServer with its scikit-learn runtime (`mlserver-sklearn`) and 2 parallel inference workers.
- `kserve`: KServe's Python model server with a custom `Model` on ONNX Runtime, 2 uvicorn workers.

Each gets 2 workers and listens on 127.0.0.1 only. The peers' requirement files and code are in `peers/`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from delivery_tools.benchmarks.answers import MODEL_NAME
from delivery_tools.common.http import free_port, wait_for_ping
from delivery_tools.common.project import find_project_root

REPO = find_project_root(Path(__file__).resolve().parent)
MODEL_IMAGE_DIR = REPO / "model_image"
PEERS_DIR = Path(__file__).resolve().parent / "peers"
WORKERS = 2
HOST = "127.0.0.1"
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Models:
    """The same trained model in the two forms the servers load."""

    onnx_dir: Path  # iris.onnx + metadata.json, as the image ships them
    sklearn_file: Path  # the pipeline the training code fits, written with joblib


@dataclass(frozen=True)
class Launch:
    command: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass(frozen=True)
class Server:
    """A server under test: where its environment comes from, what it speaks, how it starts."""

    key: str
    label: str
    requirements: Path
    protocols: tuple[str, ...]
    ready_path: str
    launch: Callable[[Path, int, Models, Path], Launch]  # (python, port, models, scratch directory)
    package: Path | None = None  # a local distribution installed into the environment too


def _ours(python: Path, port: int, models: Models, scratch: Path) -> Launch:
    env = {"HOST": HOST, "PORT": str(port), "WORKERS": str(WORKERS), "MODEL_DIR": str(models.onnx_dir)}
    return Launch([str(python), "-m", "model_server", "serve"], scratch, env)


def _gunicorn_flask(python: Path, port: int, models: Models, scratch: Path) -> Launch:
    command = [str(python), "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"{HOST}:{port}"]
    return Launch([*command, "flask_app:app"], PEERS_DIR / "gunicorn_flask", {"BENCH_MODEL": str(models.sklearn_file)})


def _mlserver(python: Path, port: int, models: Models, scratch: Path) -> Launch:
    """MLServer reads its settings from files in the folder it is started on."""
    folder = scratch / f"mlserver-{port}"
    (folder / MODEL_NAME).mkdir(parents=True)
    settings = {
        "host": HOST,
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": WORKERS,
    }
    model_settings = {
        "name": MODEL_NAME,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": str(models.sklearn_file), "version": "1.0.0"},
    }
    (folder / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    (folder / MODEL_NAME / "model-settings.json").write_text(json.dumps(model_settings), encoding="utf-8")
    return Launch([str(python.with_name("mlserver")), "start", str(folder)], scratch, {})


def _kserve(python: Path, port: int, models: Models, scratch: Path) -> Launch:
    script = PEERS_DIR / "kserve" / "kserve_server.py"
    arguments = ["--model_dir", str(models.onnx_dir), "--model_name", MODEL_NAME, "--http_port", str(port)]
    return Launch(
        [str(python), str(script), *arguments, "--workers", str(WORKERS), "--enable_grpc", "false"], scratch, {}
    )


SERVERS: tuple[Server, ...] = (
    Server(
        "model_server",
        "ours (model_server, ONNX)",
        MODEL_IMAGE_DIR / "requirements.txt",
        ("ping", "v2", "v2_binary", "sagemaker"),
        "/ping",
        _ours,
        MODEL_IMAGE_DIR,
    ),
    Server(
        "gunicorn_flask",
        "gunicorn -w 2 + Flask + scikit-learn",
        PEERS_DIR / "gunicorn_flask" / "requirements.txt",
        ("sagemaker",),
        "/ping",
        _gunicorn_flask,
    ),
    Server(
        "mlserver",
        "MLServer + mlserver-sklearn",
        PEERS_DIR / "mlserver" / "requirements.txt",
        ("v2",),
        f"/v2/models/{MODEL_NAME}/ready",
        _mlserver,
    ),
    Server(
        "kserve",
        "KServe Model + ONNX Runtime",
        PEERS_DIR / "kserve" / "requirements.txt",
        ("v2",),
        f"/v2/models/{MODEL_NAME}/ready",
        _kserve,
    ),
)
OURS = SERVERS[0]


def _tail(log_file: Path, chars: int = 4000) -> str:
    return log_file.read_text(errors="replace")[-chars:] if log_file.exists() else "(no output)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (it and the workers it started); SIGKILL to what is left."""
    group = process.pid
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


@contextmanager
def running(server: Server, python: Path, models: Models, scratch: Path, log_file: Path) -> Iterator[tuple[str, float]]:
    """Start `server` on a free loopback port; yield its base URL and cold start (process start -> first 200 on
    its readiness path). It and every process it started are stopped on leaving, also after an error."""
    port = free_port()
    launch = server.launch(python, port, models, scratch)
    base_url = f"http://{HOST}:{port}"
    with log_file.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            launch.command,
            cwd=launch.cwd,
            env={**os.environ, **launch.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that stopping it reaches its workers
        )
        try:
            wait_for_ping(
                base_url,
                READY_TIMEOUT_S,
                path=server.ready_path,
                alive=lambda: process.poll() is None,
                describe=lambda: _tail(log_file),
                poll_seconds=0.005,
            )
            yield base_url, time.perf_counter() - started
        finally:
            _stop(process)
