"""What the servers are asked and what they must answer: request bodies per protocol, and the check that
every server predicts the known class of known iris rows before anything is timed.

Protocols: `sagemaker` (`POST /invocations`, `{"instances": rows}`, answer `{"predictions": [{"label"}]}`),
`v2` (Open Inference Protocol `POST /v2/models/iris/infer`, one FP32 `[N, 4]` tensor; the answer's class
is a `label` BYTES tensor of names or, from MLServer's scikit-learn runtime, a `predict` INT64 tensor of
class indices), `v2_binary` (the same request through the binary tensor data extension, body and answer
exactly as `tritonclient` writes and reads them: a JSON header of `Inference-Header-Content-Length` bytes,
then the raw FP32 rows; every output binary) and `ping` (`GET /ping`, no body, not a prediction).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from delivery_tools.common.errors import ToolError

MODEL_NAME = "iris"
INPUT_NAME = "input"
CLASS_NAMES = ("setosa", "versicolor", "virginica")
# Rows of the iris data set (numbers 1, 140, 62 and 7) and their true classes, which the model gets right.
KNOWN_ROWS: tuple[tuple[tuple[float, float, float, float], str], ...] = (
    ((5.1, 3.5, 1.4, 0.2), "setosa"),
    ((6.9, 3.1, 5.4, 2.1), "virginica"),
    ((5.9, 3.0, 4.2, 1.5), "versicolor"),
    ((4.6, 3.4, 1.4, 0.3), "setosa"),
)
INFER_PATH = f"/v2/models/{MODEL_NAME}/infer"
PATHS = {"sagemaker": "/invocations", "v2": INFER_PATH, "v2_binary": INFER_PATH, "ping": "/ping"}
LABEL_TENSORS = ("label", "predict")
HEADER_LENGTH = "Inference-Header-Content-Length"
JSON_HEADERS = {"Content-Type": "application/json"}


class WrongAnswerError(ToolError):
    """A server answered a known row with the wrong class, or with something that is no answer."""


def rows_and_labels(count: int) -> tuple[list[list[float]], list[str]]:
    """`count` rows cycling through the known rows, and the class each must get."""
    chosen = [KNOWN_ROWS[i % len(KNOWN_ROWS)] for i in range(count)]
    return [list(row) for row, _ in chosen], [label for _, label in chosen]


def request_body(protocol: str, rows: list[list[float]]) -> dict[str, Any]:
    """The JSON document `protocol` sends for `rows`."""
    if protocol == "sagemaker":
        return {"instances": rows}
    if protocol == "v2":
        flat = [value for row in rows for value in row]
        return {"inputs": [{"name": INPUT_NAME, "shape": [len(rows), 4], "datatype": "FP32", "data": flat}]}
    raise ValueError(f"protocol {protocol!r} sends no body")


@dataclass(frozen=True)
class Body:
    """A request body in a file (what wrk sends) and the headers that go with it."""

    path: Path
    headers: dict[str, str]


def binary_request(rows: list[list[float]]) -> tuple[bytes, dict[str, str]]:
    """`rows` as tritonclient sends them by default: one FP32 input set from numpy (binary), no outputs named
    (so every output comes back binary), `Inference-Header-Content-Length` and no Content-Type."""
    tensor = triton.InferInput(INPUT_NAME, [len(rows), 4], "FP32")
    tensor.set_data_from_numpy(np.asarray(rows, dtype=np.float32))
    body, json_size = triton.InferenceServerClient.generate_request_body([tensor])
    return bytes(body), {HEADER_LENGTH: str(json_size)}


def write_body(directory: Path, protocol: str, rows: int) -> Body:
    """The body file of `rows` known rows in `protocol`, for wrk and for the correctness check."""
    known = rows_and_labels(rows)[0]
    if protocol == "v2_binary":
        content, headers = binary_request(known)
        path = directory / f"body-{protocol}-{rows}.bin"
        path.write_bytes(content)
        return Body(path, headers)
    path = directory / f"body-{protocol}-{rows}.json"
    path.write_text(json.dumps(request_body(protocol, known)), encoding="utf-8")
    return Body(path, JSON_HEADERS)


def labels_in_answer(protocol: str, answer: Any) -> list[str]:
    """The predicted class names in a server's JSON answer; WrongAnswerError when it holds none."""
    try:
        if protocol == "sagemaker":
            return [str(prediction["label"]) for prediction in answer["predictions"]]
        if protocol == "v2":
            tensor = next(t for t in answer["outputs"] if t["name"] in LABEL_TENSORS)
            if tensor["datatype"] == "BYTES":
                return [str(label) for label in tensor["data"]]
            return [CLASS_NAMES[int(index)] for index in tensor["data"]]
    except (KeyError, TypeError, IndexError, ValueError, StopIteration) as error:
        raise WrongAnswerError(f"no {protocol} prediction in the answer {json.dumps(answer)[:300]}") from error
    raise ValueError(f"protocol {protocol!r} has no predictions")


def labels_in_binary_answer(content: bytes, headers: Mapping[str, str]) -> list[str]:
    """The predicted class names of an answer with binary tensors, read as tritonclient reads it."""
    length = headers.get(HEADER_LENGTH)
    try:
        result = triton.InferenceServerClient.parse_response_body(
            content, header_length=None if length is None else int(length)
        )
        labels = result.as_numpy("label")
    except (InferenceServerException, ValueError, KeyError, TypeError) as error:
        raise WrongAnswerError(f"no binary prediction in the answer {content[:300]!r}: {error}") from error
    if labels is None:
        raise WrongAnswerError(f"no label tensor in the binary answer {content[:300]!r}")
    return [bytes(label).decode() for label in labels.tolist()]


def check_response(server: str, protocol: str, rows: int, content: bytes, headers: Mapping[str, str]) -> None:
    """`check_answer` of a response body, decoded as `protocol` answers (JSON, or binary tensors)."""
    if protocol == "v2_binary":
        check_labels(server, protocol, rows, labels_in_binary_answer(content, headers))
        return
    try:
        answer = json.loads(content)
    except ValueError as error:
        raise WrongAnswerError(f"{server} answered {protocol} with no JSON: {content[:300]!r}") from error
    check_answer(server, protocol, rows, answer)


def check_answer(server: str, protocol: str, rows: int, answer: Any) -> None:
    """Raise WrongAnswerError unless `answer` gives every one of the `rows` known rows its known class."""
    check_labels(server, protocol, rows, labels_in_answer(protocol, answer))


def check_labels(server: str, protocol: str, rows: int, got: list[str]) -> None:
    """Raise WrongAnswerError unless `got` are the known classes of the `rows` known rows."""
    expected = rows_and_labels(rows)[1]
    if len(got) != len(expected):
        raise WrongAnswerError(f"{server} answered {len(got)} predictions for {rows} rows ({protocol})")
    wrong = [(i, want, have) for i, (want, have) in enumerate(zip(expected, got, strict=True)) if want != have]
    if wrong:
        i, want, have = wrong[0]
        raise WrongAnswerError(
            f"{server} answers wrongly ({protocol}, {rows} rows): row {i} {rows_and_labels(rows)[0][i]} "
            f"is {want!r}, it said {have!r} ({len(wrong)} of {rows} rows wrong); its numbers would mean nothing"
        )
