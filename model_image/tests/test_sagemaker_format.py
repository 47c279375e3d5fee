"""The SageMaker Python SDK's own serializers and deserializers against /invocations of a real server."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest
from sagemaker.core.deserializers import CSVDeserializer, JSONDeserializer, JSONLinesDeserializer, NumpyDeserializer
from sagemaker.core.serializers import CSVSerializer, JSONLinesSerializer, JSONSerializer, NumpySerializer

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.9, 3.1, 5.4, 2.1]]
LABELS = ["setosa", "virginica"]
SERIALIZERS = [JSONSerializer(), CSVSerializer(), JSONLinesSerializer(), NumpySerializer()]


def invoke(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
    """What an endpoint's InvokeEndpoint hands the container: status, Content-Type, body."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def serialized(serializer: Any, data: Any) -> bytes:
    body = serializer.serialize(data)
    return body if isinstance(body, bytes) else body.encode()


@pytest.mark.parametrize("serializer", SERIALIZERS, ids=lambda s: type(s).__name__)
def test_every_sdk_serializer_is_understood(iris_server: int, serializer: Any) -> None:
    data = np.array(ROWS) if isinstance(serializer, NumpySerializer) else ROWS
    status, content_type, body = invoke(
        iris_server, serialized(serializer, data), {"Content-Type": serializer.CONTENT_TYPE}
    )
    assert (status, content_type) == (200, "application/json"), body
    answer = JSONDeserializer().deserialize(io.BytesIO(body), content_type)
    assert [prediction["label"] for prediction in answer["predictions"]] == LABELS


def test_csv_deserializer_gets_exactly_text_csv(iris_server: int) -> None:
    deserializer = CSVDeserializer()
    headers = {"Content-Type": "text/csv", "Accept": deserializer.ACCEPT[0]}
    status, content_type, body = invoke(iris_server, serialized(CSVSerializer(), ROWS), headers)
    assert (status, content_type) == (200, "text/csv")
    assert deserializer.deserialize(io.BytesIO(body), content_type) == [[label] for label in LABELS]


def test_numpy_deserializer_gets_the_probabilities(iris_server: int) -> None:
    deserializer = NumpyDeserializer()
    headers = {"Content-Type": "application/x-npy", "Accept": deserializer.ACCEPT[0]}
    status, content_type, body = invoke(iris_server, serialized(NumpySerializer(), np.array(ROWS)), headers)
    assert (status, content_type) == (200, "application/x-npy")
    probabilities = deserializer.deserialize(io.BytesIO(body), content_type)
    assert probabilities.dtype == np.float32
    assert probabilities.shape == (2, 3)
    assert probabilities.argmax(axis=1).tolist() == [0, 2]  # setosa, virginica in class_names order
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_json_lines_deserializer_gets_one_object_per_row(iris_server: int) -> None:
    deserializer = JSONLinesDeserializer()
    headers = {"Content-Type": "application/jsonlines", "Accept": deserializer.ACCEPT[0]}
    status, content_type, body = invoke(iris_server, serialized(JSONLinesSerializer(), ROWS), headers)
    assert (status, content_type) == (200, "application/jsonlines")
    assert [line["label"] for line in deserializer.deserialize(io.BytesIO(body), content_type)] == LABELS


def test_a_single_npy_row_is_one_instance(iris_server: int) -> None:
    status, _, body = invoke(
        iris_server, serialized(NumpySerializer(), np.array(ROWS[1])), {"Content-Type": "application/x-npy"}
    )
    assert status == 200
    assert (
        JSONDeserializer().deserialize(io.BytesIO(body), "application/json")["predictions"][0]["label"] == "virginica"
    )


@pytest.mark.parametrize(
    ("headers", "status", "named"),
    [
        ({"Content-Type": "application/x-parquet"}, 415, "application/x-npy"),
        ({"Content-Type": "application/json", "Accept": "application/x-parquet"}, 406, "application/jsonlines"),
    ],
)
def test_other_types_are_refused_naming_the_accepted_ones(
    iris_server: int, headers: dict[str, str], status: int, named: str
) -> None:
    answer = invoke(iris_server, b"[[5.1, 3.5, 1.4, 0.2]]", headers)
    assert answer[:2] == (status, "application/json")
    assert named in JSONDeserializer().deserialize(io.BytesIO(answer[2]), "application/json")["error"]
