"""Header value parsing both protocols share."""

from __future__ import annotations


def media_type(header: str | None) -> str:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``; empty when absent."""
    return (header or "").partition(";")[0].strip().lower()
