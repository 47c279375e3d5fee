"""Every failure the server knows, typed; each client error maps to exactly one HTTP status, here.

Processing and the data plane raise these without knowing HTTP; only ``app.py`` turns them into
responses, through ``HTTP_STATUS``.
"""

from __future__ import annotations


class ModelLoadError(RuntimeError):
    """The model directory does not hold a usable, verified model: the server must not start."""


class RequestError(Exception):
    """A request the server cannot answer; the subclass decides the HTTP status."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(RequestError):
    """The body or its parameters are malformed or do not fit the model."""


class ModelNotFoundError(RequestError):
    """The path names a model or version this server does not serve."""


class NotAcceptableError(RequestError):
    """No response format the server writes matches the Accept header."""


class PayloadTooLargeError(RequestError):
    """The body or the batch is over a configured limit."""


class UnsupportedMediaTypeError(RequestError):
    """The Content-Type or Content-Encoding is one the server does not read."""


class ModelNotReadyError(RequestError):
    """The model is still loading."""


HTTP_STATUS: dict[type[RequestError], int] = {
    InvalidRequestError: 400,
    ModelNotFoundError: 404,
    NotAcceptableError: 406,
    PayloadTooLargeError: 413,
    UnsupportedMediaTypeError: 415,
    ModelNotReadyError: 503,
}


def http_status(error: RequestError) -> int:
    """The status of the nearest mapped class of ``error``; 500 for an unmapped one (a bug)."""
    return next((HTTP_STATUS[kind] for kind in type(error).__mro__ if kind in HTTP_STATUS), 500)
