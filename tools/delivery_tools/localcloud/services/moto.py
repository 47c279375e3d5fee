"""moto as the AWS API on loopback, running Lambda functions in docker on the host network."""

from __future__ import annotations

import sys

from botocore.exceptions import BotoCoreError, ClientError

from delivery_tools.common.commands import run
from delivery_tools.common.errors import ToolError
from delivery_tools.common.http import port_open
from delivery_tools.localcloud import aws
from delivery_tools.localcloud.moto_fixes import lambda_code
from delivery_tools.localcloud.moto_fixes.ecr_images import REGISTRY_SOCKET_VARIABLE
from delivery_tools.localcloud.safety import fake_aws_environment
from delivery_tools.localcloud.services import registry, supervisor
from delivery_tools.localcloud.services.state import LocalCloudState
from delivery_tools.localcloud.settings import LocalSettings

SERVICE = "moto"
PORT = 4566
# `localhost`, not 127.0.0.1: moto takes the host of a CloudFormation TemplateURL as an S3 bucket name
# unless it looks like a host name.
ENDPOINT_URL = f"http://localhost:{PORT}"


def moto_ready(region: str) -> bool:
    """True when moto answers an AWS API call (STS GetCallerIdentity)."""
    try:
        aws.client("sts", ENDPOINT_URL, region, quick=True).get_caller_identity()
    except (BotoCoreError, ClientError):
        return False
    return True


def code_volumes() -> list[str]:
    """The names of the function-code volumes moto kept (moto_fixes.lambda_code)."""
    return run(["docker", "volume", "ls", "--quiet", "--filter", f"label={lambda_code.LABEL}"]).stdout.split()


def remove_code_volumes() -> int:
    """Remove the function-code volumes moto kept, when no moto uses them: how many."""
    listed = code_volumes()
    if not listed:
        return 0
    # Function containers a stopped moto left behind (it removes them only after their invocation) hold them.
    left = run(["docker", "ps", "--all", "--quiet", *(f"--filter=volume={name}" for name in listed)]).stdout.split()
    if left:
        run(["docker", "rm", "--force", *left])
    run(["docker", "volume", "rm", *listed])
    return len(listed)


def ensure_moto(state: LocalCloudState, settings: LocalSettings, lambda_image: str) -> str:
    """Reuse our running moto or start it, with Lambda run in `lambda_image`.

    No MOTO_ACCOUNT_ID: it would override every request's account (moto ranks it above the account header
    and above assumed-role credentials), so all local accounts would share one state.
    """
    region = settings.home.region
    if supervisor.tracked_pid(state, SERVICE) is not None and moto_ready(region):
        return "reused"
    if port_open(("127.0.0.1", PORT)):
        raise ToolError(
            f"127.0.0.1:{PORT} is in use by a process this local cloud ({state.directory}) did not start: "
            "stop it (an older local cloud? run its `down`) and run the command again"
        )
    remove_code_volumes()  # a fresh moto unpacks every function's code anew
    environment = fake_aws_environment(ENDPOINT_URL, region)
    environment.update(
        {
            "MOTO_PORT": str(PORT),
            "MOTO_DOCKER_LAMBDA_IMAGE": lambda_image,
            "MOTO_DOCKER_NETWORK_MODE": "host",
            # Tags made through the ECR API (PutImage) are written to the registry too (moto_fixes.ecr_images).
            REGISTRY_SOCKET_VARIABLE: str(registry.socket_path(state)),
        }
    )
    supervisor.start(
        state,
        SERVICE,
        [sys.executable, "-m", "delivery_tools.localcloud.moto_fixes.app", "--host", "127.0.0.1", "--port", str(PORT)],
        env=environment,
        ready=lambda: moto_ready(region),
        port=PORT,
    )
    return "started"
