"""The process environment every tool gives the project's pinned CDK CLI (one definition, two users)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


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
