"""Property-based: whatever body arrives, both protocols answer below 500 and keep a JSON error shape."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.sampled_from([*FEATURES, "x", "id", "name"]), inner, max_size=5)
    ),
    max_leaves=30,
)
number_like = st.one_of(st.floats(width=64), st.integers(min_value=-(2**64), max_value=2**64), scalars)
rows = st.lists(st.lists(number_like, min_size=0, max_size=6), max_size=5)
named_rows = st.lists(st.dictionaries(st.sampled_from([*FEATURES, "extra"]), number_like, max_size=5), max_size=4)


def encode(document: Any) -> bytes:
    """JSON text; Python's json would refuse big ints and NaN the way clients might still send them."""
    try:
        return orjson.dumps(document)
    except (orjson.JSONEncodeError, TypeError):
        return repr(document).encode()


def assert_client_error_or_success(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert isinstance(response.json()["error"], str)


@FUZZ
@given(instances=st.one_of(rows, named_rows, json_values))
def test_invocations_json_never_5xx(client: TestClient, instances: Any) -> None:
    response = client.post(
        "/invocations", content=encode({"instances": instances}), headers={"content-type": "application/json"}
    )
    assert_client_error_or_success(response)


@FUZZ
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_invocations_raw_bytes_never_5xx(client: TestClient, body: bytes) -> None:
    for content_type in ("application/json", "text/csv", "application/jsonlines", "application/x-npy"):
        response = client.post("/invocations", content=body, headers={"content-type": content_type})
        assert_client_error_or_success(response)
    for encoding in ("gzip", "deflate"):
        response = client.post(
            "/invocations", content=body, headers={"content-type": "application/json", "content-encoding": encoding}
        )
        assert_client_error_or_success(response)


binary_headers = st.builds(
    lambda size, shape: encode(
        {"inputs": [{"name": "input", "datatype": "FP32", "shape": shape, "parameters": {"binary_data_size": size}}]}
    ),
    st.one_of(st.integers(min_value=-4, max_value=80), json_values),
    st.one_of(st.lists(st.integers(min_value=-1, max_value=5), max_size=3), json_values),
)


@FUZZ
@given(
    header=st.one_of(binary_headers, st.binary(max_size=120)),
    tail=st.binary(max_size=64),
    offset=st.integers(min_value=-3, max_value=3),
)
def test_v2_binary_bodies_never_5xx(client: TestClient, header: bytes, tail: bytes, offset: int) -> None:
    """Whatever the JSON header says, whatever length is claimed for it and whatever bytes follow it."""
    response = client.post(
        "/v2/models/iris/infer",
        content=header + tail,
        headers={
            "inference-header-content-length": str(len(header) + offset),
            "content-type": "application/octet-stream",
        },
    )
    assert_client_error_or_success(response)


@FUZZ
@given(
    lines=st.lists(
        st.lists(st.one_of(st.floats().map(repr), st.integers().map(str), st.text(max_size=5)), max_size=6), max_size=5
    )
)
def test_invocations_csv_never_5xx(client: TestClient, lines: list[list[str]]) -> None:
    body = "\n".join(",".join(cells) for cells in lines).encode("utf-8", "surrogatepass")
    response = client.post("/invocations", content=body, headers={"content-type": "text/csv"})
    assert_client_error_or_success(response)


tensors = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.just("input"), json_values),
        "datatype": st.one_of(st.just("FP32"), json_values),
        "shape": st.one_of(st.lists(st.integers(min_value=-3, max_value=6), max_size=3), json_values),
        "data": st.one_of(rows, st.lists(number_like, max_size=12), json_values),
    },
)


@FUZZ
@given(
    document=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "id": json_values,
                "inputs": st.one_of(st.lists(tensors, max_size=2), json_values),
                "outputs": st.one_of(st.lists(st.fixed_dictionaries({"name": json_values})), json_values),
            },
        ),
    )
)
def test_v2_infer_never_5xx(client: TestClient, document: Any) -> None:
    response = client.post(
        "/v2/models/iris/infer", content=encode(document), headers={"content-type": "application/json"}
    )
    assert_client_error_or_success(response)
