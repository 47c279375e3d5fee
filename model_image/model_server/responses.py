"""The HTTP side of a ``Reply`` (one response start, one body) and the one error shape: ``{"error": ...}``."""

from __future__ import annotations

import orjson

from .asgi import Send
from .dataplane import Reply
from .errors import RequestError, http_status

REQUEST_ID_HEADER = b"x-request-id"
_JSON = b"application/json"


def error_reply(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """The body every failure answers with, so clients parse one error format for both protocols."""
    return Reply(orjson.dumps({"error": message}), status=status, headers=headers)


def request_error_reply(error: RequestError, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """A typed request error with the one status its type maps to."""
    return error_reply(http_status(error), error.message, headers)


async def send_reply(send: Send, reply: Reply, request_id: bytes, with_body: bool = True) -> None:
    """``reply`` with its Content-Type exactly as chosen (no ``charset`` added) and the request id; a HEAD
    request gets the headers of the body it would have had, without the body."""
    body = reply.body
    media_type = _JSON if reply.media_type == "application/json" else reply.media_type.encode("latin-1")
    headers = [(b"content-type", media_type), (b"content-length", b"%d" % len(body)), (REQUEST_ID_HEADER, request_id)]
    if reply.headers:
        headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body if with_body else b""})
