"""ECR's data plane in front of the local registry: one TLS listener per account, ECR's rules, streamed bodies.

Every local account has its registry host `<account>.dkr.ecr.<region>.amazonaws.com` on a loopback address
of its own; the proxy serves all of them and maps each host onto a namespace of one backend registry
(`<account>/<repository>`), so the accounts never see each other's repositories. Before a request reaches
the registry it applies the rules of `ecr_rules`, reading the repository's settings from the local AWS
API (moto's ECR) at request time, with a cache of a second or two for blob traffic only.

Bodies are streamed both ways (an image layer of gigabytes never sits in memory); the registry's
`Location` headers are rewritten back to the client's host and repository name. Authentication is the
registry's own (none: `docker login` with moto's token succeeds as before).

Each repository of each host counts the body bytes it received (pushes, copies in) and sent (pulls, copies
out) since the proxy started; `GET /local-cloud/traffic` on any host answers every counter as JSON, keyed
`<host>/<repository>` (ECR has no such route; the benchmarks read the bytes a deploy moved from it).

Run as `python -m delivery_tools.localcloud.services.ecr_proxy CONFIG.json` (see `ProxyConfig`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio.to_thread
import httpx2
import uvicorn

from delivery_tools.localcloud.accounts import account_client
from delivery_tools.localcloud.services.ecr_rules import (
    REGISTRY_HOST,
    TRAFFIC_PATH,
    RegistryError,
    RepositoryRequest,
    name_unknown,
    parse_path,
    tag_invalid,
    tag_overwrite_refused,
    unsupported,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# (account, region) -> a boto3 ECR client acting in that account of the local AWS API.
EcrClientFactory = Callable[[str, str], Any]

# Headers that describe one hop, not the message (RFC 9110 section 7.6.1), plus those the server sets itself.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)
_SERVER_SET = frozenset({"date", "server"})
# ECR's limit on a manifest's size; larger request bodies are blobs and never copied.
_MANIFEST_LIMIT = 4 * 1024 * 1024
# Every manifest type, so the registry answers a HEAD for any image as it stored it.
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
    )
)


@dataclass(frozen=True)
class Registry:
    """One account's registry host and the loopback address it listens on."""

    host: str
    account: str
    address: str


@dataclass(frozen=True)
class ProxyConfig:
    """What the proxy serves: the registries, the TLS files, the backend socket and the AWS endpoint."""

    registries: tuple[Registry, ...]
    port: int
    certificate: Path
    key: Path
    upstream_socket: Path
    endpoint_url: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "registries": [vars(registry) for registry in self.registries],
                "port": self.port,
                "certificate": str(self.certificate),
                "key": str(self.key),
                "upstream_socket": str(self.upstream_socket),
                "endpoint_url": self.endpoint_url,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> ProxyConfig:
        data = json.loads(text)
        return cls(
            registries=tuple(Registry(**registry) for registry in data["registries"]),
            port=int(data["port"]),
            certificate=Path(data["certificate"]),
            key=Path(data["key"]),
            upstream_socket=Path(data["upstream_socket"]),
            endpoint_url=data["endpoint_url"],
        )


class EcrApi:
    """ECR's control plane in the local AWS API, per account: repository settings (with a short cache only
    where allowed), and the images pushed through the registry, recorded so DescribeImages sees them as on AWS
    (the CDK's asset publishing asks it whether an image is already there)."""

    def __init__(self, ecr_client: EcrClientFactory, cache_seconds: float = 2.0) -> None:
        self._ecr_client = ecr_client
        self._cache_seconds = cache_seconds
        self._clients: dict[tuple[str, str], Any] = {}
        self._cached: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}

    def _describe(self, account: str, region: str, repository: str) -> dict[str, Any] | None:
        client = self._clients.get((account, region))
        if client is None:
            client = self._clients[(account, region)] = self._ecr_client(account, region)
        try:
            found = client.describe_repositories(registryId=account, repositoryNames=[repository])
        except client.exceptions.RepositoryNotFoundException:
            return None
        repositories: list[dict[str, Any]] = found["repositories"]
        return repositories[0] if repositories else None

    def _record(self, account: str, region: str, repository: str, tag: str, manifest: bytes, digest: str) -> None:
        client = self._clients.get((account, region)) or self._ecr_client(account, region)
        media_type = json.loads(manifest).get("mediaType")
        client.put_image(
            registryId=account,
            repositoryName=repository,
            imageManifest=manifest.decode(),
            imageTag=tag,
            imageDigest=digest,
            **({"imageManifestMediaType": media_type} if media_type else {}),
        )

    async def record_image(
        self, account: str, region: str, repository: str, tag: str, manifest: bytes, digest: str
    ) -> None:
        """Tell the AWS API that `repository:tag` is the manifest `digest` now (never raises: logged instead)."""
        try:
            await anyio.to_thread.run_sync(self._record, account, region, repository, tag, manifest, digest)
        except Exception as error:  # the push itself succeeded; a missing record only affects DescribeImages
            print(f"warning: {repository}:{tag} of {account} not recorded in the ECR API: {error}", file=sys.stderr)

    async def get(self, account: str, region: str, repository: str, *, fresh: bool) -> dict[str, Any] | None:
        """The repository's DescribeRepositories entry, or None when the account has no such repository.

        `fresh` always asks the AWS API (for decisions such as tag immutability); otherwise a repository
        found in the last `cache_seconds` is reused (blob uploads make many requests for one repository).
        "Not found" is never cached.
        """
        key = (account, region, repository)
        now = time.monotonic()
        if not fresh and key in self._cached and now - self._cached[key][0] < self._cache_seconds:
            return self._cached[key][1]
        settings = await anyio.to_thread.run_sync(self._describe, account, region, repository)
        if settings is None:
            self._cached.pop(key, None)  # a repository created a moment later must be usable at once
        else:
            self._cached[key] = (now, settings)
        return settings


