"""JSON log lines on stdout, for the server's own logs and uvicorn's, in every worker process."""

from __future__ import annotations

import functools
import logging
import os
import time
import traceback
from typing import Any

import orjson

ACCESS_LOGGER = "model_server.access"
# Attributes every LogRecord has; anything else was passed via ``extra=`` and belongs in the line.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


@functools.lru_cache(maxsize=1)
def _second_text(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def utc_timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds, the ``time`` field of every line. The text of the second is kept from
    the previous call: formatting it costs more than the rest of an access line."""
    return f"{_second_text(int(created))}.{int(created * 1000) % 1000:03d}Z"


def write_access_line(fields: dict[str, Any]) -> None:
    """One access line straight to stdout with a single ``write``: the logging module costs ~30 us a
    call, a noticeable share of a ~150 us request, and an unbuffered write is never lost in a buffer."""
    line = {"time": utc_timestamp(time.time()), "level": "info", "logger": ACCESS_LOGGER, "message": "request"}
    line.update(fields)
    os.write(1, orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))


def write_fatal_line(message: str, **fields: Any) -> None:
    """Why the server cannot run, as one JSON line on stderr: whoever watches the container sees the cause
    at once, apart from the access and start-up lines on stdout."""
    line = {"time": utc_timestamp(time.time()), "level": "critical", "logger": "model_server", "message": message}
    line.update(fields)
    os.write(2, orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES})
        line.pop("color_message", None)
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return orjson.dumps(line, default=str).decode()


def log_config(level: str) -> dict[str, Any]:
    """``logging.config.dictConfig`` schema, handed to uvicorn so spawned workers log the same way."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stdout": handler},
        "loggers": {
            "model_server": {"handlers": ["stdout"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["stdout"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
