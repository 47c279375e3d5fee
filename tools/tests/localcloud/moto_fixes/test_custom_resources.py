"""A custom resource that fails makes the stack fail and roll back, as on CloudFormation.

moto runs in this process with the fixes installed; the function's container is replaced by a stand-in
that answers CloudFormation as the copy Lambda does (SUCCESS, FAILED, or nothing at all).
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse

from delivery_tools.localcloud.moto_fixes import cloudformation

REGION = "eu-north-1"
Answerer = Callable[[dict[str, Any]], "cloudformation.Answer | None"]


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Answerer]]:
    """Install the fixes for this test only; each invocation answers with the next function in the list."""
    for owner, name in (
        (CustomModel, "create_from_cloudformation_json"),
        (CustomModel, "update_from_cloudformation_json"),
        (CloudFormationResponse, "process_cfn_response"),
        (CloudFormationBackend, "_resolve_update_parameters"),
        (Stack, "update"),
        (ResourceMap, "update"),
    ):
        monkeypatch.setattr(owner, name, inspect.getattr_static(owner, name))  # undone after the test
    cloudformation.install()
    queue: list[Answerer] = []
    events: list[dict[str, Any]] = []

    def invoke(self: LambdaFunction, body: str, *_: Any) -> bytes:
        event = json.loads(body)
        events.append(event)
        answer = queue.pop(0)(event)
        if answer is not None:
            cloudformation._answers[event["RequestId"]] = answer
        return b"function output"

    monkeypatch.setattr(LambdaFunction, "invoke", invoke)
    with mock_aws():
        yield queue


def succeed(event: dict[str, Any]) -> cloudformation.Answer:
    return cloudformation.Answer("SUCCESS", "", {"Tag": event["ResourceProperties"]["Tag"]})


def fail(event: dict[str, Any]) -> cloudformation.Answer:
    return cloudformation.Answer("FAILED", "copy failed: registry unreachable", {})


def stay_silent(event: dict[str, Any]) -> None:
    return None


def template(function_arn: str, tag: str) -> str:
    return json.dumps(
        {
            "Resources": {
                "Copy": {"Type": "Custom::Copy", "Properties": {"ServiceToken": function_arn, "Tag": tag}},
            },
            "Outputs": {"Tag": {"Value": tag}},
        }
    )


def function_arn() -> str:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="copy", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return str(
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName="copy", Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": b"zip"}
        )["FunctionArn"]
    )


def settled(name: str) -> dict[str, Any]:
    """The stack once it is no longer in progress (a Create settles in the background)."""
    cloudformation_client = boto3.client("cloudformation", region_name=REGION)
    for _ in range(200):
        (stack,) = cloudformation_client.describe_stacks(StackName=name)["Stacks"]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return dict(stack)
        time.sleep(0.05)
    raise AssertionError(f"{name} stayed {stack['StackStatus']}")


def reasons(name: str) -> list[str]:
    events = boto3.client("cloudformation", region_name=REGION).describe_stack_events(StackName=name)["StackEvents"]
    return [f"{e['LogicalResourceId']} {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}" for e in events]


def test_a_failed_create_rolls_the_stack_back_with_the_reason(answers: list[Answerer]) -> None:
    answers.append(fail)
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="s", TemplateBody=template(function_arn(), "1")
    )
    assert settled("s")["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Copy CREATE_FAILED copy failed: registry unreachable" in reasons("s")


def test_a_function_that_never_answers_fails_the_create_at_once(answers: list[Answerer]) -> None:
    answers.append(stay_silent)
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="s", TemplateBody=template(function_arn(), "1")
    )
    assert settled("s")["StackStatus"] == "ROLLBACK_COMPLETE"
    assert any("ended without answering CloudFormation: function output" in line for line in reasons("s"))


def test_an_update_waits_for_the_answer_and_takes_its_data(answers: list[Answerer]) -> None:
    client, arn = boto3.client("cloudformation", region_name=REGION), function_arn()
    answers += [succeed, succeed]
    client.create_stack(StackName="s", TemplateBody=template(arn, "1"))
    assert settled("s")["StackStatus"] == "CREATE_COMPLETE"
    client.update_stack(StackName="s", TemplateBody=template(arn, "2"))
    stack = settled("s")
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["Outputs"] == [{"OutputKey": "Tag", "OutputValue": "2"}]


def test_a_failed_update_rolls_back_to_the_previous_template_and_outputs(answers: list[Answerer]) -> None:
    client, arn = boto3.client("cloudformation", region_name=REGION), function_arn()
    answers += [succeed, fail]
    client.create_stack(StackName="s", TemplateBody=template(arn, "1"))
    settled("s")
    client.update_stack(StackName="s", TemplateBody=template(arn, "2"))
    stack = settled("s")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack["Outputs"] == [{"OutputKey": "Tag", "OutputValue": "1"}]
    assert client.get_template(StackName="s")["TemplateBody"] == json.loads(template(arn, "1"))
    assert "Copy UPDATE_FAILED copy failed: registry unreachable" in reasons("s")
    assert answers == [], "the rollback must not run the function again"

    answers.append(succeed)  # the next deploy runs the copy again, and it succeeds
    client.update_stack(StackName="s", TemplateBody=template(arn, "2"))
    assert settled("s")["StackStatus"] == "UPDATE_COMPLETE"


def with_reader(function_arn: str, tag: str | None) -> str:
    """A stack whose `Reader` resource (present when `tag` is given) publishes what its function answered."""
    if tag is None:
        return json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    reader = {"Type": "Custom::Reader", "Properties": {"ServiceToken": function_arn, "Tag": tag}}
    return json.dumps(
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Reader": reader},
            "Outputs": {"Read": {"Value": {"Fn::GetAtt": ["Reader", "Tag"]}}},
        }
    )


def test_a_resource_removed_and_added_again_is_created_anew(answers: list[Answerer]) -> None:
    client, arn = boto3.client("cloudformation", region_name=REGION), function_arn()
    answers += [succeed, succeed]
    client.create_stack(StackName="s", TemplateBody=with_reader(arn, "1"))
    assert settled("s")["Outputs"] == [{"OutputKey": "Read", "OutputValue": "1"}]
    client.update_stack(StackName="s", TemplateBody=with_reader(arn, None))
    assert settled("s")["StackStatus"] == "UPDATE_COMPLETE"
    client.update_stack(StackName="s", TemplateBody=with_reader(arn, "3"))
    stack = settled("s")
    assert answers == [], "adding the resource again must run its function (a Create)"
    assert stack["Outputs"] == [{"OutputKey": "Read", "OutputValue": "3"}], "not the data of its earlier life"
