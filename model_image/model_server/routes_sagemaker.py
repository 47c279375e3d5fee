"""SageMaker hosting contract: ``GET /ping`` and ``POST /invocations`` (JSON or CSV in, JSON or CSV out)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .model import Model
from .processing import (
    RequestError,
    csv_labels,
    features_from_csv,
    features_from_instances,
    media_type,
    parse_json_body,
    sagemaker_predictions,
)
from .responses import JSONResponse, error_response

JSON = "application/json"
CSV = "text/csv"


def loaded_model(request: Request) -> Model | None:
    """The model once start-up loaded it; ``None`` before."""
    model: Model | None = getattr(request.app.state, "model", None)
    return model


def response_format(accept: str | None) -> str:
    """Pick JSON or CSV from the Accept header (first acceptable range wins; absent means JSON)."""
    if not accept:
        return JSON
    for item in accept.split(","):
        wanted = media_type(item)
        if wanted in (JSON, "application/*", "*/*"):
            return JSON
        if wanted in (CSV, "text/*"):
            return CSV
    raise RequestError(f"cannot answer with Accept {accept!r}; use {JSON} or {CSV}", status=406)


async def ping(request: Request) -> Response:
    """200 once the model is loaded, which is what SageMaker waits for before routing traffic."""
    if loaded_model(request) is None:
        return error_response(503, "model is not loaded yet")
    return JSONResponse({"status": "ok"})


async def invocations(request: Request) -> Response:
    """Predict a batch sent as ``{"instances": [...]}`` JSON or as header-less CSV."""
    model = loaded_model(request)
    if model is None:
        return error_response(503, "model is not loaded yet")
    max_rows = request.app.state.settings.max_batch_rows
    answer_as = response_format(request.headers.get("accept"))
    content_type = media_type(request.headers.get("content-type")) or JSON
    if content_type == JSON:
        document = parse_json_body(await request.body())
        if not isinstance(document, dict) or "instances" not in document:
            raise RequestError('the JSON body must be an object with an "instances" list')
        features = features_from_instances(document["instances"], model.metadata.feature_names, max_rows)
    elif content_type == CSV:
        features = features_from_csv(await request.body(), len(model.metadata.feature_names), max_rows)
    else:
        raise RequestError(f"unsupported Content-Type {content_type!r}; use {JSON} or {CSV}", status=415)
    prediction = model.predict(features)
    if answer_as == CSV:
        return PlainTextResponse(csv_labels(prediction), media_type=CSV)
    return JSONResponse({"predictions": sagemaker_predictions(prediction, model.metadata.class_names)})


routes = [
    Route("/ping", ping, methods=["GET"]),
    Route("/invocations", invocations, methods=["POST"]),
]
