"""Assemble the ASGI application: both protocols' routes, JSON errors, access log, body limit, model loading."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from . import routes_sagemaker, routes_v2
from .middleware import AccessLogMiddleware, BodySizeLimitMiddleware
from .model import Model, ModelLoadError
from .processing import RequestError
from .responses import error_response
from .settings import Settings

logger = logging.getLogger("model_server")


async def request_error(request: Request, exc: Exception) -> Response:
    """Client mistakes: the status and message the validation chose."""
    assert isinstance(exc, RequestError)
    return error_response(exc.status, exc.message)


async def http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (404, 405) in the same JSON shape, naming the path and the allowed methods."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"method {request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        return error_response(405, message, {"allow": allowed})
    if exc.status_code == 404:
        return error_response(404, f"no such endpoint: {request.method} {request.url.path}")
    return error_response(exc.status_code, str(exc.detail))


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug: log it with the trace server-side, tell the client only the request id."""
    request_id = request.scope.get("state", {}).get("request_id", "")
    logger.exception("unhandled error", extra={"request_id": request_id})
    return error_response(500, f"internal error (request id {request_id})")


def create_app(settings: Settings | None = None) -> Starlette:
    """The server application; the model is loaded at start-up, before ``/ping`` answers 200."""
    settings = Settings.from_env() if settings is None else settings

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            app.state.model = Model.load(settings.model_dir, threads=settings.ort_threads)
        except ModelLoadError as error:
            logger.error("cannot serve: %s", error, extra={"model_dir": str(settings.model_dir)})
            raise
        meta = app.state.model.metadata
        logger.info(
            "model loaded",
            extra={
                "model": meta.name,
                "version": meta.version,
                "sha256": meta.sha256,
                "workers": settings.workers,
                "ort_threads": settings.ort_threads,
            },
        )
        # Start-up objects (modules, the session) live forever: freezing them keeps every later garbage
        # collection from scanning them again, which trims collection pauses from the latency tail.
        gc.collect()
        gc.freeze()
        yield

    app = Starlette(
        routes=[*routes_sagemaker.routes, *routes_v2.routes],
        middleware=[
            Middleware(AccessLogMiddleware, enabled=settings.log_level in {"info", "debug"}),
            # Our own rather than Starlette's max_body_size: that one replaces any response with plain text.
            Middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes),
        ],
        exception_handlers={RequestError: request_error, HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.model = None
    return app
