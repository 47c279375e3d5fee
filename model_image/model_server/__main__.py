"""Command line: ``python -m model_server [serve]`` runs the server; ``healthcheck`` probes it.

SageMaker starts containers with the argument ``serve``; ``docker run IMAGE`` with none does the same.
``healthcheck`` exists so the image's HEALTHCHECK needs no curl: exit 0 only if ``/ping`` answers 200.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys


def serve() -> int:
    """Run uvicorn (httptools + uvloop) with the settings from the environment.

    Exit status: 0 after a drained SIGTERM (a normal stop for ECS and SageMaker), 2 for bad settings,
    3 when a worker cannot start (for example, the model fails verification).
    """
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from .logging_setup import log_config
    from .settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(json.dumps({"level": "error", "logger": "model_server", "message": f"invalid setting: {error}"}))
        return 2
    config = uvicorn.Config(
        "model_server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        server_header=False,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=math.ceil(settings.graceful_timeout_s),
    )
    if settings.workers == 1:
        # uvicorn re-raises the signal it shut down on; a drained SIGTERM is a clean stop, so exit 0.
        signal.signal(signal.SIGTERM, lambda *_: None)
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else STARTUP_FAILURE
    # What uvicorn.run does for several workers, keeping the supervisor to read its workers' exit codes:
    # uvicorn.run itself returns normally even when every worker failed to start.
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    return STARTUP_FAILURE if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0


def healthcheck(timeout_s: float = 2.0) -> int:
    """0 if ``GET /ping`` on this container's port answers 200, else 1."""
    import urllib.error  # imported here: spawned workers re-import this module, and need none of it
    import urllib.request

    port = os.environ.get("PORT") or os.environ.get("SAGEMAKER_BIND_TO_PORT") or "8080"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{int(port)}/ping", timeout=timeout_s) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError, ValueError):
        return 1


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``serve`` (default) or ``healthcheck``."""
    parser = argparse.ArgumentParser(prog="model_server", description=__doc__)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "healthcheck"])
    command = parser.parse_args(argv).command
    return serve() if command == "serve" else healthcheck()


if __name__ == "__main__":
    sys.exit(main())
