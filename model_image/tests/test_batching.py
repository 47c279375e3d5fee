"""Micro-batching: concurrent requests share model calls, and each still gets exactly its own answer or error.

The application is driven over ASGI directly, many requests at once on one event loop (the test client
sends one request at a time, which never batches); every answer is compared with the model's prediction
for that request's rows alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import orjson
import pytest

from model_server.app import ModelServer, create_app
from model_server.asgi import Message
from model_server.batching import Batcher
from model_server.model import Model, Prediction
from model_training import train

from .conftest import make_settings

ROWS = train.load_dataset().features.astype(np.float32)  # the 150 iris rows, all three classes
RTOL, ATOL = 1e-5, 1e-7
JSON_HEADERS = [(b"content-type", b"application/json")]


class CountingModel:
    """The real model's predictions, recording the rows of every call; raises for any batch holding a row
    whose first feature is ``poison``."""

    def __init__(self, model: Model, poison: float | None = None) -> None:
        self.model_predict = model.predict
        self.poison = poison
        self.calls: list[int] = []

    def predict(self, features: np.ndarray) -> Prediction:
        self.calls.append(len(features))
        if self.poison is not None and (features[:, 0] == self.poison).any():
            raise RuntimeError("the model cannot take this row")
        return self.model_predict(features)


@pytest.fixture(scope="module")
def model() -> Model:
    app = create_app(make_settings())
    app.load_model()
    assert app.data_plane.model is not None
    return app.data_plane.model


def alone(model: Model, rows: np.ndarray) -> Prediction:
    """The prediction for ``rows`` in a model call of their own."""
    return model.predict(np.ascontiguousarray(rows))


def assert_same(got: Prediction, expected: Prediction) -> None:
    """Same labels, same probabilities up to float32 rounding: onnxruntime's vectorised kernels round the
    last bits of a row differently depending on its place in the matrix (as a multi-row request always did)."""
    assert got.labels == expected.labels
    np.testing.assert_allclose(got.probabilities, expected.probabilities, rtol=RTOL, atol=ATOL)


def run_all(*calls: Awaitable[Any]) -> list[Any]:
    """Start every call on one event loop at once; each call's result, or the exception it raised."""

    async def gather() -> list[Any]:
        return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=10)

    return asyncio.run(gather())


def test_concurrent_requests_share_one_model_call_and_each_gets_its_own_rows(model: Model) -> None:
    counting = CountingModel(model)
    batcher = Batcher(counting.predict, max_rows=64)
    requests = [ROWS[i : i + 1 + i % 3] for i in range(0, 150, 7)]  # 1 to 3 rows each, every class
    results = run_all(*(batcher.predict(rows) for rows in requests))
    assert counting.calls == [sum(len(rows) for rows in requests)]
    for rows, result in zip(requests, results, strict=True):
        assert_same(result, alone(model, rows))


def test_batches_hold_at_most_max_rows_and_a_larger_request_runs_alone(model: Model) -> None:
    counting = CountingModel(model)
    batcher = Batcher(counting.predict, max_rows=4)
    sizes = [1, 1, 1, 6, 1, 1, 1, 1, 1, 1]
    starts = np.cumsum([0, *sizes])
    requests = [ROWS[start : start + size] for start, size in zip(starts, sizes, strict=False)]
    results = run_all(*(batcher.predict(rows) for rows in requests))
    assert counting.calls == [3, 6, 4, 2]  # oldest first, never over 4 rows unless one request has more
    for rows, result in zip(requests, results, strict=True):
        assert_same(result, alone(model, rows))


def test_a_failing_call_fails_only_the_request_that_caused_it(model: Model) -> None:
    poison = 99.0
    counting = CountingModel(model, poison=poison)
    batcher = Batcher(counting.predict, max_rows=64)
    bad = np.array([[poison, 1, 1, 1]], dtype=np.float32)
    requests = [ROWS[0:1], ROWS[60:62], bad, ROWS[120:121]]
    results = run_all(*(batcher.predict(rows) for rows in requests))
    assert isinstance(results[2], RuntimeError)
    for index in (0, 1, 3):
        assert_same(results[index], alone(model, requests[index]))
    assert counting.calls == [5, 1, 2, 1, 1]  # the batch, then each request alone


def test_a_model_that_always_fails_fails_every_waiting_request_and_hangs_none(model: Model) -> None:
    def broken(features: np.ndarray) -> Prediction:
        raise RuntimeError("broken model")

    batcher = Batcher(broken, max_rows=64)
    results = run_all(*(batcher.predict(ROWS[i : i + 1]) for i in range(8)))
    assert all(isinstance(result, RuntimeError) for result in results)


def test_a_lone_request_is_predicted_at_once_without_a_timer(model: Model) -> None:
    counting = CountingModel(model)
    batcher = Batcher(counting.predict, max_rows=64)

    async def lone() -> bool:
        task = asyncio.ensure_future(batcher.predict(ROWS[:1]))
        for _ in range(3):  # three passes of the event loop, no time
            await asyncio.sleep(0)
        return task.done()

    assert asyncio.run(lone())
    assert counting.calls == [1]


