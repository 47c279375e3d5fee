"""Command line ``model-server`` (also ``python -m model_server``): ``serve``, ``healthcheck``, ``verify``.

SageMaker starts containers with the argument ``serve``; ``docker run IMAGE`` with none does the same.
``healthcheck`` exists so the image's HEALTHCHECK needs no curl. ``verify`` loads the model exactly as
``serve`` does (every sha256 checked, the graph run once) and stops: the image build runs it, so a model
that would not serve never becomes an image.

Exit status: 0 success (for ``serve``, after a drained SIGTERM); 1 ``healthcheck`` got no 200;
2 an invalid setting; 3 the model failed verification or a worker could not start. Every failure but
the health check's prints its cause on stderr as one JSON line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from .logging_setup import log_config, write_fatal_line
from .settings import Settings, SettingsError, listening_port

if TYPE_CHECKING:  # uvicorn is imported only to serve: the health check runs every few seconds and needs none of it
    from .http_protocol import ServerConfig

EXIT_UNHEALTHY = 1
EXIT_INVALID_SETTING = 2
EXIT_CANNOT_START = 3  # uvicorn's own status for a worker that fails start-up, kept for ours


class FatalError(Exception):
    """Ends the command with ``status`` after printing ``message`` as the fatal line."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise FatalError(f"invalid setting: {error}", EXIT_INVALID_SETTING) from None


def server_config(settings: Settings) -> ServerConfig:
    """uvicorn's configuration for ``settings``: httptools with the header deadline, uvloop, JSON logs."""
    from .http_protocol import ServerConfig

    return ServerConfig(
        "model_server.app:create_app",
        header_timeout_s=settings.header_timeout_s,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        server_header=False,
        # Forwarded-for headers would only rewrite the client address, which nothing reads: skip that layer.
        proxy_headers=False,
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=settings.graceful_timeout_whole_s,
    )


def serve() -> int:
    """Run uvicorn with the settings from the environment."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    settings = _settings()
    config = server_config(settings)
    if settings.workers == 1:
        # uvicorn re-raises the signal it shut down on; a drained SIGTERM is a clean stop, so exit 0.
        signal.signal(signal.SIGTERM, lambda *_: None)
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else EXIT_CANNOT_START
    # What uvicorn.run does for several workers, keeping the supervisor to read its workers' exit codes:
    # uvicorn.run itself returns normally even when every worker failed to start.
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    return EXIT_CANNOT_START if any(p.exitcode == EXIT_CANNOT_START for p in supervisor.processes) else 0


def healthcheck(timeout_s: float = 2.0) -> int:
    """0 if ``GET /ping`` on this container's port answers 200, else 1."""
    try:
        port = listening_port(os.environ)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=timeout_s) as response:
            return 0 if response.status == 200 else EXIT_UNHEALTHY
    except (urllib.error.URLError, OSError, ValueError):
        return EXIT_UNHEALTHY


def verify(recorded_digests: Path | None = None) -> int:
    """Load the model as ``serve`` does and run it on one row; print what was verified. ``recorded_digests``:
    ``sha256sum`` output for weight files, taken as their digests instead of hashing them again."""
    import numpy as np
    import orjson

    from .errors import ModelLoadError
    from .model import Model, read_sha256sum

    settings = _settings()
    try:
        recorded = read_sha256sum(recorded_digests) if recorded_digests else None
        model = Model.load(settings.model_dir, threads=1, recorded_sha256=recorded)
        model.predict(np.zeros((1, model.feature_count), dtype=np.float32))
    except ModelLoadError as error:
        raise FatalError(f"model verification failed: {error}", EXIT_CANNOT_START) from None
    meta = model.metadata
    files = {meta.artifact: meta.sha256, **meta.external_data}
    print(
        orjson.dumps(
            {"verified": str(settings.model_dir), "model": meta.name, "version": meta.version, "files": files}
        ).decode()
    )
    return 0


COMMANDS = ("serve", "healthcheck", "verify")


def main(argv: list[str] | None = None) -> int:
    """Run one command (default ``serve``) and return its exit status."""
    parser = argparse.ArgumentParser(prog="model-server", description=__doc__)
    parser.add_argument("command", nargs="?", default="serve", choices=COMMANDS)
    parser.add_argument(
        "--recorded-digests",
        type=Path,
        metavar="FILE",
        help="verify only: sha256sum output for the weight files, hashed when the image build copied them",
    )
    arguments = parser.parse_args(argv)
    if arguments.recorded_digests and arguments.command != "verify":
        parser.error("--recorded-digests applies to verify only")
    try:
        if arguments.command == "serve":
            return serve()
        if arguments.command == "healthcheck":
            return healthcheck()
        return verify(arguments.recorded_digests)
    except FatalError as error:
        write_fatal_line(str(error))
        return error.status


if __name__ == "__main__":
    sys.exit(main())
