"""Open Inference Protocol (KServe V2) REST endpoints, handed to the data plane."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .responses import data_plane, json_response, reply_response
from .v2_format import HEADER_LENGTH


async def live(request: Request) -> Response:
    """The process answers: it is alive."""
    return json_response({"live": True})


async def ready(request: Request) -> Response:
    """Ready once the model is loaded."""
    is_ready = data_plane(request).model is not None
    return json_response({"ready": is_ready}, status=200 if is_ready else 503)


async def server_metadata(request: Request) -> Response:
    """Server name, version and supported protocol extensions."""
    return reply_response(data_plane(request).server_metadata())


async def model_metadata(request: Request) -> Response:
    """Name, versions, platform and tensor signature of the model."""
    params = request.path_params
    return reply_response(data_plane(request).model_metadata(params["model_name"], params.get("model_version")))


async def model_ready(request: Request) -> Response:
    """Ready for inference once loaded (404 for another model)."""
    params = request.path_params
    model = data_plane(request).named_model(params["model_name"], params.get("model_version"))
    return json_response({"name": model.metadata.name, "ready": True})


async def infer(request: Request) -> Response:
    """Run the model on one FP32 ``[N, features]`` tensor; echo the request ``id``."""
    params, headers = request.path_params, request.headers
    body = await request.body()
    reply = data_plane(request).infer(
        params["model_name"], params.get("model_version"), body, headers.get("content-type"), headers.get(HEADER_LENGTH)
    )
    return reply_response(reply)


routes = [
    Route("/v2/health/live", live, methods=["GET"]),
    Route("/v2/health/ready", ready, methods=["GET"]),
    Route("/v2", server_metadata, methods=["GET"]),
    Route("/v2/models/{model_name}", model_metadata, methods=["GET"]),
    Route("/v2/models/{model_name}/versions/{model_version}", model_metadata, methods=["GET"]),
    Route("/v2/models/{model_name}/ready", model_ready, methods=["GET"]),
    Route("/v2/models/{model_name}/versions/{model_version}/ready", model_ready, methods=["GET"]),
    Route("/v2/models/{model_name}/infer", infer, methods=["POST"]),
    Route("/v2/models/{model_name}/versions/{model_version}/infer", infer, methods=["POST"]),
]
