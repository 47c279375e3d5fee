"""The stateless half: copy the model image into the repository at deploy time, with a least-privilege role."""

from aws_cdk import Acknowledgment, Arn, ArnFormat, CfnResource, Stack, Token, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from cdk_ecr_deployment import DockerImageName, ECRDeployment
from constructs import Construct

from ml_constructs.image_sources import ImageSource

# cdk-ecr-deployment's default; the function is a singleton per stack AND memory size.
DEFAULT_COPY_MEMORY_MIB = 512

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


class ImageCopyRole(Construct):
    """The least-privilege role of cdk-ecr-deployment's copy function, shared like the function itself.

    ECRDeployment creates its Lambda as a singleton per stack and memory size, and only the first
    deployment's role reaches it. So the role is a singleton too (`ImageCopyRole.of`): every release in the
    stack grants its own source and destination to the one role the function really runs with.
    """

    @classmethod
    def of(cls, scope: Construct, memory_mib: int) -> "ImageCopyRole":
        stack = Stack.of(scope)
        construct_id = f"ImageCopyRole{memory_mib}MiB"
        existing = stack.node.try_find_child(construct_id)
        return existing if isinstance(existing, ImageCopyRole) else cls(stack, construct_id)

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies model images from the CDK asset repository into the model repositories",
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken has no resource-level permissions, so its resource must be '*'.",
            )
        )
        self._log_policy: iam.Policy | None = None

    def serve(self, deployment: ECRDeployment) -> None:
        """Make `deployment` wait for the role's grants; the first call also scopes the function's logs."""
        deployment.node.add_dependency(self.role)
        if self._log_policy is None:
            function = _copy_function(deployment)
            self._log_policy = self._allow_logs(function)
            _annotate(function)
        deployment.node.add_dependency(self._log_policy)

    def _allow_logs(self, function: lambda_.Function) -> iam.Policy:
        stack = Stack.of(self)
        log_group_arn = Arn.format(
            {
                "service": "logs",
                "resource": "log-group",
                "resource_name": f"/aws/lambda/{function.function_name}",
                "arn_format": ArnFormat.COLON_RESOURCE_NAME,
            },
            stack,
        )
        policy = iam.Policy(
            self,
            "Logs",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(actions=["logs:CreateLogGroup"], resources=[log_group_arn]),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group_arn}:*"]
                ),
            ],
        )
        partition = _as_nag_shows(stack.partition, "Partition")
        region = _as_nag_shows(stack.region, "Region")
        account = _as_nag_shows(stack.account, "AccountId")
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::arn:{partition}:logs:{region}:{account}:log-group:*]",
                reason="Log stream names are chosen by Lambda at run time; the grant is limited to the "
                "copy function's own log group.",
            )
        )
        return policy


def _as_nag_shows(value: str, pseudo_parameter: str) -> str:
    """cdk-nag names a finding's resource with `<AWS::X>` where a pseudo parameter is not yet known."""
    return f"<AWS::{pseudo_parameter}>" if Token.is_unresolved(value) else value


def _copy_function(deployment: ECRDeployment) -> lambda_.Function:
    """The Lambda behind the deployment's SingletonFunction, which cdk-ecr-deployment does not expose."""
    singleton = deployment.node.find_child("CustomResourceHandler")
    assert isinstance(singleton, lambda_.SingletonFunction)
    stack = Stack.of(deployment)
    wanted = stack.resolve(singleton.function_name)
    (function,) = (
        child
        for child in stack.node.children
        if isinstance(child, lambda_.Function) and stack.resolve(child.function_name) == wanted
    )
    return function


def _annotate(function: lambda_.Function) -> None:
    """Attach the checkov skips, with their reasons, to the vendored resources they concern."""
    for construct in function.node.find_all():
        for resource_type, skips in CHECKOV_SKIPS.items():
            if isinstance(construct, resource_type):
                construct.add_metadata(
                    "checkov", {"skip": [{"id": check, "comment": reason} for check, reason in skips]}
                )


class ModelImageRelease(Construct):
    """Copies the image of `source` into `repository` under the source's tag, and publishes its URI.

    The tag is content-derived (see ModelImageBuild), so a redeploy of unchanged content changes no
    property and copies nothing, and new content never collides with an existing immutable tag. Several
    releases may share a stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: ImageSource,
        repository: ecr.IRepository,
        image_uri_parameter_name: str,
        copy_memory_mib: int = DEFAULT_COPY_MEMORY_MIB,
    ) -> None:
        super().__init__(scope, construct_id)
        self.source = source
        self.image_tag = source.image_tag
        self.image_uri = repository.repository_uri_for_tag(source.image_tag)

        copy_role = ImageCopyRole.of(self, copy_memory_mib)
        source.grant_pull(copy_role.role)
        repository.grant_pull_push(copy_role.role)
        self.copy = ECRDeployment(
            self,
            "Copy",
            src=DockerImageName(source.image_uri),
            dest=DockerImageName(self.image_uri),
            memory_limit=copy_memory_mib,
            # The construct adds ecr:* and s3:GetObject on "*" to its role; an immutable view of our
            # role drops those, and the role keeps only the grants made above.
            role=copy_role.role.without_policy_updates(),
        )
        copy_role.serve(self.copy)

        self.image_uri_parameter = ssm.StringParameter(
            self,
            "ImageUriParameter",
            parameter_name=image_uri_parameter_name,
            string_value=self.image_uri,
            description="URI of the model-serving image deployed to this environment",
        )
        self.image_uri_parameter.node.add_dependency(self.copy)
