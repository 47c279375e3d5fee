"""The project's pinned CDK CLI, run against the local cloud only."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from tooling.cdk_environment import cdk_cli_environment
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.safety import fake_aws_environment
from tooling.localcloud.state import LocalCloudState

ENVIRONMENT = "local"
STACKS = f"{ENVIRONMENT}/*"


class CdkCli:
    """Runs `node_modules/.bin/cdk` in the project with the local endpoint, fake credentials and base image."""

    def __init__(self, state: LocalCloudState, endpoint_url: str, base_image: str | None) -> None:
        self._state = state
        self._base_image = base_image
        self._environment = fake_aws_environment(endpoint_url, cdk_cli_environment(state.root))
        self._environment["CI"] = os.environ.get("CI", "true")  # no interactive progress bars in logs

    @property
    def executable(self) -> str:
        path = self._state.root / "node_modules" / ".bin" / "cdk"
        if not path.is_file():
            raise LocalCloudError(f"{path} is missing: run `make setup` (npm ci installs the pinned CDK CLI)")
        return str(path)

    def command(self, arguments: Sequence[str]) -> list[str]:
        """The full command line: every call synthesizes into our own cloud assembly, with the base image."""
        context = ["--context", f"base_image={self._base_image}"] if self._base_image else []
        return [self.executable, *arguments, "--output", str(self._state.cdk_out), *context]

    def run(self, arguments: Sequence[str], *, check: bool = True) -> int:
        """Run the CLI with its output on our stderr (stdout stays for the summary); return its status."""
        command = self.command(arguments)
        status = subprocess.run(command, cwd=self._state.root, env=self._environment, stdout=2, check=False).returncode
        if check and status != 0:
            raise LocalCloudError(f"`cdk {' '.join(arguments)}` failed with exit status {status} (output above)")
        return status
