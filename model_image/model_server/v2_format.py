"""Open Inference Protocol (KServe V2) bodies, with the binary tensor data extension.

Binary extension (what ``tritonclient`` sends by default): the body is a JSON header of
``Inference-Header-Content-Length`` bytes followed by raw tensor bytes; an input's
``parameters.binary_data_size`` says how many follow. Outputs come back binary when the output's
``parameters.binary_data`` or the request's ``parameters.binary_data_output`` asks for it: FP32 as
little-endian floats, BYTES as a 4-byte little-endian length before each element.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import orjson

from .errors import InvalidRequestError, UnsupportedMediaTypeError
from .headers import media_type
from .model import LABEL_OUTPUT, OUTPUT_NAMES, PROBABILITIES_OUTPUT, ModelMetadata, Prediction
from .processing import check_matrix_shape, features_from_fp32_bytes, features_from_values, parse_json_body

BINARY_EXTENSION = "binary_tensor_data"
HEADER_LENGTH = "inference-header-content-length"
OCTET_STREAM = "application/octet-stream"
# JSON, or with the binary extension a JSON header + raw bytes (tritonclient may send no Content-Type).
_CONTENT_TYPES = ("application/json", OCTET_STREAM)


class RequestedOutput(NamedTuple):
    """One output the client asked for, and whether it wants it as raw bytes."""

    name: str
    binary: bool


class InferRequest(NamedTuple):
    """A validated infer request: the model's input matrix, the outputs wanted, the id to echo."""

    request_id: str | None
    features: np.ndarray
    outputs: Sequence[RequestedOutput]


class InferResponse(NamedTuple):
    """The response body; ``json_length`` is set when binary tensors follow the JSON header."""

    body: bytes
    json_length: int | None


