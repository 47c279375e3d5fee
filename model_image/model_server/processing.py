"""Pre- and post-processing shared by the SageMaker and Open Inference Protocol routes.

Pre-processing turns untrusted request data into a finite float32 ``[N, features]`` matrix in the
model's feature order, or raises ``RequestError`` naming exactly what is wrong. Post-processing turns
model output into each protocol's response shape. Both protocols call the same functions, so a row
accepted by one is accepted by the other and produces the same prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import orjson

from .model import LABEL_OUTPUT, PROBABILITIES_OUTPUT, Prediction

FLOAT32_MAX = float(np.finfo(np.float32).max)


class RequestError(Exception):
    """A client mistake, answered with ``status`` and a JSON body naming the problem."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def check_batch_size(rows: int, max_rows: int) -> None:
    """Reject empty batches and batches over the configured row limit."""
    if rows == 0:
        raise RequestError("the batch is empty: send at least one row")
    if rows > max_rows:
        raise RequestError(f"the batch has {rows} rows; the limit is {max_rows} (MAX_BATCH_ROWS)", status=413)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _first_non_number(values: Sequence[Any]) -> str:
    """Describe the first value of a (possibly nested) row list that is not a JSON number."""
    for index, item in enumerate(values):
        if isinstance(item, list):
            for column, value in enumerate(item):
                if value.__class__ not in (int, float):
                    return f"row {index}, feature {column}: expected a number, got {_type_name(value)}"
        elif item.__class__ not in (int, float):
            return f"value {index}: expected a number, got {_type_name(item)}"
    return "values must be numbers within float64 range"


def _contains_bool(values: Sequence[Any], ndim: int) -> bool:
    """JSON true/false would silently become 1/0 in numpy: look for them, with C-speed loops."""
    items = chain.from_iterable(values) if ndim == 2 else values
    return bool in set(map(type, items))


def numeric_array(values: Sequence[Any], what: str) -> np.ndarray:
    """A numeric numpy view of JSON lists, rejecting ragged rows, strings, nulls and booleans."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        raise RequestError(f"{what} are ragged or nested too deeply: every row needs the same length") from None
    if array.dtype.kind not in "iuf" or (array.ndim <= 2 and _contains_bool(values, array.ndim)):
        raise RequestError(_first_non_number(values))
    return array


def finite_float32(array: np.ndarray, feature_count: int) -> np.ndarray:
    """Cast a numeric ``[N, features]`` array to float32, rejecting NaN, infinity and float32 overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        matrix = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(matrix)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        raise RequestError(
            f"row {row}, feature {column}: value must be finite and within float32 range "
            f"(|x| <= {FLOAT32_MAX:.4g}), got {array[row, column]!r}"
        )
    return matrix.reshape(-1, feature_count)


def features_from_instances(instances: object, feature_names: Sequence[str], max_rows: int) -> np.ndarray:
    """``instances`` as lists of numbers in feature order, or as objects keyed by feature name."""
    if not isinstance(instances, list):
        raise RequestError(f"'instances' must be a list of rows, got {_type_name(instances)}")
    check_batch_size(len(instances), max_rows)
    if isinstance(instances[0], dict):
        instances = _ordered_rows(instances, feature_names)
    array = numeric_array(instances, "instances")
    if array.ndim != 2 or array.shape[1] != len(feature_names):
        raise RequestError(
            f"each instance needs {len(feature_names)} numbers ({', '.join(feature_names)}); "
            f"got an array of shape {list(array.shape)}"
        )
    return finite_float32(array, len(feature_names))


def _ordered_rows(instances: list[Any], feature_names: Sequence[str]) -> list[list[Any]]:
    """Named-feature rows reordered to the model's feature order; missing or unknown names rejected."""
    expected = set(feature_names)
    ordered: list[list[Any]] = []
    for index, row in enumerate(instances):
        if not isinstance(row, dict):
            raise RequestError(f"row {index}: mix of named and positional rows; use one form for the batch")
        if row.keys() != expected:
            missing = sorted(expected - row.keys())
            unknown = sorted(set(row) - expected)
            problems = [f"missing features {missing}"] if missing else []
            problems += [f"unknown features {unknown}"] if unknown else []
            raise RequestError(f"row {index}: {'; '.join(problems)}")
        ordered.append([row[name] for name in feature_names])
    return ordered


def features_from_csv(body: bytes, feature_count: int, max_rows: int) -> np.ndarray:
    """CSV without header, one row of ``feature_count`` numbers per line; blank lines ignored."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(f"CSV body is not valid UTF-8: {error}") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    check_batch_size(len(lines), max_rows)
    rows: list[list[float]] = []
    for line_number, line in lines:
        cells = line.split(",")
        if len(cells) != feature_count:
            raise RequestError(f"CSV line {line_number} has {len(cells)} values; expected {feature_count}")
        try:
            rows.append([float(cell) for cell in cells])
        except ValueError:
            bad = next(cell for cell in cells if not _is_float(cell))
            raise RequestError(f"CSV line {line_number}: {bad.strip()!r} is not a number") from None
    return finite_float32(np.asarray(rows, dtype=np.float64), feature_count)


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def sagemaker_predictions(prediction: Prediction, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """One ``{"label", "probabilities": {class: p}}`` object per row. The probabilities stay numpy float32
    scalars so orjson prints them exactly as the Open Inference Protocol route prints its FP32 tensor."""
    return [
        {"label": label, "probabilities": dict(zip(class_names, row, strict=True))}
        for label, row in zip(prediction.labels, prediction.probabilities, strict=True)
    ]


def csv_labels(prediction: Prediction) -> str:
    """One label per line, for ``Accept: text/csv``."""
    return "".join(f"{label}\n" for label in prediction.labels)


def v2_outputs(prediction: Prediction, requested: Sequence[str]) -> list[dict[str, Any]]:
    """Open Inference Protocol output tensors, in the order the client asked for."""
    rows = len(prediction.labels)
    tensors: dict[str, dict[str, Any]] = {
        LABEL_OUTPUT: {"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [rows], "data": prediction.labels},
        PROBABILITIES_OUTPUT: {
            "name": PROBABILITIES_OUTPUT,
            "datatype": "FP32",
            "shape": list(prediction.probabilities.shape),
            "data": prediction.probabilities.ravel(),
        },
    }
    return [tensors[name] for name in requested]


def media_type(header: str | None) -> str:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``; empty when absent."""
    return (header or "").partition(";")[0].strip().lower()


def parse_json_body(body: bytes) -> Any:
    """Decode a JSON request body, turning every decoding problem into a 400 that quotes the parser."""
    if not body.strip():
        raise RequestError("the request body is empty: send a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestError(f"malformed JSON: {error}") from None
