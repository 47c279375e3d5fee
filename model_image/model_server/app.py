"""The ASGI application: lifespan (model loading), request ids and the access log, body reading, routing to
both protocols' endpoints, and every failure as a JSON error.

One pure-ASGI application and no web framework: Starlette's routing, request and response objects and
middleware stack took about half of a one-row prediction's time in the application, several times the model
call, so the request path is kept to the few steps it needs (measurements in BENCHMARKS.md).
"""

from __future__ import annotations

import gc
import logging
import os
import re
import time
import traceback

from . import routes_sagemaker, routes_v2
from .asgi import Receive, Scope, Send
from .dataplane import DataPlane, Reply
from .errors import ModelLoadError, PayloadTooLargeError, RequestError
from .logging_setup import write_access_line, write_fatal_line
from .model import Model
from .request_body import ClientDisconnectedError, read_body
from .responses import REQUEST_ID_HEADER, error_reply, request_error_reply, send_reply
from .routing import Router
from .settings import Settings

logger = logging.getLogger("model_server")
_ACCEPTABLE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def new_request_id() -> bytes:
    """32 random hex digits, as ``uuid4().hex`` but a fifth of its cost (1 us against 4.5 us per request)."""
    return os.urandom(16).hex().encode()


class ModelServer:
    """The server application; the model is loaded at start-up, before ``/ping`` answers 200."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_plane = DataPlane(settings.max_batch_rows, settings.micro_batch_rows)
        self.router = Router([*routes_sagemaker.routes, *routes_v2.routes])
        self.max_body_bytes = settings.max_body_bytes
        self.access_log = settings.log_level in {"info", "debug"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request and write its access line. The request id is the caller's ``X-Request-Id``
        if it is sane, else a new one; it is echoed in the response and logged."""
        started = time.perf_counter()
        headers = dict(scope["headers"])
        incoming = headers.get(REQUEST_ID_HEADER)
        request_id = (
            incoming if incoming is not None and _ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else new_request_id()
        )
        method, path = scope["method"], scope["path"]
        status = 500
        try:
            reply = await self.reply(method, path, headers, receive, request_id)
            status = reply.status
            await send_reply(send, reply, request_id, with_body=method != "HEAD")
        except ClientDisconnectedError:
            status = 499  # nginx's code for it, in the access line only: nobody is left to answer
        finally:
            if self.access_log:
                write_access_line(
                    {
                        "request_id": request_id.decode(),
                        "method": method,
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    }
                )

    async def reply(
        self, method: str, path: str, headers: dict[bytes, bytes], receive: Receive, request_id: bytes
    ) -> Reply:
        """The reply to one request: its endpoint's, or the error it ran into (4xx, or 500 for a bug)."""
        match = self.router.match(path)
        if match is None:
            return error_reply(404, f"no such endpoint: {method} {path}")
        endpoint = match.endpoint(method)
        if endpoint is None:
            allowed = match.allowed()
            message = f"method {method} is not allowed on {path}; allowed: {allowed}"
            return error_reply(405, message, (("allow", allowed),))
        try:
            body = await read_body(receive, headers, self.max_body_bytes) if method == "POST" else b""
        except PayloadTooLargeError as error:
            # The rest of the body is still on its way: the connection cannot be reused.
            return request_error_reply(error, (("connection", "close"),))
        except RequestError as error:
            return request_error_reply(error)
        try:
            return await endpoint(self.data_plane, match.params, headers, body)
        except RequestError as error:
            return request_error_reply(error)
        except Exception:
            # A bug: log it with the trace server-side, tell the client only the request id.
            logger.exception("unhandled error", extra={"request_id": request_id.decode()})
            return error_reply(500, f"internal error (request id {request_id.decode()})")

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Load the model on start-up; a model that fails verification fails the start (and the worker)."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.load_model()
                except BaseException:
                    await send({"type": "lifespan.startup.failed", "message": traceback.format_exc()})
                    raise
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def load_model(self) -> None:
        settings = self.settings
        try:
            self.data_plane.model = Model.load(settings.model_dir, threads=settings.ort_threads)
        except ModelLoadError as error:
            write_fatal_line(f"cannot serve: {error}", model_dir=str(settings.model_dir))
            raise
        meta = self.data_plane.model.metadata
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


def create_app(settings: Settings | None = None) -> ModelServer:
    """The server application for ``settings`` (default: read from the environment)."""
    return ModelServer(Settings.from_env() if settings is None else settings)
