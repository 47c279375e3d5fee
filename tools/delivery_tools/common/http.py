"""Loopback ports and the model server's /ping: free ports, open ports, waiting until it answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import requests

from delivery_tools.common.errors import ToolError


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(address: tuple[str, int]) -> bool:
    """True when something accepts TCP connections at `address`."""
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


def ping_ok(base_url: str, path: str = "/ping") -> bool:
    """True when `GET base_url/ping` (or another health `path`) answers 200."""
    try:
        return requests.get(f"{base_url}{path}", timeout=2).status_code == requests.codes.ok
    except requests.RequestException:
        return False


def wait_for_ping(
    base_url: str,
    timeout: float,
    *,
    path: str = "/ping",
    alive: Callable[[], bool] = lambda: True,
    describe: Callable[[], str] = lambda: "",
    poll_seconds: float = 0.05,
) -> float:
    """Seconds until `base_url/ping` (or the health `path` of a server that has no /ping) first answers 200.

    Stops at once when `alive()` turns false (the server exited): no point waiting for a dead server.
    `describe()` adds the server's output to the error.
    """
    started = time.perf_counter()
    while not ping_ok(base_url, path):
        if not alive():
            raise ToolError(f"the server behind {base_url} exited before {path} answered; its output:\n{describe()}")
        if time.perf_counter() - started > timeout:
            raise ToolError(f"{base_url}{path} did not answer 200 within {timeout:.0f} s; output:\n{describe()}")
        time.sleep(poll_seconds)
    return time.perf_counter() - started
