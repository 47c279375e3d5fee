"""Every kind of bad request gets a 4xx JSON answer naming the problem, and the server keeps serving."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from model_server.sagemaker_format import JSON_LINES, NPY

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
JSON = {"content-type": "application/json"}


def npy_bytes(array: np.ndarray) -> bytes:
    """What the SageMaker SDK's NumpySerializer sends: ``numpy.save`` (pickles allowed, as numpy's default)."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_with_header(header: str) -> bytes:
    """A .npy document whose header says anything, followed by 16 bytes of data."""
    text = header.encode("latin-1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + bytes(16)


NAMED = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}

# (case id, content, headers, expected status, words the error must contain)
INVOCATIONS_CASES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed json", b'{"instances": [[5.1, 3.5', JSON, 400, "malformed JSON"),
    ("empty body", b"", JSON, 400, "empty"),
    ("blank body", b" \r\n ", JSON, 400, "empty"),
    ("not rows", b'"5.1, 3.5, 1.4, 0.2"', JSON, 400, '"instances"'),
    ("object without instances", b'{"rows": [[5.1, 3.5, 1.4, 0.2]]}', JSON, 400, '"instances"'),
    ("instances missing", b'{"rows": []}', JSON, 400, '"instances"'),
    ("instances not a list", b'{"instances": 5}', JSON, 400, "list of rows"),
    ("empty batch", b'{"instances": []}', JSON, 400, "empty"),
    ("too few features", b'{"instances": [[5.1, 3.5, 1.4]]}', JSON, 400, "4 numbers"),
    ("too many features", b'{"instances": [[5.1, 3.5, 1.4, 0.2, 9]]}', JSON, 400, "4 numbers"),
    ("ragged rows", b'{"instances": [[5.1, 3.5, 1.4, 0.2], [1, 2]]}', JSON, 400, "ragged"),
    ("flat row", b'{"instances": [5.1, 3.5, 1.4, 0.2]}', JSON, 400, "4 numbers"),
    ("string value", b'{"instances": [[5.1, "3.5", 1.4, 0.2]]}', JSON, 400, "feature 1: expected a number, got str"),
    ("null value", b'{"instances": [[5.1, 3.5, null, 0.2]]}', JSON, 400, "feature 2: expected a number, got null"),
    ("boolean value", b'{"instances": [[5.1, true, 1.4, 0.2]]}', JSON, 400, "got bool"),
    ("NaN literal", b'{"instances": [[NaN, 3.5, 1.4, 0.2]]}', JSON, 400, "malformed JSON"),
    ("infinity overflow", b'{"instances": [[1e999, 3.5, 1.4, 0.2]]}', JSON, 400, "malformed JSON"),
    ("float32 overflow", b'{"instances": [[1e39, 3.5, 1.4, 0.2]]}', JSON, 400, "float32 range"),
    ("missing named feature", b'{"instances": [{"sepal_length": 5.1}]}', JSON, 400, "missing features"),
    (
        "unknown named feature",
        b'{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, '
        b'"petal_width": 0.2, "colour": 1}]}',
        JSON,
        400,
        "unknown features ['colour']",
    ),
    ("named then positional", b'{"instances": [{"sepal_length": 1}, [1, 2, 3, 4]]}', JSON, 400, "row 0"),
    ("invalid utf-8", b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}\xff', JSON, 400, "malformed JSON"),
    ("csv wrong count", b"5.1,3.5,1.4\n", {"content-type": "text/csv"}, 400, "line 1 has 3 values"),
    ("csv not a number", b"5.1,3.5,abc,0.2\n", {"content-type": "text/csv"}, 400, "'abc' is not a number"),
    (
        "csv header",
        b"sepal_length,sepal_width,petal_length,petal_width\n",
        {"content-type": "text/csv"},
        400,
        "not a number",
    ),
    ("csv nan", b"5.1,nan,1.4,0.2\n", {"content-type": "text/csv"}, 400, "row 0, feature 1"),
    ("csv infinity", b"5.1,3.5,inf,0.2\n", {"content-type": "text/csv"}, 400, "finite"),
    ("csv empty", b"\n\n", {"content-type": "text/csv"}, 400, "empty"),
    ("csv binary", b"\xff\xfe", {"content-type": "text/csv"}, 400, "UTF-8"),
    ("unsupported type", b"<xml/>", {"content-type": "application/xml"}, 415, "application/xml"),
    ("unsupported type names the accepted", b"<xml/>", {"content-type": "text/xml"}, 415, "application/x-npy"),
    ("jsonlines malformed line", b"[5.1, 3.5, 1.4, 0.2]\n[5.1,\n", {"content-type": JSON_LINES}, 400, "malformed JSON"),
    ("jsonlines short row", b"[5.1, 3.5, 1.4]\n", {"content-type": JSON_LINES}, 400, "4 numbers"),
    ("jsonlines empty", b"\n", {"content-type": JSON_LINES}, 400, "empty"),
    ("npy not npy", b"[[5.1, 3.5, 1.4, 0.2]]", {"content-type": NPY}, 400, "not a .npy array"),
    ("npy pickled objects", npy_bytes(np.array([[object()] * 4], dtype=object)), {"content-type": NPY}, 400, "dtype"),
    ("npy strings", npy_bytes(np.array([["a"] * 4])), {"content-type": NPY}, 400, "dtype"),
    ("npy wrong width", npy_bytes(np.zeros((2, 3))), {"content-type": NPY}, 400, "[N, 4]"),
    ("npy three dims", npy_bytes(np.zeros((1, 2, 4))), {"content-type": NPY}, 400, "[N, 4]"),
    ("npy truncated data", npy_bytes(np.zeros((2, 4)))[:-8], {"content-type": NPY}, 400, "needs 64"),
    (
        "npy huge declared shape",
        npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 4), }"),
        {"content-type": NPY},
        400,
        "needs",
    ),
    ("npy nan", npy_bytes(np.array([[np.nan, 1, 2, 3]])), {"content-type": NPY}, 400, "finite"),
    ("npy empty batch", npy_bytes(np.zeros((0, 4))), {"content-type": NPY}, 400, "empty"),
]


