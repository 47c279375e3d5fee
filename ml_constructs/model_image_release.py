"""The stateless half: copy the model image into the repository at deploy time, with a least-privilege role."""

from aws_cdk import Acknowledgment, Arn, ArnComponents, ArnFormat, Stack, Token, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from cdk_ecr_deployment import DockerImageName, ECRDeployment
from constructs import Construct

from ml_constructs.ecr_calls import ecr_call
from ml_constructs.image_sources import ImageSource
from ml_constructs.vendored import annotate_vendored_function

# cdk-ecr-deployment's default; the function is a singleton per stack AND memory size.
DEFAULT_COPY_MEMORY_MIB = 512
# Lambda's default /tmp. The copy streams every blob registry to registry and spools nothing (docs/image-sizes.md),
# so /tmp does not grow with the image.
DEFAULT_COPY_EPHEMERAL_STORAGE_MIB = 512


class ImageCopyRole(Construct):
    """The least-privilege role of cdk-ecr-deployment's copy function, shared like the function itself.

    ECRDeployment creates its Lambda as a singleton per stack and memory size, and only the first
    deployment's role reaches it. So the role is a singleton too (`ImageCopyRole.of`): every release in the
    stack grants its own source and destination to the one role the function really runs with.
    """

    @classmethod
    def of(cls, scope: Construct, memory_mib: int, ephemeral_storage_mib: int) -> "ImageCopyRole":
        stack = Stack.of(scope)
        construct_id = f"ImageCopyRole{memory_mib}MiB"
        existing = stack.node.try_find_child(construct_id)
        if not isinstance(existing, ImageCopyRole):
            return cls(stack, construct_id, ephemeral_storage_mib)
        if existing.ephemeral_storage_mib != ephemeral_storage_mib:
            raise ValueError(
                f"the {memory_mib} MiB copy function of this stack already has {existing.ephemeral_storage_mib} MiB "
                f"of ephemeral storage, not {ephemeral_storage_mib}: releases sharing a memory size share the function"
            )
        return existing

    def __init__(self, scope: Construct, construct_id: str, ephemeral_storage_mib: int) -> None:
        super().__init__(scope, construct_id)
        self.ephemeral_storage_mib = ephemeral_storage_mib
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
            annotate_vendored_function(function)
            # cdk-ecr-deployment has no prop for the function's /tmp: set on the CloudFormation resource.
            resource = function.node.default_child
            assert isinstance(resource, lambda_.CfnFunction)
            resource.add_property_override("EphemeralStorage.Size", self.ephemeral_storage_mib)
        deployment.node.add_dependency(self._log_policy)

    def _allow_logs(self, function: lambda_.Function) -> iam.Policy:
        stack = Stack.of(self)
        log_group_arn = Arn.format(
            ArnComponents(
                service="logs",
                resource="log-group",
                resource_name=f"/aws/lambda/{function.function_name}",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
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
        # cdk-nag shows a reference to the function by its logical id in angle brackets.
        function_resource = function.node.default_child
        assert isinstance(function_resource, lambda_.CfnFunction)
        function_ref = f"<{stack.resolve(stack.get_logical_id(function_resource))}>"
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/"
                f"{function_ref}:*]",
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


def digest_guard(tag: str, *, expected: str, actual: str) -> str:
    """An SSM AllowedPattern that accepts `<repository>@<expected>` only, and names both digests when it refuses.

    SSM's refusal quotes the pattern, not the value ("cannot be validated against allowedPattern: ..."),
    so the second alternative, which no `repository@digest` value can match, carries the explanation.
    """
    return f"^[^@]+@{expected}$|^(tag {tag} holds {actual}; this release must run {expected})$"


class ModelImageRelease(Construct):
    """Copies the image of `source` into `repository` under the source's deploy tag, and publishes its digest.

    Deploy tags are the repository's only mutable tags, so the copy can always be re-run: after an image stack
    is destroyed and deployed again over a retained repository, after a rollback, or when the copy function
    changes (ECR refuses any re-push of an immutable tag, cdklabs/cdk-ecr-deployment#207). The digest is read
    back with ECR's API and published as `repository@sha256:...`; the SSM parameter only accepts the digest
    this release must run (for a promotion or rollback, the source's), so a copy that did not carry the
    verified bytes fails the deploy with both digests in the message.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: ImageSource,
        repository: ecr.IRepository,
        image_uri_parameter_name: str,
        image_tag_parameter_name: str,
        copy_memory_mib: int = DEFAULT_COPY_MEMORY_MIB,
        copy_ephemeral_storage_mib: int = DEFAULT_COPY_EPHEMERAL_STORAGE_MIB,
    ) -> None:
        super().__init__(scope, construct_id)
        self.source = source
        self.image_tag = source.image_tag

        copy_role = ImageCopyRole.of(self, copy_memory_mib, copy_ephemeral_storage_mib)
        source.grant_pull(copy_role.role)
        repository.grant_pull_push(copy_role.role)
        self.copy = ECRDeployment(
            self,
            "Copy",
            src=DockerImageName(source.image_uri),
            dest=DockerImageName(repository.repository_uri_for_tag(source.image_tag)),
            memory_limit=copy_memory_mib,
            # The construct adds ecr:* and s3:GetObject on "*" to its role; an immutable view of our
            # role drops those, and the role keeps only the grants made above.
            role=copy_role.role.without_policy_updates(),
        )
        copy_role.serve(self.copy)
        # A promoted or rolled-back source is read first: a missing tag or a refused pull then fails with
        # ECR's own message, before the copy (whose failures CloudFormation reports as "Invalid
        # PhysicalResourceId", cdklabs/cdk-ecr-deployment#675).
        self.copy.node.add_dependency(source)

        repository_name = repository.repository_name
        copied = ecr_call(
            self,
            "CopiedImage",
            action="describeImages",
            parameters={"repositoryName": repository_name, "imageIds": [{"imageTag": source.image_tag}]},
            repository_arn=repository.repository_arn,
            physical_id=f"{repository_name}:{source.image_tag}",
            output_paths=["imageDetails.0.imageDigest"],
        )
        copied.node.add_dependency(self.copy)
        self.image_digest = copied.get_response_field("imageDetails.0.imageDigest")
        self.expected_digest = source.digest or self.image_digest
        self.image_uri = f"{repository.repository_uri}@{self.image_digest}"

        self.image_uri_parameter = ssm.StringParameter(
            self,
            "ImageUriParameter",
            parameter_name=image_uri_parameter_name,
            string_value=self.image_uri,
            allowed_pattern=digest_guard(source.image_tag, expected=self.expected_digest, actual=self.image_digest),
            description=f"Digest-pinned URI of the model-serving image deployed as {source.image_tag}",
        )
        self.image_tag_parameter = ssm.StringParameter(
            self,
            "ImageTagParameter",
            parameter_name=image_tag_parameter_name,
            string_value=source.image_tag,
            description="Deploy tag of the model-serving image (the digest parameter is what to run)",
        )
        self.image_tag_parameter.node.add_dependency(self.image_uri_parameter)
