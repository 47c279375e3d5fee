"""The HTTP side of a ``Reply`` and the one error shape: ``{"error": ...}``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .dataplane import DataPlane, Reply
from .errors import RequestError, http_status


def data_plane(request: Request) -> DataPlane:
    """The application's data plane (set when the application is made)."""
    plane: DataPlane = request.app.state.data_plane
    return plane


def reply_response(reply: Reply) -> Response:
    """``reply`` with its Content-Type exactly as chosen: Starlette would append ``; charset=utf-8`` to text."""
    return Response(reply.body, headers={"content-type": reply.media_type, **reply.headers})


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The body every failure answers with, so clients parse one error format for both protocols."""
    body = orjson.dumps({"error": message})
    return Response(body, status_code=status, headers={"content-type": "application/json", **(headers or {})})


def request_error_response(error: RequestError, headers: dict[str, str] | None = None) -> Response:
    """A typed request error with the one status its type maps to."""
    return error_response(http_status(error), error.message, headers)


def json_response(document: Any, status: int = 200) -> Response:
    """A small JSON document (health answers)."""
    return Response(orjson.dumps(document), status_code=status, headers={"content-type": "application/json"})
