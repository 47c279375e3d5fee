"""pr-review against deployed stacks reads each stack's template from CloudFormation (mocked here)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from delivery_tools.common.assembly import StackRef
from delivery_tools.prreview.deployed import DeployedStackError, deployed_templates
from delivery_tools.prreview.engine import StackPair, compare

REGION = "eu-west-1"
DEPLOYED = StackRef("dev/Repository", "dev-Repository", "111111111111", REGION)
NOT_DEPLOYED = StackRef("dev/ModelImage", "dev-ModelImage", "111111111111", REGION)


def parameter_template(value: str) -> dict[str, object]:
    return {
        "Resources": {
            "Uri": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": "/model-serving/dev/image-uri", "Type": "String", "Value": value},
            }
        }
    }


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@mock_aws
def test_deployed_template_is_read_and_a_missing_stack_is_new() -> None:
    deployed = parameter_template("old")
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=DEPLOYED.stack_name, TemplateBody=json.dumps(deployed)
    )
    templates = deployed_templates([DEPLOYED, NOT_DEPLOYED])
    assert templates == {DEPLOYED.display_name: deployed, NOT_DEPLOYED.display_name: None}

    updated, added = compare(
        [
            StackPair(DEPLOYED, templates[DEPLOYED.display_name], parameter_template("new")),
            StackPair(NOT_DEPLOYED, templates[NOT_DEPLOYED.display_name], parameter_template("new")),
        ]
    )
    assert [change.impact for change in updated.resources] == ["WILL_UPDATE"]
    assert added.added and [change.impact for change in added.resources] == ["WILL_CREATE"]


def test_an_unreachable_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # loopback port with no listener
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(
        DeployedStackError, match=r"reading stack dev-Repository in eu-west-1 failed: Could not connect"
    ):
        deployed_templates([DEPLOYED])
