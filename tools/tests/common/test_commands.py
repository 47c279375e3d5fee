"""`run_interruptible`: the output goes to stderr with its tail kept, and Ctrl-C stops the whole process group
before the caller goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A leader that dies on SIGINT and a background member that ignores it (as every `&` job of a
# non-interactive shell does), like the CDK CLI and a docker build it started.
GROUP = "echo started; (sleep 60; echo late) & echo $! > member.pid; wait"

CALLER = """
import signal
import sys
from pathlib import Path
from delivery_tools.common.commands import run_interruptible
signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal, even when the tests run in the background
try:
    run_interruptible(["sh", "-c", sys.argv[1]], env={"PATH": "/usr/bin:/bin"}, cwd=Path.cwd(), stop_within=1)
except KeyboardInterrupt:
    print("caller: interrupted", flush=True)
    sys.exit(130)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def written_pid(path: Path) -> int:
    """The pid the shell writes to ``path``, once whole: ``echo $! > FILE`` creates the file empty first."""
    while not (text := path.read_text() if path.exists() else "").endswith("\n"):
        time.sleep(0.01)
    return int(text)


def test_ctrl_c_stops_every_member_before_the_caller_prints(tmp_path: Path) -> None:
    caller = subprocess.Popen(
        [sys.executable, "-c", CALLER, GROUP], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert caller.stdout is not None and caller.stderr is not None
    assert caller.stderr.readline() == "started\n"
    member = written_pid(tmp_path / "member.pid")
    caller.send_signal(signal.SIGINT)
    output = caller.stdout.read()  # EOF only once nothing holds the pipe: the member is gone too
    assert caller.wait(timeout=10) == 130
    assert output == "caller: interrupted\n"
    assert "late" not in caller.stderr.read()
    assert not alive(member)


def test_the_exit_status_and_the_last_lines_are_the_commands_and_its_output_goes_to_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from delivery_tools.common.commands import run_interruptible

    script = "for i in 1 2 3 4 5; do echo out $i; done; echo err >&2; exit 3"
    finished = run_interruptible(["sh", "-c", script], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, keep_lines=3)
    assert finished.status == 3
    assert finished.last_lines == ["out 4", "out 5", "err"]
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "out 1\nout 2\nout 3\nout 4\nout 5\nerr\n")
