"""Stateful stack: the KMS key and the repository. Its logical IDs must never change by accident."""

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from config.settings import EnvironmentSettings
from ml_constructs import EncryptedModelRepository, lifecycle_rules


class RepositoryStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        promotion_pull_accounts: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        """`promotion_pull_accounts`: the accounts of environments that promote their image from this one."""
        super().__init__(
            scope,
            construct_id,
            termination_protection=settings.termination_protection,
            description=f"Model image repository and its KMS key ({settings.name})",
            **kwargs,
        )
        lifecycle = settings.lifecycle
        self.model_repository = EncryptedModelRepository(
            self,
            "ModelRepository",
            repository_name=settings.repository_name,
            lifecycle_rules=lifecycle_rules(
                untagged_expiry=Duration.days(lifecycle.untagged_expiry_days),
                max_image_count=lifecycle.max_image_count,
                protected_tag_prefixes=lifecycle.protected_tag_prefixes,
            ),
            removal_policy=RemovalPolicy.DESTROY if settings.destroy_on_removal else RemovalPolicy.RETAIN,
        )
        # Whole accounts may pull (their own IAM decides who inside); named principals may push; the accounts
        # that promote from here may also read digests, to check that they run the same bytes.
        for account in settings.pull_account_ids:
            if account not in promotion_pull_accounts:
                self.model_repository.grant_pull(iam.AccountPrincipal(account))
        for account in dict.fromkeys(promotion_pull_accounts):
            self.model_repository.grant_read_and_pull(iam.AccountPrincipal(account))
        for principal_arn in settings.push_principal_arns:
            self.model_repository.grant_pull_push(iam.ArnPrincipal(principal_arn))

        CfnOutput(self, "RepositoryName", value=self.model_repository.repository.repository_name)
        CfnOutput(self, "RepositoryUri", value=self.model_repository.repository_uri)
