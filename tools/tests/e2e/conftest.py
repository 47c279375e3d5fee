"""The machine's local cloud as the end-to-end tests find it, and how they leave it.

Every command runs the `local-cloud` entry point (as the Makefile does) in a copy of the project, as an
owner of the test's own, so the teardown undoes only what the test started: a local cloud that was running
before keeps running, one that was not is taken down again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config import EnvironmentSettings
from delivery_tools.common.http import port_open
from delivery_tools.common.project import copy_project, set_model_version
from delivery_tools.localcloud.deploy.verify import copy_function_log_group, log_streams, stage_stacks
from delivery_tools.localcloud.host_changes import records
from delivery_tools.localcloud.host_changes.records import OWNER_VARIABLE
from delivery_tools.localcloud.services import cfn_responses, moto, registry
from delivery_tools.localcloud.services.cloud import PROCESS, is_up
from delivery_tools.localcloud.services.ecr_hosts import PORT, registry_addresses
from delivery_tools.localcloud.services.registry import RegistryClient
from delivery_tools.localcloud.services.state import checkout_cdk_out, machine_state
from delivery_tools.localcloud.settings import LocalSettings, load_local_settings

LOCAL_CLOUD = Path(sys.executable).with_name("local-cloud")
SUMMARY_KEYS = {"image_uri", "image_digest", "repository", "tag", "endpoint_url", "copied", "environments", "seconds"}


def ctrl_c_as_at_a_terminal() -> None:
    """Give the child SIGINT's default action, as a terminal's foreground job has it: a test run in the
    background (e.g. `make test &`) starts with SIGINT ignored, and the child would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Checkout:
    """A copy of the project, and `local-cloud` run in it as the test's owner."""

    project: Path
    owner: str

    @property
    def settings(self) -> LocalSettings:
        return load_local_settings(self.project)

    def run(self, *command: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LOCAL_CLOUD), *command],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, OWNER_VARIABLE: self.owner},
        )

    def watch(
        self, command: str, react: Callable[[str, subprocess.Popen[str]], bool], *arguments: str, timeout: float = 1200
    ) -> tuple[int, list[str]]:
        """Run `local-cloud COMMAND [ARGUMENTS]`, calling `react(line, process)` on each output line until it
        returns True: (exit status, every line of stdout and stderr)."""
        process = subprocess.Popen(
            [str(LOCAL_CLOUD), command, *arguments],
            cwd=self.project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, OWNER_VARIABLE: self.owner},
            preexec_fn=ctrl_c_as_at_a_terminal,
        )
        lines, reacted = [], False
        assert process.stdout is not None
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                if not reacted:
                    reacted = react(line, process)
        finally:
            timer.cancel()
        return process.wait(), lines

    def ok(self, *command: str) -> subprocess.CompletedProcess[str]:
        result = self.run(*command)
        assert result.returncode == 0, (
            f"local-cloud {command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
        return result

    def use_a_new_model_version(self) -> None:
        """Give the checkout a model version no earlier deploy used, so its first deploy copies into every
        environment whatever the machine's local cloud already holds (e.g. after `make deploy-local`)."""
        set_model_version(self.project, f"{self.settings.model_version}.{uuid.uuid4().hex[:8]}")

    def deploy(self, *environment: str) -> dict[str, Any]:
        """`local-cloud deploy [ENV]`: its JSON summary."""
        summary: dict[str, Any] = json.loads(self.ok("deploy", *environment).stdout.strip().splitlines()[-1])
        assert summary.keys() >= SUMMARY_KEYS
        return summary

    @property
    def registry(self) -> RegistryClient:
        return self.registry_of(self.settings.home)

    def copy_invocations(self) -> int:
        home = self.settings.home
        stacks = stage_stacks(checkout_cdk_out(self.project), home.name)
        group = copy_function_log_group(moto.ENDPOINT_URL, home.region, home.account, stacks)
        return len(log_streams(moto.ENDPOINT_URL, home.region, home.account, group))

    def nothing_listens(self) -> bool:
        """True when neither moto, the ECR proxy (on any address this checkout's hosts would get) nor the
        CloudFormation response front listens."""
        addresses = [(address, PORT) for address in registry_addresses(self.settings.registry_hosts).values()]
        front = (cfn_responses.ADDRESS, cfn_responses.PORT)
        return not any(port_open(address) for address in [("127.0.0.1", moto.PORT), front, *addresses])

    def registry_of(self, environment: EnvironmentSettings) -> RegistryClient:
        """The registry host of `environment`'s account, through the ECR proxy."""
        return RegistryClient(environment.registry_host, machine_state().pki / "ca.crt")


@dataclass
class Machine:
    """What the tests share: whether the local cloud ran before them, and their owner name."""

    was_up: bool
    owner: str
    source: Path

    def owns_the_services(self) -> bool:
        """True when this test session started the running moto and registry (so it may stop them)."""
        mine = {item.target for item in records.owned(machine_state().records, self.owner, PROCESS)}
        return {moto.SERVICE, registry.SERVICE} <= mine

    def checkout(self, directory: Path) -> Checkout:
        return Checkout(copy_project(directory, self.source), self.owner)


@pytest.fixture(scope="session")
def machine(project_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    state = machine_state()
    shared = Machine(was_up=is_up(state), owner=f"e2e-{uuid.uuid4().hex[:8]}", source=project_root)
    cleanup = shared.checkout(tmp_path_factory.mktemp("cleanup"))
    try:
        yield shared
    finally:
        if is_up(state):
            cleanup.run("destroy", "--delete-retained")
        cleanup.ok("down")
        if shared.was_up:
            assert is_up(state), "a local cloud that was running before the tests must still run"
        else:
            assert cleanup.nothing_listens()
