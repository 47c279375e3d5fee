"""The `local-cloud` command line: every Makefile call has its sub-command, errors are one actionable line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from delivery_tools.localcloud.cli import COMMANDS
from delivery_tools.localcloud.services.state import HOME_VARIABLE

LOCAL_CLOUD = Path(sys.executable).with_name("local-cloud")


def local_cloud(*arguments: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, HOME_VARIABLE: str(home)}
    return subprocess.run(
        [str(LOCAL_CLOUD), *arguments], cwd=cwd, capture_output=True, text=True, check=False, env=environment
    )


def test_every_local_cloud_call_in_the_makefile_is_a_subcommand_with_help(project_root: Path, tmp_path: Path) -> None:
    called = set(re.findall(r"/local-cloud ([a-z-]+)", (project_root / "Makefile").read_text()))
    assert called, "the Makefile must call local-cloud"
    assert called <= set(COMMANDS)
    for command in sorted(called):
        result = local_cloud(command, "--help", cwd=project_root, home=tmp_path)
        assert result.returncode == 0 and COMMANDS[command][0][:30] in " ".join(result.stdout.split()), command


def test_an_unknown_subcommand_is_rejected_with_usage(project_root: Path, tmp_path: Path) -> None:
    result = local_cloud("deploi", cwd=project_root, home=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'deploi'" in result.stderr


def test_diff_without_a_running_local_cloud_says_what_to_do(project_root: Path, tmp_path: Path) -> None:
    result = local_cloud("diff", cwd=project_root, home=tmp_path / "home")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "local-cloud diff: error: the local cloud is not running, so there is nothing to diff against: "
        "run `local-cloud deploy`"
    ]


def broken_checkout(project_root: Path, destination: Path) -> Path:
    """A checkout whose local environment has an invalid account."""
    context = json.loads((project_root / "cdk.json").read_text())
    local = next(env for env in context["context"]["environments"].values() if env.get("target") == "local")
    local["account"] = "not-an-account"
    (destination / "cdk.json").write_text(json.dumps(context))
    (destination / "model_image" / "model").mkdir(parents=True)
    (destination / "model_image" / "model" / "metadata.json").write_text('{"version": "1.0.0"}')
    (destination / "node_modules").symlink_to(project_root / "node_modules")
    return destination


@pytest.mark.parametrize("command", ["deploy", "diff", "destroy"])
def test_a_configuration_error_is_one_line_and_changes_nothing(
    project_root: Path, tmp_path: Path, command: str
) -> None:
    home = tmp_path / "home"
    hosts_before = Path("/etc/hosts").read_text()
    result = local_cloud(command, cwd=broken_checkout(project_root, tmp_path), home=home)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"local-cloud {command}: error: configuration error: environment ")
    assert "not-an-account" in line and line.endswith("(fix cdk.json, then run the command again)")
    assert "Traceback" not in result.stdout + result.stderr
    assert not home.exists(), "nothing may be started or recorded before the configuration is valid"
    assert Path("/etc/hosts").read_text() == hosts_before


def test_a_rollback_without_its_environment_is_one_line_and_changes_nothing(project_root: Path, tmp_path: Path) -> None:
    result = local_cloud("deploy", "--rollback", "1.0.0-0123456789ab", cwd=project_root, home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "local-cloud deploy: error: --rollback needs the environment to roll back: "
        "local-cloud deploy ENV --rollback TAG"
    )
    assert list(tmp_path.iterdir()) == [], "nothing was started or recorded"
