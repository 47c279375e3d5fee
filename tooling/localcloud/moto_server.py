"""moto as the AWS API on loopback, running Lambda functions in docker on the host network."""

from __future__ import annotations

import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

import tooling
from tooling.localcloud import aws, processes
from tooling.localcloud.errors import LocalCloudError
from tooling.localcloud.registry import port_open
from tooling.localcloud.safety import fake_aws_environment
from tooling.localcloud.state import LocalCloudState

SERVICE = "moto"
PORT = 4566
# `localhost`, not 127.0.0.1: moto takes the host of a CloudFormation TemplateURL as an S3 bucket name
# unless it looks like a host name.
ENDPOINT_URL = f"http://localhost:{PORT}"


def moto_ready() -> bool:
    """True when moto answers an AWS API call (STS GetCallerIdentity)."""
    try:
        aws.client("sts", ENDPOINT_URL, quick=True).get_caller_identity()
    except (BotoCoreError, ClientError):
        return False
    return True


def ensure_moto(state: LocalCloudState, lambda_image: str) -> str:
    """Reuse our running moto or start it, with Lambda functions run in `lambda_image`."""
    if processes.tracked_pid(state, SERVICE) is not None and moto_ready():
        return "reused"
    if port_open(("127.0.0.1", PORT)):
        raise LocalCloudError(
            f"127.0.0.1:{PORT} is in use by a process the local cloud did not start "
            "(another local cloud in a different checkout? run `make local-down` there)"
        )
    environment = fake_aws_environment(ENDPOINT_URL)
    environment.update(
        {
            "MOTO_PORT": str(PORT),
            "MOTO_DOCKER_LAMBDA_IMAGE": lambda_image,
            "MOTO_DOCKER_NETWORK_MODE": "host",
        }
    )
    processes.start(
        state,
        SERVICE,
        [sys.executable, "-m", "tooling.localcloud.moto_app", "--host", "127.0.0.1", "--port", str(PORT)],
        env={**environment, "PYTHONPATH": str(Path(tooling.__file__).resolve().parents[1])},
        ready=moto_ready,
    )
    return "started"
