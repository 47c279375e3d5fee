"""CloudFormation's response endpoint over https, for custom-resource handlers that insist on it.

A custom resource answers CloudFormation with a PUT to the event's ResponseURL. The CDK's AwsCustomResource
handler always sends it over https to port 443 of the URL's host (it ignores the scheme and port), while
moto hands out `http://host.docker.internal:4566/...`. This front listens on 127.0.0.1:443 with the local
CA's certificate for `host.docker.internal` (the name the Lambda containers map to loopback) and passes
every request on to the local AWS API unchanged. Responses are a few kilobytes: bodies are read whole.

Run as `python -m delivery_tools.localcloud.services.cfn_responses ENDPOINT_URL CERTIFICATE KEY`; the local
cloud starts it as the service `cfn-responses` (`ensure_front`).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx2
import uvicorn

from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import port_open
from delivery_tools.localcloud.host_changes.pki import Certificates
from delivery_tools.localcloud.services import moto, supervisor
from delivery_tools.localcloud.services.state import LocalCloudState

SERVICE = "cfn-responses"
HOST = "host.docker.internal"
ADDRESS = "127.0.0.1"
PORT = 443

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class ResponseFront:
    """The ASGI application: each request is sent to `endpoint_url` with the same method, path and body."""

    def __init__(self, endpoint_url: str, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self._client = httpx2.AsyncClient(base_url=endpoint_url, transport=transport, timeout=60.0)

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name.lower() not in (b"host", b"content-length")
        }
        try:
            answer = await self._client.request(
                scope["method"], scope["path"] + (f"?{query}" if query else ""), content=bytes(body), headers=headers
            )
            status, content = answer.status_code, answer.content
        except httpx2.TransportError as error:
            status, content = 502, f"the local AWS API is unreachable: {error}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(content)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": content})


def ensure_front(state: LocalCloudState, certificates: Certificates) -> str:
    """Reuse our running front, or start it; refuse if another process holds 127.0.0.1:443."""
    if supervisor.tracked_pid(state, SERVICE) is not None:
        return "reused"
    if port_open((ADDRESS, PORT)):
        raise ToolError(
            f"{ADDRESS}:{PORT} is in use by a process this local cloud ({state.directory}) did not start; the "
            "custom resources answer CloudFormation there: stop it and run the command again"
        )
    command = [sys.executable, "-m", __name__, moto.ENDPOINT_URL, str(certificates.server_certificate)]
    supervisor.start(
        state,
        SERVICE,
        [*command, str(certificates.server_key)],
        ready=lambda: port_open((ADDRESS, PORT)),
        port=PORT,
    )
    return "started"


def main(arguments: list[str]) -> int:
    if len(arguments) != 3:
        print(
            f"usage: python -m {__spec__.name if __spec__ else __name__} ENDPOINT_URL CERTIFICATE KEY", file=sys.stderr
        )
        return 2
    endpoint_url, certificate, key = arguments
    uvicorn.run(
        ResponseFront(endpoint_url),
        host=ADDRESS,
        port=PORT,
        ssl_certfile=certificate,
        ssl_keyfile=key,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
