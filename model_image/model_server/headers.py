"""Header value parsing both protocols share."""

from __future__ import annotations

from collections.abc import Mapping


def header(headers: Mapping[bytes, bytes], name: bytes) -> str | None:
    """The value of the lower-case header ``name`` as text (HTTP headers are Latin-1); None when absent."""
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


def media_type(header: str | None) -> str:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``; empty when absent."""
    return (header or "").partition(";")[0].strip().lower()
