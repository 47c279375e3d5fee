"""Open Inference Protocol (KServe V2) REST endpoints."""

from __future__ import annotations

import math
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import pytest
from starlette.testclient import TestClient

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
CLASSES = ("setosa", "versicolor", "virginica")
V2Request = Callable[..., dict[str, Any]]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/health/live", {"live": True}),
        ("/v2/health/ready", {"ready": True}),
        ("/v2/models/iris/ready", {"name": "iris", "ready": True}),
        ("/v2/models/iris/versions/1.0.0/ready", {"name": "iris", "ready": True}),
    ],
)
def test_health_endpoints(client: TestClient, path: str, expected: dict[str, object]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == expected


def test_server_metadata(client: TestClient) -> None:
    body = client.get("/v2").json()
    assert body["name"] == "model-server"
    assert body["version"] == version("model-server")
    assert body["extensions"] == ["binary_tensor_data"]


def test_model_metadata_describes_the_tensors(client: TestClient) -> None:
    body = client.get("/v2/models/iris").json()
    assert body["name"] == "iris"
    assert body["versions"] == ["1.0.0"]
    assert body["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert [(o["name"], o["datatype"], o["shape"]) for o in body["outputs"]] == [
        ("label", "BYTES", [-1]),
        ("probabilities", "FP32", [-1, 3]),
    ]
    assert body["parameters"]["class_names"] == list(CLASSES)


def test_infer_returns_both_outputs_and_echoes_the_id(client: TestClient, v2_request: V2Request) -> None:
    rows = [IRIS_ROW, [6.9, 3.1, 5.4, 2.1]]
    response = client.post(
        "/v2/models/iris/infer", json=v2_request([v for row in rows for v in row], [2, 4], id="req-7")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "req-7"
    assert (body["model_name"], body["model_version"]) == ("iris", "1.0.0")
    label, probabilities = body["outputs"]
    assert label == {"name": "label", "datatype": "BYTES", "shape": [2], "data": ["setosa", "virginica"]}
    assert probabilities["name"] == "probabilities"
    assert (probabilities["datatype"], probabilities["shape"]) == ("FP32", [2, 3])
    assert math.isclose(sum(probabilities["data"][:3]), 1.0, rel_tol=1e-5)


def test_nested_data_equals_flat_data_and_sagemaker_answers(client: TestClient, v2_request: V2Request) -> None:
    nested = client.post("/v2/models/iris/infer", json=v2_request([IRIS_ROW])).json()
    flat = client.post("/v2/models/iris/infer", json=v2_request(IRIS_ROW, [1, 4])).json()
    assert nested == flat
    sagemaker = client.post("/invocations", json={"instances": [IRIS_ROW]}).json()["predictions"][0]
    assert nested["outputs"][0]["data"] == [sagemaker["label"]]
    assert nested["outputs"][1]["data"] == list(sagemaker["probabilities"].values())  # same float32 text


def test_requested_outputs_are_the_only_ones_returned(client: TestClient, v2_request: V2Request) -> None:
    body = client.post("/v2/models/iris/infer", json=v2_request([IRIS_ROW], outputs=[{"name": "probabilities"}])).json()
    assert [o["name"] for o in body["outputs"]] == ["probabilities"]
    assert "id" not in body


def test_versioned_infer_path_works_and_a_wrong_version_is_404(client: TestClient, v2_request: V2Request) -> None:
    assert client.post("/v2/models/iris/versions/1.0.0/infer", json=v2_request([IRIS_ROW])).status_code == 200
    response = client.post("/v2/models/iris/versions/9.9.9/infer", json=v2_request([IRIS_ROW]))
    assert response.status_code == 404
    assert "9.9.9" in response.json()["error"]
