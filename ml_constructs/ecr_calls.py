"""ECR API calls made at deploy time through the CDK's AwsCustomResource (no hand-written Lambda).

One helper serves every call, so each gets the same shape: the call runs on create and on update, its role
may make exactly that call on exactly that repository, and the vendored handler's findings are answered
with reasons where they are raised.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import custom_resources as cr
from constructs import Construct

from ml_constructs.vendored import annotate_vendored_function

# The id AwsCustomResource gives its per-stack singleton function.
HANDLER_ID = "AWS679f53fac002430cb0da5b7982bd2287"


def ecr_call(
    scope: Construct,
    construct_id: str,
    *,
    action: str,
    parameters: Mapping[str, Any],
    repository_arn: str,
    physical_id: str,
    output_paths: Sequence[str],
    region: str | None = None,
    ignore_error_codes: str | None = None,
) -> cr.AwsCustomResource:
    call = cr.AwsSdkCall(
        service="ECR",
        action=action,
        parameters=dict(parameters),
        region=region,
        physical_resource_id=cr.PhysicalResourceId.of(physical_id),
        output_paths=list(output_paths),
        ignore_error_codes_matching=ignore_error_codes,
    )
    resource = cr.AwsCustomResource(
        scope,
        construct_id,
        on_create=call,
        on_update=call,
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[repository_arn]),
        install_latest_aws_sdk=False,
    )
    _answer_handler_findings(Stack.of(scope))
    return resource


def _answer_handler_findings(stack: Stack) -> None:
    handler = stack.node.find_child(HANDLER_ID)
    Validations.of(handler).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            reason="The CDK's AwsCustomResource handler writes its own logs with the AWS-managed basic execution "
            "policy; every ECR permission it has is a separate statement limited to one repository.",
        )
    )
    annotate_vendored_function(handler)
