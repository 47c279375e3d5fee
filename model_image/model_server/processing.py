"""Pre-processing shared by every protocol and body format, knowing neither.

It turns untrusted, already-decoded request data (JSON values, CSV text, ``.npy`` bytes, raw FP32 bytes)
into a finite float32 ``[N, features]`` matrix in the model's feature order, or raises a typed error naming
exactly what is wrong. Every format ends in the same checks, so a row accepted in one format is accepted in
the others and produces the same prediction.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import chain
from math import prod
from typing import Any

import numpy as np
import orjson

from .errors import InvalidRequestError, PayloadTooLargeError

FLOAT32_MAX = float(np.finfo(np.float32).max)
# Up to this many values, plain Python checks cost less than numpy's fixed cost per call (see few_plain_numbers).
FEW_VALUES = 64
# Below 2**53 in magnitude every number is exact as a float64, so a direct float32 conversion rounds it as the
# general path's float64 or int64 array does: both paths give the same matrix, bit for bit.
_EXACT_MAGNITUDE = float(2**53)
_PLAIN_NUMBERS = frozenset({int, float})


def check_batch_size(rows: int, max_rows: int) -> None:
    """Reject empty batches and batches over the configured row limit."""
    if rows == 0:
        raise InvalidRequestError("the batch is empty: send at least one row")
    if rows > max_rows:
        raise PayloadTooLargeError(f"the batch has {rows} rows; the limit is {max_rows} (MAX_BATCH_ROWS)")


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
        raise InvalidRequestError(f"{what} are ragged or nested too deeply: every row needs the same length") from None
    if array.dtype.kind not in "iuf" or (array.ndim <= 2 and _contains_bool(values, array.ndim)):
        raise InvalidRequestError(_first_non_number(values))
    return array


def finite_float32(array: np.ndarray, feature_count: int) -> np.ndarray:
    """Cast a numeric ``[N, features]`` array to float32, rejecting NaN, infinity and float32 overflow."""
    # Fast check first: a sum of magnitudes within float32 range means every value is finite and fits, so the
    # cast cannot overflow (NaN and infinity fail the test). For one row, 1.5 us instead of 3.6 us for the
    # error-state context, cast and check below, which only the rare larger or non-finite inputs reach.
    if np.add.reduce(np.abs(array), axis=None, dtype=np.float64) <= FLOAT32_MAX:
        return np.ascontiguousarray(array, dtype=np.float32).reshape(-1, feature_count)
    with np.errstate(over="ignore", invalid="ignore"):
        matrix = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(matrix)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        raise InvalidRequestError(
            f"row {row}, feature {column}: value must be finite and within float32 range "
            f"(|x| <= {FLOAT32_MAX:.4g}), got {array[row, column]!r}"
        )
    return matrix.reshape(-1, feature_count)


def few_plain_numbers(values: list[Any]) -> np.ndarray | None:
    """A float32 vector of ``values`` when they are few (``FEW_VALUES``), all JSON numbers (no booleans, nulls
    or strings) and all of magnitude below 2**53 (so finite); None for anything else, which the general path
    then takes and, when something is wrong, names. One iris row: ~3.7 us, against ~8 us through numpy."""
    if (
        len(values) <= FEW_VALUES
        and set(map(type, values)) <= _PLAIN_NUMBERS
        and all(map(_EXACT_MAGNITUDE.__gt__, map(abs, values)))
    ):
        return np.array(values, dtype=np.float32)
    return None


def features_from_instances(instances: object, feature_names: Sequence[str], max_rows: int) -> np.ndarray:
    """``instances`` as lists of numbers in feature order, or as objects keyed by feature name."""
    if not isinstance(instances, list):
        raise InvalidRequestError(f"'instances' must be a list of rows, got {_type_name(instances)}")
    check_batch_size(len(instances), max_rows)
    feature_count = len(feature_names)
    if isinstance(instances[0], dict):
        instances = _ordered_rows(instances, feature_names)
    else:
        matrix = _few_plain_rows(instances, feature_count)
        if matrix is not None:
            return matrix
    array = numeric_array(instances, "instances")
    if array.ndim != 2 or array.shape[1] != feature_count:
        raise InvalidRequestError(
            f"each instance needs {feature_count} numbers ({', '.join(feature_names)}); "
            f"got an array of shape {list(array.shape)}"
        )
    return finite_float32(array, feature_count)


def _few_plain_rows(rows: list[Any], feature_count: int) -> np.ndarray | None:
    """``few_plain_numbers`` for a few rows of ``feature_count`` numbers each; None for anything else, and
    at once for a batch of more than ``FEW_VALUES`` values, which never looks at its rows here."""
    if (
        len(rows) * feature_count > FEW_VALUES
        or set(map(type, rows)) != {list}
        or set(map(len, rows)) != {feature_count}
    ):
        return None
    vector = few_plain_numbers(list(chain.from_iterable(rows)))
    return None if vector is None else vector.reshape(-1, feature_count)


def _ordered_rows(instances: list[Any], feature_names: Sequence[str]) -> list[list[Any]]:
    """Named-feature rows reordered to the model's feature order; missing or unknown names rejected."""
    expected = set(feature_names)
    ordered: list[list[Any]] = []
    for index, row in enumerate(instances):
        if not isinstance(row, dict):
            raise InvalidRequestError(f"row {index}: mix of named and positional rows; use one form for the batch")
        if row.keys() != expected:
            missing = sorted(expected - row.keys())
            unknown = sorted(set(row) - expected)
            problems = [f"missing features {missing}"] if missing else []
            problems += [f"unknown features {unknown}"] if unknown else []
            raise InvalidRequestError(f"row {index}: {'; '.join(problems)}")
        ordered.append([row[name] for name in feature_names])
    return ordered


