"""Pure ASGI middleware: request ids + one access log line per request, and the request body limit.

Pure ASGI (not Starlette's BaseHTTPMiddleware) keeps the per-request overhead to a few function calls.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logging_setup import write_access_line
from .processing import RequestError
from .responses import error_response

REQUEST_ID_HEADER = b"x-request-id"
_ACCEPTABLE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


class AccessLogMiddleware:
    """Tags each request with an id (the caller's ``X-Request-Id`` if sane), echoes it, logs one line."""

    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        request_id = incoming if _ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            if self.enabled:
                write_access_line(
                    {
                        "request_id": request_id.decode(),
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    }
                )


class BodyTooLargeError(RequestError):
    """The body grew past the limit while streaming (no or lying Content-Length)."""


class BodySizeLimitMiddleware:
    """413 before reading a byte when Content-Length is too big; otherwise stop reading at the limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _message(self, size: str) -> str:
        return f"request body is {size}; the limit is {self.max_body_bytes} bytes (MAX_BODY_BYTES)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            response = error_response(413, self._message(f"{int(declared)} bytes"), {"connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise BodyTooLargeError(self._message(f"over {self.max_body_bytes} bytes"), status=413)
            return message

        await self.app(scope, limited_receive, send)