def _split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON header and the binary tail, as ``Inference-Header-Content-Length`` divides them."""
    if header_length is None:
        return body, b""
    if not header_length.strip().isdigit() or int(header_length) > len(body):
        raise InvalidRequestError(
            f"Inference-Header-Content-Length {header_length!r} must be a whole number of bytes "
            f"no larger than the body ({len(body)} bytes)"
        )
    split = int(header_length)
    return body[:split], body[split:]


def _parameters(owner: dict[str, Any], what: str) -> dict[str, Any]:
    parameters = owner.get("parameters", {})
    if not isinstance(parameters, dict):
        raise InvalidRequestError(f'{what} "parameters" must be an object')
    return parameters


def _input_features(document: dict[str, Any], binary: bytes, metadata: ModelMetadata, max_rows: int) -> np.ndarray:
    """The single FP32 ``[N, features]`` input tensor, from JSON ``data`` or from the binary tail."""
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise InvalidRequestError(f'"inputs" must be a list with one tensor object named {metadata.input_name!r}')
    tensor = inputs[0]
    feature_count = len(metadata.feature_names)
    if tensor.get("name") != metadata.input_name:
        raise InvalidRequestError(f"unknown input {tensor.get('name')!r}; model expects {metadata.input_name!r}")
    if tensor.get("datatype") != "FP32":
        raise InvalidRequestError(f"input datatype must be FP32, got {tensor.get('datatype')!r}")
    shape = check_matrix_shape(tensor.get("shape"), feature_count, max_rows)
    binary_size = _parameters(tensor, "input").get("binary_data_size")
    if binary_size is None:
        if binary:
            raise InvalidRequestError(f"{len(binary)} bytes follow the JSON header, but no input has binary_data_size")
        return features_from_values(tensor.get("data"), shape, feature_count)
    if binary_size.__class__ is not int or binary_size != len(binary) or "data" in tensor:
        raise InvalidRequestError(
            f"binary_data_size {binary_size!r} must equal the {len(binary)} bytes after the JSON header, "
            'and a binary input carries no "data"'
        )
    return features_from_fp32_bytes(binary, shape, feature_count)


# Every output, all as JSON or all binary: what a request that names no outputs gets.
_ALL_OUTPUTS = {binary: tuple(RequestedOutput(name, binary) for name in OUTPUT_NAMES) for binary in (False, True)}


def _requested_outputs(document: dict[str, Any]) -> Sequence[RequestedOutput]:
    """The optional ``outputs`` list (all outputs when absent), each binary or JSON."""
    binary_default = _parameters(document, "request").get("binary_data_output", False) is True
    outputs = document.get("outputs")
    if outputs is None:
        return _ALL_OUTPUTS[binary_default]
    if not isinstance(outputs, list) or not all(isinstance(item, dict) for item in outputs):
        raise InvalidRequestError('"outputs" must be a list of {"name": ...} objects')
    names = [item.get("name") for item in outputs]
    unknown = [name for name in names if name not in OUTPUT_NAMES]
    if unknown or not names:
        raise InvalidRequestError(f"unknown outputs {unknown}; choose from {list(OUTPUT_NAMES)}")
    return [
        RequestedOutput(str(item["name"]), _parameters(item, "output").get("binary_data", binary_default) is True)
        for item in outputs
    ]


def parse_infer_request(
    body: bytes, content_type: str | None, header_length: str | None, metadata: ModelMetadata, max_rows: int
) -> InferRequest:
    """Validate an infer request body, JSON or JSON header + binary tensors."""
    kind = media_type(content_type)
    if kind and kind not in _CONTENT_TYPES:
        raise UnsupportedMediaTypeError(f"unsupported Content-Type {kind!r}; use {' or '.join(_CONTENT_TYPES)}")
    json_part, binary = _split_body(body, header_length)
    document = parse_json_body(json_part)
    if not isinstance(document, dict):
        raise InvalidRequestError("the inference request must be a JSON object")
    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidRequestError(f'"id" must be a string, got {type(request_id).__name__}')
    features = _input_features(document, binary, metadata, max_rows)
    return InferRequest(request_id, features, _requested_outputs(document))


@functools.lru_cache(maxsize=4)
def _bytes_element_table(class_names: tuple[str, ...]) -> dict[str, bytes]:
    """Each class name as an element of a BYTES tensor in the binary extension: its length (uint32
    little-endian), then its UTF-8 bytes. Made once per model: labels are always its class names."""
    return {name: struct.pack("<I", len(raw)) + raw for name in class_names for raw in (name.encode(),)}


def _output_tensor(name: str, prediction: Prediction) -> tuple[dict[str, Any], Any]:
    """The head (name, datatype, shape) and the flat values of one output."""
    if name == LABEL_OUTPUT:
        return {"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [len(prediction.labels)]}, prediction.labels
    probabilities = prediction.probabilities
    return {"name": PROBABILITIES_OUTPUT, "datatype": "FP32", "shape": list(probabilities.shape)}, probabilities.ravel()


def encode_infer_response(request: InferRequest, prediction: Prediction, metadata: ModelMetadata) -> InferResponse:
    """Output tensors in the order asked for; binary ones after the JSON header, in the same order."""
    outputs: list[dict[str, Any]] = []
    tail: list[bytes] = []
    for wanted in request.outputs:
        tensor, values = _output_tensor(wanted.name, prediction)
        if wanted.binary:
            if wanted.name == LABEL_OUTPUT:
                raw = b"".join(map(_bytes_element_table(metadata.class_names).__getitem__, values))
            else:
                raw = values.astype("<f4").tobytes()
            tensor["parameters"] = {"binary_data_size": len(raw)}
            tail.append(raw)
        else:
            tensor["data"] = values
        outputs.append(tensor)
    document: dict[str, Any] = {"model_name": metadata.name, "model_version": metadata.version}
    if request.request_id is not None:
        document["id"] = request.request_id
    document["outputs"] = outputs
    header = orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
    return InferResponse(header + b"".join(tail), len(header) if tail else None)


def model_metadata(metadata: ModelMetadata) -> dict[str, Any]:
    """Name, versions, platform and tensor signature of the model."""
    features, classes = len(metadata.feature_names), len(metadata.class_names)
    return {
        "name": metadata.name,
        "versions": [metadata.version],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": metadata.input_name, "datatype": "FP32", "shape": [-1, features]}],
        "outputs": [
            {"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [-1]},
            {"name": PROBABILITIES_OUTPUT, "datatype": "FP32", "shape": [-1, classes]},
        ],
        "parameters": {"feature_names": list(metadata.feature_names), "class_names": list(metadata.class_names)},
    }
