"""Running external commands with errors that name the command and show its output."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling.localcloud.errors import LocalCloudError

_TAIL_CHARS = 4000


def _tail(text: str | None) -> str:
    return (text or "")[-_TAIL_CHARS:].strip()


def run(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    capture: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command`; raise LocalCloudError with the tail of its output if it fails.

    `capture=False` lets the output stream to the terminal (for long, chatty commands such as the CDK CLI).
    """
    try:
        result = subprocess.run(
            list(command),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            input=input_text,
            text=True,
            capture_output=capture,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as error:
        raise LocalCloudError(
            f"command not found: {command[0]} (run `python -m tooling local install-deps`)"
        ) from error
    except subprocess.TimeoutExpired as error:
        raise LocalCloudError(f"`{' '.join(command)}` did not finish within {timeout} s") from error
    if result.returncode != 0:
        output = "\n".join(part for part in (_tail(result.stdout), _tail(result.stderr)) if part)
        raise LocalCloudError(f"`{' '.join(command)}` failed with exit status {result.returncode}\n{output}")
    return result


def succeeds(command: Sequence[str]) -> bool:
    """True when `command` exits 0 (its output is discarded); for probes such as `docker image inspect`."""
    try:
        return (
            subprocess.run(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode
            == 0
        )
    except FileNotFoundError:
        return False


def with_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The current environment plus `extra`."""
    return {**os.environ, **extra}
