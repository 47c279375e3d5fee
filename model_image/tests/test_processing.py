"""The float32 check: the quick sum-of-magnitudes test and the exact one agree on every input."""

from __future__ import annotations

import numpy as np
import pytest

from model_server.errors import InvalidRequestError
from model_server.processing import FLOAT32_MAX, finite_float32


@pytest.mark.parametrize(
    "rows",
    [
        [[5.1, 3.5, 1.4, 0.2]],
        [[3e38, 3e38, -3e38, FLOAT32_MAX]],  # every value fits though their sum does not: the exact check decides
        [[np.iinfo(np.int64).min, 0, 1, np.iinfo(np.int64).max]],
        [[0, 0, 0, 0]] * 1000,
    ],
)
def test_values_within_float32_range_are_cast(rows: list[list[float]]) -> None:
    array = np.asarray(rows)
    matrix = finite_float32(array, 4)
    assert matrix.dtype == np.float32 and matrix.flags.c_contiguous
    np.testing.assert_array_equal(matrix, array.astype(np.float32))


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        ([[5.1, np.nan, 1.4, 0.2]], "row 0, feature 1"),
        ([[5.1, 3.5, 1.4, 0.2], [1.0, 2.0, np.inf, 0.0]], "row 1, feature 2"),
        ([[5.1, 3.5, 1.4, -1e39]], "row 0, feature 3"),
    ],
)
def test_values_outside_float32_range_are_refused_by_position(rows: list[list[float]], where: str) -> None:
    with pytest.raises(InvalidRequestError, match=where):
        finite_float32(np.asarray(rows), 4)
