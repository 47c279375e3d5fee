"""checkov's answers for the Lambda functions that libraries vendor into our stacks.

cdk-ecr-deployment's copy function and the CDK's AwsCustomResource handler are built by those libraries;
these findings concern how they are built, which this app does not control, so each is answered on the
resource itself, with its reason.
"""

from aws_cdk import CfnResource
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import IConstruct

CHECKOV_SKIPS: dict[type[CfnResource], tuple[tuple[str, str], ...]] = {
    lambda_.CfnFunction: (
        ("CKV_AWS_115", "Runs once per deploy as a custom resource; reserved concurrency would only waste quota."),
        ("CKV_AWS_116", "CloudFormation invokes it synchronously and records failures; a DLQ would stay empty."),
        ("CKV_AWS_117", "Calls ECR over AWS endpoints only; a VPC adds NAT cost, no isolation."),
        ("CKV_AWS_173", "The function has no environment variables holding secrets."),
    ),
    logs.CfnLogGroup: (("CKV_AWS_158", "Holds only image names, tags and digests, no data worth a CMK."),),
}


def annotate_vendored_function(function: IConstruct) -> None:
    """Attach the checkov skips to the function's resources (once, however often it is called)."""
    for construct in function.node.find_all():
        for resource_type, skips in CHECKOV_SKIPS.items():
            if isinstance(construct, resource_type) and not construct.get_metadata("checkov"):
                construct.add_metadata(
                    "checkov", {"skip": [{"id": check, "comment": reason} for check, reason in skips]}
                )
