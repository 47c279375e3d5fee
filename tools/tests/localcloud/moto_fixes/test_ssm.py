"""moto's SSM with the local cloud's fix: a parameter's AllowedPattern is enforced, as SSM does."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from delivery_tools.localcloud.moto_fixes import ssm

DIGEST_GUARD = "^[^@]+@sha256:aaa$|^(tag 1.0 holds sha256:bbb; this release must run sha256:aaa)$"


@pytest.fixture
def client() -> Iterator[Any]:
    ssm.install()
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def test_a_value_the_pattern_admits_is_stored(client: Any) -> None:
    client.put_parameter(Name="/p", Value="repo@sha256:aaa", Type="String", AllowedPattern=DIGEST_GUARD)
    assert client.get_parameter(Name="/p")["Parameter"]["Value"] == "repo@sha256:aaa"


def test_a_value_the_pattern_refuses_is_not_stored_and_the_error_quotes_the_pattern(client: Any) -> None:
    with pytest.raises(client.exceptions.ParameterPatternMismatchException) as refused:
        client.put_parameter(Name="/p", Value="repo@sha256:bbb", Type="String", AllowedPattern=DIGEST_GUARD)
    assert refused.value.response["Error"]["Message"] == (
        f"Parameter value, cannot be validated against allowedPattern: {DIGEST_GUARD}"
    )
    with pytest.raises(client.exceptions.ParameterNotFound):
        client.get_parameter(Name="/p")
