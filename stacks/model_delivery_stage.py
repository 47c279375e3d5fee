"""One environment = one Stage, so `cdk deploy 'prod/*'` and `cdk diff 'dev/*'` select exactly it."""

from collections.abc import Sequence
from typing import Any

from aws_cdk import Environment, Stack, Stage
from constructs import Construct

from config.settings import EnvironmentSettings
from stacks.model_image_stack import ImageFrom, ModelImageStack
from stacks.repository_stack import RepositoryStack


class ModelDeliveryStage(Stage):
    def __init__(
        self,
        scope: Construct,
        *,
        settings: EnvironmentSettings,
        image_from: ImageFrom,
        promotion_pull_accounts: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, settings.name, env=Environment(account=settings.account, region=settings.region), **kwargs
        )
        self.repository_stack = RepositoryStack(
            self, "Repository", settings=settings, promotion_pull_accounts=promotion_pull_accounts
        )
        self.model_image_stack = ModelImageStack(self, "ModelImage", settings=settings, image_from=image_from)
        self.model_image_stack.add_stack_dependency(self.repository_stack, "the image is copied into this repository")

    @property
    def stacks(self) -> dict[str, Stack]:
        """The stage's stacks by their id: the stateful one first."""
        return {"Repository": self.repository_stack, "ModelImage": self.model_image_stack}
