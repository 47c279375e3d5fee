"""SageMaker hosting contract: ``GET /ping`` and ``POST /invocations``, handed to the data plane."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .responses import data_plane, json_response, reply_response


async def ping(request: Request) -> Response:
    """200 once the model is loaded, which is what SageMaker waits for before routing traffic."""
    data_plane(request).loaded_model()
    return json_response({"status": "ok"})


async def invocations(request: Request) -> Response:
    """Predict a batch in any body format the SageMaker SDK's serializers write."""
    headers = request.headers
    body = await request.body()
    return reply_response(data_plane(request).invocations(body, headers.get("content-type"), headers.get("accept")))


routes = [
    Route("/ping", ping, methods=["GET"]),
    Route("/invocations", invocations, methods=["POST"]),
]
