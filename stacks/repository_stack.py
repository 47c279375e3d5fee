"""Stateful stack: the KMS key and the repository. Its logical IDs must never change by accident."""

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from config.settings import EnvironmentSettings
from ml_constructs import EncryptedModelRepository


class RepositoryStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            termination_protection=settings.termination_protection,
            description=f"Model image repository and its KMS key ({settings.name})",
            **kwargs,
        )
        self.model_repository = EncryptedModelRepository(
            self,
            "ModelRepository",
            repository_name=settings.repository_name,
            lifecycle=settings.lifecycle,
            destroy_on_removal=settings.destroy_on_removal,
        )
        self.model_repository.grant_pull_to_accounts(settings.pull_account_ids)
        self.model_repository.grant_push_to_principals(settings.push_principal_arns)

        CfnOutput(self, "RepositoryName", value=self.model_repository.repository.repository_name)
        CfnOutput(self, "RepositoryUri", value=self.model_repository.repository_uri)