def features_from_csv(body: bytes, feature_count: int, max_rows: int) -> np.ndarray:
    """CSV without header, one row of ``feature_count`` numbers per line; blank lines ignored."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequestError(f"CSV body is not valid UTF-8: {error}") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    check_batch_size(len(lines), max_rows)
    rows: list[list[float]] = []
    for line_number, line in lines:
        cells = line.split(",")
        if len(cells) != feature_count:
            raise InvalidRequestError(f"CSV line {line_number} has {len(cells)} values; expected {feature_count}")
        try:
            rows.append([float(cell) for cell in cells])
        except ValueError:
            bad = next(cell for cell in cells if not _is_float(cell))
            raise InvalidRequestError(f"CSV line {line_number}: {bad.strip()!r} is not a number") from None
    return finite_float32(np.asarray(rows, dtype=np.float64), feature_count)


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def check_matrix_shape(shape: object, feature_count: int, max_rows: int) -> list[int]:
    """A declared ``[N, features]`` shape with integer N within the batch limit."""
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or shape[0].__class__ is not int
        or shape[1].__class__ is not int
        or shape[0] < 0
        or shape[1] != feature_count
    ):
        raise InvalidRequestError(f"input shape must be [N, {feature_count}] with integer N, got {shape!r}")
    check_batch_size(shape[0], max_rows)
    return shape


def features_from_values(data: object, shape: list[int], feature_count: int) -> np.ndarray:
    """Numbers, flat or nested, that fill the declared ``[N, features]`` shape exactly."""
    if not isinstance(data, list):
        raise InvalidRequestError(f'input "data" must be a list of numbers, got {_type_name(data)}')
    if len(data) == shape[0] * shape[1]:  # flat, as tritonclient and most clients send it
        vector = few_plain_numbers(data)
        if vector is not None:
            return vector.reshape(shape)
    array = numeric_array(data, "input data")
    if array.size != shape[0] * shape[1] or array.ndim > 2 or (array.ndim == 2 and list(array.shape) != shape):
        raise InvalidRequestError(
            f"input data holds {array.size} values in shape {list(array.shape)}; shape says {shape}"
        )
    return finite_float32(array.reshape(shape), feature_count)


def features_from_fp32_bytes(raw: bytes, shape: list[int], feature_count: int) -> np.ndarray:
    """Little-endian float32 values, row-major, that fill the declared ``[N, features]`` shape exactly."""
    expected = shape[0] * shape[1] * 4
    if len(raw) != expected:
        raise InvalidRequestError(f"binary input holds {len(raw)} bytes; shape {shape} of FP32 needs {expected}")
    return finite_float32(np.frombuffer(raw, dtype="<f4").reshape(shape), feature_count)


_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def features_from_npy(body: bytes, feature_count: int, max_rows: int) -> np.ndarray:
    """A ``.npy`` document (what ``numpy.save`` writes) of numbers, shaped ``[features]`` or ``[N, features]``.

    The header is checked against the body's length before any array exists, so a header that claims a
    huge shape costs nothing; object arrays (pickles) are refused.
    """
    stream = io.BytesIO(body)
    try:
        version = np.lib.format.read_magic(stream)
        shape, fortran_order, dtype = _NPY_HEADER_READERS[version](stream)
    except (ValueError, KeyError, EOFError) as error:
        raise InvalidRequestError(f"the body is not a .npy array (numpy.save format 1.0 or 2.0): {error}") from None
    if dtype.kind not in "iuf" or dtype.hasobject:
        raise InvalidRequestError(f".npy dtype must be integer or float, got {dtype.str!r}")
    if len(shape) not in (1, 2) or shape[-1] != feature_count:
        raise InvalidRequestError(f".npy shape must be [{feature_count}] or [N, {feature_count}], got {list(shape)}")
    data = body[stream.tell() :]
    expected = prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise InvalidRequestError(
            f".npy data holds {len(data)} bytes; shape {list(shape)} of {dtype.str} needs {expected}"
        )
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    matrix = array.reshape(-1, feature_count)
    check_batch_size(matrix.shape[0], max_rows)
    return finite_float32(matrix, feature_count)


def parse_json_body(body: bytes) -> Any:
    """Decode a JSON request body, turning every decoding problem into a 400 that quotes the parser."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        if not body.strip():
            raise InvalidRequestError("the request body is empty: send a JSON document") from None
        raise InvalidRequestError(f"malformed JSON: {error}") from None
