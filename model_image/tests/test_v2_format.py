"""tritonclient, the Open Inference Protocol's reference client, against a real server: JSON and binary
tensors, compressed requests, metadata; and malformed binary requests."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton
from starlette.testclient import TestClient

ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.9, 3.1, 5.4, 2.1]], dtype=np.float32)


@pytest.fixture(scope="module")
def triton_client(iris_server: int) -> Any:
    client = triton.InferenceServerClient(f"127.0.0.1:{iris_server}")
    yield client
    client.close()


def iris_input(binary: bool) -> Any:
    tensor = triton.InferInput("input", list(ROWS.shape), "FP32")
    tensor.set_data_from_numpy(ROWS, binary_data=binary)
    return tensor


def test_health_and_metadata(triton_client: Any) -> None:
    assert triton_client.is_server_live()
    assert triton_client.is_server_ready()
    assert triton_client.is_model_ready("iris")
    assert "binary_tensor_data" in triton_client.get_server_metadata()["extensions"]
    assert triton_client.get_model_metadata("iris")["inputs"] == [
        {"name": "input", "datatype": "FP32", "shape": [-1, 4]}
    ]


@pytest.mark.parametrize("compression", [None, "gzip", "deflate"])
def test_default_binary_request_and_response(triton_client: Any, compression: str | None) -> None:
    """set_data_from_numpy() sends binary; no outputs named means binary_data_output for all."""
    result = triton_client.infer("iris", [iris_input(binary=True)], request_compression_algorithm=compression)
    assert result.as_numpy("label").tolist() == [b"setosa", b"virginica"]
    probabilities = result.as_numpy("probabilities")
    assert (probabilities.dtype, probabilities.shape) == (np.float32, (2, 3))
    assert probabilities.argmax(axis=1).tolist() == [0, 2]
    assert result.get_output("probabilities")["parameters"]["binary_data_size"] == 24


def test_json_request_with_a_mix_of_json_and_binary_outputs(triton_client: Any) -> None:
    outputs = [
        triton.InferRequestedOutput("probabilities", binary_data=False),
        triton.InferRequestedOutput("label", binary_data=True),
    ]
    result = triton_client.infer("iris", [iris_input(binary=False)], outputs=outputs, request_id="mixed-1")
    response = result.get_response()
    assert response["id"] == "mixed-1"
    assert [output["name"] for output in response["outputs"]] == ["probabilities", "label"]
    assert "data" in response["outputs"][0]
    assert result.as_numpy("label").tolist() == [b"setosa", b"virginica"]
    binary = triton_client.infer("iris", [iris_input(binary=True)]).as_numpy("probabilities")
    np.testing.assert_array_equal(result.as_numpy("probabilities"), binary)


def binary_body(header: dict[str, Any], tail: bytes) -> tuple[bytes, dict[str, str]]:
    text = json.dumps(header).encode()
    return text + tail, {"inference-header-content-length": str(len(text))}


TENSOR = {"name": "input", "datatype": "FP32", "shape": [2, 4]}


@pytest.mark.parametrize(
    ("parameters", "tail", "header_length", "words"),
    [
        ({"binary_data_size": 32}, ROWS.tobytes()[:-4], None, "binary_data_size 32 must equal the 28 bytes"),
        ({"binary_data_size": 28}, ROWS.tobytes()[:-4], None, "shape [2, 4] of FP32 needs 32"),
        ({}, ROWS.tobytes(), None, "no input has binary_data_size"),
        ({"binary_data_size": 32}, ROWS.tobytes(), "99999", "Inference-Header-Content-Length"),
        ({"binary_data_size": 32}, ROWS.tobytes(), "-1", "Inference-Header-Content-Length"),
        ({"binary_data_size": 32}, np.array([[np.nan] * 4] * 2, np.float32).tobytes(), None, "finite"),
    ],
)
def test_malformed_binary_requests_are_400(
    client: TestClient, parameters: dict[str, Any], tail: bytes, header_length: str | None, words: str
) -> None:
    body, headers = binary_body({"inputs": [{**TENSOR, "parameters": parameters}]}, tail)
    if header_length is not None:
        headers["inference-header-content-length"] = header_length
    response = client.post("/v2/models/iris/infer", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]
