"""End to end: the `make deploy-local` path on the real local cloud, from deploy to `local down`.

Runs the same entry point as the Makefile (`python -m tooling local ...`) as subprocesses, in a copy of
the project (so changing the model version never touches the tracked tree), and always takes the local
cloud down afterwards, even when a step fails.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tooling.localcloud import hosts, registry
from tooling.localcloud.docker_engine import CERTS_DIRECTORY
from tooling.localcloud.moto_server import ENDPOINT_URL, PORT
from tooling.localcloud.registry_api import RegistryClient
from tooling.localcloud.verify import copy_function_log_group, log_streams
from tooling.project_copy import copy_project

pytestmark = pytest.mark.e2e

SUMMARY_KEYS = {"image_uri", "image_digest", "repository", "tag", "endpoint_url", "seconds"}


class LocalCloud:
    """Runs `python -m tooling local COMMAND` in the project copy."""

    def __init__(self, project: Path) -> None:
        self.project = project

    def run(self, command: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "tooling", "local", command],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"local {command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        return result

    def deploy(self) -> dict[str, object]:
        summary: dict[str, object] = json.loads(self.run("deploy").stdout.strip().splitlines()[-1])
        assert summary.keys() >= SUMMARY_KEYS
        return summary

    def set_model_version(self, version: str) -> None:
        metadata_file = self.project / "model_image" / "model" / "metadata.json"
        metadata = json.loads(metadata_file.read_text())
        metadata_file.write_text(json.dumps({**metadata, "version": version}, indent=2) + "\n")

    @property
    def registry(self) -> RegistryClient:
        return RegistryClient(registry.HOST, self.project / ".local-cloud" / "pki" / "ca.crt")

    def copy_invocations(self) -> int:
        return len(log_streams(ENDPOINT_URL, copy_function_log_group(ENDPOINT_URL)))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    local_cloud = LocalCloud(copy_project(tmp_path_factory.mktemp("local-cloud")))
    try:
        yield local_cloud
    finally:
        subprocess.run([sys.executable, "-m", "tooling", "local", "down"], cwd=local_cloud.project, check=False)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def predict_with_pulled_image(image: str) -> tuple[int, str]:
    """Pull `image` from the registry and run it ourselves: (/ping status, label of the setosa sample)."""
    subprocess.run(["docker", "pull", "--quiet", image], check=True, capture_output=True)
    container = subprocess.run(
        ["docker", "run", "--detach", "--publish", "127.0.0.1::8080", image], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        address = subprocess.run(
            ["docker", "port", container, "8080/tcp"], check=True, capture_output=True, text=True
        ).stdout.split()[0]
        deadline = time.monotonic() + 90
        while True:
            try:
                ping = requests.get(f"http://{address}/ping", timeout=2)
                if ping.ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the pulled image never answered /ping"
            time.sleep(0.5)
        prediction = requests.post(
            f"http://{address}/invocations", json={"instances": [[5.1, 3.5, 1.4, 0.2]]}, timeout=10
        )
        return ping.status_code, prediction.json()["predictions"][0]["label"]
    finally:
        subprocess.run(["docker", "rm", "--force", container], check=False, capture_output=True)


def test_deploy_redeploy_change_diff_destroy_down(cloud: LocalCloud) -> None:
    version = json.loads((cloud.project / "model_image/model/metadata.json").read_text())["version"]

    first = cloud.deploy()
    tag = str(first["tag"])
    assert tag.startswith(f"{version}-") and first["copied"] is True
    assert first["image_uri"] == f"{registry.HOST}/{first['repository']}:{tag}"
    assert cloud.registry.manifest_digest(str(first["repository"]), tag) == first["image_digest"]
    assert predict_with_pulled_image(f"{registry.HOST}/{first['repository']}@{first['image_digest']}") == (
        200,
        "setosa",
    )

    invocations = cloud.copy_invocations()
    again = cloud.deploy()
    assert (again["tag"], again["image_digest"], again["copied"]) == (tag, first["image_digest"], False)
    assert cloud.copy_invocations() == invocations, "a no-op redeploy must not run the copy again"

    cloud.set_model_version(f"{version}.e2e")
    pending = cloud.run("diff")
    assert f"{version}.e2e-" in pending.stderr + pending.stdout, "the diff must show the new image tag"

    changed = cloud.deploy()
    assert str(changed["tag"]).startswith(f"{version}.e2e-") and changed["copied"] is True
    assert set(cloud.registry.tags(str(first["repository"]))) == {tag, changed["tag"]}, "the old tag must stay"

    settled = cloud.run("diff")
    assert (settled.stderr + settled.stdout).count("There were no differences") == 2

    cloud.run("destroy")
    assert cloud.registry.tags(str(first["repository"])) == []
    ecr_repositories = subprocess.run(
        [sys.executable, "-c", "from tooling.localcloud import aws; print([r['repositoryName'] for r in "
         f"aws.client('ecr', {ENDPOINT_URL!r}).describe_repositories()['repositories']])"],
        cwd=cloud.project, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert str(first["repository"]) not in ecr_repositories

    cloud.run("down")
    assert not listening(PORT) and not listening(registry.ADDRESS[1]), "nothing may be left listening"
    assert not any(line.endswith(hosts.MARKER) for line in hosts.HOSTS_FILE.read_text().splitlines())
    assert not (CERTS_DIRECTORY / registry.HOST).exists()
