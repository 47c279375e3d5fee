"""The stateful half: a KMS-encrypted, immutable, scanned ECR repository, with CDK-style grants."""

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ml_constructs.image_tag import DEPLOY_TAG_PREFIX
from ml_constructs.stateful import mark_stateful


class EncryptedModelRepository(Construct):
    """An ECR repository for model images, encrypted with its own rotating customer-managed key.

    Tags are immutable, except the deploy tags (`deploy-*`, content-derived; see ml_constructs.image_tag),
    so that a deploy-time copy can be re-run; consumers are given digests, which never move. Both
    resources are marked stateful: replacing the key makes every image unreadable, replacing the
    repository deletes them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        lifecycle_rules: Sequence[ecr.LifecycleRule],
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
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
            image_tag_mutability=ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
            image_tag_mutability_exclusion_filters=[
                ecr.ImageTagMutabilityExclusionFilter.wildcard(f"{DEPLOY_TAG_PREFIX}*")
            ],
            lifecycle_rules=list(lifecycle_rules),
            removal_policy=removal_policy,
            empty_on_delete=removal_policy == RemovalPolicy.DESTROY,
        )
        repository_resource = self.repository.node.default_child
        assert isinstance(repository_resource, ecr.CfnRepository)
        repository_resource.add_metadata(
            "checkov",
            {
                "skip": [
                    {
                        "id": "CKV_AWS_51",
                        "comment": "Tags are immutable (IMMUTABLE_WITH_EXCLUSION) except the deploy-* tags, so that "
                        "a deploy-time copy can be re-run (cdklabs/cdk-ecr-deployment#207); consumers get digests.",
                    }
                ]
            },
        )
        mark_stateful(self.key, "the key decrypts every image: a new key leaves the stored images unreadable")
        mark_stateful(self.repository, "holds the released images: a replacement deletes them")

    @property
    def repository_uri(self) -> str:
        return self.repository.repository_uri

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` pull images (another account's principal gets a repository-policy statement)."""
        return self.repository.grant_pull(grantee)

    def grant_read_and_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` pull images and read their digests (what a promotion from this repository needs)."""
        self.repository.grant_read(grantee)
        return self.repository.grant_pull(grantee)

    def grant_pull_push(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` push images, and pull what it pushes (e.g. a CI role)."""
        return self.repository.grant_pull_push(grantee)
