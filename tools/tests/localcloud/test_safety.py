"""The local cloud must never reach real AWS: non-loopback endpoints are refused, credentials are fake."""

import pytest

from delivery_tools.common.errors import ToolError
from delivery_tools.localcloud import aws
from delivery_tools.localcloud.safety import FAKE_ACCESS_KEY_ID, fake_aws_environment, require_loopback_endpoint


@pytest.mark.parametrize("url", ["http://localhost:4566", "http://127.0.0.1:4566", "http://[::1]:4566"])
def test_loopback_endpoints_are_accepted(url: str) -> None:
    assert require_loopback_endpoint(url) == url


@pytest.mark.parametrize(
    "url",
    ["https://cloudformation.eu-north-1.amazonaws.com", "http://10.0.0.1:4566", "http://0.0.0.0:4566", "not a url", ""],
)
def test_other_endpoints_are_refused(url: str) -> None:
    with pytest.raises(ToolError, match="refusing to run"):
        require_loopback_endpoint(url)


def test_the_environment_has_fake_credentials_and_no_profile() -> None:
    real = {
        "AWS_PROFILE": "prod-admin",
        "AWS_SESSION_TOKEN": "real-token",
        "AWS_ACCESS_KEY_ID": "AKIAREALKEY",
        "AWS_ROLE_ARN": "arn:aws:iam::111111111111:role/x",
        "PATH": "/usr/bin",
    }
    environment = fake_aws_environment("http://localhost:4566", "eu-north-1", real)
    assert environment["AWS_ACCESS_KEY_ID"] == FAKE_ACCESS_KEY_ID
    assert environment["AWS_ENDPOINT_URL"] == "http://localhost:4566"
    assert environment["PATH"] == "/usr/bin"
    assert environment["AWS_REGION"] == environment["AWS_DEFAULT_REGION"] == "eu-north-1"
    for leaked in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN"):
        assert leaked not in environment


def test_no_environment_or_client_can_be_built_for_a_remote_endpoint() -> None:
    with pytest.raises(ToolError):
        fake_aws_environment("https://sts.amazonaws.com", "eu-north-1", {})
    with pytest.raises(ToolError):
        aws.client("sts", "https://sts.amazonaws.com", "eu-north-1")
