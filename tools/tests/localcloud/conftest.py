"""A real moto server on loopback, for the tests that act in accounts of the local AWS API."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from delivery_tools.common.http import free_port, port_open


@pytest.fixture(scope="module")
def endpoint_url() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open(("127.0.0.1", port)):
            assert server.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
