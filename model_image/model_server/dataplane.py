"""The one object both protocols' routes call: decode the body, run the model, encode the answer.

It knows the model and the limits, and not HTTP: routes hand it bytes and header values and get back a
``Reply``, so every protocol shares the same validation, model call and errors.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, NamedTuple

import numpy as np
import orjson

from . import sagemaker_format, v2_format
from .batching import Batcher
from .errors import ModelNotFoundError, ModelNotReadyError
from .model import Model, Prediction

SERVER_NAME = "model-server"


class Reply(NamedTuple):
    """A response: body, exact Content-Type, status and any extra headers (a tuple: cheap to make per request)."""

    body: bytes
    media_type: str = sagemaker_format.JSON
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(document: Any, status: int = 200) -> Reply:
    """A JSON document (numpy values included) as a reply."""
    return Reply(orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY), status=status)


class DataPlane:
    """Inference and metadata for the one model this server serves, once loaded."""

    def __init__(self, max_batch_rows: int, micro_batch_rows: int) -> None:
        self.max_batch_rows = max_batch_rows
        self.model: Model | None = None
        self.batcher = Batcher(self._predict, micro_batch_rows)

    def _predict(self, features: np.ndarray) -> Prediction:
        return self.loaded_model().predict(features)

    def loaded_model(self) -> Model:
        """The model; 503 until start-up has loaded it."""
        if self.model is None:
            raise ModelNotReadyError("model is not loaded yet")
        return self.model

    def named_model(self, name: str, model_version: str | None) -> Model:
        """The model the path names (and version, if given); 404 for any other."""
        model = self.loaded_model()
        meta = model.metadata
        if name != meta.name:
            raise ModelNotFoundError(f"unknown model {name!r}; this server serves {meta.name!r}")
        if model_version is not None and model_version != meta.version:
            raise ModelNotFoundError(
                f"unknown version {model_version!r} of model {name!r}; available: {meta.version!r}"
            )
        return model

    async def invocations(self, body: bytes, content_type: str | None, accept: str | None) -> Reply:
        """SageMaker ``/invocations``: any of the SDK's body formats in, the Accept-ed format out."""
        model = self.loaded_model()
        answer_as = sagemaker_format.response_type(accept)
        features = sagemaker_format.decode_features(
            body, content_type, model.metadata.feature_names, self.max_batch_rows
        )
        prediction = await self.batcher.predict(features)
        return Reply(sagemaker_format.encode_prediction(prediction, model.metadata.class_names, answer_as), answer_as)

    async def infer(
        self, name: str, model_version: str | None, body: bytes, content_type: str | None, header_length: str | None
    ) -> Reply:
        """Open Inference Protocol ``infer``, JSON or with binary tensors."""
        model = self.named_model(name, model_version)
        request = v2_format.parse_infer_request(body, content_type, header_length, model.metadata, self.max_batch_rows)
        prediction = await self.batcher.predict(request.features)
        response = v2_format.encode_infer_response(request, prediction, model.metadata)
        if response.json_length is None:
            return Reply(response.body)
        return Reply(
            response.body, v2_format.OCTET_STREAM, headers=((v2_format.HEADER_LENGTH, str(response.json_length)),)
        )

    def model_metadata(self, name: str, model_version: str | None) -> Reply:
        """Open Inference Protocol model metadata of the named model."""
        return json_reply(v2_format.model_metadata(self.named_model(name, model_version).metadata))

    @staticmethod
    def server_metadata() -> Reply:
        """Name, version (the installed distribution's) and the protocol extensions served."""
        return json_reply(
            {"name": SERVER_NAME, "version": version(SERVER_NAME), "extensions": [v2_format.BINARY_EXTENSION]}
        )
