"""uvicorn's httptools protocol with a deadline for reading request headers, whose request cycles write
through ``OneWriteTransport`` (each response's head and body in one send).

uvicorn times out idle keep-alive connections but not a client that sends its headers slowly (or never), so
a few hundred such connections hold their sockets, and `limit_concurrency` slots, forever (slowloris). Like
nginx's ``client_header_timeout``, each request's head must arrive within ``HEADER_TIMEOUT_S`` of its first
byte, or of the connection's start for the first request; otherwise the server answers 408 and closes.
The body is not covered: it is read by the application, within the body size limit.

Most requests arrive whole in one read, so the deadline is only armed when a read leaves a request's head
incomplete: no timer is made and cancelled per request.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .one_write import OneWriteTransport

_TIMEOUT_BODY = orjson.dumps({"error": "request headers took too long to arrive (HEADER_TIMEOUT_S)"})
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


class ServerConfig(Config):
    """uvicorn's configuration plus the header deadline; uvicorn hands it to every protocol instance, in
    every worker process (a module-level class, so it pickles into spawned workers)."""

    def __init__(self, app: Any, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(app, http=HeaderTimeoutProtocol, **kwargs)
        self.header_timeout_s = header_timeout_s


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """Closes connections whose request headers are not complete in time."""

    def __init__(self, config: ServerConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout_s = config.header_timeout_s
        self._header_deadline: asyncio.TimerHandle | None = None
        self._reading_head = False

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._header_deadline_passed)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._one_write = OneWriteTransport(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._reading_head and self._header_deadline is None:
            self._arm_header_deadline()  # the head began in this read, now: the deadline counts from here

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._cancel_header_deadline()
        super().on_headers_complete()
        if self.cycle is not None:  # None only before a first request that is an upgrade (refused)
            self.cycle.transport = self._one_write  # this request's cycle; its task has not run yet

    def on_response_complete(self) -> None:
        self._one_write.flush()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)
