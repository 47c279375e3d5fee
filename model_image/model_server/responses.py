"""Fast JSON responses (orjson, numpy arrays serialised natively) and the one error shape: {"error": ...}."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    """``application/json`` rendered by orjson, which also writes numpy arrays without a Python loop."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The body every failure answers with, so clients parse one error format for both protocols."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)
