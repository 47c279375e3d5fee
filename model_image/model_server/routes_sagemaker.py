"""SageMaker hosting contract: ``GET /ping`` and ``POST /invocations``, handed to the data plane."""

from __future__ import annotations

from collections.abc import Mapping

from .dataplane import DataPlane, Reply
from .headers import header
from .routing import Route

PING_OK = Reply(b'{"status":"ok"}')


async def ping(plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes) -> Reply:
    """200 once the model is loaded, which is what SageMaker waits for before routing traffic."""
    plane.loaded_model()
    return PING_OK


async def invocations(
    plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes
) -> Reply:
    """Predict a batch in any body format the SageMaker SDK's serializers write."""
    return await plane.invocations(body, header(headers, b"content-type"), header(headers, b"accept"))


routes = [
    Route("GET", "/ping", ping),
    Route("POST", "/invocations", invocations),
]
