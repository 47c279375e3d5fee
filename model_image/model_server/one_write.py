"""A response's head and body in one socket write, instead of uvicorn's two.

uvicorn writes the status line and headers as soon as the application starts its response, and the body in
a second write. On the one-row paths each write is a send system call and a TCP segment of its own, and the
two took about a third of a worker's time under load (py-spy, V2 one row). The connection's writes pass
through this transport, which holds a response head back until the next write (the body's first chunk)
and sends both together; every other write (an interim ``100 Continue``, later chunks) passes at once. A
response without a body write (uvicorn writes none for HEAD) goes out when it is complete (``flush``).
"""

from __future__ import annotations

import asyncio

_RESPONSE_START = b"HTTP/1.1 "
_INTERIM = ord("1")  # a 1xx status: the client waits for it before it sends the body, so never hold it


class OneWriteTransport(asyncio.Transport):
    """Wraps a connection's transport for uvicorn's request cycles, which write, close and ask is_closing."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._head = b""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._head:
            head, self._head = self._head, b""
            self._transport.writelines((head, data))
        elif data[:9] == _RESPONSE_START and data[9] != _INTERIM:
            self._head = bytes(data)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Send a held head now: its response is complete, or the connection is closing."""
        if self._head:
            head, self._head = self._head, b""
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()
