"""Open Inference Protocol (KServe V2) REST endpoints: health, server/model metadata and ``infer``."""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .model import LABEL_OUTPUT, PROBABILITIES_OUTPUT, Model
from .processing import (
    RequestError,
    check_batch_size,
    finite_float32,
    media_type,
    numeric_array,
    parse_json_body,
    v2_outputs,
)
from .responses import JSONResponse
from .routes_sagemaker import loaded_model

SERVER_NAME = "model_server"
SERVER_VERSION = "1.0.0"
OUTPUT_NAMES = (LABEL_OUTPUT, PROBABILITIES_OUTPUT)


def served_model(request: Request) -> Model:
    """The model the path names (and version, if given); 404 for any other, 503 before loading."""
    model = loaded_model(request)
    if model is None:
        raise RequestError("model is not loaded yet", status=503)
    name = request.path_params["model_name"]
    if name != model.metadata.name:
        raise RequestError(f"unknown model {name!r}; this server serves {model.metadata.name!r}", status=404)
    version = request.path_params.get("model_version")
    if version is not None and version != model.metadata.version:
        raise RequestError(
            f"unknown version {version!r} of model {name!r}; available: {model.metadata.version!r}", status=404
        )
    return model


async def live(request: Request) -> Response:
    """The process answers: it is alive."""
    return JSONResponse({"live": True})


async def ready(request: Request) -> Response:
    """Ready once the model is loaded."""
    is_ready = loaded_model(request) is not None
    return JSONResponse({"ready": is_ready}, status_code=200 if is_ready else 503)


async def server_metadata(request: Request) -> Response:
    """Server name, version and supported protocol extensions (none)."""
    return JSONResponse({"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": []})


async def model_metadata(request: Request) -> Response:
    """Name, versions, platform and tensor signature of the model."""
    meta = served_model(request).metadata
    features, classes = len(meta.feature_names), len(meta.class_names)
    return JSONResponse(
        {
            "name": meta.name,
            "versions": [meta.version],
            "platform": "onnxruntime_onnx",
            "inputs": [{"name": meta.input_name, "datatype": "FP32", "shape": [-1, features]}],
            "outputs": [
                {"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [-1]},
                {"name": PROBABILITIES_OUTPUT, "datatype": "FP32", "shape": [-1, classes]},
            ],
            "parameters": {"feature_names": list(meta.feature_names), "class_names": list(meta.class_names)},
        }
    )


async def model_ready(request: Request) -> Response:
    """Ready for inference once loaded (404 for another model)."""
    return JSONResponse({"name": served_model(request).metadata.name, "ready": True})


def _input_features(document: dict[str, Any], model: Model, max_rows: int) -> np.ndarray:
    """Validate the single FP32 ``[N, features]`` input tensor and return it as a float32 matrix."""
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise RequestError(f'"inputs" must be a list with one tensor object named {model.metadata.input_name!r}')
    tensor = inputs[0]
    features = len(model.metadata.feature_names)
    if tensor.get("name") != model.metadata.input_name:
        raise RequestError(f"unknown input {tensor.get('name')!r}; model expects {model.metadata.input_name!r}")
    if tensor.get("datatype") != "FP32":
        raise RequestError(f"input datatype must be FP32, got {tensor.get('datatype')!r}")
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or any(dim.__class__ is not int for dim in shape)
        or shape[0] < 0
        or shape[1] != features
    ):
        raise RequestError(f"input shape must be [N, {features}] with integer N, got {shape!r}")
    check_batch_size(shape[0], max_rows)
    data = tensor.get("data")
    if not isinstance(data, list):
        raise RequestError(f'input "data" must be a list of numbers, got {type(data).__name__}')
    array = numeric_array(data, "input data")
    if array.size != shape[0] * features or array.ndim > 2 or (array.ndim == 2 and list(array.shape) != shape):
        raise RequestError(f"input data holds {array.size} values in shape {list(array.shape)}; shape says {shape}")
    return finite_float32(array.reshape(shape), features)


def _requested_outputs(document: dict[str, Any]) -> list[str]:
    """Names in the optional ``outputs`` list; all outputs when it is absent."""
    outputs = document.get("outputs")
    if outputs is None:
        return list(OUTPUT_NAMES)
    if not isinstance(outputs, list) or not all(isinstance(item, dict) for item in outputs):
        raise RequestError('"outputs" must be a list of {"name": ...} objects')
    names = [item.get("name") for item in outputs]
    unknown = [name for name in names if name not in OUTPUT_NAMES]
    if unknown or not names:
        raise RequestError(f"unknown outputs {unknown}; choose from {list(OUTPUT_NAMES)}")
    return [str(name) for name in names]


async def infer(request: Request) -> Response:
    """Run the model on one FP32 ``[N, features]`` tensor; echo the request ``id``."""
    model = served_model(request)
    content_type = media_type(request.headers.get("content-type"))
    if content_type not in ("", "application/json"):
        raise RequestError(f"unsupported Content-Type {content_type!r}; use application/json", status=415)
    document = parse_json_body(await request.body())
    if not isinstance(document, dict):
        raise RequestError("the inference request must be a JSON object")
    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise RequestError(f'"id" must be a string, got {type(request_id).__name__}')
    features = _input_features(document, model, request.app.state.settings.max_batch_rows)
    requested = _requested_outputs(document)
    prediction = model.predict(features)
    body: dict[str, Any] = {"model_name": model.metadata.name, "model_version": model.metadata.version}
    if request_id is not None:
        body["id"] = request_id
    body["outputs"] = v2_outputs(prediction, requested)
    return JSONResponse(body)


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
