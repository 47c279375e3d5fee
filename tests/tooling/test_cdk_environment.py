from pathlib import Path

from tooling.cdk_environment import cdk_cli_environment


def test_pinned_node_comes_first_and_the_rest_is_kept() -> None:
    environment = cdk_cli_environment(Path("/project"), {"PATH": "/usr/bin:/bin", "HOME": "/root"})
    assert environment["PATH"] == "/project/node_modules/.bin:/usr/bin:/bin"
    assert environment["HOME"] == "/root"
    assert environment["CDK_DISABLE_VERSION_CHECK"] == "1"


def test_an_empty_path_gets_only_the_pinned_node() -> None:
    assert cdk_cli_environment(Path("/project"), {})["PATH"] == "/project/node_modules/.bin"
