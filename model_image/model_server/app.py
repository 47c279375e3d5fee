"""Assemble the ASGI application: both protocols' routes, typed errors as JSON, access log, body handling."""

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
from .dataplane import DataPlane
from .errors import ModelLoadError, RequestError
from .logging_setup import write_fatal_line
from .middleware import AccessLogMiddleware, RequestBodyMiddleware
from .model import Model
from .responses import error_response, request_error_response
from .settings import Settings

logger = logging.getLogger("model_server")


async def request_error(request: Request, exc: Exception) -> Response:
    """Typed request errors: the one status of their type, and their message."""
    assert isinstance(exc, RequestError)
    return request_error_response(exc)


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
    plane = DataPlane(settings.max_batch_rows)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            plane.model = Model.load(settings.model_dir, threads=settings.ort_threads)
        except ModelLoadError as error:
            write_fatal_line(f"cannot serve: {error}", model_dir=str(settings.model_dir))
            raise
        meta = plane.model.metadata
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
            Middleware(RequestBodyMiddleware, max_body_bytes=settings.max_body_bytes),
        ],
        exception_handlers={RequestError: request_error, HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
    app.state.data_plane = plane
    return app
