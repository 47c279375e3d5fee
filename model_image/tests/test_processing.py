"""The float32 checks: the quick sum-of-magnitudes test and the exact one agree on every input, and so do the
plain-Python path for a few values and the numpy path for the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_server.errors import InvalidRequestError
from model_server.processing import (
    FEW_VALUES,
    FLOAT32_MAX,
    features_from_instances,
    features_from_values,
    few_plain_numbers,
    finite_float32,
    numeric_array,
)


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


_VALUES = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6),
    st.floats(),  # NaN, infinities, magnitudes beyond float32
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_VALUES, min_size=1, max_size=FEW_VALUES + 4))
def test_the_quick_path_takes_only_plain_numbers_and_gives_the_general_paths_matrix(values: list[Any]) -> None:
    quick = few_plain_numbers(values)
    plain = all(type(value) in (int, float) and abs(value) < 2**53 for value in values)
    assert (quick is not None) == (plain and len(values) <= FEW_VALUES)
    if quick is not None:
        general = finite_float32(numeric_array(values, "values"), len(values))
        assert quick.dtype == np.float32
        np.testing.assert_array_equal(quick.reshape(general.shape).view(np.uint32), general.view(np.uint32))


def test_one_row_through_the_quick_path_and_many_rows_through_numpy_agree() -> None:
    row = [5.1, 3, 1.4, 0.2]
    one = features_from_instances([row], ("a", "b", "c", "d"), max_rows=1000)
    many = features_from_instances([row] * (FEW_VALUES // 4 + 1), ("a", "b", "c", "d"), max_rows=1000)
    flat = features_from_values(row, [1, 4], 4)
    np.testing.assert_array_equal(one, many[:1])
    np.testing.assert_array_equal(flat, one)
    assert one.shape == flat.shape == (1, 4) and one.flags.c_contiguous
