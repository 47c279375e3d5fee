"""Background services the local cloud starts, tracked by pid files so `local down` stops exactly those.

A pid file holds the pid and the process start time (from /proc), so a recycled pid is never mistaken
for ours and never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.state import LocalCloudState

_LOG_TAIL_LINES = 30


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (field 22 of /proc/PID/stat), or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    state, start_time = fields[0], fields[19]
    return None if state in ("Z", "X") else start_time


def tracked_pid(state: LocalCloudState, name: str) -> int | None:
    """The pid of the service `name` if we started it and it still runs."""
    try:
        pid_text, recorded_start = state.pid_file(name).read_text().split()
    except (OSError, ValueError):
        return None
    pid = int(pid_text)
    return pid if _start_time(pid) == recorded_start else None


def log_tail(state: LocalCloudState, name: str) -> str:
    """The last lines of a service's log, for error messages."""
    try:
        lines = state.log_file(name).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def start(
    state: LocalCloudState,
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    ready: Callable[[], bool],
    timeout: float = 60.0,
) -> int:
    """Start `command` detached (own session, output to its log), record it, wait until `ready()`."""
    with state.log_file(name).open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=state.directory,
            start_new_session=True,
        )
    start_time = _start_time(process.pid)
    state.pid_file(name).write_text(f"{process.pid} {start_time}\n")
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            state.pid_file(name).unlink(missing_ok=True)
            raise LocalCloudError(
                f"{name} exited with status {process.returncode} while starting; its log:\n{log_tail(state, name)}"
            )
        if time.monotonic() > deadline:
            stop(state, name)
            raise LocalCloudError(f"{name} was not ready after {timeout:.0f} s; its log:\n{log_tail(state, name)}")
        time.sleep(0.2)
    return process.pid


def stop(state: LocalCloudState, name: str, timeout: float = 20.0) -> bool:
    """Stop the service `name` (its whole process group) if we started it; True if it was running."""
    pid = tracked_pid(state, name)
    state_file = state.pid_file(name)
    if pid is None:
        state_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _start_time(pid) is not None and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if _start_time(pid) is not None:
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    state_file.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child (started in this process), so it is not a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
