"""Faults injected into the real local cloud, each followed by the obvious next command.

Each test checks the message (one line, what happened and what to do next), that the next command
recovers, and that nothing deployed before was lost. The faults hit the build environment alone
(`local-cloud deploy local`, as a user deploys one environment): promotions add nothing to them and are
tested in test_accounts.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from delivery_tools.common.project import set_model_version
from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.deploy.verify import stage_stacks
from delivery_tools.localcloud.services import cfn_responses, ecr_hosts, moto, registry, supervisor
from delivery_tools.localcloud.services.cloud import is_up
from delivery_tools.localcloud.services.state import checkout_cdk_out, machine_state

pytestmark = pytest.mark.e2e


def stop_registry_at(prefix: str) -> Callable[[str, Any], bool]:
    """The fault: the registry's process goes away (as if it crashed) when a line starting with `prefix` shows."""

    def react(line: str, _: Any) -> bool:
        if not line.startswith(prefix):
            return False
        pid = supervisor.tracked_pid(machine_state(), registry.SERVICE)
        assert pid is not None, "the registry must run before it can be stopped"
        os.killpg(pid, signal.SIGKILL)
        return True

    return react


def last_line(lines: list[str]) -> str:
    return lines[-1] if lines else ""


@pytest.fixture
def deployed(machine: Any, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A checkout whose image is deployed (the state every fault starts from), under a tag of its own.

    The repositories are IMMUTABLE and the local cloud refuses, as ECR does, to copy a tag that exists: a
    fixture deploying the same version as an earlier test (after that test moved the stack to another tag)
    would fail there, so each test's version is new.
    """
    checkout = machine.checkout(tmp_path)
    checkout.use_a_new_model_version()
    return checkout, checkout.deploy(home(checkout))


def home(checkout: Any) -> str:
    """The build environment, the one every fault test deploys."""
    return str(checkout.settings.home.name)


def assert_nothing_lost(checkout: Any, before: dict[str, Any]) -> None:
    assert checkout.registry.manifest_digest(before["repository"], before["tag"]) == before["image_digest"]


def test_two_cold_starts_at_once_take_turns(machine: Any, tmp_path: Path) -> None:
    if is_up(machine_state()) and not machine.owns_the_services():
        pytest.skip("the local cloud was started by another owner: a cold start cannot be tested without stopping it")
    checkout = machine.checkout(tmp_path)
    checkout.ok("down")
    assert not is_up(machine_state())
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: checkout.run("up", timeout=900), range(2))
    for result in (first, second):
        assert result.returncode == 0, result.stdout + result.stderr
    waited = [
        result for result in (first, second) if "is starting or stopping the local cloud: waiting" in result.stdout
    ]
    assert len(waited) == 1, "the second start must wait for the first and say so"
    assert "reused" in waited[0].stdout
    state = machine_state()
    # Port 443 is shared: the ECR proxy on the registry hosts' addresses, CloudFormation's response front on
    # 127.0.0.1; every listener there must be one of ours, and each pid file must name a listener.
    for names, port in (((moto.SERVICE,), moto.PORT), ((ecr_hosts.SERVICE, cfn_responses.SERVICE), ecr_hosts.PORT)):
        tracked = {supervisor.tracked_pid(state, name) for name in names}
        assert supervisor.listener_pids(port) == tracked, f"the pid files of {', '.join(names)} are wrong"


def test_registry_stopped_during_the_asset_push(deployed: tuple[Any, dict[str, Any]]) -> None:
    checkout, before = deployed
    set_model_version(checkout.project, f"{checkout.settings.model_version}.push-fault")  # a new image to push
    status, lines = checkout.watch("deploy", stop_registry_at("==> cdk deploy"), home(checkout))
    assert status == 1
    every_host = ", ".join(f"https://{host}/v2" for host in checkout.settings.registry_hosts)
    assert last_line(lines) == (
        f"local-cloud deploy: error: the local registry ({every_host}) stopped "
        "during the deploy, so the image could not be pushed or copied: run `local-cloud deploy` again "
        "(it restarts the registry)"
    )
    after = checkout.deploy(home(checkout))
    assert after["copied"] is True and after["tag"] != before["tag"]
    assert_nothing_lost(checkout, before)


def stage_statuses(checkout: Any) -> set[str]:
    """The CloudFormation status of every stack of the checkout's home stage."""
    home = checkout.settings.home
    cloudformation = account_client("cloudformation", moto.ENDPOINT_URL, home.region, home.account)
    return {
        cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        for name in stage_stacks(checkout_cdk_out(checkout.project), home.name)
    }


def test_a_copy_that_fails_rolls_the_stack_back_and_the_next_deploy_copies_again(
    deployed: tuple[Any, dict[str, Any]],
) -> None:
    checkout, before = deployed
    set_model_version(checkout.project, f"{checkout.settings.model_version}.copy-fault")  # a new tag to copy
    # The image is pushed; the registry goes before the copy Lambda reads it, so the copy fails.
    stop = stop_registry_at("")
    status, lines = checkout.watch(
        "deploy",
        lambda line, process: "success: Published" in line and "Template" not in line and stop(line, process),
        home(checkout),
    )
    output = "\n".join(lines)
    assert status == 1, output
    assert "UPDATE_ROLLBACK_COMPLETE" in stage_statuses(checkout), "the failed copy must roll the stack back"
    assert last_line(lines).startswith("local-cloud deploy: error: the local registry (")
    after = checkout.deploy(home(checkout))
    assert after["copied"] is True and after["tag"] != before["tag"]
    assert "UPDATE_ROLLBACK_COMPLETE" not in stage_statuses(checkout)
    assert checkout.registry.manifest_digest(after["repository"], after["tag"]) == after["image_digest"]
    assert_nothing_lost(checkout, before)


def test_registry_gone_during_verification(deployed: tuple[Any, dict[str, Any]]) -> None:
    checkout, before = deployed
    status, lines = checkout.watch("deploy", stop_registry_at("==> Verify"), home(checkout))
    assert status == 1
    assert last_line(lines) == (
        f"local-cloud deploy: error: the local registry (https://{checkout.settings.home.registry_host}/v2) does not "
        "answer: it was stopped; run `local-cloud deploy` again to restart it"
    )
    again = checkout.deploy(home(checkout))
    assert (again["tag"], again["copied"]) == (before["tag"], False)
    assert_nothing_lost(checkout, before)


def test_a_configuration_error_leaves_the_running_cloud_alone(deployed: tuple[Any, dict[str, Any]]) -> None:
    checkout, before = deployed
    environment = home(checkout)
    cdk_json = checkout.project / "cdk.json"
    good = cdk_json.read_text()
    context = json.loads(good)
    context["context"]["environments"][environment]["region"] = "mars-north-1"
    cdk_json.write_text(json.dumps(context))
    result = checkout.run("deploy", environment)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("local-cloud deploy: error: configuration error: ") and "mars-north-1" in line
    assert line.endswith("(fix cdk.json, then run the command again)")
    assert is_up(machine_state())
    cdk_json.write_text(good)
    assert_nothing_lost(checkout, before)
    assert checkout.deploy(home(checkout))["copied"] is False


def interrupt_at(prefix: str) -> Callable[[str, subprocess.Popen[str]], bool]:
    """Ctrl-C: SIGINT to `local-cloud` when a line starting with `prefix` shows."""

    def react(line: str, process: subprocess.Popen[str]) -> bool:
        if line.startswith(prefix):
            process.send_signal(signal.SIGINT)
        return line.startswith(prefix)

    return react


def test_ctrl_c_is_one_line_and_the_next_deploy_finishes(deployed: tuple[Any, dict[str, Any]]) -> None:
    checkout, before = deployed
    status, lines = checkout.watch("deploy", interrupt_at("==> cdk deploy"), home(checkout))
    assert status == 130
    assert last_line(lines) == (
        "local-cloud deploy: interrupted; what ran is left as it was: run `local-cloud deploy` again to finish, "
        "or `local-cloud down` to stop the local cloud"
    )
    assert not any(line.startswith("Traceback") for line in lines)
    assert checkout.deploy(home(checkout))["copied"] is False
    assert_nothing_lost(checkout, before)
