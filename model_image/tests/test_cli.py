"""The ``model-server`` command: uvicorn's configuration from the settings, and ``verify``."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model_server.cli import server_config
from model_server.http_protocol import HeaderTimeoutProtocol
from model_server.settings import Settings
from model_training.large_model import make_large_model


@pytest.mark.parametrize(("seconds", "whole"), [(0.2, 1), (2.5, 3), (20.0, 20)])
def test_uvicorn_drains_for_the_graceful_timeout_rounded_up(tmp_path: Path, seconds: float, whole: int) -> None:
    settings = dataclasses.replace(Settings.from_env(env={}, cgroup_root=tmp_path), graceful_timeout_s=seconds)
    assert server_config(settings).timeout_graceful_shutdown == whole


def test_uvicorn_gets_the_header_deadline_and_the_connection_limit(tmp_path: Path) -> None:
    settings = Settings.from_env(env={"HEADER_TIMEOUT_S": "2.5", "MAX_CONNECTIONS": "77"}, cgroup_root=tmp_path)
    config = server_config(settings)
    assert config.http is HeaderTimeoutProtocol
    assert (config.header_timeout_s, config.limit_concurrency) == (2.5, 77)


def model_server(model_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODEL_DIR": str(model_dir)}
    command = [sys.executable, "-m", "model_server", *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def verify(model_dir: Path) -> subprocess.CompletedProcess[str]:
    return model_server(model_dir, "verify")


def test_verify_names_what_it_checked(iris_model_dir: Path) -> None:
    checked = verify(iris_model_dir)
    assert (checked.returncode, checked.stderr) == (0, "")
    report = json.loads(checked.stdout)
    metadata = json.loads((iris_model_dir / "metadata.json").read_text())
    assert report["files"] == {"iris.onnx": metadata["sha256"]}


def test_verify_refuses_a_changed_artifact_with_exit_3(iris_model_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(iris_model_dir, tmp_path / "model")
    artifact = tmp_path / "model" / "iris.onnx"
    content = bytearray(artifact.read_bytes())
    content[100] ^= 0x01
    artifact.write_bytes(bytes(content))
    checked = verify(tmp_path / "model")
    assert (checked.returncode, checked.stdout) == (3, "")
    assert json.loads(checked.stderr)["message"].startswith("model verification failed: sha256 of ")


def test_verify_takes_recorded_digests_and_other_commands_refuse_them(tmp_path: Path) -> None:
    metadata = make_large_model(tmp_path / "model", 1 / 64)
    listed = subprocess.run(["sha256sum", "weights.bin"], cwd=tmp_path / "model", capture_output=True, check=True)
    recorded = tmp_path / "weights.sha256"
    recorded.write_bytes(listed.stdout)
    checked = model_server(tmp_path / "model", "verify", "--recorded-digests", str(recorded))
    assert (checked.returncode, checked.stderr) == (0, "")
    assert json.loads(checked.stdout)["files"]["weights.bin"] == metadata["external_data"]["weights.bin"]
    refused = model_server(tmp_path / "model", "serve", "--recorded-digests", str(recorded))
    assert refused.returncode == 2
    assert "--recorded-digests applies to verify only" in refused.stderr