@pytest.mark.parametrize("cancelled_index", [0, 1])
def test_a_cancelled_request_is_left_out_of_its_batch(model: Model, cancelled_index: int) -> None:
    """The first request leads the batch, the second joins it; either one may be cancelled."""
    counting = CountingModel(model)
    batcher = Batcher(counting.predict, max_rows=64)

    async def one_cancelled() -> Prediction:
        tasks = [
            asyncio.ensure_future(batcher.predict(ROWS[:2])),
            asyncio.ensure_future(batcher.predict(ROWS[100:101])),
        ]
        await asyncio.sleep(0)  # both are waiting for the model now
        tasks[cancelled_index].cancel()
        kept = tasks[1 - cancelled_index]
        return await asyncio.wait_for(kept, timeout=10)

    kept_rows = ROWS[100:101] if cancelled_index == 0 else ROWS[:2]
    assert_same(asyncio.run(one_cancelled()), alone(model, kept_rows))
    assert counting.calls == [len(kept_rows)]


async def asgi_post(app: ModelServer, path: str, body: bytes) -> tuple[int, Any]:
    """One POST through the ASGI application: the status and the decoded JSON answer."""
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": JSON_HEADERS}
    await app(scope, receive, send)
    return sent[0]["status"], orjson.loads(sent[1]["body"])


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[ModelServer, CountingModel]]:
    """An application with its model loaded, whose model calls are counted."""

    def make(**settings: Any) -> tuple[ModelServer, CountingModel]:
        app = create_app(make_settings(**settings))
        app.load_model()
        model = app.data_plane.model
        assert model is not None
        counting = CountingModel(model)
        monkeypatch.setattr(model, "predict", counting.predict)
        return app, counting

    return make


def v2_body(rows: np.ndarray) -> bytes:
    tensor = {"name": "input", "datatype": "FP32", "shape": list(rows.shape), "data": rows.ravel().tolist()}
    return orjson.dumps({"inputs": [tensor]})


def test_both_protocols_batch_together_and_bad_requests_get_their_own_400(
    served: Callable[..., tuple[ModelServer, CountingModel]], model: Model
) -> None:
    app, counting = served()
    good = [ROWS[i : i + 1] for i in range(0, 150, 10)]
    calls: list[Awaitable[tuple[int, Any]]] = []
    for index, rows in enumerate(good):
        if index % 2:
            calls.append(asgi_post(app, "/v2/models/iris/infer", v2_body(rows)))
        else:
            calls.append(asgi_post(app, "/invocations", orjson.dumps({"instances": rows.tolist()})))
    bad = [
        asgi_post(app, "/invocations", b'{"instances": [[1, 2, 3]]}'),
        asgi_post(app, "/v2/models/iris/infer", b"{not json"),
        asgi_post(app, "/invocations", b'{"instances": [[1, 2, 3, "x"]]}'),
    ]
    results = run_all(*calls[:5], *bad, *calls[5:])
    answers = results[:5] + results[5 + len(bad) :]
    assert [status for status, _ in results[5 : 5 + len(bad)]] == [400, 400, 400]
    assert all("error" in answer for _, answer in results[5 : 5 + len(bad)])
    assert counting.calls == [len(good)]
    for index, (rows, (status, answer)) in enumerate(zip(good, answers, strict=True)):
        assert status == 200
        expected = alone(model, rows)
        if index % 2:
            labels = answer["outputs"][0]["data"]
            probabilities = answer["outputs"][1]["data"]
        else:
            labels = [prediction["label"] for prediction in answer["predictions"]]
            probabilities = list(answer["predictions"][0]["probabilities"].values())
        assert labels == expected.labels
        np.testing.assert_allclose(probabilities, expected.probabilities.ravel(), rtol=RTOL, atol=ATOL)


def test_micro_batch_rows_bounds_the_model_calls_of_the_server(
    served: Callable[..., tuple[ModelServer, CountingModel]],
) -> None:
    app, counting = served(micro_batch_rows=3)
    results = run_all(*(asgi_post(app, "/invocations", orjson.dumps({"instances": [row.tolist()]})) for row in ROWS))
    assert {status for status, _ in results} == {200}
    assert counting.calls == [3] * 50


def test_a_model_error_in_a_batch_answers_500_to_each_request_without_hanging(
    served: Callable[..., tuple[ModelServer, CountingModel]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = served()

    def broken(features: np.ndarray) -> Prediction:
        raise RuntimeError("secret internals")

    assert app.data_plane.model is not None
    monkeypatch.setattr(app.data_plane.model, "predict", broken)
    results = run_all(*(asgi_post(app, "/v2/models/iris/infer", v2_body(ROWS[i : i + 1])) for i in range(8)))
    assert [status for status, _ in results] == [500] * 8
    assert all("secret" not in answer["error"] for _, answer in results)
