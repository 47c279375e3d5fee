#!/usr/bin/env python3
"""CDK entry point: read the configuration once, fail fast on bad values, then build one Stage per environment."""

import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from config import AppSettings, ConfigError
from config.project import load_project_settings
from stacks import ModelDeliveryStage
from stacks.delivery_roles_stack import delivery_roles_per_account

PROJECT_ROOT = Path(__file__).resolve().parent
IMAGE_DIRECTORY = PROJECT_ROOT / "model_image"


def read_settings(app: App) -> AppSettings:
    """Everything the stacks need, validated before a single construct exists."""
    return load_project_settings(PROJECT_ROOT, app.node.try_get_context)


def build(app: App, settings: AppSettings) -> dict[str, ModelDeliveryStage]:
    stages = {
        env.name: ModelDeliveryStage(
            app, settings=env, model_version=settings.model_version, image_directory=str(IMAGE_DIRECTORY)
        )
        for env in settings.environments
    }
    if settings.github and settings.github_deployed:
        delivery_roles_per_account(
            app,
            github_owner=settings.github.owner,
            github_repo=settings.github.repo,
            targets=[(env.name, env.account, env.region) for env in settings.github_deployed],
        )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stages


def new_app(**props: Any) -> App:
    """The App of every entry point (CLI, tests, benchmarks), so all of them synthesize alike.

    CDK's built-in template validation is a subset of cfn-lint, which the test suite runs with its full
    rule set over every template; keeping both would add seconds to every synth, diff and deploy.
    """
    return App(builtin_cloud_formation_validation=False, **props)


def main() -> None:
    app = new_app()
    try:
        settings = read_settings(app)
    except ConfigError as error:
        for problem in error.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        sys.exit(2)
    build(app, settings)
    app.synth()


if __name__ == "__main__":
    main()
