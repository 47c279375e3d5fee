"""moto's SSM with the local cloud's fixes: a parameter's AllowedPattern is enforced, as SSM does, and a
stack update changes a parameter in place, as CloudFormation does."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
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


def stack_with_parameter(name: str, value: str, pattern: str = "^repo@sha256:[a-f]+$") -> str:
    parameter = {"Type": "String", "Name": name, "Value": value, "AllowedPattern": pattern, "Description": value}
    return json.dumps({"Resources": {"Published": {"Type": "AWS::SSM::Parameter", "Properties": parameter}}})


@pytest.fixture
def cloudformation(client: Any) -> Any:
    cloudformation = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    cloudformation.create_stack(StackName="release", TemplateBody=stack_with_parameter("/p", "repo@sha256:aaa"))
    return cloudformation


def test_a_stack_update_changes_the_value_in_place_as_a_new_version(client: Any, cloudformation: Any) -> None:
    cloudformation.update_stack(StackName="release", TemplateBody=stack_with_parameter("/p", "repo@sha256:bbb"))
    parameter = client.get_parameter(Name="/p")["Parameter"]
    assert (parameter["Value"], parameter["Version"]) == ("repo@sha256:bbb", 2)
    history = client.get_parameter_history(Name="/p")["Parameters"]
    assert [entry["Value"] for entry in history] == ["repo@sha256:aaa", "repo@sha256:bbb"]


def test_a_refused_value_in_a_stack_update_leaves_the_parameter_as_it_was(client: Any, cloudformation: Any) -> None:
    with pytest.raises(ClientError, match="allowedPattern"):
        cloudformation.update_stack(StackName="release", TemplateBody=stack_with_parameter("/p", "repo@sha256:bad1"))
    parameter = client.get_parameter(Name="/p")["Parameter"]
    assert (parameter["Value"], parameter["Version"]) == ("repo@sha256:aaa", 1)
    cloudformation.update_stack(StackName="release", TemplateBody=stack_with_parameter("/p", "repo@sha256:ccc"))
    assert client.get_parameter(Name="/p")["Parameter"]["Value"] == "repo@sha256:ccc", "the next update still works"


def test_a_new_name_replaces_the_parameter(client: Any, cloudformation: Any) -> None:
    cloudformation.update_stack(StackName="release", TemplateBody=stack_with_parameter("/q", "repo@sha256:aaa"))
    assert client.get_parameter(Name="/q")["Parameter"]["Value"] == "repo@sha256:aaa"
    with pytest.raises(client.exceptions.ParameterNotFound):
        client.get_parameter(Name="/p")
