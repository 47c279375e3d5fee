"""Acting in one account of a real moto server: the header for boto3 clients, assumed-role credentials for the CLI."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import boto3
import pytest

from delivery_tools.common.http import free_port, port_open
from delivery_tools.localcloud.accounts import account_client, credentials_in

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint_url() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open(("127.0.0.1", port)):
            assert server.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_clients_of_two_accounts_never_see_each_others_repositories(endpoint_url: str) -> None:
    staging = account_client("ecr", endpoint_url, REGION, "222233334444")
    prod = account_client("ecr", endpoint_url, REGION, "333344445555")
    staging.create_repository(repositoryName="only-in-staging")
    (repository,) = staging.describe_repositories()["repositories"]
    assert repository["repositoryArn"] == f"arn:aws:ecr:{REGION}:222233334444:repository/only-in-staging"
    assert prod.describe_repositories()["repositories"] == []


def test_assumed_role_credentials_act_in_the_roles_account(endpoint_url: str) -> None:
    credentials = credentials_in(endpoint_url, REGION, "333344445555")
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )
    assert sts.get_caller_identity()["Account"] == "333344445555"
