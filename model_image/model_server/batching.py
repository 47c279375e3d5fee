"""Micro-batching: the rows of requests that are ready together go through one model call.

A model call has a fixed cost (onnxruntime's Python wrapper and run set-up, about 8-13 us) and well under a
microsecond per iris row, so under concurrency most of a one-row prediction's model time is that fixed cost.
The first request to wait schedules a flush behind the work the event loop already has ready (``call_soon``,
no timer): an idle server predicts at once, a busy one predicts every request that was parsed meanwhile in
one call of at most ``max_rows`` rows (a larger request runs alone, never split).

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
        self._flush_scheduled = False

    async def predict(self, features: np.ndarray) -> Prediction:
        """The prediction for ``features``, made together with whatever other requests are waiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Prediction] = loop.create_future()
        self._waiting.append((features, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        """Run one batch of the waiting requests, oldest first; schedule another flush for any left over."""
        waiting = self._waiting
        taken, rows = 0, 0
        for features, _ in waiting:
            rows += len(features)
            if taken and rows > self._max_rows:
                break
            taken += 1
        batch, self._waiting = waiting[:taken], waiting[taken:]
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._flush)
        else:
            self._flush_scheduled = False
        live = [(features, future) for features, future in batch if not future.done()]  # cancelled ones: skip
        if len(live) == 1:
            self._run_alone(*live[0])
        elif live:
            self._run_together(live)

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
