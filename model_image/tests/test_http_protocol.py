"""The HTTP layer of the real server process, on real sockets: a header deadline and a connection limit
against slow clients, and each response's head and body in one write without holding any response back."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable

ServerProcess = tuple["subprocess.Popen[bytes]", int]
HEAD = b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 37\r\n\r\n"
BODY = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
FLOOD = 200


def predict(port: int) -> tuple[int, float]:
    """Status and seconds of one ordinary /invocations call."""
    started = time.monotonic()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=BODY, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, time.monotonic() - started


def read_response(connection: socket.socket) -> bytes:
    """One whole response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")).split(b":")[1]
    )
    while len(body) < length:
        body += connection.recv(4096)
    return head + b"\r\n\r\n" + body


def read_head(connection: socket.socket) -> bytes:
    """Status line and headers of a response that has no body (an interim one, or the answer to HEAD)."""
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        data += connection.recv(4096)
    return data


def read_until_closed(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_slow_header_senders_get_408_and_are_closed_while_others_are_served(
    start_server: Callable[..., ServerProcess],
) -> None:
    """200 connections trickle their headers a byte a tick; all are answered 408 and closed at the deadline,
    not before, and an ordinary client is answered at once in the middle of the flood."""
    _, port = start_server(HEADER_TIMEOUT_S="1.5")
    slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(FLOOD)]
    started = time.monotonic()
    position = 0
    # Trickle only until shortly before the deadline: writing to a socket the server has closed would reset it
    # and could discard the 408 it sent.
    while time.monotonic() - started < 1.0:
        for connection in slow:
            connection.send(HEAD[position : position + 1])
        position += 1
        time.sleep(0.1)
    status, seconds = predict(port)
    answers = []
    for connection in slow:
        connection.settimeout(max(0.1, 5 - (time.monotonic() - started)))
        try:
            answers.append(read_until_closed(connection))
        except OSError:
            answers.append(b"<still open>")
        connection.close()
    all_closed_after = time.monotonic() - started
    assert status == 200
    assert seconds < 1.0, f"an ordinary request took {seconds:.2f} s during the flood"
    assert 1.4 < all_closed_after < 4, all_closed_after
    cut_off = [answer for answer in answers if answer.startswith(b"HTTP/1.1 408 ")]
    assert len(cut_off) == FLOOD, {answer[:40] for answer in answers}
    body = cut_off[0].split(b"\r\n\r\n", 1)[1]
    assert "HEADER_TIMEOUT_S" in json.loads(body)["error"]


def test_headers_that_arrive_within_the_deadline_are_served(start_server: Callable[..., ServerProcess]) -> None:
    _, port = start_server(HEADER_TIMEOUT_S="1.5")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for piece in (HEAD[:20], HEAD[20:60], HEAD[60:]):
            connection.sendall(piece)
            time.sleep(0.3)
        connection.sendall(BODY)
        assert read_response(connection).startswith(b"HTTP/1.1 200 ")


def test_the_deadline_applies_to_every_request_of_a_kept_alive_connection(
    start_server: Callable[..., ServerProcess],
) -> None:
    _, port = start_server(HEADER_TIMEOUT_S="1")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(HEAD + BODY)
        assert read_response(connection).startswith(b"HTTP/1.1 200 ")
        time.sleep(1.5)  # idle between requests is the keep-alive timeout's business, not the header deadline's
        connection.sendall(HEAD[:10])
        started = time.monotonic()
        answer = read_until_closed(connection)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert 0.8 < time.monotonic() - started < 3


def test_connections_over_the_limit_are_refused_until_some_close(start_server: Callable[..., ServerProcess]) -> None:
    _, port = start_server(MAX_CONNECTIONS="4")
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
    time.sleep(0.2)
    try:
        predict(port)
        raise AssertionError("a fifth connection was served")
    except urllib.error.HTTPError as refused:
        assert refused.code == 503
    for connection in idle:
        connection.close()
    time.sleep(0.2)
    assert predict(port)[0] == 200


def test_no_response_is_held_back_on_a_kept_alive_connection(start_server: Callable[..., ServerProcess]) -> None:
    """The head waits for the body's write: HEAD (uvicorn writes no body), an interim 100 Continue, a POST and
    a GET all arrive whole, in turn, on one connection."""
    _, port = start_server()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"HEAD /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = read_head(connection)
        assert head.startswith(b"HTTP/1.1 200 ") and b"content-length: 15\r\n" in head
        connection.sendall(HEAD.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"))
        assert read_head(connection) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(BODY)
        answer = read_response(connection)
        assert answer.startswith(b"HTTP/1.1 200 ") and b'"label":"setosa"' in answer
        connection.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(connection).endswith(b'\r\n\r\n{"status":"ok"}')
