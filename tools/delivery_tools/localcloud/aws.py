"""boto3 clients for the local cloud: loopback endpoint and fake credentials, or nothing."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from delivery_tools.localcloud.safety import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, require_loopback_endpoint


def client(service: str, endpoint_url: str, region: str, *, quick: bool = False) -> Any:
    """A boto3 client for `service` at `endpoint_url` (refused unless loopback), never reading profiles.

    `quick` fails fast (no retries, short timeouts), for probing whether the endpoint is up.
    """
    config = Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}) if quick else None
    with _SESSIONS_LOCK:  # a boto3 session is not thread-safe; the clients it makes are
        return _session(region).client(service, endpoint_url=require_loopback_endpoint(endpoint_url), config=config)


_SESSIONS_LOCK = threading.Lock()


@cache
def _session(region: str) -> boto3.session.Session:
    """One session per region: a session loads each service's API model once, which costs about 0.1 s, so
    a session per client made the read-back of a three-account deploy take seconds."""
    return boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        region_name=region,
    )
