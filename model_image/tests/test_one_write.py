"""A response's head is held until its body's first write, and nothing else is held."""

from __future__ import annotations

import asyncio

from model_server.one_write import OneWriteTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recording(asyncio.Transport):
    """A transport that records each send: one entry per write or writelines call."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sends.append(bytes(data))

    def writelines(self, list_of_data: object) -> None:
        self.sends.append(b"".join(list_of_data))  # type: ignore[arg-type]

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_head_and_body_leave_in_one_send_and_later_chunks_pass_at_once() -> None:
    inner = Recording()
    transport = OneWriteTransport(inner)
    transport.write(HEAD)
    assert inner.sends == []
    transport.write(b"{}")
    transport.write(b"more")
    assert inner.sends == [HEAD + b"{}", b"more"]


def test_an_interim_response_is_never_held() -> None:
    inner = Recording()
    OneWriteTransport(inner).write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert inner.sends == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_a_held_head_goes_out_on_flush_and_before_close() -> None:
    inner = Recording()
    transport = OneWriteTransport(inner)
    transport.write(HEAD)
    transport.flush()
    transport.flush()
    assert inner.sends == [HEAD]
    transport.write(HEAD)
    transport.close()
    assert inner.sends == [HEAD, HEAD]
    assert inner.closed and transport.is_closing()
