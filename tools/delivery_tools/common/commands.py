"""Running external commands with errors that name the command and show its output."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from delivery_tools.common.errors import ToolError

_TAIL_CHARS = 4000


def _tail(text: str | None) -> str:
    return (text or "")[-_TAIL_CHARS:].strip()


def run(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `command`, capturing its output; raise ToolError with the tail of that output if it fails."""
    try:
        result = subprocess.run(
            list(command),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            input=input_text,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as error:
        raise ToolError(f"command not found: {command[0]} (run `local-cloud install-deps`)") from error
    except subprocess.TimeoutExpired as error:
        raise ToolError(f"`{' '.join(command)}` did not finish within {timeout} s") from error
    if result.returncode != 0:
        output = "\n".join(part for part in (_tail(result.stdout), _tail(result.stderr)) if part)
        raise ToolError(f"`{' '.join(command)}` failed with exit status {result.returncode}\n{output}")
    return result


class Finished(NamedTuple):
    """How a command ended: its exit status and the last lines it printed."""

    status: int
    last_lines: list[str]


def run_interruptible(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, stop_within: float = 15, keep_lines: int = 500
) -> Finished:
    """Run `command` in a process group of its own, its output (stdout and stderr) passed on line by line to
    our stderr, so that our stdout stays for results; keep its last `keep_lines` lines for an error message.

    On Ctrl-C the whole group (e.g. the CDK CLI and the docker build it started) gets SIGINT, then SIGKILL
    after `stop_within` seconds, and KeyboardInterrupt is re-raised only once every member has exited: no
    child keeps writing after the caller's last line, and none is left running in the background.
    """
    process = subprocess.Popen(
        list(command), env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    assert process.stdout is not None
    last_lines: deque[str] = deque(maxlen=keep_lines)
    try:
        for line in process.stdout:
            sys.stderr.buffer.write(line)
            sys.stderr.flush()
            last_lines.append(line.decode(errors="replace").rstrip("\n"))
        return Finished(process.wait(), list(last_lines))
    except KeyboardInterrupt:
        _stop_group(process, stop_within)
        raise


def _stop_group(process: subprocess.Popen[bytes], stop_within: float) -> None:
    _signal_group(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=stop_within)
    _signal_group(process.pid, signal.SIGKILL)  # members the leader left behind, or a leader that ignored SIGINT
    process.wait()


def _signal_group(group: int, signal_number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # every member has already exited
        os.killpg(group, signal_number)


def succeeds(command: Sequence[str], timeout: float = 30) -> bool:
    """True when `command` exits 0 within `timeout` (its output is discarded); for probes."""
    try:
        completed = subprocess.run(
            list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=timeout
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0


def with_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The current environment plus `extra`."""
    return {**os.environ, **extra}
