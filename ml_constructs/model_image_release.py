"""The stateless half: build the model image and copy it into the repository at deploy time."""

from aws_cdk import Acknowledgment, Arn, ArnFormat, CfnResource, Stack, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from cdk_ecr_deployment import DockerImageName, ECRDeployment
from constructs import Construct

from ml_constructs.image_tag import deploy_tag

# The copy function and its log group are vendored by cdk-ecr-deployment: these checkov findings concern
# how they are built, which this app does not control; each is answered on the resource itself.
CHECKOV_SKIPS: dict[type[CfnResource], tuple[tuple[str, str], ...]] = {
    lambda_.CfnFunction: (
        ("CKV_AWS_115", "Runs once per deploy as a custom resource; reserved concurrency would only waste quota."),
        ("CKV_AWS_116", "CloudFormation invokes it synchronously and records failures; a DLQ would stay empty."),
        ("CKV_AWS_117", "Copies between ECR registries over AWS endpoints; a VPC adds NAT cost, no isolation."),
        ("CKV_AWS_173", "The function has no environment variables holding secrets."),
    ),
    logs.CfnLogGroup: (
        ("CKV_AWS_158", "Holds only image-copy progress lines (image names, digests), no data worth a CMK."),
    ),
}


class ModelImageRelease(Construct):
    """Builds `directory` as a DockerImageAsset and copies it into `repository` under a content tag.

    The tag is `<model version>-<asset hash prefix>`: the same content always yields the same tag, so a
    redeploy of unchanged content changes no property and copies nothing, and new content never
    collides with an existing immutable tag.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        directory: str,
        repository: ecr.IRepository,
        model_version: str,
        platform: str,
        base_image: str | None,
        image_uri_parameter_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.asset = ecr_assets.DockerImageAsset(
            self,
            "Asset",
            directory=directory,
            platform=ecr_assets.Platform.custom(platform),
            build_args={"BASE_IMAGE": base_image} if base_image else None,
        )
        self.image_tag = deploy_tag(model_version, self.asset.asset_hash)
        self.image_uri = f"{repository.repository_uri}:{self.image_tag}"

        copy_role = self._copy_role(repository)
        self.copy = ECRDeployment(
            self,
            "Copy",
            src=DockerImageName(self.asset.image_uri),
            dest=DockerImageName(self.image_uri),
            # The construct adds ecr:* and s3:GetObject on "*" to its role; an immutable view of our
            # role drops those, and the role keeps only the grants made in _copy_role.
            role=copy_role.without_policy_updates(),
        )
        copy_function = self._copy_function()
        self._allow_copy_logs(copy_role, copy_function)
        self.copy.node.add_dependency(copy_role)
        self._annotate_copy_function(copy_function)

        self.image_uri_parameter = ssm.StringParameter(
            self,
            "ImageUriParameter",
            parameter_name=image_uri_parameter_name,
            string_value=self.image_uri,
            description="URI of the model-serving image deployed to this environment",
        )
        self.image_uri_parameter.node.add_dependency(self.copy)

    def _copy_role(self, repository: ecr.IRepository) -> iam.Role:
        role = iam.Role(
            self,
            "CopyRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies the model image from the CDK asset repository into the model repository",
        )
        self.asset.repository.grant_pull(role)
        repository.grant_pull_push(role)
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken has no resource-level permissions, so its resource must be '*'.",
            )
        )
        return role

    def _copy_function(self) -> lambda_.Function:
        """The copy Lambda: ECRDeployment creates it as a stack-level singleton it does not expose."""
        (function,) = (
            child
            for child in Stack.of(self).node.children
            if isinstance(child, lambda_.Function) and child.node.id.startswith("Custom::CDKECRDeployment")
        )
        return function

    def _allow_copy_logs(self, role: iam.Role, function: lambda_.Function) -> None:
        log_group_arn = Arn.format(
            {
                "service": "logs",
                "resource": "log-group",
                "resource_name": f"/aws/lambda/{function.function_name}",
                "arn_format": ArnFormat.COLON_RESOURCE_NAME,
            },
            Stack.of(self),
        )
        policy = iam.Policy(
            self,
            "CopyLogs",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=["logs:CreateLogGroup"], resources=[log_group_arn]),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group_arn}:*"]
                ),
            ],
        )
        stack = Stack.of(self)
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::arn:aws:logs:{stack.region}:{stack.account}:log-group:*]",
                reason="Log stream names are chosen by Lambda at run time; the grant is limited to the "
                "copy function's own log group.",
            )
        )
        self.copy.node.add_dependency(policy)

    @staticmethod
    def _annotate_copy_function(function: lambda_.Function) -> None:
        """Attach the checkov skips, with their reasons, to the vendored resources they concern."""
        for construct in function.node.find_all():
            for resource_type, skips in CHECKOV_SKIPS.items():
                if isinstance(construct, resource_type):
                    construct.add_metadata(
                        "checkov", {"skip": [{"id": check, "comment": reason} for check, reason in skips]}
                    )