@pytest.mark.parametrize(
    ("content", "headers", "status", "words"),
    [case[1:] for case in INVOCATIONS_CASES],
    ids=[case[0] for case in INVOCATIONS_CASES],
)
def test_invocations_rejects_bad_input_clearly(
    client: TestClient, content: bytes, headers: dict[str, str], status: int, words: str
) -> None:
    response = client.post("/invocations", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert words in response.json()["error"]
    assert client.post("/invocations", json={"instances": [IRIS_ROW]}).status_code == 200


VALID_V2 = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": IRIS_ROW}]}


def with_tensor(**changes: Any) -> dict[str, Any]:
    """The valid request with its input tensor's fields changed."""
    return {"inputs": [{**VALID_V2["inputs"][0], **changes}]}


V2_CASES: list[tuple[str, Any, int, str]] = [
    ("not an object", [1, 2], 400, "JSON object"),
    ("no inputs", {"id": "1"}, 400, '"inputs"'),
    ("two inputs", {"inputs": VALID_V2["inputs"] * 2}, 400, '"inputs"'),
    ("wrong input name", with_tensor(name="x"), 400, "unknown input"),
    ("FP64 datatype", with_tensor(datatype="FP64"), 400, "FP32"),
    ("shape width", with_tensor(data=[1, 2, 3], shape=[1, 3]), 400, "[N, 4]"),
    ("shape not a list", with_tensor(shape="1x4"), 400, "[N, 4]"),
    ("negative rows", with_tensor(shape=[-1, 4]), 400, "[N, 4]"),
    ("boolean dims", with_tensor(shape=[True, 4]), 400, "[N, 4]"),
    ("zero rows", with_tensor(data=[], shape=[0, 4]), 400, "empty"),
    ("data count mismatch", with_tensor(shape=[2, 4]), 400, "holds 4 values"),
    ("data shape mismatch", with_tensor(data=[[1, 2], [3, 4], [5, 6], [7, 8]], shape=[2, 4]), 400, "shape"),
    ("data not a list", with_tensor(data="abc"), 400, '"data" must be a list'),
    ("string data", with_tensor(data=["a", "b", "c", "d"]), 400, "expected a number, got str"),
    ("null data", with_tensor(data=[None, 1, 2, 3]), 400, "got null"),
    ("bool data", with_tensor(data=[True, 1, 2, 3]), 400, "got bool"),
    ("overflow data", with_tensor(data=[1e39, 1, 2, 3]), 400, "float32 range"),
    ("id not a string", {**VALID_V2, "id": 7}, 400, '"id" must be a string'),
    ("unknown output", {**VALID_V2, "outputs": [{"name": "logits"}]}, 400, "unknown outputs ['logits']"),
    ("outputs not objects", {**VALID_V2, "outputs": ["label"]}, 400, '"outputs"'),
    ("parameters not an object", with_tensor(parameters=[1]), 400, '"parameters"'),
    ("binary size without bytes", with_tensor(parameters={"binary_data_size": 16}, data=None), 400, "binary_data_size"),
]


@pytest.mark.parametrize(
    ("document", "status", "words"), [case[1:] for case in V2_CASES], ids=[case[0] for case in V2_CASES]
)
def test_v2_infer_rejects_bad_input_clearly(client: TestClient, document: Any, status: int, words: str) -> None:
    response = client.post("/v2/models/iris/infer", json=document)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert client.post("/v2/models/iris/infer", json=VALID_V2).status_code == 200


def test_v2_rejects_malformed_json_and_other_content_types(client: TestClient) -> None:
    malformed = client.post("/v2/models/iris/infer", content=b"{", headers=JSON)
    assert malformed.status_code == 400
    assert "malformed JSON" in malformed.json()["error"]
    wrong_type = client.post("/v2/models/iris/infer", content=b"a=1", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415


@pytest.mark.parametrize("path", ["/v2/models/mnist", "/v2/models/mnist/ready"])
def test_unknown_model_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "unknown model 'mnist'" in response.json()["error"]
    assert client.post("/v2/models/mnist/infer", json=VALID_V2).status_code == 404


def test_unknown_path_is_404_json(client: TestClient) -> None:
    response = client.get("/predict")
    assert response.status_code == 404
    assert "/predict" in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/invocations", "POST"), ("POST", "/ping", "GET"), ("DELETE", "/v2/models/iris/infer", "POST")],
)
def test_wrong_method_is_405_naming_the_allowed_ones(client: TestClient, method: str, path: str, allowed: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert allowed in response.headers["allow"]
    assert f"method {method} is not allowed" in response.json()["error"]


def test_rows_over_the_limit_are_413(client_with: Callable[..., AbstractContextManager[TestClient]]) -> None:
    with client_with(max_batch_rows=3) as small:
        at_limit = small.post("/invocations", json={"instances": [IRIS_ROW] * 3})
        assert at_limit.status_code == 200
        over = small.post("/invocations", json={"instances": [IRIS_ROW] * 4})
        assert over.status_code == 413
        assert "4 rows; the limit is 3" in over.json()["error"]
        assert (
            small.post("/invocations", content="1,2,3,4\n" * 4, headers={"content-type": "text/csv"}).status_code == 413
        )
        assert (
            small.post("/v2/models/iris/infer", json=with_tensor(data=[IRIS_ROW] * 4, shape=[4, 4])).status_code == 413
        )


def test_default_body_limit_is_6_mb(client: TestClient) -> None:
    limit = 6 * 1024 * 1024
    body = b'{"instances": [' + b" " * (limit - 16) + b"]}"
    assert len(body) == limit + 1
    response = client.post("/invocations", content=body, headers=JSON)
    assert response.status_code == 413
    assert f"limit is {limit} bytes" in response.json()["error"]


def test_a_streamed_body_is_cut_at_the_limit(client_with: Callable[..., AbstractContextManager[TestClient]]) -> None:
    def chunks() -> Any:
        yield b'{"instances": ['
        for _ in range(100):
            yield b"[5.1, 3.5, 1.4, 0.2],"

    with client_with(max_body_bytes=1000) as small:
        # A generator body is sent chunked, without Content-Length: the limit must hold while streaming.
        response = small.post("/invocations", content=chunks(), headers=JSON)
        assert response.status_code == 413
        assert "over 1000 bytes" in response.json()["error"]
        assert small.post("/invocations", json={"instances": [IRIS_ROW]}).status_code == 200
