"""Open Inference Protocol (KServe V2) REST endpoints, handed to the data plane."""

from __future__ import annotations

from collections.abc import Mapping

from .dataplane import DataPlane, Reply, json_reply
from .headers import header
from .routing import Route
from .v2_format import HEADER_LENGTH

_HEADER_LENGTH = HEADER_LENGTH.encode()
LIVE = Reply(b'{"live":true}')


async def live(plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes) -> Reply:
    """The process answers: it is alive."""
    return LIVE


async def ready(plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes) -> Reply:
    """Ready once the model is loaded."""
    is_ready = plane.model is not None
    return json_reply({"ready": is_ready}, status=200 if is_ready else 503)


async def server_metadata(
    plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes
) -> Reply:
    """Server name, version and supported protocol extensions."""
    return plane.server_metadata()


async def model_metadata(
    plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes
) -> Reply:
    """Name, versions, platform and tensor signature of the model."""
    return plane.model_metadata(params["model_name"], params.get("model_version"))


async def model_ready(
    plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes
) -> Reply:
    """Ready for inference once loaded (404 for another model)."""
    model = plane.named_model(params["model_name"], params.get("model_version"))
    return json_reply({"name": model.metadata.name, "ready": True})


async def infer(plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes) -> Reply:
    """Run the model on one FP32 ``[N, features]`` tensor; echo the request ``id``."""
    return await plane.infer(
        params["model_name"],
        params.get("model_version"),
        body,
        header(headers, b"content-type"),
        header(headers, _HEADER_LENGTH),
    )


routes = [
    Route("GET", "/v2/health/live", live),
    Route("GET", "/v2/health/ready", ready),
    Route("GET", "/v2", server_metadata),
    Route("GET", "/v2/models/{model_name}", model_metadata),
    Route("GET", "/v2/models/{model_name}/versions/{model_version}", model_metadata),
    Route("GET", "/v2/models/{model_name}/ready", model_ready),
    Route("GET", "/v2/models/{model_name}/versions/{model_version}/ready", model_ready),
    Route("POST", "/v2/models/{model_name}/infer", infer),
    Route("POST", "/v2/models/{model_name}/versions/{model_version}/infer", infer),
]