def _upstream_query(query: str, account: str) -> str:
    """The query string for the backend: a cross-repository mount's `from` names a repository too."""
    if not query:
        return ""
    pairs = [(name, f"{account}/{value}" if name == "from" else value) for name, value in parse_qsl(query, True)]
    return urlencode(pairs)


def client_location(location: str, account: str, client_host: str) -> str:
    """The backend's Location header as the client must see it: its own host, the repository name unprefixed."""
    parts = urlsplit(location)
    prefix = f"/v2/{account}/"
    path = "/v2/" + parts.path[len(prefix) :] if parts.path.startswith(prefix) else parts.path
    query = f"?{parts.query}" if parts.query else ""
    return f"https://{client_host}{path}{query}"


async def _send_error(send: Send, error: RegistryError, head_only: bool) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(error.body)).encode()),
                (b"docker-distribution-api-version", b"registry/2.0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head_only else error.body})


async def _send_json(send: Send, value: object) -> None:
    body = json.dumps(value).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class EcrProxy:
    """The ASGI application: ECR's rules, then the request streamed to the backend registry."""

    def __init__(
        self,
        registries: tuple[Registry, ...],
        api: EcrApi,
        upstream: httpx2.AsyncBaseTransport,
    ) -> None:
        self._accounts: dict[str, tuple[str, str]] = {}
        for registry in registries:
            match = REGISTRY_HOST.match(registry.host)
            if match is None or match["account"] != registry.account:
                raise ValueError(f"{registry.host!r} is no ECR registry host of account {registry.account}")
            self._accounts[registry.host] = (registry.account, match["region"])
        self._api = api
        # No timeouts on reads and writes: a layer of gigabytes may take minutes either way.
        self._client = httpx2.AsyncClient(
            transport=upstream, base_url="http://registry", timeout=httpx2.Timeout(None, connect=10.0)
        )
        # Check-then-write of tags is one step at a time, so two pushes of one tag cannot both pass.
        self._tag_lock = asyncio.Lock()
        self.traffic: dict[str, dict[str, int]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        client_host = headers.get("host", "")
        head_only = scope["method"] == "HEAD"
        host = client_host.rsplit(":", 1)[0]
        account_region = self._accounts.get(host)
        if account_region is None:
            await _send_error(send, RegistryError(404, "NAME_UNKNOWN", f"no registry at {client_host!r}"), head_only)
            return
        account, region = account_region
        path: str = scope["path"]
        if path == TRAFFIC_PATH and scope["method"] == "GET":
            await _send_json(send, self.traffic)
            return
        if path in ("/v2", "/v2/"):
            await self._forward(scope, receive, send, "/v2/", account, client_host, self._counters(host))
            return
        request = parse_path(path)
        if request is None:
            await _send_error(send, unsupported(path), head_only)
            return
        upstream_path = f"/v2/{account}/{request.repository}/{request.rest}"
        counters = self._counters(f"{host}/{request.repository}")
        if scope["method"] != "PUT" or request.tag is None:
            if await self._api.get(account, region, request.repository, fresh=False) is None:
                await _send_error(send, name_unknown(request.repository, account), head_only)
                return
            await self._forward(scope, receive, send, upstream_path, account, client_host, counters)
            return
        async with self._tag_lock:
            refusal = await self._tag_write_refusal(account, region, request)
            if refusal is not None:
                await _send_error(send, refusal, head_only)
                return
            manifest = bytearray()
            status, digest = await self._forward(
                scope, receive, send, upstream_path, account, client_host, counters, manifest
            )
            if status == 201 and digest and len(manifest) <= _MANIFEST_LIMIT:
                await self._api.record_image(account, region, request.repository, request.tag, bytes(manifest), digest)

    def _counters(self, key: str) -> dict[str, int]:
        return self.traffic.setdefault(key, {"received": 0, "sent": 0})

    async def _tag_write_refusal(self, account: str, region: str, request: RepositoryRequest) -> RegistryError | None:
        """ECR's answer to a manifest PUT by tag, if it refuses it; read from the AWS API now, not cached."""
        settings = await self._api.get(account, region, request.repository, fresh=True)
        if settings is None:
            return name_unknown(request.repository, account)
        assert request.tag is not None
        mutability = settings.get("imageTagMutability", "MUTABLE")
        filters = settings.get("imageTagMutabilityExclusionFilters") or []
        if not tag_overwrite_refused(mutability, filters, request.tag):
            return None
        existing = await self._client.head(
            f"/v2/{account}/{request.repository}/manifests/{request.tag}",
            headers={"accept": _MANIFEST_TYPES},
        )
        return tag_invalid(request.tag, request.repository) if existing.status_code == 200 else None

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        upstream_path: str,
        account: str,
        client_host: str,
        counters: dict[str, int],
        request_copy: bytearray | None = None,
    ) -> tuple[int, str | None]:
        """Send the request to the backend and its answer back, both bodies streamed chunk by chunk and counted.

        The first `_MANIFEST_LIMIT` bytes of the request body are copied into `request_copy` if given (for
        manifests, never blobs). Returns the backend's status and Docker-Content-Digest.
        """
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.decode("latin-1").lower() not in _HOP_BY_HOP
        ]
        headers += [("host", client_host), ("x-forwarded-proto", "https")]
        has_body = any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])

        async def body() -> AsyncIterator[bytes]:
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ConnectionAbortedError("the client went away mid-request")
                chunk = message.get("body", b"")
                counters["received"] += len(chunk)
                if request_copy is not None and len(request_copy) <= _MANIFEST_LIMIT:
                    request_copy.extend(chunk)
                yield chunk
                more = message.get("more_body", False)

        query = _upstream_query(scope.get("query_string", b"").decode("latin-1"), account)
        upstream_request = self._client.build_request(
            scope["method"],
            upstream_path + (f"?{query}" if query else ""),
            headers=headers,
            content=body() if has_body else None,
        )
        try:
            response = await self._client.send(upstream_request, stream=True)
        except httpx2.TransportError as error:
            await _send_error(
                send, RegistryError(502, "UNAVAILABLE", f"the backend registry is unreachable: {error}"), False
            )
            return 502, None
        try:
            response_headers = []
            for name, value in response.headers.multi_items():
                lowered = name.lower()
                if lowered in _HOP_BY_HOP or lowered in _SERVER_SET:
                    continue
                if lowered == "location":
                    value = client_location(value, account, client_host)
                response_headers.append((lowered.encode("latin-1"), value.encode("latin-1")))
            await send({"type": "http.response.start", "status": response.status_code, "headers": response_headers})
            async for chunk in response.aiter_raw():
                counters["sent"] += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()
        return response.status_code, response.headers.get("docker-content-digest")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _listener(address: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(128)
    return listener


def serve(config: ProxyConfig, ecr_client: EcrClientFactory) -> None:
    """Listen on every registry's address (TLS) and serve until stopped."""
    app = EcrProxy(
        config.registries,
        EcrApi(ecr_client),
        httpx2.AsyncHTTPTransport(uds=str(config.upstream_socket)),
    )
    sockets = [_listener(address, config.port) for address in sorted({r.address for r in config.registries})]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            ssl_certfile=str(config.certificate),
            ssl_keyfile=str(config.key),
            log_level="warning",
            lifespan="on",
            # Never buffer more than this much of a request body ahead of the backend.
            h11_max_incomplete_event_size=64 * 1024,
        )
    )
    server.run(sockets=sockets)


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: python -m delivery_tools.localcloud.services.ecr_proxy CONFIG.json", file=sys.stderr)
        return 2
    try:
        config = ProxyConfig.from_json(Path(arguments[0]).read_text())
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"error: unreadable proxy configuration {arguments[0]}: {error}", file=sys.stderr)
        return 2
    try:
        serve(config, lambda account, region: account_client("ecr", config.endpoint_url, region, account))
    except OSError as error:
        print(f"error: the ECR proxy cannot listen: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
