"""The SageMaker hosting contract: /ping and /invocations with JSON and CSV."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from starlette.testclient import TestClient

from model_server.logging_setup import utc_timestamp
from model_server.model import Model

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES = ("setosa", "versicolor", "virginica")
VIRGINICA_ROW = [6.9, 3.1, 5.4, 2.1]


def test_ping_answers_200_once_the_model_is_loaded(client: TestClient) -> None:
    response = client.get("/ping")
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_json_rows_give_labels_and_probabilities(client: TestClient) -> None:
    response = client.post("/invocations", json={"instances": [IRIS_ROW, VIRGINICA_ROW]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    predictions = response.json()["predictions"]
    assert [p["label"] for p in predictions] == ["setosa", "virginica"]
    for prediction in predictions:
        probabilities = prediction["probabilities"]
        assert tuple(probabilities) == CLASSES
        assert math.isclose(sum(probabilities.values()), 1.0, rel_tol=1e-5)
        assert max(probabilities, key=probabilities.__getitem__) == prediction["label"]


def test_named_features_in_any_order_equal_positional_rows(client: TestClient) -> None:
    named = dict(reversed(list(zip(FEATURES, VIRGINICA_ROW, strict=True))))
    by_name = client.post("/invocations", json={"instances": [named]}).json()
    by_position = client.post("/invocations", json={"instances": [VIRGINICA_ROW]}).json()
    assert by_name == by_position


def test_csv_in_json_out_matches_json_in(client: TestClient) -> None:
    body = "5.1,3.5,1.4,0.2\n\n6.9,3.1,5.4,2.1\n"
    response = client.post("/invocations", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    expected = client.post("/invocations", json={"instances": [IRIS_ROW, VIRGINICA_ROW]}).json()
    assert response.json() == expected


@pytest.mark.parametrize(
    "accept", ["text/csv", "text/csv; charset=utf-8", "text/plain;q=0.1, text/csv", "application/json;q=0.5, text/csv"]
)
def test_accept_csv_gives_one_label_per_line(client: TestClient, accept: str) -> None:
    response = client.post(
        "/invocations",
        content="5.1,3.5,1.4,0.2\n6.9,3.1,5.4,2.1",
        headers={"content-type": "text/csv", "accept": accept},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"
    assert response.text == "setosa\nvirginica\n"


def test_a_refused_range_is_not_chosen(client: TestClient) -> None:
    response = client.post("/invocations", json=[IRIS_ROW], headers={"accept": "application/json;q=0, text/csv"})
    assert (response.status_code, response.headers["content-type"]) == (200, "text/csv")


def test_an_unanswerable_accept_is_406(client: TestClient) -> None:
    response = client.post("/invocations", json={"instances": [IRIS_ROW]}, headers={"accept": "image/png"})
    assert response.status_code == 406
    error = response.json()["error"]
    assert "image/png" in error
    assert all(kind in error for kind in ("application/json", "text/csv", "application/jsonlines", "application/x-npy"))


def test_the_caller_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/ping", headers={"x-request-id": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"


def test_an_unsafe_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/ping", headers={"x-request-id": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_an_internal_error_is_500_json_without_a_stack_trace(
    client_with: Callable[..., AbstractContextManager[TestClient]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_predict(self: Model, features: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Model, "predict", broken_predict)
    with client_with() as broken:
        response = broken.post("/invocations", json={"instances": [IRIS_ROW]}, headers={"x-request-id": "bug-1"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (request id bug-1)"}
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_access_line_times_keep_their_milliseconds_within_a_second() -> None:
    assert utc_timestamp(1_700_000_000.123) == "2023-11-14T22:13:20.123Z"
    assert utc_timestamp(1_700_000_000.987) == "2023-11-14T22:13:20.987Z"
    assert utc_timestamp(1_700_000_001.004) == "2023-11-14T22:13:21.004Z"
