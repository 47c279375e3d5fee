"""The stateful half: a KMS-encrypted, immutable, scanned ECR repository with least-privilege access."""

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from config.settings import LifecycleSettings
from ml_constructs.lifecycle_rules import lifecycle_rules

PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
PUSH_ACTIONS = (
    *PULL_ACTIONS,
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


class EncryptedModelRepository(Construct):
    """An ECR repository for model images, encrypted with its own rotating customer-managed key.

    Tags are immutable: a deployed tag names one image forever, which is why deploy tags are derived
    from the image content (see ModelImageRelease).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        lifecycle: LifecycleSettings,
        destroy_on_removal: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        removal_policy = RemovalPolicy.DESTROY if destroy_on_removal else RemovalPolicy.RETAIN
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the images of ECR repository {repository_name}",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self.key,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            lifecycle_rules=lifecycle_rules(lifecycle),
            removal_policy=removal_policy,
            empty_on_delete=destroy_on_removal,
        )

    @property
    def repository_uri(self) -> str:
        return self.repository.repository_uri

    def grant_pull_to_accounts(self, account_ids: Sequence[str]) -> None:
        """Let whole accounts (their IAM admins decide who inside) pull images, and nothing else."""
        if account_ids:
            self._allow("PullFromAccounts", PULL_ACTIONS, [iam.AccountPrincipal(a) for a in account_ids])

    def grant_push_to_principals(self, principal_arns: Sequence[str]) -> None:
        """Let named roles or users push images (e.g. a CI role); they can pull what they push."""
        if principal_arns:
            self._allow("PushFromPrincipals", PUSH_ACTIONS, [iam.ArnPrincipal(a) for a in principal_arns])

    def _allow(self, sid: str, actions: Sequence[str], principals: Sequence[iam.IPrincipal]) -> None:
        self.repository.add_to_resource_policy(
            iam.PolicyStatement(sid=sid, actions=sorted(actions), principals=list(principals))
        )
