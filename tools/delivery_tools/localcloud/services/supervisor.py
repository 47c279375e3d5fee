"""Background services the local cloud starts, tracked by pid files so `local-cloud down` stops exactly those.

A pid file holds the pid and the process start time (from /proc), so a recycled pid is never mistaken
for ours and never signalled. It is written only once the service is ready and, for a network service,
once that very process holds the listening socket: a pid file never names a process that is not the one
answering.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud.services.state import LocalCloudState

_LOG_TAIL_LINES = 30
_LISTEN = "0A"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (field 22 of /proc/PID/stat), or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    state, start_time = fields[0], fields[19]
    return None if state in ("Z", "X") else start_time


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def listener_pids(port: int) -> set[int]:
    """The processes holding a socket that listens on TCP `port` (any local address)."""
    sockets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    owners: set[int] = set()
    if not sockets:
        return owners
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(str(fd.readlink()) in sockets for fd in (process / "fd").iterdir()):
                owners.add(int(process.name))
    return owners


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
    port: int | None = None,
    timeout: float = 60.0,
) -> int:
    """Start `command` detached (own session, output to its log), wait until `ready()` and, with `port`,
    until this process listens there; only then record it. A start that fails leaves nothing running."""
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
    deadline = time.monotonic() + timeout
    while not (ready() and (port is None or process.pid in listener_pids(port))):
        if process.poll() is not None:
            raise ToolError(
                f"{name} exited with status {process.returncode} while starting; its log:\n{log_tail(state, name)}"
            )
        if time.monotonic() > deadline:
            _stop_pid(process.pid)
            raise ToolError(f"{name} was not ready after {timeout:.0f} s; its log:\n{log_tail(state, name)}")
        time.sleep(0.2)
    state.pid_file(name).write_text(f"{process.pid} {_start_time(process.pid)}\n")
    return process.pid


def _stop_pid(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group of `pid`, SIGKILL it after `timeout`; raise if it still runs."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _start_time(pid) is not None and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if _start_time(pid) is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.5)
    _reap(pid)
    if _start_time(pid) is not None:
        raise ToolError(f"process {pid} did not stop on SIGKILL: stop it by hand (`kill -9 {pid}`)")


def stop(state: LocalCloudState, name: str) -> bool:
    """Stop the service `name` (its whole process group) if we started it; True if it was running.

    The pid file goes only once the process is gone, so a failed stop is never reported as done.
    """
    pid = tracked_pid(state, name)
    if pid is not None:
        _stop_pid(pid)
    state.pid_file(name).unlink(missing_ok=True)
    return pid is not None


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child (started in this process), so it is not a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
