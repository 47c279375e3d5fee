"""Waiting for /ping: answers as soon as the server does, stops at once when the server is gone."""

import subprocess
import sys
import time

import pytest

from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import free_port, port_open, wait_for_ping

SERVER = """
import http.server, sys
class Ping(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ping" else 404); self.end_headers()
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ping).serve_forever()
"""


def test_waits_until_ping_answers() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        assert wait_for_ping(f"http://127.0.0.1:{port}", 30, alive=lambda: server.poll() is None) < 30
        assert port_open(("127.0.0.1", port))
    finally:
        server.kill()
        server.wait()


def test_stops_at_once_when_the_server_exits_and_shows_its_output() -> None:
    crashing = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"(?s)exited before /ping answered.*Traceback: boom"):
        wait_for_ping(
            f"http://127.0.0.1:{free_port()}",
            60,
            alive=lambda: crashing.poll() is None,
            describe=lambda: "Traceback: boom",
        )
    assert time.monotonic() - started < 10


def test_gives_up_after_the_timeout() -> None:
    with pytest.raises(ToolError, match="did not answer 200 within 1 s"):
        wait_for_ping(f"http://127.0.0.1:{free_port()}", 1)


def test_waits_on_the_health_path_it_is_given() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        wait_for_ping(f"http://127.0.0.1:{port}", 30, alive=lambda: server.poll() is None)
        with pytest.raises(ToolError, match=r"/v2/health/ready did not answer 200 within 1 s"):
            wait_for_ping(f"http://127.0.0.1:{port}", 1, path="/v2/health/ready")
    finally:
        server.kill()
        server.wait()
