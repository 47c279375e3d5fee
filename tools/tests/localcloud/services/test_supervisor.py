"""Services are tracked by pid and start time, recorded only once they answer, and stopped for sure."""

import socket
import subprocess
import sys
import time

import pytest

from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import free_port
from delivery_tools.localcloud.services import supervisor
from delivery_tools.localcloud.services.state import LocalCloudState


def test_a_started_service_is_tracked_and_stopped(state: LocalCloudState) -> None:
    pid = supervisor.start(state, "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], ready=lambda: True)
    assert supervisor.tracked_pid(state, "sleeper") == pid
    assert supervisor.stop(state, "sleeper") is True
    assert supervisor.tracked_pid(state, "sleeper") is None
    assert not state.pid_file("sleeper").exists()
    assert supervisor.stop(state, "sleeper") is False


def test_a_recycled_pid_is_never_taken_for_ours(state: LocalCloudState) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state.pid_file("moto").write_text(f"{stranger.pid} 1\n")  # right pid, wrong start time
        assert supervisor.tracked_pid(state, "moto") is None
        assert supervisor.stop(state, "moto") is False
        time.sleep(0.1)
        assert stranger.poll() is None  # not signalled
    finally:
        stranger.kill()
        stranger.wait()


def test_a_service_that_dies_while_starting_reports_its_log(state: LocalCloudState) -> None:
    command = [sys.executable, "-c", "import sys; print('bind: address already in use'); sys.exit(4)"]
    with pytest.raises(ToolError, match=r"(?s)status 4.*address already in use"):
        supervisor.start(state, "broken", command, ready=lambda: False)
    assert not state.pid_file("broken").exists()


def test_the_pid_file_names_the_process_that_listens(state: LocalCloudState) -> None:
    port = free_port()
    server = f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)"
    pid = supervisor.start(state, "listener", [sys.executable, "-c", server], ready=lambda: True, port=port)
    try:
        assert supervisor.listener_pids(port) == {pid}
        assert state.pid_file("listener").read_text().split()[0] == str(pid)
    finally:
        supervisor.stop(state, "listener")
    assert supervisor.listener_pids(port) == set()


def test_a_service_whose_port_someone_else_holds_is_never_recorded(state: LocalCloudState) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        command = [sys.executable, "-c", "import time; time.sleep(60)"]  # never binds: the port answers all the same
        with pytest.raises(ToolError, match="not ready after 2 s"):
            supervisor.start(state, "impostor", command, ready=lambda: True, port=port, timeout=2)
    assert not state.pid_file("impostor").exists()
