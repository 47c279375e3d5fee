"""The SageMaker hosting contract's body formats, as the SageMaker Python SDK's serializers write them.

Requests: ``application/json`` (``{"instances": rows}`` or a bare list of rows), ``text/csv``,
``application/jsonlines`` (one row per line) and ``application/x-npy``. Responses: the same four, picked
from Accept and labelled with exactly the chosen type (no ``charset`` parameter: clients compare it).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from .errors import InvalidRequestError, NotAcceptableError, UnsupportedMediaTypeError
from .headers import media_type
from .model import Prediction
from .processing import features_from_csv, features_from_instances, features_from_npy, parse_json_body

JSON = "application/json"
CSV = "text/csv"
JSON_LINES = "application/jsonlines"
NPY = "application/x-npy"
CONTENT_TYPES = (JSON, CSV, JSON_LINES, NPY)
# Accept ranges that name no exact type: the first type of theirs wins.
_WILDCARDS = {"*/*": JSON, "application/*": JSON, "text/*": CSV}


def _rows_from_json(body: bytes) -> object:
    document = parse_json_body(body)
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and "instances" in document:
        return document["instances"]
    raise InvalidRequestError('the JSON body must be a list of rows or an object with an "instances" list')


def _rows_from_json_lines(body: bytes) -> list[Any]:
    return [parse_json_body(line) for line in body.splitlines() if line.strip()]


def decode_features(body: bytes, content_type: str | None, feature_names: Sequence[str], max_rows: int) -> np.ndarray:
    """The request body as the model's input matrix; Content-Type absent means JSON."""
    kind = media_type(content_type) or JSON
    if kind == JSON:
        return features_from_instances(_rows_from_json(body), feature_names, max_rows)
    if kind == JSON_LINES:
        return features_from_instances(_rows_from_json_lines(body), feature_names, max_rows)
    if kind == CSV:
        return features_from_csv(body, len(feature_names), max_rows)
    if kind == NPY:
        return features_from_npy(body, len(feature_names), max_rows)
    raise UnsupportedMediaTypeError(f"unsupported Content-Type {kind!r}; use one of {', '.join(CONTENT_TYPES)}")


def _quality(parameters: Sequence[str]) -> float:
    """The ``q`` weight of one Accept range (1 when absent, 0 when unreadable)."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _accepted_ranges(accept: str) -> list[str]:
    """The media ranges of an Accept header, most wanted first (stable for equal weights), q=0 left out."""
    weighted = []
    for item in accept.split(","):
        wanted, *parameters = item.split(";")
        quality = _quality(parameters)
        if quality > 0:
            weighted.append((-quality, wanted.strip().lower()))
    return [wanted for _, wanted in sorted(weighted, key=lambda pair: pair[0])]


def response_type(accept: str | None) -> str:
    """The most wanted type of the Accept header that the server writes; absent means JSON."""
    if not accept:
        return JSON
    for wanted in _accepted_ranges(accept):
        if wanted in CONTENT_TYPES:
            return wanted
        if wanted in _WILDCARDS:
            return _WILDCARDS[wanted]
    raise NotAcceptableError(f"cannot answer with Accept {accept!r}; use one of {', '.join(CONTENT_TYPES)}")


def _prediction_objects(prediction: Prediction, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """One ``{"label", "probabilities": {class: p}}`` object per row. The probabilities stay numpy float32
    scalars so orjson prints them exactly as the Open Inference Protocol route prints its FP32 tensor."""
    return [
        {"label": label, "probabilities": dict(zip(class_names, row, strict=True))}
        for label, row in zip(prediction.labels, prediction.probabilities, strict=True)
    ]


def encode_prediction(prediction: Prediction, class_names: Sequence[str], kind: str) -> bytes:
    """The response body of type ``kind`` (one of ``CONTENT_TYPES``).

    JSON: ``{"predictions": [objects]}``; JSON lines: one object per line; CSV: one label per line;
    ``.npy``: the float32 ``[N, classes]`` probabilities, columns in ``class_names`` order.
    """
    if kind == CSV:
        return "".join(f"{label}\n" for label in prediction.labels).encode()
    if kind == NPY:
        return npy_bytes(prediction.probabilities)
    objects = _prediction_objects(prediction, class_names)
    if kind == JSON_LINES:
        return b"".join(orjson.dumps(item, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n" for item in objects)
    return orjson.dumps({"predictions": objects}, option=orjson.OPT_SERIALIZE_NUMPY)


def npy_bytes(array: np.ndarray) -> bytes:
    """``numpy.save`` of ``array`` into bytes, without pickles."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
