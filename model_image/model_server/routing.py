"""Which endpoint answers a request: exact paths by one dict lookup, templated ones (``{model_name}``) by
comparing path segments. Both protocols' routes are a handful; a web framework's router, with its regular
expressions, request objects and middleware stack, cost several times the model call per request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .dataplane import DataPlane, Reply

# (data plane, path parameters, lower-case request headers, decoded body) -> the reply.
Endpoint = Callable[[DataPlane, Mapping[str, str], Mapping[bytes, bytes], bytes], Awaitable[Reply]]
NO_PARAMS: Mapping[str, str] = MappingProxyType({})
# Templated paths matched so far, kept for a dict lookup next time (a model's infer path is asked for on every
# request; comparing its segments again cost 3-5 us). Bounded: paths come from clients.
REMEMBERED_PATHS = 256


@dataclass(frozen=True)
class Route:
    """``method`` on ``path`` (``{name}`` segments are parameters) answered by ``endpoint``."""

    method: str
    path: str
    endpoint: Endpoint


@dataclass(frozen=True)
class Match:
    """The endpoints of one path by method, and the path's parameters."""

    methods: Mapping[str, Endpoint]
    params: Mapping[str, str]

    def endpoint(self, method: str) -> Endpoint | None:
        """The endpoint for ``method``; HEAD is answered by the GET endpoint (without the body)."""
        found = self.methods.get(method)
        if found is None and method == "HEAD":
            return self.methods.get("GET")
        return found

    def allowed(self) -> str:
        """The Allow header: every method of the path, HEAD with GET."""
        methods = set(self.methods) | ({"HEAD"} if "GET" in self.methods else set())
        return ", ".join(sorted(methods))


class Router:
    """Finds the endpoints of a path."""

    def __init__(self, routes: Iterable[Route]) -> None:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for route in routes:
            by_path.setdefault(route.path, {})[route.method] = route.endpoint
        self._exact = {path: Match(methods, NO_PARAMS) for path, methods in by_path.items() if "{" not in path}
        # Templated paths by segment count and last segment ("" when that is a parameter), so that a request
        # is compared with the one or two templates it can match: ("", "v2", "models", "{model_name}", "infer").
        self._templated: dict[tuple[int, str], list[tuple[tuple[str, ...], dict[str, Endpoint]]]] = {}
        for path, methods in by_path.items():
            if "{" in path:
                segments = tuple(path.split("/"))
                last = "" if segments[-1].startswith("{") else segments[-1]
                self._templated.setdefault((len(segments), last), []).append((segments, methods))
        self._remembered: dict[str, Match] = {}

    def match(self, path: str) -> Match | None:
        """The endpoints and parameters of ``path``; None when no route has it."""
        found = self._exact.get(path) or self._remembered.get(path)
        if found is not None:
            return found
        parts = path.split("/")
        for key in ((len(parts), parts[-1]), (len(parts), "")):
            for segments, methods in self._templated.get(key, ()):
                params = _parameters(segments, parts)
                if params is not None:
                    match = Match(methods, MappingProxyType(params))  # shared by later requests: read-only
                    if len(self._remembered) < REMEMBERED_PATHS:
                        self._remembered[path] = match
                    return match
        return None


def _parameters(segments: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    """The parameters when ``parts`` fit the template ``segments`` (no parameter empty), else None."""
    params = {}
    for segment, part in zip(segments, parts, strict=True):
        if segment[:1] == "{":
            if not part:
                return None
            params[segment[1:-1]] = part
        elif segment != part:
            return None
    return params
