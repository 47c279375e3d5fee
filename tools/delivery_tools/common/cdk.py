"""The project's pinned CDK CLI and the process environment every tool runs it with."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from delivery_tools.common.errors import ToolError


def cdk_cli_environment(project_root: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with the pinned Node.js first on PATH, quiet and offline.

    `node_modules/.bin` holds the Node.js that package.json pins, so the CLI and the jsii runtime behind
    aws-cdk-lib run on it rather than on whatever `node` the machine has.
    """
    environment = dict(os.environ if base is None else base)
    node_bin = project_root / "node_modules" / ".bin"
    environment["PATH"] = os.pathsep.join(filter(None, [str(node_bin), environment.get("PATH", "")]))
    environment.update({"CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true"})
    return environment


def cdk_executable(project_root: Path) -> Path:
    """The project's pinned CDK CLI; never a global install, so every tool runs the same CLI."""
    cli = project_root / "node_modules" / ".bin" / "cdk"
    if not cli.is_file():
        raise ToolError(f"the pinned CDK CLI is missing at {cli}: run `make setup` (npm ci installs it)")
    return cli


def pinned_node(project_root: Path) -> Path:
    """The Node.js binary package.json pins (`npm ci` puts it under node_modules)."""
    node = (project_root / "node_modules" / ".bin" / "node").resolve()
    if not node.is_file():
        raise ToolError(f"the pinned Node.js is missing at {node}: run `make setup` (npm ci installs it)")
    return node


def use_pinned_node(project_root: Path) -> None:
    """Put the pinned Node.js first on this process's PATH too: the app's settings validation loads
    aws-cdk-lib here, whose jsii runtime would otherwise start the machine's `node` (and print its banner)."""
    os.environ["PATH"] = cdk_cli_environment(project_root)["PATH"]
