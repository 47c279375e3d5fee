"""Fixtures: the real application (real model, real middleware) behind Starlette's in-process test client."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from model_server.app import create_app
from model_server.settings import DEFAULT_MODEL_DIR, Settings
from starlette.testclient import TestClient

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES = ("setosa", "versicolor", "virginica")


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: the committed model, one worker, defaults otherwise."""
    base = Settings.from_env(env={"WORKERS": "1", "LOG_LEVEL": "warning"})
    return dataclasses.replace(base, model_dir=DEFAULT_MODEL_DIR, **overrides)


@contextmanager
def running_client(**overrides: Any) -> Iterator[TestClient]:
    """A test client whose lifespan (model loading) has run; never raises server exceptions into the test,
    so a 500 shows up as a status code the test can assert on."""
    with TestClient(create_app(make_settings(**overrides)), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    """The default server, shared by the fast tests (it is stateless)."""
    with running_client() as shared:
        yield shared


@pytest.fixture
def client_with() -> Callable[..., AbstractContextManager[TestClient]]:
    """Factory for a server with non-default settings (small limits)."""
    return running_client


def v2_request(data: Any, shape: Any = None, **fields: Any) -> dict[str, Any]:
    """An Open Inference Protocol infer request for the iris input tensor."""
    tensor = {"name": "input", "datatype": "FP32", "shape": [len(data), 4] if shape is None else shape, "data": data}
    return {"inputs": [tensor], **fields}
