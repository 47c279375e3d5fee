"""Guards that keep the local cloud away from real AWS.

Every AWS client the local cloud starts (the CDK CLI, boto3, moto's Lambda containers) gets an explicit
loopback endpoint and obviously fake credentials; anything else in the environment that could point a
client at a real account (profiles, tokens, config files) is removed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from delivery_tools.common.errors import ToolError

FAKE_ACCESS_KEY_ID = "AKIALOCALCLOUDFAKE00"
FAKE_SECRET_ACCESS_KEY = "local-cloud-fake-secret-not-a-real-key"  # noqa: S105
# Variables that could route a client to a real account or real credentials.
_AWS_VARIABLES_REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def is_loopback_host(host: str) -> bool:
    """True when every address `host` resolves to is a loopback address."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(address).is_loopback for address in addresses)


def require_loopback_endpoint(url: str) -> str:
    """Return `url` if its host is loopback; otherwise refuse, naming the endpoint."""
    host = urlsplit(url).hostname
    if not host or not is_loopback_host(host):
        raise ToolError(
            f"refusing to run: the AWS endpoint {url!r} does not resolve to a loopback address; "
            "the local cloud only ever talks to services on this machine"
        )
    return url


def fake_aws_environment(endpoint_url: str, region: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) pointed at `endpoint_url` in `region` with fake credentials.

    The endpoint is checked first, so no caller can build an environment that reaches real AWS.
    """
    require_loopback_endpoint(endpoint_url)
    environment = {
        name: value
        for name, value in (os.environ if base is None else base).items()
        if name not in _AWS_VARIABLES_REMOVED
    }
    environment.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
            # Empty config files: no profile on this machine can add a role or an endpoint.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    return environment
