"""Reading a request body: gzip/deflate decoded, held to ``max_body_bytes`` as the application sees it.

413 before reading a byte when an uncompressed body's Content-Length is too big; otherwise reading stops at
the limit, counted after decompression, so a small compressed bomb never grows the process past the limit
and one chunk. Unknown Content-Encodings get 415 naming the supported ones.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from .asgi import Receive
from .errors import InvalidRequestError, PayloadTooLargeError, UnsupportedMediaTypeError

# Content-Encoding -> zlib window bits: gzip framing, or zlib framing (what HTTP calls "deflate").
DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class ClientDisconnectedError(Exception):
    """The client went away before its body arrived: there is nobody to answer."""


class _Inflater:
    """Streams a compressed body out, never holding more than the limit plus one chunk of output."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.decompressor = zlib.decompressobj(DECODERS[encoding])

    def inflate(self, chunk: bytes, produced: int, last: bool) -> bytes:
        """The output ``chunk`` decompresses to; ``produced`` bytes came before it."""
        try:
            # max_length caps each step's output, so a small bomb is cut after limit + 1 bytes.
            output = self.decompressor.decompress(chunk, self.limit - produced + 1)
        except zlib.error as error:
            raise InvalidRequestError(f"the {self.encoding} body cannot be decompressed: {error}") from None
        if produced + len(output) > self.limit:
            raise PayloadTooLargeError(_too_large(f"over {self.limit} bytes once decompressed", self.limit))
        if last and not self.decompressor.eof:
            raise InvalidRequestError(f"the {self.encoding} body ends before its compressed stream does")
        return output


def _too_large(size: str, limit: int) -> str:
    return f"request body is {size}; the limit is {limit} bytes (MAX_BODY_BYTES)"


def _inflater(headers: Mapping[bytes, bytes], limit: int) -> _Inflater | None:
    """The decoder the Content-Encoding asks for; None for an uncompressed body."""
    raw = headers.get(b"content-encoding")
    encoding = "identity" if raw is None else raw.decode("latin-1").strip().lower()
    if encoding == "identity":
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLargeError(_too_large(f"{int(declared)} bytes", limit))
        return None
    if encoding not in DECODERS:
        supported = ", ".join([*DECODERS, "identity"])
        raise UnsupportedMediaTypeError(f"unsupported Content-Encoding {encoding!r}; use {supported}")
    return _Inflater(encoding, limit)


async def read_body(receive: Receive, headers: Mapping[bytes, bytes], limit: int) -> bytes:
    """The whole (decoded) body of the request whose lower-case ``headers`` are given."""
    inflater = _inflater(headers, limit)
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnectedError
        chunk: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if inflater is not None:
            chunk = inflater.inflate(chunk, received, last=not more)
        received += len(chunk)
        if received > limit:
            raise PayloadTooLargeError(_too_large(f"over {limit} bytes", limit))
        if not more:
            if not chunks:
                return chunk  # the usual case: the whole body in one message
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)
