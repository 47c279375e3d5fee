"""Micro-batching: the rows of requests that are ready together go through one model call.

A model call has a fixed cost (onnxruntime's Python wrapper and run set-up, about 8-13 us) and well under a
microsecond per iris row, so under concurrency most of a one-row prediction's model time is that fixed cost.
The first request to reach the model yields for one pass of the event loop (no timer), in which the requests
the loop already has ready join it; then it runs them all in one call of at most ``max_rows`` rows, oldest
first (a larger request runs alone, never split), and leaves any rest to the next pass. An idle server so
predicts a lone request at once; the pass costs it about 3 us.

Each request gets exactly its own rows of the answer. A failing call is retried request by request, so a
request the model cannot answer fails alone and never takes the rest of its batch down with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from .model import Prediction

Predict = Callable[[np.ndarray], Prediction]
Waiting = tuple[np.ndarray, "asyncio.Future[Prediction]"]


class Batcher:
    """Gathers the feature matrices of concurrent requests of one event loop into shared model calls."""

    def __init__(self, predict: Predict, max_rows: int) -> None:
        self._predict = predict
        self._max_rows = max_rows
        self._waiting: list[Waiting] = []
        self._gathering = False

    async def predict(self, features: np.ndarray) -> Prediction:
        """The prediction for ``features``, made together with whatever other requests are ready."""
        future: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self._waiting.append((features, future))
        if not self._gathering:  # this request leads: it gathers, then predicts for all who joined
            self._gathering = True
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                future.cancel()  # its rows are left out; the others still get their answers below
                raise
            finally:
                self._gathering = False
                waiting, self._waiting = self._waiting, []
                self._serve(waiting)
        return await future  # already done for the leader, which so never waits a second pass

    def _serve(self, waiting: list[Waiting]) -> None:
        """Predict for the oldest requests, up to the row bound; the rest go to the next pass of the loop."""
        live = [(features, future) for features, future in waiting if not future.done()]  # cancelled: skip
        taken, rows = 0, 0
        for features, _ in live:
            rows += len(features)
            if taken and rows > self._max_rows:
                break
            taken += 1
        batch, rest = live[:taken], live[taken:]
        if rest:
            asyncio.get_running_loop().call_soon(self._serve, rest)
        if len(batch) == 1:
            self._run_alone(*batch[0])
        elif batch:
            self._run_together(batch)

    def _run_alone(self, features: np.ndarray, future: asyncio.Future[Prediction]) -> None:
        try:
            future.set_result(self._predict(features))
        except Exception as error:  # handed to the waiting request, which answers it as any error of its own
            future.set_exception(error)

    def _run_together(self, batch: list[Waiting]) -> None:
        try:
            prediction = self._predict(np.concatenate([features for features, _ in batch]))
        except Exception:
            for features, future in batch:
                self._run_alone(features, future)
            return
        labels, probabilities = prediction
        start = 0
        for features, future in batch:
            end = start + len(features)
            future.set_result(Prediction(labels[start:end], probabilities[start:end]))
            start = end
