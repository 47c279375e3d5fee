from pathlib import Path

import pytest

from delivery_tools.common.cdk import cdk_cli_environment, cdk_executable
from delivery_tools.common.errors import ToolError


def test_pinned_node_comes_first_and_the_rest_is_kept() -> None:
    environment = cdk_cli_environment(Path("/project"), {"PATH": "/usr/bin:/bin", "HOME": "/root"})
    assert environment["PATH"] == "/project/node_modules/.bin:/usr/bin:/bin"
    assert environment["HOME"] == "/root"
    assert environment["CDK_DISABLE_VERSION_CHECK"] == "1"


def test_an_empty_path_gets_only_the_pinned_node() -> None:
    assert cdk_cli_environment(Path("/project"), {})["PATH"] == "/project/node_modules/.bin"


def test_a_missing_pinned_cli_says_to_run_make_setup(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"pinned CDK CLI is missing .*make setup"):
        cdk_executable(tmp_path)


def test_the_pinned_cli_of_this_checkout_is_found(project_root: Path) -> None:
    assert cdk_executable(project_root) == project_root / "node_modules" / ".bin" / "cdk"
