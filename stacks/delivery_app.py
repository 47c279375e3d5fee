"""The whole app: one Stage per environment, the GitHub deploy roles, and cdk-nag over everything."""

from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from config import AppSettings
from stacks.delivery_roles_stack import delivery_roles_per_account
from stacks.model_delivery_stage import ModelDeliveryStage
from stacks.model_image_stack import BuildFrom, ImageFrom, PromoteFrom, RollBackTo


def new_app(**props: Any) -> App:
    """The App of every entry point (CLI, tests, tools), so all of them synthesize alike.

    CDK's built-in template validation is a subset of cfn-lint, which the test suite runs with its full
    rule set over every template; keeping both would add seconds to every synth, diff and deploy.
    """
    return App(builtin_cloud_formation_validation=False, **props)


def build(app: App, settings: AppSettings, *, image_directory: Path) -> dict[str, ModelDeliveryStage]:
    """Stages in cdk.json order (those of `settings.target` only, when set); built in promotion order, since a
    promoted stage needs its source's tag."""
    stages: dict[str, ModelDeliveryStage] = {}
    for env in settings.synthesized:
        source = settings.promotion_source(env)
        rollback_tag = settings.rollback_tag(env)
        image_from: ImageFrom
        if rollback_tag:
            image_from = RollBackTo(image_tag=rollback_tag)
        elif source:
            image_from = PromoteFrom(source=source, image_tag=stages[source.name].model_image_stack.release.image_tag)
        else:
            image_from = BuildFrom(directory=str(image_directory), model_version=settings.model_version)
        stages[env.name] = ModelDeliveryStage(
            app,
            settings=env,
            image_from=image_from,
            promotion_pull_accounts=[
                target.account for target in settings.promotion_targets(env) if target.account != env.account
            ],
        )
    if settings.github and settings.github_deployed:
        delivery_roles_per_account(
            app,
            github_owner=settings.github.owner,
            github_repo=settings.github.repo,
            targets=[(env.name, env.account, env.region) for env in settings.github_deployed],
        )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return {env.name: stages[env.name] for env in settings.environments if env.name in stages}
