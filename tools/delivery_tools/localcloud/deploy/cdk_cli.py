"""The project's pinned CDK CLI, run against the local cloud only."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from itertools import islice, takewhile
from pathlib import Path

from delivery_tools.common.cdk import cdk_cli_environment, cdk_executable
from delivery_tools.common.commands import run_interruptible
from delivery_tools.common.docker import buildkit_client, buildkit_environment
from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.safety import fake_aws_environment
from delivery_tools.localcloud.services.state import checkout_cdk_out


class CdkCli:
    """Runs the checkout's pinned `cdk` with the local endpoint, fake credentials and base image."""

    def __init__(
        self,
        project_root: Path,
        endpoint_url: str,
        region: str,
        base_image: str | None,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        """`credentials` (e.g. from `accounts.credentials_in`) replace the fake ones, to act in one account."""
        self._root = project_root
        self._base_image = base_image
        self.cdk_out = checkout_cdk_out(project_root)
        self._environment = fake_aws_environment(endpoint_url, region, cdk_cli_environment(project_root))
        self._environment.update(credentials or {})
        self._environment.update(buildkit_environment(buildkit_client()))
        self._environment["CI"] = os.environ.get("CI", "true")  # no interactive progress bars in logs

    def command(self, arguments: Sequence[str], *, synthesized: bool = False) -> list[str]:
        """The full command line. Every call synthesizes into the checkout's own cloud assembly, unless
        `synthesized`: then it deploys the assembly the last `synth` left there, without running the app."""
        if synthesized:
            return [str(cdk_executable(self._root)), *arguments, "--app", str(self.cdk_out)]
        # Only the local stages: the AWS ones would fingerprint and stage their own copy of the image's
        # build context into the assembly at every change (a gigabyte per code change, for a large model).
        context = ["--context", "target=local"]
        if self._base_image:
            context += ["--context", f"base_image={self._base_image}"]
        return [str(cdk_executable(self._root)), *arguments, "--output", str(self.cdk_out), *context]

    def run(
        self, arguments: Sequence[str], credentials: Mapping[str, str] | None = None, *, synthesized: bool = False
    ) -> None:
        """Run the CLI with its output on our stderr (stdout stays for the summary); raise if it fails, with the
        CLI's own words on why (they would otherwise sit above pages of progress and log lines).

        `credentials` (e.g. from `accounts.credentials_in`) replace the fake home-account ones for this call;
        `synthesized` works from the cloud assembly already in `cdk_out` (see `command`).
        """
        command = self.command(arguments, synthesized=synthesized)
        environment = {**self._environment, **(credentials or {})}
        finished = run_interruptible(command, env=environment, cwd=self._root)
        if finished.status != 0:
            reason = "\n".join(failure_lines(finished.last_lines))
            raise ToolError(f"`cdk {' '.join(arguments)}` failed with exit status {finished.status}:\n{reason}")


def failure_lines(output: Sequence[str], most: int = 12) -> list[str]:
    """The CDK CLI's account of a failure: from its last `❌` line to the next blank line (at most `most`
    lines), or, if it printed none, its last `most` lines."""
    marks = [index for index, line in enumerate(output) if line.lstrip().startswith("❌")]
    if not marks:
        return [line for line in output if line.strip()][-most:]
    return list(islice(takewhile(str.strip, output[marks[-1] :]), most))
